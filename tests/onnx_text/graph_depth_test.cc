#include "onnx_text/graph_depth.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "onnx_text/inline.h"
#include "spaces/search_space.h"

namespace nas::onnx_text {
namespace {

GraphDepth depth_of(const std::string& arch, bool functions = true) {
  auto space = spaces::make_space("nb201");
  spaces::BuildOptions o;
  o.use_functions = functions;
  return graph_depth(space->build_model(space->parse(arch), o));
}

TEST(GraphDepthTest, CountsWeightedLayersOnLongestAndShortestPaths) {
  // All-conv3x3 cell: 3 convs on the longest in-cell path, 1 on the shortest; stem 1, two reduction
  // blocks (2 convs, or 1 via the shortcut), classifier Gemm 1.
  auto all_conv = depth_of("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|");
  EXPECT_EQ(all_conv.longest, 1 + 15 * 3 + 2 * 2 + 1);
  EXPECT_EQ(all_conv.shortest, 1 + 15 * 1 + 2 * 1 + 1);
  // Output = node 0 + skip(node 2 = skip(node 0)): no conv inside the cell reaches the output.
  auto skip = depth_of("|nor_conv_3x3~0|+|skip_connect~0|none~1|+|skip_connect~0|none~1|skip_connect~2|");
  EXPECT_EQ(skip.longest, 1 + 0 + 2 * 2 + 1);
  EXPECT_EQ(skip.shortest, 1 + 0 + 2 * 1 + 1);
}

TEST(GraphDepthTest, SameWithAndWithoutFunctions) {
  const std::string arch = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|";
  auto a = depth_of(arch, true), b = depth_of(arch, false);
  EXPECT_EQ(a.longest, b.longest);
  EXPECT_EQ(a.shortest, b.shortest);
  EXPECT_EQ(a.longest, 1 + 15 * 1 + 4 + 1);
}

TEST(GraphDepthTest, OutputCutOffByNoneEdgesIsUnreachable) {
  // Node 3 = conv(node 1), node 1 = zero (only a none edge into it): the output never sees the input.
  auto dead = depth_of("|none~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|");
  EXPECT_FALSE(dead.reachable);
  EXPECT_EQ(dead.longest, 0);
  EXPECT_EQ(dead.shortest, 0);
  auto alive = depth_of("|none~0|+|none~0|none~1|+|skip_connect~0|nor_conv_3x3~1|none~2|");
  EXPECT_TRUE(alive.reachable);
  EXPECT_EQ(alive.shortest, 1 + 0 + 2 * 1 + 1);
}

TEST(GraphDepthTest, ConstantOnlyOutputIsUnreachable) {
  onnx::ModelProto m;
  auto* g = m.mutable_graph();
  auto* init = g->add_initializer();
  init->set_name("c");
  init->set_data_type(onnx::TensorProto_DataType_FLOAT);
  auto* in = g->add_input();
  in->set_name("x");
  auto* n = g->add_node();
  n->set_op_type("Relu");
  n->add_input("c");
  n->add_output("y");
  g->add_output()->set_name("y");
  EXPECT_FALSE(graph_depth(m).reachable);
  g->clear_output();
  EXPECT_THROW(graph_depth(m), OnnxTextError);
}

}  // namespace
}  // namespace nas::onnx_text
