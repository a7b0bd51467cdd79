#pragma once

// The regression language model (RLM): reads the ONNX text of an architecture and decodes its
// metrics as number tokens, one target after another, each conditioned on the ones before (after
// Akhauri et al., "Regression Language Models for Code", arXiv 2509.26476, and Google's regress-lm).
// This header is torch-free (pimpl), so programs using the predictor do not compile LibTorch.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "predictor/config.h"
#include "predictor/options.h"

namespace nas::predictor {

class BpeTokenizer;

// One architecture as the predictor reads it: its space name (the input's first token), the text of
// its ONNX graph (onnx_text/serializer.h) and the label-free values computed from the same graph, in
// the order of computed_target_names() (predictor/arch_text.h: params_M, flops_M, depth_max,
// depth_min, flops_live_M). `computed` may be empty unless the model's config names `data.context`.
struct ArchText {
  std::string space;
  std::string text;
  std::vector<double> computed;
};

// Prediction for one architecture: per target (in the order asked), the median of the S constrained
// samples (of all ensemble members together), their mean and their 10th / 90th percentiles (linear
// interpolation). Greedy decoding of a single model sets all four to the single decoded value (of an
// ensemble: statistics of its members' greedy values). Units are those of the target (%, ms, M params, M FLOPs).
struct Prediction {
  std::vector<double> median, mean, p10, p90;
};

// The decoded values one target was trained on, over all training phases of a model (saved with the
// checkpoint): how many, and their smallest and largest value as the model saw them (after the number
// codec's rounding). Used for the value bounds of DecodeOptions::bound_margin.
struct TargetRange {
  int64_t count = 0;
  double min = 0.0, max = 0.0;
};

// The trained (or untrained) model with its tokenizer and number vocabulary. It may be an ensemble
// of several networks of the same size (config().members, TrainOptions::members) that share the
// tokenizer, the number vocabulary and the target slots; prediction pools their samples.
// Thread-safety: not thread-safe; use one instance per thread. On CPU, train() (ensembles) and predict()
// start threads of their own and set LibTorch's intra-op thread count, a process-wide setting, while
// they run (restored after): call them from one thread at a time, not from a TBB loop. Memory model: the
// model lives on the device named in the config ("cpu" or "cuda[:N]").
class Rlm {
 public:
  // A fresh model sized by `config.model` (vocabulary sizes come from `tokenizer` and the codec).
  Rlm(const RlmConfig& config, const BpeTokenizer& tokenizer);
  ~Rlm();
  Rlm(Rlm&&) noexcept;
  Rlm& operator=(Rlm&&) noexcept;

  // Loads DIR/{config.yaml, tokenizer.json, targets.txt, model.pt} (and model_<i>.pt for ensemble member
  // i = 1 .. config members - 1) and, when present,
  // DIR/target_ranges.csv (target,count,min,max; older checkpoints have none and decode unbounded).
  // `device` overrides the config's device when non-empty. Throws nas::CheckpointError naming the file and the problem (missing
  // file, tensor missing or of another shape than the config implies, ...).
  static Rlm load(const std::string& dir, const std::string& device = "");
  // Writes the checkpoint atomically: into a temporary directory beside DIR, then renamed over it.
  void save(const std::string& dir) const;

  // One training phase (AdamW, warm-up + cosine decay, clipping; see TrainOptions) of every ensemble
  // member, after growing the ensemble to options.members by copies of member 0 (TrainOptions::members), on
  // `inputs[i]` with target values `values[i][j]` for `targets[j]` (NaN = missing: masked out of
  // the loss). Targets not yet known to the model get a free target slot (max_targets in config).
  // The config's context targets (data.context) that `targets` does not name are decoded first, with
  // their values from inputs[i].computed (see predict). Shows a progress line with step, loss, rate
  // and ETA on stderr (the steps of all members together). Each target's trained_range() grows to cover its (non-missing) values.
  // Rows from `augmented_from` on (0 = none) are augmented rows (pipeline.h training_set()): an
  // epoch visits every row before it once plus as many augmented rows, the next ones of a shuffled
  // cycle over them, so the targets only the labelled rows carry (those the augmentation leaves
  // missing) keep at least half of every epoch.
  // Throws nas::ConfigError if a context value is missing.
  TrainReport train(const std::vector<ArchText>& inputs, const std::vector<std::vector<double>>& values,
                    const std::vector<std::string>& targets, const TrainOptions& options,
                    const std::string& label = "train", size_t augmented_from = 0);

  // Decodes `targets` in order for every input (batched; encoder run once per architecture and member).
  // On CPU the batches (and members) are decoded on LibTorch's intra-op thread count of threads, one
  // intra-op thread each: decoding is many small steps and a per-row sampling loop, which use a core
  // better this way (NB201, 2 cores, 2 members x 8 samples: 56.7 against 38.6 architectures/s). Each
  // batch and member draws from its own random stream (options.seed, batch index, member), so the
  // result does not depend on the thread count.
  // Context: the config's data.context targets not among `targets` (graph-computed values such as
  // depth_min) are placed before them with their exact values from inputs[i].computed
  // (teacher-forced, one parallel decoder pass), so every target is conditioned on them.
  // Each target is decoded within its trained range widened by options.bound_margin (see DecodeOptions).
  // An ensemble shares the S samples per target out among its members (member i draws S / M, the first
  // S mod M one more; with greedy decoding one path each) and reports the median, mean and quantiles of
  // all of them together: the mixture of the members' predictive distributions. With "median"
  // conditioning each member conditions on the medians of its own samples.
  // Throws nas::ConfigError for a target the model was never trained on or a missing context value.
  std::vector<Prediction> predict(const std::vector<ArchText>& inputs, const std::vector<std::string>& targets,
                                  const DecodeOptions& options) const;
  // Mean token-level cross-entropy of teacher-forced targets (no update; the mean over the members of an
  // ensemble), for tests and monitoring.
  double loss(const std::vector<ArchText>& inputs, const std::vector<std::vector<double>>& values,
              const std::vector<std::string>& targets) const;

  // Adds a decoder slot for a new target `name`, decoded after the config's data.targets (few-shot
  // adaptation to a new device, predictor/adapt.h), and appends it to data.targets and
  // finetune.targets. Warm start: its target-token embedding is a copy of the known target
  // `init_from`'s ("" = keep the fresh random row), and the decoder positions of its place in the
  // decoded sequence (context targets included), never trained before, are a copy of init_from's
  // positions (a target always sits at the same place, so its positions carry part of its identity), or
  // of the previous target's without init_from. Throws nas::ConfigError if `name` is already known, `init_from` is unknown, or
  // the model has no free slot (max_targets) or decoder position left.
  void add_target(const std::string& name, const std::string& init_from);

  const RlmConfig& config() const;
  RlmConfig& mutable_config();
  const BpeTokenizer& tokenizer() const;
  // Target names with a decoder slot, in slot order.
  const std::vector<std::string>& known_targets() const;
  // The values `target` was trained on, or nullptr if it has none recorded.
  const TargetRange* trained_range(const std::string& target) const;
  // Replaces (or, with nullptr, removes) the recorded range of `target`: for training on labels that are
  // no evidence of the target's range, such as the model's own predictions replayed during few-shot
  // adaptation (predictor/adapt.h restores the old targets' ranges after training).
  void set_trained_range(const std::string& target, const TargetRange* range);
  // Number of trainable parameters of the network (all ensemble members together).
  int64_t parameter_count() const;

 private:
  Rlm();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Predicts `targets` (any subset, any order) the way the model was fine-tuned to decode them: the
// config's data.targets are decoded in that order up to the last one asked for, so that each is
// conditioned on the targets the model learned to see before it (e.g. an adapted device's latency after
// the built-in devices'); asked targets outside data.targets follow in the order given. Returns, per
// input, the asked targets' columns in the order asked. Throws what Rlm::predict throws.
std::vector<Prediction> predict_in_training_order(const Rlm& rlm, const std::vector<ArchText>& inputs,
                                                  const std::vector<std::string>& targets,
                                                  const DecodeOptions& options);

// Quantile q in [0, 1] of `values` with linear interpolation (numpy's default). Empty -> NaN.
double quantile(std::vector<double> values, double q);

}  // namespace nas::predictor
