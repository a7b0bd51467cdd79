#include "spaces/fbnet.h"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include "core/error.h"
#include "core/io.h"
#include "core/table.h"
#include "onnx_text/graph_cost.h"
#include "onnx_text/inline.h"
#include "onnx_text/reader.h"
#include "onnx_text/serializer.h"
#include "spaces/fbnet_lut.h"

namespace nas::spaces {
namespace {

const std::string kRow0 =
    "k5_e6 skip k3_e1_g2 skip k5_e1 skip skip skip k5_e6 k5_e1 k3_e1_g2 k5_e1 k5_e6 k3_e6 k3_e3 k5_e6 k3_e6 "
    "k3_e3 k5_e1 k3_e3 k5_e1 k5_e1_g2";

const Table& reference_table() {
  static const Table table =
      Table::load(data_path("fbnet_hwnasbench_reference.csv"), {{"blocks", ColumnType::kText}});
  return table;
}

template <typename F>
void for_each_parallel(size_t n, F body) {
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < n; i = next++) body(i);
  };
  std::thread t(worker);
  worker();
  t.join();
}

template <typename E = SpaceError>
void expect_message_contains(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "expected an error containing '" << needle << "'";
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

void infer_strict(onnx::ModelProto& model) {
  onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(),
                                     onnx::ShapeInferenceOptions{/*check_type=*/true, /*error_mode=*/1,
                                                                 /*enable_data_propagation=*/false});
}

std::vector<int64_t> dims_of(const onnx::TypeProto& t) {
  std::vector<int64_t> dims;
  for (const auto& d : t.tensor_type().shape().dim()) dims.push_back(d.has_dim_value() ? d.dim_value() : -1);
  return dims;
}

FbnetGenotype with_ops(std::initializer_list<std::pair<int, FbnetOp>> changes, FbnetOp base = FbnetOp::kK3E3) {
  FbnetGenotype g;
  g.ops.fill(base);
  for (auto [layer, op] : changes) g.ops[static_cast<size_t>(layer)] = op;
  return g;
}

// ---- Genotype strings

TEST(FbnetGenotypeTest, ParseFormatRoundTripsEveryCsvRow) {
  FbnetSpace space;
  for (const char* file : {"fbnet.csv", "fbnet_hwnasbench_reference.csv"}) {
    Table t = Table::load(data_path(file), {{"blocks", ColumnType::kText}});
    ASSERT_EQ(t.rows(), 5000u) << file;
    std::set<std::string> distinct;
    for (size_t r = 0; r < t.rows(); ++r) {
      const std::string& arch = t.text(r, "blocks");
      FbnetGenotype g = FbnetGenotype::parse(arch);
      ASSERT_EQ(g.to_string(), arch) << file << " row " << r;
      Genotype gene = space.parse(arch);
      ASSERT_EQ(space.format(gene), arch);
      ASSERT_EQ(FbnetGenotype::from_genotype(gene), g);
      distinct.insert(arch);
    }
    EXPECT_EQ(distinct.size(), 5000u) << file;
  }
}

TEST(FbnetGenotypeTest, ParsesInHwNasBenchPrimitiveOrder) {
  FbnetGenotype g = FbnetGenotype::parse(kRow0);
  EXPECT_EQ(g.ops[0], FbnetOp::kK5E6);
  EXPECT_EQ(g.ops[2], FbnetOp::kK3E1G2);
  EXPECT_EQ(g.ops[21], FbnetOp::kK5E1G2);
  EXPECT_EQ(g.to_genotype().genes[0], 7);  // PRIMITIVES.index('k5_e6')
  EXPECT_EQ(g.to_genotype().genes[1], 8);  // 'skip'
  EXPECT_EQ(fbnet_op_name(FbnetOp::kK3E1G2), "k3_e1_g2");
  EXPECT_EQ(fbnet_op_spec(FbnetOp::kK5E1G2).kernel, 5);
  EXPECT_EQ(fbnet_op_spec(FbnetOp::kK5E1G2).groups, 2);
  EXPECT_EQ(fbnet_op_spec(FbnetOp::kK3E6).expansion, 6);
}

TEST(FbnetGenotypeTest, MalformedStringsThrowSpaceErrorNamingTheToken) {
  struct Case {
    std::string arch, needle;
  };
  const std::string tail = kRow0.substr(6);  // layers 1..21 with the leading space removed
  std::vector<Case> cases{
      {"k7_e6 " + tail, "token 'k7_e6' at position 0: unknown block for layer 0"},
      {"k5_e6  " + tail, "token '' at position 6: empty block name for layer 1"},
      {" " + kRow0, "token '' at position 0: empty block name for layer 0"},
      {kRow0 + " ", "at position 135: trailing space"},
      {kRow0 + " skip", "token 'skip' at position 136: more than 22 blocks"},
      {kRow0.substr(0, kRow0.rfind(' ')), "token '<end>' at position 126: expected 22 blocks, found 21"},
      {"", "token '<end>' at position 0: expected 22 blocks, found 0"},
      {"k5_e6,skip", "token 'k5_e6,skip' at position 0: unknown block"},
  };
  ASSERT_EQ(kRow0.size(), 135u);
  FbnetSpace space;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.arch);
    expect_message_contains([&] { FbnetGenotype::parse(c.arch); }, c.needle);
    expect_message_contains([&] { space.parse(c.arch); }, c.needle);
  }
}

TEST(FbnetGenotypeTest, CanonicalMovesIdentitySkipsBehindTheirStage) {
  // Stage 1 = layers 1..4: layer 1 changes shape; 2..4 share one shape.
  FbnetGenotype a = with_ops({{2, FbnetOp::kSkip}, {3, FbnetOp::kK5E6}, {4, FbnetOp::kK3E1}});
  FbnetGenotype b = with_ops({{2, FbnetOp::kK5E6}, {3, FbnetOp::kSkip}, {4, FbnetOp::kK3E1}});
  FbnetGenotype c = with_ops({{2, FbnetOp::kK5E6}, {3, FbnetOp::kK3E1}, {4, FbnetOp::kSkip}});
  EXPECT_EQ(a.canonical(), c.to_string());
  EXPECT_EQ(b.canonical(), c.to_string());
  EXPECT_EQ(c.canonical(), c.to_string());
  // Order of the non-skip blocks matters, and a stage's first layer never moves.
  EXPECT_NE(with_ops({{2, FbnetOp::kK3E1}, {3, FbnetOp::kK5E6}}).canonical(), c.canonical());
  EXPECT_NE(with_ops({{1, FbnetOp::kSkip}}).canonical(), with_ops({{2, FbnetOp::kSkip}}).canonical());
  // Skips do not move across stages (layer 5 starts stage 2).
  EXPECT_NE(with_ops({{4, FbnetOp::kSkip}}).canonical(), with_ops({{6, FbnetOp::kSkip}}).canonical());
}

// Genotypes with one canonical form are one network: same predictor text and same costs, on both datasets;
// different canonical forms give different texts.
TEST(FbnetGenotypeTest, CanonicalClassesAreExactlyTheDistinctNetworks) {
  FbnetSpace space;
  const FbnetLut& lut = FbnetLut::builtin();
  Rng rng(17);
  int same = 0;
  for (int trial = 0; trial < 60; ++trial) {
    FbnetGenotype g = FbnetGenotype::from_genotype(space.sample(rng));
    for (auto& op : g.ops)  // more skips, so that classes have several members
      if (rng.bernoulli(0.3)) op = FbnetOp::kSkip;
    FbnetGenotype h = g;
    for (size_t first : {1, 5, 9, 13, 17}) {  // move the skips among layers 2..4 of each 4-layer stage
      std::vector<FbnetOp> blocks;
      std::vector<int> skip;
      for (size_t l = first + 1; l < first + 4; ++l) {
        skip.push_back(h.ops[l] == FbnetOp::kSkip);
        if (!skip.back()) blocks.push_back(h.ops[l]);
      }
      rng.shuffle(skip);
      for (size_t l = first + 1, b = 0; l < first + 4; ++l)
        h.ops[l] = skip[l - first - 1] ? FbnetOp::kSkip : blocks[b++];
    }
    FbnetGenotype other = FbnetGenotype::from_genotype(space.mutate(g.to_genotype(), rng));
    ASSERT_EQ(g.canonical(), h.canonical());
    ASSERT_NE(g.canonical(), other.canonical());
    same += g != h;
    for (const auto& ds : space.datasets()) {
      BuildOptions o;
      o.dataset = ds;
      std::string tg = onnx_text::to_text(build_fbnet_model(g, o));
      EXPECT_EQ(tg, onnx_text::to_text(build_fbnet_model(h, o)));
      EXPECT_NE(tg, onnx_text::to_text(build_fbnet_model(other, o)));
      for (const auto& metric : lut.metrics())
        EXPECT_NEAR(lut.network_cost(g, ds, metric), lut.network_cost(h, ds, metric), 1e-9);
    }
  }
  EXPECT_GT(same, 30);  // the moves mostly produced a different genotype
}

// ---- Macro-structure

TEST(FbnetLayersTest, FollowHwNasBenchFbnetInfer) {
  const auto& cifar = fbnet_layers("cifar100");
  const auto& imagenet = fbnet_layers("imagenet");
  ASSERT_EQ(cifar.size(), 22u);
  ASSERT_EQ(imagenet.size(), 22u);
  auto row = [](const FbnetLayer& l) {
    return std::vector<int64_t>{l.stage, l.height, l.c_in, l.c_out, l.stride};
  };
  EXPECT_EQ(row(imagenet[0]), (std::vector<int64_t>{0, 112, 16, 16, 1}));
  EXPECT_EQ(row(imagenet[1]), (std::vector<int64_t>{1, 112, 16, 24, 2}));
  EXPECT_EQ(row(imagenet[2]), (std::vector<int64_t>{1, 56, 24, 24, 1}));
  EXPECT_EQ(row(imagenet[13]), (std::vector<int64_t>{4, 14, 64, 112, 1}));
  EXPECT_EQ(row(imagenet[17]), (std::vector<int64_t>{5, 14, 112, 184, 2}));
  EXPECT_EQ(row(imagenet[21]), (std::vector<int64_t>{6, 7, 184, 352, 1}));
  EXPECT_EQ(row(cifar[0]), (std::vector<int64_t>{0, 32, 16, 16, 1}));
  EXPECT_EQ(row(cifar[1]), (std::vector<int64_t>{1, 32, 16, 24, 1}));  // CIFAR: stage 1 keeps 32x32
  EXPECT_EQ(row(cifar[5]), (std::vector<int64_t>{2, 32, 24, 32, 2}));
  EXPECT_EQ(row(cifar[21]), (std::vector<int64_t>{6, 4, 184, 352, 1}));
  int preserving = 0;
  for (const auto& l : imagenet) preserving += l.shape_preserving();
  EXPECT_EQ(preserving, 16);  // layer 0 and layers 2-4 of the five 4-layer stages
  EXPECT_EQ(fbnet_block_signature(imagenet[0], FbnetOp::kK3E1),
            "ConvBlock_H112_W112_Cin16_Cout16_exp1_kernel3_stride1_group1");
  EXPECT_EQ(fbnet_block_signature(imagenet[5], FbnetOp::kSkip), "Skip_H56_W56_Cin24_Cout32_stride2");
  EXPECT_EQ(fbnet_block_signature(cifar[17], FbnetOp::kK5E1G2),
            "ConvBlock_H8_W8_Cin112_Cout184_exp1_kernel5_stride2_group2");
  expect_message_contains([] { fbnet_layers("cifar10"); },
                          "fbnet: unknown dataset 'cifar10'; known: cifar100, imagenet");
}

// ---- Cost table

TEST(FbnetLutTest, NetworkCostsEqualTheReferenceForEveryRowAndColumn) {
  const Table& t = reference_table();
  const FbnetLut& lut = FbnetLut::builtin();
  EXPECT_EQ(lut.metrics(),
            (std::vector<std::string>{"edgegpu_latency", "edgegpu_energy", "raspi4_latency", "pixel3_latency",
                                      "eyeriss_latency", "eyeriss_energy", "fpga_latency", "fpga_energy"}));
  int columns = 0;
  size_t checked = 0;
  double worst = 0;
  for (const auto& column : t.columns()) {
    if (column.rfind("hwnb_", 0) != 0) continue;
    ++columns;
    // hwnb_<dataset>_<device>_<metric>; the reference's dataset names are the table's keys.
    size_t p = column.find('_', 5);
    std::string key = column.substr(5, p - 5), metric = column.substr(p + 1);
    std::string dataset = key == "ImageNet" ? "imagenet" : key;
    ASSERT_EQ(fbnet_dataset(dataset).lut_key, key) << column;
    auto objective = lut.objective(dataset, metric);
    for (size_t r = 0; r < t.rows(); ++r) {
      FbnetGenotype g = FbnetGenotype::parse(t.text(r, "blocks"));
      double expected = t.number(r, column), got = lut.network_cost(g, dataset, metric);
      double rel = std::abs(got - expected) / std::max(std::abs(expected), 1e-12);
      worst = std::max(worst, rel);
      ASSERT_LE(rel, 1e-5) << "row " << r << " " << column << ": got " << got << ", reference " << expected;
      ASSERT_EQ(objective(g.to_genotype()), got);
      ++checked;
    }
  }
  std::printf("[ info ] %zu costs checked, worst relative difference %.2g\n", checked, worst);
  EXPECT_EQ(columns, 16);
  EXPECT_EQ(checked, 16u * 5000u);
}

TEST(FbnetLutTest, CostIsTheSumOfBlocksPlusTheFixedCost) {
  const FbnetLut& lut = FbnetLut::builtin();
  FbnetGenotype g = FbnetGenotype::parse(kRow0);
  for (const auto& ds : fbnet_datasets()) {
    double sum = lut.fixed_cost(ds.name, "pixel3_latency");
    for (const auto& layer : fbnet_layers(ds.name))
      sum +=
          lut.block_cost("pixel3_latency", fbnet_block_signature(layer, g.ops[static_cast<size_t>(layer.index)]));
    EXPECT_NEAR(lut.network_cost(g, ds.name, "pixel3_latency"), sum, 1e-9);
  }
  EXPECT_NEAR(lut.fixed_cost("imagenet", "pixel3_latency"), 9.6441771, 1e-9);  // fixed_network_costs
  EXPECT_NEAR(lut.fixed_cost("cifar100", "raspi4_latency"), 6.466785963013535, 1e-12);
  EXPECT_NEAR(lut.block_cost("edgegpu_latency", "ConvBlock_H112_W112_Cin16_Cout16_exp1_kernel3_stride1_group1"),
              0.7372536659240723, 1e-15);
  EXPECT_FALSE(lut.has_block("edgegpu_latency", "ConvBlock_H112_W112_Cin16_Cout16_exp2_kernel3_stride1_group1"));
  expect_message_contains<DataError>([&] { lut.block_cost("edgegpu_latency", "Skip_H1_W1_Cin1_Cout1_stride1"); },
                                     "key 'block_costs.edgegpu_latency.Skip_H1_W1_Cin1_Cout1_stride1': missing");
  expect_message_contains([&] { lut.objective("cifar100", "pixel3_energy"); },
                          "unknown metric 'pixel3_energy'; known: edgegpu_latency, edgegpu_energy");
  expect_message_contains([&] { lut.network_cost(g, "cifar10", "pixel3_latency"); }, "unknown dataset 'cifar10'");
  auto objective = lut.objective("cifar100", "eyeriss_energy");
  expect_message_contains([&] { objective(Genotype{{1, 2, 3}}); }, "expected 22 genes, got 3");
}

TEST(FbnetLutTest, MalformedTablesThrowDataErrorNamingTheKey) {
  const std::string good = read_file(data_path("fbnet_hwnasbench_lut.json"));
  ASSERT_NO_THROW(FbnetLut::parse(good, "lut.json"));
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    size_t p = s.find(from);
    EXPECT_NE(p, std::string::npos) << from;
    return s.replace(p, from.size(), to);
  };
  struct Case {
    std::string text, needle;
  };
  std::vector<Case> cases{
      {"{", "lut.json: invalid JSON"},
      {"[]", "lut.json: key '<root>': expected an object, found array"},
      {"{\"block_costs\": {\"devices\": []}, \"fixed_network_costs\": {}}",
       "lut.json: key 'block_costs': no cost tables"},
      {replace("\"fixed_network_costs\"", "\"fixed\""), "lut.json: key 'fixed_network_costs': missing"},
      {replace("\"ConvBlock_H56_W56_Cin24_Cout24_exp3_kernel5_stride1_group1\": 1.0788094997406006",
               "\"ConvBlock_H56_W56_Cin24_Cout24_exp3_kernel5_stride1_group1\": \"fast\""),
       "lut.json: key 'block_costs.edgegpu_latency.ConvBlock_H56_W56_Cin24_Cout24_exp3_kernel5_stride1_group1': "
       "expected a number, found string"},
      {replace("\"ConvBlock_H56_W56_Cin24_Cout24_exp3_kernel5_stride1_group1\": 1.0788094997406006",
               "\"Renamed\": 1.0788094997406006"),
       "lut.json: key 'block_costs.edgegpu_latency.ConvBlock_H56_W56_Cin24_Cout24_exp3_kernel5_stride1_group1': "
       "missing (layer 2 of imagenet, block k5_e3)"},
      {replace("\"ImageNet|fpga_energy\"", "\"imagenet|fpga_energy\""),
       "lut.json: key 'fixed_network_costs.ImageNet|fpga_energy': missing"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.needle);
    expect_message_contains<DataError>([&] { FbnetLut::parse(c.text, "lut.json"); }, c.needle);
  }
  expect_message_contains<DataError>([] { FbnetLut::load("/nonexistent/lut.json"); }, "/nonexistent/lut.json");
}

// ---- Models

// For each block call of the model: its HW-NAS-Bench signature, read from the model itself (function name,
// inferred input / output shapes, the depthwise weight's shape, the stride attribute).
std::vector<std::string> block_signatures_of(const onnx::ModelProto& model, int* identity_layers) {
  onnx::ModelProto m = model;
  infer_strict(m);
  std::map<std::string, std::vector<int64_t>> shapes, inits;
  for (const auto& v : m.graph().value_info()) shapes[v.name()] = dims_of(v.type());
  for (const auto& v : m.graph().input()) shapes[v.name()] = dims_of(v.type());
  for (const auto& t : m.graph().initializer()) inits[t.name()] = {t.dims().begin(), t.dims().end()};
  std::map<std::string, const onnx::FunctionProto*> functions;
  for (const auto& f : m.functions()) functions[f.name()] = &f;
  std::vector<std::string> out;
  int calls = 0;
  for (const auto& n : m.graph().node()) {
    if (n.domain() != kNasDomain) continue;
    ++calls;
    const onnx::FunctionProto& f = *functions.at(n.op_type());
    const std::vector<int64_t>& in = shapes.at(n.input(0));
    const std::vector<int64_t>& y = shapes.at(n.output(0));
    int64_t stride = 1;
    for (const auto& a : n.attribute())
      if (a.name() == "s") stride = a.ints(0);
    EXPECT_EQ(in[2], y[2] * stride) << n.op_type();
    if (n.op_type() == "skip") {
      out.push_back(fmt::format("Skip_H{0}_W{0}_Cin{1}_Cout{2}_stride{3}", in[2], in[1], y[1], stride));
      continue;
    }
    int d_w = static_cast<int>(std::find(f.input().begin(), f.input().end(), "d_w") - f.input().begin());
    const std::vector<int64_t>& dw = inits.at(n.input(d_w));  // [mid, 1, k, k]
    int64_t groups = n.op_type().rfind("mb_g2", 0) == 0 ? 2 : 1;
    out.push_back(fmt::format("ConvBlock_H{0}_W{0}_Cin{1}_Cout{2}_exp{3}_kernel{4}_stride{5}_group{6}", in[2],
                              in[1], y[1], dw[0] / in[1], dw[2], stride, groups));
  }
  *identity_layers = kFbnetNumLayers - calls;
  return out;
}

TEST(FbnetModelTest, EveryEmittedBlockHasASignatureInTheCostTable) {
  FbnetSpace space;
  const FbnetLut& lut = FbnetLut::builtin();
  Rng rng(7);
  for (int trial = 0; trial < 40; ++trial) {
    FbnetGenotype g = FbnetGenotype::from_genotype(space.sample(rng));
    for (const auto& ds : space.datasets()) {
      BuildOptions o;
      o.dataset = ds;
      int identity = 0;
      std::vector<std::string> signatures = block_signatures_of(build_fbnet_model(g, o), &identity);
      // The model's blocks are exactly the genotype's non-identity blocks, in order.
      std::vector<std::string> expected;
      int expected_identity = 0;
      for (const auto& layer : fbnet_layers(ds)) {
        FbnetOp op = g.ops[static_cast<size_t>(layer.index)];
        if (op == FbnetOp::kSkip && layer.shape_preserving()) {
          ++expected_identity;
          EXPECT_TRUE(lut.has_block("pixel3_latency", fbnet_block_signature(layer, op)));
        } else {
          expected.push_back(fbnet_block_signature(layer, op));
        }
      }
      ASSERT_EQ(signatures, expected) << g.to_string() << " " << ds;
      EXPECT_EQ(identity, expected_identity);
      for (const auto& s : signatures)
        for (const auto& metric : lut.metrics()) EXPECT_TRUE(lut.has_block(metric, s)) << metric << " " << s;
    }
  }
}

TEST(FbnetModelTest, SampledModelsPassCheckerShapeInferenceAndTextRoundTrip) {
  FbnetSpace space;
  Rng rng(2024);
  for (int trial = 0; trial < 300; ++trial) {
    Genotype g = space.sample(rng);
    BuildOptions options;
    options.dataset = space.datasets()[rng.index(2)];
    options.batch_size = 1 + static_cast<int64_t>(rng.index(3));
    options.use_functions = trial % 4 != 0;
    SCOPED_TRACE(space.format(g) + " " + options.dataset);
    onnx::ModelProto model = space.build_model(g, options);
    const FbnetDataset& ds = fbnet_dataset(options.dataset);
    ASSERT_NO_THROW(onnx::checker::check_model(model));
    ASSERT_NO_THROW(infer_strict(model));
    ASSERT_EQ(model.graph().output_size(), 1);
    EXPECT_EQ(dims_of(model.graph().output(0).type()), (std::vector<int64_t>{options.batch_size, ds.num_classes}));
    if (!options.use_functions) EXPECT_EQ(model.functions_size(), 0);
    if (trial % 2 == 0) {
      std::string text = onnx_text::to_text(model);
      ASSERT_EQ(onnx_text::to_text(onnx_text::from_text(text)), text);
    }
  }
}

TEST(FbnetModelTest, FunctionsAndInlineFormsAreTheSameNetwork) {
  FbnetSpace space;
  Rng rng(99);
  for (int trial = 0; trial < 30; ++trial) {
    Genotype g = space.sample(rng);
    BuildOptions with, without;
    with.dataset = without.dataset = trial % 2 ? "imagenet" : "cifar100";
    without.use_functions = false;
    onnx::ModelProto called = space.build_model(g, with);
    onnx::ModelProto a = onnx_text::inline_functions(called);
    onnx::ModelProto b = space.build_model(g, without);
    std::set<std::string> initializers;
    for (const auto& t : a.graph().initializer()) initializers.insert(t.name());
    ASSERT_EQ(a.graph().node_size(), b.graph().node_size());
    for (int i = 0; i < a.graph().node_size(); ++i) {
      const auto& na = a.graph().node(i);
      const auto& nb = b.graph().node(i);
      ASSERT_EQ(na.op_type(), nb.op_type()) << "node " << i;
      ASSERT_EQ(na.input_size(), nb.input_size()) << "node " << i;
      ASSERT_EQ(na.attribute_size(), nb.attribute_size()) << "node " << i;
      for (int k = 0; k < na.attribute_size(); ++k)
        EXPECT_EQ(na.attribute(k).SerializeAsString(), nb.attribute(k).SerializeAsString()) << "node " << i;
      for (int k = 0; k < na.input_size(); ++k)
        if (initializers.count(na.input(k))) EXPECT_EQ(na.input(k), nb.input(k)) << "node " << i;
    }
    ASSERT_EQ(a.graph().initializer_size(), b.graph().initializer_size());
    onnx_text::GraphCost ca = onnx_text::graph_cost(called), cb = onnx_text::graph_cost(b);
    EXPECT_NEAR(ca.params_M, cb.params_M, 1e-9);
    EXPECT_NEAR(ca.flops_M, cb.flops_M, 1e-9);
  }
}

// Params and MACs of HW-NAS-Bench's FBNet_Infer re-derived layer by layer (conv weights + BN scale / bias;
// conv MACs + linear MACs + linear bias adds, the convention of onnx_text/graph_cost.h).
onnx_text::GraphCost fbnet_cost_oracle(const FbnetGenotype& g, const std::string& dataset) {
  const FbnetDataset& ds = fbnet_dataset(dataset);
  double params = 16 * 27 + 2 * 16, macs = 0;
  int64_t h = ds.resolution / ds.stem_stride;
  macs += static_cast<double>(h * h * 16 * 27);
  for (const auto& l : fbnet_layers(dataset)) {
    FbnetOp op = g.ops[static_cast<size_t>(l.index)];
    int64_t ho = l.height / l.stride;
    if (op == FbnetOp::kSkip) {
      if (l.shape_preserving()) continue;
      params += static_cast<double>(l.c_out * l.c_in + 2 * l.c_out);
      macs += static_cast<double>(ho * ho * l.c_out * l.c_in);
      continue;
    }
    FbnetOpSpec s = fbnet_op_spec(op);
    int64_t mid = l.c_in * s.expansion;
    params += static_cast<double>(mid * l.c_in / s.groups + 2 * mid + mid * s.kernel * s.kernel + 2 * mid +
                                  l.c_out * mid / s.groups + 2 * l.c_out);
    macs += static_cast<double>(l.height * l.height * mid * l.c_in / s.groups +
                                ho * ho * mid * s.kernel * s.kernel + ho * ho * l.c_out * mid / s.groups);
  }
  int64_t hl = fbnet_layers(dataset).back().height, hc = ds.header_channels;
  params += static_cast<double>(hc * 352 + 2 * hc + ds.num_classes * hc + ds.num_classes);
  macs += static_cast<double>(hl * hl * hc * 352 + ds.num_classes * hc + ds.num_classes);
  return {params / 1e6, macs / 1e6};
}

TEST(FbnetModelTest, ParamsAndFlopsMatchALayerByLayerOracle) {
  FbnetSpace space;
  Rng rng(5);
  for (int trial = 0; trial < 60; ++trial) {
    FbnetGenotype g = FbnetGenotype::from_genotype(space.sample(rng));
    if (trial == 0) g.ops.fill(FbnetOp::kSkip);
    if (trial == 1) g.ops.fill(FbnetOp::kK5E6);
    for (const auto& ds : space.datasets()) {
      BuildOptions o;
      o.dataset = ds;
      onnx_text::GraphCost got = onnx_text::graph_cost(build_fbnet_model(g, o));
      onnx_text::GraphCost want = fbnet_cost_oracle(g, ds);
      EXPECT_NEAR(got.params_M, want.params_M, 1e-9) << g.to_string() << " " << ds;
      EXPECT_NEAR(got.flops_M, want.flops_M, 1e-9) << g.to_string() << " " << ds;
    }
  }
}

TEST(FbnetModelTest, GroupedBlocksShuffleChannelsWithAGatherPermutation) {
  BuildOptions o;
  o.use_functions = false;
  onnx::ModelProto m = build_fbnet_model(with_ops({{0, FbnetOp::kK3E1G2}}), o);
  const onnx::TensorProto* index = nullptr;
  for (const auto& t : m.graph().initializer())
    if (t.name() == "l0_shuffle") index = &t;
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->data_type(), onnx::TensorProto::INT64);
  std::vector<int64_t> got(index->int64_data().begin(), index->int64_data().end());
  // 16 channels in 2 groups: output 2j + i reads input 8i + j.
  EXPECT_EQ(got, (std::vector<int64_t>{0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15}));
  std::vector<std::string> ops;
  for (const auto& n : m.graph().node())
    if (n.output(0).rfind("l0_", 0) == 0) ops.push_back(n.op_type());
  EXPECT_EQ(ops, (std::vector<std::string>{"Conv", "BatchNormalization", "Relu", "Gather", "Conv",
                                           "BatchNormalization", "Relu", "Conv", "BatchNormalization", "Add"}));
  int grouped = 0;
  for (const auto& n : m.graph().node()) {
    if (n.output(0).rfind("l0_", 0) != 0 || n.op_type() != "Conv") continue;
    for (const auto& a : n.attribute())
      if (a.name() == "group") grouped += a.i() == 2 ? 1 : a.i() == 16 ? 10 : 100;
  }
  EXPECT_EQ(grouped, 2 + 10);  // two 1x1 convs with group 2, the depthwise with group 16
}

TEST(FbnetModelTest, TextIsShortAndFunctionsAreGeneric) {
  FbnetSpace space;
  Rng rng(3);
  size_t longest = 0;
  for (int trial = 0; trial < 20; ++trial) {
    BuildOptions o;
    o.dataset = trial % 2 ? "imagenet" : "cifar100";
    onnx::ModelProto m = space.build_model(space.sample(rng), o);
    std::set<std::string> names;
    for (const auto& f : m.functions()) names.insert(f.name());
    for (const auto& n : names)
      EXPECT_TRUE(n == "mb" || n == "mb_first" || n == "mb_g2" || n == "mb_g2_first" || n == "skip") << n;
    longest = std::max(longest, onnx_text::to_text(m).size());
  }
  // Measured 3,089-3,415 characters with the serializer of this commit (fbnet.cc); a drift alarm.
  EXPECT_LT(longest, 3800u);
}

TEST(FbnetSpaceTest, DescribesItselfAndRejectsInvalidGenotypes) {
  FbnetSpace space;
  EXPECT_EQ(space.name(), "fbnet");
  EXPECT_EQ(space.gene_cardinalities(), std::vector<int>(22, 9));
  EXPECT_EQ(space.datasets(), (std::vector<std::string>{"cifar100", "imagenet"}));
  EXPECT_EQ(space.size(), std::nullopt);
  EXPECT_THROW(space.at(0), SpaceError);
  expect_message_contains([&] { space.validate(Genotype{{0, 1}}); }, "expected 22 genes, got 2");
  Genotype bad{std::vector<int>(22, 0)};
  bad.genes[4] = 9;
  expect_message_contains([&] { space.validate(bad); }, "gene 4 = 9");
  expect_message_contains([&] { space.build_model(bad); }, "gene 4 = 9");
  BuildOptions o;
  o.dataset = "cifar10";
  expect_message_contains([&] { space.build_model(space.parse(kRow0), o); }, "unknown dataset 'cifar10'");
  o.dataset = "";
  o.batch_size = 0;
  expect_message_contains([&] { space.build_model(space.parse(kRow0), o); }, "batch_size 0");
}

TEST(FbnetSpaceTest, MutationChangesOneLayerAndCrossoverMixesParents) {
  FbnetSpace space;
  Rng rng(11);
  std::array<int, kFbnetNumLayers> hits{};
  for (int trial = 0; trial < 3000; ++trial) {
    Genotype a = space.sample(rng), b = space.sample(rng);
    Genotype child = space.mutate(a, rng);
    ASSERT_NO_THROW(space.validate(child));
    int diffs = 0;
    for (size_t i = 0; i < a.genes.size(); ++i)
      if (child.genes[i] != a.genes[i]) ++diffs, ++hits[i];
    ASSERT_EQ(diffs, 1);
    ASSERT_NE(space.canonical(child), space.canonical(a));
    Genotype mix = space.crossover(a, b, rng);
    ASSERT_NO_THROW(space.validate(mix));
    for (size_t i = 0; i < a.genes.size(); ++i)
      ASSERT_TRUE(mix.genes[i] == a.genes[i] || mix.genes[i] == b.genes[i]);
  }
  for (int h : hits) EXPECT_GT(h, 80);  // ~136 each
}

}  // namespace
}  // namespace nas::spaces
