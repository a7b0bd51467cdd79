#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <onnx/onnx_pb.h>

#include "spaces/onnx_builder.h"
#include "spaces/search_space.h"

namespace nas::spaces {

// A weight formal of a block function at one call: its shape there and how the fresh initializer bound
// to it is filled.
struct WeightArg {
  std::string formal;         // the function's formal name, e.g. "e_w"
  std::vector<int64_t> dims;  // shape at this call
  ParamRole role = ParamRole::kWeight;
  std::vector<int64_t> int64_values;  // non-empty: an int64 initializer holding these values (indices)
  // Listed formals come first among the weights: the text serializer (onnx_text/serializer.h) can only
  // leave a weight out of the call when every weight before it is left out too, and a listed weight's
  // shape pattern names the dims (e.g. an expanded channel count) that later weights are written in.
  bool listed = false;
};

// Appends the four BatchNormalization weight formals "<prefix>_scale", _bias, _mean, _var of a block,
// [channels] each (scale and var ones, bias and mean zeros).
void add_bn_args(std::vector<WeightArg>& weights, const std::string& prefix, int64_t channels);

// Emits calls of model-local functions whose calls carry attributes (ONNX attribute references, e.g. a
// depthwise convolution's group = its channel count), which GraphBuilder::call() cannot. A call either
// stays a call (the function is written once into the model by finish()) or is expanded in place with
// the references resolved against the call's attributes (a reference the call does not set is dropped,
// leaving the ONNX default) and every value v of the body renamed prefix + "_" + v. Each weight formal is
// bound to a fresh initializer prefix + "_" + formal.
// Formal order: activations, then listed weights, then the other weights (each group in body order).
// Used by the FBNet and OFA MobileNetV3 emitters (spaces/ofa_mbv3.cc).
// Thread-safety: none; one per GraphBuilder.
class CallEmitter {
 public:
  CallEmitter(GraphBuilder& builder, bool use_functions) : b_(builder), use_functions_(use_functions) {}

  // The formal input list of a block with these activation formals and weights.
  static std::vector<std::string> formal_order(const std::vector<std::string>& activations,
                                               const std::vector<WeightArg>& weights);
  // Calls `fn` (whose inputs are formal_order(...) of the same formals) on `activations`; adds the
  // weights' initializers. Throws nas::Error (internal) if the counts differ or two different functions
  // share a name.
  void call(const onnx::FunctionProto& fn, const std::vector<std::string>& activations,
            const std::vector<WeightArg>& weights, std::vector<onnx::AttributeProto> attrs,
            const std::vector<std::string>& outputs, const std::string& prefix);
  // Adds the int64 initializers and, if any call was kept, the called functions (in order of first
  // call) and the "nas" opset import to the built model.
  void finish(onnx::ModelProto& model);

 private:
  GraphBuilder& b_;
  bool use_functions_;
  std::vector<onnx::FunctionProto> functions_;
  std::vector<onnx::TensorProto> int64_initializers_;
};

// An attribute of a function body node that refers to the call's attribute `ref` (ONNX ref_attr_name),
// e.g. attr_ref("group", "g", onnx::AttributeProto::INT).
onnx::AttributeProto attr_ref(const std::string& name, const std::string& ref,
                              onnx::AttributeProto::AttributeType type);

// The block of one FBNet layer. Values are the gene values and follow HW-NAS-Bench's PRIMITIVES
// order (hw_nas_bench_api/fbnet_models/model_infer.py), which is also the op index of its FBNet
// op_idx_list.
enum class FbnetOp : int {
  kK3E1 = 0,    // ConvBlock, kernel 3, expansion 1
  kK3E1G2 = 1,  // ConvBlock, kernel 3, expansion 1, grouped (g = 2) 1x1 convolutions + channel shuffle
  kK3E3 = 2,
  kK3E6 = 3,
  kK5E1 = 4,
  kK5E1G2 = 5,
  kK5E3 = 6,
  kK5E6 = 7,
  kSkip = 8,  // identity, or 1x1 conv + BN + ReLU where the layer changes shape
};
inline constexpr int kFbnetNumOps = 9;
inline constexpr int kFbnetNumLayers = 22;

// The benchmark's block name: "k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3",
// "k5_e6", "skip".
const std::string& fbnet_op_name(FbnetOp op);

// Kernel size, expansion ratio and groups of the 1x1 convolutions of a ConvBlock op; {0, 0, 0} for skip.
struct FbnetOpSpec {
  int kernel = 0;
  int expansion = 0;
  int groups = 0;
};
FbnetOpSpec fbnet_op_spec(FbnetOp op);

// An FBNet input configuration of HW-NAS-Bench (FBNet_Infer): `name` is ours, `lut_key` the dataset
// prefix of the cost table's fixed_network_costs ("cifar100", "ImageNet").
struct FbnetDataset {
  std::string name;
  std::string lut_key;
  int64_t resolution;       // input height = width, pixels
  int64_t num_classes;      // classifier outputs
  int64_t stem_stride;      // 1 on CIFAR, 2 on ImageNet
  int64_t header_channels;  // the 1x1 "header" ConvNorm before pooling: 1504 on CIFAR, 1984 on ImageNet
};
// cifar100 (32x32, 100 classes), imagenet (224x224, 1000 classes).
const std::vector<FbnetDataset>& fbnet_datasets();
// The dataset named `name` ("" = cifar100). Throws nas::SpaceError("fbnet: unknown dataset 'x'; known:
// cifar100, imagenet").
const FbnetDataset& fbnet_dataset(const std::string& name);

// One of the 22 searchable layers with its fixed macro-structure (HW-NAS-Bench FBNet_Infer, FBNetV1
// setting): stages of {1, 4, 4, 4, 4, 4, 1} layers with {16, 24, 32, 64, 112, 184, 352} output channels;
// the first layer of a stage has the stage's stride, {1, 1, 2, 2, 1, 2, 1} on CIFAR and
// {1, 2, 2, 2, 1, 2, 1} on ImageNet, the others stride 1; the stem gives 16 channels.
struct FbnetLayer {
  int index = 0;       // 0..21
  int stage = 0;       // 0..6
  int64_t height = 0;  // input height = width, pixels
  int64_t c_in = 0;
  int64_t c_out = 0;
  int64_t stride = 1;
  // True where a skip is the identity and a ConvBlock adds its input (stride 1, c_in == c_out).
  bool shape_preserving() const { return stride == 1 && c_in == c_out; }
};
// The 22 layers for `dataset` (a name accepted by fbnet_dataset()).
const std::vector<FbnetLayer>& fbnet_layers(const std::string& dataset);

// The block's key in HW-NAS-Bench's cost table (data/fbnet_hwnasbench_lut.json), e.g.
// "ConvBlock_H112_W112_Cin16_Cout16_exp1_kernel3_stride1_group1" or "Skip_H56_W56_Cin24_Cout32_stride2".
std::string fbnet_block_signature(const FbnetLayer& layer, FbnetOp op);

// An FBNet architecture: the block of each of the 22 layers.
struct FbnetGenotype {
  std::array<FbnetOp, kFbnetNumLayers> ops{};

  // Parses the `blocks` column of data/fbnet.csv: the 22 block names separated by single spaces, strictly.
  // Example: "k5_e6 skip k3_e1_g2 skip k5_e1 skip skip skip k5_e6 k5_e1 k3_e1_g2 k5_e1 k5_e6 k3_e6 k3_e3
  // k5_e6 k3_e6 k3_e3 k5_e1 k3_e3 k5_e1 k5_e1_g2" (one line). Throws nas::SpaceError naming the offending
  // token, its layer and 0-based character position: an unknown block name, an empty token (leading,
  // trailing or doubled space), fewer or more than 22 tokens.
  static FbnetGenotype parse(std::string_view arch);
  // The space-separated block names; the exact inverse of parse().
  std::string to_string() const;

  // The string of the network's equivalence class. Within a stage every layer after the first has the
  // same input and output shape, so a skip there is the identity and its position among those layers does
  // not change the network (nor any HW-NAS-Bench cost): the canonical form moves such skips behind the
  // stage's other blocks, keeping their order, and is written like to_string(). Example: stage 1 =
  // "k3_e3 skip k5_e6 skip" and "k3_e3 k5_e6 skip skip" are both "k3_e3 k5_e6 skip skip". The first layer
  // of a stage changes shape on both datasets (except layer 0, the only layer of stage 0), so this is the
  // same partition for CIFAR and ImageNet. No other two genotypes give the same network.
  std::string canonical() const;

  // Conversions from / to the generic gene vector (gene i = int(ops[i])). from_genotype() throws
  // nas::SpaceError on a wrong length or a gene outside [0, 9).
  static FbnetGenotype from_genotype(const Genotype& g);
  Genotype to_genotype() const;

  bool operator==(const FbnetGenotype& o) const { return ops == o.ops; }
  bool operator!=(const FbnetGenotype& o) const { return ops != o.ops; }
};

// The FBNet network of `g` as ONNX (IR 8, opset 15), after HW-NAS-Bench's FBNet_Infer (the networks
// its cost table was measured on; hw_nas_bench_api/fbnet_models/model_infer.py):
//   input "x" float[N, 3, R, R] (N = options.batch_size, R = 32 or 224)
//   stem: Conv 3x3 (3 -> 16, pad 1, stride 1 / 2) -> BN -> Relu
//   22 layers (fbnet_layers()); a ConvBlock of kernel k, expansion e, groups g on C_in -> C_out, stride s:
//     Conv 1x1 (C_in -> e*C_in, group g) -> BN -> Relu -> [g = 2: channel shuffle] ->
//     depthwise Conv k x k (group e*C_in, stride s, auto_pad SAME_LOWER) -> BN -> Relu ->
//     Conv 1x1 (e*C_in -> C_out, group g) -> BN -> [Add of the input where shape_preserving()]
//   SAME_LOWER equals the benchmark's symmetric pad (k-1)/2 for odd k and strides <= 2 on every input
//   size (the extra pad row PyTorch adds at the end of an even input with stride 2 is never read), and
//   lets one function serve both kernel sizes;
//   the channel shuffle (ShuffleNet's, 2 groups: channel i*(C/2)+j goes to j*2+i) is a Gather along the
//   channel axis with that permutation as an int64 index initializer (no parameters; unlike a
//   Reshape-Transpose-Reshape it has no shape data, so its output type never depends on tensor values);
//   a skip is no node at all where shape_preserving() (identity), else Conv 1x1 (stride s) -> BN -> Relu
//   head: Conv 1x1 (352 -> 1504 / 1984) -> BN -> Relu -> GlobalAveragePool -> Flatten ->
//     Gemm (transB = 1, with bias) -> output "logits" float[N, num_classes]
// Convolutions have no bias; BN uses the ONNX defaults (epsilon 1e-5 as PyTorch). Conv kernel sizes are
// not written as attributes (ONNX infers them from the weights).
// With options.use_functions every ConvBlock and every 1x1-conv skip is one call of a model-local
// function (domain "nas"): "mb" (groups 1, identity shortcut), "mb_first" (groups 1, a stage's first
// layer: no shortcut, stride attribute "s"), "mb_g2", "mb_g2_first" (groups 2) and "skip"; every block
// call sets the depthwise group "g". The kernel size and expansion are in the shape of the depthwise
// weight, the call's first weight argument. This generic set gave the shortest text; see fbnet.cc. Layer
// i's call binds the weight formals to fresh initializers "l<i>_<formal>"; identity skips have no call.
// Without functions the same nodes are written inline with internal values named "l<i>_<value>";
// initializer names are the same either way.
// Throws nas::SpaceError on an unknown dataset or batch_size < 1.
onnx::ModelProto build_fbnet_model(const FbnetGenotype& g, const BuildOptions& options = {});

// The FBNet search space as defined by HW-NAS-Bench (Li et al., ICLR 2021): 9^22 architectures, genes =
// the block of each layer. Costs per device: spaces/fbnet_lut.h.
// Thread-safety: stateless; every method may be called concurrently.
class FbnetSpace final : public SearchSpace {
 public:
  std::string name() const override { return "fbnet"; }
  std::vector<int> gene_cardinalities() const override;  // 22 x 9
  std::vector<std::string> datasets() const override;    // {"cifar100", "imagenet"}

  void validate(const Genotype& g) const override;
  Genotype sample(Rng& rng) const override;  // each layer's block uniform
  // Changes the block of one uniformly chosen layer to one of the 8 others, uniformly. This always
  // changes the network (the canonical form).
  Genotype mutate(const Genotype& parent, Rng& rng) const override;
  // Each layer's block from `a` or `b` with probability 1/2.
  Genotype crossover(const Genotype& a, const Genotype& b, Rng& rng) const override;

  Genotype parse(std::string_view arch) const override;
  std::string format(const Genotype& g) const override;
  std::string canonical(const Genotype& g) const override;

  // 9^22 > 2^64: not enumerable (size() = nullopt, at() throws).
  onnx::ModelProto build_model(const Genotype& g, const BuildOptions& options = {}) const override;
};

}  // namespace nas::spaces
