#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "search/exact_front.h"
#include "search/metric_source.h"
#include "search/search_config.h"
#include "spaces/search_space.h"

namespace nas::search {

// One architecture of the found front: what the search saw and, where known, the truth.
struct FrontMember {
  spaces::Genotype genotype;
  std::string arch;                 // SearchSpace::format(genotype)
  std::vector<Estimate> estimates;  // per metric (SearchResult::metrics order), as the evaluator gave them
  std::vector<double> truth;        // per metric; NaN where no exact source knows it
  std::vector<double> objectives;   // the values the search used (median or pessimistic), problem directions
  double violation = 0.0;           // of the searched values; 0 = feasible
  std::string onnx;                 // path of the exported model relative to the results folder; "" = none
};

// Indicators after one generation (the initial population is generation 1).
struct HistoryRow {
  int generation = 0;
  int64_t evaluations = 0;  // genotypes evaluated so far
  size_t front_size = 0;    // archive members (feasible non-dominated, by the searched values)
  double hv_search = 0.0;   // hypervolume of the archive's searched values
  double hv_true = 0.0;     // hypervolume of the archive members' true values; NaN if unknown
  double seconds = 0.0;     // wall time of the run so far (summed over resumed sessions)
};

// What the predictor (the RLM) behind an `rlm` search did before the search.
struct PredictorInfo {
  std::string describe;                        // e.g. "rlm checkpoints/rlm_nb201_search"
  bool trained = false;                        // trained in this run (false: loaded from the checkpoint)
  int64_t labelled = 0;                        // labelled architectures it was trained on
  std::vector<spaces::Genotype> labelled_set;  // those architectures, when known
  double seconds = 0.0;                        // training or loading time
};

// Everything a finished (or stopped) search run knows; written out by write_results().
struct SearchResult {
  std::string output;  // results folder
  std::vector<Objective> objectives;
  std::vector<MetricConstraint> constraints;
  std::vector<std::string> metrics;            // objective metrics, then other constraint metrics
  std::string evaluator;                       // MetricEvaluator::describe()
  bool exact_evaluator = false;                // the searched values are the true values
  std::vector<double> reference;               // hypervolume reference point, problem directions
  std::string reference_note;                  // how it was obtained ("median of acc_cifar10 in nb201.csv; ...")
  std::vector<FrontMember> front;              // the final archive, sorted by minimised objectives
  std::vector<HistoryRow> history;             // one row per generation
  std::vector<std::vector<double>> evaluated;  // [every evaluation][m]: searched objective values (for plots)
  std::optional<ExactFront> exact;             // the true front by enumeration, when the space and table allow it
  double hv_exact = 0.0;                       // NaN without an exact front
  double hv_search = 0.0, hv_true = 0.0;       // of the final front; hv_true NaN if unknown
  double igd_plus_true = 0.0;  // IGD+ of the front's true values to the exact front; NaN if unknown
  PredictorInfo predictor;
  int rounds = 1;                 // NSGA-II rounds (active learning when > 1)
  int64_t queried = 0;            // architectures labelled by active learning after the first round
  bool labelled_front = false;    // the front is the true front of the labelled architectures
  int generations_done = 0;       // over all rounds
  int64_t evaluations = 0;  // genotypes told to NSGA-II
  int64_t estimated = 0;    // distinct genotypes the evaluator estimated (repeats reuse the first)
  bool finished = false;    // all configured generations done
  bool resumed = false;     // continued from a checkpoint
  double seconds = 0.0;     // search wall time (summed over resumed sessions)
};

// Writes the results folder `result.output` (every file atomically):
//   pareto.csv   one row per front member: front index, arch, per metric M: M_median, M_p10, M_p90, M_true
//                (empty when unknown), then feasible (0/1, searched values) and onnx (relative path)
//   history.csv  generation, evaluations, front_size, hv_search, hv_true, hv_ratio (hv_true / exact; empty
//                when unknown)
//   front.svg    (two objectives) every evaluated point, the front's searched and true values, the exact
//                front as a staircase and the reference point; x = objective 2, y = objective 1; the window
//                is the hypervolume box widened by half its size on each objective's bad side
//   history.svg  hypervolume per generation beside the exact front's
//   summary.md   settings, evaluator, indicators and the front
//   onnx/front_NNN.onnx  when config.export_onnx: the network of each front member (inline nodes, no
//                model-local functions, seeded He-normal weights), built in parallel
// Fills FrontMember::onnx. Throws nas::Error naming the path on I/O failure.
void write_results(SearchResult& result, const SearchConfig& config, const spaces::SearchSpace& space);

// The text of pareto.csv / history.csv / summary.md, as written by write_results().
std::string pareto_csv(const SearchResult& result);
std::string history_csv(const SearchResult& result);
std::string summary_markdown(const SearchResult& result, const SearchConfig& config);

}  // namespace nas::search
