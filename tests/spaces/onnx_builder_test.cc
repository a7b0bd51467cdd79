#include "spaces/onnx_builder.h"

#include <gtest/gtest.h>
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include "core/error.h"

namespace nas::spaces {
namespace {

constexpr auto kFloat = onnx::TensorProto::FLOAT;

TEST(OnnxBuilderTest, AttributeHelpersSetNameTypeAndValue) {
  auto i = attr("group", 2);
  EXPECT_EQ(i.type(), onnx::AttributeProto::INT);
  EXPECT_EQ(i.i(), 2);
  auto f = attr("alpha", 0.5f);
  EXPECT_EQ(f.type(), onnx::AttributeProto::FLOAT);
  EXPECT_EQ(f.f(), 0.5f);
  auto ints = attr("pads", {1, 1, 1, 1});
  EXPECT_EQ(ints.type(), onnx::AttributeProto::INTS);
  EXPECT_EQ(ints.ints_size(), 4);
  auto s = attr("mode", "constant");
  EXPECT_EQ(s.type(), onnx::AttributeProto::STRING);
  EXPECT_EQ(s.s(), "constant");
  auto fs = attr_floats("scales", {1.0f, 2.0f});
  EXPECT_EQ(fs.type(), onnx::AttributeProto::FLOATS);
  EXPECT_EQ(fs.name(), "scales");
  EXPECT_EQ(fs.floats(1), 2.0f);
}

// x [1,3,8,8] -> relu_conv (function) -> y [1,4,8,8]
onnx::ModelProto tiny(bool inline_calls, WeightFill fill) {
  onnx::FunctionProto fn = FunctionBuilder("relu_conv")
                               .input("x")
                               .input("w")
                               .output("y")
                               .node("Relu", {"x"}, {"r"})
                               .node("Conv", {"r", "w"}, {"y"}, {attr("kernel_shape", {3, 3}), attr("pads", {1, 1, 1, 1})})
                               .build();
  GraphBuilder b("tiny", fill, /*seed=*/5);
  b.set_inline_calls(inline_calls).function(fn);
  b.input("x", kFloat, {1, 3, 8, 8})
      .initializer("w", {4, 3, 3, 3}, ParamRole::kWeight)
      .initializer("b", {4}, ParamRole::kOnes)
      .call("relu_conv", {"x", "w"}, {"c"}, "blk")
      .node("Relu", {"c"}, {"y"})
      .output("y", kFloat, {1, 4, 8, 8});
  return std::move(b).build();
}

TEST(OnnxBuilderTest, KeepsCallsAsModelLocalFunctions) {
  onnx::ModelProto m = tiny(/*inline_calls=*/false, WeightFill::kZeros);
  EXPECT_EQ(m.ir_version(), 8);
  ASSERT_EQ(m.opset_import_size(), 2);
  EXPECT_EQ(m.opset_import(0).domain(), "");
  EXPECT_EQ(m.opset_import(0).version(), 15);
  EXPECT_EQ(m.opset_import(1).domain(), "nas");
  EXPECT_EQ(m.opset_import(1).version(), 1);
  ASSERT_EQ(m.functions_size(), 1);
  EXPECT_EQ(m.functions(0).domain(), "nas");
  ASSERT_EQ(m.graph().node_size(), 2);
  EXPECT_EQ(m.graph().node(0).op_type(), "relu_conv");
  EXPECT_EQ(m.graph().node(0).domain(), "nas");
  ASSERT_NO_THROW(onnx::checker::check_model(m));
  onnx::shape_inference::InferShapes(m, onnx::OpSchemaRegistry::Instance(), onnx::ShapeInferenceOptions{true, 1, false});
  ASSERT_EQ(m.graph().value_info_size(), 1);
  EXPECT_EQ(m.graph().value_info(0).name(), "c");
  EXPECT_EQ(m.graph().value_info(0).type().tensor_type().shape().dim(1).dim_value(), 4);
}

TEST(OnnxBuilderTest, InlinesCallsWithPrefixedNames) {
  onnx::ModelProto m = tiny(/*inline_calls=*/true, WeightFill::kZeros);
  EXPECT_EQ(m.functions_size(), 0);
  ASSERT_EQ(m.opset_import_size(), 1);  // no "nas" import without calls
  ASSERT_EQ(m.graph().node_size(), 3);
  EXPECT_EQ(m.graph().node(0).op_type(), "Relu");
  EXPECT_EQ(m.graph().node(0).input(0), "x");
  EXPECT_EQ(m.graph().node(0).output(0), "blk_r");
  EXPECT_EQ(m.graph().node(1).input(0), "blk_r");
  EXPECT_EQ(m.graph().node(1).input(1), "w");
  EXPECT_EQ(m.graph().node(1).output(0), "c");
  ASSERT_NO_THROW(onnx::checker::check_model(m));
}

TEST(OnnxBuilderTest, FillsInitializersPerRole) {
  onnx::ModelProto zeros = tiny(false, WeightFill::kZeros);
  for (const auto& t : zeros.graph().initializer()) {
    int64_t n = 1;
    for (int64_t d : t.dims()) n *= d;
    EXPECT_EQ(t.raw_data(), std::string(static_cast<size_t>(n) * 4, '\0')) << t.name();
    EXPECT_EQ(t.float_data_size(), 0);
  }
  onnx::ModelProto random = tiny(false, WeightFill::kRandom);
  const auto& w = random.graph().initializer(0);
  const auto& b = random.graph().initializer(1);
  ASSERT_EQ(w.float_data_size(), 108);
  ASSERT_EQ(b.float_data_size(), 4);
  for (float v : b.float_data()) EXPECT_EQ(v, 1.0f);
  int distinct_nonzero = 0;
  for (float v : w.float_data()) distinct_nonzero += v != 0.0f;
  EXPECT_EQ(distinct_nonzero, 108);
  EXPECT_EQ(random.SerializeAsString(), tiny(false, WeightFill::kRandom).SerializeAsString());  // seeded
}

TEST(OnnxBuilderTest, RejectsMisuse) {
  GraphBuilder b("misuse");
  b.function(FunctionBuilder("f").input("x").output("y").node("Relu", {"x"}, {"y"}).build());
  EXPECT_THROW(b.function(FunctionBuilder("f").build()), Error);
  EXPECT_THROW(b.call("g", {"x"}, {"y"}, "p"), Error);
  EXPECT_THROW(b.call("f", {"x", "extra"}, {"y"}, "p"), Error);
}

TEST(OnnxBuilderTest, WritesOnlyCalledFunctionsAndImportsNestedDomains) {
  onnx::FunctionProto inner = FunctionBuilder("inner").input("x").output("y").node("Relu", {"x"}, {"y"}).build();
  onnx::FunctionProto outer =
      FunctionBuilder("outer").input("x").output("y").node("inner", {"x"}, {"y"}, {}, "nas").build();
  ASSERT_EQ(outer.opset_import_size(), 2);
  EXPECT_EQ(outer.opset_import(1).domain(), "nas");
  GraphBuilder b("only_called");
  b.function(inner).function(outer).input("x", kFloat, {2}).call("inner", {"x"}, {"y"}, "p").output("y", kFloat, {2});
  onnx::ModelProto m = std::move(b).build();
  ASSERT_EQ(m.functions_size(), 1);
  EXPECT_EQ(m.functions(0).name(), "inner");
}

}  // namespace
}  // namespace nas::spaces
