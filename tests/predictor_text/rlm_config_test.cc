#include "predictor/config.h"

#include <set>

#include <gtest/gtest.h>

#include "core/error.h"

namespace nas::predictor {
namespace {

const std::string kShared = R"(
pretrain_spaces: [nb101, nb201, fbnet, ofa_mbv3, darts]
pretrain_pool: 100
pretrain_cache: checkpoints/x
model: {max_length: 1024}
pretrain: {steps: 10, targets: [params_M, flops_M, depth_max, depth_min]}
finetune: {steps: 100, batch_size: 16}
)";

std::string multitask_error(const std::string& yaml) {
  try {
    parse_rlm_multitask_config(yaml, "m.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(RlmMultiTaskConfigTest, TasksInheritTheSharedKeysAndOverrideTheirOwn) {
  auto mt = parse_rlm_multitask_config(kShared + R"(
tasks:
  - name: nb101_acc
    space: nb101
    data: {table: nb101_subset.csv, arch_column: "{adjacency_7x7}|{ops}", targets: [acc_cifar10_val],
           train_size: 100, test_size: 400, split_seed: 3}
    finetune: {steps: 7}
    decode: {samples: 2}
  - space: fbnet
    data: {table: fbnet.csv, arch_column: blocks, targets: [lat_ms_pixel3, lat_ms_fpga]}
)",
                                       "m.yaml");
  ASSERT_EQ(mt.tasks.size(), 2u);
  const auto& a = mt.tasks[0];
  EXPECT_EQ(a.name, "nb101_acc");
  EXPECT_EQ(a.config.space, "nb101");
  EXPECT_EQ(a.config.data.arch_column, "{adjacency_7x7}|{ops}");
  EXPECT_EQ(a.config.data.split_seed, 3u);
  EXPECT_EQ(a.config.finetune.steps, 7);
  EXPECT_EQ(a.config.finetune.batch_size, 16);
  EXPECT_EQ(a.config.finetune.targets, std::vector<std::string>{"acc_cifar10_val"});
  EXPECT_EQ(a.config.decode.samples, 2);
  EXPECT_EQ(a.config.model.max_length, 1024);
  EXPECT_EQ(a.config.pretrain_spaces, mt.shared.pretrain_spaces);
  const auto& b = mt.tasks[1];
  EXPECT_EQ(b.name, "fbnet");
  EXPECT_EQ(b.config.finetune.steps, 100);
  EXPECT_EQ(b.config.finetune.targets, (std::vector<std::string>{"lat_ms_pixel3", "lat_ms_fpga"}));
  EXPECT_EQ(b.config.decode.samples, mt.shared.decode.samples);
}

TEST(RlmMultiTaskConfigTest, ErrorsNameTheTaskAndKey) {
  const std::string task =
      "  - {space: fbnet, data: {table: fbnet.csv, arch_column: blocks, targets: [lat_ms_fpga]}}\n";
  EXPECT_EQ(multitask_error(kShared), "m.yaml: tasks: required: a non-empty list of tasks");
  EXPECT_NE(multitask_error(kShared + "tasks:\n" + task + "  - {space: nb101, modle: 3}\n")
                .find("m.yaml: tasks[1].modle: unknown key (line"),
            std::string::npos);
  // What pretraining depends on is shared: a task cannot change it.
  EXPECT_NE(multitask_error(kShared + "tasks:\n  - {space: fbnet, pretrain: {steps: 3}}\n")
                .find("m.yaml: tasks[0].pretrain: unknown key"),
            std::string::npos);
  EXPECT_EQ(multitask_error(kShared + "tasks:\n  - {space: fbnet}\n"),
            "m.yaml: tasks[0].data.table: required (a CSV file under data/)");
  EXPECT_EQ(multitask_error(kShared + "tasks:\n" + task + task),
            "m.yaml: tasks[1].name: task name 'fbnet' is used twice");
  EXPECT_NE(multitask_error("pretrain_spaces: [nb201, nb999]\ntasks:\n" + task)
                .find("m.yaml: pretrain_spaces: unknown space 'nb999' (known: darts, fbnet"),
            std::string::npos);
  EXPECT_EQ(multitask_error("pretrain_spaces: [nb201, darts, nb201]\ntasks:\n" + task),
            "m.yaml: pretrain_spaces: 'nb201' is listed twice");
}

TEST(RlmMultiTaskConfigTest, PretrainSpacesRoundTripThroughYamlAndAreLeftOutWhenAbsent) {
  RlmConfig c = parse_rlm_config("data: {table: nb201.csv, targets: [acc_cifar10]}\n", "c.yaml");
  EXPECT_TRUE(c.pretrain_spaces.empty());
  EXPECT_EQ(rlm_config_to_yaml(c).find("pretrain_spaces"), std::string::npos);
  c.pretrain_spaces = {"nb201", "ofa_mbv3"};
  RlmConfig back = parse_rlm_config(rlm_config_to_yaml(c), "back.yaml");
  EXPECT_EQ(back.pretrain_spaces, c.pretrain_spaces);
  EXPECT_EQ(rlm_config_to_yaml(back), rlm_config_to_yaml(c));
}

TEST(RlmMultiTaskConfigTest, TheShippedConfigHasTheFiveTasksOfTheIssue) {
  auto mt = load_rlm_multitask_config(std::string(NAS_TEST_DATA_DIR) + "/../../configs/rlm_multispace.yaml");
  EXPECT_EQ(mt.shared.pretrain_spaces.size(), 5u);
  EXPECT_FALSE(mt.shared.pretrain_cache.empty());
  // Longest texts measured with the 1,024-token tokenizer: OFA 868 (experiments/text_length_report).
  EXPECT_GE(mt.shared.model.max_length, 900);
  struct Want {
    std::string space;
    int64_t train, test;
    size_t targets;
  };
  std::vector<Want> want = {{"nb101", 100, 400, 1}, {"darts", 100, 625, 1}, {"fbnet", 500, 4500, 5},
                            {"ofa_mbv3", 500, 4500, 12}, {"nb201", 1000, 2000, 5}};
  ASSERT_EQ(mt.tasks.size(), want.size());
  std::set<uint64_t> seeds;
  for (size_t i = 0; i < want.size(); ++i) {
    const auto& c = mt.tasks[i].config;
    EXPECT_EQ(c.space, want[i].space);
    EXPECT_EQ(c.data.train_size, want[i].train) << c.space;
    EXPECT_EQ(c.data.test_size, want[i].test) << c.space;
    EXPECT_EQ(c.data.targets.size(), want[i].targets) << c.space;
    seeds.insert(c.data.split_seed);
  }
  EXPECT_EQ(seeds.size(), want.size()) << "each task its own split seed";
}

}  // namespace
}  // namespace nas::predictor
