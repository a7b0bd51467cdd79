#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "search/metric_source.h"
#include "search/nsga2.h"
#include "search/problem.h"

namespace nas::search {

// How the hypervolume reference point of one objective is set: a fixed value, or a quantile of the
// objective's column in the benchmark table (computed when the run starts, never hard-coded).
struct ReferenceSpec {
  bool fixed = false;
  double value = 0.0;     // when fixed
  double quantile = 0.5;  // in [0, 1], when not fixed
};

// One objective as the config declares it.
struct ObjectiveSpec {
  std::string name;  // a metric: a table column (acc_cifar10, lat_ms_pixel3, ...) or params_M / flops_M
  Direction direction = Direction::kMinimize;
  // Default: the table median for maximised objectives and the 90th percentile for minimised ones
  // (issue 4: NB201 (acc_cifar10, lat_ms_pixel3) -> (90.745 %, 19.223 ms)), so that degenerate
  // near-zero-latency cells do not dominate the volume.
  ReferenceSpec reference;
};

// Where objective values come from during the search.
struct SearchEvaluatorConfig {
  std::string type = "table";  // "rlm": RLM predictions; "table": true benchmark values
  std::string checkpoint;      // rlm: checkpoint directory; used if it exists, else trained and saved there
  std::string rlm_config;      // rlm: config to train from when there is no checkpoint
  int64_t budget = 1000;       // rlm: labelled architectures the RLM may be trained on
  Statistic statistic = Statistic::kMedian;  // kPessimistic = robust search on the p10 / p90 band
  std::string device;                        // rlm: "cpu" / "cuda[:N]"; "" = the RLM config's
  int64_t samples = -1;                      // rlm: decoding samples per target; -1 = the checkpoint's
  // Active learning (rlm): the labelled budget is spent over `rounds` NSGA-II runs. The first RLM is
  // trained on `initial` random labelled architectures; after each round but the last, the
  // (budget - initial) / (rounds - 1) best not-yet-labelled architectures that round predicted (by
  // predicted non-dominated rank, then crowding distance) are labelled from the table and the RLM is
  // fine-tuned `refit_steps` more steps on every labelled architecture. Labelled architectures enter the
  // search with their true values, and the final front is the true front of the labelled set (values a
  // user has measured, not predictions). rounds == 1: one NSGA-II run on an RLM trained on `budget`.
  int64_t rounds = 1;
  int64_t initial = 0;        // rounds > 1: labelled random architectures of the first RLM (< budget)
  int64_t refit_steps = 150;  // rounds > 1: fine-tuning steps after each round's labelling

  // Labelled architectures the first RLM is trained on: `initial` with rounds > 1, else `budget`.
  int64_t first_training_size() const { return rounds > 1 ? initial : budget; }
};

// Everything `nas search` reads from a YAML config (configs/search_nb201.yaml documents every key).
struct SearchConfig {
  std::string source;  // the YAML file, for error messages
  std::string space = "nb201";
  std::string dataset;  // network input configuration for ONNX export / graph costs ("" = space default)
  std::string table;    // benchmark table for true values, the exact front and the reference point:
                        // a file under the data directory ("nb201.csv") or an absolute path; "" = none
  std::string arch_column = "arch_str";
  std::vector<ObjectiveSpec> objectives;
  std::vector<MetricConstraint> constraints;
  Nsga2Options nsga2;  // population, generations, crossover_prob, mutation_prob, seed
  int threads = 0;     // TBB and LibTorch threads; 0 = all cores
  SearchEvaluatorConfig evaluator;
  std::string output = "results/search_nb201";  // the results folder (also holds the checkpoint)
  bool export_onnx = true;                      // write onnx/front_NNN.onnx for every front member

  // The objectives as the search Problem declares them.
  std::vector<Objective> problem_objectives() const;
  // The constraints' names in the Problem ("lat_ms_pixel3 <= 15").
  std::vector<std::string> constraint_names() const;
  // config.table resolved: absolute paths as they are, others under nas::data_dir(); "" if none.
  std::string table_path() const;
};

// Reads a search config. Throws nas::ConfigError "FILE: key.path: reason" (with the line where the
// YAML gives one) for unreadable files, invalid YAML, unknown keys, wrong types and out-of-range or
// inconsistent values, e.g. "configs/s.yaml: evaluator.budget: must be >= 1, got 0 (line 21)".
//
// Example (the keys with their defaults are in configs/search_nb201.yaml):
//   space: nb201
//   table: nb201.csv
//   objectives:
//     - {name: acc_cifar10, direction: max}
//     - {name: lat_ms_pixel3, direction: min, reference: p90}
//   constraints: ["lat_ms_pixel3 <= 15"]
//   population: 64
//   generations: 50
//   evaluator: {type: table}
SearchConfig load_search_config(const std::string& path);
// The same from YAML text; `source` names it in errors.
SearchConfig parse_search_config(const std::string& yaml, const std::string& source);

}  // namespace nas::search
