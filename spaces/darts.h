#pragma once

#include <onnx/onnx_pb.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "spaces/search_space.h"

namespace nas::spaces {

// The operation on one DARTS cell edge. Values are the gene values and the op indices of NAS-Bench-301's
// compact genotype (data/darts_nb301_subset.csv, data/README.md); names as in DARTS' genotypes.py.
enum class DartsOp : int {
  kMaxPool3x3 = 0,   // "max_pool_3x3"
  kAvgPool3x3 = 1,   // "avg_pool_3x3" (padding excluded from the average)
  kSkipConnect = 2,  // "skip_connect": identity, or FactorizedReduce when the edge has stride 2
  kSepConv3x3 = 3,   // "sep_conv_3x3"
  kSepConv5x5 = 4,   // "sep_conv_5x5"
  kDilConv3x3 = 5,   // "dil_conv_3x3"
  kDilConv5x5 = 6,   // "dil_conv_5x5"
};
inline constexpr int kDartsNumOps = 7;
inline constexpr int kDartsNodes = 4;          // intermediate nodes per cell
inline constexpr int kDartsEdgesPerCell = 8;   // 2 per node
inline constexpr int kDartsGenesPerCell = 16;  // (input, op) per edge

// DARTS' op name of `op`, e.g. "sep_conv_3x3".
const std::string& darts_op_name(DartsOp op);

// One input edge of an intermediate node: the state it reads (0 = the cell's first input c_{k-2},
// 1 = its second input c_{k-1}, 2 + i = intermediate node i) and the op applied.
struct DartsEdge {
  int input = 0;
  DartsOp op = DartsOp::kMaxPool3x3;
  bool operator==(const DartsEdge& o) const { return input == o.input && op == o.op; }
  bool operator<(const DartsEdge& o) const { return input != o.input ? input < o.input : op < o.op; }
};

// One DARTS cell: edges 2i and 2i+1 feed intermediate node i (i = 0..3), which may read states
// 0 .. i+1, and its two inputs are distinct states (as in DARTS' derived genotypes and NAS-Bench-301's
// configuration space, which picks 2 of the available inputs). The cell output is the concatenation
// of the 4 intermediate nodes.
struct DartsCell {
  std::array<DartsEdge, kDartsEdgesPerCell> edges{};
  bool operator==(const DartsCell& o) const { return edges == o.edges; }
};

// A DARTS genotype: the normal and the reduction cell.
//
// Genes (Genotype): 32 = normal cell then reduction cell, each edge j as (input gene with cardinality
// j / 2 + 2, op gene with cardinality 7). Valid iff the two inputs of every node differ.
struct DartsGenotype {
  DartsCell normal, reduce;

  // NAS-Bench-301's compact genotype as in data/darts_nb301_subset.csv, (input, op index) pairs:
  // Example: "[[(0, 0), (1, 5), (1, 1), (0, 1), (1, 3), (0, 3), (1, 3), (3, 2)], [(1, 0), (0, 2), (1, 3),
  // (0, 3), (3, 0), (0, 1), (2, 0), (3, 6)]]" (normal: node 0 = max_pool_3x3(c_{k-2}) + dil_conv_3x3(c_{k-1}),
  // ..., node 3 = sep_conv_3x3(c_{k-1}) + skip_connect(node 1)). Strict: exactly that spacing.
  // Throws nas::SpaceError naming the offending token and its 0-based character position (a missing
  // bracket, parenthesis, comma or space, a number that is not an input of that node or not an op
  // index, a wrong number of pairs, trailing characters), and for a node whose two inputs are equal.
  static DartsGenotype parse(std::string_view compact);
  // The compact string; the exact inverse of parse().
  std::string to_string() const;

  // Throws nas::SpaceError naming the cell, node and rule broken.
  void validate() const;

  // Canonical string: to_string() with the two (input, op) pairs of every node sorted (smaller input
  // first), since a node is the sum of its two edges and the order of the terms does not matter.
  // Intermediate nodes are not permuted: their order is the order of the cell's output concatenation,
  // i.e. the channel layout the next cells read, so such genotypes are treated as distinct here (they
  // are the same function up to a permutation of channels and of the next cells' weights).
  std::string canonical() const;

  // Conversions from / to the generic gene vector (layout above). from_genotype() throws
  // nas::SpaceError on a wrong length or a gene out of range; it does not check that inputs differ.
  static DartsGenotype from_genotype(const Genotype& g);
  Genotype to_genotype() const;

  bool operator==(const DartsGenotype& o) const { return normal == o.normal && reduce == o.reduce; }
  bool operator!=(const DartsGenotype& o) const { return !(*this == o); }
};

// The network NAS-Bench-301 evaluates: DARTS' NetworkCIFAR (Liu et al., ICLR 2019, cnn/model.py and
// operations.py) with NB301's training configuration (nasbench301 data_generation configs:
// init_channels 32, layers 8; its auxiliary head is a training-only branch, not part of the network).
inline constexpr int64_t kDartsInitChannels = 32;
inline constexpr int kDartsLayers = 8;  // cells; reduction cells at layers / 3 = 2 and 2 * layers / 3 = 5

// The DARTS / NAS-Bench-301 network of `g` as ONNX (IR 8, opset 15) for CIFAR-10 (options.dataset ""
// or "cifar10"):
//   input "x" float[N, 3, 32, 32]
//   stem: Conv 3x3 (3 -> 96 = 3C, pad 1) -> BatchNormalization
//   8 cells, C = 32, 32, 64*, 64, 64, 128*, 128, 128 (* = reduction cell: stride 2 on the edges that read
//     the cell inputs); cell k reads the outputs of cells k-2 and k-1 (the stem for missing ones)
//   before each cell, DARTS' preprocessing of its two inputs: input 0 by FactorizedReduce (C_pp -> C) when
//     cell k-1 is a reduction cell, else ReLUConvBN (Relu -> Conv 1x1 -> BN, C_pp -> C); input 1 by
//     ReLUConvBN (C_p -> C)
//   cell: node i = Add of its two edges' ops; output = Concat (axis 1) of nodes 0..3 (4C channels)
//   head: GlobalAveragePool -> Flatten -> Gemm (transB = 1, with bias) -> output "logits" float[N, 10]
// Ops (DARTS operations.py; stride 2 on reduction edges from the cell inputs):
//   sep_conv_kxk: twice (Relu -> depthwise Conv kxk (group C, pad k/2; the stride on the first only) ->
//     Conv 1x1 -> BN); dil_conv_kxk: Relu -> depthwise Conv kxk dilation 2 (pad k - 1) -> Conv 1x1 -> BN;
//   max/avg_pool_3x3: pool 3x3 (pad 1) -> BN; skip_connect: identity, or FactorizedReduce(C, C) at
//   stride 2. Convolutions have no bias.
// FactorizedReduce (Relu, two Conv 1x1 stride 2 of half the output channels on x and on x[:, :, 1:, 1:],
// Concat, BN) is written Relu -> SpaceToDepth(2) -> Split into 4 -> Conv 1x1 on parts 0 and 3 -> Concat
// -> BN: part 0 is x[:, :, 0::2, 0::2] and part 3 is x[:, :, 1::2, 1::2], exactly the pixels the strided
// convs read (even sizes), with no integer constants in the graph (the predictor text does not print
// constant values, so a Slice would not survive onnx_text's text round trip).
// Matching the benchmark: the parameter counts of data/darts_nb301_subset.csv (params_M) are matched
// exactly (all 725 rows, tests/spaces/darts_test.cc) when the stem and preprocessing BNs are affine
// (trainable scale and bias) and every BN inside an op is not (affine=False, as in DARTS' search-model
// ops, which NASLib's DARTS space uses); flops_M fits only if each pool is also followed by such a BN
// (DARTS' MixedOp). So an op BN here is BatchNormalization with scale 1 and bias 0 computed in the graph
// (ConstantOfShape of the cell's channel count: not initializers, so not parameters) and per-call
// running mean / variance. DARTS' own evaluation network has affine op BNs (2 x C more trainable
// parameters each) and no BN after pools. flops_M = onnx_text::graph_cost's MACs + 1 per ReLU output,
// 2 per affine and 1 per non-affine BN output, 9 per pool output and 1 per GlobalAveragePool input
// element + a constant 8.69e3 we cannot attribute (checked on all rows; graph_cost alone gives 3-10%
// less).
// With options.use_functions every block is a call of a model-local function (domain "nas"):
// "relu_conv_bn" and "factorized_reduce" (formal "x"), "normal" and "reduce" (formals "s0", "s1", the
// preprocessed inputs); a cell function with depthwise convs has an INT attribute "group" that each call
// binds to C. Inside a cell, every op with weights (sep_conv_*, dil_conv_*, and skip_connect on a strided
// edge, i.e. FactorizedReduce) is a call of an op function of the same name, with formals "x", "ones",
// "zeros" (the cell's unit BN scale / bias) and the op's weights; its depthwise convs reference the op's
// "group" attribute (the cell passes its own), and a strided first conv references "s" ([2,2] on strided
// calls, absent otherwise). Pools and their BN stay inline. Each op's text is then written once, not at
// every edge. Weight formals of a cell follow the activations: first the few "intro"
// BN scales / means whose channel counts (over the calls) cannot be written in terms of the inputs'
// shapes (in relu_conv_bn, where C_out / C_in is 1/3, 1/4 or 1/2), then all others in body order, so that
// the predictor text can write them inline with symbolic shapes (as in spaces/nb101.h). Call j binds
// them to initializers "<output>_<formal>", where <output> is the call's output ("cell<k>_pre0",
// "cell<k>_pre1", "cell<k>_out"). Without functions every block and op is inlined, with concrete group
// values; both forms are the same network node for node (the cell's unit BN scale / bias come first).
// Throws nas::SpaceError on an invalid genotype, an unknown dataset or batch_size < 1.
onnx::ModelProto build_darts_model(const DartsGenotype& g, const BuildOptions& options = {});

// The DARTS search space as used by NAS-Bench-301: about 10^18 networks (2.8 x 10^20 valid gene vectors;
// the two (input, op) pairs of each of the 8 nodes can come in either order).
// Thread-safety: stateless; every method may be called concurrently.
class DartsSpace final : public SearchSpace {
 public:
  std::string name() const override { return "darts"; }
  // Per cell, per edge j: input (j / 2 + 2 choices), op (7).
  std::vector<int> gene_cardinalities() const override;
  std::vector<std::string> datasets() const override;  // {"cifar10"}

  void validate(const Genotype& g) const override;
  // Per node: 2 distinct inputs uniformly (ordered), ops uniform (uniform over valid gene vectors).
  Genotype sample(Rng& rng) const override;
  // Changes one uniformly chosen gene to another value (an op to one of the 6 others; an input to a
  // state that is not the node's other input), retried until valid and a different network
  // (canonical()). Never fails: op changes always qualify.
  Genotype mutate(const Genotype& parent, Rng& rng) const override;
  // Uniform crossover over nodes: each node's two (input, op) pairs come from `a` or `b` with
  // probability 1/2 (so that a node's inputs stay distinct).
  Genotype crossover(const Genotype& a, const Genotype& b, Rng& rng) const override;

  Genotype parse(std::string_view arch) const override;
  std::string format(const Genotype& g) const override;
  std::string canonical(const Genotype& g) const override;

  onnx::ModelProto build_model(const Genotype& g, const BuildOptions& options = {}) const override;
};

}  // namespace nas::spaces
