#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <onnx/onnx_pb.h>

#include "spaces/search_space.h"

namespace nas::spaces {

// The operation on one NAS-Bench-201 cell edge. Values are the gene values and follow the benchmark's
// op list order (Dong & Yang, ICLR 2020, NAS-Bench-201).
enum class Nb201Op : int {
  kNone = 0,         // no edge (xautodl's Zero op)
  kSkipConnect = 1,  // identity
  kNorConv1x1 = 2,   // ReLU -> Conv 1x1 -> BatchNorm
  kNorConv3x3 = 3,   // ReLU -> Conv 3x3 (pad 1) -> BatchNorm
  kAvgPool3x3 = 4,   // AveragePool 3x3, stride 1, pad 1, padding excluded from the average
};
inline constexpr int kNb201NumOps = 5;
inline constexpr int kNb201NumEdges = 6;

// The benchmark's op name: "none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3".
const std::string& nb201_op_name(Nb201Op op);
// Edge i (0..5) as {to, from}: {1,0}, {2,0}, {2,1}, {3,0}, {3,1}, {3,2} (the order of the arch string).
std::pair<int, int> nb201_edge(int i);

// A NAS-Bench-201 cell: the op of each of the 6 edges of the 4-node DAG, in the order above.
struct Nb201Genotype {
  std::array<Nb201Op, kNb201NumEdges> edges{};

  // Parses the benchmark's architecture string, strictly (the exact format the benchmark writes).
  // Example: "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
  // is node 1 = conv3x3(node 0); node 2 = conv3x3(node 0) + avgpool(node 1); node 3 = node 0 +
  // conv3x3(node 1) + node 2. Throws nas::SpaceError naming the offending token and its 0-based
  // character position for an unknown op, a wrong input index, a wrong number of inputs of a node,
  // a missing '|' or '+', or trailing characters.
  static Nb201Genotype parse(std::string_view arch);
  // The architecture string; the exact inverse of parse().
  std::string to_string() const;

  // Canonical string of the cell's isomorphism class, following NAS-Bench-201's
  // CellStructure.to_unique_str(consider_zero=True): node 0 is "0"; each incoming edge gives a term:
  // "#" if its op is none or its input node's string is exactly "#", the input's string for
  // skip_connect, "(" + input + ")@" + op otherwise; a node is '+'.join(sorted(terms)); the result is
  // node 3's string. Note a node whose 2 or 3 inputs are all zero reads "#+#" ("#+#+#"), not "#", so
  // it is not treated as zero downstream: this is what the benchmark does, and it reproduces the
  // table's `iso_rep_idx` partition exactly (6,466 classes over 15,625 cells; checked in
  // tests/spaces/nb201_test.cc). Collapsing those to "#" as well would merge them into 5,390 classes.
  // Being string-based, it is not a full isomorphism test: e.g. arch_idx 13349 and 5319 differ only by
  // swapping nodes 1 and 2, yet the benchmark (and so this) puts them in different classes.
  std::string canonical() const;

  // Conversions from / to the generic gene vector (gene i = int(edges[i])). from_genotype() throws
  // nas::SpaceError on a wrong length or a gene outside [0, 5).
  static Nb201Genotype from_genotype(const Genotype& g);
  Genotype to_genotype() const;

  bool operator==(const Nb201Genotype& o) const { return edges == o.edges; }
  bool operator!=(const Nb201Genotype& o) const { return edges != o.edges; }
};

// An NB201 dataset / input configuration: `name` matches the column suffixes of data/nb201.csv
// (e.g. "params_M_imagenet16").
struct Nb201Dataset {
  std::string name;
  int64_t resolution;   // input height = width, pixels
  int64_t num_classes;  // classifier outputs
};
// cifar10 (32x32, 10 classes), cifar100 (32x32, 100), imagenet16 (ImageNet16-120: 16x16, 120).
const std::vector<Nb201Dataset>& nb201_datasets();
// The dataset named `name` ("" = cifar10). Throws nas::SpaceError("nb201: unknown dataset 'x'; known:
// cifar10, cifar100, imagenet16").
const Nb201Dataset& nb201_dataset(const std::string& name);

// The NB201 TinyNetwork of cell `g` as ONNX (IR 8, opset 15), after xautodl's TinyNetwork / InferCell /
// ResNetBasicblock (the code NAS-Bench-201 trained):
//   input "x" float[N, 3, H, H] (N = options.batch_size, H = dataset resolution)
//   stem: Conv 3x3 (3 -> 16, pad 1) -> BatchNormalization
//   3 stages of 5 cells with C = 16, 32, 64; between stages a residual block (function "resblock"):
//     Relu -> Conv 3x3 (stride 2, pad 1) -> BN -> Relu -> Conv 3x3 (pad 1) -> BN, plus the shortcut
//     AveragePool 2x2 stride 2 -> Conv 1x1 (no BN); output = Add of the two
//   cell (function "cell"): node j = Sum of its live incoming edges; nor_conv_kxk = Relu -> Conv k x k
//     (pad (k-1)/2) -> BN; avg_pool_3x3 = AveragePool 3x3 stride 1 pad 1, count_include_pad = 0 (the
//     ONNX default; PyTorch count_include_pad=False); skip_connect = the input itself; none = no edge.
//     A node with no live incoming edge is the zero tensor, written as Sub(x, x) of the cell input x
//     (no parameters; exact for finite inputs). A cell output with a single incoming term is an
//     Identity node.
//   head: BN -> Relu -> GlobalAveragePool -> Flatten -> Gemm (transB = 1, with bias) -> output "logits"
//     float[N, num_classes]
// Convolutions have no bias (bias=False in xautodl); BN uses the ONNX defaults (epsilon 1e-5 as
// PyTorch), so no BN attribute is written. Every conv / BN of every non-none edge gets its own
// parameters, also when its output cannot reach the cell output, as the benchmark's network does.
// With options.use_functions each cell and each residual block is one call of a model-local function
// (domain "nas"), whose formals are the activation input "x" then the weights in body order (per conv
// edge j: e<j>_w, e<j>_scale, e<j>_bias, e<j>_mean, e<j>_var; resblock: a_*, b_*, short_w); call i binds
// them to initializers "cell<i>_<formal>" (i = 0..16 counts cells and residual blocks in network
// order). Without functions the same nodes are written inline with internal values named
// "cell<i>_<value>"; initializer names are the same either way. Params / FLOPs of the model equal the
// table's params_M_* / flops_M_* at batch 1 (onnx_text/graph_cost.h).
// Throws nas::SpaceError on an unknown dataset or batch_size < 1.
onnx::ModelProto build_nb201_model(const Nb201Genotype& g, const BuildOptions& options = {});

// The NAS-Bench-201 topology search space: 5^6 = 15,625 cells (genes = edge ops in arch-string order).
// Thread-safety: stateless; every method may be called concurrently.
class Nb201Space final : public SearchSpace {
 public:
  std::string name() const override { return "nb201"; }
  std::vector<int> gene_cardinalities() const override;  // {5, 5, 5, 5, 5, 5}
  std::vector<std::string> datasets() const override;   // {"cifar10", "cifar100", "imagenet16"}

  void validate(const Genotype& g) const override;
  Genotype sample(Rng& rng) const override;  // each edge op uniform
  // Changes the op of one uniformly chosen edge to one of the 4 other ops, uniformly.
  Genotype mutate(const Genotype& parent, Rng& rng) const override;
  // Each edge's op from `a` or `b` with probability 1/2.
  Genotype crossover(const Genotype& a, const Genotype& b, Rng& rng) const override;

  Genotype parse(std::string_view arch) const override;
  std::string format(const Genotype& g) const override;
  std::string canonical(const Genotype& g) const override;

  std::optional<uint64_t> size() const override { return 15625; }
  onnx::ModelProto build_model(const Genotype& g, const BuildOptions& options = {}) const override;
};

}  // namespace nas::spaces
