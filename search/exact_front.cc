#include "search/exact_front.h"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "core/error.h"
#include "search/dominance.h"

namespace nas::search {

std::vector<int> sorted_non_dominated_indices(const ObjectiveMatrix& f) {
  for (size_t i = 1; i < f.size(); ++i)
    NAS_CHECK(f[i].size() == f[0].size(), "row {} has {} objectives, row 0 has {}", i, f[i].size(), f[0].size());
  std::vector<int> order(f.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return f[a] < f[b]; });
  std::vector<int> kept;
  for (int i : order) {
    bool dominated = false;
    for (size_t k = 0; k < kept.size() && !dominated; ++k) dominated = dominates(f[kept[k]], f[i]);
    if (!dominated) kept.push_back(i);
  }
  std::sort(kept.begin(), kept.end());
  return kept;
}

ExactFront exact_front(const Problem& problem, Evaluator& evaluator, size_t batch_size) {
  const auto& space = problem.space();
  auto size = space.size();
  if (!size) throw SpaceError(fmt::format("{}: the space is not enumerable; no exact front", space.name()));
  batch_size = std::max<size_t>(batch_size, 1);
  const auto directions = problem.directions();
  std::vector<spaces::Genotype> feasible;
  ObjectiveMatrix values, minimized;
  ExactFront out;
  out.enumerated = *size;
  for (uint64_t start = 0; start < *size; start += batch_size) {
    std::vector<spaces::Genotype> xs;
    for (uint64_t i = start; i < std::min<uint64_t>(*size, start + batch_size); ++i) xs.push_back(space.at(i));
    Evaluations e = evaluator.evaluate(xs);
    for (size_t i = 0; i < xs.size(); ++i) {
      if (!e.constraints.empty() && constraint_violation(e.constraints[i]) > 0.0) continue;
      feasible.push_back(std::move(xs[i]));
      minimized.push_back(to_minimized(e.objectives[i], directions));
      values.push_back(std::move(e.objectives[i]));
    }
  }
  out.feasible = feasible.size();
  std::vector<int> front = sorted_non_dominated_indices(minimized);
  std::stable_sort(front.begin(), front.end(), [&](int a, int b) { return minimized[a] < minimized[b]; });
  for (int i : front) {
    out.genotypes.push_back(feasible[i]);
    out.objectives.push_back(values[i]);
  }
  return out;
}

}  // namespace nas::search
