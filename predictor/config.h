#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "predictor/options.h"

namespace nas::predictor {

// Optimisation settings of one training phase (pretraining or fine-tuning): AdamW (Loshchilov &
// Hutter 2019) with linear warm-up then cosine decay to 10% of `lr`, and gradient-norm clipping.
struct TrainOptions {
  int64_t steps = 1000;
  int64_t batch_size = 32;
  double lr = 1e-3;
  int64_t warmup_steps = 100;
  double weight_decay = 0.01;
  double clip_norm = 1.0;
  std::vector<std::string> targets;  // ordered target names decoded in this phase
  // Length-grouped batches (0 = off): the shuffled examples are taken `length_groups` batches at a
  // time, sorted by text length, cut into batches and those batches shuffled, so a batch pads to
  // texts of similar length. For mixed-space training (NB201 texts ~220 tokens beside DARTS / OFA
  // ~850) this avoids padding every batch to the longest space.
  int64_t length_groups = 0;
  // Dropout probability of every dropout layer during this phase (< 0 = the model's model.dropout).
  // Weights do not depend on it, so fine-tuning can regularise a model pretrained without dropout.
  double dropout = -1.0;
  // Dropout on the attention weights ([batch, heads, queries, keys] after the softmax) during this
  // phase; < 0 = the phase's dropout. The encoder's weights are the largest activations of a step
  // (NB201: 32 x 4 x ~230 x ~230 per layer), so drawing their mask dominates a step's dropout cost.
  double attention_dropout = -1.0;
  // Exponential moving average of the weights (Polyak averaging): after each optimizer step
  // ema = d * ema + (1 - d) * weights, with d = min(ema_decay, (1 + step) / (10 + step)) so early steps
  // are not frozen in; the phase ends with the averaged weights in the model. 0 = off. An average over
  // the last ~1 / (1 - d) steps smooths out the last updates' noise, which the cosine schedule's
  // floor of 0.1 x lr leaves in (used by TensorFlow's ExponentialMovingAverage with the same warm-up).
  double ema_decay = 0.0;
  // Ensemble (deep ensemble, Lakshminarayanan et al. 2017): the phase trains this many members, copies
  // of the model's first member at the phase's start (a model with more members trains them all), each
  // with its own seed for batch order and dropout (member 0 keeps the single model's). On CPU the
  // members train side by side, each in its own thread with an equal share of the intra-op threads
  // (LibTorch's set_num_threads), which uses 2 cores better than one model does (NB201, 2 cores: 2 x 2.2
  // step/s against 2.4 step/s for one model on both). Prediction pools the members' samples (Rlm::predict).
  // In [1, kMaxMembers]; 1 = a single model.
  int64_t members = 1;
};

// Upper bound of TrainOptions::members and RlmConfig::members.
inline constexpr int64_t kMaxMembers = 16;

// Where labelled data comes from and how it is split.
struct DataOptions {
  std::string table;                 // CSV under the data directory, e.g. "nb201.csv"
  // The column holding the space's genotype string, or a template assembling it from several
  // columns (spaces/arch_columns.h), e.g. "{adjacency_7x7}|{ops}" for nb101_subset.csv.
  std::string arch_column = "arch_str";
  std::vector<std::string> targets;  // benchmark columns, decoded in this order
  // Graph-computed targets (predictor/arch_text.h computed_target_names) decoded before `targets`
  // in fine-tuning and given exactly (teacher-forced) at prediction, so that the benchmark targets
  // are conditioned on them; e.g. [params_M, flops_M, depth_max, depth_min]. Empty = none.
  std::vector<std::string> context;
  int64_t train_size = 1000;         // budget of labelled architectures
  int64_t test_size = 2000;          // held-out architectures (disjoint from train)
  uint64_t split_seed = 0;
  // Equivalence augmentation (spaces/equivalence.h; enumerable spaces only): each labelled training
  // architecture is joined in fine-tuning by up to `equivalents` other genotypes of its functional-
  // equivalence class (drawn with split_seed when the class is larger), labelled with its values of
  // `equivalent_targets` (the targets a class shares, e.g. accuracy) and missing (masked out of the
  // loss) for the others (e.g. latency, which dead branches still cost). No label of another
  // architecture is used. 0 = off.
  int64_t equivalents = 0;
  std::vector<std::string> equivalent_targets;
};

// Everything `nas train` / `nas eval` read from a YAML config (configs/rlm_nb201.yaml).
struct RlmConfig {
  std::string source;        // the YAML file, for error messages
  std::string space = "nb201";
  std::string dataset;       // network input configuration to emit (space default if empty)
  DataOptions data;
  int64_t tokenizer_vocab_size = 512;
  int64_t tokenizer_corpus_size = 400;  // generated architectures per registered space
  int64_t number_digits = 4;             // mantissa digits of the number codec
  int64_t number_exponent_range = 10;    // exponents in [-range, range]
  int64_t max_targets = 16;              // target-name slots of the decoder vocabulary
  ModelOptions model;
  TrainOptions pretrain;     // on targets computed from the ONNX graph (steps 0 = skip)
  int64_t pretrain_pool = 4000;  // generated architectures pretraining draws from, per space (a
                                 // finite space with at most this many architectures is enumerated)
  // Spaces whose generated architectures pretraining reads (registry names, each text prefixed by its
  // own space token), e.g. [nb101, nb201, fbnet, ofa_mbv3, darts]. Empty = config.space alone. Each
  // space is built for its default dataset (the first of SearchSpace::datasets()), config.space for
  // config.dataset.
  std::vector<std::string> pretrain_spaces;
  // If set: a checkpoint of the tokenizer + pretrained model. train_rlm() loads it when it exists
  // (skipping tokenizer learning and pretraining) and writes it after pretraining otherwise.
  std::string pretrain_cache;
  TrainOptions finetune;     // on the benchmark targets
  DecodeOptions decode;
  bool mlp_baseline = true;  // `nas eval` / the benchmark also fits the one-hot MLP
  uint64_t seed = 0;
  std::string device = "cpu";
  std::string output = "checkpoints/rlm_nb201";
  // Predictor input version the model was trained on (predictor/arch_text.h kArchTextVersion); set
  // by training, read back from checkpoints (absent = 1).
  int64_t text_version = 1;
  // Ensemble members the model holds (TrainOptions::members); set by training (pretraining makes one
  // model, a phase with `members: N` makes N), read back from checkpoints (absent = 1), where member i
  // > 0 is stored in model_<i>.pt. Ignored in a training config: the phases' `members` decide.
  int64_t members = 1;
};

// A multi-task config (experiments/rlm_multispace_benchmark, configs/rlm_multispace.yaml): the keys
// of an RlmConfig shared by every task (model, tokenizer, pretraining, defaults for fine-tuning), and
// a `tasks:` list; each task is a complete RlmConfig made of the shared one with the task's own
// `space`, `dataset`, `data`, `finetune`, `decode`, `mlp_baseline` and `output` keys (only the keys
// given replace the shared values; finetune.targets defaults to the task's data.targets). Tasks
// cannot change what pretraining depends on, so every task can start from one pretrained model.
// Example:
//   pretrain_spaces: [nb101, nb201, fbnet, ofa_mbv3, darts]
//   finetune: {steps: 600, batch_size: 32}
//   tasks:
//     - name: nb101
//       space: nb101
//       data: {table: nb101_subset.csv, arch_column: "{adjacency_7x7}|{ops}", targets: [acc_cifar10_val],
//              train_size: 100, test_size: 400, split_seed: 1}
//       finetune: {steps: 300}
struct RlmTask {
  std::string name;  // unique; the task's space name unless given
  RlmConfig config;
};
struct RlmMultiTaskConfig {
  RlmConfig shared;  // data may be empty: pretrain with any task's config (they share pretraining)
  std::vector<RlmTask> tasks;
};

// Reads a config file. Throws nas::ConfigError "FILE: key.path: reason" for unreadable YAML, unknown
// keys, wrong types and out-of-range values.
RlmConfig load_rlm_config(const std::string& path);
// The same from YAML text (`source` names it in errors).
RlmConfig parse_rlm_config(const std::string& yaml, const std::string& source);
// A multi-task config from a file / from YAML text. Errors as load_rlm_config, tasks named by index
// ("configs/x.yaml: tasks[2].data.table: required ...").
RlmMultiTaskConfig load_rlm_multitask_config(const std::string& path);
RlmMultiTaskConfig parse_rlm_multitask_config(const std::string& yaml, const std::string& source);
// The config as YAML (stored in checkpoints).
std::string rlm_config_to_yaml(const RlmConfig& config);

}  // namespace nas::predictor
