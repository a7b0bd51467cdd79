#pragma once

#include <string>
#include <vector>

namespace nas::search {

// Objective values, one row per individual and one column per objective: [n, m].
// Every kernel in this folder minimises all objectives; convert maximised objectives first with
// to_minimized().
using ObjectiveMatrix = std::vector<std::vector<double>>;

// Whether an objective is to be minimised (latency, parameters) or maximised (accuracy).
enum class Direction { kMinimize, kMaximize };

// "min" / "max".
std::string to_string(Direction d);
// Inverse of to_string(Direction). Throws nas::ConfigError("unknown objective direction 'x'; expected
// 'min' or 'max'") otherwise.
Direction parse_direction(const std::string& text);

// `row` with maximised objectives negated, so that smaller is better in every column.
// Requires row.size() == directions.size() (throws nas::Error otherwise).
std::vector<double> to_minimized(const std::vector<double>& row, const std::vector<Direction>& directions);
// to_minimized() applied to every row of `f` ([n, m] -> [n, m]).
ObjectiveMatrix to_minimized(const ObjectiveMatrix& f, const std::vector<Direction>& directions);

// Total constraint violation of one individual whose constraints are written g_j(x) <= 0:
// sum_j max(0, g_j) (Deb 2000, "An efficient constraint handling method for genetic algorithms").
// 0 means feasible. An empty row is feasible.
double constraint_violation(const std::vector<double>& g);
// constraint_violation() of every row: [n, k] -> [n]. An empty matrix gives an empty vector.
std::vector<double> constraint_violations(const ObjectiveMatrix& g);

}  // namespace nas::search
