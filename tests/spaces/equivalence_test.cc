#include "spaces/equivalence.h"

#include <cmath>
#include <map>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/table.h"
#include "spaces/registry.h"

namespace nas::spaces {
namespace {

TEST(EquivalenceClassesTest, Nb201HasTheBenchmarksSixThousandFourHundredSixtySixClasses) {
  auto space = make_space("nb201");
  EquivalenceClasses classes(*space);
  EXPECT_EQ(classes.num_genotypes(), 15625u);
  EXPECT_EQ(classes.num_classes(), 6466u);
  // Every member of a class shares the canonical form (checked on every 7th genotype), and the class
  // sizes add up to the space.
  std::map<std::string, size_t> size_of;
  for (uint64_t i = 0; i < classes.num_genotypes(); ++i) {
    Genotype g = space->at(i);
    auto others = classes.others(g);
    size_of[space->canonical(g)] = others.size() + 1;
    if (i % 7) continue;
    for (const auto& o : others) {
      EXPECT_NE(o, g);
      EXPECT_EQ(space->canonical(o), space->canonical(g)) << space->format(o) << " vs " << space->format(g);
    }
  }
  uint64_t total = 0;
  for (const auto& [c, n] : size_of) total += n;
  EXPECT_EQ(size_of.size(), 6466u);
  EXPECT_EQ(total, 15625u);
  // A cell whose output edge from node 2 is 'none' ignores both edges into node 2: the 25 choices there
  // are one class (with more members reaching the same function another way).
  Genotype dead = space->parse("|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|skip_connect~0|nor_conv_3x3~1|none~2|");
  auto others = classes.others(dead);
  EXPECT_GE(others.size(), 24u);
  for (int a = 0; a < 5; ++a)
    for (int b = 0; b < 5; ++b) {
      Genotype v = dead;
      v.genes[1] = a;  // edges into node 2 (genes 1 and 2 in the benchmark's order)
      v.genes[2] = b;
      if (v == dead) continue;
      EXPECT_NE(std::find(others.begin(), others.end(), v), others.end()) << space->format(v);
    }
  // A cell alone in its class has no others.
  size_t singles = 0;
  for (uint64_t i = 0; i < classes.num_genotypes(); i += 97) singles += classes.others(space->at(i)).empty();
  EXPECT_GT(singles, 0u);
}

// The premise of equivalence augmentation, on the benchmark's own numbers: accuracy is shared by a
// class (up to seed noise), latency is not (dead branches still run).
TEST(EquivalenceClassesTest, Nb201ClassesShareAccuracyButNotLatency) {
  Table t = Table::load(data_path("nb201.csv"), {{"arch_str", ColumnType::kText}});
  auto space = make_space("nb201");
  std::map<std::string, std::vector<size_t>> rows;
  for (size_t r = 0; r < t.rows(); ++r) rows[space->canonical(space->parse(t.text(r, "arch_str")))].push_back(r);
  auto spread = [&](const std::string& col) {
    double all_mean = 0;
    for (size_t r = 0; r < t.rows(); ++r) all_mean += t.number(r, col) / static_cast<double>(t.rows());
    double all = 0, within = 0;
    size_t n_within = 0;
    for (size_t r = 0; r < t.rows(); ++r) all += std::pow(t.number(r, col) - all_mean, 2);
    for (const auto& [c, rs] : rows) {
      if (rs.size() < 2) continue;
      double m = 0;
      for (size_t r : rs) m += t.number(r, col) / static_cast<double>(rs.size());
      for (size_t r : rs) within += std::pow(t.number(r, col) - m, 2);
      n_within += rs.size();
    }
    return std::make_pair(std::sqrt(all / static_cast<double>(t.rows())), std::sqrt(within / static_cast<double>(n_within)));
  };
  auto [acc_all, acc_within] = spread("acc_cifar10");
  auto [lat_all, lat_within] = spread("lat_ms_pixel3");
  EXPECT_GT(acc_all, 10.0);
  EXPECT_LT(acc_within, 0.5) << "accuracy within a class";
  EXPECT_GT(lat_within, 0.25 * lat_all) << "latency differs within a class";
}

TEST(EquivalenceClassesTest, NonEnumerableOrTooLargeSpacesAreConfigErrors) {
  auto nb101 = make_space("nb101");
  EXPECT_THROW(EquivalenceClasses{*nb101}, ConfigError);
  auto nb201 = make_space("nb201");
  try {
    EquivalenceClasses small(*nb201, 1000);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("15625 genotypes exceed the limit of 1000"), std::string::npos) << e.what();
  }
  EquivalenceClasses classes(*nb201);
  Genotype bad{{0, 1, 2}};
  EXPECT_THROW(classes.others(bad), SpaceError);
}

}  // namespace
}  // namespace nas::spaces
