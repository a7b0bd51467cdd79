#include <limits>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/rng.h"
#include "search/crowding_distance.h"
#include "search/dominance.h"
#include "search/non_dominated_sort.h"
#include "search/survival.h"

namespace nas::search {
namespace {

using Fronts = std::vector<std::vector<int>>;
const double kInf = std::numeric_limits<double>::infinity();

// Row 3 is dominated only by row 1; row 4 by rows 1, 2 and 3; row 5 duplicates row 0; row 6 is
// dominated by everything.
const ObjectiveMatrix kPoints = {{1, 5}, {2, 3}, {3, 1}, {2, 4}, {4, 4}, {1, 5}, {5, 5}};

TEST(NonDominatedSortTest, HandCheckedFronts) {
  EXPECT_EQ(non_dominated_fronts(kPoints), (Fronts{{0, 1, 2, 5}, {3}, {4}, {6}}));
  EXPECT_EQ(non_dominated_fronts({{1, 4}, {2, 2}, {3, 3}, {4, 1}}), (Fronts{{0, 1, 3}, {2}}));
  EXPECT_EQ(non_dominated_fronts({}), Fronts{});
  EXPECT_EQ(non_dominated_fronts({{3, 3, 3}}), (Fronts{{0}}));
}

TEST(NonDominatedSortTest, StopsOnceEnoughRowsAreRanked) {
  EXPECT_EQ(non_dominated_fronts(kPoints, /*stop_after=*/1), (Fronts{{0, 1, 2, 5}}));
  EXPECT_EQ(non_dominated_fronts(kPoints, /*stop_after=*/4), (Fronts{{0, 1, 2, 5}}));
  EXPECT_EQ(non_dominated_fronts(kPoints, /*stop_after=*/5), (Fronts{{0, 1, 2, 5}, {3}}));
  EXPECT_EQ(non_dominated_fronts(kPoints, /*stop_after=*/100), non_dominated_fronts(kPoints));
}

TEST(NonDominatedSortTest, FrontsAgreeWithPairwiseDominanceOnRandomSets) {
  Rng rng(11);
  for (int trial = 0; trial < 50; ++trial) {
    const int n = 40, m = 2 + trial % 3;
    ObjectiveMatrix f(n, std::vector<double>(m));
    for (auto& row : f)
      for (auto& v : row) v = static_cast<double>(rng.uniform_int(0, 6));  // many ties
    Fronts fronts = non_dominated_fronts(f);
    std::vector<int> rank(n, -1);
    for (size_t r = 0; r < fronts.size(); ++r)
      for (int i : fronts[r]) rank[i] = static_cast<int>(r);
    for (int i = 0; i < n; ++i) {
      ASSERT_GE(rank[i], 0) << "trial " << trial << " row " << i;
      bool has_parent_in_previous_front = rank[i] == 0;
      for (int j = 0; j < n; ++j) {
        if (dominates(f[j], f[i])) {
          EXPECT_LT(rank[j], rank[i]) << "trial " << trial;
          has_parent_in_previous_front = has_parent_in_previous_front || rank[j] == rank[i] - 1;
        }
      }
      EXPECT_TRUE(has_parent_in_previous_front) << "trial " << trial << " row " << i;
    }
  }
}

TEST(NonDominatedSortTest, ConstrainedSortPutsFeasibleRowsFirst) {
  // Rows 0-2 feasible, rows 3-5 infeasible with violations 2, 1, 1. Row 3 has the best objectives.
  ObjectiveMatrix f = {{2, 2}, {1, 3}, {3, 3}, {0, 0}, {5, 5}, {6, 6}};
  std::vector<double> cv = {0, 0, 0, 2, 1, 1};
  EXPECT_EQ(constrained_non_dominated_fronts(f, cv), (Fronts{{0, 1}, {2}, {4, 5}, {3}}));
  EXPECT_EQ(constrained_non_dominated_fronts(f, cv, /*stop_after=*/3), (Fronts{{0, 1}, {2}}));
  EXPECT_THROW(constrained_non_dominated_fronts(f, {0, 0}), Error);
}

TEST(NonDominatedSortTest, ParetoFrontDropsDominatedRowsAndDuplicates) {
  EXPECT_EQ(pareto_front({{2, 2}, {1, 3}, {2, 2}, {3, 3}}), (ObjectiveMatrix{{1, 3}, {2, 2}}));
  EXPECT_EQ(pareto_front(kPoints), (ObjectiveMatrix{{1, 5}, {2, 3}, {3, 1}}));
  EXPECT_EQ(non_dominated_indices(kPoints), (std::vector<int>{0, 1, 2, 5}));
  EXPECT_THROW(non_dominated_fronts({{1, 2}, {1}}), Error);
}

TEST(CrowdingDistanceTest, HandCheckedValues) {
  // Objective 0 (range 4): row 1 gets (3 - 0) / 4, row 2 gets (4 - 1) / 4.
  // Objective 1 (range 6): row 1 gets (6 - 2) / 6, row 2 gets (3 - 0) / 6.
  ObjectiveMatrix f = {{0, 6}, {1, 3}, {3, 2}, {4, 0}};
  std::vector<double> d = crowding_distance(f, {0, 1, 2, 3});
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(d[0], kInf);
  EXPECT_DOUBLE_EQ(d[1], 0.75 + 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(d[2], 0.75 + 0.5);
  EXPECT_EQ(d[3], kInf);
  // Results align with the order of `front`.
  std::vector<double> shuffled = crowding_distance(f, {2, 0, 3, 1});
  EXPECT_EQ(shuffled, (std::vector<double>{d[2], d[0], d[3], d[1]}));
}

TEST(CrowdingDistanceTest, OnlyTheRowsOfTheFrontCount) {
  ObjectiveMatrix f = {{0, 6}, {100, 100}, {1, 3}, {3, 2}, {4, 0}};
  std::vector<double> d = crowding_distance(f, {0, 2, 3, 4});
  EXPECT_DOUBLE_EQ(d[1], 0.75 + 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(d[2], 1.25);
}

TEST(CrowdingDistanceTest, ZeroRangeObjectivesAddNothing) {
  ObjectiveMatrix f = {{1, 7}, {2, 7}, {3, 7}, {5, 7}};
  std::vector<double> d = crowding_distance(f, {0, 1, 2, 3});
  EXPECT_EQ(d, (std::vector<double>{kInf, 0.5, 0.75, kInf}));
  ObjectiveMatrix same = {{1, 1}, {1, 1}, {1, 1}};
  EXPECT_EQ(crowding_distance(same, {0, 1, 2}), (std::vector<double>{0, 0, 0}));
}

TEST(CrowdingDistanceTest, SmallFrontsAreAllBoundary) {
  ObjectiveMatrix f = {{1, 2}, {2, 1}};
  EXPECT_EQ(crowding_distance(f, {0, 1}), (std::vector<double>{kInf, kInf}));
  EXPECT_EQ(crowding_distance(f, {1}), (std::vector<double>{kInf}));
  EXPECT_TRUE(crowding_distance(f, {}).empty());
  EXPECT_THROW(crowding_distance(f, {0, 1, 2}), Error);
}

TEST(SurvivalTest, KeepsWholeFrontsThenCutsByCrowding) {
  // Front 0 = rows 0-4 ({0,6} {1,3} {3,2} {4,0} and the crowded {1.1,2.9}); front 1 = row 5.
  ObjectiveMatrix f = {{0, 6}, {1, 3}, {3, 2}, {4, 0}, {1.1, 2.9}, {5, 5}};
  std::vector<double> cv(f.size(), 0.0);
  Rng rng(1);
  SurvivalResult all = rank_and_crowding_survival(f, cv, 6, rng);
  EXPECT_EQ(all.survivors, (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(all.rank, (std::vector<int>{0, 0, 0, 0, 0, 1}));
  // Cutting front 0 to 4 rows drops row 4, the most crowded (it sits between rows 1 and 2).
  std::vector<double> d = crowding_distance(f, {0, 1, 2, 3, 4});
  EXPECT_NEAR(d[1], 1.1 / 4 + 3.1 / 6, 1e-12);
  EXPECT_NEAR(d[4], 2.0 / 4 + 1.0 / 6, 1e-12);
  EXPECT_NEAR(d[2], 2.9 / 4 + 2.9 / 6, 1e-12);
  SurvivalResult cut = rank_and_crowding_survival(f, cv, 4, rng);
  EXPECT_EQ(cut.survivors, (std::vector<int>{0, 1, 2, 3}));
  for (size_t k = 0; k < cut.survivors.size(); ++k) EXPECT_EQ(cut.crowding[k], d[cut.survivors[k]]);
}

TEST(SurvivalTest, InfeasibleRowsSurviveOnlyAfterFeasibleOnes) {
  ObjectiveMatrix f = {{0, 0}, {5, 5}, {6, 6}, {1, 1}};
  std::vector<double> cv = {3.0, 0.0, 0.0, 1.0};
  Rng rng(2);
  SurvivalResult s = rank_and_crowding_survival(f, cv, 3, rng);
  EXPECT_EQ(s.survivors, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(s.rank, (std::vector<int>{0, 1, 2}));
}

}  // namespace
}  // namespace nas::search
