#pragma once

// The config of the predictor benchmark behind `nas experiment` (predictor/kendall_experiment.h,
// configs/experiments/kendall_tau.yaml): which (space, target) entries, training sizes, seeds,
// predictors and their settings, and the literature figures printed beside ours. Torch-free.
//
// Example:
//   output: results/kendall_tau
//   sizes: [16, 64, 128, 256, 1000]
//   seeds: {16: 5, 64: 5, 128: 5, 256: 3, 1000: 3}   # or one number for every size
//   test_size: 2000
//   predictors: [rlm, gin, mlp, flops, params]
//   rlm: {steps: {16: 100, 64: 200, 128: 300, 256: 400, 1000: 900}, decode_samples: 4, dropout: 0.0}
//   gin: {hidden: 64, layers: 3, epochs: 300, max_steps: 2000, batch_size: 32, lr: 1.0e-3,
//   weight_decay: 1.0e-4} mlp: {hidden: 128, epochs: 300, batch_size: 32, lr: 1.0e-3, weight_decay: 1.0e-4}
//   entries:
//     - {space: nb201, target: acc_cifar10, rlm_config: configs/rlm_nb201.yaml}
//     - {space: nb101, target: acc_cifar10_val, rlm_config: configs/rlm_multispace.yaml, task: nb101,
//        test_size: 200}
//   anchors:
//     - {source: "FLAN", setting: "NB201 CIFAR-10", values: {"16": 0.565, "64": 0.732}}

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "predictor/config.h"
#include "predictor/gin_baseline.h"
#include "predictor/mlp_baseline.h"

namespace nas::predictor {

// A per-training-size setting: value_for_size() gives the value of the largest key <= n, or of the
// smallest key when every key is larger. In YAML a map {16: 5, 256: 3} or one number (every size).
using SizeMap = std::map<int64_t, int64_t>;
int64_t value_for_size(const SizeMap& m, int64_t n);

// One (space, target) row group of the benchmark.
struct KendallEntry {
  std::string space;       // registry name
  std::string target;      // benchmark column predicted
  std::string rlm_config;  // the RLM config file the entry's data and RLM come from
  std::string task;        // task name when rlm_config is a multi-task config
  // The resolved RLM config: table, arch column, dataset, context, model and pretrain_cache of
  // rlm_config (its task), with data.targets = finetune.targets = [target], data.split_seed =
  // split_seed and mlp_baseline off.
  RlmConfig rlm;
  int64_t test_size = 2000;  // held-out architectures (the config's test_size unless set)
  uint64_t split_seed = 0;   // seeds the test sample and the training pool (default: rlm_config's)
  SizeMap rlm_steps;         // fine-tuning steps per size (the config's rlm.steps unless set)
  // "space:target", as printed and as --only accepts it.
  std::string label() const { return space + ":" + target; }
};

// A figure reported elsewhere (another split, another protocol), printed beside ours.
struct KendallAnchor {
  std::string source;   // e.g. "FLAN (released results)"
  std::string setting;  // e.g. "NB201 CIFAR-10, Kendall tau vs. training samples"
  std::vector<std::pair<std::string, double>> values;  // label -> Kendall tau, in the YAML's order
};

// The whole benchmark config.
struct KendallConfig {
  std::string source;                          // the YAML file, for messages
  std::string output = "results/kendall_tau";  // PREFIX of PREFIX.csv, PREFIX.md, PREFIX_runs.csv
  std::vector<int64_t> sizes;                  // training sizes, ascending
  SizeMap seeds;                               // seeds (repetitions) per size
  int64_t test_size = 2000;
  std::vector<std::string> predictors;  // subset of kendall_predictor_names(), in that order
  SizeMap rlm_steps;                    // RLM fine-tuning steps per size
  int64_t rlm_decode_samples = -1;      // -1: the rlm_config's decode.samples; 0 = greedy
  double rlm_dropout = -1.0;            // fine-tuning dropout; < 0: the rlm_config's finetune.dropout
  int64_t rlm_members = 0;              // ensemble members fine-tuned; 0: the rlm_config's finetune.members
  GinOptions gin;
  MlpOptions mlp;
  std::vector<KendallEntry> entries;
  std::vector<KendallAnchor> anchors;
};

// The predictors the benchmark knows: "rlm" (fine-tuned from the pretrained checkpoint), "gin",
// "mlp" (one-hot), and the zero-training proxies "flops" and "params" (ArchText::computed).
const std::vector<std::string>& kendall_predictor_names();
// Whether `name` is a zero-training proxy (scored once per entry, not per size and seed).
bool is_kendall_proxy(const std::string& name);

// Reads a config; rlm_config files are read (relative to the working directory) when parsed. Throws
// nas::ConfigError "FILE: key.path: reason (line N)" for unreadable YAML, unknown keys, wrong types,
// sizes or seeds <= 0, unknown or repeated predictors, unknown spaces, an entry whose space is not its
// rlm_config's, a missing task, and the RLM config's own errors.
KendallConfig load_kendall_config(const std::string& path);
KendallConfig parse_kendall_config(const std::string& yaml, const std::string& source);

}  // namespace nas::predictor
