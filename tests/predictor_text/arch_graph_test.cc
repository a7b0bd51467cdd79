#include "predictor/arch_graph.h"

#include <algorithm>
#include <cmath>

#include <gtest/gtest.h>

#include "core/rng.h"
#include "onnx_text/inline.h"
#include "spaces/search_space.h"

namespace nas::predictor {
namespace {

class ArchGraphTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ArchGraphTest, OneNodePerInlinedOnnxNodeWithFeaturesAndEdges) {
  auto space = spaces::make_space(GetParam());
  Rng rng(5);
  const auto g = space->sample(rng);
  const onnx::ModelProto model = space->build_model(g);
  const onnx::ModelProto flat = onnx_text::inline_functions(model);
  const ArchGraph graph = model_graph(model);

  ASSERT_EQ(graph.num_nodes, flat.graph().node_size());
  const int64_t width = arch_graph_feature_count();
  ASSERT_EQ(static_cast<int64_t>(graph.features.size()), graph.num_nodes * width);
  const auto& ops = arch_graph_op_types();
  const size_t n_ops = ops.size();
  int convs = 0;
  for (int64_t v = 0; v < graph.num_nodes; ++v) {
    const float* row = graph.features.data() + v * width;
    // Exactly one op-type slot set, and it names the node's op (or "other").
    EXPECT_EQ(std::count(row, row + n_ops, 1.f), 1) << "node " << v;
    const std::string& op = flat.graph().node(static_cast<int>(v)).op_type();
    auto it = std::find(ops.begin(), ops.end() - 1, op);
    EXPECT_EQ(row[it - ops.begin()], 1.f) << op;
    if (op == "Conv") {
      ++convs;
      EXPECT_GE(row[n_ops + 0], std::log1p(1.0) - 1e-6) << "channels known";  // log_channels
      EXPECT_GE(row[n_ops + 2], 1.f) << "kernel";
      EXPECT_GE(row[n_ops + 3], 1.f) << "stride";
      EXPECT_GT(row[n_ops + 6], 0.f) << "a conv reads its weight";  // log_params
    }
  }
  EXPECT_GT(convs, 0);
  // Every non-first node reads something another node made, except nodes reading only graph inputs.
  ASSERT_FALSE(graph.edges.empty());
  for (const auto& [a, b] : graph.edges) {
    EXPECT_GE(a, 0);
    EXPECT_LT(a, b) << "edges follow the topological order";
    EXPECT_LT(b, graph.num_nodes);
  }
  // The last node (classifier) depends on something.
  EXPECT_TRUE(std::any_of(graph.edges.begin(), graph.edges.end(),
                          [&](const auto& e) { return e.second == graph.num_nodes - 1; }));
}

INSTANTIATE_TEST_SUITE_P(AllSpaces, ArchGraphTest,
                         ::testing::Values("nb101", "nb201", "fbnet", "ofa_mbv3", "darts"));

TEST(ArchGraphTest, GraphsOfSeveralGenotypesKeepTheirOrder) {
  auto space = spaces::make_space("nb201");
  std::vector<spaces::Genotype> gs = {space->at(0), space->at(15624), space->at(7000)};
  auto graphs = architecture_graphs(*space, gs, "cifar10");
  ASSERT_EQ(graphs.size(), 3u);
  for (size_t i = 0; i < gs.size(); ++i) {
    auto one = model_graph(space->build_model(gs[i]));
    EXPECT_EQ(graphs[i].features, one.features) << i;
    EXPECT_EQ(graphs[i].edges, one.edges) << i;
  }
  // The first and the last cell of the space are different networks.
  EXPECT_NE(graphs[0].features, graphs[1].features);
}

}  // namespace
}  // namespace nas::predictor
