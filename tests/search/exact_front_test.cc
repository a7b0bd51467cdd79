#include "search/exact_front.h"

#include <algorithm>
#include <iostream>
#include <set>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/table.h"
#include "search/dominance.h"
#include "search/metric_source.h"
#include "search/non_dominated_sort.h"
#include "search/table_source.h"
#include "tests/search/toy_space.h"

namespace nas::search {
namespace {

ObjectiveMatrix random_points(Rng& rng, int n, int m, int levels) {
  ObjectiveMatrix f(n, std::vector<double>(m));
  for (auto& row : f)
    for (auto& v : row) v = static_cast<double>(rng.uniform_int(0, levels - 1));  // ties on purpose
  return f;
}

TEST(SortedNonDominatedTest, AgreesWithThePairwiseScanOnRandomSets) {
  Rng rng(17);
  for (int trial = 0; trial < 200; ++trial) {
    int m = 2 + trial % 3;
    ObjectiveMatrix f = random_points(rng, 1 + trial % 60, m, trial % 2 ? 5 : 1000);
    EXPECT_EQ(sorted_non_dominated_indices(f), non_dominated_indices(f)) << "trial " << trial;
  }
  EXPECT_TRUE(sorted_non_dominated_indices({}).empty());
  EXPECT_THROW(sorted_non_dominated_indices({{1, 2}, {1}}), Error);
}

// The exact NB201 front (maximise acc_cifar10, minimise lat_ms_pixel3) by enumeration against a brute-force
// pairwise scan of the table rows themselves.
TEST(ExactFrontTest, Nb201FrontMatchesBruteForceOverTheTable) {
  auto space = spaces::make_space("nb201");
  TableSource table(*space, data_path("nb201.csv"));
  Problem problem(*space, {{"acc_cifar10", Direction::kMaximize}, {"lat_ms_pixel3", Direction::kMinimize}});
  MetricEvaluator evaluator(problem.objectives(), {}, {&table});
  ExactFront front = exact_front(problem, evaluator);
  EXPECT_EQ(front.enumerated, 15625u);
  EXPECT_EQ(front.feasible, 15625u);
  ASSERT_FALSE(front.genotypes.empty());

  const auto& acc = table.table().numbers("acc_cifar10");
  const auto& lat = table.table().numbers("lat_ms_pixel3");
  ObjectiveMatrix all;
  for (size_t r = 0; r < acc.size(); ++r) all.push_back({-acc[r], lat[r]});
  std::set<std::string> brute;
  for (int r : non_dominated_indices(all)) brute.insert(table.table().text(static_cast<size_t>(r), "arch_str"));
  std::set<std::string> found;
  for (const auto& g : front.genotypes) found.insert(space->format(g));
  EXPECT_EQ(found, brute);
  // Values are the table's, and the front is sorted by its minimised objectives.
  for (size_t i = 0; i < front.genotypes.size(); ++i) {
    EXPECT_DOUBLE_EQ(front.objectives[i][0], table.value(front.genotypes[i], "acc_cifar10"));
    if (i > 0) EXPECT_LE(-front.objectives[i - 1][0], -front.objectives[i][0]);
  }
  std::cout << "NB201 exact front (acc_cifar10 max, lat_ms_pixel3 min): " << front.genotypes.size() << " cells\n";
}

TEST(ExactFrontTest, ConstraintsRestrictTheFrontToFeasibleCells) {
  auto space = spaces::make_space("nb201");
  TableSource table(*space, data_path("nb201.csv"));
  MetricConstraint budget = MetricConstraint::parse("lat_ms_pixel3 <= 12");
  Problem problem(*space, {{"acc_cifar10", Direction::kMaximize}, {"params_M_cifar10", Direction::kMinimize}},
                  {budget.to_string()});
  MetricEvaluator evaluator(problem.objectives(), {budget}, {&table});
  ExactFront front = exact_front(problem, evaluator);
  const auto& lat = table.table().numbers("lat_ms_pixel3");
  const auto& acc = table.table().numbers("acc_cifar10");
  const auto& params = table.table().numbers("params_M_cifar10");
  uint64_t feasible = 0;
  ObjectiveMatrix rows;
  std::vector<size_t> ids;
  for (size_t r = 0; r < lat.size(); ++r)
    if (lat[r] <= 12) {
      ++feasible;
      rows.push_back({-acc[r], params[r]});
      ids.push_back(r);
    }
  EXPECT_EQ(front.feasible, feasible);
  EXPECT_LT(feasible, 15625u);
  std::set<std::string> brute, found;
  for (int i : non_dominated_indices(rows))
    brute.insert(table.table().text(ids[static_cast<size_t>(i)], "arch_str"));
  for (const auto& g : front.genotypes) {
    found.insert(space->format(g));
    EXPECT_LE(table.value(g, "lat_ms_pixel3"), 12.0);
  }
  EXPECT_EQ(found, brute);
}

// On a toy space small enough to list by hand, enumeration finds exactly the brute-force Pareto set.
TEST(ExactFrontTest, ToySpaceEnumerationMatchesBruteForce) {
  toy::ToySpace space(/*length=*/3, /*cardinality=*/7);
  Problem problem(space, {{"f1"}, {"f2"}});
  SerialEvaluator evaluator([](const spaces::Genotype& x) { return Evaluation{toy::zdt1(x, 7), {}}; });
  ExactFront front = exact_front(problem, evaluator, /*batch_size=*/50);
  EXPECT_EQ(front.enumerated, 343u);
  std::set<std::vector<int>> expected;
  ObjectiveMatrix f;
  std::vector<spaces::Genotype> all;
  for (uint64_t i = 0; i < 343; ++i) {
    all.push_back(space.at(i));
    f.push_back(toy::zdt1(all.back(), 7));
  }
  for (int i : non_dominated_indices(f)) expected.insert(all[static_cast<size_t>(i)].genes);
  std::set<std::vector<int>> found;
  for (const auto& g : front.genotypes) found.insert(g.genes);
  EXPECT_EQ(found, expected);
  EXPECT_EQ(found.size(), 7u);  // genes 1.. all zero (toy_space.h)
}

TEST(ExactFrontTest, NonEnumerableSpacesAreRejected) {
  toy::ToySpace space(/*length=*/40, /*cardinality=*/7);  // 7^40 overflows: size() is nullopt
  Problem problem(space, {{"f1"}, {"f2"}});
  SerialEvaluator evaluator([](const spaces::Genotype& x) { return Evaluation{toy::zdt1(x, 7), {}}; });
  EXPECT_THROW(exact_front(problem, evaluator), SpaceError);
}

}  // namespace
}  // namespace nas::search
