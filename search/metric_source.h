#pragma once

#include <memory>
#include <string>
#include <vector>

#include "search/evaluator.h"
#include "search/problem.h"
#include "spaces/search_space.h"

namespace nas::search {

// The estimate of one metric of one architecture: a point value and a 10th-90th percentile band.
// Exact sources (benchmark table, graph costs) set all three to the same value; the RLM sets them to
// the median and the 10th / 90th percentiles of its samples (predictor/rlm.h). Units are the
// metric's (%, ms, M params, M FLOPs).
struct Estimate {
  double median = 0.0, p10 = 0.0, p90 = 0.0;
};

// Where metric values of architectures come from: a benchmark table (true values), the RLM
// (predictions), the ONNX graph (exact params / FLOPs). Metrics are named, e.g. "acc_cifar10",
// "lat_ms_pixel3", "params_M".
// Thread-safety: estimate() is called from one thread at a time; implementations may parallelise
// inside it.
class MetricSource {
 public:
  virtual ~MetricSource() = default;
  // Short description for logs and summaries, e.g. "table nb201.csv", "rlm checkpoints/x".
  virtual std::string describe() const = 0;
  // True when the values are measurements or exact computations rather than predictions.
  virtual bool exact() const = 0;
  virtual bool provides(const std::string& metric) const = 0;
  // Estimates of `metrics` (each one provides() accepts) for every genotype, as [xs.size()][metrics.size()],
  // rows in the order of `xs`. The result must depend only on the arguments (not on earlier calls or
  // on thread counts), so that a resumed search reproduces an uninterrupted one. Throws
  // nas::ConfigError for a metric it does not provide, nas::SpaceError for a genotype it cannot
  // handle, nas::DataError for a missing value.
  virtual std::vector<std::vector<Estimate>> estimate(const std::vector<spaces::Genotype>& xs,
                                                      const std::vector<std::string>& metrics) = 0;
};

// A constraint on one metric, written in configs as "lat_ms_pixel3 <= 15" or "acc_cifar10 >= 90".
struct MetricConstraint {
  std::string metric;
  bool upper = true;  // true: metric <= bound; false: metric >= bound
  double bound = 0.0;

  // Parses "NAME <= VALUE" / "NAME >= VALUE" (spaces optional). Throws nas::ConfigError("constraint
  // 'x': expected 'METRIC <= VALUE' or 'METRIC >= VALUE'") otherwise.
  static MetricConstraint parse(const std::string& text);
  // "lat_ms_pixel3 <= 15" (the bound printed with %g); also the constraint's name in a Problem.
  std::string to_string() const;
  // g(x) for NSGA-II's constrained domination, feasible iff <= 0: value - bound (<=) or bound - value (>=).
  double g(double value) const { return upper ? value - bound : bound - value; }
};

// Which statistic of an estimate the search optimises.
enum class Statistic {
  kMedian,       // the median (the RLM's point prediction)
  kPessimistic,  // robust search: p10 of maximised objectives and of ">=" constraints, p90 of minimised
                 // objectives and of "<=" constraints (the worse end of the RLM's 80% band)
};

// "median" / "pessimistic", and back (throws nas::ConfigError for anything else).
std::string to_string(Statistic s);
Statistic parse_statistic(const std::string& text);

// The value of `e` the search uses for an objective or constraint side that is better when
// `higher_is_better`.
double pick(const Estimate& e, Statistic statistic, bool higher_is_better);

// Adapts named metric sources to the search's Evaluator interface: each metric an objective or
// constraint needs is served by the first source in `sources` that provides it; each source is asked
// once per batch for all of its metrics. Objective j = pick(estimate of objective j); constraint k =
// constraint.g(pick(estimate of its metric)).
// Memory model: the sources are not owned and must outlive the evaluator.
class MetricEvaluator final : public Evaluator {
 public:
  // Throws nas::ConfigError("no evaluator provides metric 'x' (sources: ...)") when a needed metric has
  // no source.
  MetricEvaluator(std::vector<Objective> objectives, std::vector<MetricConstraint> constraints,
                  std::vector<MetricSource*> sources, Statistic statistic = Statistic::kMedian);

  Evaluations evaluate(const std::vector<spaces::Genotype>& xs) override;

  // The distinct metrics needed, objectives first, then constraint metrics not already listed.
  const std::vector<std::string>& metrics() const { return metrics_; }
  // Estimates of every metric in metrics() order: [xs.size()][metrics().size()].
  std::vector<std::vector<Estimate>> estimate(const std::vector<spaces::Genotype>& xs);
  // The estimates behind the last evaluate() call, [n][metrics().size()].
  const std::vector<std::vector<Estimate>>& last_estimates() const { return last_; }
  // Objective and constraint rows from one row of estimate() (metrics() order).
  Evaluation to_evaluation(const std::vector<Estimate>& row) const;
  // True when every source that serves a metric is exact().
  bool exact() const;
  // "acc_cifar10: table nb201.csv; lat_ms_pixel3: rlm checkpoints/x".
  std::string describe() const;

 private:
  std::vector<Objective> objectives_;
  std::vector<MetricConstraint> constraints_;
  Statistic statistic_;
  std::vector<std::string> metrics_;
  std::vector<MetricSource*> source_of_;  // per metric
  std::vector<size_t> objective_metric_, constraint_metric_;
  std::vector<std::vector<Estimate>> last_;
};

}  // namespace nas::search
