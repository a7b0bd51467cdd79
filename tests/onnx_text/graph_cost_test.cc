#include "onnx_text/graph_cost.h"

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include "core/error.h"
#include "onnx_text/inline.h"
#include "spaces/nb201.h"
#include "spaces/onnx_builder.h"

namespace nas::onnx_text {
namespace {

using spaces::attr;
using spaces::FunctionBuilder;
using spaces::GraphBuilder;
using spaces::ParamRole;
constexpr auto kFloat = onnx::TensorProto::FLOAT;

// Exact expected counts are small integers, so doubles compare exactly after the / 1e6.
void expect_cost(const onnx::ModelProto& m, double params, double macs) {
  GraphCost c = graph_cost(m);
  EXPECT_DOUBLE_EQ(c.params_M * 1e6, params);
  EXPECT_DOUBLE_EQ(c.flops_M * 1e6, macs);
}

// The checker's complaint, or "" if the model is valid.
std::string check(const onnx::ModelProto& m) {
  try {
    onnx::checker::check_model(m);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const OnnxTextError& e) {
    return e.what();
  }
  return "<no OnnxTextError>";
}

TEST(GraphCostTest, ConvCountsKernelMacsPerOutputElement) {
  GraphBuilder b("conv");
  b.input("x", kFloat, {2, 3, 16, 16})
      .initializer("w", {8, 3, 3, 3}, ParamRole::kWeight)
      .node("Conv", {"x", "w"}, {"y"}, {attr("kernel_shape", {3, 3}), attr("pads", {1, 1, 1, 1})})
      .output("y", kFloat, {2, 8, 16, 16});
  expect_cost(std::move(b).build(), /*params=*/8 * 3 * 3 * 3, /*macs=*/2.0 * 8 * 16 * 16 * (3 * 3 * 3));
}

TEST(GraphCostTest, ConvBiasAddsOneAddPerOutputElement) {
  GraphBuilder b("conv_bias");
  b.input("x", kFloat, {1, 3, 8, 8})
      .initializer("w", {4, 3, 1, 1}, ParamRole::kWeight)
      .initializer("bias", {4}, ParamRole::kZeros)
      .node("Conv", {"x", "w", "bias"}, {"y"}, {attr("kernel_shape", {1, 1})})
      .output("y", kFloat, {1, 4, 8, 8});
  expect_cost(std::move(b).build(), 12 + 4, 4.0 * 64 * 3 + 4.0 * 64);
}

TEST(GraphCostTest, GroupedStridedConvUsesInputChannelsPerGroup) {
  GraphBuilder b("group");
  b.input("x", kFloat, {1, 8, 10, 10})
      .initializer("w", {8, 2, 3, 3}, ParamRole::kWeight)
      .node("Conv", {"x", "w"}, {"y"}, {attr("kernel_shape", {3, 3}), attr("strides", {2, 2}), attr("group", 4)})
      .output("y", kFloat, {1, 8, 4, 4});
  expect_cost(std::move(b).build(), 8 * 2 * 9, 8.0 * 4 * 4 * (2 * 9));
}

TEST(GraphCostTest, ConvTransposeCountsPerInputElement) {
  GraphBuilder b("deconv");
  b.input("x", kFloat, {1, 4, 5, 5})
      .initializer("w", {4, 6, 3, 3}, ParamRole::kWeight)
      .initializer("bias", {6}, ParamRole::kZeros)
      .node("ConvTranspose", {"x", "w", "bias"}, {"y"}, {attr("kernel_shape", {3, 3}), attr("strides", {2, 2})})
      .output("y", kFloat, {1, 6, 11, 11});
  expect_cost(std::move(b).build(), 4 * 6 * 9 + 6, 25.0 * 4 * (6 * 9) + 6.0 * 11 * 11);
}

TEST(GraphCostTest, GemmHonoursTransposesAndBias) {
  GraphBuilder b("gemm");
  b.input("a", kFloat, {5, 3})  // transA: M = 3, K = 5
      .initializer("w", {4, 5}, ParamRole::kWeight)  // transB: N = 4
      .initializer("c", {4}, ParamRole::kZeros)
      .node("Gemm", {"a", "w", "c"}, {"y"}, {attr("transA", 1), attr("transB", 1)})
      .output("y", kFloat, {3, 4});
  expect_cost(std::move(b).build(), 20 + 4, 3.0 * 5 * 4 + 3.0 * 4);
}

TEST(GraphCostTest, MatMulBroadcastsBatchDimensions) {
  GraphBuilder b("matmul");
  b.input("a", kFloat, {2, 3, 4, 5})
      .initializer("w", {5, 6}, ParamRole::kWeight)
      .node("MatMul", {"a", "w"}, {"y"})
      .output("y", kFloat, {2, 3, 4, 6});
  expect_cost(std::move(b).build(), 30, 2.0 * 3 * 4 * 6 * 5);
}

TEST(GraphCostTest, BatchNormRunningStatisticsAreNotParameters) {
  GraphBuilder b("bn");
  b.input("x", kFloat, {1, 7, 4, 4})
      .initializer("scale", {7}, ParamRole::kOnes)
      .initializer("bias", {7}, ParamRole::kZeros)
      .initializer("mean", {7}, ParamRole::kZeros)
      .initializer("var", {7}, ParamRole::kOnes)
      .node("BatchNormalization", {"x", "scale", "bias", "mean", "var"}, {"y"})
      .node("AveragePool", {"y"}, {"z"}, {attr("kernel_shape", {2, 2})})
      .output("z", kFloat, {1, 7, 3, 3});
  expect_cost(std::move(b).build(), 14, 0);  // pooling and BN add no MACs
}

TEST(GraphCostTest, SharedWeightsCountOnceAndIntegerInitializersNever) {
  GraphBuilder b("shared");
  b.input("x", kFloat, {2, 6})
      .initializer("w", {6, 6}, ParamRole::kWeight)
      .node("MatMul", {"x", "w"}, {"h"})
      .node("MatMul", {"h", "w"}, {"y"});
  onnx::ModelProto m = std::move(b).build();
  // Reshape y [2, 6] -> [3, 4] with a shape initializer: inference must read its values.
  auto* shape = m.mutable_graph()->add_initializer();
  shape->set_name("shape");
  shape->set_data_type(onnx::TensorProto::INT64);
  shape->add_dims(2);
  shape->add_int64_data(3);
  shape->add_int64_data(4);
  auto* reshape = m.mutable_graph()->add_node();
  reshape->set_op_type("Reshape");
  reshape->add_input("y");
  reshape->add_input("shape");
  reshape->add_output("r");
  auto* w2 = m.mutable_graph()->add_initializer();
  w2->set_name("w2");
  w2->set_data_type(onnx::TensorProto::FLOAT);
  w2->add_dims(4);
  w2->add_dims(5);
  w2->mutable_raw_data()->assign(80, '\0');
  auto* mm = m.mutable_graph()->add_node();
  mm->set_op_type("MatMul");
  mm->add_input("r");
  mm->add_input("w2");
  mm->add_output("out");
  auto* out = m.mutable_graph()->add_output();
  out->set_name("out");
  out->mutable_type()->mutable_tensor_type()->set_elem_type(kFloat);
  out->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_param("rows");
  out->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(5);
  ASSERT_EQ(check(m), "");
  expect_cost(m, 36 + 20, 2.0 * 6 * 6 * 2 + 3.0 * 5 * 4);
}

TEST(GraphCostTest, DynamicShapesAreReported) {
  GraphBuilder b("dyn");
  b.input("x", kFloat, {1, 3, 8, 8})
      .initializer("w", {4, 3, 3, 3}, ParamRole::kWeight)
      .node("Conv", {"x", "w"}, {"y"}, {attr("kernel_shape", {3, 3})})
      .output("y", kFloat, {1, 4, 6, 6});
  onnx::ModelProto m = std::move(b).build();
  auto* dim = m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(2);
  dim->set_dim_param("H");
  m.mutable_graph()->mutable_output(0)->mutable_type()->mutable_tensor_type()->clear_shape();
  std::string msg = error_of([&] { graph_cost(m); });
  EXPECT_NE(msg.find("Conv node '' (output 'y'): shape of 'y' is not static ([1, 4, "), std::string::npos) << msg;
}

TEST(GraphCostTest, UnknownOpsLeaveShapesUnknown) {
  GraphBuilder b("custom");
  b.input("x", kFloat, {1, 3, 8, 8})
      .initializer("w", {4, 3, 3, 3}, ParamRole::kWeight)
      .node("Mystery", {"x"}, {"m"}, {}, "com.example")
      .node("Conv", {"m", "w"}, {"y"}, {attr("kernel_shape", {3, 3})})
      .output("y", kFloat, {1, 4, 6, 6});
  onnx::ModelProto m = std::move(b).build();
  m.mutable_graph()->mutable_output(0)->mutable_type()->mutable_tensor_type()->clear_shape();
  auto* imp = m.add_opset_import();
  imp->set_domain("com.example");
  imp->set_version(1);
  std::string msg = error_of([&] { graph_cost(m); });
  EXPECT_NE(msg.find("Conv node '' (output 'y'): shape of 'y' is not static (unknown)"), std::string::npos) << msg;
}

TEST(GraphCostTest, ShapeInferenceErrorsBecomeOnnxTextError) {
  GraphBuilder b("bad");
  b.input("x", kFloat, {2, 3})
      .initializer("w", {4, 5}, ParamRole::kWeight)  // K = 3 vs 4
      .node("MatMul", {"x", "w"}, {"y"})
      .output("y", kFloat, {2, 5});
  std::string msg = error_of([&] { graph_cost(std::move(b).build()); });
  EXPECT_NE(msg.find("graph_cost: shape inference failed"), std::string::npos) << msg;
}

TEST(GraphCostTest, DeclaredOutputShapesAreChecked) {
  GraphBuilder b("declared");
  b.input("x", kFloat, {1, 3, 8, 8})
      .initializer("w", {4, 3, 3, 3}, ParamRole::kWeight)
      .node("Conv", {"x", "w"}, {"y"}, {attr("kernel_shape", {3, 3})})
      .output("y", kFloat, {1, 4, 7, 7});  // really [1, 4, 6, 6]
  std::string msg = error_of([&] { graph_cost(std::move(b).build()); });
  EXPECT_NE(msg.find("shape inference failed"), std::string::npos) << msg;
}

// relu_conv(x, w) => (y) { r = Relu(x); y = Conv(r, w) } with kernel 3x3, pad 1.
onnx::FunctionProto relu_conv() {
  return FunctionBuilder("relu_conv")
      .input("x")
      .input("w")
      .output("y")
      .node("Relu", {"x"}, {"r"})
      .node("Conv", {"r", "w"}, {"y"}, {attr("kernel_shape", {3, 3}), attr("pads", {1, 1, 1, 1})})
      .build();
}

// block(x, w1, w2) => (y) { a = nas.relu_conv(x, w1); y = nas.relu_conv(a, w2) }: a nested call.
onnx::FunctionProto block() {
  return FunctionBuilder("block")
      .input("x")
      .input("w1")
      .input("w2")
      .output("y")
      .node("relu_conv", {"x", "w1"}, {"a"}, {}, "nas")
      .node("relu_conv", {"a", "w2"}, {"y"}, {}, "nas")
      .build();
}

// x [1,3,8,8] -> block (3->4->4) -> block (4->8->8) -> y [1,8,8,8], functions written as model-local.
onnx::ModelProto nested_model() {
  GraphBuilder b("nested");
  b.function(relu_conv()).function(block());
  b.input("x", kFloat, {1, 3, 8, 8})
      .initializer("w1", {4, 3, 3, 3}, ParamRole::kWeight)
      .initializer("w2", {4, 4, 3, 3}, ParamRole::kWeight)
      .initializer("w3", {8, 4, 3, 3}, ParamRole::kWeight)
      .initializer("w4", {8, 8, 3, 3}, ParamRole::kWeight)
      .call("block", {"x", "w1", "w2"}, {"h"}, "b0")
      .call("block", {"h", "w3", "w4"}, {"y"}, "b1")
      .output("y", kFloat, {1, 8, 8, 8});
  onnx::ModelProto m = std::move(b).build();
  // GraphBuilder only writes functions it called itself; relu_conv is called from block's body.
  *m.add_functions() = relu_conv();
  return m;
}

TEST(GraphCostTest, CountsThroughNestedFunctionsLikeTheInlinedModel) {
  onnx::ModelProto m = nested_model();
  ASSERT_EQ(check(m), "");
  double params = 4 * 27 + 4 * 36 + 8 * 36 + 8 * 72;
  double macs = 64.0 * (4 * 27 + 4 * 36 + 8 * 36 + 8 * 72);
  expect_cost(m, params, macs);
  onnx::ModelProto flat = inline_functions(m);
  EXPECT_EQ(flat.functions_size(), 0);
  expect_cost(flat, params, macs);
}

// x [1,3,8,8]; a = Conv(x, wa) (4 ch), b = Conv(x, wb) (4 ch); `dead` decides how b reaches y.
// A 3x3 conv of 3 -> 4 channels on 8x8 costs 64 x 4 x 27 = 6,912 MACs.
onnx::ModelProto two_branches(const std::string& how_b_is_used) {
  GraphBuilder b("branches", spaces::WeightFill::kRandom, 1);
  b.input("x", kFloat, {1, 3, 8, 8})
      .initializer("wa", {4, 3, 3, 3}, ParamRole::kWeight)
      .initializer("wb", {4, 3, 3, 3}, ParamRole::kWeight)
      .initializer("zero", {1}, ParamRole::kZeros)
      .initializer("one", {1}, ParamRole::kOnes)
      .node("Conv", {"x", "wa"}, {"a"}, {attr("kernel_shape", {3, 3}), attr("pads", {1, 1, 1, 1})})
      .node("Conv", {"x", "wb"}, {"b"}, {attr("kernel_shape", {3, 3}), attr("pads", {1, 1, 1, 1})});
  if (how_b_is_used == "unused") {
    b.node("Relu", {"a"}, {"y"});
  } else if (how_b_is_used == "sub") {
    b.node("Sub", {"b", "b"}, {"z"}).node("Add", {"a", "z"}, {"y"});
  } else if (how_b_is_used == "mul_zero") {
    b.node("Mul", {"b", "zero"}, {"z"}).node("Add", {"a", "z"}, {"y"});
  } else if (how_b_is_used == "mul_ones") {
    b.node("Mul", {"b", "one"}, {"z"}).node("Add", {"a", "z"}, {"y"});
  } else {  // "add"
    b.node("Add", {"a", "b"}, {"y"});
  }
  b.output("y", kFloat, {1, 4, 8, 8});
  return std::move(b).build();
}

TEST(GraphCostTest, LiveFlopsLeaveOutNodesTheOutputDoesNotNeed) {
  constexpr double kConv = 64.0 * 4 * 27;
  for (const char* how : {"unused", "sub", "mul_zero", "mul_ones", "add"}) {
    onnx::ModelProto m = two_branches(how);
    ASSERT_EQ(check(m), "") << how;
    GraphCost c = graph_cost(m);
    EXPECT_DOUBLE_EQ(c.flops_M * 1e6, 2 * kConv) << how;  // every node counts in flops_M
    bool b_needed = std::string(how) == "add" || std::string(how) == "mul_ones";
    EXPECT_DOUBLE_EQ(c.live_flops_M * 1e6, b_needed ? 2 * kConv : kConv) << how;
    // The live nodes by operator: the folded Sub / Mul by zero is not run, Mul by one is.
    std::map<std::string, int64_t> nodes{{"Conv", b_needed ? 2 : 1}};
    std::string h = how;
    if (h == "unused") nodes["Relu"] = 1;
    else nodes["Add"] = 1;
    if (h == "mul_ones") nodes["Mul"] = 1;
    EXPECT_EQ(c.live_nodes, nodes) << how;
    // Every node, live or not.
    std::map<std::string, int64_t> all{{"Conv", 2}};
    if (h == "unused") all["Relu"] = 1;
    else if (h == "sub") all["Sub"] = all["Add"] = 1;
    else if (h == "add") all["Add"] = 1;
    else all["Mul"] = all["Add"] = 1;
    EXPECT_EQ(c.nodes, all) << how;
  }
}

TEST(GraphCostTest, LiveFlopsFollowNeededValuesThroughFunctionBodies) {
  // pair(x, w1, w2) => (y, unused) { y = Conv(x, w1); unused = Conv(x, w2) }: the second output of
  // every call is dropped, so its conv is dead in each call, as in the inlined model; so is a conv
  // whose output nothing reads.
  onnx::FunctionProto pair = FunctionBuilder("pair")
                                 .input("x")
                                 .input("w1")
                                 .input("w2")
                                 .output("y")
                                 .output("unused")
                                 .node("Conv", {"x", "w1"}, {"y"}, {attr("kernel_shape", {1, 1})})
                                 .node("Conv", {"x", "w2"}, {"unused"}, {attr("kernel_shape", {1, 1})})
                                 .build();
  GraphBuilder b("calls");
  b.function(pair);
  b.input("x", kFloat, {1, 4, 8, 8})
      .initializer("w1", {4, 4, 1, 1}, ParamRole::kWeight)
      .initializer("w2", {4, 4, 1, 1}, ParamRole::kWeight)
      .call("pair", {"x", "w1", "w2"}, {"h", "h_unused"}, "p0")
      .call("pair", {"h", "w1", "w2"}, {"y", "y_unused"}, "p1")
      .node("Conv", {"x", "w1"}, {"dangling"}, {attr("kernel_shape", {1, 1})})
      .output("y", kFloat, {1, 4, 8, 8});
  onnx::ModelProto m = std::move(b).build();
  ASSERT_EQ(check(m), "");
  constexpr double kConv = 64.0 * 4 * 4;  // 1x1, 4 -> 4 channels, 8x8
  GraphCost with = graph_cost(m);
  EXPECT_DOUBLE_EQ(with.flops_M * 1e6, 5 * kConv);
  EXPECT_DOUBLE_EQ(with.live_flops_M * 1e6, 2 * kConv);
  GraphCost inlined = graph_cost(inline_functions(m));
  EXPECT_DOUBLE_EQ(inlined.flops_M * 1e6, 5 * kConv);
  EXPECT_DOUBLE_EQ(inlined.live_flops_M * 1e6, 2 * kConv);
  EXPECT_EQ(with.live_nodes, (std::map<std::string, int64_t>{{"Conv", 2}}));
  EXPECT_EQ(inlined.live_nodes, with.live_nodes);
  EXPECT_EQ(with.nodes, (std::map<std::string, int64_t>{{"Conv", 5}}));  // two per call, and the dangling one
  EXPECT_EQ(inlined.nodes, with.nodes);
}

// x [1,4,8,8] -> Relu -> y, beside dead branches of 1x1 convs (4 -> 4 channels):
//   merged:   Sum(Conv(x), Conv(x)) that nothing reads: both convs and the Sum end in a merge;
//   chain:    Relu(Conv(x)) that nothing reads: a single-input end;
//   bias:     Add(Conv(x), bias [4,1,1]) that nothing reads: an Add of a bias is not a merge;
//   both:     Conv(x) read by a dead Sum (with x) and by a dead Relu: one of its ends is not a merge;
//   through:  Conv(x) -> Relu -> Add(., x): a chain that ends in a merge counts whole.
TEST(GraphCostTest, DeadMergedNodesAreTheDeadNodesWhoseResultsEndOnlyInMerges) {
  GraphBuilder b("dead_ends");
  b.input("x", kFloat, {1, 4, 8, 8}).initializer("bias", {4, 1, 1}, ParamRole::kZeros);
  for (const char* w : {"w1", "w2", "w3", "w4", "w5", "w6", "w7"}) b.initializer(w, {4, 4, 1, 1}, ParamRole::kWeight);
  b.node("Relu", {"x"}, {"y"})
      .node("Conv", {"x", "w1"}, {"m1"})
      .node("Conv", {"x", "w2"}, {"m2"})
      .node("Sum", {"m1", "m2"}, {"merged"})
      .node("Conv", {"x", "w3"}, {"c"})
      .node("Relu", {"c"}, {"chain"})
      .node("Conv", {"x", "w4"}, {"bc"})
      .node("Add", {"bc", "bias"}, {"biased"})
      .node("Conv", {"x", "w5"}, {"both"})
      .node("Sum", {"both", "x"}, {"both_sum"})
      .node("Relu", {"both"}, {"both_relu"})
      .node("Conv", {"x", "w6"}, {"t"})
      .node("Relu", {"t"}, {"t_relu"})
      .node("Add", {"t_relu", "x"}, {"through"})
      .node("Conv", {"x", "w7"}, {"unused_conv"})
      .output("y", kFloat, {1, 4, 8, 8});
  onnx::ModelProto m = std::move(b).build();
  ASSERT_EQ(check(m), "");
  GraphCost c = graph_cost(m);
  EXPECT_EQ(c.live_nodes, (std::map<std::string, int64_t>{{"Relu", 1}}));
  EXPECT_EQ(c.dead_merged_nodes,
            (std::map<std::string, int64_t>{{"Conv", 3}, {"Sum", 2}, {"Relu", 1}, {"Add", 1}}));
  EXPECT_EQ(c.nodes.at("Conv"), 7);
}

TEST(GraphCostTest, LiveNodesNameOperatorsOfOtherDomainsWithTheirDomain) {
  // x -> Relu -> com.example.Gelu -> Identity -> y, and a Relu of x that nothing reads.
  GraphBuilder b("domains");
  b.input("x", kFloat, {1, 4, 8, 8})
      .node("Relu", {"x"}, {"r"})
      .node("Relu", {"x"}, {"dead"})
      .node("Gelu", {"r"}, {"g"}, {}, "com.example")
      .node("Identity", {"g"}, {"y"})
      .output("y", kFloat, {1, 4, 8, 8});
  onnx::ModelProto m = std::move(b).build();
  auto* imp = m.add_opset_import();
  imp->set_domain("com.example");
  imp->set_version(1);
  GraphCost c = graph_cost(m);
  EXPECT_EQ(c.live_nodes, (std::map<std::string, int64_t>{{"Identity", 1}, {"Relu", 1}, {"com.example.Gelu", 1}}));
  EXPECT_EQ(c.nodes, (std::map<std::string, int64_t>{{"Identity", 1}, {"Relu", 2}, {"com.example.Gelu", 1}}));
}

TEST(GraphCostTest, Nb201ModelsCostTheSameWithFunctionsInlinedOrNot) {
  spaces::Nb201Space space;
  Rng rng(8);
  for (int trial = 0; trial < 60; ++trial) {
    spaces::Genotype g = space.sample(rng);
    spaces::BuildOptions options;
    options.dataset = space.datasets()[trial % 3];
    options.batch_size = 1 + trial % 2;
    GraphCost with = graph_cost(space.build_model(g, options));
    GraphCost inlined = graph_cost(inline_functions(space.build_model(g, options)));
    options.use_functions = false;
    GraphCost flat = graph_cost(space.build_model(g, options));
    EXPECT_EQ(with.params_M, inlined.params_M) << space.format(g);
    EXPECT_EQ(with.flops_M, inlined.flops_M) << space.format(g);
    EXPECT_EQ(with.params_M, flat.params_M) << space.format(g);
    EXPECT_EQ(with.flops_M, flat.flops_M) << space.format(g);
    EXPECT_NEAR(with.live_flops_M, inlined.live_flops_M, 1e-9 * with.flops_M) << space.format(g);
    EXPECT_NEAR(with.live_flops_M, flat.live_flops_M, 1e-9 * with.flops_M) << space.format(g);
    EXPECT_EQ(with.live_nodes, inlined.live_nodes) << space.format(g);
    EXPECT_EQ(with.live_nodes, flat.live_nodes) << space.format(g);
    EXPECT_EQ(with.nodes, inlined.nodes) << space.format(g);
    EXPECT_EQ(with.nodes, flat.nodes) << space.format(g);
    EXPECT_EQ(with.dead_merged_nodes, inlined.dead_merged_nodes) << space.format(g);
    EXPECT_EQ(with.dead_merged_nodes, flat.dead_merged_nodes) << space.format(g);
  }
}

TEST(GraphCostTest, MatchesTheHeaderExample) {
  spaces::BuildOptions options;
  options.dataset = "cifar10";
  GraphCost c = graph_cost(spaces::build_nb201_model(
      spaces::Nb201Genotype::parse(
          "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"),
      options));
  EXPECT_NEAR(c.params_M, 0.802426, 1e-5 * 0.802426);  // data/nb201.csv arch_idx 1
  EXPECT_NEAR(c.flops_M, 113.951, 1e-5 * 113.951);
  options.batch_size = 4;  // flops scale with the batch, params do not
  GraphCost c4 = graph_cost(spaces::build_nb201_model(
      spaces::Nb201Genotype::parse(
          "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"),
      options));
  EXPECT_DOUBLE_EQ(c4.params_M, c.params_M);
  EXPECT_DOUBLE_EQ(c4.flops_M, 4 * c.flops_M);
}

TEST(InlineTest, ExpandsCallsWithPrefixedInternalNames) {
  GraphBuilder b("one");
  b.function(relu_conv())
      .input("x", kFloat, {1, 3, 8, 8})
      .initializer("w", {4, 3, 3, 3}, ParamRole::kWeight)
      .call("relu_conv", {"x", "w"}, {"y"}, "unused")
      .output("y", kFloat, {1, 4, 8, 8});
  onnx::ModelProto m = std::move(b).build();
  onnx::ModelProto flat = inline_functions(m);
  ASSERT_EQ(flat.graph().node_size(), 2);
  EXPECT_EQ(flat.graph().node(0).op_type(), "Relu");
  EXPECT_EQ(flat.graph().node(0).input(0), "x");
  EXPECT_EQ(flat.graph().node(0).output(0), "relu_conv0_r");
  EXPECT_EQ(flat.graph().node(1).input(0), "relu_conv0_r");
  EXPECT_EQ(flat.graph().node(1).input(1), "w");
  EXPECT_EQ(flat.graph().node(1).output(0), "y");
  EXPECT_EQ(flat.functions_size(), 0);
  ASSERT_EQ(flat.opset_import_size(), 1);  // "nas" is no longer used
  EXPECT_EQ(flat.opset_import(0).domain(), "");
  EXPECT_EQ(flat.graph().initializer_size(), 1);
  ASSERT_NO_THROW(onnx::checker::check_model(flat));
}

TEST(InlineTest, NestedCallsExpandRecursivelyWithUniqueNames) {
  onnx::ModelProto m = nested_model();
  m.mutable_graph()->mutable_node(0)->set_name("first");  // named call: its name is the prefix
  onnx::ModelProto flat = inline_functions(m);
  std::vector<std::string> outputs;
  std::set<std::string> unique;
  for (const auto& n : flat.graph().node()) {
    EXPECT_TRUE(n.domain().empty()) << n.op_type();
    outputs.push_back(n.output(0));
    EXPECT_TRUE(unique.insert(n.output(0)).second) << "duplicate value " << n.output(0);
  }
  EXPECT_EQ(outputs, (std::vector<std::string>{"first_relu_conv0_r", "first_a", "first_relu_conv1_r", "h",
                                               "block0_relu_conv2_r", "block0_a", "block0_relu_conv3_r", "y"}));
  ASSERT_NO_THROW(onnx::checker::check_model(flat));
  onnx::shape_inference::InferShapes(flat, onnx::OpSchemaRegistry::Instance(),
                                     onnx::ShapeInferenceOptions{true, 1, false});
  EXPECT_EQ(flat.graph().value_info_size(), 7);  // every value but the output y
}

TEST(InlineTest, AvoidsNamesAlreadyInTheGraph) {
  GraphBuilder b("clash");
  b.function(relu_conv())
      .input("x", kFloat, {1, 3, 8, 8})
      .initializer("w", {4, 3, 3, 3}, ParamRole::kWeight)
      .node("Relu", {"x"}, {"relu_conv0_r"})
      .call("relu_conv", {"relu_conv0_r", "w"}, {"y"}, "unused")
      .output("y", kFloat, {1, 4, 8, 8});
  onnx::ModelProto flat = inline_functions(std::move(b).build());
  ASSERT_EQ(flat.graph().node_size(), 3);
  EXPECT_EQ(flat.graph().node(1).output(0), "relu_conv0_r_1");
  ASSERT_NO_THROW(onnx::checker::check_model(flat));
}

TEST(InlineTest, ResolvesAttributeReferences) {
  onnx::FunctionProto leaky = FunctionBuilder("leaky").input("x").output("y").build();
  leaky.add_attribute("slope");
  auto* n = leaky.add_node();
  n->set_op_type("LeakyRelu");
  n->add_input("x");
  n->add_output("y");
  auto* a = n->add_attribute();
  a->set_name("alpha");
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_ref_attr_name("slope");

  GraphBuilder b("attrs");
  b.function(leaky).input("x", kFloat, {2, 3}).output("z", kFloat, {2, 3});
  b.call("leaky", {"x"}, {"y"}, "unused");
  b.call("leaky", {"y"}, {"z"}, "unused");
  onnx::ModelProto m = std::move(b).build();
  *m.mutable_graph()->mutable_node(0)->add_attribute() = attr("slope", 0.25f);
  ASSERT_NO_THROW(onnx::checker::check_model(m));
  onnx::ModelProto flat = inline_functions(m);
  ASSERT_EQ(flat.graph().node_size(), 2);
  ASSERT_EQ(flat.graph().node(0).attribute_size(), 1);
  EXPECT_EQ(flat.graph().node(0).attribute(0).name(), "alpha");
  EXPECT_FLOAT_EQ(flat.graph().node(0).attribute(0).f(), 0.25f);
  EXPECT_EQ(flat.graph().node(1).attribute_size(), 0);  // not given: LeakyRelu's default alpha
  ASSERT_NO_THROW(onnx::checker::check_model(flat));
}

TEST(InlineTest, RejectsBadCallsAndRecursion) {
  onnx::ModelProto m = nested_model();
  m.mutable_graph()->mutable_node(0)->add_input("extra");
  EXPECT_NE(error_of([&] { inline_functions(m); }).find("calls 'nas.block' with 4 inputs / 1 outputs; it has 3 / 1"),
            std::string::npos);
  EXPECT_NE(error_of([&] { graph_cost(m); }).find("with 4 inputs"), std::string::npos);

  onnx::ModelProto r = nested_model();
  // relu_conv now calls block, which calls relu_conv.
  auto* body = r.mutable_functions(r.functions_size() - 1)->mutable_node(0);
  body->set_op_type("block");
  body->set_domain("nas");
  body->add_input("x");
  body->add_input("x");
  EXPECT_NE(error_of([&] { inline_functions(r); }).find("calls itself"), std::string::npos);
  EXPECT_NE(error_of([&] { graph_cost(r); }).find("calls itself"), std::string::npos);
}

}  // namespace
}  // namespace nas::onnx_text
