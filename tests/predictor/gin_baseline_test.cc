#include "predictor/gin_baseline.h"

#include <cmath>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/table.h"
#include "predictor/metrics.h"

namespace nas::predictor {
namespace {

TEST(GinBaselineTest, FitsRealNb201CellsAndRanksHeldOutOnes) {
  Table t = Table::load(data_path("nb201.csv"), {{"arch_str", ColumnType::kText}});
  auto space = spaces::make_space("nb201");
  std::vector<spaces::Genotype> train, test;
  std::vector<std::vector<double>> train_y;
  std::vector<double> test_acc;
  for (size_t r = 0; r < 264; ++r) {
    size_t row = (r * 7919 + 13) % t.rows();
    auto g = space->parse(t.text(row, "arch_str"));
    if (r < 64) {
      train.push_back(g);
      train_y.push_back({t.number(row, "acc_cifar10")});
    } else {
      test.push_back(g);
      test_acc.push_back(t.number(row, "acc_cifar10"));
    }
  }
  GinOptions o;
  o.seed = 3;
  GinBaseline gin(o);
  TrainReport report = gin.fit(architecture_graphs(*space, train, "cifar10"), train_y);
  EXPECT_EQ(report.steps, 600);  // 300 epochs of 2 batches of 32
  EXPECT_LT(report.final_loss, 0.5 * report.first_loss) << "training loss falls";
  auto pred = gin.predict(architecture_graphs(*space, test, "cifar10"));
  ASSERT_EQ(pred.size(), test.size());
  std::vector<double> acc;
  for (const auto& p : pred) acc.push_back(p.at(0));
  double tau = kendall_tau_b(acc, test_acc);
  EXPECT_GT(tau, 0.3);
  RecordProperty("kendall_tau", std::to_string(tau));
}

TEST(GinBaselineTest, SameSeedSamePredictionsAndMissingTargetsAreMasked) {
  auto space = spaces::make_space("nb201");
  std::vector<spaces::Genotype> gs;
  for (uint64_t i = 0; i < 12; ++i) gs.push_back(space->at(i * 1301));
  auto graphs = architecture_graphs(*space, gs, "cifar10");
  std::vector<std::vector<double>> y;
  for (size_t i = 0; i < gs.size(); ++i)
    y.push_back({static_cast<double>(i), i % 2 ? std::nan("") : 1.0 * i});
  GinOptions o;
  o.epochs = 20;
  GinBaseline a(o), b(o);
  a.fit(graphs, y);
  b.fit(graphs, y);
  auto pa = a.predict(graphs), pb = b.predict(graphs);
  ASSERT_EQ(pa.size(), gs.size());
  for (size_t i = 0; i < gs.size(); ++i) {
    ASSERT_EQ(pa[i].size(), 2u);
    EXPECT_DOUBLE_EQ(pa[i][0], pb[i][0]);
    EXPECT_FALSE(std::isnan(pa[i][1]));
  }
  EXPECT_THROW(GinBaseline(o).predict(graphs), Error);
  EXPECT_THROW(GinBaseline(o).fit({}, {}), Error);
}

}  // namespace
}  // namespace nas::predictor
