#include "search/metric_source.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "core/error.h"

namespace nas::search {
namespace {

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

}  // namespace

MetricConstraint MetricConstraint::parse(const std::string& text) {
  auto fail = [&] {
    throw ConfigError(fmt::format("constraint '{}': expected 'METRIC <= VALUE' or 'METRIC >= VALUE'", text));
  };
  size_t op = text.find("<=");
  bool upper = true;
  if (op == std::string::npos) {
    op = text.find(">=");
    upper = false;
  }
  if (op == std::string::npos) fail();
  MetricConstraint c;
  c.metric = trim(text.substr(0, op));
  c.upper = upper;
  std::string value = trim(text.substr(op + 2));
  if (c.metric.empty() || value.empty()) fail();
  for (char ch : c.metric)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' || ch == '-')) fail();
  char* end = nullptr;
  c.bound = std::strtod(value.c_str(), &end);
  if (end != value.c_str() + value.size() || !std::isfinite(c.bound)) fail();
  return c;
}

std::string MetricConstraint::to_string() const {
  return fmt::format("{} {} {:g}", metric, upper ? "<=" : ">=", bound);
}

std::string to_string(Statistic s) { return s == Statistic::kMedian ? "median" : "pessimistic"; }

Statistic parse_statistic(const std::string& text) {
  if (text == "median") return Statistic::kMedian;
  if (text == "pessimistic") return Statistic::kPessimistic;
  throw ConfigError(fmt::format("unknown statistic '{}'; expected 'median' or 'pessimistic'", text));
}

double pick(const Estimate& e, Statistic statistic, bool higher_is_better) {
  if (statistic == Statistic::kMedian) return e.median;
  return higher_is_better ? e.p10 : e.p90;
}

MetricEvaluator::MetricEvaluator(std::vector<Objective> objectives, std::vector<MetricConstraint> constraints,
                                 std::vector<MetricSource*> sources, Statistic statistic)
    : objectives_(std::move(objectives)), constraints_(std::move(constraints)), statistic_(statistic) {
  auto index_of = [&](const std::string& metric) {
    auto it = std::find(metrics_.begin(), metrics_.end(), metric);
    if (it != metrics_.end()) return static_cast<size_t>(it - metrics_.begin());
    metrics_.push_back(metric);
    return metrics_.size() - 1;
  };
  for (const auto& o : objectives_) objective_metric_.push_back(index_of(o.name));
  for (const auto& c : constraints_) constraint_metric_.push_back(index_of(c.metric));
  std::vector<std::string> names;
  for (auto* s : sources) {
    NAS_CHECK(s != nullptr, "null metric source");
    names.push_back(s->describe());
  }
  for (const auto& metric : metrics_) {
    MetricSource* found = nullptr;
    for (auto* s : sources)
      if (s->provides(metric)) {
        found = s;
        break;
      }
    if (!found)
      throw ConfigError(fmt::format("no evaluator provides metric '{}' (sources: {})", metric,
                                    names.empty() ? "none" : fmt::format("{}", fmt::join(names, "; "))));
    source_of_.push_back(found);
  }
}

std::vector<std::vector<Estimate>> MetricEvaluator::estimate(const std::vector<spaces::Genotype>& xs) {
  std::vector<std::vector<Estimate>> out(xs.size(), std::vector<Estimate>(metrics_.size()));
  std::vector<MetricSource*> done;
  for (size_t j = 0; j < metrics_.size(); ++j) {
    MetricSource* source = source_of_[j];
    if (std::find(done.begin(), done.end(), source) != done.end()) continue;
    done.push_back(source);
    std::vector<std::string> asked;
    std::vector<size_t> columns;
    for (size_t k = 0; k < metrics_.size(); ++k)
      if (source_of_[k] == source) {
        asked.push_back(metrics_[k]);
        columns.push_back(k);
      }
    auto values = source->estimate(xs, asked);
    NAS_CHECK(values.size() == xs.size(), "{} returned {} rows for {} genotypes", source->describe(),
              values.size(), xs.size());
    for (size_t i = 0; i < xs.size(); ++i) {
      NAS_CHECK(values[i].size() == asked.size(), "{} returned {} values for {} metrics", source->describe(),
                values[i].size(), asked.size());
      for (size_t c = 0; c < columns.size(); ++c) out[i][columns[c]] = values[i][c];
    }
  }
  return out;
}

Evaluation MetricEvaluator::to_evaluation(const std::vector<Estimate>& row) const {
  NAS_CHECK(row.size() == metrics_.size(), "{} estimates for {} metrics", row.size(), metrics_.size());
  Evaluation e;
  for (size_t j = 0; j < objectives_.size(); ++j)
    e.objectives.push_back(pick(row[objective_metric_[j]], statistic_,
                                /*higher_is_better=*/objectives_[j].direction == Direction::kMaximize));
  for (size_t k = 0; k < constraints_.size(); ++k)
    e.constraints.push_back(constraints_[k].g(
        pick(row[constraint_metric_[k]], statistic_, /*higher_is_better=*/!constraints_[k].upper)));
  return e;
}

Evaluations MetricEvaluator::evaluate(const std::vector<spaces::Genotype>& xs) {
  last_ = estimate(xs);
  Evaluations out;
  for (const auto& row : last_) {
    Evaluation e = to_evaluation(row);
    out.objectives.push_back(std::move(e.objectives));
    if (!constraints_.empty()) out.constraints.push_back(std::move(e.constraints));
  }
  return out;
}

bool MetricEvaluator::exact() const {
  for (auto* s : source_of_)
    if (!s->exact()) return false;
  return true;
}

std::string MetricEvaluator::describe() const {
  std::vector<std::string> parts;
  for (size_t j = 0; j < metrics_.size(); ++j) parts.push_back(metrics_[j] + ": " + source_of_[j]->describe());
  return fmt::format("{}", fmt::join(parts, "; "));
}

}  // namespace nas::search
