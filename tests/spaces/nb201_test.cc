#include "spaces/nb201.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include "core/error.h"
#include "core/table.h"
#include "onnx_text/graph_cost.h"
#include "onnx_text/inline.h"

namespace nas::spaces {
namespace {

const Table& nb201_table() {
  static const Table table = Table::load(data_path("nb201.csv"), {{"arch_str", ColumnType::kText}});
  return table;
}

// Runs body(row) for every row on 2 threads (the test machine has 2 cores).
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

TEST(Nb201GenotypeTest, ParseFormatRoundTripsEveryTableString) {
  const Table& t = nb201_table();
  ASSERT_EQ(t.rows(), 15625u);
  Nb201Space space;
  std::set<Genotype> seen;
  for (size_t r = 0; r < t.rows(); ++r) {
    const std::string& arch = t.text(r, "arch_str");
    Nb201Genotype g = Nb201Genotype::parse(arch);
    ASSERT_EQ(g.to_string(), arch) << "row " << r;
    Genotype gene = space.parse(arch);
    ASSERT_EQ(space.format(gene), arch) << "row " << r;
    ASSERT_EQ(Nb201Genotype::from_genotype(gene), g);
    seen.insert(gene);
  }
  EXPECT_EQ(seen.size(), 15625u);  // the table lists every cell once
}

TEST(Nb201GenotypeTest, ParsesTheDocumentedExample) {
  auto g = Nb201Genotype::parse(
      "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|");
  std::array<Nb201Op, 6> expected{Nb201Op::kNorConv3x3, Nb201Op::kNorConv3x3, Nb201Op::kAvgPool3x3,
                                  Nb201Op::kSkipConnect, Nb201Op::kNorConv3x3, Nb201Op::kSkipConnect};
  EXPECT_EQ(g.edges, expected);
  EXPECT_EQ(g.to_genotype().genes, (std::vector<int>{3, 3, 4, 1, 3, 1}));
}

TEST(Nb201GenotypeTest, CanonicalClassesAreExactlyTheTableIsoClasses) {
  const Table& t = nb201_table();
  std::map<std::string, std::set<double>> iso_of_canonical;
  std::map<double, std::set<std::string>> canonical_of_iso;
  for (size_t r = 0; r < t.rows(); ++r) {
    std::string c = Nb201Genotype::parse(t.text(r, "arch_str")).canonical();
    double iso = t.number(r, "iso_rep_idx");
    iso_of_canonical[c].insert(iso);
    canonical_of_iso[iso].insert(c);
  }
  EXPECT_EQ(iso_of_canonical.size(), 6466u);
  EXPECT_EQ(canonical_of_iso.size(), 6466u);
  for (const auto& [c, isos] : iso_of_canonical) EXPECT_EQ(isos.size(), 1u) << "canonical " << c << " spans classes";
  for (const auto& [iso, cs] : canonical_of_iso) EXPECT_EQ(cs.size(), 1u) << "iso class " << iso << " splits";
}

TEST(Nb201GenotypeTest, CanonicalFollowsTheBenchmarkRules) {
  // Node 1 = node 0, so node 2 = node 0 + conv1x1(node 1) and node 2 = conv1x1(node 0) + node 1 are equal.
  auto a = Nb201Genotype::parse(
      "|skip_connect~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|skip_connect~1|nor_conv_1x1~2|");
  auto b = Nb201Genotype::parse(
      "|skip_connect~0|+|nor_conv_1x1~0|skip_connect~1|+|skip_connect~0|skip_connect~1|nor_conv_1x1~2|");
  EXPECT_EQ(a.canonical(), "((0)@nor_conv_1x1+0)@nor_conv_1x1+0+0");
  EXPECT_EQ(a.canonical(), b.canonical());
  EXPECT_EQ(Nb201Space().canonical(a.to_genotype()), a.canonical());
  // A node whose two inputs are both zero reads "#+#", not "#" (as in the benchmark).
  auto c = Nb201Genotype::parse("|none~0|+|none~0|none~1|+|none~0|none~1|nor_conv_3x3~2|");
  EXPECT_EQ(c.canonical(), "#+#+(#+#)@nor_conv_3x3");
  // The benchmark's string form is not a full graph isomorphism test: these two cells are the same
  // network with nodes 1 and 2 swapped, yet the table lists them in different classes (arch_idx 13349
  // has iso_rep_idx 981, arch_idx 5319 has 392), and so do we.
  auto d = Nb201Genotype::parse("|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|none~0|skip_connect~1|skip_connect~2|");
  auto e = Nb201Genotype::parse("|nor_conv_1x1~0|+|nor_conv_3x3~0|none~1|+|none~0|skip_connect~1|skip_connect~2|");
  EXPECT_NE(d.canonical(), e.canonical());
}

TEST(Nb201GenotypeTest, MalformedStringsThrowSpaceErrorNamingTheToken) {
  const std::string good =
      "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|";
  struct Case {
    std::string arch, needle;
  };
  std::vector<Case> cases{
      {"|nor_conv_5x5~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
       "token 'nor_conv_5x5~0' at position 1: unknown op 'nor_conv_5x5'"},
      {"|nor_conv_3x3~1|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
       "token 'nor_conv_3x3~1' at position 1: input '1'"},
      {"|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~3|",
       "token 'skip_connect~3' at position"},
      {"|nor_conv_3x3~0|+|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
       "node 2 has 1 input(s), expected 2"},
      {"|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
       "token 'nor_conv_3x3~1' at position 16: node 1 has more than 1 inputs"},
      {"nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
       "token 'n' at position 0: expected '|' opening node 1"},
      {"|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2",
       "token 'skip_connect~2' at position 80: missing closing '|'"},
      {"|nor_conv_3x3~0||nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
       "node 1 has more than 1 inputs"},
      {good + "+", "token '+' at position 95"},
      {good + "x", "token 'x' at position 95"},
      {"|nor_conv_3x3-0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
       "token 'nor_conv_3x3-0' at position 1: expected 'op~input'"},
      {"|nor_conv_3x3~00|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
       "token 'nor_conv_3x3~00'"},
      {"", "token '<end>' at position 0"},
      {"|nor_conv_3x3~0|", "token '<end>' at position 16: expected '+' before node 2"},
  };
  ASSERT_NO_THROW(Nb201Genotype::parse(good));
  Nb201Space space;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.arch);
    expect_message_contains([&] { Nb201Genotype::parse(c.arch); }, c.needle);
    expect_message_contains([&] { space.parse(c.arch); }, c.needle);
  }
}

TEST(Nb201SpaceTest, InvalidGenotypesAreRejected) {
  Nb201Space space;
  expect_message_contains([&] { space.validate(Genotype{{0, 1, 2}}); }, "expected 6 genes, got 3");
  expect_message_contains([&] { space.validate(Genotype{{0, 1, 2, 3, 4, 5}}); }, "gene 5 = 5");
  expect_message_contains([&] { space.format(Genotype{{-1, 1, 2, 3, 4, 0}}); }, "gene 0 = -1");
  expect_message_contains([&] { space.build_model(Genotype{{0, 1, 2, 3, 4}}); }, "expected 6 genes");
  Rng rng(1);
  expect_message_contains([&] { space.mutate(Genotype{{9, 1, 2, 3, 4, 0}}, rng); }, "gene 0 = 9");
}

TEST(Nb201SpaceTest, DescribesItself) {
  Nb201Space space;
  EXPECT_EQ(space.name(), "nb201");
  EXPECT_EQ(space.gene_cardinalities(), std::vector<int>(6, 5));
  EXPECT_EQ(space.datasets(), (std::vector<std::string>{"cifar10", "cifar100", "imagenet16"}));
  EXPECT_EQ(space.size(), std::optional<uint64_t>(15625));
  EXPECT_EQ(nb201_dataset("").name, "cifar10");
  EXPECT_EQ(nb201_dataset("imagenet16").resolution, 16);
  EXPECT_EQ(nb201_dataset("imagenet16").num_classes, 120);
  EXPECT_EQ(nb201_edge(4), std::make_pair(3, 1));
}

TEST(Nb201SpaceTest, AtEnumeratesEveryCellOnce) {
  Nb201Space space;
  std::set<std::string> strings;
  for (uint64_t i = 0; i < 15625; ++i) {
    Genotype g = space.at(i);
    ASSERT_NO_THROW(space.validate(g));
    strings.insert(space.format(g));
  }
  EXPECT_EQ(strings.size(), 15625u);
  EXPECT_EQ(space.at(0).genes, std::vector<int>(6, 0));
  EXPECT_EQ(space.at(1).genes, (std::vector<int>{0, 0, 0, 0, 0, 1}));  // gene 0 most significant
  EXPECT_THROW(space.at(15625), SpaceError);
}

TEST(Nb201SpaceTest, SampleIsUniformPerEdge) {
  Nb201Space space;
  Rng rng(11);
  const int n = 20000;
  std::array<std::array<int, 5>, 6> counts{};
  for (int i = 0; i < n; ++i) {
    Genotype g = space.sample(rng);
    ASSERT_NO_THROW(space.validate(g));
    for (int e = 0; e < 6; ++e) ++counts[e][g.genes[e]];
  }
  // Each count ~ Binomial(20000, 0.2): mean 4000, sd ~57; 6 sd tolerance.
  for (int e = 0; e < 6; ++e)
    for (int op = 0; op < 5; ++op) EXPECT_NEAR(counts[e][op], 4000, 340) << "edge " << e << " op " << op;
}

TEST(Nb201SpaceTest, MutateChangesExactlyOneEdgeToAnotherOp) {
  Nb201Space space;
  Rng rng(3);
  std::array<int, 6> edges_hit{};
  std::array<int, 5> new_ops{};
  for (int trial = 0; trial < 5000; ++trial) {
    Genotype parent = space.sample(rng);
    Genotype child = space.mutate(parent, rng);
    ASSERT_NO_THROW(space.validate(child));
    int diffs = 0;
    for (int e = 0; e < 6; ++e) {
      if (child.genes[e] != parent.genes[e]) {
        ++diffs;
        ++edges_hit[e];
        ++new_ops[child.genes[e]];
      }
    }
    ASSERT_EQ(diffs, 1) << space.format(parent) << " -> " << space.format(child);
  }
  for (int e = 0; e < 6; ++e) EXPECT_GT(edges_hit[e], 600) << "edge " << e;
  for (int op = 0; op < 5; ++op) EXPECT_GT(new_ops[op], 800) << "op " << op;
}

TEST(Nb201SpaceTest, CrossoverTakesEachEdgeFromAParent) {
  Nb201Space space;
  Rng rng(5);
  int from_a = 0, from_b = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    Genotype a = space.sample(rng), b = space.sample(rng);
    Genotype child = space.crossover(a, b, rng);
    ASSERT_NO_THROW(space.validate(child));
    for (int e = 0; e < 6; ++e) {
      ASSERT_TRUE(child.genes[e] == a.genes[e] || child.genes[e] == b.genes[e]);
      if (a.genes[e] != b.genes[e]) (child.genes[e] == a.genes[e] ? from_a : from_b)++;
    }
  }
  EXPECT_NEAR(static_cast<double>(from_a) / (from_a + from_b), 0.5, 0.03);
}

TEST(Nb201ModelTest, UnknownDatasetAndBadBatchThrow) {
  Nb201Space space;
  Genotype g = space.at(1234);
  expect_message_contains([&] { space.build_model(g, BuildOptions{"imagenet"}); },
                          "nb201: unknown dataset 'imagenet'; known: cifar10, cifar100, imagenet16");
  BuildOptions bad;
  bad.batch_size = 0;
  expect_message_contains([&] { space.build_model(g, bad); }, "batch_size 0");
}

// The benchmark's params / FLOPs (data/nb201.csv) for every cell and dataset, from the emitted model.
TEST(Nb201ModelTest, ParamsAndFlopsMatchTheTableForEveryCellAndDataset) {
  const Table& t = nb201_table();
  Nb201Space space;
  std::mutex mu;
  std::vector<std::string> failures;
  std::atomic<int> checked{0};
  auto start = std::chrono::steady_clock::now();
  for_each_row_parallel(t.rows(), [&](size_t r) {
    Genotype g = space.parse(t.text(r, "arch_str"));
    for (const auto& ds : space.datasets()) {
      BuildOptions options;
      options.dataset = ds;
      onnx_text::GraphCost cost = onnx_text::graph_cost(space.build_model(g, options));
      double params = t.number(r, "params_M_" + ds), flops = t.number(r, "flops_M_" + ds);
      if (std::abs(cost.params_M - params) > 1e-5 * params || std::abs(cost.flops_M - flops) > 1e-5 * flops) {
        std::lock_guard<std::mutex> lock(mu);
        failures.push_back(fmt::format("row {} {} {}: got params {} flops {}, table {} {}", r, t.text(r, "arch_str"),
                                       ds, cost.params_M, cost.flops_M, params, flops));
      }
      ++checked;
    }
  });
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ info ] %d models costed in %.1f s\n", checked.load(), seconds);
  EXPECT_EQ(checked.load(), 3 * 15625);
  EXPECT_TRUE(failures.empty()) << failures.size() << " mismatches, first: " << failures.front();
}

// The cell with `none` on every edge into a node whose output reaches the cell output only through
// `none` edges (what dead-code elimination removes), worked out on the genotype, independently of the
// graph pass in graph_cost.
Nb201Genotype without_dead_edges(Nb201Genotype g) {
  std::array<bool, 4> needed{false, false, false, true};
  for (int node = 2; node >= 1; --node)
    for (int e = 0; e < kNb201NumEdges; ++e) {
      auto [to, from] = nb201_edge(e);
      if (from == node && needed[static_cast<size_t>(to)] && g.edges[static_cast<size_t>(e)] != Nb201Op::kNone)
        needed[static_cast<size_t>(node)] = true;
    }
  for (int e = 0; e < kNb201NumEdges; ++e)
    if (!needed[static_cast<size_t>(nb201_edge(e).first)]) g.edges[static_cast<size_t>(e)] = Nb201Op::kNone;
  return g;
}

// Of the cell's ops that without_dead_edges removes, the convs whose unused node ends only in a sum of
// two or more edges (GraphCost::dead_merged_nodes), worked out on the genotype: an unused node 2 sums
// its edges if two or more are not `none`; an unused node 1 has one edge, so its conv ends in a merge
// only through a (then unused) node 2 that is one.
int64_t dead_merged_convs(const Nb201Genotype& g) {
  Nb201Genotype pruned = without_dead_edges(g);
  auto op = [&](int to, int from) {
    for (int e = 0; e < kNb201NumEdges; ++e)
      if (nb201_edge(e) == std::pair<int, int>{to, from}) return g.edges[static_cast<size_t>(e)];
    return Nb201Op::kNone;
  };
  auto is_conv = [](Nb201Op o) { return o == Nb201Op::kNorConv1x1 || o == Nb201Op::kNorConv3x3; };
  std::array<bool, 4> unused{false, false, false, false}, merged{false, false, false, false};
  for (int e = 0; e < kNb201NumEdges; ++e)
    if (g.edges[static_cast<size_t>(e)] != Nb201Op::kNone && pruned.edges[static_cast<size_t>(e)] == Nb201Op::kNone)
      unused[static_cast<size_t>(nb201_edge(e).first)] = true;
  merged[2] = unused[2] && (op(2, 0) != Nb201Op::kNone) + (op(2, 1) != Nb201Op::kNone) >= 2;
  merged[1] = unused[1] && op(2, 1) != Nb201Op::kNone && merged[2];
  int64_t convs = 0;
  for (int e = 0; e < kNb201NumEdges; ++e)
    convs += merged[static_cast<size_t>(nb201_edge(e).first)] && is_conv(g.edges[static_cast<size_t>(e)]);
  return convs;
}

// live_flops_M of every cell's network is the table's flops_M_cifar10 of the same cell with its dead
// edges removed (and equals flops_M when nothing is dead). A cell whose output does not depend on its
// input (node 3 not reachable from node 0 through ops other than `none`) makes everything before the
// last cell dead: only that cell's ops (run on zero tensors) and the classifier (Gemm 64 -> 10 with
// bias: 650 MACs) are left. Each of the 15 cells has the same MACs (C doubles where H x W quarters),
// (table flops of the cell - table flops of the all-`none` cell) / 15.
// Live FLOPs are the table's flops_M_cifar10 of the cell without its dead edges, and the live Conv and
// AveragePool nodes are its conv and pool edges, in all 15 cells plus the stem and resblocks' 7 convs
// and 2 pools. A cell whose output does not depend on its input makes everything before the last cell
// dead: then only the last cell's ops (on zeros) and the classifier are live. Of the dead convs, those
// ending in merges are dead_merged_convs() in each of the 15 cells when the output depends on the
// input (otherwise where the dead cells' results end depends on the cells after them, as inlined:
// tests/onnx_text/graph_cost_test.cc checks that case against the inlined model).
TEST(Nb201ModelTest, LiveFlopsAndLiveNodesAreThoseOfTheCellWithoutDeadEdges) {
  Table t = Table::load(data_path("nb201.csv"), {{"arch_str", ColumnType::kText}});
  t.index_by("arch_str");
  Nb201Space space;
  std::mutex mu;
  std::vector<std::string> failures;
  std::atomic<int> with_dead{0};
  for_each_row_parallel(t.rows(), [&](size_t r) {
    Nb201Genotype g = Nb201Genotype::parse(t.text(r, "arch_str"));
    Nb201Genotype pruned = without_dead_edges(g);
    onnx_text::GraphCost cost = onnx_text::graph_cost(space.build_model(space.parse(g.to_string()), BuildOptions{}));
    std::array<bool, 4> reached{true, false, false, false};
    for (int e = 0; e < kNb201NumEdges; ++e) {
      auto [to, from] = nb201_edge(e);
      if (reached[static_cast<size_t>(from)] && pruned.edges[static_cast<size_t>(e)] != Nb201Op::kNone)
        reached[static_cast<size_t>(to)] = true;
    }
    double expected = t.number(*t.find(pruned.to_string()), "flops_M_cifar10");
    if (!reached[3])
      expected = (expected - t.number(*t.find(Nb201Genotype{}.to_string()), "flops_M_cifar10")) / 15 + 650e-6;
    int64_t convs = 0, pools = 0;
    for (Nb201Op op : pruned.edges) {
      convs += op == Nb201Op::kNorConv1x1 || op == Nb201Op::kNorConv3x3;
      pools += op == Nb201Op::kAvgPool3x3;
    }
    int64_t cells = reached[3] ? 15 : 1;
    auto count_in = [](const std::map<std::string, int64_t>& nodes, const char* op) {
      auto it = nodes.find(op);
      return it == nodes.end() ? int64_t{0} : it->second;
    };
    auto live_count = [&](const char* op) { return count_in(cost.live_nodes, op); };
    // Every node, live or not: the conv and pool edges of the unpruned cell in all 15 cells, plus the
    // stem's and resblocks' 7 convs and 2 pools.
    int64_t all_convs = 7, all_pools = 2;
    for (Nb201Op op : g.edges) {
      all_convs += 15 * (op == Nb201Op::kNorConv1x1 || op == Nb201Op::kNorConv3x3);
      all_pools += 15 * (op == Nb201Op::kAvgPool3x3);
    }
    int64_t expected_convs = cells * convs + (reached[3] ? 7 : 0), expected_pools = cells * pools + (reached[3] ? 2 : 0);
    bool dead = pruned != g;
    with_dead += dead;
    bool all_live = !dead && reached[3];
    bool ok = std::abs(cost.live_flops_M - expected) <= 1e-5 * expected &&
              (all_live ? cost.live_flops_M == cost.flops_M : cost.live_flops_M <= cost.flops_M) &&
              live_count("Conv") == expected_convs && live_count("AveragePool") == expected_pools &&
              live_count("Sub") == 0 &&  // zero nodes are folded, not run
              count_in(cost.nodes, "Conv") == all_convs && count_in(cost.nodes, "AveragePool") == all_pools &&
              (!reached[3] || count_in(cost.dead_merged_nodes, "Conv") == 15 * dead_merged_convs(g));
    if (!ok) {
      std::lock_guard<std::mutex> lock(mu);
      failures.push_back(fmt::format("{}: live {} flops {} convs {} pools {} (all {} / {}, dead merged {}), expected "
                                     "live {} convs {} pools {} (all {} / {}, dead merged {}) ({})",
                                     g.to_string(), cost.live_flops_M, cost.flops_M, live_count("Conv"),
                                     live_count("AveragePool"), count_in(cost.nodes, "Conv"),
                                     count_in(cost.nodes, "AveragePool"), count_in(cost.dead_merged_nodes, "Conv"),
                                     expected, expected_convs, expected_pools, all_convs, all_pools,
                                     15 * dead_merged_convs(g), pruned.to_string()));
    }
  });
  EXPECT_EQ(with_dead.load(), 3420);  // cells with an op on an edge into a node that feeds only `none` edges
  EXPECT_TRUE(failures.empty()) << failures.size() << " mismatches, first: " << failures.front();
}

TEST(Nb201ModelTest, SampledModelsPassCheckerAndShapeInference) {
  Nb201Space space;
  Rng rng(2024);
  for (int trial = 0; trial < 300; ++trial) {
    Genotype g = space.sample(rng);
    BuildOptions options;
    options.dataset = space.datasets()[rng.index(3)];
    options.batch_size = 1 + static_cast<int64_t>(rng.index(4));
    options.use_functions = trial % 2 == 0;
    SCOPED_TRACE(space.format(g) + " " + options.dataset);
    onnx::ModelProto model = space.build_model(g, options);
    const Nb201Dataset& ds = nb201_dataset(options.dataset);
    ASSERT_NO_THROW(onnx::checker::check_model(model));
    ASSERT_NO_THROW(infer_strict(model));
    ASSERT_EQ(model.graph().output_size(), 1);
    EXPECT_EQ(dims_of(model.graph().output(0)), (std::vector<int64_t>{options.batch_size, ds.num_classes}));
    EXPECT_EQ(model.functions_size(), options.use_functions ? 2 : 0);
    if (options.use_functions) {
      onnx::ModelProto flat = onnx_text::inline_functions(model);
      ASSERT_NO_THROW(onnx::checker::check_model(flat));
      ASSERT_NO_THROW(infer_strict(flat));
      // Inferred shapes of every cell output: [N, C, H, H] per stage.
      std::map<std::string, std::vector<int64_t>> shapes;
      for (const auto& v : flat.graph().value_info()) shapes[v.name()] = dims_of(v);
      for (int i = 0; i < 17; ++i) {
        int stage = i < 5 ? 0 : i < 11 ? 1 : 2;
        int64_t h = ds.resolution >> stage;
        EXPECT_EQ(shapes[fmt::format("cell{}_out", i)], (std::vector<int64_t>{options.batch_size, 16 << stage, h, h}))
            << "cell " << i;
      }
    }
  }
}

TEST(Nb201ModelTest, FunctionsAndInlineFormsAreTheSameNetwork) {
  Nb201Space space;
  Rng rng(99);
  for (int trial = 0; trial < 50; ++trial) {
    Genotype g = space.sample(rng);
    BuildOptions with, without;
    with.use_functions = true;
    without.use_functions = false;
    onnx::ModelProto a = onnx_text::inline_functions(space.build_model(g, with));
    onnx::ModelProto b = space.build_model(g, without);
    std::set<std::string> initializers;
    for (const auto& t : a.graph().initializer()) initializers.insert(t.name());
    ASSERT_EQ(a.graph().node_size(), b.graph().node_size());
    for (int i = 0; i < a.graph().node_size(); ++i) {
      const auto& na = a.graph().node(i);
      const auto& nb = b.graph().node(i);
      ASSERT_EQ(na.op_type(), nb.op_type()) << "node " << i;
      ASSERT_EQ(na.attribute_size(), nb.attribute_size()) << "node " << i;
      ASSERT_EQ(na.input_size(), nb.input_size()) << "node " << i;
      for (int k = 0; k < na.input_size(); ++k) {  // every weight is bound to the same initializer
        if (initializers.count(na.input(k))) EXPECT_EQ(na.input(k), nb.input(k)) << "node " << i;
      }
    }
    ASSERT_EQ(a.graph().initializer_size(), b.graph().initializer_size());
    EXPECT_EQ(a.opset_import_size(), 1);
    EXPECT_EQ(b.opset_import_size(), 1);
  }
}

TEST(Nb201ModelTest, EmitsOnlyNonDefaultAttributesAndNoConvBias) {
  Nb201Space space;
  Genotype g = space.parse("|nor_conv_1x1~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|none~1|none~2|");
  BuildOptions options;
  options.use_functions = false;
  onnx::ModelProto m = space.build_model(g, options);
  std::map<std::string, std::vector<int64_t>> weight_dims;
  for (const auto& t : m.graph().initializer()) weight_dims[t.name()] = {t.dims().begin(), t.dims().end()};
  int strided = 0, convs = 0, pools = 0;
  for (const auto& n : m.graph().node()) {
    std::map<std::string, std::vector<int64_t>> attrs;
    for (const auto& a : n.attribute()) attrs[a.name()] = {a.ints().begin(), a.ints().end()};
    if (n.op_type() == "Conv") {
      ++convs;
      EXPECT_EQ(n.input_size(), 2) << "conv with bias";
      EXPECT_EQ(attrs.count("kernel_shape"), 0u) << "kernel_shape is the weight's (ONNX's default)";
      int64_t k = weight_dims.at(n.input(1))[2];
      EXPECT_EQ(attrs.count("pads"), k == 3 ? 1u : 0u);
      EXPECT_EQ(attrs.count("group"), 0u);
      EXPECT_EQ(attrs.count("dilations"), 0u);
      if (attrs.count("strides")) {
        ++strided;
        EXPECT_EQ(attrs["strides"], (std::vector<int64_t>{2, 2}));
      }
    } else if (n.op_type() == "BatchNormalization") {
      EXPECT_EQ(n.attribute_size(), 0);
      EXPECT_EQ(n.output_size(), 1);
    } else if (n.op_type() == "AveragePool") {
      ++pools;
      EXPECT_EQ(attrs.count("count_include_pad"), 0u);  // ONNX default 0 = PyTorch count_include_pad=False
    }
  }
  EXPECT_EQ(strided, 2);                       // the first conv of each residual block
  EXPECT_EQ(convs, 1 + 15 * 2 + 2 * 3);        // stem + 2 conv edges per cell + 3 per residual block
  EXPECT_EQ(pools, 15 + 2);                    // 1 pool edge per cell + each shortcut
}

TEST(Nb201ModelTest, DeadNodesAreZeroTensorsWithoutParameters) {
  Nb201Space space;
  BuildOptions options;
  onnx::ModelProto m = space.build_model(space.parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"), options);
  ASSERT_EQ(m.functions_size(), 2);
  const auto& cell = m.functions(0).name() == "cell" ? m.functions(0) : m.functions(1);
  ASSERT_EQ(cell.input_size(), 1);  // no weights
  for (const auto& n : cell.node()) {
    EXPECT_EQ(n.op_type(), "Sub");
    EXPECT_EQ(n.input(0), "x");
    EXPECT_EQ(n.input(1), "x");
  }
  ASSERT_NO_THROW(onnx::checker::check_model(m));
  ASSERT_NO_THROW(infer_strict(m));
  const Table& t = nb201_table();
  Genotype g = space.parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|");
  for (size_t r = 0; r < t.rows(); ++r) {
    if (t.text(r, "arch_str") != space.format(g)) continue;
    EXPECT_NEAR(onnx_text::graph_cost(m).params_M, t.number(r, "params_M_cifar10"), 1e-5 * t.number(r, "params_M_cifar10"));
  }
}

TEST(Nb201ModelTest, CellFunctionFormalsAreActivationThenWeightsInBodyOrder) {
  Nb201Space space;
  onnx::ModelProto m = space.build_model(
      space.parse("|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"));
  for (const auto& fn : m.functions()) {
    EXPECT_EQ(fn.domain(), "nas");
    ASSERT_GE(fn.input_size(), 1);
    EXPECT_EQ(fn.input(0), "x");
    std::vector<std::string> used;  // non-activation inputs in order of first use in the body
    std::set<std::string> produced{"x"};
    for (const auto& n : fn.node()) {
      for (const auto& i : n.input())
        if (!produced.count(i) && std::find(used.begin(), used.end(), i) == used.end()) used.push_back(i);
      for (const auto& o : n.output()) produced.insert(o);
    }
    EXPECT_EQ(std::vector<std::string>(fn.input().begin() + 1, fn.input().end()), used) << fn.name();
  }
  // Every call binds each weight formal to its own initializer, used by that call only.
  std::map<std::string, int> uses;
  for (const auto& n : m.graph().node())
    for (const auto& i : n.input()) ++uses[i];
  for (const auto& init : m.graph().initializer()) EXPECT_EQ(uses[init.name()], 1) << init.name();
  bool has_nas = false;
  for (const auto& imp : m.opset_import()) has_nas |= imp.domain() == "nas" && imp.version() == 1;
  EXPECT_TRUE(has_nas);
  EXPECT_EQ(m.ir_version(), 8);
}

TEST(Nb201ModelTest, RandomWeightsAreSeededHeNormal) {
  Nb201Space space;
  Genotype g = space.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|");
  BuildOptions options;
  options.weights = WeightFill::kRandom;
  options.weight_seed = 42;
  onnx::ModelProto a = space.build_model(g, options), b = space.build_model(g, options);
  options.weight_seed = 43;
  onnx::ModelProto c = space.build_model(g, options);
  EXPECT_EQ(a.SerializeAsString(), b.SerializeAsString());
  EXPECT_NE(a.SerializeAsString(), c.SerializeAsString());
  for (const auto& init : a.graph().initializer()) {
    int64_t numel = 1;
    for (int64_t d : init.dims()) numel *= d;
    ASSERT_EQ(init.float_data_size(), numel) << init.name();
    const std::string& name = init.name();
    auto ends_with = [&](const std::string& s) {
      return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
    };
    if (ends_with("_scale") || ends_with("_var")) {
      for (float v : init.float_data()) ASSERT_EQ(v, 1.0f) << name;
    } else if (ends_with("_bias") || ends_with("_mean") || ends_with("classifier_b")) {
      for (float v : init.float_data()) ASSERT_EQ(v, 0.0f) << name;
    } else if (numel >= 4096) {  // weights: He-normal, std sqrt(2 / fan_in)
      double fan_in = static_cast<double>(numel) / init.dims(0);
      double sum = 0, sq = 0;
      for (float v : init.float_data()) sum += v, sq += double(v) * v;
      double mean = sum / numel, sd = std::sqrt(sq / numel - mean * mean);
      EXPECT_NEAR(sd, std::sqrt(2.0 / fan_in), 0.05 * std::sqrt(2.0 / fan_in)) << name;
      EXPECT_NEAR(mean, 0.0, 0.1 * std::sqrt(2.0 / fan_in)) << name;
    }
  }
  ASSERT_NO_THROW(onnx::checker::check_model(a));
  EXPECT_NEAR(onnx_text::graph_cost(a).params_M, 0.802426, 1e-5);
}

TEST(Nb201ModelTest, ZeroWeightsAreRawZeroBytesOfExactSize) {
  Nb201Space space;
  onnx::ModelProto m = space.build_model(space.at(7777));
  ASSERT_GT(m.graph().initializer_size(), 0);
  for (const auto& init : m.graph().initializer()) {
    int64_t numel = 1;
    for (int64_t d : init.dims()) numel *= d;
    ASSERT_EQ(init.data_type(), onnx::TensorProto::FLOAT);
    ASSERT_EQ(init.raw_data().size(), static_cast<size_t>(numel) * 4) << init.name();
    ASSERT_EQ(init.raw_data().find_first_not_of('\0'), std::string::npos) << init.name();
  }
}

TEST(Nb201ModelTest, SerializedModelIsAValidOnnxFile) {
  Nb201Space space;
  BuildOptions options;
  options.dataset = "cifar100";
  options.weights = WeightFill::kRandom;
  onnx::ModelProto m = space.build_model(space.at(4321), options);
  std::string bytes;
  ASSERT_TRUE(m.SerializeToString(&bytes));
  std::string path = ::testing::TempDir() + "nb201_4321.onnx";
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), f), bytes.size());
    std::fclose(f);
  }
  ASSERT_NO_THROW(onnx::checker::check_model(path));  // reads the file back
  onnx::ModelProto reread;
  ASSERT_TRUE(reread.ParseFromString(bytes));
  ASSERT_NO_THROW(onnx::checker::check_model(reread));
  EXPECT_EQ(reread.SerializeAsString(), bytes);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace nas::spaces
