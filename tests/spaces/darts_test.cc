#include "spaces/darts.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "core/error.h"
#include "core/table.h"
#include "onnx_text/graph_cost.h"
#include "onnx_text/inline.h"
#include "onnx_text/reader.h"
#include "onnx_text/serializer.h"

namespace nas::spaces {
namespace {

const Table& darts_table() {
  static const Table table =
      Table::load(data_path("darts_nb301_subset.csv"), {{"compact_genotype", ColumnType::kText}});
  return table;
}

const std::string kExample =
    "[[(0, 0), (1, 5), (1, 1), (0, 1), (1, 3), (0, 3), (1, 3), (3, 2)], [(1, 0), (0, 2), (1, 3), (0, 3), (3, 0), "
    "(0, 1), (2, 0), (3, 6)]]";  // row 1 of the table

template <typename F>
void for_each_row_parallel(size_t rows, F body) {
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t r = next++; r < rows; r = next++) body(r);
  };
  std::thread t(worker);
  worker();
  t.join();
}

void expect_message_contains(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "expected SpaceError containing '" << needle << "'";
  } catch (const SpaceError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

void infer_strict(onnx::ModelProto& model) {
  onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(),
                                     onnx::ShapeInferenceOptions{/*check_type=*/true, /*error_mode=*/1,
                                                                 /*enable_data_propagation=*/false});
}

std::vector<int64_t> dims_of(const onnx::ValueInfoProto& v) {
  std::vector<int64_t> dims;
  for (const auto& d : v.type().tensor_type().shape().dim()) dims.push_back(d.has_dim_value() ? d.dim_value() : -1);
  return dims;
}

TEST(DartsGenotypeTest, EveryCsvRowParsesAndFormatsBack) {
  const Table& t = darts_table();
  ASSERT_EQ(t.rows(), 725u);
  DartsSpace space;
  std::set<std::string> canonicals;
  for (size_t r = 0; r < t.rows(); ++r) {
    const std::string& s = t.text(r, "compact_genotype");
    DartsGenotype g = DartsGenotype::parse(s);
    ASSERT_EQ(g.to_string(), s) << "row " << r;
    Genotype genes = space.parse(s);
    ASSERT_NO_THROW(space.validate(genes)) << s;
    ASSERT_EQ(space.format(genes), s);
    ASSERT_EQ(DartsGenotype::from_genotype(genes), g);
    canonicals.insert(g.canonical());
  }
  EXPECT_EQ(canonicals.size(), 725u);
}

TEST(DartsGenotypeTest, ParsesTheDocumentedExample) {
  DartsGenotype g = DartsGenotype::parse(kExample);
  EXPECT_EQ(g.normal.edges[0], (DartsEdge{0, DartsOp::kMaxPool3x3}));
  EXPECT_EQ(g.normal.edges[1], (DartsEdge{1, DartsOp::kDilConv3x3}));
  EXPECT_EQ(g.normal.edges[7], (DartsEdge{3, DartsOp::kSkipConnect}));
  EXPECT_EQ(g.reduce.edges[7], (DartsEdge{3, DartsOp::kDilConv5x5}));
  std::vector<int> genes = g.to_genotype().genes;
  ASSERT_EQ(genes.size(), 32u);
  EXPECT_EQ(std::vector<int>(genes.begin(), genes.begin() + 4), (std::vector<int>{0, 0, 1, 5}));
  EXPECT_EQ(std::vector<int>(genes.end() - 2, genes.end()), (std::vector<int>{3, 6}));
  EXPECT_EQ(darts_op_name(DartsOp::kSepConv5x5), "sep_conv_5x5");
  EXPECT_EQ(darts_op_name(DartsOp::kAvgPool3x3), "avg_pool_3x3");
}

TEST(DartsGenotypeTest, MalformedStringsThrowSpaceErrorNamingTheToken) {
  auto with = [&](size_t pos, size_t len, const std::string& text) {
    std::string s = kExample;
    return s.replace(pos, len, text);
  };
  struct Case {
    std::string text, needle;
  };
  // kExample: '[' 0, '[' 1, pair 0 "(0, 0)" at 2..7 (input at 3, op at 6), ", " 8..9, pair 1 at 10..15, ...,
  // pair 7 at 58..63, ']' 64, ", " 65..66, the reduction cell 67..130, ']' 131.
  std::vector<Case> cases{
      {with(6, 1, "7"), "token '7' at position 6: the op index of pair 0 must be in [0, 7)"},
      {with(3, 1, "2"), "token '2' at position 3: the input of pair 0 (node 0 reads states 0..1) must be in [0, 2)"},
      {with(3, 1, "x"), "token 'x' at position 3: expected the input of pair 0"},
      {with(11, 1, "0"), "token '0' at position 11: node 0 of the normal cell reads state 0 twice"},
      {with(4, 1, ""), "token ' ' at position 4: expected ', ' after the input of pair 0"},
      {with(0, 1, "("), "token '(' at position 0: expected '[' opening the genotype"},
      {with(93, 1, "9"), "token '9' at position 93: the input of pair 3 (node 1 reads states 0..2) must be in [0, 3)"},
      {kExample + " ", "token ' ' at position 132: trailing characters"},
      {kExample.substr(0, kExample.size() - 1), "token '<end>' at position 131: expected ']' closing the genotype"},
      {with(64, 0, ", (0, 1)"), "token '(' at position 66: the normal cell has more than 8 pairs"},
      {with(56, 8, ""), "token ']' at position 56: the normal cell has 7 pairs, expected 8"},
      {with(6, 1, "03"), "token '03' at position 6: the op index of pair 0 has a leading zero"},
      {with(65, 2, ","), "token '[' at position 66: expected ', ' between the normal and the reduction cell"},
      {"", "token '<end>' at position 0: expected '['"},
  };
  DartsSpace space;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    expect_message_contains([&] { DartsGenotype::parse(c.text); }, c.needle);
    expect_message_contains([&] { space.parse(c.text); }, c.needle);
  }
}

TEST(DartsGenotypeTest, InvalidGenotypesAreRejected) {
  DartsSpace space;
  Genotype g = space.parse(kExample);
  Genotype same_inputs = g;
  same_inputs.genes[16 + 2 * 3] = same_inputs.genes[16 + 2 * 2];  // reduce node 1: both edges from one state
  expect_message_contains([&] { space.validate(same_inputs); }, "reduce cell node 1: both edges read state");
  expect_message_contains([&] { space.build_model(same_inputs); }, "two inputs must differ");
  Genotype out_of_range = g;
  out_of_range.genes[0] = 2;  // node 0 reads states 0..1
  expect_message_contains([&] { space.validate(out_of_range); }, "gene 0 = 2 is outside [0, 2)");
  out_of_range = g;
  out_of_range.genes[31] = 7;
  expect_message_contains([&] { space.format(out_of_range); }, "gene 31 = 7 is outside [0, 7)");
  expect_message_contains([&] { space.validate(Genotype{{0, 1}}); }, "expected 32 genes, got 2");
  Rng rng(1);
  expect_message_contains([&] { space.mutate(same_inputs, rng); }, "two inputs must differ");
}

TEST(DartsGenotypeTest, CanonicalIgnoresTheOrderOfANodesTwoEdges) {
  DartsGenotype g = DartsGenotype::parse(kExample);
  EXPECT_EQ(
      g.canonical(),
      "[[(0, 0), (1, 5), (0, 1), (1, 1), (0, 3), (1, 3), (1, 3), (3, 2)], [(0, 2), (1, 0), (0, 3), (1, 3), (0, 1), "
      "(3, 0), (2, 0), (3, 6)]]");
  DartsSpace space;
  Rng rng(4);
  for (int trial = 0; trial < 300; ++trial) {
    DartsGenotype a = DartsGenotype::from_genotype(space.sample(rng)), b = a;
    DartsCell& cell = trial % 2 ? b.normal : b.reduce;
    int node = static_cast<int>(rng.index(4));
    std::swap(cell.edges[2 * node], cell.edges[2 * node + 1]);
    EXPECT_EQ(a.canonical(), b.canonical());
    EXPECT_EQ(DartsGenotype::parse(a.canonical()).canonical(), a.canonical());
    // Another op on one edge, or the cells exchanged, is another network.
    DartsGenotype c = a;
    c.normal.edges[5].op = static_cast<DartsOp>((static_cast<int>(c.normal.edges[5].op) + 1) % kDartsNumOps);
    EXPECT_NE(c.canonical(), a.canonical());
    DartsGenotype d = a;
    std::swap(d.normal, d.reduce);
    if (!(a.normal == a.reduce)) {
      EXPECT_NE(d.canonical(), a.canonical());
    }
  }
}

TEST(DartsSpaceTest, DescribesItself) {
  DartsSpace space;
  EXPECT_EQ(space.name(), "darts");
  std::vector<int> card = space.gene_cardinalities();
  std::vector<int> cell{2, 7, 2, 7, 3, 7, 3, 7, 4, 7, 4, 7, 5, 7, 5, 7};
  std::vector<int> expected = cell;
  expected.insert(expected.end(), cell.begin(), cell.end());
  EXPECT_EQ(card, expected);
  EXPECT_EQ(space.datasets(), std::vector<std::string>{"cifar10"});
  EXPECT_EQ(space.size(), std::nullopt);
}

TEST(DartsSpaceTest, SamplesAreValidAndUniform) {
  DartsSpace space;
  Rng rng(11), again(11);
  std::array<int, kDartsNumOps> ops{};
  std::array<int, 5> node3_inputs{};
  const int n = 3000;
  std::set<std::string> canonicals;
  for (int i = 0; i < n; ++i) {
    Genotype g = space.sample(rng);
    ASSERT_EQ(g, space.sample(again));
    ASSERT_NO_THROW(space.validate(g));
    canonicals.insert(space.canonical(g));
    for (int k = 1; k < 32; k += 2) ++ops[g.genes[k]];
    ++node3_inputs[g.genes[12]];
    ++node3_inputs[g.genes[14]];
  }
  EXPECT_EQ(canonicals.size(), static_cast<size_t>(n));
  for (int op = 0; op < kDartsNumOps; ++op) EXPECT_NEAR(ops[op], n * 16 / 7.0, 300) << "op " << op;
  for (int s = 0; s < 5; ++s) EXPECT_NEAR(node3_inputs[s], 2 * n / 5.0, 150) << "state " << s;
}

TEST(DartsSpaceTest, MutationChangesOneGeneToAnotherValidNetwork) {
  DartsSpace space;
  Rng rng(3);
  std::array<int, 32> hits{};
  for (int trial = 0; trial < 3000; ++trial) {
    Genotype parent = space.sample(rng);
    Genotype child = space.mutate(parent, rng);
    ASSERT_NO_THROW(space.validate(child));
    ASSERT_NE(space.canonical(child), space.canonical(parent));
    int diffs = 0;
    for (size_t i = 0; i < 32; ++i)
      if (child.genes[i] != parent.genes[i]) ++diffs, ++hits[i];
    ASSERT_EQ(diffs, 1);
  }
  // Node 0's inputs can only be swapped, which is the same network: never mutated alone.
  for (int i : {0, 2, 16, 18}) EXPECT_EQ(hits[i], 0) << "gene " << i;
  for (int i : {1, 3, 4, 30, 31}) EXPECT_GT(hits[i], 40) << "gene " << i;
}

TEST(DartsSpaceTest, CrossoverTakesEachNodeFromAParent) {
  DartsSpace space;
  Rng rng(5);
  int from_a = 0, from_b = 0;
  for (int trial = 0; trial < 1000; ++trial) {
    Genotype a = space.sample(rng), b = space.sample(rng);
    Genotype child = space.crossover(a, b, rng);
    ASSERT_NO_THROW(space.validate(child));
    for (int node = 0; node < 8; ++node) {
      auto part = [&](const Genotype& g) {
        return std::vector<int>(g.genes.begin() + 4 * node, g.genes.begin() + 4 * node + 4);
      };
      ASSERT_TRUE(part(child) == part(a) || part(child) == part(b));
      if (part(a) != part(b)) (part(child) == part(a) ? from_a : from_b)++;
    }
  }
  EXPECT_NEAR(static_cast<double>(from_a) / (from_a + from_b), 0.5, 0.03);
}

// The benchmark's params_M for every row, from the emitted model.
TEST(DartsModelTest, ParamsMatchTheTableForEveryRow) {
  const Table& t = darts_table();
  std::mutex mu;
  std::vector<std::string> failures;
  for_each_row_parallel(t.rows(), [&](size_t r) {
    DartsGenotype g = DartsGenotype::parse(t.text(r, "compact_genotype"));
    double params = onnx_text::graph_cost(build_darts_model(g)).params_M, expected = t.number(r, "params_M");
    if (std::abs(params - expected) > 1e-5 * expected) {
      std::lock_guard<std::mutex> lock(mu);
      failures.push_back(fmt::format("row {} {}: params {} table {}", r, g.to_string(), params, expected));
    }
  });
  EXPECT_TRUE(failures.empty()) << failures.size() << " mismatches, first: " << failures.front();
}

// Output elements per kind of node in the inlined model (shapes from ONNX inference): "Relu",
// "BN affine" (scale is an initializer), "BN plain" (scale computed in the graph), "pool x kernel"
// (MaxPool / AveragePool output elements times kernel size) and "GAP input".
std::map<std::string, double> element_counts(const onnx::ModelProto& model) {
  onnx::ModelProto flat = onnx_text::inline_functions(model);
  infer_strict(flat);
  std::map<std::string, double> numel;
  for (const auto& v : flat.graph().value_info()) {
    double e = 1;
    for (int64_t d : dims_of(v)) e *= static_cast<double>(d);
    numel[v.name()] = e;
  }
  std::set<std::string> initializers;
  for (const auto& t : flat.graph().initializer()) initializers.insert(t.name());
  std::map<std::string, double> out;
  for (const auto& n : flat.graph().node()) {
    if (n.op_type() == "Relu") out["Relu"] += numel.at(n.output(0));
    if (n.op_type() == "BatchNormalization")
      out[initializers.count(n.input(1)) ? "BN affine" : "BN plain"] += numel.at(n.output(0));
    if (n.op_type() == "MaxPool" || n.op_type() == "AveragePool") out["pool x kernel"] += 9 * numel.at(n.output(0));
    if (n.op_type() == "GlobalAveragePool") out["GAP input"] += numel.at(n.input(0));
  }
  return out;
}

// flops_M is graph_cost's MACs plus 1 per ReLU output, 2 per affine BN output, 1 per non-affine BN
// output, 9 per pool output and 1 per GlobalAveragePool input element, plus about 8.69e3 that is the same
// for every row and that we cannot attribute (5e-5 of the total; it is not the auxiliary head, which
// would add ~3e7). The per-op terms are exact: the residual varies by at most the table's rounding.
TEST(DartsModelTest, FlopsMatchTheTableUpToAConstant) {
  const Table& t = darts_table();
  std::mutex mu;
  double lo = 1e18, hi = -1e18, min_ratio = 1e9, max_ratio = 0;
  for_each_row_parallel(t.rows(), [&](size_t r) {
    onnx::ModelProto m = build_darts_model(DartsGenotype::parse(t.text(r, "compact_genotype")));
    double macs = onnx_text::graph_cost(m).flops_M * 1e6;
    auto e = element_counts(m);
    double flops = macs + e["Relu"] + 2 * e["BN affine"] + e["BN plain"] + e["pool x kernel"] + e["GAP input"];
    double expected = t.number(r, "flops_M") * 1e6;
    std::lock_guard<std::mutex> lock(mu);
    lo = std::min(lo, expected - flops);
    hi = std::max(hi, expected - flops);
    min_ratio = std::min(min_ratio, expected / macs);
    max_ratio = std::max(max_ratio, expected / macs);
  });
  std::printf(
      "[ info ] darts flops_M / graph_cost MACs in [%.4f, %.4f]; residual after the per-element terms in "
      "[%.0f, %.0f]\n",
      min_ratio, max_ratio, lo, hi);
  EXPECT_GT(lo, 8680);
  EXPECT_LT(hi, 8710);
}

TEST(DartsModelTest, UnknownDatasetAndBadBatchThrow) {
  DartsSpace space;
  Genotype g = space.parse(kExample);
  expect_message_contains([&] { space.build_model(g, BuildOptions{"imagenet"}); },
                          "darts: unknown dataset 'imagenet'; known: cifar10");
  BuildOptions bad;
  bad.batch_size = 0;
  expect_message_contains([&] { space.build_model(g, bad); }, "batch_size 0");
}

TEST(DartsModelTest, SampledModelsPassCheckerInferenceAndTextRoundTrip) {
  DartsSpace space;
  Rng rng(2024);
  for (int trial = 0; trial < 150; ++trial) {
    Genotype g = space.sample(rng);
    BuildOptions options;
    options.batch_size = 1 + static_cast<int64_t>(rng.index(3));
    options.use_functions = trial % 4 != 3;
    SCOPED_TRACE(space.format(g));
    onnx::ModelProto model = space.build_model(g, options);
    ASSERT_NO_THROW(onnx::checker::check_model(model));
    onnx::ModelProto inferred = model;
    ASSERT_NO_THROW(infer_strict(inferred));
    EXPECT_EQ(dims_of(model.graph().output(0)), (std::vector<int64_t>{options.batch_size, 10}));
    // The four blocks, plus one function per op with weights that the cells use.
    std::set<DartsOp> ops;
    DartsGenotype d = DartsGenotype::from_genotype(g);
    for (const DartsCell* cell : {&d.normal, &d.reduce})
      for (const DartsEdge& e : cell->edges)
        if (e.op != DartsOp::kMaxPool3x3 && e.op != DartsOp::kAvgPool3x3 &&
            (e.op != DartsOp::kSkipConnect || (cell == &d.reduce && e.input < 2)))
          ops.insert(e.op);
    EXPECT_EQ(model.functions_size(), options.use_functions ? 4 + static_cast<int>(ops.size()) : 0);
    onnx::ModelProto flat = options.use_functions ? onnx_text::inline_functions(model) : model;
    ASSERT_NO_THROW(infer_strict(flat));
    std::map<std::string, std::vector<int64_t>> shapes;
    for (const auto& v : flat.graph().value_info()) shapes[v.name()] = dims_of(v);
    const std::array<int64_t, 8> channels{128, 128, 256, 256, 256, 512, 512, 512}, sizes{32, 32, 16, 16, 16, 8, 8, 8};
    for (int i = 0; i < 8; ++i)
      EXPECT_EQ(shapes[fmt::format("cell{}_out", i)],
                (std::vector<int64_t>{options.batch_size, channels[i], sizes[i], sizes[i]}))
          << "cell " << i;
    std::string text = onnx_text::to_text(model);
    EXPECT_EQ(onnx_text::to_text(onnx_text::from_text(text)), text);
  }
}

TEST(DartsModelTest, FunctionsAndInlineFormsAreTheSameNetwork) {
  DartsSpace space;
  Rng rng(99);
  for (int trial = 0; trial < 20; ++trial) {
    Genotype g = space.sample(rng);
    BuildOptions without;
    without.use_functions = false;
    onnx::ModelProto a = onnx_text::inline_functions(space.build_model(g));
    onnx::ModelProto b = space.build_model(g, without);
    std::set<std::string> initializers;
    for (const auto& t : a.graph().initializer()) initializers.insert(t.name());
    ASSERT_EQ(a.graph().node_size(), b.graph().node_size());
    for (int i = 0; i < a.graph().node_size(); ++i) {
      const auto &na = a.graph().node(i), &nb = b.graph().node(i);
      ASSERT_EQ(na.op_type(), nb.op_type()) << "node " << i;
      ASSERT_EQ(na.input_size(), nb.input_size()) << "node " << i;
      ASSERT_EQ(na.attribute_size(), nb.attribute_size()) << "node " << i;
      for (int k = 0; k < na.attribute_size(); ++k) {
        EXPECT_EQ(na.attribute(k).name(), nb.attribute(k).name());
        EXPECT_EQ(na.attribute(k).i(), nb.attribute(k).i()) << "node " << i << " " << na.attribute(k).name();
        EXPECT_TRUE(nb.attribute(k).ref_attr_name().empty());
      }
      for (int k = 0; k < na.input_size(); ++k)
        if (initializers.count(na.input(k))) {
          EXPECT_EQ(na.input(k), nb.input(k)) << "node " << i;
        }
    }
    ASSERT_EQ(a.graph().initializer_size(), b.graph().initializer_size());
  }
}

TEST(DartsModelTest, CellsAreFunctionsWithAGroupAttributeForDepthwiseConvs) {
  onnx::ModelProto m = build_darts_model(DartsGenotype::parse(kExample));
  std::map<std::string, const onnx::FunctionProto*> fns;
  for (const auto& f : m.functions()) fns[f.name()] = &f;
  // The blocks, and the ops with weights as functions the cells call (their text is written once).
  ASSERT_EQ(fns.size(), 8u);
  for (const char* name : {"relu_conv_bn", "factorized_reduce", "normal", "reduce", "sep_conv_3x3", "dil_conv_3x3",
                           "dil_conv_5x5", "skip_connect"})
    ASSERT_TRUE(fns.count(name)) << name;
  EXPECT_EQ(fns["normal"]->attribute_size(), 1);
  EXPECT_EQ(fns["normal"]->attribute(0), "group");
  EXPECT_EQ(fns["relu_conv_bn"]->attribute_size(), 0);
  EXPECT_EQ(fns["skip_connect"]->attribute_size(), 0);
  // sep_conv_3x3 is strided in the reduction cell: its first depthwise conv's strides are attribute "s".
  ASSERT_EQ(fns["sep_conv_3x3"]->attribute_size(), 2);
  EXPECT_EQ(fns["sep_conv_3x3"]->attribute(1), "s");
  EXPECT_EQ(fns["dil_conv_3x3"]->attribute_size(), 1);
  // The op calls pass the cell's "group"; the depthwise convs reference it; each cell call binds it.
  int op_calls = 0;
  for (const auto& n : fns["normal"]->node()) {
    if (n.domain() != "nas") continue;
    ++op_calls;
    ASSERT_EQ(n.attribute_size(), 1) << n.op_type();
    EXPECT_EQ(n.attribute(0).ref_attr_name(), "group");
    EXPECT_EQ(n.input(1), "ones");
    EXPECT_EQ(n.input(2), "zeros");
  }
  EXPECT_EQ(op_calls, 1 + 3);  // dil_conv_3x3 + 3 sep_conv_3x3 in the example's normal cell
  int depthwise = 0;
  for (const auto& n : fns["sep_conv_3x3"]->node())
    for (const auto& a : n.attribute())
      if (a.name() == "group") {
        ++depthwise;
        EXPECT_EQ(a.ref_attr_name(), "group");
      }
  EXPECT_EQ(depthwise, 2);
  std::vector<std::pair<std::string, int64_t>> calls;
  for (const auto& n : m.graph().node()) {
    if (n.domain() != "nas") continue;
    int64_t group = 0;
    for (const auto& a : n.attribute())
      if (a.name() == "group") group = a.i();
    calls.emplace_back(n.op_type(), group);
  }
  std::vector<std::pair<std::string, int64_t>> expected;
  const std::array<int64_t, 8> c{32, 32, 64, 64, 64, 128, 128, 128};
  for (int i = 0; i < 8; ++i) {
    expected.emplace_back(i == 3 || i == 6 ? "factorized_reduce" : "relu_conv_bn", 0);
    expected.emplace_back("relu_conv_bn", 0);
    expected.emplace_back(i == 2 || i == 5 ? "reduce" : "normal", c[i]);
  }
  EXPECT_EQ(calls, expected);
  // Every initializer is used by exactly one node.
  std::map<std::string, int> uses;
  for (const auto& n : m.graph().node())
    for (const auto& i : n.input()) ++uses[i];
  for (const auto& init : m.graph().initializer()) EXPECT_EQ(uses[init.name()], 1) << init.name();
}

TEST(DartsModelTest, OpBatchNormsHaveNoTrainableParameters) {
  // All-pool cells: only the stem, the preprocessing and the classifier have parameters.
  DartsGenotype pools = DartsGenotype::parse(
      "[[(0, 0), (1, 1), (0, 0), (1, 1), (0, 0), (1, 1), (0, 0), (1, 1)], [(0, 1), (1, 0), (0, 1), (1, 0), (0, 1), "
      "(1, 0), (0, 1), (1, 0)]]");
  onnx::ModelProto m = build_darts_model(pools);
  double expected = 3 * 9 * 96 + 2 * 96 + 512 * 10 + 10;
  const int64_t c_pp[8] = {96, 96, 128, 128, 256, 256, 256, 512}, c_p[8] = {96, 128, 128, 256, 256, 256, 512, 512};
  const int64_t c[8] = {32, 32, 64, 64, 64, 128, 128, 128};
  for (int i = 0; i < 8; ++i)
    expected += c_pp[i] * c[i] + 2 * c[i] + c_p[i] * c[i] + 2 * c[i];  // FR has the same count
  EXPECT_NEAR(onnx_text::graph_cost(m).params_M, expected / 1e6, 1e-9);
  for (const auto& f : m.functions()) {
    if (f.name() != "reduce" && f.name() != "normal") continue;
    EXPECT_EQ(f.attribute_size(), 0);  // no depthwise convs, no group attribute
    for (const auto& n : f.node()) {
      if (n.op_type() != "BatchNormalization") continue;
      EXPECT_EQ(n.input(1), "ones");
      EXPECT_EQ(n.input(2), "zeros");
    }
  }
  ASSERT_NO_THROW(onnx::checker::check_model(m));
}

TEST(DartsModelTest, FactorizedReduceReadsTheEvenAndOddPixels) {
  onnx::ModelProto m = build_darts_model(DartsGenotype::parse(kExample));
  const onnx::FunctionProto* fr = nullptr;
  for (const auto& f : m.functions())
    if (f.name() == "factorized_reduce") fr = &f;
  ASSERT_NE(fr, nullptr);
  std::vector<std::string> ops;
  std::string split_first, split_last;
  std::vector<std::string> conv_inputs;
  for (const auto& n : fr->node()) {
    ops.push_back(n.op_type());
    if (n.op_type() == "SpaceToDepth") {
      ASSERT_EQ(n.attribute_size(), 1);
      EXPECT_EQ(n.attribute(0).i(), 2);
    }
    if (n.op_type() == "Split") {
      ASSERT_EQ(n.output_size(), 4);  // equal split of the 4 pixel phases (0,0) (0,1) (1,0) (1,1)
      EXPECT_EQ(n.input_size(), 1);
      split_first = n.output(0);
      split_last = n.output(3);
    }
    if (n.op_type() == "Conv") conv_inputs.push_back(n.input(0));
  }
  EXPECT_EQ(
      ops, (std::vector<std::string>{"Relu", "SpaceToDepth", "Split", "Conv", "Conv", "Concat", "BatchNormalization"}));
  EXPECT_EQ(conv_inputs, (std::vector<std::string>{split_first, split_last}));
}

TEST(DartsModelTest, RandomWeightsAreSeeded) {
  DartsSpace space;
  Genotype g = space.parse(kExample);
  BuildOptions options;
  options.weights = WeightFill::kRandom;
  options.weight_seed = 42;
  onnx::ModelProto a = space.build_model(g, options), b = space.build_model(g, options);
  options.weight_seed = 43;
  EXPECT_EQ(a.SerializeAsString(), b.SerializeAsString());
  EXPECT_NE(a.SerializeAsString(), space.build_model(g, options).SerializeAsString());
  ASSERT_NO_THROW(onnx::checker::check_model(a));
  EXPECT_NEAR(onnx_text::graph_cost(a).params_M, 0.856298, 1e-6);
}

}  // namespace
}  // namespace nas::spaces
