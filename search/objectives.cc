#include "search/objectives.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"

namespace nas::search {

std::string to_string(Direction d) { return d == Direction::kMinimize ? "min" : "max"; }

Direction parse_direction(const std::string& text) {
  if (text == "min") return Direction::kMinimize;
  if (text == "max") return Direction::kMaximize;
  throw ConfigError(fmt::format("unknown objective direction '{}'; expected 'min' or 'max'", text));
}

std::vector<double> to_minimized(const std::vector<double>& row, const std::vector<Direction>& directions) {
  NAS_CHECK(row.size() == directions.size(), "row has {} objectives, {} directions given", row.size(),
            directions.size());
  std::vector<double> out(row.size());
  for (size_t j = 0; j < row.size(); ++j) out[j] = directions[j] == Direction::kMaximize ? -row[j] : row[j];
  return out;
}

ObjectiveMatrix to_minimized(const ObjectiveMatrix& f, const std::vector<Direction>& directions) {
  ObjectiveMatrix out;
  out.reserve(f.size());
  for (const auto& row : f) out.push_back(to_minimized(row, directions));
  return out;
}

double constraint_violation(const std::vector<double>& g) {
  double total = 0.0;
  for (double v : g) total += std::max(0.0, v);
  return total;
}

std::vector<double> constraint_violations(const ObjectiveMatrix& g) {
  std::vector<double> out;
  out.reserve(g.size());
  for (const auto& row : g) out.push_back(constraint_violation(row));
  return out;
}

}  // namespace nas::search
