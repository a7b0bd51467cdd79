#include "search/survival.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "search/crowding_distance.h"
#include "search/non_dominated_sort.h"

namespace nas::search {

SurvivalResult rank_and_crowding_survival(const ObjectiveMatrix& f, const std::vector<double>& cv,
                                          int n_survive, Rng& rng) {
  NAS_CHECK(n_survive >= 0, "n_survive = {}", n_survive);
  NAS_CHECK(cv.size() == f.size(), "{} constraint violations for {} rows", cv.size(), f.size());
  const int n = static_cast<int>(f.size());
  n_survive = std::min(n_survive, n);
  SurvivalResult out;
  if (n_survive == 0) return out;

  struct Member {
    int row, rank;
    double crowding;
  };
  std::vector<Member> chosen;
  auto fronts = constrained_non_dominated_fronts(f, cv, n_survive);
  for (int r = 0; r < static_cast<int>(fronts.size()); ++r) {
    const auto& front = fronts[r];
    std::vector<double> crowding = crowding_distance(f, front);
    int room = n_survive - static_cast<int>(chosen.size());
    if (static_cast<int>(front.size()) <= room) {
      for (size_t k = 0; k < front.size(); ++k) chosen.push_back({front[k], r, crowding[k]});
      continue;
    }
    // Random order first, then a stable sort by descending crowding: equal distances end up in
    // random order.
    std::vector<size_t> order(front.size());
    std::iota(order.begin(), order.end(), size_t{0});
    rng.shuffle(order);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return crowding[a] > crowding[b]; });
    for (int k = 0; k < room; ++k) chosen.push_back({front[order[k]], r, crowding[order[k]]});
    break;
  }
  std::sort(chosen.begin(), chosen.end(), [](const Member& a, const Member& b) {
    return a.rank != b.rank ? a.rank < b.rank : a.row < b.row;
  });
  for (const auto& c : chosen) {
    out.survivors.push_back(c.row);
    out.rank.push_back(c.rank);
    out.crowding.push_back(c.crowding);
  }
  return out;
}

}  // namespace nas::search
