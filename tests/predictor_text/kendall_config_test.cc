#include "predictor/kendall_config.h"

#include <filesystem>
#include <string>

#include <fmt/format.h>

#include <gtest/gtest.h>

#include "core/error.h"

namespace nas::predictor {
namespace {

const std::string kRlmNb201 = std::string(NAS_TEST_DATA_DIR) + "/../../configs/rlm_nb201.yaml";
const std::string kRlmMulti = std::string(NAS_TEST_DATA_DIR) + "/../../configs/rlm_multispace.yaml";

// A valid config with `extra` appended (later keys of a YAML map must not repeat earlier ones).
std::string config_yaml(const std::string& top, const std::string& entries) {
  return top + "\nentries:\n" + entries;
}

std::string nb201_entry() {
  return fmt::format("  - {{space: nb201, target: acc_cifar10, rlm_config: {}}}\n", kRlmNb201);
}

// The ConfigError message of parsing `yaml` as "k.yaml" ("" if it parses).
std::string error_of(const std::string& yaml) {
  try {
    parse_kendall_config(yaml, "k.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(KendallConfigTest, ParsesEntriesAndResolvesTheirRlmConfigs) {
  auto c = parse_kendall_config(
      config_yaml(
          "sizes: [16, 64]\nseeds: {16: 5, 64: 3}\npredictors: [mlp, rlm]\nrlm: {steps: {16: 50, 64: 80}, "
          "decode_samples: 2, dropout: 0.0, members: 1}\ngin: {hidden: 32}",
          nb201_entry() + fmt::format("  - {{space: nb101, target: acc_cifar10_val, rlm_config: {}, task: "
                                      "nb101, test_size: 200, split_seed: 9}}\n",
                                      kRlmMulti)),
      "k.yaml");
  EXPECT_EQ(c.sizes, (std::vector<int64_t>{16, 64}));
  EXPECT_EQ(value_for_size(c.seeds, 16), 5);
  EXPECT_EQ(value_for_size(c.seeds, 1000), 3);
  EXPECT_EQ(c.predictors, (std::vector<std::string>{"rlm", "mlp"}));  // canonical order
  EXPECT_EQ(c.gin.hidden, 32);
  ASSERT_EQ(c.entries.size(), 2u);
  const auto& nb201 = c.entries[0];
  EXPECT_EQ(nb201.label(), "nb201:acc_cifar10");
  EXPECT_EQ(nb201.rlm.data.table, "nb201.csv");
  EXPECT_EQ(nb201.rlm.pretrain_cache, "models/rlm_nb201_pretrained");
  EXPECT_EQ(nb201.rlm.data.targets, (std::vector<std::string>{"acc_cifar10"}));
  EXPECT_EQ(nb201.rlm.finetune.targets, (std::vector<std::string>{"acc_cifar10"}));
  EXPECT_EQ(nb201.rlm.decode.samples, 2);
  EXPECT_EQ(nb201.rlm.finetune.dropout, 0.0) << "the experiment's dropout replaces the RLM config's";
  EXPECT_EQ(nb201.rlm.finetune.members, 1) << "configs/rlm_nb201.yaml fine-tunes 2; the experiment's setting wins";
  EXPECT_EQ(nb201.test_size, 2000);
  EXPECT_EQ(value_for_size(nb201.rlm_steps, 64), 80);
  const auto& nb101 = c.entries[1];
  EXPECT_EQ(nb101.rlm.data.table, "nb101_subset.csv");
  EXPECT_EQ(nb101.rlm.data.arch_column, "{adjacency_7x7}|{ops}");
  EXPECT_EQ(nb101.test_size, 200);
  EXPECT_EQ(nb101.split_seed, 9u);
  EXPECT_EQ(nb101.rlm.data.split_seed, 9u);
}

TEST(KendallConfigTest, SizeMapTakesTheLargestKeyNotAboveN) {
  SizeMap m = {{16, 100}, {128, 300}, {1000, 900}};
  EXPECT_EQ(value_for_size(m, 8), 100);  // below every key: the smallest key's
  EXPECT_EQ(value_for_size(m, 16), 100);
  EXPECT_EQ(value_for_size(m, 127), 100);
  EXPECT_EQ(value_for_size(m, 256), 300);
  EXPECT_EQ(value_for_size(m, 5000), 900);
}

TEST(KendallConfigTest, BadSizesAreNamed) {
  EXPECT_NE(error_of(config_yaml("sizes: [16, 0]", nb201_entry())).find("k.yaml: sizes: size 0 must be > 0"),
            std::string::npos);
  EXPECT_NE(error_of(config_yaml("sizes: [64, 16]", nb201_entry())).find("sizes: must be strictly ascending"),
            std::string::npos);
  EXPECT_NE(error_of(config_yaml("sizes: [16, x]", nb201_entry())).find("sizes: wrong type in list"),
            std::string::npos);
  EXPECT_NE(
      error_of(config_yaml("seeds: {16: 0}", nb201_entry())).find("seeds: value 0 for size 16 must be > 0"),
      std::string::npos);
  EXPECT_NE(
      error_of(config_yaml("rlm: {steps: {-4: 10}}", nb201_entry())).find("rlm.steps: size -4 must be > 0"),
      std::string::npos);
  EXPECT_NE(error_of(config_yaml("rlm: {dropout: 1.0}", nb201_entry())).find("k.yaml: rlm.dropout: must be < 1"),
            std::string::npos);
  EXPECT_NE(error_of(config_yaml("rlm: {members: 17}", nb201_entry())).find("k.yaml: rlm.members: must be in [0, 16]"),
            std::string::npos);
}

TEST(KendallConfigTest, UnknownPredictorIsNamedWithTheKnownOnes) {
  auto e = error_of(config_yaml("predictors: [rlm, xgboost]", nb201_entry()));
  EXPECT_NE(e.find("k.yaml: predictors: unknown predictor 'xgboost' (known: rlm, gin, mlp, flops, params)"),
            std::string::npos)
      << e;
  EXPECT_NE(error_of(config_yaml("predictors: [gin, gin]", nb201_entry())).find("'gin' is listed twice"),
            std::string::npos);
}

TEST(KendallConfigTest, UnknownSpaceAndMismatchedEntriesAreNamed) {
  auto e = error_of(
      config_yaml("", fmt::format("  - {{space: nb999, target: acc, rlm_config: {}}}\n", kRlmNb201)));
  EXPECT_NE(e.find("k.yaml: entries[0].space: unknown space 'nb999' (known:"), std::string::npos) << e;
  e = error_of(
      config_yaml("", fmt::format("  - {{space: nb101, target: acc, rlm_config: {}}}\n", kRlmNb201)));
  EXPECT_NE(e.find("entries[0].space: 'nb101' but"), std::string::npos) << e;
  e = error_of(
      config_yaml("", fmt::format("  - {{space: darts, target: acc, rlm_config: {}}}\n", kRlmMulti)));
  EXPECT_NE(e.find("entries[0].task: required: one of the tasks of"), std::string::npos) << e;
  e = error_of(config_yaml("", "  - {space: nb201, target: acc, rlm_config: no/such.yaml}\n"));
  EXPECT_NE(e.find("entries[0].rlm_config: cannot read 'no/such.yaml'"), std::string::npos) << e;
  e = error_of(config_yaml("", nb201_entry() + nb201_entry()));
  EXPECT_NE(e.find("entries[1].target: 'nb201:acc_cifar10' is listed twice"), std::string::npos) << e;
  e = error_of(config_yaml("gin: {hidden: 0}", nb201_entry()));
  EXPECT_NE(e.find("k.yaml: gin.hidden: must be > 0"), std::string::npos) << e;
  e = error_of(config_yaml("colour: blue", nb201_entry()));
  EXPECT_NE(e.find("k.yaml: colour: unknown key"), std::string::npos) << e;
  EXPECT_NE(error_of("sizes: [16]\n").find("k.yaml: entries: required"), std::string::npos);
}

TEST(KendallConfigTest, AnchorsKeepTheirOrderAndRejectNonTaus) {
  auto c = parse_kendall_config(
      config_yaml("anchors:\n  - {source: FLAN, setting: NB201, values: {\"n=16\": 0.565, \"n=64\": 0.732}}",
                  nb201_entry()),
      "k.yaml");
  ASSERT_EQ(c.anchors.size(), 1u);
  ASSERT_EQ(c.anchors[0].values.size(), 2u);
  EXPECT_EQ(c.anchors[0].values[0].first, "n=16");
  EXPECT_DOUBLE_EQ(c.anchors[0].values[1].second, 0.732);
  auto e = error_of(config_yaml("anchors:\n  - {source: X, values: {a: 1.5}}", nb201_entry()));
  EXPECT_NE(e.find("anchors[0].values: Kendall tau 1.5 outside [-1, 1]"), std::string::npos) << e;
}

TEST(KendallConfigTest, TheShippedConfigParses) {
  // Its paths are relative to the repository root.
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(std::string(NAS_TEST_DATA_DIR) + "/../..");
  KendallConfig c;
  try {
    c = load_kendall_config("configs/experiments/kendall_tau.yaml");
  } catch (...) {
    std::filesystem::current_path(cwd);
    throw;
  }
  std::filesystem::current_path(cwd);
  ASSERT_EQ(c.entries.size(), 5u);
  EXPECT_EQ(c.entries[0].label(), "nb201:acc_cifar10");
  EXPECT_EQ(c.sizes, (std::vector<int64_t>{16, 64, 128, 256, 1000}));
  for (int64_t n : c.sizes) EXPECT_GE(value_for_size(c.seeds, n), n <= 128 ? 5 : 3) << n;
  EXPECT_EQ(c.predictors, kendall_predictor_names());
  EXPECT_EQ(c.anchors.size(), 2u);
}

}  // namespace
}  // namespace nas::predictor
