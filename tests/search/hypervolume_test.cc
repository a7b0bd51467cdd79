#include <cmath>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/rng.h"
#include "search/hypervolume.h"
#include "search/indicators.h"
#include "search/non_dominated_sort.h"

namespace nas::search {
namespace {

// n points in [0, 1)^m; with `grid` > 0 the coordinates are multiples of 1 / grid, so that ties in
// every objective are common.
ObjectiveMatrix random_points(Rng& rng, int n, int m, int grid = 0) {
  ObjectiveMatrix f(n, std::vector<double>(m));
  for (auto& row : f)
    for (auto& v : row)
      v = grid > 0 ? static_cast<double>(rng.uniform_int(0, grid - 1)) / grid : rng.uniform();
  return f;
}

TEST(HypervolumeTest, HandCheckedValues) {
  EXPECT_DOUBLE_EQ(hypervolume({{1, 2}, {2, 1}}, {3, 3}), 3.0);
  EXPECT_DOUBLE_EQ(hypervolume({{1, 2}, {2, 1}, {2, 2}, {1, 2}}, {3, 3}), 3.0);  // dominated, duplicate
  EXPECT_DOUBLE_EQ(hypervolume({{0.5}}, {2}), 1.5);
  // Two boxes 2x2x1 and 1x1x2 overlapping in a 1x1x1 cube: 4 + 2 - 1.
  EXPECT_DOUBLE_EQ(hypervolume({{0, 0, 1}, {1, 1, 0}}, {2, 2, 2}), 5.0);
  EXPECT_DOUBLE_EQ(hypervolume({{0, 0, 0, 0}}, {1, 2, 3, 4}), 24.0);
  EXPECT_DOUBLE_EQ(hypervolume({}, {1, 1}), 0.0);
}

TEST(HypervolumeTest, PointsNotStrictlyInsideTheReferenceContributeNothing) {
  EXPECT_DOUBLE_EQ(hypervolume({{1, 3}, {3, 1}, {4, 0}}, {3, 3}), 0.0);
  EXPECT_DOUBLE_EQ(hypervolume({{1, 1}, {0, 5}}, {3, 3}), 4.0);
  EXPECT_DOUBLE_EQ(hypervolume({{1, 1, 3}, {2, 2, 2}}, {3, 3, 3}), 1.0);
  EXPECT_DOUBLE_EQ(hypervolume_brute_force({{1, 1, 3}, {2, 2, 2}}, {3, 3, 3}), 1.0);
}

TEST(HypervolumeTest, RejectsBadShapes) {
  EXPECT_THROW(hypervolume({{1, 2}}, {3, 3, 3}), Error);
  EXPECT_THROW(hypervolume({{}}, {}), Error);
  Rng rng(1);
  EXPECT_THROW(hypervolume_brute_force(random_points(rng, 20, 2), {2, 2}), Error);
}

class HypervolumeOracleTest : public ::testing::TestWithParam<int> {};

TEST_P(HypervolumeOracleTest, MatchesInclusionExclusionOnSmallSets) {
  const int m = GetParam();
  Rng rng(7 + m);
  const std::vector<double> reference(m, 1.1);
  for (int trial = 0; trial < 200; ++trial) {
    int n = 1 + trial % 12;
    ObjectiveMatrix f = random_points(rng, n, m, /*grid=*/trial % 2 == 0 ? 0 : 5);
    if (trial % 3 == 0) f.push_back(std::vector<double>(m, 1.2));  // outside the reference box
    double exact = hypervolume_brute_force(f, reference);
    EXPECT_NEAR(hypervolume(f, reference), exact, 1e-12) << "m " << m << " trial " << trial;
  }
}

INSTANTIATE_TEST_SUITE_P(Objectives, HypervolumeOracleTest, ::testing::Values(2, 3, 4));

TEST(HypervolumeTest, LargeThreeObjectiveSetsDoNotDependOnObjectiveOrder) {
  // 2000 points on the surface x + y + z = 1. The 3-D algorithm slices along the last column, so
  // each column order runs it on different slices; all six must agree.
  Rng rng(5);
  ObjectiveMatrix f;
  for (int i = 0; i < 2000; ++i) {
    double a = rng.uniform(), b = rng.uniform() * (1 - a);
    f.push_back({a, b, 1 - a - b});
  }
  const std::vector<double> reference = {1.1, 1.1, 1.1};
  const double volume = hypervolume(f, reference);
  const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
  for (const auto& p : perms) {
    ObjectiveMatrix g;
    for (const auto& row : f) g.push_back({row[p[0]], row[p[1]], row[p[2]]});
    EXPECT_NEAR(hypervolume(g, reference), volume, 1e-12) << p[0] << p[1] << p[2];
  }
  // No point below the plane (x + y + z < 1) is dominated, so the volume is at most the box minus the
  // corner simplex (1.1^3 - 1/6); 2000 points come close to that bound.
  EXPECT_LT(volume, 1.331 - 1.0 / 6.0);
  EXPECT_GT(volume, 1.331 - 1.0 / 6.0 - 0.02);
}

TEST(HypervolumeTest, MonteCarloAgreesInThreeDimensions) {
  Rng rng(9);
  ObjectiveMatrix f = random_points(rng, 200, 3);
  ObjectiveMatrix front = pareto_front(f);
  const std::vector<double> reference = {1, 1, 1};
  int inside = 0;
  const int samples = 200000;
  for (int s = 0; s < samples; ++s) {
    std::vector<double> p = {rng.uniform(), rng.uniform(), rng.uniform()};
    for (const auto& q : front) {
      if (q[0] <= p[0] && q[1] <= p[1] && q[2] <= p[2]) {
        ++inside;
        break;
      }
    }
  }
  double estimate = static_cast<double>(inside) / samples;
  // Binomial standard error is at most 0.5 / sqrt(samples) ~ 0.0011.
  EXPECT_NEAR(hypervolume(f, reference), estimate, 0.006);
  EXPECT_DOUBLE_EQ(hypervolume(f, reference), hypervolume(front, reference));
}

TEST(IndicatorsTest, IgdPlusHandChecked) {
  // d+((2,2), (1,3)) = sqrt(1^2 + 0^2) = 1; d+((2,2), (3,1)) = 1.
  EXPECT_DOUBLE_EQ(igd_plus({{2, 2}}, {{1, 3}, {3, 1}}), 1.0);
  EXPECT_DOUBLE_EQ(igd({{2, 2}}, {{1, 3}, {3, 1}}), std::sqrt(2.0));
  // Approximation {(1,4), (3,3)} against reference {(1,3), (2,2), (4,1)}:
  //   z=(1,3): (1,4) -> sqrt(0 + 1) = 1;        (3,3) -> 2         => 1
  //   z=(2,2): (1,4) -> sqrt(0 + 4) = 2;        (3,3) -> sqrt(2)   => sqrt(2)
  //   z=(4,1): (1,4) -> 3;                      (3,3) -> sqrt(0+4) => 2
  ObjectiveMatrix a = {{1, 4}, {3, 3}};
  ObjectiveMatrix z = {{1, 3}, {2, 2}, {4, 1}};
  EXPECT_DOUBLE_EQ(igd_plus(a, z), (1.0 + std::sqrt(2.0) + 2.0) / 3.0);
  // Plain IGD for the same sets: (1,3)->1; (2,2)->min(sqrt5, sqrt2); (4,1)->min(sqrt18, sqrt5).
  EXPECT_DOUBLE_EQ(igd(a, z), (1.0 + std::sqrt(2.0) + std::sqrt(5.0)) / 3.0);
  // A point better than every reference point has IGD+ 0 but IGD > 0: IGD+ is Pareto compliant.
  EXPECT_DOUBLE_EQ(igd_plus({{0, 0}}, z), 0.0);
  EXPECT_GT(igd({{0, 0}}, z), 0.0);
  EXPECT_DOUBLE_EQ(igd_plus(z, z), 0.0);
  EXPECT_THROW(igd_plus({}, z), Error);
  EXPECT_THROW(igd_plus({{1, 2, 3}}, z), Error);
}

}  // namespace
}  // namespace nas::search
