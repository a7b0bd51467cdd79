#pragma once

// The RLM workflow behind `nas train` / `nas eval` and experiments/rlm_nb201_benchmark: load the
// benchmark table, make the fixed seeded train/test split, learn the tokenizer, pretrain on targets
// computed from the ONNX graph, fine-tune on the benchmark targets, and score the held-out split.

#include <string>
#include <vector>

#include "predictor/bpe_tokenizer.h"
#include "predictor/config.h"
#include "predictor/rlm.h"
#include "spaces/search_space.h"

namespace nas::predictor {

// Labelled architectures of one benchmark table, split into disjoint train and test sets.
struct LabelledSplit {
  std::vector<spaces::Genotype> train, test;
  std::vector<std::vector<double>> train_y, test_y;  // [arch][target] in config.data.targets order
};

// Reads config.data.table (under the data directory) and draws the split: rows shuffled with
// data.split_seed, the first train_size rows train, the next test_size rows test. The architecture of
// a row is data.arch_column: one column or a template of several (spaces/arch_columns.h). Throws
// nas::ConfigError for a malformed data.arch_column, nas::DataError for a missing column (naming the
// file) or an architecture string that does not parse (naming file:line and the column(s)),
// nas::ConfigError if the table has fewer rows than train_size + test_size.
LabelledSplit load_split(const RlmConfig& config, const spaces::SearchSpace& space);

// The spaces pretraining reads: config.pretrain_spaces, or just config.space when that is empty.
std::vector<std::string> pretraining_spaces(const RlmConfig& config);

// The label-free pretraining inputs: for each space of pretraining_spaces(config), in that order,
// config.pretrain_pool random architectures (seeded by config.seed), or all of them when the space is
// finite and no larger than the pool, built for config.dataset (config.space) or the space's default
// dataset (the others). ArchText::space names each input's space (its prefix token) and
// ArchText::computed holds its computed targets (computed_target_names()). Progress on stderr.
std::vector<ArchText> pretraining_pool(const RlmConfig& config);

// Tokenizer + pretrained model (computed targets config.pretrain.targets over pretraining_pool()),
// or the one in config.pretrain_cache when it was made with the same tokenizer, model, number codec,
// pretraining settings and pretraining spaces (the space and dataset of the caller only count when
// they change the pretraining inputs); a fresh pretraining is written to config.pretrain_cache when
// set. The returned model carries the caller's space, dataset, data, finetune, decode, output and
// mlp_baseline settings. Progress on stderr.
Rlm pretrain_rlm(const RlmConfig& config);

// The fine-tuning set: split.train and split.train_y, followed, when config.data.equivalents > 0, by
// the equivalence augmentation (DataOptions::equivalents): per training architecture up to that many
// other members of its class (spaces::EquivalenceClasses), with its values of
// data.equivalent_targets and NaN (missing) for the other targets. Throws nas::ConfigError when the
// space is not enumerable.
struct TrainingSet {
  std::vector<spaces::Genotype> archs;
  std::vector<std::vector<double>> y;  // [arch][target] in config.data.targets order
  size_t labelled = 0;                 // the first `labelled` rows are split.train
};
TrainingSet training_set(const RlmConfig& config, const spaces::SearchSpace& space, const LabelledSplit& split);
// The same for any labelled rows: `archs` with values y[i][j] of targets[j] (a subset of data.targets
// in any order), augmented as data.equivalents / data.equivalent_targets / data.split_seed say.
TrainingSet with_equivalents(const spaces::SearchSpace& space, std::vector<spaces::Genotype> archs,
                             std::vector<std::vector<double>> y, const std::vector<std::string>& targets,
                             const DataOptions& data);

// pretrain_rlm() + fine-tuning on training_set() (config.finetune). Progress on stderr.
Rlm train_rlm(const RlmConfig& config, const spaces::SearchSpace& space, const LabelledSplit& split);

// Rank correlations of one target on the held-out split.
struct TargetScore {
  std::string target;
  size_t n = 0;
  double kendall_tau = 0, spearman_rho = 0;
  double mlp_kendall_tau = 0, mlp_spearman_rho = 0;  // NaN when the baseline is off
};

struct EvalResult {
  std::vector<TargetScore> scores;
  double predict_seconds = 0;      // RLM prediction time over the test split
  double archs_per_second = 0;
  int64_t members = 1;             // ensemble members of the RLM (their samples pooled)
  std::vector<std::vector<double>> predicted;  // [test arch][target] medians
  std::vector<Prediction> predictions;         // [test arch] full RLM predictions (median, mean, p10, p90)
  std::vector<std::vector<double>> mlp_predicted;  // [test arch][target]; empty when the baseline is off
  std::vector<std::string> archs;              // [test arch] genotype strings (space.format)
};

// Predicts the test split with `rlm` (config.decode) and, if config.mlp_baseline, fits and scores
// the one-hot MLP on the identical split and the same training rows (training_set()).
EvalResult evaluate(const Rlm& rlm, const RlmConfig& config, const spaces::SearchSpace& space,
                    const LabelledSplit& split);

// Writes PREFIX.csv and PREFIX.md (atomically) with one row per target and, when `split` (the split
// `result` was computed on) is given, a predicted-vs-true scatter plot PREFIX_<target>.svg per target
// and PREFIX_predictions.csv (one row per test architecture: per target the true value, the RLM's
// median, mean, p10, p90 and the MLP's prediction).
// Returns the markdown.
std::string write_eval_report(const EvalResult& result, const RlmConfig& config, const std::string& prefix,
                              const LabelledSplit* split = nullptr);

}  // namespace nas::predictor
