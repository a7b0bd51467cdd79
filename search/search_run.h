#pragma once

#include <functional>
#include <memory>
#include <string>

#include "search/metric_source.h"
#include "search/nsga2.h"
#include "search/results.h"
#include "search/search_config.h"
#include "spaces/search_space.h"

namespace nas::search {

// A predictor made ready for a search: the metric source and what it took to get it.
struct PredictorSource {
  std::unique_ptr<MetricSource> source;
  PredictorInfo info;
  // Active learning (evaluator.rounds > 1; may be empty otherwise). refit: fine-tunes the predictor on
  // labelled architectures, values[i][j] = true value of metrics[j] for xs[i] (metrics it does not
  // predict are ignored). save / load: write the current predictor to a directory (atomically) / replace it
  // by one saved there, so that a resumed run continues with the model of its round.
  std::function<void(const std::vector<spaces::Genotype>& xs, const std::vector<std::vector<double>>& values,
                     const std::vector<std::string>& metrics)>
      refit;
  std::function<void(const std::string& dir)> save, load;
};

// Builds the predictor for `evaluator.type == "rlm"` (loading or training the RLM; see
// search/rlm_source.h). Injected so that nas_search does not depend on LibTorch.
using PredictorFactory = std::function<PredictorSource(const SearchConfig&, const spaces::SearchSpace&)>;

// Options of one run_search() call that are not part of the config.
struct SearchRunOptions {
  bool resume = false;         // continue from OUTPUT/checkpoint.json if it exists (else start afresh)
  PredictorFactory predictor;  // required for the rlm evaluator
  // Called after every generation, once the checkpoint is written; return false to stop the run there
  // (the results are still written). Tests use it to simulate a killed run.
  std::function<bool(const Nsga2&)> on_generation;
  bool write_results = true;  // write the results folder at the end (the checkpoint is always written)
  bool exact_front = true;    // enumerate the space for the exact front when the exact sources allow it
                              // (NB201 from the table: < 1 s; metrics from graph costs: ~15,625 builds)
  bool progress = true;       // progress line on stderr
};

// The search job behind `nas search`: NSGA-II (search/nsga2.h) over config.space, evaluated by the
// configured evaluator (true table values, or RLM predictions with the table's values kept aside as the
// truth), with the benchmark table as ground truth where it has the metric.
//   1. The hypervolume reference point: per objective the fixed value, or the configured quantile of the
//      objective's table column (default median for maximised, 90th percentile for minimised objectives).
//   2. The exact front by enumeration (exact_front()) when the space is enumerable and the exact sources
//      (table, graph costs) know every metric.
//   3. Generations: ask, evaluate, tell. Only genotypes not estimated earlier in the run go to the
//      evaluator (one batched call per generation); a re-proposed genotype reuses its first estimate, so
//      each architecture has one value for the whole run (~40% of NB201 offspring are repeats). After each,
//      OUTPUT/checkpoint.json (algorithm state, every evaluation with its p10 / median / p90, the history) is
//      written atomically, so a killed run resumed with options.resume loses no completed generation and ends
//      exactly as an uninterrupted run with the same config would.
//   4. Active learning (config.evaluator.rounds > 1, see SearchEvaluatorConfig): after each round but the
//      last, the round's best unlabelled predictions are labelled from the table, the predictor is refit
//      (PredictorSource::refit) and saved to OUTPUT/rlm_round_N, and a fresh NSGA-II (seed + round) starts;
//      labelled architectures are evaluated by their true values. The final front is the true Pareto front
//      of all labelled architectures; history rows number generations across rounds.
//   5. The results folder (write_results()).
// The result depends on the config (seed included), not on the number of threads (TBB builds and
// look-ups keep input order; candidate generation is seeded per offspring).
// Threads are not limited here: callers set tbb::global_control (and the predictor its own).
// Throws nas::ConfigError for an unusable config (unknown metric, missing reference, rlm without a
// predictor factory), nas::CheckpointError for a checkpoint of another run, and what the evaluators
// throw.
SearchResult run_search(const SearchConfig& config, const SearchRunOptions& options = {});

}  // namespace nas::search
