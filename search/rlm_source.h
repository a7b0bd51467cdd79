#pragma once

// The RLM as a metric source for the search. Header-only on purpose: nas_search stays torch-free, and
// the programs that use the RLM (`nas` with NAS_WITH_PREDICTOR, experiments/, the predictor-enabled
// search tests) already link nas_predictor, so no extra library target is needed. The predictor
// headers included here are themselves torch-free (pimpl), so this costs no LibTorch compile time.

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "predictor/arch_text.h"
#include "predictor/pipeline.h"
#include "predictor/threads.h"

#include "predictor/config.h"
#include "predictor/rlm.h"
#include "search/metric_source.h"
#include "search/search_config.h"
#include "search/search_run.h"
#include "spaces/search_space.h"

namespace nas::search {

// Predictions of the regression language model (predictor/rlm.h): each batch of genotypes is turned into
// ONNX text in parallel (predictor::architecture_texts, TBB, input order kept) and decoded in one batched
// Rlm::predict call. The model decodes targets one after another, each conditioned on the ones before,
// in the order it was fine-tuned on (its config's data.targets); so a request for some of them decodes
// that order up to the last one requested, and returns the requested columns. Estimate = {median, p10,
// p90} of the decode samples (all equal under greedy decoding).
// Every estimate() call decodes with the same seed, so its result depends only on the batch.
// Thread-safety: not thread-safe (Rlm is not).
// Memory model: the space is not owned and must outlive the source.
class RlmSource final : public MetricSource {
 public:
  // `decode`: sampling settings (predictor/options.h).
  RlmSource(predictor::Rlm rlm, const spaces::SearchSpace& space, std::string checkpoint,
            predictor::DecodeOptions decode);

  std::string describe() const override { return "rlm " + checkpoint_; }
  bool exact() const override { return false; }
  // The metrics the model was fine-tuned on (its config's data.targets).
  bool provides(const std::string& metric) const override;
  // Throws nas::ConfigError for a metric the model was not fine-tuned on, nas::SpaceError for an invalid
  // genotype.
  std::vector<std::vector<Estimate>> estimate(const std::vector<spaces::Genotype>& xs,
                                              const std::vector<std::string>& metrics) override;

  const predictor::Rlm& rlm() const { return rlm_; }

  // Fine-tunes the model (Rlm::train, `options.steps` steps, progress on stderr) on `xs` with true values
  // values[i][j] of metrics[j]; only the metrics the model was fine-tuned on are used, in its target
  // order; with the equivalence augmentation of its config (predictor::with_equivalents). Used by
  // active learning (search/search_run.h).
  void refit(const std::vector<spaces::Genotype>& xs, const std::vector<std::vector<double>>& values,
             const std::vector<std::string>& metrics, const predictor::TrainOptions& options);
  // Writes the model as a checkpoint (atomic) / replaces it by the checkpoint in `dir` (nas::CheckpointError
  // if it is missing or broken).
  void save(const std::string& dir) const { rlm_.save(dir); }
  void load(const std::string& dir) { rlm_ = predictor::Rlm::load(dir, device_); }

 private:
  predictor::Rlm rlm_;
  const spaces::SearchSpace* space_;
  std::string checkpoint_;
  predictor::DecodeOptions decode_;
  std::string device_;  // the device the model was loaded on
};

// The metrics of `config` that the RLM has to serve: objective and constraint metrics other than the
// graph-computed params_M / flops_M.
std::vector<std::string> rlm_metrics(const SearchConfig& config);

// The PredictorFactory of `nas search` for evaluator.type == "rlm":
//   - if config.evaluator.checkpoint holds a checkpoint (model.pt), loads it; it must have been
//     fine-tuned on every metric in rlm_metrics(config) and on at most evaluator.budget labelled
//     architectures (nas::ConfigError otherwise, naming the checkpoint and the key);
//   - else loads config.evaluator.rlm_config, sets data.train_size = evaluator.budget and output =
//     the checkpoint path, draws the labelled split (predictor::load_split), trains
//     (predictor::train_rlm, progress on stderr) and saves the checkpoint there for the next run.
// The labelled architectures are returned in PredictorInfo::labelled_set (re-drawn from the
// checkpoint's config when loaded). LibTorch threads are set to config.threads
// (predictor::configure_threads). evaluator.device / evaluator.samples override the checkpoint's when
// set.
PredictorSource make_rlm_predictor(const SearchConfig& config, const spaces::SearchSpace& space);

inline RlmSource::RlmSource(predictor::Rlm rlm, const spaces::SearchSpace& space, std::string checkpoint,
                            predictor::DecodeOptions decode)
    : rlm_(std::move(rlm)),
      space_(&space),
      checkpoint_(std::move(checkpoint)),
      decode_(decode),
      device_(rlm_.config().device) {}

inline void RlmSource::refit(const std::vector<spaces::Genotype>& xs, const std::vector<std::vector<double>>& values,
                             const std::vector<std::string>& metrics, const predictor::TrainOptions& options) {
  std::vector<std::string> targets;
  std::vector<size_t> columns;
  for (const auto& t : rlm_.config().data.targets) {
    auto it = std::find(metrics.begin(), metrics.end(), t);
    if (it == metrics.end()) continue;
    targets.push_back(t);
    columns.push_back(static_cast<size_t>(it - metrics.begin()));
  }
  if (targets.empty() || xs.empty()) return;
  std::vector<std::vector<double>> y;
  for (const auto& row : values) {
    std::vector<double> v;
    for (size_t c : columns) v.push_back(row.at(c));
    y.push_back(std::move(v));
  }
  // With the fine-tuning's equivalence augmentation (data.equivalents), if any.
  auto set = predictor::with_equivalents(*space_, xs, std::move(y), targets, rlm_.config().data);
  auto texts = predictor::architecture_texts(*space_, set.archs, rlm_.config().dataset);
  predictor::TrainOptions o = options;
  o.targets = targets;
  rlm_.train(texts, set.y, targets, o, "refit", set.labelled);
}

inline bool RlmSource::provides(const std::string& metric) const {
  const auto& targets = rlm_.config().data.targets;
  return std::find(targets.begin(), targets.end(), metric) != targets.end();
}

inline std::vector<std::vector<Estimate>> RlmSource::estimate(const std::vector<spaces::Genotype>& xs,
                                                              const std::vector<std::string>& metrics) {
  const auto& targets = rlm_.config().data.targets;
  for (const auto& m : metrics)
    if (std::find(targets.begin(), targets.end(), m) == targets.end())
      throw ConfigError(fmt::format("{}: the RLM was not fine-tuned on '{}' (targets: {})", checkpoint_, m,
                                    fmt::join(targets, ", ")));
  std::vector<std::vector<Estimate>> out(xs.size());
  if (xs.empty() || metrics.empty()) return out;
  auto texts = predictor::architecture_texts(*space_, xs, rlm_.config().dataset);
  auto predictions = predictor::predict_in_training_order(rlm_, texts, metrics, decode_);
  for (size_t i = 0; i < xs.size(); ++i)
    for (size_t j = 0; j < metrics.size(); ++j)
      out[i].push_back({predictions[i].median[j], predictions[i].p10[j], predictions[i].p90[j]});
  return out;
}

inline std::vector<std::string> rlm_metrics(const SearchConfig& config) {
  std::vector<std::string> out;
  auto add = [&](const std::string& m) {
    if (m == "params_M" || m == "flops_M") return;
    if (std::find(out.begin(), out.end(), m) == out.end()) out.push_back(m);
  };
  for (const auto& o : config.objectives) add(o.name);
  for (const auto& c : config.constraints) add(c.metric);
  return out;
}

inline PredictorSource make_rlm_predictor(const SearchConfig& config, const spaces::SearchSpace& space) {
  namespace fs = std::filesystem;
  const auto& ev = config.evaluator;
  const auto t0 = std::chrono::steady_clock::now();
  predictor::configure_threads(config.threads);
  const std::vector<std::string> needed = rlm_metrics(config);
  auto check_targets = [&](const predictor::RlmConfig& c, const std::string& where, const std::string& key) {
    for (const auto& m : needed)
      if (std::find(c.data.targets.begin(), c.data.targets.end(), m) == c.data.targets.end())
        throw ConfigError(fmt::format("{}: {}: the RLM does not predict '{}' (targets: {}); add it there", where,
                                      key, m, fmt::join(c.data.targets, ", ")));
    if (c.space != config.space)
      throw ConfigError(
          fmt::format("{}: space: the RLM is for '{}', the search for '{}'", where, c.space, config.space));
  };

  PredictorSource out;
  out.info.describe = "rlm " + ev.checkpoint;
  std::optional<predictor::Rlm> rlm;
  if (fs::exists(fs::path(ev.checkpoint) / "model.pt")) {
    rlm.emplace(predictor::Rlm::load(ev.checkpoint, ev.device));
    const auto& c = rlm->config();
    check_targets(c, ev.checkpoint + "/config.yaml", "data.targets");
    if (c.data.train_size > ev.first_training_size())
      throw ConfigError(fmt::format(
          "{}: evaluator.{}: the checkpoint {} was trained on {} labelled architectures, more than the {} of {}; "
          "remove it or raise the {}",
          config.source, ev.rounds > 1 ? "initial" : "budget", ev.checkpoint, c.data.train_size,
          ev.rounds > 1 ? "initial set" : "budget", ev.first_training_size(), ev.rounds > 1 ? "initial" : "budget"));
    out.info.trained = false;
    out.info.labelled = c.data.train_size;
    // Re-draw the labelled cells (the split only depends on the table's rows and the split seed); the
    // targets are left out, so that a target added later by `nas adapt` (not a column of the table) is no
    // obstacle.
    predictor::RlmConfig draw = c;
    draw.data.targets.clear();
    out.info.labelled_set = predictor::load_split(draw, space).train;
    fmt::print(stderr, "search: using the RLM checkpoint {} ({} labelled architectures)\n", ev.checkpoint,
               c.data.train_size);
  } else {
    if (ev.rlm_config.empty())
      throw ConfigError(
          fmt::format("{}: evaluator.rlm_config: no checkpoint at {} and no RLM config to train one from",
                      config.source, ev.checkpoint));
    predictor::RlmConfig c = predictor::load_rlm_config(ev.rlm_config);
    check_targets(c, ev.rlm_config, "data.targets");
    c.data.train_size = ev.first_training_size();
    c.output = ev.checkpoint;
    if (!ev.device.empty()) c.device = ev.device;
    fmt::print(stderr, "search: no RLM checkpoint at {}; training one on {} labelled architectures ({})\n",
               ev.checkpoint, c.data.train_size, ev.rlm_config);
    auto split = predictor::load_split(c, space);
    rlm.emplace(predictor::train_rlm(c, space, split));
    rlm->save(ev.checkpoint);
    fmt::print(stderr, "search: saved the RLM checkpoint {}\n", ev.checkpoint);
    out.info.trained = true;
    out.info.labelled = c.data.train_size;
    out.info.labelled_set = std::move(split.train);
  }
  predictor::DecodeOptions decode = rlm->config().decode;
  if (ev.samples >= 0) decode.samples = ev.samples;
  predictor::TrainOptions refit = rlm->config().finetune;
  refit.steps = ev.refit_steps;
  refit.warmup_steps = std::min<int64_t>(refit.warmup_steps, std::max<int64_t>(1, ev.refit_steps / 10));
  auto source = std::make_unique<RlmSource>(std::move(*rlm), space, ev.checkpoint, decode);
  RlmSource* raw = source.get();  // owned by out.source, which outlives the hooks' use in run_search
  out.refit = [raw, refit](const std::vector<spaces::Genotype>& xs, const std::vector<std::vector<double>>& values,
                           const std::vector<std::string>& metrics) { raw->refit(xs, values, metrics, refit); };
  out.save = [raw](const std::string& dir) { raw->save(dir); };
  out.load = [raw](const std::string& dir) { raw->load(dir); };
  out.source = std::move(source);
  out.info.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace nas::search
