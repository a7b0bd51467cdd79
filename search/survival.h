#pragma once

#include <vector>

#include "core/rng.h"
#include "search/objectives.h"

namespace nas::search {

// The outcome of a survival step: which rows survive, with their rank and crowding distance.
struct SurvivalResult {
  std::vector<int> survivors;    // row indices, ordered by rank then row index
  std::vector<int> rank;         // aligned with survivors: constrained non-domination rank, 0 = best
  std::vector<double> crowding;  // aligned with survivors: crowding distance within the whole front
};

// NSGA-II rank-and-crowding survival (Deb et al. 2002, section III-C) with constrained domination
// (section VI): fronts of `f` ([n, m], minimised) under constrained domination with violations `cv`
// ([n]) are taken whole while they fit into `n_survive`; the front that does not fit is cut by
// descending crowding distance (computed over that whole front), ties broken uniformly at random
// with `rng` (rng is only drawn from when a front is cut). Returns min(n_survive, n) survivors.
// Throws nas::Error on mismatched shapes or n_survive < 0.
SurvivalResult rank_and_crowding_survival(const ObjectiveMatrix& f, const std::vector<double>& cv,
                                          int n_survive, Rng& rng);

}  // namespace nas::search
