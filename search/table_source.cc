#include "search/table_source.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "core/error.h"

namespace nas::search {

TableSource::TableSource(const spaces::SearchSpace& space, const std::string& path, const std::string& arch_column)
    : space_(&space), path_(path), table_(Table::load(path, {{arch_column, ColumnType::kText}})) {
  if (!table_.has_column(arch_column))
    throw DataError(fmt::format("{}: no column '{}' (the architecture key)", path, arch_column));
  table_.index_by(arch_column);
}

std::string TableSource::describe() const { return "table " + std::filesystem::path(path_).filename().string(); }

bool TableSource::provides(const std::string& metric) const {
  return table_.has_column(metric) && table_.type(metric) == ColumnType::kNumber;
}

const std::vector<double>& TableSource::column(const std::string& metric) const {
  if (!provides(metric)) throw ConfigError(fmt::format("{}: no numeric column '{}'", path_, metric));
  return table_.numbers(metric);
}

int64_t TableSource::row_of(const spaces::Genotype& g) const {
  auto row = table_.find(space_->format(g));
  return row ? static_cast<int64_t>(*row) : -1;
}

double TableSource::value(const spaces::Genotype& g, const std::string& metric) const {
  const auto& col = column(metric);
  int64_t row = row_of(g);
  return row < 0 ? std::nan("") : col[static_cast<size_t>(row)];
}

std::vector<std::vector<Estimate>> TableSource::estimate(const std::vector<spaces::Genotype>& xs,
                                                         const std::vector<std::string>& metrics) {
  std::vector<const std::vector<double>*> cols;
  for (const auto& m : metrics) cols.push_back(&column(m));
  std::vector<std::vector<Estimate>> out(xs.size(), std::vector<Estimate>(metrics.size()));
  std::vector<int64_t> rows(xs.size());
  tbb::parallel_for(tbb::blocked_range<size_t>(0, xs.size(), 64), [&](const tbb::blocked_range<size_t>& r) {
    for (size_t i = r.begin(); i != r.end(); ++i) rows[i] = row_of(xs[i]);
  });
  // Errors are raised here, serially, so the first bad genotype in input order is the one reported.
  for (size_t i = 0; i < xs.size(); ++i) {
    if (rows[i] < 0) throw SpaceError(fmt::format("genotype '{}' is not in {}", space_->format(xs[i]), path_));
    for (size_t j = 0; j < metrics.size(); ++j) {
      double v = (*cols[j])[static_cast<size_t>(rows[i])];
      if (!std::isfinite(v))
        throw DataError(fmt::format("{}:{} (column '{}'): missing value", path_, rows[i] + 2, metrics[j]));
      out[i][j] = {v, v, v};
    }
  }
  return out;
}

double quantile(std::vector<double> values, double q) {
  values.erase(std::remove_if(values.begin(), values.end(), [](double v) { return !std::isfinite(v); }),
               values.end());
  if (values.empty()) return std::nan("");
  std::sort(values.begin(), values.end());
  q = std::clamp(q, 0.0, 1.0);
  double pos = q * static_cast<double>(values.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(pos));
  size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (pos - static_cast<double>(lo)) * (values[hi] - values[lo]);
}

}  // namespace nas::search
