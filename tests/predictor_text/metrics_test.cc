#include "predictor/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/rng.h"

namespace nas::predictor {
namespace {

int sign(double v) { return (v > 0) - (v < 0); }

// Tau-b straight from its definition, over all n(n-1)/2 pairs.
double kendall_brute_force(const std::vector<double>& x, const std::vector<double>& y) {
  double concordant_minus_discordant = 0, untied_x = 0, untied_y = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    for (size_t j = i + 1; j < x.size(); ++j) {
      const int sx = sign(x[i] - x[j]), sy = sign(y[i] - y[j]);
      concordant_minus_discordant += sx * sy;
      untied_x += sx != 0;
      untied_y += sy != 0;
    }
  }
  return concordant_minus_discordant / std::sqrt(untied_x * untied_y);
}

// Average ranks by counting: rank(v_i) = #{v_j < v_i} + (#{v_j == v_i} + 1) / 2.
std::vector<double> ranks_brute_force(const std::vector<double>& v) {
  std::vector<double> r(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    double less = 0, equal = 0;
    for (double w : v) {
      less += w < v[i];
      equal += w == v[i];
    }
    r[i] = less + (equal + 1) / 2;
  }
  return r;
}

std::vector<double> random_values(Rng& rng, size_t n, int distinct) {
  std::vector<double> v(n);
  for (double& x : v) x = distinct > 0 ? static_cast<double>(rng.uniform_int(0, distinct - 1)) : rng.normal();
  return v;
}

TEST(MetricsTest, KendallHandComputedWithTies) {
  // Pairs: 2 concordant, 6 discordant, one tied in x only, one tied in both: n0 = 10, n1 = 2, n2 = 1,
  // tau_b = (2 - 6) / sqrt(8 * 9) (scipy.stats.kendalltau's documented example gives the same).
  const std::vector<double> x = {12, 2, 1, 12, 2}, y = {1, 4, 7, 1, 0};
  EXPECT_NEAR(kendall_tau_b(x, y), -4.0 / std::sqrt(72.0), 1e-15);
  EXPECT_NEAR(kendall_tau_b(x, y), -0.47140452079103173, 1e-15);
}

TEST(MetricsTest, SpearmanHandComputedWithTies) {
  // y ranks: 1, 2, 3.5, 5, 3.5 -> sum dxdy = 8, sum dx^2 = 10, sum dy^2 = 9.5.
  const std::vector<double> x = {1, 2, 3, 4, 5}, y = {5, 6, 7, 8, 7};
  EXPECT_NEAR(spearman_rho(x, y), 8.0 / std::sqrt(95.0), 1e-15);
  EXPECT_EQ(average_ranks({10, 20, 20, 5}), (std::vector<double>{2, 3.5, 3.5, 1}));
  EXPECT_EQ(average_ranks({3, 3, 3}), (std::vector<double>{2, 2, 2}));
}

TEST(MetricsTest, PearsonHandComputed) {
  // dx = -2..2, dy = -2, 0, 1, 0, 1: r = 6 / sqrt(10 * 6).
  EXPECT_NEAR(pearson_r({1, 2, 3, 4, 5}, {2, 4, 5, 4, 5}), 6.0 / std::sqrt(60.0), 1e-15);
  EXPECT_DOUBLE_EQ(pearson_r({1, 2, 3}, {-2, -4, -6}), -1.0);
}

TEST(MetricsTest, PerfectOrderingsAndDegenerateInputs) {
  const std::vector<double> up = {0.1, 0.5, 0.7, 3.0}, down = {9, 8, 1, -4};
  EXPECT_DOUBLE_EQ(kendall_tau_b(up, up), 1.0);
  EXPECT_DOUBLE_EQ(kendall_tau_b(up, down), -1.0);
  EXPECT_DOUBLE_EQ(spearman_rho(up, {1, 10, 100, 1000}), 1.0);
  EXPECT_TRUE(std::isnan(kendall_tau_b({1, 1, 1}, {1, 2, 3})));
  EXPECT_TRUE(std::isnan(spearman_rho({1, 2, 3}, {4, 4, 4})));
  EXPECT_TRUE(std::isnan(pearson_r({1, 2, 3}, {4, 4, 4})));
  EXPECT_TRUE(std::isnan(kendall_tau_b({1}, {2})));
  EXPECT_TRUE(std::isnan(pearson_r({}, {})));
  EXPECT_THROW(kendall_tau_b({1, 2}, {1, 2, 3}), Error);
  EXPECT_THROW(spearman_rho({1, 2}, {1}), Error);
  EXPECT_THROW(pearson_r({1}, {}), Error);
}

TEST(MetricsTest, KendallMatchesBruteForceOnRandomDataWithTies) {
  Rng rng(11);
  for (int trial = 0; trial < 200; ++trial) {
    const size_t n = static_cast<size_t>(rng.uniform_int(2, 80));
    const int distinct_x = static_cast<int>(rng.uniform_int(0, 6));  // 0 = continuous values
    const int distinct_y = static_cast<int>(rng.uniform_int(0, 6));
    const auto x = random_values(rng, n, distinct_x), y = random_values(rng, n, distinct_y);
    const double expected = kendall_brute_force(x, y);
    if (std::isnan(expected)) {
      EXPECT_TRUE(std::isnan(kendall_tau_b(x, y))) << "trial " << trial;
    } else {
      EXPECT_NEAR(kendall_tau_b(x, y), expected, 1e-12) << "trial " << trial << " n=" << n;
    }
  }
}

TEST(MetricsTest, KendallMatchesBruteForceOnLargeInput) {
  Rng rng(5);
  const auto x = random_values(rng, 3000, 50), y = random_values(rng, 3000, 0);
  std::vector<double> noisy(x.size());
  for (size_t i = 0; i < x.size(); ++i) noisy[i] = x[i] + 20 * y[i];
  EXPECT_NEAR(kendall_tau_b(x, noisy), kendall_brute_force(x, noisy), 1e-12);
  EXPECT_GT(kendall_tau_b(x, noisy), 0.2);
}

TEST(MetricsTest, SpearmanMatchesBruteForceRanks) {
  Rng rng(3);
  for (int trial = 0; trial < 100; ++trial) {
    const size_t n = static_cast<size_t>(rng.uniform_int(2, 60));
    const auto x = random_values(rng, n, static_cast<int>(rng.uniform_int(0, 5)));
    const auto y = random_values(rng, n, static_cast<int>(rng.uniform_int(0, 5)));
    EXPECT_EQ(average_ranks(x), ranks_brute_force(x)) << "trial " << trial;
    const double expected = pearson_r(ranks_brute_force(x), ranks_brute_force(y));
    if (std::isnan(expected)) {
      EXPECT_TRUE(std::isnan(spearman_rho(x, y)));
    } else {
      EXPECT_NEAR(spearman_rho(x, y), expected, 1e-12) << "trial " << trial;
    }
  }
}

TEST(MetricsTest, SpearmanWithoutTiesMatchesClassicFormula) {
  // rho = 1 - 6 sum d^2 / (n (n^2 - 1)) when there are no ties.
  Rng rng(8);
  const auto x = random_values(rng, 200, 0), y = random_values(rng, 200, 0);
  const auto rx = average_ranks(x), ry = average_ranks(y);
  double d2 = 0;
  for (size_t i = 0; i < x.size(); ++i) d2 += (rx[i] - ry[i]) * (rx[i] - ry[i]);
  const double n = 200;
  EXPECT_NEAR(spearman_rho(x, y), 1 - 6 * d2 / (n * (n * n - 1)), 1e-12);
}

TEST(MetricsTest, NanPairsAreSkipped) {
  const double nan = std::nan("");
  const std::vector<double> pred = {1, nan, 3, 4, 5, 2}, actual = {1, 7, 2, nan, 6, 3};
  auto [x, y] = drop_nan_pairs(pred, actual);
  EXPECT_EQ(x, (std::vector<double>{1, 3, 5, 2}));
  EXPECT_EQ(y, (std::vector<double>{1, 2, 6, 3}));
  const RankMetrics m = rank_metrics(pred, actual);
  EXPECT_EQ(m.n, 4u);
  EXPECT_DOUBLE_EQ(m.kendall_tau, kendall_tau_b(x, y));
  EXPECT_DOUBLE_EQ(m.spearman_rho, spearman_rho(x, y));
  EXPECT_DOUBLE_EQ(m.pearson_r, pearson_r(x, y));
  // Pairs (1,1) (3,2) (5,6) (2,3): 5 concordant, 1 discordant ((3,2) vs (2,3)), no ties.
  EXPECT_NEAR(m.kendall_tau, 4.0 / 6.0, 1e-15);
}

}  // namespace
}  // namespace nas::predictor
