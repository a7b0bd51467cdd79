#include <gtest/gtest.h>

#include "core/error.h"
#include "search/dominance.h"
#include "search/objectives.h"

namespace nas::search {
namespace {

TEST(DominanceTest, ParetoDominanceNeedsOneStrictImprovement) {
  EXPECT_EQ(compare_dominance({1, 2}, {2, 3}), Dominance::kADominates);
  EXPECT_EQ(compare_dominance({1, 3}, {1, 2}), Dominance::kBDominates);
  EXPECT_EQ(compare_dominance({1, 2}, {1, 2}), Dominance::kNeither);
  EXPECT_EQ(compare_dominance({1, 3}, {2, 2}), Dominance::kNeither);
  EXPECT_TRUE(dominates({0, 0, 0}, {0, 0, 1}));
  EXPECT_FALSE(dominates({0, 0, 1}, {0, 0, 1}));
  EXPECT_FALSE(dominates({0, 2, 0}, {1, 1, 1}));
}

TEST(DominanceTest, RejectsVectorsOfDifferentLengths) {
  EXPECT_THROW(compare_dominance({1, 2}, {1, 2, 3}), Error);
}

TEST(DominanceTest, ConstrainedDominationFollowsDeb2000) {
  // Feasible beats infeasible, whatever the objectives.
  EXPECT_EQ(compare_constrained({9, 9}, 0.0, {0, 0}, 0.5), Dominance::kADominates);
  EXPECT_EQ(compare_constrained({0, 0}, 0.5, {9, 9}, 0.0), Dominance::kBDominates);
  // Two infeasible: the smaller total violation wins; equal violations are incomparable.
  EXPECT_EQ(compare_constrained({0, 0}, 2.0, {9, 9}, 1.0), Dominance::kBDominates);
  EXPECT_EQ(compare_constrained({9, 9}, 0.25, {0, 0}, 1.0), Dominance::kADominates);
  EXPECT_EQ(compare_constrained({0, 0}, 1.0, {9, 9}, 1.0), Dominance::kNeither);
  // Two feasible: plain Pareto dominance.
  EXPECT_EQ(compare_constrained({1, 1}, 0.0, {2, 2}, 0.0), Dominance::kADominates);
  EXPECT_EQ(compare_constrained({1, 3}, 0.0, {2, 2}, 0.0), Dominance::kNeither);
  EXPECT_TRUE(constrained_dominates({5, 5}, 0.0, {1, 1}, 1e-9));
  EXPECT_FALSE(constrained_dominates({1, 1}, 1e-9, {5, 5}, 0.0));
}

TEST(DominanceTest, ConstraintViolationSumsPositiveParts) {
  EXPECT_DOUBLE_EQ(constraint_violation({}), 0.0);
  EXPECT_DOUBLE_EQ(constraint_violation({-1.0, 0.0, -3.0}), 0.0);
  EXPECT_DOUBLE_EQ(constraint_violation({0.5, -2.0, 1.25}), 1.75);
  EXPECT_EQ(constraint_violations({{1.0}, {-1.0}, {2.0}}), (std::vector<double>{1.0, 0.0, 2.0}));
}

TEST(DominanceTest, DirectionsNegateMaximisedObjectives) {
  std::vector<Direction> d = {Direction::kMaximize, Direction::kMinimize};
  EXPECT_EQ(to_minimized(std::vector<double>{93.5, 12.0}, d), (std::vector<double>{-93.5, 12.0}));
  // A more accurate and faster network dominates once accuracy is negated.
  ObjectiveMatrix f = to_minimized(ObjectiveMatrix{{94.0, 10.0}, {93.0, 11.0}}, d);
  EXPECT_TRUE(dominates(f[0], f[1]));
  EXPECT_EQ(parse_direction("max"), Direction::kMaximize);
  EXPECT_EQ(to_string(parse_direction("min")), "min");
  EXPECT_THROW(parse_direction("maximise"), ConfigError);
  EXPECT_THROW(to_minimized(std::vector<double>{1.0}, d), Error);
}

}  // namespace
}  // namespace nas::search
