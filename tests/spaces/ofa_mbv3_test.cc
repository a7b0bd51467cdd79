#include "spaces/ofa_mbv3.h"

#include <cmath>
#include <cstdio>
#include <functional>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include "core/error.h"
#include "core/table.h"
#include "onnx_text/graph_cost.h"
#include "onnx_text/inline.h"
#include "onnx_text/reader.h"
#include "onnx_text/serializer.h"

namespace nas::spaces {
namespace {

const std::string kRow0 =
    "ks=7 5 5 5 7 7 5 7 5 7 3 7 5 3 7 3 5 3 5 3|e=6 4 4 6 6 3 4 3 3 6 3 3 3 6 3 4 6 4 3 6|d=2 2 2 2 3|r=204";

const Table& ofa_table() {
  static const Table table = Table::load(data_path("ofa_mbv3.csv"), {{"kernel_sizes", ColumnType::kText},
                                                                     {"expand_ratios", ColumnType::kText},
                                                                     {"depths", ColumnType::kText},
                                                                     {"resolution", ColumnType::kText}});
  return table;
}

OfaMbv3Genotype row_genotype(size_t r) {
  const Table& t = ofa_table();
  return OfaMbv3Genotype::from_columns(t.text(r, "kernel_sizes"), t.text(r, "expand_ratios"), t.text(r, "depths"),
                                       t.text(r, "resolution"));
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

// ---- Genotype strings

TEST(OfaMbv3GenotypeTest, EveryCsvRowParsesAndFormatsBack) {
  const Table& t = ofa_table();
  ASSERT_EQ(t.rows(), 5000u);
  OfaMbv3Space space;
  std::set<std::string> distinct, resolutions;
  for (size_t r = 0; r < t.rows(); ++r) {
    OfaMbv3Genotype g = row_genotype(r);
    std::string s = g.to_string();
    ASSERT_EQ(s, fmt::format("ks={}|e={}|d={}|r={}", t.text(r, "kernel_sizes"), t.text(r, "expand_ratios"),
                             t.text(r, "depths"), t.text(r, "resolution")));
    ASSERT_EQ(OfaMbv3Genotype::parse(s), g) << "row " << r;
    Genotype gene = space.parse(s);
    ASSERT_EQ(space.format(gene), s);
    ASSERT_EQ(OfaMbv3Genotype::from_genotype(gene), g);
    distinct.insert(s);
    resolutions.insert(t.text(r, "resolution"));
  }
  EXPECT_EQ(distinct.size(), 5000u);
  EXPECT_EQ(resolutions.size(), 25u);  // 128, 132, ..., 224: every resolution of the space occurs
  EXPECT_EQ(row_genotype(0).to_string(), kRow0);
}

TEST(OfaMbv3GenotypeTest, MalformedStringsThrowSpaceErrorNamingTheToken) {
  struct Case {
    std::string arch, needle;
  };
  auto with = [](const std::string& from, const std::string& to) {
    std::string s = kRow0;
    return s.replace(s.find(from), from.size(), to);
  };
  std::vector<Case> cases{
      {with("ks=7 5", "ks=9 5"), "token '9' at position 3: 'ks' value 0 is not one of 3, 5, 7"},
      {with("|e=6 4", "|e=6 2"), "token '2' at position 47: 'e' value 1 is not one of 3, 4, 6"},
      {with("|d=2 2 2 2 3", "|d=2 2 2 5 3"), "token '5' at position 93: 'd' value 3 is not one of 2, 3, 4"},
      {with("|r=204", "|r=206"), "token '206' at position 99: 'r' value 0 is not one of 128, 132, ..., 224"},
      {with("|r=204", "|r=0204"), "token '0204'"},
      {with("|d=2 2 2 2 3", "|d=2 2 2 2"), "token '|' at position 94: expected 5 'd' values, found 4"},
      {with("|d=2 2 2 2 3", "|d=2 2 2 2 3 3"), "token '3' at position 97: more than 5 'd' values"},
      {with("ks=7 5", "ks=7  5"), "token '' at position 5: empty value in 'ks'"},
      {with("|e=", "|x="), "token '|x=6' at position 42: expected '|e='"},
      {"k=7", "token 'k=7' at position 0: expected 'ks='"},
      {kRow0 + " ", "token '' at position 103: empty value in 'r'"},
      {kRow0 + "|x=1", "token '|x=1' at position 102: trailing characters after the resolution"},
      {kRow0.substr(0, 90), "token '<end>' at position 90: expected 5 'd' values, found 2"},
      {kRow0.substr(0, 96), "token '<end>' at position 96: expected '|r='"},
  };
  OfaMbv3Space space;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.arch);
    expect_message_contains([&] { OfaMbv3Genotype::parse(c.arch); }, c.needle);
    expect_message_contains([&] { space.parse(c.arch); }, c.needle);
  }
  expect_message_contains(
      [] { OfaMbv3Genotype::from_columns("7 5", "6", "2", "204"); },
      "column 'kernel_sizes' value '7 5': token '<end>' at position 3: expected 20 'ks' values, found 2");
  expect_message_contains([] { OfaMbv3Genotype::from_columns("7", "6", "2", "x"); }, "column 'kernel_sizes'");
}

TEST(OfaMbv3GenotypeTest, GenesFollowTheDocumentedLayout) {
  OfaMbv3Genotype g = OfaMbv3Genotype::parse(kRow0);
  Genotype gene = g.to_genotype();
  ASSERT_EQ(gene.genes.size(), 46u);
  EXPECT_EQ(gene.genes[0], 2);   // ks 7
  EXPECT_EQ(gene.genes[1], 1);   // ks 5
  EXPECT_EQ(gene.genes[20], 2);  // e 6
  EXPECT_EQ(gene.genes[21], 1);  // e 4
  EXPECT_EQ(gene.genes[44], 1);  // d 3
  EXPECT_EQ(gene.genes[45], (204 - 128) / 4);
  EXPECT_TRUE(g.active(0));
  EXPECT_TRUE(g.active(1));
  EXPECT_FALSE(g.active(2));  // stage 0 has depth 2
  EXPECT_TRUE(g.active(18));  // stage 4 has depth 3
  EXPECT_FALSE(g.active(19));
  OfaMbv3Genotype bad = g;
  bad.kernel_sizes[3] = 4;
  expect_message_contains([&] { bad.to_genotype(); }, "kernel size 3 = 4 is not one of 3, 5, 7");
  bad = g;
  bad.resolution = 230;
  expect_message_contains([&] { build_ofa_mbv3_model(bad); }, "resolution 230");
}

TEST(OfaMbv3GenotypeTest, InactiveBlocksDoNotChangeTheCanonicalFormOrTheNetwork) {
  OfaMbv3Space space;
  Rng rng(8);
  for (int trial = 0; trial < 30; ++trial) {
    OfaMbv3Genotype g = OfaMbv3Genotype::from_genotype(space.sample(rng));
    OfaMbv3Genotype h = g;
    for (int layer = 0; layer < kOfaNumLayers; ++layer) {
      if (h.active(layer)) continue;
      h.kernel_sizes[static_cast<size_t>(layer)] = kOfaKernelSizes[rng.index(3)];
      h.expand_ratios[static_cast<size_t>(layer)] = kOfaExpandRatios[rng.index(3)];
    }
    OfaMbv3Genotype other = OfaMbv3Genotype::from_genotype(space.mutate(g.to_genotype(), rng));
    ASSERT_EQ(g.canonical(), h.canonical());
    ASSERT_NE(g.canonical(), other.canonical());
    EXPECT_EQ(OfaMbv3Genotype::parse(g.canonical()).canonical(), g.canonical());
    std::string text = onnx_text::to_text(build_ofa_mbv3_model(g));
    EXPECT_EQ(text, onnx_text::to_text(build_ofa_mbv3_model(h)));
    EXPECT_NE(text, onnx_text::to_text(build_ofa_mbv3_model(other)));
  }
  // Inactive blocks read kernel 3, expand 3 in the canonical form.
  EXPECT_EQ(
      OfaMbv3Genotype::parse(kRow0).canonical(),
      "ks=7 5 3 3 7 7 3 3 5 7 3 3 5 3 3 3 5 3 5 3|e=6 4 3 3 6 3 3 3 3 6 3 3 3 6 3 3 6 4 3 3|d=2 2 2 2 3|r=204");
}

// ---- Widths

TEST(OfaMbv3WidthsTest, MatchOfaReleasedNetworks) {
  EXPECT_EQ(ofa_make_divisible(16 * 1.2), 24);  // 16 would lose more than 10 % of 19.2
  EXPECT_EQ(ofa_make_divisible(134.4), 136);
  EXPECT_EQ(ofa_make_divisible(30), 32);
  EXPECT_EQ(ofa_make_divisible(18), 24);  // 16 < 0.9 * 18
  EXPECT_EQ(ofa_make_divisible(102), 104);
  EXPECT_EQ(ofa_make_divisible(4), 8);
  OfaMbv3Widths w10 = ofa_mbv3_widths(1.0), w12 = ofa_mbv3_widths(1.2);
  EXPECT_EQ(w10.first_conv, 16);
  EXPECT_EQ(w10.first_block, 16);
  EXPECT_EQ(w10.stage, (std::array<int64_t, 5>{24, 40, 80, 112, 160}));
  EXPECT_EQ(w10.final_expand, 960);
  EXPECT_EQ(w10.feature_mix, 1280);
  EXPECT_EQ(w12.first_conv, 24);
  EXPECT_EQ(w12.first_block, 24);
  EXPECT_EQ(w12.stage, (std::array<int64_t, 5>{32, 48, 96, 136, 192}));
  EXPECT_EQ(w12.final_expand, 1152);
  EXPECT_EQ(w12.feature_mix, 1536);
  expect_message_contains([] { OfaMbv3Space space(0.0); }, "width_mult 0 must be > 0");
}

// ---- Models

// Params and MACs of OFA's active subnet re-derived block by block (conv weights + BN scale / bias + conv
// and linear biases; conv MACs + bias adds, linear MACs + bias adds: onnx_text/graph_cost.h's convention).
onnx_text::GraphCost ofa_cost_oracle(const OfaMbv3Genotype& g, double width_mult) {
  const OfaMbv3Widths w = ofa_mbv3_widths(width_mult);
  const std::array<int64_t, 5> strides{2, 2, 2, 1, 2};
  const std::array<bool, 5> se{false, true, false, true, true};
  double params = 0, macs = 0;
  int64_t h = (g.resolution + 1) / 2, c = w.first_conv;
  params += static_cast<double>(c * 27 + 2 * c);
  macs += static_cast<double>(h * h * c * 27);
  params += static_cast<double>(c * 9 + 2 * c + w.first_block * c + 2 * w.first_block);
  macs += static_cast<double>(h * h * c * 9 + h * h * w.first_block * c);
  c = w.first_block;
  for (int s = 0; s < 5; ++s) {
    for (int i = 0; i < g.depths[static_cast<size_t>(s)]; ++i) {
      size_t layer = static_cast<size_t>(4 * s + i);
      int64_t k = g.kernel_sizes[layer], cout = w.stage[static_cast<size_t>(s)];
      int64_t mid = ofa_make_divisible(static_cast<double>(c * g.expand_ratios[layer]));
      int64_t ho = i == 0 ? (h + strides[static_cast<size_t>(s)] - 1) / strides[static_cast<size_t>(s)] : h;
      params += static_cast<double>(mid * c + 2 * mid + mid * k * k + 2 * mid + cout * mid + 2 * cout);
      macs += static_cast<double>(h * h * mid * c + ho * ho * mid * k * k + ho * ho * cout * mid);
      if (se[static_cast<size_t>(s)]) {
        int64_t r = ofa_make_divisible(static_cast<double>(mid / 4));
        params += static_cast<double>(r * mid + r + mid * r + mid);
        macs += static_cast<double>(r * mid + r + mid * r + mid);
      }
      h = ho;
      c = cout;
    }
  }
  params += static_cast<double>(w.final_expand * c + 2 * w.final_expand + w.feature_mix * w.final_expand +
                                1000 * w.feature_mix + 1000);
  macs += static_cast<double>(h * h * w.final_expand * c + w.feature_mix * w.final_expand + 1000 * w.feature_mix +
                              1000);
  return {params / 1e6, macs / 1e6};
}

TEST(OfaMbv3ModelTest, ParamsAndFlopsMatchABlockByBlockOracle) {
  Rng rng(31);
  for (int trial = 0; trial < 40; ++trial) {
    OfaMbv3Genotype g = row_genotype(rng.index(5000));
    for (double width : {1.0, 1.2}) {
      onnx_text::GraphCost got = onnx_text::graph_cost(build_ofa_mbv3_model(g, {}, width));
      onnx_text::GraphCost want = ofa_cost_oracle(g, width);
      EXPECT_NEAR(got.params_M, want.params_M, 1e-9) << g.to_string() << " w" << width;
      EXPECT_NEAR(got.flops_M, want.flops_M, 1e-9) << g.to_string() << " w" << width;
    }
  }
}

// The MACs of the 5,000 table subnets (by the oracle above, checked against graph_cost on the extremes),
// beside OFA's published MobileNetV3 subnets: 66M-743M MACs (ofa_specialized nets, once-for-all README),
// 80.0 % top-1 at < 600M MACs (paper abstract).
TEST(OfaMbv3ModelTest, TableSubnetsSpanOfaPublishedMacRange) {
  for (double width : {1.0, 1.2}) {
    double lo = 1e18, hi = 0;
    size_t lo_row = 0, hi_row = 0;
    for (size_t r = 0; r < ofa_table().rows(); ++r) {
      double f = ofa_cost_oracle(row_genotype(r), width).flops_M;
      if (f < lo) lo = f, lo_row = r;
      if (f > hi) hi = f, hi_row = r;
    }
    EXPECT_NEAR(onnx_text::graph_cost(build_ofa_mbv3_model(row_genotype(lo_row), {}, width)).flops_M, lo, 1e-9);
    EXPECT_NEAR(onnx_text::graph_cost(build_ofa_mbv3_model(row_genotype(hi_row), {}, width)).flops_M, hi, 1e-9);
    std::printf("[ info ] w%.1f: table subnets %.1f-%.1f M MACs (rows %zu, %zu)\n", width, lo, hi, lo_row, hi_row);
    EXPECT_GT(lo, 50);
    EXPECT_LT(hi, 750);
  }
  // The space's extremes, all blocks smallest at 128 px / largest at 224 px.
  OfaMbv3Genotype smallest, largest;
  smallest.kernel_sizes.fill(3), smallest.expand_ratios.fill(3), smallest.depths.fill(2),
      smallest.resolution = 128;
  largest.kernel_sizes.fill(7), largest.expand_ratios.fill(6), largest.depths.fill(4), largest.resolution = 224;
  EXPECT_NEAR(ofa_cost_oracle(smallest, 1.2).flops_M, 65.5, 0.1);
  EXPECT_NEAR(ofa_cost_oracle(largest, 1.2).flops_M, 843.1, 0.1);
}

TEST(OfaMbv3ModelTest, SampledModelsPassCheckerShapeInferenceAndTextRoundTrip) {
  OfaMbv3Space space;
  OfaMbv3Space narrow(1.0);
  Rng rng(2025);
  for (int trial = 0; trial < 240; ++trial) {
    const OfaMbv3Space& s = trial % 3 == 0 ? narrow : space;
    Genotype g = s.sample(rng);
    BuildOptions options;
    options.batch_size = 1 + static_cast<int64_t>(rng.index(2));
    options.use_functions = trial % 4 != 1;
    SCOPED_TRACE(s.format(g));
    onnx::ModelProto model = s.build_model(g, options);
    ASSERT_NO_THROW(onnx::checker::check_model(model));
    ASSERT_NO_THROW(infer_strict(model));
    EXPECT_EQ(dims_of(model.graph().output(0).type()), (std::vector<int64_t>{options.batch_size, 1000}));
    if (options.use_functions) {
      std::set<std::string> names;
      for (const auto& f : model.functions()) names.insert(f.name());
      EXPECT_EQ(names, (std::set<std::string>{"mb", "mb_se", "mb_hs", "mb_hs_se"}));
    } else {
      EXPECT_EQ(model.functions_size(), 0);
    }
    if (trial % 2 == 0) {
      std::string text = onnx_text::to_text(model);
      ASSERT_EQ(onnx_text::to_text(onnx_text::from_text(text)), text);
    }
  }
}

TEST(OfaMbv3ModelTest, FollowsOfaStructure) {
  BuildOptions o;
  o.use_functions = false;
  OfaMbv3Genotype g = OfaMbv3Genotype::parse(kRow0);
  onnx::ModelProto m = build_ofa_mbv3_model(g, o, 1.2);
  infer_strict(m);
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& v : m.graph().value_info()) shapes[v.name()] = dims_of(v.type());
  // Active blocks 0, 1 | 4, 5 | 8, 9 | 12, 13 | 16, 17, 18; stage outputs at 204 px: 102 -> 51 -> 26 -> 13 -> 13
  // -> 7.
  EXPECT_EQ(shapes["stem_out"], (std::vector<int64_t>{1, 24, 102, 102}));
  EXPECT_EQ(shapes["b0_block"], (std::vector<int64_t>{1, 32, 51, 51}));
  EXPECT_EQ(shapes["b1_out"], (std::vector<int64_t>{1, 32, 51, 51}));
  EXPECT_EQ(shapes["b4_block"], (std::vector<int64_t>{1, 48, 26, 26}));
  EXPECT_EQ(shapes["b8_block"], (std::vector<int64_t>{1, 96, 13, 13}));
  EXPECT_EQ(shapes["b12_block"], (std::vector<int64_t>{1, 136, 13, 13}));
  EXPECT_EQ(shapes["b18_out"], (std::vector<int64_t>{1, 192, 7, 7}));
  EXPECT_EQ(shapes.count("b2_block") + shapes.count("b19_block"), 0u);  // inactive blocks are absent
  std::map<std::string, int> ops;
  for (const auto& n : m.graph().node()) ++ops[n.op_type()];
  EXPECT_EQ(ops["Add"], 1 + 6);                // first block + every non-first active block
  EXPECT_EQ(ops["HardSigmoid"], 2 + 2 + 3);    // SE in stages 2, 4, 5
  EXPECT_EQ(ops["Relu"], 1 + 2 * 4 + 7);       // first block, stages 1-2 (two per block), one per SE
  EXPECT_EQ(ops["HardSwish"], 1 + 2 * 7 + 2);  // stem, stages 3-5, final expand and feature mix
  EXPECT_EQ(ops["BatchNormalization"], 1 + 2 + 3 * 11 + 1);
  // The SE reduction of block 4 (mid = make_divisible(32 * 6) = 192 -> 48) and the expansion of block 5.
  std::map<std::string, std::vector<int64_t>> inits;
  for (const auto& t : m.graph().initializer()) inits[t.name()] = {t.dims().begin(), t.dims().end()};
  EXPECT_EQ(inits["b4_se_r_w"], (std::vector<int64_t>{48, 192, 1, 1}));
  EXPECT_EQ(inits["b4_d_w"], (std::vector<int64_t>{192, 1, 7, 7}));
  EXPECT_EQ(inits["b5_e_w"], (std::vector<int64_t>{144, 48, 1, 1}));
  EXPECT_EQ(inits["b5_se_r_w"], (std::vector<int64_t>{40, 144, 1, 1}));  // 144 / 4 = 36 -> 40
}

TEST(OfaMbv3ModelTest, FunctionsAndInlineFormsAreTheSameNetwork) {
  OfaMbv3Space space;
  Rng rng(77);
  for (int trial = 0; trial < 20; ++trial) {
    Genotype g = space.sample(rng);
    BuildOptions without;
    without.use_functions = false;
    onnx::ModelProto called = space.build_model(g);
    onnx::ModelProto a = onnx_text::inline_functions(called);
    onnx::ModelProto b = space.build_model(g, without);
    ASSERT_EQ(a.graph().node_size(), b.graph().node_size());
    for (int i = 0; i < a.graph().node_size(); ++i) {
      const auto& na = a.graph().node(i);
      const auto& nb = b.graph().node(i);
      ASSERT_EQ(na.op_type(), nb.op_type()) << "node " << i;
      ASSERT_EQ(na.attribute_size(), nb.attribute_size()) << "node " << i;
      for (int k = 0; k < na.attribute_size(); ++k)
        EXPECT_EQ(na.attribute(k).SerializeAsString(), nb.attribute(k).SerializeAsString()) << "node " << i;
    }
    EXPECT_NEAR(onnx_text::graph_cost(called).flops_M, onnx_text::graph_cost(b).flops_M, 1e-9);
  }
}

TEST(OfaMbv3SpaceTest, DescribesItselfAndRejectsInvalidInput) {
  OfaMbv3Space space;
  EXPECT_EQ(space.name(), "ofa_mbv3");
  EXPECT_DOUBLE_EQ(space.width_mult(), 1.2);
  std::vector<int> cards(45, 3);
  cards.push_back(25);
  EXPECT_EQ(space.gene_cardinalities(), cards);
  EXPECT_EQ(space.datasets(), std::vector<std::string>{"imagenet"});
  EXPECT_EQ(space.size(), std::nullopt);
  expect_message_contains([&] { space.validate(Genotype{{0}}); }, "expected 46 genes, got 1");
  Genotype bad = space.parse(kRow0);
  bad.genes[45] = 25;
  expect_message_contains([&] { space.validate(bad); }, "gene 45 = 25 is outside [0, 25)");
  BuildOptions o;
  o.dataset = "cifar10";
  expect_message_contains([&] { space.build_model(space.parse(kRow0), o); },
                          "unknown dataset 'cifar10'; known: imagenet");
  o.dataset = "imagenet";
  o.batch_size = 0;
  expect_message_contains([&] { space.build_model(space.parse(kRow0), o); }, "batch_size 0");
}

TEST(OfaMbv3SpaceTest, MutationChangesTheNetworkAndCrossoverMixesParents) {
  OfaMbv3Space space;
  Rng rng(12);
  int depth_or_resolution = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    Genotype a = space.sample(rng), b = space.sample(rng);
    Genotype child = space.mutate(a, rng);
    ASSERT_NO_THROW(space.validate(child));
    int diffs = 0;
    for (size_t i = 0; i < a.genes.size(); ++i) {
      if (child.genes[i] == a.genes[i]) continue;
      ++diffs;
      depth_or_resolution += i >= 40;
    }
    ASSERT_EQ(diffs, 1);
    ASSERT_NE(space.canonical(child), space.canonical(a));
    Genotype mix = space.crossover(a, b, rng);
    ASSERT_NO_THROW(space.validate(mix));
    for (size_t i = 0; i < a.genes.size(); ++i)
      ASSERT_TRUE(mix.genes[i] == a.genes[i] || mix.genes[i] == b.genes[i]);
  }
  // 6 of the ~36 live genes on average are depths or the resolution.
  EXPECT_NEAR(depth_or_resolution / 3000.0, 6.0 / 36.0, 0.04);
}

}  // namespace
}  // namespace nas::spaces
