#pragma once

// The predictor benchmark of the NAS literature (Kendall tau-b and Spearman rho of predicted vs. true
// values on held-out architectures, as a function of the number of training architectures), with this
// project's RLM and the usual baselines on identical splits. Behind `nas experiment`.
//
// Protocol, per entry (space, target) of a KendallConfig:
//  * The entry's table (its rlm_config's data.table / arch_column) is shuffled with split_seed
//    (load_split): the last T rows of that order are the test set, T = min(test_size, rows - smallest
//    size), the same for every size, seed and predictor; the other rows are the training pool. Rows whose
//    target is missing (NaN) are dropped from both. Sizes n > pool size are skipped with a note.
//  * Seed s (0, 1, ...) draws one permutation of the pool (derive_seed(split_seed, 1000 + s)); the
//    training set of size n is its first n rows, so one seed's sets are nested across sizes.
//  * On each training set: "rlm" = pretrain_rlm() (the rlm_config's pretrain_cache: reused when its
//    settings match) fine-tuned for rlm_steps(n) steps of min(finetune.batch_size, n) architectures on
//    the target (context targets as configured), predicting the median of the decode samples;
//    "gin" = GinBaseline; "mlp" = MlpBaseline (one-hot).
//    Seeds of every model derive from (split_seed, n, s).
//  * Zero-training proxies "flops" / "params": ArchText::computed flops_M / params_M of each test
//    architecture scored as is against the target (positive tau = larger proxy, larger target), once
//    per entry (n = 0 in the results).

#include <cstdint>
#include <string>
#include <vector>

#include "predictor/kendall_config.h"

namespace nas::predictor {

// Command-line overrides of a KendallConfig.
struct KendallRunOptions {
  std::vector<std::string> only;  // entries to run: "space" or "space:target"; empty = all
  std::vector<int64_t> sizes;     // replaces config.sizes when non-empty
  int64_t seeds = 0;              // seeds per size for every size when > 0
  int64_t test_size = 0;          // replaces every entry's test_size when > 0
  std::string output;             // replaces config.output when non-empty
  // Keep the rows of PREFIX_runs.csv and skip the (entry, n, seed) cells whose predictors are all
  // there; without it the results files are rewritten with this run's rows only.
  bool resume = false;
};

// One predictor's score on one split.
struct KendallRun {
  std::string space, target, predictor;
  int64_t n = 0;  // training architectures (0 for the proxies)
  int64_t seed = 0;
  int64_t n_test = 0;  // test pairs scored (non-NaN)
  double kendall_tau = 0, spearman_rho = 0;
  double seconds = 0;      // wall time of fitting + predicting the test set
  double cpu_seconds = 0;  // process CPU time (all threads) of the same, for timing on a shared machine
};

// What a run produced: every score (including resumed ones) and the notes (skipped sizes).
struct KendallResults {
  std::vector<KendallRun> runs;
  std::vector<std::string> notes;
};

// Runs the benchmark, writing PREFIX.csv (mean and std over seeds per space, target, predictor, n),
// PREFIX.md (the same as tables, literature anchors beside, notes, mean seconds per fit) and
// PREFIX_runs.csv (one row per run) atomically after every finished cell, so partial results survive.
// Progress on stderr (cell, rate, ETA; each RLM fine-tuning shows its own). Throws nas::ConfigError for
// --only names matching no entry, and the errors of load_split / pretrain_rlm / the models.
KendallResults run_kendall_experiment(const KendallConfig& config, const KendallRunOptions& options = {});

// The CSV / markdown of `results` (as written by run_kendall_experiment).
std::string kendall_summary_csv(const KendallResults& results);
std::string kendall_markdown(const KendallConfig& config, const KendallResults& results);

}  // namespace nas::predictor
