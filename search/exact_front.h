#pragma once

#include <cstdint>
#include <vector>

#include "search/evaluator.h"
#include "search/objectives.h"
#include "search/problem.h"
#include "spaces/search_space.h"

namespace nas::search {

// Row indices of the non-dominated rows of `f` ([n, m], all objectives minimised), increasing: the
// same set as non_dominated_indices(), found by sorting the rows lexicographically and checking each
// only against the non-dominated rows kept so far (a dominator always sorts first, and a dominated
// dominator is itself dominated by a kept row). O(n log n + n * |front| * m). Equal rows are all kept.
// Throws nas::Error if the rows have different lengths.
std::vector<int> sorted_non_dominated_indices(const ObjectiveMatrix& f);

// The true Pareto front of a finite space, found by evaluating every genotype.
struct ExactFront {
  std::vector<spaces::Genotype> genotypes;  // the feasible non-dominated genotypes (all that attain a
                                            // front point), sorted by their minimised objective vectors
  ObjectiveMatrix objectives;               // [k, m] their values, in the problem's directions
  uint64_t enumerated = 0;                  // genotypes evaluated (= space size)
  uint64_t feasible = 0;                    // of which feasible (all constraints <= 0)
};

// Enumerates every genotype of `problem.space()` (SearchSpace::size() / at()), evaluates them with
// `evaluator` in batches of `batch_size` (e.g. a MetricEvaluator over the benchmark table: NB201's
// 15,625 cells take well under a second), and returns the feasible non-dominated set. Empty when no
// genotype is feasible. Throws nas::SpaceError if the space is not enumerable, and whatever the
// evaluator throws (e.g. for a genotype missing from the table).
ExactFront exact_front(const Problem& problem, Evaluator& evaluator, size_t batch_size = 4096);

}  // namespace nas::search
