#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <onnx/onnx_pb.h>

#include "spaces/search_space.h"

namespace nas::spaces {

inline constexpr int kOfaNumStages = 5;
inline constexpr int kOfaMaxDepth = 4;
inline constexpr int kOfaNumLayers = kOfaNumStages * kOfaMaxDepth;  // 20 searchable blocks
inline constexpr std::array<int, 3> kOfaKernelSizes{3, 5, 7};
inline constexpr std::array<int, 3> kOfaExpandRatios{3, 4, 6};
inline constexpr std::array<int, 3> kOfaDepths{2, 3, 4};
// Input resolutions: 128, 132, ..., 224 (25 sizes), the set of data/ofa_mbv3.csv and of the 25-way
// resolution encoding of HELP and OFA's accuracy predictor ((r - 128) / 4).
inline constexpr int kOfaMinResolution = 128;
inline constexpr int kOfaMaxResolution = 224;
inline constexpr int kOfaResolutionStep = 4;
inline constexpr int kOfaNumResolutions = (kOfaMaxResolution - kOfaMinResolution) / kOfaResolutionStep + 1;

// A Once-for-All MobileNetV3 subnet (Cai et al., ICLR 2020, "ofa_mbv3_d234_e346_k357"): kernel size and
// expand ratio of each of the 20 blocks (stage-major: blocks 4s..4s+3 form stage s), the depth of each of
// the 5 stages (its first depth blocks are active), and the input resolution.
//
// Genotype string (one line; the four columns of data/ofa_mbv3.csv, labelled with OFA's own keys
// ks / e / d / r, each list space-separated as in the CSV):
//   "ks=7 5 5 5 7 7 5 7 5 7 3 7 5 3 7 3 5 3 5 3|e=6 4 4 6 6 3 4 3 3 6 3 3 3 6 3 4 6 4 3 6|d=2 2 2 2 3|r=204"
// Blocks beyond a stage's depth are inactive: their ks / e are kept (the CSV keeps them) but do not
// change the network nor the canonical form.
struct OfaMbv3Genotype {
  std::array<int, kOfaNumLayers> kernel_sizes{};   // each in {3, 5, 7}
  std::array<int, kOfaNumLayers> expand_ratios{};  // each in {3, 4, 6}
  std::array<int, kOfaNumStages> depths{};         // each in {2, 3, 4}
  int resolution = 224;                            // pixels, in {128, 132, ..., 224}

  // Parses the genotype string above, strictly. Throws nas::SpaceError naming the offending token and
  // its 0-based character position: a missing or misplaced "ks=", "|e=", "|d=", "|r=", a value outside its
  // set, a wrong count (20 / 20 / 5 / 1), an empty token (doubled, leading or trailing space) or trailing
  // characters.
  static OfaMbv3Genotype parse(std::string_view arch);
  // From the four columns of data/ofa_mbv3.csv: kernel_sizes "7 5 ...", expand_ratios "6 4 ...",
  // depths "2 2 2 2 3", resolution "204". Errors as parse(), naming the column.
  static OfaMbv3Genotype from_columns(std::string_view kernel_sizes, std::string_view expand_ratios,
                                      std::string_view depths, std::string_view resolution);
  // The genotype string; the exact inverse of parse().
  std::string to_string() const;
  // to_string() with every inactive block set to kernel 3, expand ratio 3: equal for two genotypes iff
  // they are the same network (active blocks, depths and resolution all equal).
  std::string canonical() const;
  // Whether block `layer` (0..19) is active.
  bool active(int layer) const { return layer % kOfaMaxDepth < depths[static_cast<size_t>(layer / kOfaMaxDepth)]; }

  // Genes: 0..19 kernel index into {3, 5, 7}, 20..39 expand index into {3, 4, 6}, 40..44 depth index into
  // {2, 3, 4}, 45 resolution index (r - 128) / 4 in [0, 25). from_genotype() throws nas::SpaceError on a
  // wrong length or a gene out of range; to_genotype() throws nas::SpaceError on a value outside its set.
  static OfaMbv3Genotype from_genotype(const Genotype& g);
  Genotype to_genotype() const;

  bool operator==(const OfaMbv3Genotype& o) const {
    return kernel_sizes == o.kernel_sizes && expand_ratios == o.expand_ratios && depths == o.depths &&
           resolution == o.resolution;
  }
  bool operator!=(const OfaMbv3Genotype& o) const { return !(*this == o); }
};

// OFA's make_divisible (ofa/utils/pytorch_modules.py, after TF's MobileNet): v rounded to the nearest
// multiple of `divisor` (at least `divisor`), plus one divisor if that lost more than 10 % of v.
int64_t ofa_make_divisible(double v, int64_t divisor = 8);

// The fixed widths of an OFA MobileNetV3 network for a width multiplier (OFAMobileNetV3.__init__:
// make_divisible(base * width_mult, 8) of base widths 16, 16, 24, 40, 80, 112, 160, 960, 1280).
struct OfaMbv3Widths {
  int64_t first_conv = 0;                      // stem output: 16 (w1.0), 24 (w1.2)
  int64_t first_block = 0;                     // first (depthwise-separable) block output: 16, 24
  std::array<int64_t, kOfaNumStages> stage{};  // 24 40 80 112 160 (w1.0); 32 48 96 136 192 (w1.2)
  int64_t final_expand = 0;                    // 960, 1152
  int64_t feature_mix = 0;                     // 1280, 1536
};
OfaMbv3Widths ofa_mbv3_widths(double width_mult);

// The OFA MobileNetV3 subnet of `g` as ONNX (IR 8, opset 15), after OFA's OFAMobileNetV3 /
// get_active_subnet() (ofa/imagenet_classification/elastic_nn/networks/ofa_mbv3.py, DynamicMBConvLayer,
// ofa/utils/layers.py MBConvLayer, ofa/utils/pytorch_modules.py SEModule):
//   input "x" float[N, 3, r, r] (N = options.batch_size, r = g.resolution)
//   first conv: Conv 3x3 stride 2 pad 1 (3 -> first_conv) -> BN -> HardSwish
//   first block: depthwise Conv 3x3 pad 1 -> BN -> Relu -> Conv 1x1 (-> first_block) -> BN, + input
//   stages 1..5 (widths ofa_mbv3_widths().stage, strides 2 2 2 1 2, activation Relu Relu HardSwish
//     HardSwish HardSwish, squeeze-and-excitation in stages 2, 4, 5), active blocks only; a block with
//     kernel k, expand ratio e on C_in -> C_out, mid = make_divisible(C_in * e):
//     Conv 1x1 (-> mid) -> BN -> act -> depthwise Conv k x k (group mid, the stage's stride on its first
//     block, auto_pad SAME_LOWER) -> BN -> act -> [SE] -> Conv 1x1 (-> C_out) -> BN -> [+ input when
//     stride 1 and C_in == C_out, i.e. every block but a stage's first]
//     SE (SEModule, reduction 4): GlobalAveragePool -> Conv 1x1 (mid -> make_divisible(mid / 4), bias) ->
//     Relu -> Conv 1x1 (-> mid, bias) -> HardSigmoid (alpha 1/6, beta 0.5: relu6(x + 3) / 6) -> Mul with
//     the SE input
//   final expand: Conv 1x1 (-> final_expand) -> BN -> HardSwish -> GlobalAveragePool
//   feature mix: Conv 1x1 (-> feature_mix, no BN, no bias) -> HardSwish -> Flatten ->
//   classifier: Gemm (transB = 1, with bias; dropout is the identity at inference) -> output "logits"
//     float[N, 1000]
// HardSwish (opset 14) is OFA's Hswish x * relu6(x + 3) / 6. SAME_LOWER padding equals PyTorch's
// symmetric pad (k - 1) / 2 for these odd kernels and strides <= 2, on even and odd sizes alike. Other
// convolutions have no bias; BN uses the ONNX defaults (epsilon 1e-5, OFA's bn_param). Conv kernel sizes
// are not written as attributes (ONNX infers them from the weights).
// With options.use_functions each stage block is one call of a model-local function (domain "nas"), one
// per stage kind: "mb" (stage 1), "mb_se" (stage 2), "mb_hs" (stage 3), "mb_hs_se" (stages 4, 5), called
// with the depthwise group "g" and, on a stage's first block, the stride "s" as attributes; the kernel
// size and the expanded, SE and output widths are in the shapes of the listed weights (depthwise, SE
// reduction, projection); the identity shortcut is an Add in the main graph. This set gave the shortest
// text; see ofa_mbv3.cc. Block i's call (i = 0..19) binds the weights to fresh initializers
// "b<i>_<formal>", its output is "b<i>_block" and the shortcut's "b<i>_out"; without functions the same
// nodes are written inline with values "b<i>_<value>".
// Throws nas::SpaceError on an invalid genotype, a dataset other than "" / "imagenet", batch_size < 1 or
// width_mult <= 0.
onnx::ModelProto build_ofa_mbv3_model(const OfaMbv3Genotype& g, const BuildOptions& options = {},
                                      double width_mult = 1.2);

// The Once-for-All MobileNetV3 space (3^40 * 3^5 * 25 genotypes, about 4e22; fewer distinct networks as
// inactive blocks' settings do not matter). The width multiplier is fixed per instance: 1.2 by default,
// the network behind data/ofa_mbv3.csv (HELP, Lee et al. NeurIPS 2021, measured and validated its OFA
// subnets on ofa_net("ofa_mbv3_d234_e346_k357_w1.2"), see HELP's validate_imagenet.py); 1.0 gives OFA's
// other released supernet.
// Thread-safety: immutable after construction; every method may be called concurrently.
class OfaMbv3Space final : public SearchSpace {
 public:
  // Throws nas::SpaceError if width_mult <= 0.
  explicit OfaMbv3Space(double width_mult = 1.2);

  std::string name() const override { return "ofa_mbv3"; }
  double width_mult() const { return width_mult_; }
  std::vector<int> gene_cardinalities() const override;  // 40 x 3, 5 x 3, 25
  std::vector<std::string> datasets() const override;    // {"imagenet"}

  void validate(const Genotype& g) const override;
  Genotype sample(Rng& rng) const override;  // each gene uniform (as OFA's sample_active_subnet, plus r)
  // Changes one uniformly chosen gene that matters (an active block's kernel or expand ratio, a depth,
  // or the resolution) to another value, uniformly; so the network always changes.
  Genotype mutate(const Genotype& parent, Rng& rng) const override;
  // Each gene from `a` or `b` with probability 1/2.
  Genotype crossover(const Genotype& a, const Genotype& b, Rng& rng) const override;

  Genotype parse(std::string_view arch) const override;
  std::string format(const Genotype& g) const override;
  std::string canonical(const Genotype& g) const override;

  onnx::ModelProto build_model(const Genotype& g, const BuildOptions& options = {}) const override;

 private:
  double width_mult_;
};

}  // namespace nas::spaces
