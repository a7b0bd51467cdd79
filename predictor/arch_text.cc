#include "predictor/arch_text.h"

#include <tbb/parallel_for.h>

#include "core/rng.h"
#include "onnx_text/graph_cost.h"
#include "onnx_text/graph_depth.h"
#include "onnx_text/serializer.h"

namespace nas::predictor {

const std::vector<std::string>& computed_target_names() {
  static const std::vector<std::string> names = {"params_M",     "flops_M",    "depth_max", "depth_min",
                                                 "flops_live_M", "convs_live", "pools_live",
                                                 "convs_dead",   "pools_dead", "convs_dead_merged",
                                                 "convs_dead_unmerged"};
  return names;
}

std::vector<double> computed_targets(const onnx::ModelProto& model) {
  auto cost = onnx_text::graph_cost(model);
  auto depth = onnx_text::graph_depth(model);
  auto count = [](const std::map<std::string, int64_t>& nodes, std::initializer_list<const char*> ops) {
    int64_t n = 0;
    for (const char* op : ops) {
      auto it = nodes.find(op);
      if (it != nodes.end()) n += it->second;
    }
    return static_cast<double>(n);
  };
  auto live = [&](std::initializer_list<const char*> ops) { return count(cost.live_nodes, ops); };
  auto dead = [&](std::initializer_list<const char*> ops) { return count(cost.nodes, ops) - live(ops); };
  const double convs_dead = dead({"Conv", "ConvTranspose"});
  const double convs_dead_merged = count(cost.dead_merged_nodes, {"Conv", "ConvTranspose"});
  return {cost.params_M,
          cost.flops_M,
          static_cast<double>(depth.longest),
          static_cast<double>(depth.shortest),
          cost.live_flops_M,
          live({"Conv", "ConvTranspose"}),
          live({"AveragePool", "MaxPool", "LpPool"}),
          convs_dead,
          dead({"AveragePool", "MaxPool", "LpPool"}),
          convs_dead_merged,
          convs_dead - convs_dead_merged};
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

BpeTokenizer train_tokenizer(const RlmConfig& config, bool isolate_newlines) {
  std::vector<std::string> corpus;
  for (const auto& name : spaces::space_names()) {
    auto space = spaces::make_space(name);
    Rng rng(derive_seed(config.seed, 101));
    std::vector<spaces::Genotype> gs;
    for (int64_t i = 0; i < config.tokenizer_corpus_size; ++i) gs.push_back(space->sample(rng));
    for (auto& t : architecture_texts(*space, gs, name == config.space ? config.dataset : "")) corpus.push_back(t.text);
  }
  BpeTrainOptions options;
  options.vocab_size = static_cast<int>(config.tokenizer_vocab_size);
  options.isolate_newlines = isolate_newlines;
  return BpeTokenizer::train(corpus, options);
}

}  // namespace nas::predictor
