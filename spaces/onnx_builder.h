#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "core/rng.h"
#include "spaces/search_space.h"

namespace nas::spaces {

// Domain of the model-local functions the spaces emit (repeated cells and blocks); the model imports
// it as {"nas", 1}.
inline constexpr const char* kNasDomain = "nas";

// Attribute helpers for GraphBuilder::node() / FunctionBuilder::node(), e.g. attr("kernel_shape", {3, 3}).
// Emit only non-default attributes: the text serializer prints what is there.
onnx::AttributeProto attr(const std::string& name, int64_t value);
onnx::AttributeProto attr(const std::string& name, int value);  // so that attr("group", 2) is not ambiguous
onnx::AttributeProto attr(const std::string& name, float value);
onnx::AttributeProto attr(const std::string& name, const std::string& value);
onnx::AttributeProto attr(const std::string& name, const char* value);
onnx::AttributeProto attr(const std::string& name, std::vector<int64_t> values);
// Braced lists, attr("pads", {1, 1, 1, 1}): picks INTS over the std::string overload.
onnx::AttributeProto attr(const std::string& name, std::initializer_list<int64_t> values);
onnx::AttributeProto attr_floats(const std::string& name, std::vector<float> values);

// What an initializer holds, which decides its values under WeightFill::kRandom (under kZeros every
// initializer is all zeros).
enum class ParamRole {
  kWeight,  // Conv / Gemm weight: He-normal, stddev sqrt(2 / fan_in), fan_in = product of dims[1:]
            // (Conv [C_out, C_in/group, k...]; Gemm with transB=1 [out, in]); He et al. 2015
  kOnes,    // BatchNormalization scale and running variance
  kZeros,   // biases, BatchNormalization running mean
};

// Builds one ONNX model-local function (FunctionProto): a block written once and called by name.
// Convention: formal inputs list the activation inputs first,
// then the weight inputs in the order the body uses them.
//
// Example:
//   onnx::FunctionProto f = FunctionBuilder("relu_conv")
//       .input("x").input("w").output("y")
//       .node("Relu", {"x"}, {"r"})
//       .node("Conv", {"r", "w"}, {"y"}, {attr("kernel_shape", {3, 3}), attr("pads", {1, 1, 1, 1})})
//       .build();
class FunctionBuilder {
 public:
  explicit FunctionBuilder(std::string name, std::string domain = kNasDomain);

  FunctionBuilder& input(std::string name);
  FunctionBuilder& output(std::string name);
  FunctionBuilder& node(std::string op_type, std::vector<std::string> inputs, std::vector<std::string> outputs,
                        std::vector<onnx::AttributeProto> attrs = {}, std::string domain = "");
  // The function; its body imports the default domain at `opset` and every other domain its nodes use
  // (e.g. "nas" for nested calls) at version 1. Copies, so that it can end a chain.
  onnx::FunctionProto build(int64_t opset = 15) const;

 private:
  onnx::FunctionProto fn_;
};

// Builds an onnx::ModelProto: graph inputs/outputs with static shapes, nodes, float32 initializers of
// exact shapes filled per WeightFill, and calls of model-local functions, either kept as calls
// (the function is written once into ModelProto.functions) or expanded in place.
//
// Example:
//   GraphBuilder b("tiny", WeightFill::kZeros);
//   b.input("x", onnx::TensorProto::FLOAT, {1, 3, 8, 8}).initializer("w", {4, 3, 3, 3}, ParamRole::kWeight)
//    .node("Conv", {"x", "w"}, {"y"}, {attr("kernel_shape", {3, 3}), attr("pads", {1, 1, 1, 1})})
//    .output("y", onnx::TensorProto::FLOAT, {1, 4, 8, 8});
//   onnx::ModelProto m = std::move(b).build();
//
// Memory model: kZeros initializers are one zero-filled raw_data buffer each (no per-element work);
// kRandom initializers are float_data drawn from one Rng seeded with `seed`, in the order
// initializer() is called, so a model is a deterministic function of (graph, seed).
// Thread-safety: none; use one builder per thread.
class GraphBuilder {
 public:
  GraphBuilder(std::string graph_name, WeightFill fill = WeightFill::kZeros, uint64_t seed = 0);

  GraphBuilder& input(std::string name, onnx::TensorProto_DataType type, const std::vector<int64_t>& dims);
  GraphBuilder& output(std::string name, onnx::TensorProto_DataType type, const std::vector<int64_t>& dims);
  // Adds one node, e.g. node("Conv", {x, w}, {y}, {attr("kernel_shape", {3, 3}), attr("pads", {1, 1, 1, 1})}).
  GraphBuilder& node(std::string op_type, std::vector<std::string> inputs, std::vector<std::string> outputs,
                     std::vector<onnx::AttributeProto> attrs = {}, std::string domain = "");
  // Adds a float32 initializer of shape `dims`, filled per the builder's WeightFill and `role`.
  GraphBuilder& initializer(std::string name, const std::vector<int64_t>& dims, ParamRole role);

  // Registers a model-local function for call(). Registering the same name twice is an internal
  // error (nas::Error).
  GraphBuilder& function(onnx::FunctionProto fn);
  // Calls the registered function `name` with actual `inputs` / `outputs` (positional, same count as
  // its formals). With set_inline_calls(false) (default) this adds one node of op_type `name` in the
  // function's domain; with true it copies the body instead, binding formals to actuals and renaming
  // every other value v to prefix + "_" + v (the caller keeps prefixes unique). Throws nas::Error if
  // the function is unknown or the counts differ.
  GraphBuilder& call(const std::string& name, std::vector<std::string> inputs,
                     std::vector<std::string> outputs, const std::string& prefix);
  GraphBuilder& set_inline_calls(bool inline_calls);

  // The model: IR `ir_version`, opset_import {"", opset} plus {"nas", 1} if any call was kept; only
  // the functions actually called are written, in registration order.
  onnx::ModelProto build(int64_t ir_version = 8, int64_t opset = 15) &&;

 private:
  onnx::ModelProto model_;
  WeightFill fill_;
  Rng rng_;
  bool inline_calls_ = false;
  std::vector<onnx::FunctionProto> functions_;  // registration order
  std::vector<bool> called_;                    // parallel to functions_
};

// Inputs of a BatchNormalization of `x` with parameters prefix_{scale,bias,mean,var}.
std::vector<std::string> bn_inputs(const std::string& x, const std::string& prefix);
// Adds those four initializers, [channels] each: scale and var ones, bias and mean zeros.
void add_bn_params(GraphBuilder& b, const std::string& prefix, int64_t channels);

}  // namespace nas::spaces
