#include "predictor/arch_text.h"

#include <tbb/parallel_for.h>

#include "onnx_text/graph_cost.h"
#include "onnx_text/graph_depth.h"
#include "onnx_text/serializer.h"

namespace nas::predictor {

const std::vector<std::string>& computed_target_names() {
  static const std::vector<std::string> names = {"params_M", "flops_M", "depth_max", "depth_min"};
  return names;
}

std::vector<double> computed_targets(const onnx::ModelProto& model) {
  auto cost = onnx_text::graph_cost(model);
  auto depth = onnx_text::graph_depth(model);
  return {cost.params_M, cost.flops_M, static_cast<double>(depth.longest), static_cast<double>(depth.shortest)};
}

ArchText model_text(const onnx::ModelProto& model, const std::string& space) {
  return {space, onnx_text::to_text(model), computed_targets(model)};
}

std::vector<ArchText> architecture_texts(const spaces::SearchSpace& space, const std::vector<spaces::Genotype>& gs,
                                         const std::string& dataset, std::vector<std::vector<double>>* computed) {
  std::vector<ArchText> out(gs.size());
  if (computed) computed->assign(gs.size(), {});
  spaces::BuildOptions options;
  options.dataset = dataset;
  options.weights = spaces::WeightFill::kZeros;
  const std::string name = space.name();
  tbb::parallel_for(size_t{0}, gs.size(), [&](size_t i) {
    onnx::ModelProto model = space.build_model(gs[i], options);
    out[i] = {name, onnx_text::to_text(model), computed_targets(model)};
    if (computed) (*computed)[i] = out[i].computed;
  });
  return out;
}

}  // namespace nas::predictor
