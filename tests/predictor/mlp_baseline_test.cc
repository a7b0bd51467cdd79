#include "predictor/mlp_baseline.h"

#include <gtest/gtest.h>

#include "core/table.h"
#include "predictor/metrics.h"

namespace nas::predictor {
namespace {

TEST(OneHotTest, EncodesEveryGene) {
  auto x = one_hot({{0, 4, 2}}, {5, 5, 3});
  ASSERT_EQ(x.size(), 13u);
  EXPECT_EQ(x[0], 1.f);
  EXPECT_EQ(x[9], 1.f);
  EXPECT_EQ(x[12], 1.f);
  float sum = 0;
  for (float v : x) sum += v;
  EXPECT_EQ(sum, 3.f);
}

TEST(MlpBaselineTest, RanksHeldOutNb201CellsOnRealData) {
  Table t = Table::load(data_path("nb201.csv"), {{"arch_str", ColumnType::kText}});
  auto space = spaces::make_space("nb201");
  std::vector<spaces::Genotype> train, test;
  std::vector<std::vector<double>> train_y;
  std::vector<double> test_acc;
  for (size_t r = 0; r < 600; ++r) {
    size_t row = (r * 7919) % t.rows();
    auto g = space->parse(t.text(row, "arch_str"));
    if (r < 300) {
      train.push_back(g);
      train_y.push_back({t.number(row, "acc_cifar10"), r % 3 == 0 ? std::nan("") : t.number(row, "lat_ms_pixel3")});
    } else {
      test.push_back(g);
      test_acc.push_back(t.number(row, "acc_cifar10"));
    }
  }
  MlpOptions o;
  o.epochs = 80;
  MlpBaseline mlp(space->gene_cardinalities(), o);
  mlp.fit(train, train_y);
  auto pred = mlp.predict(test);
  std::vector<double> acc;
  for (const auto& p : pred) acc.push_back(p[0]);
  EXPECT_GT(kendall_tau_b(acc, test_acc), 0.4);
}

}  // namespace
}  // namespace nas::predictor
