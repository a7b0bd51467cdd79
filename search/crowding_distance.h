#pragma once

#include <vector>

#include "search/objectives.h"

namespace nas::search {

// Crowding distance of the rows in `front` (Deb et al. 2002, NSGA-II section III-B), aligned with
// `front`: result[k] belongs to row front[k] of `f` ([n, m], all objectives minimised).
// For each objective whose range over the front is > 0, rows are ordered by that objective (ties keep
// their order in `front`); the first and last get +inf and each interior row adds
// (next - previous) / (max - min). Objectives with zero range add 0. A front of one or two rows is all
// boundary: every row gets +inf. Larger means less crowded.
// Throws nas::Error if an index is out of range or the rows have different lengths.
//
// Example: f = {{0, 4}, {1, 2}, {2, 1}, {4, 0}}, front = {0, 1, 2, 3}
//          -> {inf, 2/4 + 3/4, 3/4 + 2/4, inf} = {inf, 1.25, 1.25, inf}.
std::vector<double> crowding_distance(const ObjectiveMatrix& f, const std::vector<int>& front);

}  // namespace nas::search
