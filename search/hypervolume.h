#pragma once

#include <vector>

#include "search/objectives.h"

namespace nas::search {

// Hypervolume indicator (Zitzler and Thiele 1998): the Lebesgue measure of the region dominated by
// `points` ([n, m], all objectives minimised) and bounded above by `reference` ([m]). Points not
// strictly better than the reference in every objective contribute nothing. Duplicated and dominated
// points are allowed.
//   m = 1: reference - min.
//   m = 2: sort-and-sweep, O(n log n).
//   m = 3: slices along the third objective, keeping the 2-D staircase of the points below each slice
//          in a balanced tree and updating its area per insertion (Beume, Fonseca, Lopez-Ibanez,
//          Paquete, Vahrenhold 2009, "On the complexity of computing the hypervolume indicator"),
//          O(n log n).
//   m > 3: recursive slicing along the last objective down to m = 3 (exact; O(n^(m-2) log n), meant
//          for small sets).
// Throws nas::Error if m == 0 or a row's length differs from reference.size().
//
// Example: hypervolume({{1, 2}, {2, 1}}, {3, 3}) == 3.
double hypervolume(const ObjectiveMatrix& points, const std::vector<double>& reference);

// The same quantity by inclusion-exclusion over every non-empty subset of the contributing points:
// sum over S of (-1)^(|S|+1) * prod_j (reference_j - max_{p in S} p_j). O(2^n m); a test oracle
// only. Throws nas::Error if more than 16 points contribute (rows not strictly better than the
// reference in every objective are dropped first).
double hypervolume_brute_force(const ObjectiveMatrix& points, const std::vector<double>& reference);

}  // namespace nas::search
