#include "search/non_dominated_sort.h"

#include <algorithm>

#include "core/error.h"
#include "search/dominance.h"

namespace nas::search {
namespace {

void check_rectangular(const ObjectiveMatrix& f) {
  for (size_t i = 1; i < f.size(); ++i)
    NAS_CHECK(f[i].size() == f[0].size(), "row {} has {} objectives, row 0 has {}", i, f[i].size(),
              f[0].size());
}

// Deb's fast non-dominated sort over any domination relation `compare(i, j)`.
template <typename Compare>
std::vector<std::vector<int>> fast_non_dominated_sort(int n, int stop_after, Compare compare) {
  std::vector<std::vector<int>> dominated_by(n);  // S_p: rows that p dominates
  std::vector<int> domination_count(n, 0);        // n_p: rows that dominate p
  for (int p = 0; p < n; ++p) {
    for (int q = p + 1; q < n; ++q) {
      Dominance d = compare(p, q);
      if (d == Dominance::kADominates) {
        dominated_by[p].push_back(q);
        ++domination_count[q];
      } else if (d == Dominance::kBDominates) {
        dominated_by[q].push_back(p);
        ++domination_count[p];
      }
    }
  }
  std::vector<std::vector<int>> fronts;
  std::vector<int> current;
  for (int p = 0; p < n; ++p)
    if (domination_count[p] == 0) current.push_back(p);
  int ranked = 0;
  int limit = stop_after <= 0 ? n : std::min(stop_after, n);
  while (!current.empty()) {
    ranked += static_cast<int>(current.size());
    std::vector<int> next;
    for (int p : current)
      for (int q : dominated_by[p])
        if (--domination_count[q] == 0) next.push_back(q);
    fronts.push_back(std::move(current));
    if (ranked >= limit) break;
    std::sort(next.begin(), next.end());
    current = std::move(next);
  }
  return fronts;
}

}  // namespace

std::vector<std::vector<int>> non_dominated_fronts(const ObjectiveMatrix& f, int stop_after) {
  check_rectangular(f);
  return fast_non_dominated_sort(static_cast<int>(f.size()), stop_after,
                                 [&](int p, int q) { return compare_dominance(f[p], f[q]); });
}

std::vector<std::vector<int>> constrained_non_dominated_fronts(const ObjectiveMatrix& f,
                                                               const std::vector<double>& cv,
                                                               int stop_after) {
  check_rectangular(f);
  NAS_CHECK(cv.size() == f.size(), "{} constraint violations for {} rows", cv.size(), f.size());
  return fast_non_dominated_sort(static_cast<int>(f.size()), stop_after,
                                 [&](int p, int q) { return compare_constrained(f[p], cv[p], f[q], cv[q]); });
}

std::vector<int> non_dominated_indices(const ObjectiveMatrix& f) {
  check_rectangular(f);
  std::vector<int> out;
  for (size_t i = 0; i < f.size(); ++i) {
    bool dominated = false;
    for (size_t j = 0; j < f.size() && !dominated; ++j) dominated = j != i && dominates(f[j], f[i]);
    if (!dominated) out.push_back(static_cast<int>(i));
  }
  return out;
}

ObjectiveMatrix pareto_front(const ObjectiveMatrix& points) {
  ObjectiveMatrix front;
  for (int i : non_dominated_indices(points)) front.push_back(points[i]);
  std::sort(front.begin(), front.end());
  front.erase(std::unique(front.begin(), front.end()), front.end());
  return front;
}

}  // namespace nas::search
