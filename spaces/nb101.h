#pragma once

#include <onnx/onnx_pb.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "spaces/search_space.h"

namespace nas::spaces {

// The operation of one intermediate NAS-Bench-101 vertex. Values are the gene values and follow the
// benchmark's `available_ops` order (Ying et al., ICML 2019, NAS-Bench-101; nasbench/lib/config.py).
enum class Nb101Op : int {
  kConv3x3 = 0,     // "conv3x3-bn-relu": Conv 3x3 (pad 1, no bias) -> BatchNorm -> ReLU
  kConv1x1 = 1,     // "conv1x1-bn-relu": Conv 1x1 (no bias) -> BatchNorm -> ReLU
  kMaxPool3x3 = 2,  // "maxpool3x3": MaxPool 3x3, stride 1, 'same' padding (keeps the channel count)
};
inline constexpr int kNb101NumOps = 3;
inline constexpr int kNb101NumVertices = 7;    // input, 5 intermediate vertices, output
inline constexpr int kNb101MaxEdges = 9;       // after pruning (nasbench config 'max_edges')
inline constexpr int kNb101NumEdgeGenes = 21;  // upper-triangular entries of the 7x7 adjacency
inline constexpr int kNb101NumOpGenes = 5;     // ops of vertices 1..5

// The benchmark's op name: "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3".
const std::string& nb101_op_name(Nb101Op op);

// A module after the benchmark's pruning (nasbench ModelSpec._prune): only the vertices that lie on a
// path from the input (vertex 0) to the output (vertex n - 1), in their original order, so `matrix`
// stays upper-triangular. 2 <= n <= 7.
struct Nb101Spec {
  std::vector<std::vector<int>> matrix;  // [n][n], 0/1; matrix[i][j] = 1 for the edge i -> j (i < j)
  std::vector<Nb101Op> ops;              // the n - 2 intermediate vertices (vertex v has ops[v - 1])

  int num_vertices() const { return static_cast<int>(matrix.size()); }
  int num_edges() const;
  // "ADJ|ops" in the format of Nb101Genotype::to_string() for n vertices: n x n row-major bits, '|',
  // the n op names. Example: the module that is only input -> output is "0100|input output".
  std::string to_string() const;
};

// The benchmark's split of a module's output channels among its vertices (nasbench
// model_builder.compute_vertex_channels): vertex 0 has `input_channels`, vertex n - 1 has
// `output_channels`; the k intermediate vertices feeding the output share output_channels as
// output_channels / k each, the first output_channels % k of them (in vertex order) one more; every
// other intermediate vertex gets the maximum of its successors (going backwards). Size n.
std::vector<int64_t> nb101_vertex_channels(int64_t input_channels, int64_t output_channels, const Nb101Spec& spec);

// A NAS-Bench-101 cell (module) as the benchmark stores it: the raw 7x7 upper-triangular adjacency and
// the ops of the 5 intermediate vertices (vertex 0 is "input", vertex 6 is "output"). Raw means
// unpruned: vertices off every input -> output path and edges to them are kept, as in the benchmark's
// files (data/nb101_subset.csv), so that to_string() reproduces the file's strings.
//
// Valid (nasbench ModelSpec + NASBench._check_spec): the input reaches the output, and the pruned
// module (pruned()) has at most 9 edges (and, trivially, at most 7 vertices).
//
// Genes (Genotype): 21 edge bits (cardinality 2) for the upper-triangular entries in row-major order
// (0,1), (0,2), ..., (0,6), (1,2), ..., (5,6), then the 5 op genes of vertices 1..5 (cardinality 3,
// Nb101Op values).
struct Nb101Genotype {
  std::array<std::array<bool, kNb101NumVertices>, kNb101NumVertices> adjacency{};  // [from][to], from < to
  std::array<Nb101Op, kNb101NumOpGenes> ops{};                                     // vertices 1..5

  // One-line architecture string: the CSV's `adjacency_7x7` column (49 chars '0'/'1', row-major,
  // row = source vertex), '|', then its `ops` column (7 space-separated names, "input" first and
  // "output" last).
  // Example: "0111101000001100000010000110000001100000000000000|input maxpool3x3 maxpool3x3 conv3x3-bn-relu
  // conv3x3-bn-relu conv3x3-bn-relu output" (row 1 of data/nb101_subset.csv, written on one line).
  // Throws nas::SpaceError naming the offending token and its 0-based character position: a missing
  // '|', an adjacency of the wrong length, a character other than '0'/'1', a '1' on or below the
  // diagonal, a wrong number of ops, an unknown op, "input"/"output" misplaced, extra spaces. The
  // genotype is also validated (validate()).
  static Nb101Genotype parse(std::string_view arch);
  // The same from the two CSV columns (`adjacency_7x7`, `ops`); errors name the column.
  static Nb101Genotype from_csv(std::string_view adjacency_7x7, std::string_view ops);
  // The exact inverse of parse(); adjacency_string() / ops_string() are its two columns.
  std::string to_string() const;
  std::string adjacency_string() const;
  std::string ops_string() const;

  // The pruned module. Throws nas::SpaceError if the input does not reach the output.
  Nb101Spec pruned() const;
  // Throws nas::SpaceError saying which rule is broken ("input is not connected to the output",
  // "pruned module has 10 edges, at most 9").
  void validate() const;
  bool is_valid() const;

  // Canonical string of the network's isomorphism class, in the sense of the benchmark's
  // graph_util.hash_module (equal hashes <=> same network): the pruned module relabelled by the
  // topological order of its intermediate vertices that gives the lexicographically smallest
  // Nb101Spec::to_string(), e.g. "0110001000000100|input conv3x3-bn-relu maxpool3x3 output". Exact graph
  // isomorphism of the op-labelled DAG with input and output fixed (at most 5! orders are tried),
  // where nasbench hashes iterated (in-degree, out-degree, op) labels. Throws like pruned().
  std::string canonical() const;

  // Conversions from / to the generic gene vector (layout above). from_genotype() throws
  // nas::SpaceError on a wrong length or a gene out of range; it does not check validity.
  static Nb101Genotype from_genotype(const Genotype& g);
  Genotype to_genotype() const;

  bool operator==(const Nb101Genotype& o) const { return adjacency == o.adjacency && ops == o.ops; }
  bool operator!=(const Nb101Genotype& o) const { return !(*this == o); }
};

// Facts of the network NAS-Bench-101 trained (nasbench/lib/config.py): stem of 128 channels, 3 stacks of
// 3 modules, CIFAR-10 (32x32x3 input, 10 classes).
inline constexpr int64_t kNb101StemChannels = 128;
inline constexpr int kNb101Stacks = 3;
inline constexpr int kNb101ModulesPerStack = 3;

// The NAS-Bench-101 network of cell `g` as ONNX (IR 8, opset 15), after nasbench/lib/model_builder.py
// and base_ops.py (options.dataset: "" or "cifar10"):
//   input "x" float[N, 3, 32, 32]
//   stem: Conv 3x3 (3 -> 128, pad 1) -> BatchNormalization -> Relu
//   3 stacks of 3 modules (function "cell"); before stacks 2 and 3 a MaxPool 2x2 stride 2 halves the
//     resolution and the module channels double (128, 256, 512)
//   module (pruned spec, channels C, input channels C_in; vertex channels per nb101_vertex_channels()):
//     vertex t's input = Sum over its in-edges, in nasbench's order: each intermediate source s < t,
//     truncated to vertex t's channels where needed (nasbench's tf.slice keeps the first channels; only
//     ever one channel is dropped) by Gather(axis = 1) with the indices 0..c_t-1 (an int64 initializer
//     per call), then the projection of the module input (Conv 1x1 -> BN -> Relu, C_in -> c_t) if the
//     input feeds t; a single term is used as is. vertex t = its op (Nb101Op) on that input.
//     output = Concat (axis 1) of the vertices feeding the output (the one vertex if single), plus
//     (Add) the projection of the module input to C if the input feeds the output; a module whose
//     pruned graph is only input -> output is that projection.
//   head: GlobalAveragePool -> Flatten -> Gemm (transB = 1, with bias) -> output "logits" float[N, 10]
// Convolutions have no bias; BatchNormalization uses the ONNX defaults (epsilon 1e-5 = nasbench's
// BN_EPSILON; its momentum is a training setting) with trainable scale and bias (TF batch norm with
// center and scale on: this is what makes the parameter counts match the table).
// Why Gather: it takes its output size from the indices' shape, so shape inference, graph_cost and the
// predictor text need no constant values (a Slice would need integer constants, whose values the
// predictor text does not print). Which edges truncate depends on C modulo the number of vertices
// feeding the output, so it can differ between stacks: every module has a Gather on each edge that
// truncates in some stack, an identity Gather (all channels) in the others, so that all 9 modules are
// one function.
// With options.use_functions the 9 modules are 9 calls of ONE model-local function "cell" (domain
// "nas"). Formals: the activation "x", then the weights, named per vertex t: g<s>_<t>_idx (Gather
// indices of edge s -> t), p<t>_{w,scale,bias,mean,var} (projection), v<t>_{w,scale,bias,mean,var}
// (conv op), pout_{w,scale,bias,mean,var} (output projection). Weight order: first the few "intro"
// BN scales whose channel counts (over the 9 calls) cannot be written in terms of the input's shape or
// of earlier intros (one per distinct channel sequence, e.g. 43/86/171 and 42/85/170), then all other
// weights in body order. The predictor text (onnx_text/serializer.h) can then pass only the intros at
// each call and write the other weights inline with symbolic shapes ("[C,A,1,1]"); in plain body order
// one inexpressible shape would make every earlier weight explicit too. Call i (0..8) binds the formals
// to initializers "cell<i>_<formal>". Without functions the same nodes are inlined, values named
// "cell<i>_<value>".
// The trainable parameters (onnx_text::graph_cost) equal the benchmark's (params_M; all rows of
// data/nb101_subset.csv in tests/spaces/nb101_test.cc). The table's flops_M is graph_cost's MAC count
// plus 2 per BatchNorm output element, 1 per ReLU output element and k x k per MaxPool output element
// (found by fitting the table; checked on all rows to 2e-7 relative); graph_cost alone gives 0.2-13% less.
// Throws nas::SpaceError on an invalid genotype, an unknown dataset or batch_size < 1.
onnx::ModelProto build_nb101_model(const Nb101Genotype& g, const BuildOptions& options = {});

// The NAS-Bench-101 cell search space (423,624 distinct networks; 2^21 x 3^5 gene vectors, of which the
// valid ones are genotypes; many denote the same network: canonical()).
// Thread-safety: stateless; every method may be called concurrently.
class Nb101Space final : public SearchSpace {
 public:
  std::string name() const override { return "nb101"; }
  std::vector<int> gene_cardinalities() const override;  // 21 x 2, then 5 x 3
  std::vector<std::string> datasets() const override;    // {"cifar10"}

  void validate(const Genotype& g) const override;
  // Uniform over valid gene vectors: uniform edge bits and ops, rejected until valid (as nasbench's
  // random_spec). Not uniform over networks: small pruned modules have many raw forms.
  Genotype sample(Rng& rng) const override;
  // Changes one uniformly chosen gene (an edge bit, or an op to one of the 2 others) and retries until
  // the child is valid and a different network (other canonical()); when no single change does that
  // (e.g. a module that is only input -> output and whose other edges dangle), 2 then 3 genes are
  // changed, and as a last resort the child is any valid genotype with different genes.
  Genotype mutate(const Genotype& parent, Rng& rng) const override;
  // Each gene from `a` or `b` with probability 1/2, retried until valid (up to 100 times, then `a`).
  Genotype crossover(const Genotype& a, const Genotype& b, Rng& rng) const override;

  // Nb101Genotype::parse() / to_string().
  Genotype parse(std::string_view arch) const override;
  std::string format(const Genotype& g) const override;
  std::string canonical(const Genotype& g) const override;

  onnx::ModelProto build_model(const Genotype& g, const BuildOptions& options = {}) const override;
};

}  // namespace nas::spaces
