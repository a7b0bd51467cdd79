#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/table.h"
#include "search/metric_source.h"
#include "spaces/search_space.h"

namespace nas::search {

// True metric values looked up in a benchmark table (e.g. data/nb201.csv: one row per NB201 cell, keyed
// by its architecture string, with accuracy columns in % and latency columns in ms). Every numeric
// column is a metric. Exact: median = p10 = p90 = the table value.
// Thread-safety: estimate() and value() may be called concurrently (read-only look-ups).
// Memory model: the space is not owned and must outlive the source.
class TableSource final : public MetricSource {
 public:
  // Loads `path` (a CSV file; use nas::data_path("nb201.csv") for the repository's tables) and indexes
  // it by `arch_column`. Throws nas::DataError for an unreadable table, a missing key column or a
  // duplicate key.
  TableSource(const spaces::SearchSpace& space, const std::string& path,
              const std::string& arch_column = "arch_str");

  std::string describe() const override;
  bool exact() const override { return true; }
  bool provides(const std::string& metric) const override;
  // Look-ups in parallel (TBB). Throws nas::SpaceError("genotype '|...|' is not in data/nb201.csv") for a
  // genotype without a row, nas::DataError("nb201.csv:12 (column 'acc_cifar10'): missing value") for an
  // empty cell, nas::ConfigError for a metric that is not a numeric column.
  std::vector<std::vector<Estimate>> estimate(const std::vector<spaces::Genotype>& xs,
                                              const std::vector<std::string>& metrics) override;

  // The row of `g`, or -1 if the table has none.
  int64_t row_of(const spaces::Genotype& g) const;
  // One value; NaN if the genotype has no row or the cell is empty. Throws nas::ConfigError for an
  // unknown metric.
  double value(const spaces::Genotype& g, const std::string& metric) const;
  const Table& table() const { return table_; }
  const std::string& path() const { return path_; }

 private:
  const std::vector<double>& column(const std::string& metric) const;

  const spaces::SearchSpace* space_;
  std::string path_;
  Table table_;
};

// Linear-interpolation quantile (numpy's default "linear" method: position q * (n - 1) in the sorted
// values) of the finite values of `values`; NaN if there are none. q in [0, 1].
// Example: quantile({1, 2, 3, 4}, 0.5) == 2.5; quantile({1, 2, 3, 4}, 0.9) == 3.7.
double quantile(std::vector<double> values, double q);

}  // namespace nas::search
