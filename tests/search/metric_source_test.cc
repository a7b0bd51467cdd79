#include "search/metric_source.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/table.h"
#include "search/graph_cost_source.h"
#include "search/table_source.h"
#include "spaces/search_space.h"

namespace nas::search {
namespace {

const std::string kArch1 =
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|";

class TableSourceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    space_ = spaces::make_space("nb201").release();
    source_ = new TableSource(*space_, data_path("nb201.csv"));
  }
  static void TearDownTestSuite() {
    delete source_;
    delete space_;
  }
  static spaces::SearchSpace* space_;
  static TableSource* source_;
};
spaces::SearchSpace* TableSourceTest::space_ = nullptr;
TableSource* TableSourceTest::source_ = nullptr;

// Reads the raw CSV line of data/nb201.csv for `arch` (independently of nas::Table) and returns the cell
// in column `column` as a number.
double raw_cell(const std::string& arch, const std::string& column) {
  std::ifstream in(data_path("nb201.csv"));
  std::string header, line;
  std::getline(in, header);
  std::vector<std::string> names;
  std::stringstream hs(header);
  for (std::string n; std::getline(hs, n, ',');) names.push_back(n);
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ls(line);
    for (std::string c; std::getline(ls, c, ',');) cells.push_back(c);
    if (cells.size() > 1 && cells[1] == arch)
      for (size_t i = 0; i < names.size(); ++i)
        if (names[i] == column) return std::stod(cells[i]);
  }
  return std::nan("");
}

TEST_F(TableSourceTest, ReturnsTheTableValuesOfRealCells) {
  // Row 1 of the table (arch_idx 1), hand-checked in data/nb201.csv: acc 93.66 %, pixel3 17.2381 ms.
  spaces::Genotype g = space_->parse(kArch1);
  auto est = source_->estimate({g}, {"acc_cifar10", "lat_ms_pixel3"});
  ASSERT_EQ(est.size(), 1u);
  ASSERT_EQ(est[0].size(), 2u);
  EXPECT_DOUBLE_EQ(est[0][0].median, 93.66);
  EXPECT_DOUBLE_EQ(est[0][1].median, 17.2381);
  EXPECT_DOUBLE_EQ(est[0][0].p10, 93.66);
  EXPECT_DOUBLE_EQ(est[0][0].p90, 93.66);
  EXPECT_EQ(source_->row_of(g), 1);
}

TEST_F(TableSourceTest, BatchedLookupsMatchTheCsvInInputOrder) {
  Rng rng(5);
  std::vector<spaces::Genotype> xs;
  for (int i = 0; i < 40; ++i) xs.push_back(space_->sample(rng));
  const std::vector<std::string> metrics = {"lat_ms_pixel3", "acc_cifar10", "flops_M_cifar10"};
  auto est = source_->estimate(xs, metrics);
  ASSERT_EQ(est.size(), xs.size());
  for (size_t i = 0; i < xs.size(); i += 7)
    for (size_t j = 0; j < metrics.size(); ++j)
      EXPECT_DOUBLE_EQ(est[i][j].median, raw_cell(space_->format(xs[i]), metrics[j]))
          << space_->format(xs[i]) << " " << metrics[j];
}

TEST_F(TableSourceTest, UnknownMetricsAndGenotypesAreReported) {
  EXPECT_TRUE(source_->provides("acc_cifar10"));
  EXPECT_FALSE(source_->provides("arch_str"));  // text column
  EXPECT_FALSE(source_->provides("acc_mnist"));
  spaces::Genotype g = space_->parse(kArch1);
  try {
    source_->estimate({g}, {"acc_mnist"});
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("acc_mnist"), std::string::npos) << e.what();
  }
  spaces::Genotype bad;
  bad.genes = {0, 0, 0, 0, 0, 9};
  EXPECT_THROW(source_->estimate({bad}, {"acc_cifar10"}), SpaceError);
}

TEST_F(TableSourceTest, ReferencePointIsComputedFromTheTable) {
  // Issue 4's reference point: median acc_cifar10 = 90.745 %, 90th percentile lat_ms_pixel3 = 19.223 ms.
  EXPECT_NEAR(quantile(source_->table().numbers("acc_cifar10"), 0.5), 90.745, 5e-4);
  EXPECT_NEAR(quantile(source_->table().numbers("lat_ms_pixel3"), 0.9), 19.223, 5e-4);
}

TEST(QuantileTest, LinearInterpolationAsNumpy) {
  EXPECT_DOUBLE_EQ(quantile({4, 1, 3, 2}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(quantile({1, 2, 3, 4}, 0.9), 3.7);
  EXPECT_DOUBLE_EQ(quantile({1, 2, 3, 4}, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(quantile({1, 2, 3, 4}, 1.0), 4.0);
  EXPECT_DOUBLE_EQ(quantile({std::nan(""), 7.0}, 0.5), 7.0);
  EXPECT_TRUE(std::isnan(quantile({}, 0.5)));
}

TEST(GraphCostSourceTest, MatchesTheTableParamsAndFlops) {
  auto space = spaces::make_space("nb201");
  TableSource table(*space, data_path("nb201.csv"));
  GraphCostSource costs(*space, "cifar10");
  Rng rng(11);
  std::vector<spaces::Genotype> xs;
  for (int i = 0; i < 6; ++i) xs.push_back(space->sample(rng));
  auto computed = costs.estimate(xs, {"params_M", "flops_M"});
  auto truth = table.estimate(xs, {"params_M_cifar10", "flops_M_cifar10"});
  for (size_t i = 0; i < xs.size(); ++i) {
    EXPECT_NEAR(computed[i][0].median, truth[i][0].median, 1e-5 * truth[i][0].median + 1e-6);
    EXPECT_NEAR(computed[i][1].median, truth[i][1].median, 1e-5 * truth[i][1].median + 1e-6);
  }
  EXPECT_THROW(costs.estimate(xs, {"latency"}), ConfigError);
}

TEST(MetricConstraintTest, ParsesBothSidesAndComputesG) {
  auto c = MetricConstraint::parse("lat_ms_pixel3 <= 15");
  EXPECT_EQ(c.metric, "lat_ms_pixel3");
  EXPECT_TRUE(c.upper);
  EXPECT_DOUBLE_EQ(c.bound, 15.0);
  EXPECT_DOUBLE_EQ(c.g(12.0), -3.0);
  EXPECT_DOUBLE_EQ(c.g(16.5), 1.5);
  EXPECT_EQ(c.to_string(), "lat_ms_pixel3 <= 15");
  auto d = MetricConstraint::parse("acc_cifar10>=90.5");
  EXPECT_FALSE(d.upper);
  EXPECT_DOUBLE_EQ(d.g(91.0), -0.5);
  EXPECT_EQ(d.to_string(), "acc_cifar10 >= 90.5");
  for (const char* bad : {"lat_ms_pixel3 < 15", "<= 15", "lat <= ", "lat <= abc", "lat ms <= 3"})
    EXPECT_THROW(MetricConstraint::parse(bad), ConfigError) << bad;
}

// A fake predictor: median = 10 * gene 0, band +-1, counting calls.
class FakeSource final : public MetricSource {
 public:
  std::string describe() const override { return "fake"; }
  bool exact() const override { return false; }
  bool provides(const std::string& m) const override { return m == "score" || m == "cost"; }
  std::vector<std::vector<Estimate>> estimate(const std::vector<spaces::Genotype>& xs,
                                              const std::vector<std::string>& metrics) override {
    ++calls;
    std::vector<std::vector<Estimate>> out;
    for (const auto& x : xs) {
      std::vector<Estimate> row;
      for (const auto& m : metrics) {
        double v = m == "score" ? 10.0 * x.genes[0] : 1.0 + x.genes[1];
        row.push_back({v, v - 1.0, v + 1.0});
      }
      out.push_back(row);
    }
    return out;
  }
  int calls = 0;
};

TEST(MetricEvaluatorTest, RoutesMetricsAndPicksTheStatistic) {
  FakeSource fake;
  std::vector<Objective> objectives = {{"score", Direction::kMaximize}, {"cost", Direction::kMinimize}};
  std::vector<MetricConstraint> constraints = {MetricConstraint::parse("cost <= 3")};
  spaces::Genotype x;
  x.genes = {2, 4};
  MetricEvaluator median(objectives, constraints, {&fake});
  auto e = median.evaluate({x});
  EXPECT_EQ(fake.calls, 1) << "one batched call per source";
  ASSERT_EQ(e.objectives.size(), 1u);
  EXPECT_EQ(e.objectives[0], (std::vector<double>{20.0, 5.0}));
  EXPECT_EQ(e.constraints[0], (std::vector<double>{2.0}));
  EXPECT_EQ(median.metrics(), (std::vector<std::string>{"score", "cost"}));
  EXPECT_FALSE(median.exact());
  // Pessimistic: p10 of the maximised score, p90 of the minimised cost and of the <= constraint.
  MetricEvaluator robust(objectives, constraints, {&fake}, Statistic::kPessimistic);
  auto r = robust.evaluate({x});
  EXPECT_EQ(r.objectives[0], (std::vector<double>{19.0, 6.0}));
  EXPECT_EQ(r.constraints[0], (std::vector<double>{3.0}));
  ASSERT_EQ(robust.last_estimates().size(), 1u);
  EXPECT_DOUBLE_EQ(robust.last_estimates()[0][0].p90, 21.0);
}

TEST(MetricEvaluatorTest, FirstSourceProvidingAMetricWins) {
  auto space = spaces::make_space("nb201");
  TableSource table(*space, data_path("nb201.csv"));
  GraphCostSource costs(*space, "cifar10");
  MetricEvaluator e({{"acc_cifar10", Direction::kMaximize}, {"params_M", Direction::kMinimize}}, {},
                    {&table, &costs});
  EXPECT_TRUE(e.exact());
  EXPECT_NE(e.describe().find("params_M: graph cost"), std::string::npos) << e.describe();
  auto v = e.evaluate({space->parse(kArch1)});
  EXPECT_DOUBLE_EQ(v.objectives[0][0], 93.66);
  EXPECT_NEAR(v.objectives[0][1], 0.802426, 1e-5);  // table params_M_cifar10 of row 1
  try {
    MetricEvaluator missing({{"energy_mj", Direction::kMinimize}}, {}, {&table, &costs});
    FAIL() << "no error";
  } catch (const ConfigError& err) {
    EXPECT_NE(std::string(err.what()).find("energy_mj"), std::string::npos) << err.what();
  }
}

}  // namespace
}  // namespace nas::search
