#include "spaces/nb101.h"

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
#include <numeric>
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

const Table& nb101_table() {
  static const Table table =
      Table::load(data_path("nb101_subset.csv"), {{"adjacency_7x7", ColumnType::kText}, {"ops", ColumnType::kText}});
  return table;
}

Nb101Genotype row_genotype(size_t r) {
  const Table& t = nb101_table();
  return Nb101Genotype::from_csv(t.text(r, "adjacency_7x7"), t.text(r, "ops"));
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

// The 7x7 genotype with the given edges and ops of vertices 1..5.
Nb101Genotype make(const std::vector<std::pair<int, int>>& edges, std::array<Nb101Op, 5> ops) {
  Nb101Genotype g;
  for (auto [from, to] : edges) g.adjacency[from][to] = true;
  g.ops = ops;
  return g;
}

constexpr Nb101Op kC3 = Nb101Op::kConv3x3, kC1 = Nb101Op::kConv1x1, kMp = Nb101Op::kMaxPool3x3;

// nasbench graph_util.hash_module, with std::hash in place of MD5: labels (out-degree, in-degree, op)
// of the pruned module, refined `n` times from sorted in- and out-neighbour hashes.
std::string iterated_hash(const Nb101Spec& spec) {
  const int n = spec.num_vertices();
  auto h = [](const std::string& s) { return fmt::format("{:016x}", std::hash<std::string>{}(s)); };
  std::vector<std::string> hashes(n);
  for (int v = 0; v < n; ++v) {
    int in = 0, out = 0;
    for (int w = 0; w < n; ++w) in += spec.matrix[w][v], out += spec.matrix[v][w];
    int label = v == 0 ? -1 : v == n - 1 ? -2 : static_cast<int>(spec.ops[v - 1]);
    hashes[v] = h(fmt::format("({}, {}, {})", out, in, label));
  }
  for (int round = 0; round < n; ++round) {
    std::vector<std::string> next(n);
    for (int v = 0; v < n; ++v) {
      std::vector<std::string> ins, outs;
      for (int w = 0; w < n; ++w) {
        if (spec.matrix[w][v]) ins.push_back(hashes[w]);
        if (spec.matrix[v][w]) outs.push_back(hashes[w]);
      }
      std::sort(ins.begin(), ins.end());
      std::sort(outs.begin(), outs.end());
      next[v] = h(fmt::format("{}|{}|{}", fmt::join(ins, ""), fmt::join(outs, ""), hashes[v]));
    }
    hashes = next;
  }
  std::sort(hashes.begin(), hashes.end());
  return h(fmt::format("{}", fmt::join(hashes, ",")));
}

// `g` with its 7 vertices renamed by a random topological order of the raw DAG (input and output stay
// first and last): the same network, another gene vector.
Nb101Genotype relabel_randomly(const Nb101Genotype& g, Rng& rng) {
  std::vector<int> order{0};
  std::vector<bool> placed(7, false);
  placed[0] = true;
  for (int step = 1; step < 6; ++step) {
    std::vector<int> ready;
    for (int v = 1; v < 6; ++v) {
      if (placed[v]) continue;
      bool ok = true;
      for (int u = 1; u < 6; ++u) ok = ok && !(g.adjacency[u][v] && !placed[u]);
      if (ok) ready.push_back(v);
    }
    int v = ready[rng.index(ready.size())];
    placed[v] = true;
    order.push_back(v);
  }
  order.push_back(6);
  std::array<int, 7> new_of{};
  for (int k = 0; k < 7; ++k) new_of[order[k]] = k;
  Nb101Genotype out;
  for (int u = 0; u < 7; ++u)
    for (int v = u + 1; v < 7; ++v)
      if (g.adjacency[u][v]) out.adjacency[new_of[u]][new_of[v]] = true;
  for (int v = 1; v < 6; ++v) out.ops[new_of[v] - 1] = g.ops[v - 1];
  return out;
}

TEST(Nb101GenotypeTest, EveryCsvRowParsesAndFormatsBack) {
  const Table& t = nb101_table();
  ASSERT_EQ(t.rows(), 500u);
  Nb101Space space;
  for (size_t r = 0; r < t.rows(); ++r) {
    const std::string &adj = t.text(r, "adjacency_7x7"), &ops = t.text(r, "ops");
    Nb101Genotype g = Nb101Genotype::from_csv(adj, ops);
    ASSERT_EQ(g.adjacency_string(), adj) << "row " << r;
    ASSERT_EQ(g.ops_string(), ops) << "row " << r;
    const std::string line = adj + "|" + ops;
    ASSERT_EQ(g.to_string(), line);
    ASSERT_EQ(Nb101Genotype::parse(line), g);
    Genotype genes = space.parse(line);
    ASSERT_NO_THROW(space.validate(genes)) << line;
    ASSERT_EQ(space.format(genes), line);
    ASSERT_EQ(Nb101Genotype::from_genotype(genes), g);
  }
}

TEST(Nb101GenotypeTest, ParsesTheDocumentedExampleAndPrunesItLikeTheBenchmark) {
  // Row 1 of the table: 12 raw edges, vertex 5 (a conv) has no way to the output and is pruned,
  // leaving 6 vertices and 9 edges, which is valid.
  auto g = Nb101Genotype::parse(
      "0111101000001100000010000110000001100000000000000|input maxpool3x3 maxpool3x3 conv3x3-bn-relu "
      "conv3x3-bn-relu conv3x3-bn-relu output");
  EXPECT_TRUE(g.adjacency[0][6] && g.adjacency[1][5] && g.adjacency[4][5] && !g.adjacency[5][6]);
  EXPECT_EQ(g.ops, (std::array<Nb101Op, 5>{kMp, kMp, kC3, kC3, kC3}));
  std::vector<int> genes = g.to_genotype().genes;
  EXPECT_EQ(std::vector<int>(genes.begin(), genes.begin() + 6), (std::vector<int>{1, 1, 1, 1, 0, 1}));  // row 0
  EXPECT_EQ(std::vector<int>(genes.begin() + 21, genes.end()), (std::vector<int>{2, 2, 0, 0, 0}));
  Nb101Spec spec = g.pruned();
  EXPECT_EQ(spec.num_vertices(), 6);
  EXPECT_EQ(spec.num_edges(), 9);
  EXPECT_EQ(spec.to_string(),
            "011111000001000001000010000001000000|input maxpool3x3 maxpool3x3 conv3x3-bn-relu "
            "conv3x3-bn-relu output");
  // Output fed by vertices 1, 2, 4 (pruned numbering): 128 / 3 = 42 rest 2, so 43, 43, 42; vertex 3 feeds
  // only vertex 4 and takes its 42.
  EXPECT_EQ(nb101_vertex_channels(128, 128, spec), (std::vector<int64_t>{128, 43, 43, 42, 42, 128}));
  EXPECT_EQ(nb101_vertex_channels(256, 512, spec), (std::vector<int64_t>{256, 171, 171, 170, 170, 512}));
  EXPECT_EQ(nb101_vertex_channels(128, 256, spec), (std::vector<int64_t>{128, 86, 85, 85, 85, 256}));
}

TEST(Nb101GenotypeTest, VertexChannelsFollowTheBenchmarkInvariants) {
  Nb101Space space;
  Rng rng(17);
  for (int trial = 0; trial < 500; ++trial) {
    Nb101Spec spec = Nb101Genotype::from_genotype(space.sample(rng)).pruned();
    const int n = spec.num_vertices();
    for (int64_t c : {128, 256, 512}) {
      auto vc = nb101_vertex_channels(c / 2, c, spec);
      ASSERT_EQ(vc.size(), static_cast<size_t>(n));
      EXPECT_EQ(vc[0], c / 2);
      EXPECT_EQ(vc[n - 1], c);
      if (n == 2) continue;
      int64_t fan_in = 0;
      for (int v = 1; v < n - 1; ++v) {
        EXPECT_GT(vc[v], 0);
        if (spec.matrix[v][n - 1]) fan_in += vc[v];
        for (int w = v + 1; w < n - 1; ++w) {
          if (!spec.matrix[v][w]) continue;
          EXPECT_GE(vc[v], vc[w]);      // channels never grow along an edge...
          EXPECT_LE(vc[v], vc[w] + 1);  // ...and truncation drops at most one
        }
      }
      EXPECT_EQ(fan_in, c) << spec.to_string();
    }
  }
}

TEST(Nb101GenotypeTest, ValidityFollowsTheBenchmarkRules) {
  // Input not connected to the output.
  auto disconnected = make({{0, 1}, {2, 6}}, {kC3, kC3, kC3, kC3, kC3});
  EXPECT_FALSE(disconnected.is_valid());
  expect_message_contains([&] { disconnected.validate(); }, "input is not connected to the output");
  // 10 live edges.
  auto dense =
      make({{0, 1}, {0, 2}, {0, 3}, {0, 4}, {1, 2}, {1, 3}, {2, 3}, {3, 4}, {4, 6}, {0, 6}}, {kC3, kC1, kMp, kC3, kC3});
  EXPECT_FALSE(dense.is_valid());
  expect_message_contains([&] { dense.validate(); }, "pruned module has 10 edges, at most 9");
  // The same plus 2 dangling edges into vertex 5, which does not reach the output: still 10 live.
  auto more = dense;
  more.adjacency[1][5] = more.adjacency[2][5] = true;
  EXPECT_FALSE(more.is_valid());
  // 11 raw edges, 9 after pruning: valid.
  auto pruned_ok = make({{0, 1}, {1, 2}, {2, 6}, {0, 3}, {3, 6}, {0, 4}, {4, 6}, {0, 5}, {1, 5}, {2, 5}, {0, 6}},
                        {kC3, kC1, kMp, kC3, kC3});
  EXPECT_TRUE(pruned_ok.is_valid());
  EXPECT_EQ(pruned_ok.pruned().num_edges(), 8);
  EXPECT_EQ(pruned_ok.pruned().num_vertices(), 6);
  // The smallest module: input -> output only.
  auto trivial = make({{0, 6}}, {kC3, kC3, kC3, kC3, kC3});
  EXPECT_TRUE(trivial.is_valid());
  EXPECT_EQ(trivial.canonical(), "0100|input output");
  Nb101Space space;
  expect_message_contains([&] { space.validate(disconnected.to_genotype()); }, "input is not connected");
  expect_message_contains([&] { space.build_model(dense.to_genotype()); }, "at most 9");
  expect_message_contains([&] { space.validate(Genotype{{0, 1}}); }, "expected 26 genes, got 2");
  std::vector<int> genes(26, 0);
  genes[25] = 3;
  expect_message_contains([&] { space.validate(Genotype{genes}); }, "gene 25 = 3 is outside [0, 3)");
  genes[25] = 0;
  genes[3] = 2;
  expect_message_contains([&] { space.validate(Genotype{genes}); }, "gene 3 = 2 is outside [0, 2)");
}

TEST(Nb101GenotypeTest, MalformedStringsThrowSpaceErrorNamingTheToken) {
  const std::string adj = "0111101000001100000010000110000001100000000000000";
  const std::string ops = "input maxpool3x3 maxpool3x3 conv3x3-bn-relu conv3x3-bn-relu conv3x3-bn-relu output";
  struct Case {
    std::string arch, needle;
  };
  std::vector<Case> cases{
      {adj + "|input maxpool3x3 conv5x5-bn-relu conv3x3-bn-relu conv3x3-bn-relu conv3x3-bn-relu output",
       "token 'conv5x5-bn-relu' at position 67: unknown op for vertex 2"},
      {adj + ops, "expected 'ADJACENCY|OPS'"},
      {adj.substr(1) + "|" + ops, "adjacency has 48 characters, expected 49"},
      {"2" + adj.substr(1) + "|" + ops, "token '2' at position 0: adjacency characters must be '0' or '1'"},
      {adj + "|input maxpool3x3 output", "token 'output' at position 67: 3 ops, expected 7"},
      {adj + "|" + ops + " output", "token 'output' at position 133: 8 ops, expected 7"},
      {adj + "|input maxpool3x3 maxpool3x3 conv3x3-bn-relu conv3x3-bn-relu conv3x3-bn-relu input",
       "token 'input' at position 126: vertex 6 must be 'output'"},
      {adj + "|output maxpool3x3 maxpool3x3 conv3x3-bn-relu conv3x3-bn-relu conv3x3-bn-relu output",
       "token 'output' at position 50: vertex 0 must be 'input'"},
      {adj + "|input  maxpool3x3 maxpool3x3 conv3x3-bn-relu conv3x3-bn-relu conv3x3-bn-relu output",
       "token '' at position 56: empty op name"},
      {adj + "|input input maxpool3x3 conv3x3-bn-relu conv3x3-bn-relu conv3x3-bn-relu output",
       "token 'input' at position 56: unknown op for vertex 1"},
      {"0000000000000000000000000000000000000000000000001|" + ops,
       "token '1' at position 48: edge 6 -> 6 is not above the diagonal"},
      {"0111101100001100000010000110000001100000000000000|" + ops,
       "token '1' at position 7: edge 1 -> 0 is not above the diagonal"},
      {"0000001000000000000000000000000000000000000000000|" + ops + "x",
       "token 'outputx' at position 126: vertex 6 must be 'output'"},
  };
  Nb101Space space;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.arch);
    expect_message_contains([&] { Nb101Genotype::parse(c.arch); }, c.needle);
    expect_message_contains([&] { space.parse(c.arch); }, c.needle);
  }
  // An invalid module parses as a string but is rejected, naming the rule.
  expect_message_contains([&] { Nb101Genotype::parse("0000000000000000000000000000000000000000000000000|" + ops); },
                          "input is not connected to the output");
  // The two-column helper names the column.
  expect_message_contains([&] { Nb101Genotype::from_csv(adj, "input maxpool output"); },
                          "nb101 column 'ops' ('input maxpool output'): token 'output' at position 14: 3 ops");
  expect_message_contains([&] { Nb101Genotype::from_csv("01", ops); }, "nb101 column 'adjacency_7x7' ('01')");
}

TEST(Nb101GenotypeTest, CanonicalIsInvariantUnderRelabellingAndDanglingEdges) {
  Nb101Space space;
  Rng rng(5);
  for (int trial = 0; trial < 400; ++trial) {
    Nb101Genotype g = Nb101Genotype::from_genotype(space.sample(rng));
    Nb101Genotype h = relabel_randomly(g, rng);
    ASSERT_TRUE(h.is_valid());
    EXPECT_EQ(g.canonical(), h.canonical()) << g.to_string() << " vs " << h.to_string();
    // The op of a pruned vertex does not matter; the op of a live one does.
    std::array<bool, 7> from_input{true}, to_output{};
    to_output[6] = true;
    for (int v = 1; v < 7; ++v)
      for (int u = 0; u < v; ++u) from_input[v] = from_input[v] || (from_input[u] && g.adjacency[u][v]);
    for (int u = 5; u >= 0; --u)
      for (int v = u + 1; v < 7; ++v) to_output[u] = to_output[u] || (to_output[v] && g.adjacency[u][v]);
    for (int v = 1; v < 6; ++v) {
      Nb101Genotype other = g;
      other.ops[v - 1] = static_cast<Nb101Op>((static_cast<int>(g.ops[v - 1]) + 1) % 3);
      if (from_input[v] && to_output[v]) {
        EXPECT_NE(other.canonical(), g.canonical()) << g.to_string() << " v" << v;
      } else {
        EXPECT_EQ(other.canonical(), g.canonical()) << g.to_string() << " v" << v;
      }
    }
  }
  // Swapping two parallel vertices with different ops is the same network; changing an op is not.
  auto a = make({{0, 1}, {0, 2}, {1, 6}, {2, 6}}, {kC3, kC1, kMp, kMp, kMp});
  auto b = make({{0, 1}, {0, 2}, {1, 6}, {2, 6}}, {kC1, kC3, kMp, kMp, kMp});
  auto c = make({{0, 1}, {0, 2}, {1, 6}, {2, 6}}, {kC3, kC3, kMp, kMp, kMp});
  EXPECT_EQ(a.canonical(), b.canonical());
  EXPECT_EQ(a.canonical(), "0110000100010000|input conv1x1-bn-relu conv3x3-bn-relu output");
  EXPECT_NE(a.canonical(), c.canonical());
  // A chain and a fork over the same ops differ.
  auto chain = make({{0, 1}, {1, 2}, {2, 6}}, {kC3, kC3, kMp, kMp, kMp});
  auto fork = make({{0, 1}, {0, 2}, {1, 2}, {2, 6}}, {kC3, kC3, kMp, kMp, kMp});
  EXPECT_NE(chain.canonical(), fork.canonical());
}

TEST(Nb101GenotypeTest, CanonicalClassesAgreeWithTheBenchmarksIteratedHashing) {
  // On the table and on sampled cells plus relabelled copies: equal canonical <=> equal hash_module.
  Nb101Space space;
  Rng rng(23);
  std::vector<Nb101Genotype> cells;
  for (size_t r = 0; r < nb101_table().rows(); ++r) cells.push_back(row_genotype(r));
  for (int i = 0; i < 1500; ++i) {
    cells.push_back(Nb101Genotype::from_genotype(space.sample(rng)));
    cells.push_back(relabel_randomly(cells.back(), rng));
  }
  std::map<std::string, std::set<std::string>> hash_of, canonical_of;
  for (const auto& g : cells) {
    std::string c = g.canonical(), h = iterated_hash(g.pruned());
    hash_of[c].insert(h);
    canonical_of[h].insert(c);
  }
  for (const auto& [c, hs] : hash_of) EXPECT_EQ(hs.size(), 1u) << c;
  for (const auto& [h, cs] : canonical_of) EXPECT_EQ(cs.size(), 1u) << *cs.begin();
  EXPECT_LT(hash_of.size(), cells.size() - 1000);  // the relabelled copies (at least) fall together
}

TEST(Nb101SpaceTest, DescribesItself) {
  Nb101Space space;
  EXPECT_EQ(space.name(), "nb101");
  std::vector<int> card = space.gene_cardinalities();
  ASSERT_EQ(card.size(), 26u);
  EXPECT_EQ(std::count(card.begin(), card.begin() + 21, 2), 21);
  EXPECT_EQ(std::count(card.begin() + 21, card.end(), 3), 5);
  EXPECT_EQ(space.datasets(), std::vector<std::string>{"cifar10"});
  EXPECT_EQ(space.size(), std::nullopt);
  EXPECT_EQ(nb101_op_name(Nb101Op::kConv1x1), "conv1x1-bn-relu");
}

TEST(Nb101SpaceTest, SamplesAreValidVariedAndSeeded) {
  Nb101Space space;
  Rng rng(11), again(11);
  std::set<std::string> canonicals;
  std::array<int, 3> live_ops{};
  for (int i = 0; i < 2000; ++i) {
    Genotype g = space.sample(rng);
    ASSERT_EQ(g, space.sample(again));
    ASSERT_NO_THROW(space.validate(g));
    canonicals.insert(space.canonical(g));
    for (Nb101Op op : Nb101Genotype::from_genotype(g).pruned().ops) ++live_ops[static_cast<int>(op)];
  }
  // Uniform over gene vectors is not uniform over networks: small pruned modules have many raw forms
  // (e.g. input -> output with any dangling edges), so repeats are common; still hundreds of networks.
  EXPECT_GT(canonicals.size(), 700u);
  int total = live_ops[0] + live_ops[1] + live_ops[2];
  for (int op = 0; op < 3; ++op) EXPECT_NEAR(static_cast<double>(live_ops[op]) / total, 1.0 / 3, 0.03);
}

TEST(Nb101SpaceTest, MutationGivesAValidDifferentNetwork) {
  Nb101Space space;
  Rng rng(3);
  int single = 0;
  const int trials = 1500;
  for (int trial = 0; trial < trials; ++trial) {
    Genotype parent = space.sample(rng);
    Genotype child = space.mutate(parent, rng);
    ASSERT_NO_THROW(space.validate(child));
    ASSERT_NE(space.canonical(child), space.canonical(parent)) << space.format(parent);
    int diffs = 0;
    for (size_t i = 0; i < parent.genes.size(); ++i) diffs += child.genes[i] != parent.genes[i];
    single += diffs == 1;
  }
  EXPECT_GT(single, trials * 9 / 10);
  // In a module that is only input -> output, no single gene change gives another valid network (a
  // new vertex needs an edge in and an edge out), so mutation changes 2 genes.
  Genotype bare = make({{0, 6}}, {kC3, kC3, kC3, kC3, kC3}).to_genotype();
  for (int trial = 0; trial < 50; ++trial) {
    Genotype child = space.mutate(bare, rng);
    ASSERT_NO_THROW(space.validate(child));
    EXPECT_NE(space.canonical(child), space.canonical(bare));
    int diffs = 0;
    for (size_t i = 0; i < bare.genes.size(); ++i) diffs += child.genes[i] != bare.genes[i];
    EXPECT_GE(diffs, 2);
  }
}

TEST(Nb101SpaceTest, CrossoverGivesValidChildrenOfBothParents) {
  Nb101Space space;
  Rng rng(9);
  int from_a = 0, from_b = 0;
  for (int trial = 0; trial < 1000; ++trial) {
    Genotype a = space.sample(rng), b = space.sample(rng);
    Genotype child = space.crossover(a, b, rng);
    ASSERT_NO_THROW(space.validate(child));
    for (size_t i = 0; i < a.genes.size(); ++i) {
      ASSERT_TRUE(child.genes[i] == a.genes[i] || child.genes[i] == b.genes[i]);
      if (a.genes[i] != b.genes[i]) (child.genes[i] == a.genes[i] ? from_a : from_b)++;
    }
  }
  EXPECT_GT(from_b, from_a / 2);  // mostly real mixes (an invalid mix is retried, `a` is the last resort)
}

// The benchmark's trainable parameters (params_M) for every row, from the emitted model.
TEST(Nb101ModelTest, ParamsMatchTheTableForEveryRow) {
  const Table& t = nb101_table();
  std::mutex mu;
  std::vector<std::string> failures;
  for_each_row_parallel(t.rows(), [&](size_t r) {
    Nb101Genotype g = row_genotype(r);
    double params = onnx_text::graph_cost(build_nb101_model(g)).params_M, expected = t.number(r, "params_M");
    if (std::abs(params - expected) > 1e-5 * expected) {
      std::lock_guard<std::mutex> lock(mu);
      failures.push_back(fmt::format("row {} {}: params {} table {}", r, g.to_string(), params, expected));
    }
  });
  EXPECT_TRUE(failures.empty()) << failures.size() << " mismatches, first: " << failures.front();
}

// Elements written by nodes of each op type in the inlined model (shapes from ONNX inference).
std::map<std::string, double> output_elements(const onnx::ModelProto& model) {
  onnx::ModelProto flat = onnx_text::inline_functions(model);
  infer_strict(flat);
  std::map<std::string, double> numel_of;
  for (const auto& v : flat.graph().value_info()) {
    double e = 1;
    for (int64_t d : dims_of(v)) e *= static_cast<double>(d);
    numel_of[v.name()] = e;
  }
  std::map<std::string, double> out;
  for (const auto& n : flat.graph().node()) {
    if (!numel_of.count(n.output(0))) continue;
    double e = numel_of[n.output(0)];
    if (n.op_type() == "MaxPool") {
      int64_t k = 1;
      for (const auto& a : n.attribute())
        if (a.name() == "kernel_shape")
          for (int64_t d : a.ints()) k *= d;
      out["MaxPool x kernel"] += e * static_cast<double>(k);
    } else {
      out[n.op_type()] += e;
    }
  }
  return out;
}

// flops_M is not graph_cost's MAC count: it also counts 2 per BatchNorm output element, 1 per ReLU
// output element and kernel-size many per MaxPool output element (3x3 in cells, 2x2 between stacks),
// and nothing for GlobalAveragePool, Sum, Add, Concat. This reproduces every row to float32 rounding.
TEST(Nb101ModelTest, FlopsMatchTheTableUnderItsCountingConvention) {
  const Table& t = nb101_table();
  std::mutex mu;
  std::vector<std::string> failures;
  double worst = 0, min_ratio = 1e9, max_ratio = 0;
  for_each_row_parallel(t.rows(), [&](size_t r) {
    onnx::ModelProto m = build_nb101_model(row_genotype(r));
    double macs = onnx_text::graph_cost(m).flops_M * 1e6;
    auto e = output_elements(m);
    double flops = macs + 2 * e["BatchNormalization"] + e["Relu"] + e["MaxPool x kernel"];
    double expected = t.number(r, "flops_M") * 1e6, rel = std::abs(flops - expected) / expected;
    std::lock_guard<std::mutex> lock(mu);
    worst = std::max(worst, rel);
    min_ratio = std::min(min_ratio, expected / macs);
    max_ratio = std::max(max_ratio, expected / macs);
    if (rel > 1e-6) failures.push_back(fmt::format("row {}: {} vs table {}", r, flops, expected));
  });
  std::printf(
      "[ info ] nb101 flops_M / graph_cost MACs in [%.4f, %.4f]; with BN/ReLU/MaxPool terms max rel. "
      "error %.2g\n",
      min_ratio, max_ratio, worst);
  EXPECT_TRUE(failures.empty()) << failures.size() << " mismatches, first: " << failures.front();
  EXPECT_GT(max_ratio, 1.01);  // the extra terms matter
}

TEST(Nb101ModelTest, UnknownDatasetAndBadBatchThrow) {
  Nb101Space space;
  Genotype g = row_genotype(0).to_genotype();
  expect_message_contains([&] { space.build_model(g, BuildOptions{"cifar100"}); },
                          "nb101: unknown dataset 'cifar100'; known: cifar10");
  BuildOptions bad;
  bad.batch_size = 0;
  expect_message_contains([&] { space.build_model(g, bad); }, "batch_size 0");
}

TEST(Nb101ModelTest, SampledModelsPassCheckerInferenceAndTextRoundTrip) {
  Nb101Space space;
  Rng rng(2024);
  for (int trial = 0; trial < 200; ++trial) {
    Genotype g = space.sample(rng);
    BuildOptions options;
    options.batch_size = 1 + static_cast<int64_t>(rng.index(3));
    options.use_functions = trial % 4 != 3;
    SCOPED_TRACE(space.format(g));
    onnx::ModelProto model = space.build_model(g, options);
    ASSERT_NO_THROW(onnx::checker::check_model(model));
    onnx::ModelProto inferred = model;
    ASSERT_NO_THROW(infer_strict(inferred));
    ASSERT_EQ(model.graph().output_size(), 1);
    EXPECT_EQ(dims_of(model.graph().output(0)), (std::vector<int64_t>{options.batch_size, 10}));
    EXPECT_EQ(model.functions_size(), options.use_functions ? 1 : 0);
    onnx::ModelProto flat = options.use_functions ? onnx_text::inline_functions(model) : model;
    ASSERT_NO_THROW(infer_strict(flat));
    std::map<std::string, std::vector<int64_t>> shapes;
    for (const auto& v : flat.graph().value_info()) shapes[v.name()] = dims_of(v);
    for (int i = 0; i < 9; ++i) {
      int stack = i / 3;
      int64_t h = 32 >> stack;
      EXPECT_EQ(shapes[fmt::format("cell{}_out", i)], (std::vector<int64_t>{options.batch_size, 128 << stack, h, h}))
          << "module " << i;
    }
    std::string text = onnx_text::to_text(model);
    EXPECT_EQ(onnx_text::to_text(onnx_text::from_text(text)), text);
  }
}

TEST(Nb101ModelTest, FunctionsAndInlineFormsAreTheSameNetwork) {
  Nb101Space space;
  Rng rng(99);
  for (int trial = 0; trial < 30; ++trial) {
    Genotype g = space.sample(rng);
    BuildOptions with, without;
    without.use_functions = false;
    onnx::ModelProto a = onnx_text::inline_functions(space.build_model(g, with));
    onnx::ModelProto b = space.build_model(g, without);
    std::set<std::string> initializers;
    for (const auto& t : a.graph().initializer()) initializers.insert(t.name());
    ASSERT_EQ(a.graph().node_size(), b.graph().node_size());
    for (int i = 0; i < a.graph().node_size(); ++i) {
      const auto &na = a.graph().node(i), &nb = b.graph().node(i);
      ASSERT_EQ(na.op_type(), nb.op_type()) << "node " << i;
      ASSERT_EQ(na.input_size(), nb.input_size()) << "node " << i;
      for (int k = 0; k < na.input_size(); ++k)
        if (initializers.count(na.input(k))) {
          EXPECT_EQ(na.input(k), nb.input(k)) << "node " << i;
        }
    }
    ASSERT_EQ(a.graph().initializer_size(), b.graph().initializer_size());
    EXPECT_EQ(onnx_text::graph_cost(a).params_M, onnx_text::graph_cost(b).params_M);
  }
}

TEST(Nb101ModelTest, TruncationIsAGatherOfTheLeadingChannels) {
  // Output fed by vertices 1, 2, 3: with 128 (and 512) channels they get 43, 43, 42 (171, 171, 170), so
  // both edges into vertex 3 drop a channel; with 256 they get 86, 85, 85 and only 1 -> 3 does.
  auto g = make({{0, 1}, {0, 2}, {1, 3}, {2, 3}, {1, 6}, {2, 6}, {3, 6}}, {kC3, kC1, kC3, kMp, kMp});
  onnx::ModelProto m = build_nb101_model(g);
  ASSERT_EQ(m.functions_size(), 1);
  const auto& fn = m.functions(0);
  int gathers = 0;
  for (const auto& n : fn.node()) {
    if (n.op_type() != "Gather") continue;
    ++gathers;
    ASSERT_EQ(n.attribute_size(), 1);
    EXPECT_EQ(n.attribute(0).name(), "axis");
    EXPECT_EQ(n.attribute(0).i(), 1);
  }
  EXPECT_EQ(gathers, 2);
  std::map<std::string, const onnx::TensorProto*> init;
  for (const auto& t : m.graph().initializer()) init[t.name()] = &t;
  // Gather indices per module: 0..c-1 with c = vertex 3's channels (42, 85, 170). In stack 2 the Gather
  // on 2 -> 3 keeps all 85 channels (an identity), so that all 9 modules share one function.
  for (int i = 0; i < 9; ++i) {
    int64_t c3 = i < 3 ? 42 : i < 6 ? 85 : 170;
    for (const char* edge : {"g1_3", "g2_3"}) {
      auto it = init.find(fmt::format("cell{}_{}_idx", i, edge));
      ASSERT_NE(it, init.end()) << i << " " << edge;
      const onnx::TensorProto& t = *it->second;
      EXPECT_EQ(t.data_type(), onnx::TensorProto::INT64);
      ASSERT_EQ(t.int64_data_size(), c3);
      for (int k = 0; k < c3; ++k) ASSERT_EQ(t.int64_data(k), k);
    }
  }
  ASSERT_NO_THROW(onnx::checker::check_model(m));
  // The parameter count is the benchmark's: stem + 9 modules + dense, counted by hand.
  double params = 3 * 9 * 128 + 2 * 128 + 512 * 10 + 10;
  int64_t c_in = 128;
  for (int i = 0; i < 9; ++i) {
    int64_t c = 128 << (i / 3);
    auto vc = nb101_vertex_channels(c_in, c, g.pruned());
    params += (c_in * vc[1] + 2 * vc[1]) + (9 * vc[1] * vc[1] + 2 * vc[1]);  // p1, conv3x3 v1
    params += (c_in * vc[2] + 2 * vc[2]) + (vc[2] * vc[2] + 2 * vc[2]);      // p2, conv1x1 v2
    params += 9 * vc[3] * vc[3] + 2 * vc[3];                                 // conv3x3 v3
    c_in = c;
  }
  EXPECT_NEAR(onnx_text::graph_cost(m).params_M, params / 1e6, 1e-9);
}

TEST(Nb101ModelTest, CellFunctionFormalsAndInitializers) {
  Nb101Genotype g = row_genotype(0);
  onnx::ModelProto m = build_nb101_model(g);
  ASSERT_EQ(m.functions_size(), 1);
  const auto& fn = m.functions(0);
  EXPECT_EQ(fn.name(), "cell");
  EXPECT_EQ(fn.domain(), "nas");
  ASSERT_GE(fn.input_size(), 1);
  EXPECT_EQ(fn.input(0), "x");
  // Formals: the intro BN scales (one per channel count the activation's shape cannot give), then
  // every other weight in order of first use.
  std::vector<std::string> used;
  std::set<std::string> produced{"x"};
  for (const auto& n : fn.node()) {
    for (const auto& i : n.input())
      if (!produced.count(i) && std::find(used.begin(), used.end(), i) == used.end()) used.push_back(i);
    for (const auto& o : n.output()) produced.insert(o);
  }
  std::vector<std::string> formals(fn.input().begin() + 1, fn.input().end());
  ASSERT_EQ(std::set<std::string>(formals.begin(), formals.end()), std::set<std::string>(used.begin(), used.end()));
  size_t intros = 0;
  while (intros < formals.size() && formals[intros].size() > 6 &&
         formals[intros].compare(formals[intros].size() - 6, 6, "_scale") == 0)
    ++intros;
  EXPECT_EQ(intros, 4u);  // 43 (two sequences: 43/86/171 and 43/85/171), 42/85/170, 128/256/512
  std::vector<std::string> rest(formals.begin() + intros, formals.end());
  std::vector<std::string> used_rest;
  for (const auto& u : used)
    if (std::find(formals.begin(), formals.begin() + intros, u) == formals.begin() + intros) used_rest.push_back(u);
  EXPECT_EQ(rest, used_rest);
  // Every initializer is used by one node only (fresh per call).
  std::map<std::string, int> uses;
  for (const auto& n : m.graph().node())
    for (const auto& i : n.input()) ++uses[i];
  for (const auto& init : m.graph().initializer()) EXPECT_EQ(uses[init.name()], 1) << init.name();
  EXPECT_EQ(m.ir_version(), 8);
  for (const auto& imp : m.opset_import()) EXPECT_EQ(imp.version(), imp.domain().empty() ? 15 : 1);
}

TEST(Nb101ModelTest, RandomWeightsAreSeeded) {
  Nb101Space space;
  Genotype g = row_genotype(3).to_genotype();
  BuildOptions options;
  options.weights = WeightFill::kRandom;
  options.weight_seed = 42;
  onnx::ModelProto a = space.build_model(g, options), b = space.build_model(g, options);
  options.weight_seed = 43;
  onnx::ModelProto c = space.build_model(g, options);
  EXPECT_EQ(a.SerializeAsString(), b.SerializeAsString());
  EXPECT_NE(a.SerializeAsString(), c.SerializeAsString());
  ASSERT_NO_THROW(onnx::checker::check_model(a));
  EXPECT_NEAR(onnx_text::graph_cost(a).params_M, nb101_table().number(3, "params_M"), 1e-6);
}

}  // namespace
}  // namespace nas::spaces
