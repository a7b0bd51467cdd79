#pragma once

#include <vector>

#include "search/objectives.h"

namespace nas::search {

// Fast non-dominated sorting (Deb, Pratap, Agarwal, Meyarivan 2002, "A fast and elitist multiobjective
// genetic algorithm: NSGA-II", section III-A). All objectives are minimised; row i of `f` ([n, m]) is
// individual i. Returns fronts of row indices, best first, each front in increasing row order. Stops
// once at least `stop_after` rows are ranked (the remaining rows are left unranked), as NSGA-II
// survival only needs that many; stop_after <= 0 ranks every row. Equal rows share a front.
// Cost: O(m n^2) time, O(n^2) memory in the worst case.
// Throws nas::Error if the rows have different lengths.
//
// Example: f = {{1, 4}, {2, 2}, {3, 3}, {4, 1}} -> {{0, 1, 3}, {2}}.
std::vector<std::vector<int>> non_dominated_fronts(const ObjectiveMatrix& f, int stop_after = -1);

// As non_dominated_fronts(), with constrained domination (see compare_constrained()) in place of
// Pareto dominance. `cv` ([n]) holds each row's total constraint violation (0 = feasible). Feasible
// rows therefore fill the first fronts; infeasible rows follow, grouped by equal violation.
std::vector<std::vector<int>> constrained_non_dominated_fronts(const ObjectiveMatrix& f,
                                                               const std::vector<double>& cv,
                                                               int stop_after = -1);

// Row indices of the non-dominated rows of `f` (the first front), increasing. O(m n^2) time,
// O(n) memory.
std::vector<int> non_dominated_indices(const ObjectiveMatrix& f);

// The Pareto front of `points` (all objectives minimised): the non-dominated rows, with exact
// duplicates removed, sorted lexicographically.
//
// Example: {{2, 2}, {1, 3}, {2, 2}, {3, 3}} -> {{1, 3}, {2, 2}}.
ObjectiveMatrix pareto_front(const ObjectiveMatrix& points);

}  // namespace nas::search
