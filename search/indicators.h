#pragma once

#include <vector>

#include "search/objectives.h"

namespace nas::search {

// Inverted generational distance (Coello and Reyes Sierra 2004): the mean over reference points z of
// min_{a in approximation} ||a - z||_2. All objectives minimised; lower is better; 0 iff every
// reference point is in the approximation. `approximation` is [n, m], `reference_front` is [k, m].
// Throws nas::Error if either set is empty or a row's length differs.
double igd(const ObjectiveMatrix& approximation, const ObjectiveMatrix& reference_front);

// IGD+ (Ishibuchi, Masuda, Tanigaki, Nojima 2015, "Modified distance calculation in generational
// distance and inverted generational distance"): IGD with the modified distance
// d+(z, a) = sqrt(sum_j max(a_j - z_j, 0)^2), which only counts how far a is worse than z. Weakly
// Pareto compliant. Same shapes and errors as igd().
//
// Example: igd_plus({{2, 2}}, {{1, 3}, {3, 1}}) == (1 + 1) / 2 == 1.
double igd_plus(const ObjectiveMatrix& approximation, const ObjectiveMatrix& reference_front);

}  // namespace nas::search
