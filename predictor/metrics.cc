#include "predictor/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>

#include "core/error.h"

namespace nas::predictor {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Pairs among runs of equal values in a sorted range: sum over runs of k(k-1)/2.
template <typename Equal>
int64_t tied_pairs(size_t n, Equal equal) {
  int64_t total = 0;
  size_t run = 1;
  for (size_t i = 1; i <= n; ++i) {
    if (i < n && equal(i - 1, i)) {
      ++run;
    } else {
      total += static_cast<int64_t>(run) * static_cast<int64_t>(run - 1) / 2;
      run = 1;
    }
  }
  return total;
}

// Sorts v[lo, hi) ascending with a stable merge sort and returns the number of strict inversions
// (pairs i < j with v[i] > v[j]); equal values are not counted.
int64_t merge_sort_inversions(std::vector<double>& v, std::vector<double>& buffer, size_t lo, size_t hi) {
  if (hi - lo < 2) return 0;
  size_t mid = lo + (hi - lo) / 2;
  int64_t swaps = merge_sort_inversions(v, buffer, lo, mid) + merge_sort_inversions(v, buffer, mid, hi);
  size_t i = lo, j = mid, k = lo;
  while (i < mid && j < hi) {
    if (v[j] < v[i]) {
      swaps += static_cast<int64_t>(mid - i);
      buffer[k++] = v[j++];
    } else {
      buffer[k++] = v[i++];
    }
  }
  while (i < mid) buffer[k++] = v[i++];
  while (j < hi) buffer[k++] = v[j++];
  std::copy(buffer.begin() + static_cast<std::ptrdiff_t>(lo),
            buffer.begin() + static_cast<std::ptrdiff_t>(hi), v.begin() + static_cast<std::ptrdiff_t>(lo));
  return swaps;
}

void check_sizes(const std::vector<double>& x, const std::vector<double>& y) {
  NAS_CHECK(x.size() == y.size(), "correlation of vectors of different sizes ({} vs {})", x.size(), y.size());
}

}  // namespace

double kendall_tau_b(const std::vector<double>& x, const std::vector<double>& y) {
  check_sizes(x, y);
  const size_t n = x.size();
  if (n < 2) return kNaN;
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return x[a] < x[b] || (x[a] == x[b] && y[a] < y[b]); });
  std::vector<double> xs(n), ys(n);
  for (size_t i = 0; i < n; ++i) {
    xs[i] = x[order[i]];
    ys[i] = y[order[i]];
  }
  const int64_t n0 = static_cast<int64_t>(n) * static_cast<int64_t>(n - 1) / 2;
  const int64_t n1 = tied_pairs(n, [&](size_t a, size_t b) { return xs[a] == xs[b]; });
  const int64_t n3 = tied_pairs(n, [&](size_t a, size_t b) { return xs[a] == xs[b] && ys[a] == ys[b]; });
  // Within an x-tie run y is ascending, so those pairs add no inversions; every other pair is an
  // inversion of y exactly when it is discordant.
  std::vector<double> buffer(n);
  const int64_t discordant = merge_sort_inversions(ys, buffer, 0, n);
  const int64_t n2 = tied_pairs(n, [&](size_t a, size_t b) { return ys[a] == ys[b]; });
  // n_c + n_d = n0 - n1 - n2 + n3 (pairs tied in neither variable).
  const int64_t concordant = n0 - n1 - n2 + n3 - discordant;
  const double denom = std::sqrt(static_cast<double>(n0 - n1)) * std::sqrt(static_cast<double>(n0 - n2));
  if (denom == 0.0) return kNaN;
  return static_cast<double>(concordant - discordant) / denom;
}

std::vector<double> average_ranks(const std::vector<double>& v) {
  const size_t n = v.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> ranks(n);
  size_t i = 0;
  while (i < n) {
    size_t j = i + 1;
    while (j < n && v[order[j]] == v[order[i]]) ++j;
    // Positions i..j-1 (ranks i+1..j) are tied: each gets their mean.
    const double rank = 0.5 * static_cast<double>(i + 1 + j);
    for (size_t k = i; k < j; ++k) ranks[order[k]] = rank;
    i = j;
  }
  return ranks;
}

double pearson_r(const std::vector<double>& x, const std::vector<double>& y) {
  check_sizes(x, y);
  const size_t n = x.size();
  if (n < 2) return kNaN;
  double mx = 0.0, my = 0.0;
  for (size_t i = 0; i < n; ++i) {
    mx += x[i];
    my += y[i];
  }
  mx /= static_cast<double>(n);
  my /= static_cast<double>(n);
  double sxy = 0.0, sxx = 0.0, syy = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double dx = x[i] - mx, dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx == 0.0 || syy == 0.0) return kNaN;
  // Rounding can push |r| a hair above 1 for perfectly correlated data.
  return std::clamp(sxy / (std::sqrt(sxx) * std::sqrt(syy)), -1.0, 1.0);
}

double spearman_rho(const std::vector<double>& x, const std::vector<double>& y) {
  check_sizes(x, y);
  if (x.size() < 2) return kNaN;
  return pearson_r(average_ranks(x), average_ranks(y));
}

std::pair<std::vector<double>, std::vector<double>> drop_nan_pairs(const std::vector<double>& x,
                                                                   const std::vector<double>& y) {
  check_sizes(x, y);
  std::pair<std::vector<double>, std::vector<double>> out;
  out.first.reserve(x.size());
  out.second.reserve(y.size());
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i]) || std::isnan(y[i])) continue;
    out.first.push_back(x[i]);
    out.second.push_back(y[i]);
  }
  return out;
}

RankMetrics rank_metrics(const std::vector<double>& predicted, const std::vector<double>& actual) {
  auto [x, y] = drop_nan_pairs(predicted, actual);
  RankMetrics m;
  m.n = x.size();
  m.kendall_tau = kendall_tau_b(x, y);
  m.spearman_rho = spearman_rho(x, y);
  m.pearson_r = pearson_r(x, y);
  return m;
}

}  // namespace nas::predictor
