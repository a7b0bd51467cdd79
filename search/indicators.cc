#include "search/indicators.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace nas::search {
namespace {

template <typename Distance>
double inverted_distance(const ObjectiveMatrix& approximation, const ObjectiveMatrix& reference_front,
                         Distance distance) {
  NAS_CHECK(!approximation.empty(), "empty approximation set");
  NAS_CHECK(!reference_front.empty(), "empty reference front");
  const size_t m = reference_front[0].size();
  for (const auto& a : approximation)
    NAS_CHECK(a.size() == m, "point of {} objectives, expected {}", a.size(), m);
  for (const auto& z : reference_front)
    NAS_CHECK(z.size() == m, "point of {} objectives, expected {}", z.size(), m);
  double total = 0.0;
  for (const auto& z : reference_front) {
    double best = std::numeric_limits<double>::infinity();
    for (const auto& a : approximation) best = std::min(best, distance(a, z));
    total += best;
  }
  return total / static_cast<double>(reference_front.size());
}

}  // namespace

double igd(const ObjectiveMatrix& approximation, const ObjectiveMatrix& reference_front) {
  return inverted_distance(approximation, reference_front, [](const auto& a, const auto& z) {
    double s = 0.0;
    for (size_t j = 0; j < z.size(); ++j) s += (a[j] - z[j]) * (a[j] - z[j]);
    return std::sqrt(s);
  });
}

double igd_plus(const ObjectiveMatrix& approximation, const ObjectiveMatrix& reference_front) {
  return inverted_distance(approximation, reference_front, [](const auto& a, const auto& z) {
    double s = 0.0;
    for (size_t j = 0; j < z.size(); ++j) {
      double d = std::max(a[j] - z[j], 0.0);
      s += d * d;
    }
    return std::sqrt(s);
  });
}

}  // namespace nas::search
