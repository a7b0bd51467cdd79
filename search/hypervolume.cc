#include "search/hypervolume.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <limits>
#include <map>

#include "core/error.h"

namespace nas::search {
namespace {

// Rows strictly better than `reference` in every objective.
ObjectiveMatrix contributing(const ObjectiveMatrix& points, const std::vector<double>& reference) {
  const size_t m = reference.size();
  NAS_CHECK(m > 0, "hypervolume needs at least one objective");
  ObjectiveMatrix out;
  for (size_t i = 0; i < points.size(); ++i) {
    NAS_CHECK(points[i].size() == m, "point {} has {} objectives, reference has {}", i, points[i].size(), m);
    bool inside = true;
    for (size_t j = 0; j < m && inside; ++j) inside = points[i][j] < reference[j];
    if (inside) out.push_back(points[i]);
  }
  return out;
}

double hv1(const ObjectiveMatrix& p, const std::vector<double>& r) {
  double best = r[0];
  for (const auto& x : p) best = std::min(best, x[0]);
  return r[0] - best;
}

// `p` contributing, m == 2.
double hv2(ObjectiveMatrix p, const std::vector<double>& r) {
  std::sort(p.begin(), p.end());
  double area = 0.0, ceiling = r[1];
  for (const auto& x : p) {
    if (x[1] < ceiling) {
      area += (r[0] - x[0]) * (ceiling - x[1]);
      ceiling = x[1];
    }
  }
  return area;
}

// The dominated area of a growing set of 2-D points below (r0, r1), updated per insertion.
class Staircase {
 public:
  Staircase(double r0, double r1) : r0_(r0), r1_(r1) {}

  void insert(double x, double y) {
    auto it = steps_.lower_bound(x);  // first step with x' >= x
    if (it != steps_.end() && it->first == x && it->second <= y) return;
    if (it != steps_.begin() && std::prev(it)->second <= y) return;
    // Walk right over the steps the new point covers, adding the strips between its y and the old
    // staircase height.
    double height = it != steps_.begin() ? std::prev(it)->second : r1_;
    double left = x;
    while (it != steps_.end() && it->second >= y) {
      area_ += (it->first - left) * (height - y);
      left = it->first;
      height = it->second;
      it = steps_.erase(it);
    }
    double right = it != steps_.end() ? it->first : r0_;
    area_ += (right - left) * (height - y);
    steps_.emplace(x, y);
  }
  double area() const { return area_; }

 private:
  double r0_, r1_, area_ = 0.0;
  std::map<double, double> steps_;  // x -> y; x increasing, y strictly decreasing
};

// `p` contributing, m == 3.
double hv3(ObjectiveMatrix p, const std::vector<double>& r) {
  std::sort(p.begin(), p.end(), [](const auto& a, const auto& b) { return a[2] < b[2]; });
  Staircase stairs(r[0], r[1]);
  double volume = 0.0;
  for (size_t i = 0; i < p.size(); ++i) {
    stairs.insert(p[i][0], p[i][1]);
    double top = i + 1 < p.size() ? p[i + 1][2] : r[2];
    volume += stairs.area() * (top - p[i][2]);
  }
  return volume;
}

double hv_contributing(ObjectiveMatrix p, const std::vector<double>& r) {
  const size_t m = r.size();
  if (p.empty()) return 0.0;
  if (m == 1) return hv1(p, r);
  if (m == 2) return hv2(std::move(p), r);
  if (m == 3) return hv3(std::move(p), r);
  std::sort(p.begin(), p.end(), [m](const auto& a, const auto& b) { return a[m - 1] < b[m - 1]; });
  std::vector<double> r_low(r.begin(), r.end() - 1);
  ObjectiveMatrix below;
  double volume = 0.0;
  for (size_t i = 0; i < p.size(); ++i) {
    below.emplace_back(p[i].begin(), p[i].end() - 1);
    double top = i + 1 < p.size() ? p[i + 1][m - 1] : r[m - 1];
    if (top > p[i][m - 1]) volume += hv_contributing(below, r_low) * (top - p[i][m - 1]);
  }
  return volume;
}

}  // namespace

double hypervolume(const ObjectiveMatrix& points, const std::vector<double>& reference) {
  return hv_contributing(contributing(points, reference), reference);
}

double hypervolume_brute_force(const ObjectiveMatrix& points, const std::vector<double>& reference) {
  ObjectiveMatrix p = contributing(points, reference);
  const size_t n = p.size(), m = reference.size();
  NAS_CHECK(n <= 16, "inclusion-exclusion oracle limited to 16 points, got {}", n);
  double total = 0.0;
  for (uint32_t subset = 1; subset < (1u << n); ++subset) {
    std::vector<double> corner(m, -std::numeric_limits<double>::infinity());
    int size = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!(subset & (1u << i))) continue;
      ++size;
      for (size_t j = 0; j < m; ++j) corner[j] = std::max(corner[j], p[i][j]);
    }
    double box = 1.0;
    for (size_t j = 0; j < m; ++j) box *= reference[j] - corner[j];
    total += size % 2 == 1 ? box : -box;
  }
  return total;
}

}  // namespace nas::search
