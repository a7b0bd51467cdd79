#include "onnx_text/graph_depth.h"

#include <algorithm>
#include <limits>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "core/error.h"
#include "onnx_text/inline.h"

namespace nas::onnx_text {

GraphDepth graph_depth(const onnx::ModelProto& input) {
  onnx::ModelProto model = input.functions_size() > 0 ? inline_functions(input) : input;
  const auto& graph = model.graph();
  if (graph.output_size() == 0) throw OnnxTextError("graph_depth: the graph has no output");
  std::unordered_set<std::string> initializers;
  for (const auto& init : graph.initializer()) initializers.insert(init.name());
  struct Span {
    int longest, shortest;
  };
  std::unordered_map<std::string, Span> reach;  // values reachable from a graph input
  for (const auto& in : graph.input())
    if (!initializers.count(in.name())) reach[in.name()] = {0, 0};
  std::unordered_set<std::string> defined(initializers.begin(), initializers.end());
  for (const auto& in : graph.input()) defined.insert(in.name());
  for (const auto& node : graph.node()) {
    const bool weighted = node.domain().empty() && (node.op_type() == "Conv" || node.op_type() == "ConvTranspose" ||
                                                   node.op_type() == "Gemm" || node.op_type() == "MatMul");
    bool any = false;
    Span span{std::numeric_limits<int>::min(), std::numeric_limits<int>::max()};
    for (const auto& name : node.input()) {
      if (name.empty()) continue;
      if (!defined.count(name))
        throw OnnxTextError(fmt::format("graph_depth: node '{}' ({}) uses '{}' before it is defined", node.name(),
                                        node.op_type(), name));
      auto it = reach.find(name);
      if (it == reach.end()) continue;
      any = true;
      span.longest = std::max(span.longest, it->second.longest);
      span.shortest = std::min(span.shortest, it->second.shortest);
    }
    const bool self_difference = node.domain().empty() && node.op_type() == "Sub" && node.input_size() == 2 &&
                                 node.input(0) == node.input(1);
    for (const auto& out : node.output()) {
      if (out.empty()) continue;
      defined.insert(out);
      if (any && !self_difference) reach[out] = {span.longest + weighted, span.shortest + weighted};
    }
  }
  auto it = reach.find(graph.output(0).name());
  if (it == reach.end()) return {0, 0, false};
  return {it->second.longest, it->second.shortest, true};
}

}  // namespace nas::onnx_text
