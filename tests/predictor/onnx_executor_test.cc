#include "predictor/onnx_executor.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>

#include <c10/core/InferenceMode.h>
#include <torch/cuda.h>
#include <torch/types.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/io.h"
#include "core/rng.h"
#include "predictor/measure.h"
#include "predictor/pipeline.h"
#include "spaces/arch_columns.h"
#include "spaces/onnx_builder.h"
#include "spaces/search_space.h"

namespace nas::predictor {
namespace {

using spaces::attr;

// An initializer of `model` as a CPU tensor (float_data or raw_data, float32 / int64).
torch::Tensor initializer(const onnx::ModelProto& model, const std::string& name) {
  for (const auto& t : model.graph().initializer()) {
    if (t.name() != name) continue;
    std::vector<int64_t> dims(t.dims().begin(), t.dims().end());
    auto dtype = t.data_type() == onnx::TensorProto::INT64 ? torch::kLong : torch::kFloat;
    void* data = t.has_raw_data() ? static_cast<void*>(const_cast<char*>(t.raw_data().data()))
                 : t.data_type() == onnx::TensorProto::INT64
                     ? static_cast<void*>(const_cast<int64_t*>(t.int64_data().data()))
                     : static_cast<void*>(const_cast<float*>(t.float_data().data()));
    return torch::from_blob(data, dims, dtype).clone();
  }
  ADD_FAILURE() << "no initializer " << name;
  return {};
}

// Replaces the values of every float initializer whose name ends in one of `suffixes` with seeded
// values in [lo, hi), so that a reference that reads the wrong BatchNormalization parameter or bias fails.
void randomize(onnx::ModelProto& model, const std::vector<std::string>& suffixes, double lo, double hi,
               Rng& rng) {
  for (auto& t : *model.mutable_graph()->mutable_initializer()) {
    bool match = false;
    for (const auto& s : suffixes)
      match = match ||
              (t.name().size() >= s.size() && t.name().compare(t.name().size() - s.size(), s.size(), s) == 0);
    if (!match) continue;
    int64_t n = 1;
    for (auto d : t.dims()) n *= d;
    t.clear_raw_data();
    t.clear_float_data();
    for (int64_t i = 0; i < n; ++i) t.add_float_data(static_cast<float>(lo + (hi - lo) * rng.uniform()));
  }
}

HostTensor host(const torch::Tensor& t) {
  torch::Tensor c = t.contiguous();
  HostTensor h;
  h.shape.assign(c.sizes().begin(), c.sizes().end());
  h.data.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  return h;
}

// Max |a - b| relative to max |b|.
double relative_error(const HostTensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.shape, std::vector<int64_t>(b.sizes().begin(), b.sizes().end()));
  torch::Tensor ta = torch::from_blob(const_cast<float*>(a.data.data()), b.sizes(), torch::kFloat);
  double scale = b.abs().max().item<double>();
  return (ta - b).abs().max().item<double>() / std::max(scale, 1e-30);
}

// NAS-Bench-201's network written directly with LibTorch functional ops (spaces/nb201.h: stem 3x3 conv +
// BN, 3 stages of 5 cells with a residual reduction block between stages, BN + ReLU + global pool +
// linear head), reading the weights of `model` by initializer name.
torch::Tensor nb201_reference(const onnx::ModelProto& model, const spaces::Genotype& g,
                              const torch::Tensor& input) {
  auto w = [&](const std::string& name) { return initializer(model, name); };
  auto bn = [&](const torch::Tensor& x, const std::string& p) {
    return at::batch_norm(x, w(p + "_scale"), w(p + "_bias"), w(p + "_mean"), w(p + "_var"), false, 0.0, 1e-5,
                          true);
  };
  auto conv = [&](const torch::Tensor& x, const std::string& weight, int64_t stride, int64_t pad) {
    return at::conv2d(x, w(weight), {}, {stride, stride}, {pad, pad});
  };
  torch::Tensor x = bn(conv(input, "stem_conv_w", 1, 1), "stem_bn");
  int index = 0;
  for (int stage = 0; stage < 3; ++stage) {
    if (stage > 0) {
      std::string p = fmt::format("cell{}", index++);
      torch::Tensor a = bn(conv(at::relu(x), p + "_a_w", 2, 1), p + "_a");
      torch::Tensor b = bn(conv(at::relu(a), p + "_b_w", 1, 1), p + "_b");
      x = b + conv(at::avg_pool2d(x, {2, 2}, {2, 2}), p + "_short_w", 1, 0);
    }
    for (int i = 0; i < 5; ++i) {
      std::string p = fmt::format("cell{}", index++);
      std::vector<torch::Tensor> nodes{x};
      int edge = 0;
      for (int to = 1; to <= 3; ++to) {
        torch::Tensor sum = torch::zeros_like(x);
        for (int from = 0; from < to; ++from, ++edge) {
          const torch::Tensor& in = nodes[static_cast<size_t>(from)];
          std::string e = fmt::format("{}_e{}", p, edge);
          switch (g.genes[static_cast<size_t>(edge)]) {
            case 1: sum = sum + in; break;
            case 2: sum = sum + bn(conv(at::relu(in), e + "_w", 1, 0), e); break;
            case 3: sum = sum + bn(conv(at::relu(in), e + "_w", 1, 1), e); break;
            case 4:
              sum = sum + at::avg_pool2d(in, {3, 3}, {1, 1}, {1, 1}, false, /*count_include_pad=*/false);
              break;
            default: break;
          }
        }
        nodes.push_back(sum);
      }
      x = nodes[3];
    }
  }
  x = at::relu(bn(x, "head_bn")).mean({2, 3});
  return at::linear(x, w("classifier_w"), w("classifier_b"));
}

TEST(OnnxExecutorTest, Nb201NetworkEqualsDirectLibTorchReference) {
  auto space = spaces::make_space("nb201");
  c10::InferenceMode guard;
  Rng rng(3);
  // Row 1 of data/nb201.csv (every op but none) and a cell with `none` edges and a zero node.
  for (const std::string arch :
       {"|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
        "skip_connect~2|",
        "|nor_conv_1x1~0|+|none~0|none~1|+|avg_pool_3x3~0|skip_connect~1|nor_conv_1x1~2|"}) {
    spaces::Genotype g = space->parse(arch);
    spaces::BuildOptions b;
    b.weights = spaces::WeightFill::kRandom;
    b.weight_seed = 5;
    b.batch_size = 2;
    onnx::ModelProto model = space->build_model(g, b);
    ASSERT_GT(model.functions_size(), 0) << "cells as local functions, which the executor inlines";
    randomize(model, {"_scale", "_bias", "_mean", "_b"}, -0.5, 0.5, rng);
    randomize(model, {"_var"}, 0.5, 1.5, rng);
    OnnxExecutor exec(model, {"cpu", 2, 9});
    ASSERT_EQ(exec.input_shape(), (std::vector<int64_t>{2, 3, 32, 32}));
    torch::Tensor input = torch::randn({2, 3, 32, 32});
    HostTensor in = host(input);
    auto out = exec.run(&in);
    ASSERT_EQ(out.size(), 1u);
    torch::Tensor ref = nb201_reference(model, g, input);
    EXPECT_LT(relative_error(out[0], ref), 1e-4) << arch;
    EXPECT_GT(ref.abs().max().item<double>(), 1e-3) << "non-trivial output";
  }
}

// The ops and attribute values FBNet, OFA-MobileNetV3 and DARTS emit beyond NB201's, in one small graph
// against LibTorch: grouped, depthwise (auto_pad SAME_LOWER with stride 2, i.e. padded 1 before and 0
// after), dilated and asymmetrically padded convolutions, channel-shuffle Gather, HardSwish, a
// squeeze-excite gate (Gemm, HardSigmoid, Reshape, Mul), MaxPool, DARTS' factorized reduction
// (SpaceToDepth, Split) and non-affine BatchNormalization (Shape, ConstantOfShape), Concat, Sigmoid, MatMul.
TEST(OnnxExecutorTest, MobileAndDartsOpsEqualLibTorch) {
  spaces::GraphBuilder b("ops", spaces::WeightFill::kRandom, /*seed=*/4);
  b.input("x", onnx::TensorProto::FLOAT, {2, 8, 10, 10})
      .initializer("w_group", {8, 4, 3, 3}, spaces::ParamRole::kWeight)
      .initializer("w_dw", {8, 1, 3, 3}, spaces::ParamRole::kWeight)
      .initializer("w_dil", {8, 8, 3, 3}, spaces::ParamRole::kWeight)
      .initializer("w_fc", {8, 8}, spaces::ParamRole::kWeight)
      .initializer("w_mm", {8, 3}, spaces::ParamRole::kWeight)
      .initializer("bn_mean", {8}, spaces::ParamRole::kZeros)
      .initializer("bn_var", {8}, spaces::ParamRole::kOnes)
      .node("Conv", {"x", "w_group"}, {"g"}, {attr("group", 2), attr("pads", {1, 1, 1, 1})})
      .node("Gather", {"g", "perm"}, {"shuffled"}, {attr("axis", 1)})
      .node("Conv", {"shuffled", "w_dw"}, {"dw"},
            {attr("auto_pad", "SAME_LOWER"), attr("group", 8), attr("strides", {2, 2})})
      .node("HardSwish", {"dw"}, {"hs"})
      .node("GlobalAveragePool", {"hs"}, {"se_pool"})
      .node("Flatten", {"se_pool"}, {"se_flat"})
      .node("Gemm", {"se_flat", "w_fc"}, {"se_fc"}, {attr("transB", 1), attr("alpha", 0.5f)})
      .node("HardSigmoid", {"se_fc"}, {"se_gate"})
      .node("Reshape", {"se_gate", "se_shape"}, {"se_gate4"})
      .node("Mul", {"hs", "se_gate4"}, {"scaled"})
      .node("Conv", {"scaled", "w_dil"}, {"dil"}, {attr("dilations", {2, 2}), attr("pads", {2, 1, 2, 3})})
      .node("MaxPool", {"dil"}, {"mp"}, {attr("kernel_shape", {3, 3}), attr("pads", {1, 1, 1, 1})})
      .node("SpaceToDepth", {"g"}, {"s2d"}, {attr("blocksize", int64_t{2})})
      .node("Split", {"s2d"}, {"q0", "q1", "q2", "q3"}, {attr("axis", 1)})
      .node("Shape", {"q0"}, {"channels"}, {attr("start", int64_t{1}), attr("end", int64_t{2})})
      .node("ConstantOfShape", {"channels"}, {"zeros"})
      .node("BatchNormalization", {"q3", "ones", "zeros", "bn_mean", "bn_var"}, {"bn"})
      .node("Concat", {"mp", "dil", "bn"}, {"cat"}, {attr("axis", 1)})
      .node("Sigmoid", {"cat"}, {"sig"})
      .node("GlobalAveragePool", {"sig"}, {"pool"})
      .node("Flatten", {"pool"}, {"flat"})
      .node("Reshape", {"flat", "rows"}, {"rows_out"})
      .node("MatMul", {"rows_out", "w_mm"}, {"y"})
      .output("y", onnx::TensorProto::FLOAT, {6, 3});
  onnx::ModelProto model = std::move(b).build();
  auto add_i64 = [&](const std::string& name, std::vector<int64_t> v) {
    auto* t = model.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(static_cast<int64_t>(v.size()));
    for (int64_t x : v) t->add_int64_data(x);
  };
  add_i64("perm", {0, 4, 1, 5, 2, 6, 3, 7});
  add_i64("se_shape", {0, -1, 1, 1});
  add_i64("rows", {-1, 8});
  // "ones" = ConstantOfShape(channels) with value 1.0, placed before its reader.
  onnx::NodeProto ones;
  ones.set_op_type("ConstantOfShape");
  ones.add_input("channels");
  ones.add_output("ones");
  auto* value = ones.add_attribute();
  value->set_name("value");
  value->set_type(onnx::AttributeProto::TENSOR);
  value->mutable_t()->set_data_type(onnx::TensorProto::FLOAT);
  value->mutable_t()->add_dims(1);
  value->mutable_t()->add_float_data(1.0f);
  *model.mutable_graph()->add_node() = ones;  // after its reader: the executor orders the nodes itself
  Rng rng(8);
  randomize(model, {"_mean"}, -0.5, 0.5, rng);
  randomize(model, {"_var"}, 0.5, 1.5, rng);

  c10::InferenceMode guard;
  OnnxExecutor exec(model);
  ASSERT_EQ(exec.input_shape(), (std::vector<int64_t>{1, 8, 10, 10})) << "batch replaced by the default 1";
  OnnxExecutor exec2(model, {"cpu", 2, 0});
  torch::Tensor x = torch::randn({2, 8, 10, 10});
  HostTensor in = host(x);
  auto out = exec2.run(&in);

  auto w = [&](const std::string& name) { return initializer(model, name); };
  const std::vector<int64_t> no_pad{0, 0};  // not {0, 0}: that also reads as conv2d's string_view padding
  torch::Tensor g = at::conv2d(x, w("w_group"), {}, {1, 1}, {1, 1}, {1, 1}, 2);
  torch::Tensor t = at::index_select(g, 1, w("perm"));
  // SAME_LOWER, 10 -> 5 with kernel 3, stride 2: one pixel of padding before (top, left), none after.
  torch::Tensor hs = at::hardswish(
      at::conv2d(at::constant_pad_nd(t, {1, 0, 1, 0}), w("w_dw"), {}, {2, 2}, no_pad, {1, 1}, 8));
  torch::Tensor gate = at::clamp(0.2 * (0.5 * at::mm(hs.mean({2, 3}), w("w_fc").t())) + 0.5, 0.0, 1.0);
  torch::Tensor scaled = hs * gate.reshape({2, 8, 1, 1});
  // pads [top=2, left=1, bottom=2, right=3]
  torch::Tensor dil =
      at::conv2d(at::constant_pad_nd(scaled, {1, 3, 2, 2}), w("w_dil"), {}, {1, 1}, no_pad, {2, 2});
  torch::Tensor mp = at::max_pool2d(dil, {3, 3}, {1, 1}, {1, 1});
  // SpaceToDepth's channel (i * 2 + j) * C + c is pixel_unshuffle's c * 4 + i * 2 + j.
  torch::Tensor s2d =
      at::pixel_unshuffle(g, 2).reshape({2, 8, 4, 5, 5}).transpose(1, 2).reshape({2, 32, 5, 5});
  torch::Tensor q3 = s2d.slice(1, 24, 32);
  torch::Tensor bn = at::batch_norm(q3, torch::ones({8}), torch::zeros({8}), w("bn_mean"), w("bn_var"), false,
                                    0.0, 1e-5, true);
  torch::Tensor pooled = at::sigmoid(at::cat({mp, dil, bn}, 1)).mean({2, 3});
  torch::Tensor ref = at::matmul(pooled.reshape({-1, 8}), w("w_mm"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_LT(relative_error(out[0], ref), 1e-4);
}

// Output shapes equal the declared graph output shape, for one sampled network of every space, batch 2.
class ExecutorSpaceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ExecutorSpaceTest, OutputShapeEqualsDeclaredShapeAtBatch2) {
  auto space = spaces::make_space(GetParam());
  Rng rng(1);
  spaces::Genotype g = space->sample(rng);
  spaces::BuildOptions b;
  b.batch_size = 2;
  b.weights = spaces::WeightFill::kRandom;
  onnx::ModelProto model = space->build_model(g, b);
  OnnxExecutor exec(model, {"cpu", 2, 0});
  auto out = exec.run();
  ASSERT_EQ(static_cast<int>(out.size()), model.graph().output_size());
  for (int i = 0; i < model.graph().output_size(); ++i) {
    std::vector<int64_t> declared;
    for (const auto& d : model.graph().output(i).type().tensor_type().shape().dim())
      declared.push_back(d.dim_value());
    EXPECT_EQ(out[static_cast<size_t>(i)].shape, declared) << space->format(g);
    EXPECT_EQ(declared[0], 2);
    for (float v : out[static_cast<size_t>(i)].data) ASSERT_TRUE(std::isfinite(v)) << space->format(g);
  }
  std::set<std::string> ops;
  for (const auto& op : exec.op_types()) ops.insert(op);
  EXPECT_TRUE(ops.count("Conv")) << "functions were inlined into plain ops";
}

INSTANTIATE_TEST_SUITE_P(AllSpaces, ExecutorSpaceTest,
                         ::testing::Values("nb101", "nb201", "fbnet", "ofa_mbv3", "darts"));

TEST(OnnxExecutorTest, UnsupportedOpOrAttributeNamesIt) {
  auto space = spaces::make_space("nb201");
  onnx::ModelProto model =
      space->build_model(space->parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|"
                                      "skip_connect~0|nor_conv_3x3~1|skip_connect~2|"));
  onnx::ModelProto bad_op = model;
  bad_op.mutable_graph()->mutable_node(1)->set_op_type("LpNormalization");
  bad_op.mutable_graph()->mutable_node(1)->set_name("stem_norm");
  try {
    OnnxExecutor exec(bad_op);
    FAIL() << "expected UnsupportedOpError";
  } catch (const UnsupportedOpError& e) {
    EXPECT_NE(std::string(e.what()).find("'LpNormalization'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'stem_norm'"), std::string::npos) << e.what();
  }
  onnx::ModelProto bad_attr = model;
  *bad_attr.mutable_graph()->mutable_node(0)->add_attribute() = attr("auto_pad", "SAME_UPPER");
  try {
    OnnxExecutor exec(bad_attr);
    FAIL() << "expected UnsupportedOpError";
  } catch (const UnsupportedOpError& e) {
    EXPECT_NE(std::string(e.what()).find("'Conv'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("SAME_UPPER"), std::string::npos) << e.what();
  }
  EXPECT_THROW(OnnxExecutor(model, ExecutorOptions{"tpu", 1, 0}), ConfigError);
}

TEST(OnnxExecutorTest, TimingGivesTheMedianOfTheRepeats) {
  auto space = spaces::make_space("nb201");
  OnnxExecutor exec(
      space->build_model(space->parse("|nor_conv_1x1~0|+|none~0|none~1|+|skip_connect~0|none~1|"
                                      "none~2|")));
  Latency lat = exec.time({/*warmup=*/1, /*repeats=*/5});
  ASSERT_EQ(lat.runs_ms.size(), 5u);
  std::vector<double> sorted = lat.runs_ms;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(lat.median_ms, sorted[2]);
  EXPECT_GT(lat.median_ms, 0.0);
  EXPECT_THROW(exec.time({0, 0}), ConfigError);
}

TEST(OnnxExecutorTest, CudaMatchesCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "CUDA not available";
  auto space = spaces::make_space("fbnet");
  Rng rng(2);
  spaces::BuildOptions b;
  b.weights = spaces::WeightFill::kRandom;
  onnx::ModelProto model = space->build_model(space->sample(rng), b);
  auto cpu = OnnxExecutor(model, {"cpu", 1, 0}).run();
  auto cuda = OnnxExecutor(model, {"cuda", 1, 0}).run();
  ASSERT_EQ(cpu[0].shape, cuda[0].shape);
  torch::Tensor ref = torch::from_blob(cpu[0].data.data(), cpu[0].shape, torch::kFloat);
  EXPECT_LT(relative_error(cuda[0], ref), 1e-3);
}

// Measured tables read back by the predictor's loader, for every space's architecture columns (NB101's
// two columns, OFA's four, DARTS' quoted genotype).
class MeasureTableTest : public ::testing::TestWithParam<std::string> {};

TEST_P(MeasureTableTest, LoadSplitReadsTheWrittenTable) {
  auto space = spaces::make_space(GetParam());
  Rng rng(7);
  const std::vector<spaces::Genotype> archs = spaces::sample_distinct(*space, 4, rng);
  std::vector<double> ms;
  if (GetParam() == "nb201") {
    MeasureOptions m;
    m.timing = {/*warmup=*/0, /*repeats=*/1};
    m.progress = false;
    for (const auto& lat : measure_latencies(*space, archs, m)) ms.push_back(lat.median_ms);
  } else {
    ms = {1.5, 2.25, 3.125, 0.0625};  // the CSV layout only; measuring these spaces is slower
  }
  std::string path = (std::filesystem::temp_directory_path() /
                      fmt::format("nas_measure_{}_{}.csv", GetParam(), static_cast<long>(getpid())))
                         .string();
  write_file_atomic(path, latency_table_csv(*space, archs, ms, "testbox"));
  RlmConfig c;
  c.source = "test";
  c.space = GetParam();
  c.data.table = path;  // absolute: data_path() leaves it as is
  c.data.arch_column = spaces::benchmark_arch_columns(GetParam());
  c.data.targets = {"lat_ms_testbox"};
  c.data.train_size = 4;
  c.data.test_size = 0;
  LabelledSplit split = load_split(c, *space);
  std::filesystem::remove(path);
  ASSERT_EQ(split.train.size(), 4u);
  std::set<std::pair<std::string, double>> want, got;
  for (size_t i = 0; i < archs.size(); ++i) {
    want.insert({space->format(archs[i]), std::stod(fmt::format("{:.6g}", ms[i]))});
    got.insert({space->format(split.train[i]), split.train_y[i][0]});
    EXPECT_GT(split.train_y[i][0], 0.0);
  }
  EXPECT_EQ(got, want);
}

INSTANTIATE_TEST_SUITE_P(AllSpaces, MeasureTableTest,
                         ::testing::Values("nb101", "nb201", "fbnet", "ofa_mbv3", "darts"));

TEST(MeasureTest, SamplesDistinctNetworksAndRejectsBadNames) {
  auto space = spaces::make_space("nb201");
  Rng rng(1);
  auto archs = spaces::sample_distinct(*space, 300, rng);
  std::set<std::string> canon;
  for (const auto& g : archs) canon.insert(space->canonical(g));
  EXPECT_EQ(canon.size(), 300u);
  Rng rng2(1);
  EXPECT_THROW(spaces::sample_distinct(*space, 20000, rng2), ConfigError) << "NB201 has 15,625 cells";
  EXPECT_THROW(latency_column("my box"), ConfigError);
  EXPECT_EQ(latency_column("gold_6240"), "lat_ms_gold_6240");
}

}  // namespace
}  // namespace nas::predictor
