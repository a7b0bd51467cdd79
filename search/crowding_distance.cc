#include "search/crowding_distance.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include "core/error.h"

namespace nas::search {

std::vector<double> crowding_distance(const ObjectiveMatrix& f, const std::vector<int>& front) {
  const double kInf = std::numeric_limits<double>::infinity();
  const size_t n = front.size();
  for (int i : front) NAS_CHECK(i >= 0 && static_cast<size_t>(i) < f.size(), "row {} out of range", i);
  if (n <= 2) return std::vector<double>(n, kInf);
  const size_t m = f[front[0]].size();
  for (int i : front) NAS_CHECK(f[i].size() == m, "row {} has {} objectives, expected {}", i, f[i].size(), m);

  std::vector<double> distance(n, 0.0);
  std::vector<size_t> order(n);
  for (size_t j = 0; j < m; ++j) {
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return f[front[a]][j] < f[front[b]][j]; });
    double lo = f[front[order.front()]][j], hi = f[front[order.back()]][j];
    double range = hi - lo;
    if (!(range > 0.0)) continue;
    distance[order.front()] = kInf;
    distance[order.back()] = kInf;
    for (size_t k = 1; k + 1 < n; ++k)
      distance[order[k]] += (f[front[order[k + 1]]][j] - f[front[order[k - 1]]][j]) / range;
  }
  return distance;
}

}  // namespace nas::search
