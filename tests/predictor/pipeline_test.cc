#include "predictor/pipeline.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>

#include <unistd.h>

#include <fmt/format.h>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/io.h"
#include "core/table.h"
#include "predictor/arch_text.h"
#include "spaces/arch_columns.h"
#include "spaces/search_space.h"

namespace nas::predictor {
namespace {

namespace fs = std::filesystem;

// One real benchmark table and how its rows name architectures.
struct TableCase {
  std::string space, table, arch_column;
  std::vector<std::string> targets;
};

std::ostream& operator<<(std::ostream& os, const TableCase& c) { return os << c.space; }

class LoadSplitTest : public ::testing::TestWithParam<TableCase> {};

TEST_P(LoadSplitTest, GenotypesRoundTripAndValuesEqualTheCsv) {
  const TableCase& tc = GetParam();
  RlmConfig c;
  c.source = "test";
  c.space = tc.space;
  c.data.table = tc.table;
  c.data.arch_column = tc.arch_column;
  c.data.targets = tc.targets;
  c.data.train_size = 5;
  c.data.test_size = 4;
  c.data.split_seed = 11;
  auto space = spaces::make_space(tc.space);
  LabelledSplit split = load_split(c, *space);
  ASSERT_EQ(split.train.size(), 5u);
  ASSERT_EQ(split.test.size(), 4u);

  // The table read independently: architecture string -> rows.
  spaces::ArchColumns arch(tc.arch_column);
  Table::TypeHints hints = arch.text_hints();
  for (const auto& t : tc.targets) hints.push_back({t, ColumnType::kNumber});
  Table table = Table::load(data_path(tc.table), hints);
  std::multimap<std::string, size_t> rows;
  for (size_t r = 0; r < table.rows(); ++r) rows.emplace(arch.arch(table, r), r);

  auto check = [&](const std::vector<spaces::Genotype>& gs, const std::vector<std::vector<double>>& ys) {
    for (size_t i = 0; i < gs.size(); ++i) {
      // The genotype prints back to exactly the string the CSV row spells.
      std::string s = space->format(gs[i]);
      auto [lo, hi] = rows.equal_range(s);
      ASSERT_NE(lo, hi) << "not a row of " << tc.table << ": " << s;
      EXPECT_EQ(space->parse(s), gs[i]);
      bool same = false;
      for (auto it = lo; it != hi && !same; ++it) {
        same = true;
        for (size_t j = 0; j < tc.targets.size(); ++j) same &= ys[i][j] == table.number(it->second, tc.targets[j]);
      }
      EXPECT_TRUE(same) << "values of " << s << " differ from the CSV";
    }
  };
  check(split.train, split.train_y);
  check(split.test, split.test_y);
}

INSTANTIATE_TEST_SUITE_P(
    AllTables, LoadSplitTest,
    ::testing::Values(TableCase{"nb201", "nb201.csv", "arch_str", {"acc_cifar10", "lat_ms_pixel3"}},
                      TableCase{"nb101", "nb101_subset.csv", "{adjacency_7x7}|{ops}", {"acc_cifar10_val", "params_M"}},
                      TableCase{"darts", "darts_nb301_subset.csv", "compact_genotype", {"acc_cifar10_val"}},
                      TableCase{"fbnet", "fbnet.csv", "blocks", {"lat_ms_raspi4", "lat_ms_gold_6226"}},
                      TableCase{"ofa_mbv3", "ofa_mbv3.csv",
                                "ks={kernel_sizes}|e={expand_ratios}|d={depths}|r={resolution}",
                                {"lat_ms_v100_1", "lat_ms_titan_xp_64"}}),
    [](const ::testing::TestParamInfo<TableCase>& info) { return info.param.space; });

// Points data_path() at a temporary directory for the test's lifetime.
class TempDataDir {
 public:
  TempDataDir() : dir_(fs::temp_directory_path() / fmt::format("nas_pipeline_test_{}", ::getpid())) {
    fs::create_directories(dir_);
    ::setenv("NAS_DATA_DIR", dir_.c_str(), 1);
  }
  ~TempDataDir() {
    ::unsetenv("NAS_DATA_DIR");
    fs::remove_all(dir_);
  }
  void write(const std::string& name, const std::string& text) const {
    write_file_atomic((dir_ / name).string(), text);
  }

 private:
  fs::path dir_;
};

std::string load_split_error(const RlmConfig& c) {
  try {
    load_split(c, *spaces::make_space(c.space));
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(LoadSplitErrorTest, ABadArchitectureNamesTheFileLineAndColumns) {
  TempDataDir data;
  data.write("bad201.csv",
             "arch_str,acc\n"
             "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|,90.1\n"
             "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|conv_9x9~2|,80.5\n");
  RlmConfig c;
  c.source = "c.yaml";
  c.space = "nb201";
  c.data.table = "bad201.csv";
  c.data.targets = {"acc"};
  c.data.train_size = 1;
  c.data.test_size = 1;
  std::string msg = load_split_error(c);
  EXPECT_NE(msg.find("bad201.csv:3 (column 'arch_str'): "), std::string::npos) << msg;
  EXPECT_NE(msg.find("conv_9x9"), std::string::npos) << msg;

  // Several columns: the message names them and shows the assembled string.
  data.write("bad101.csv",
             "adj,ops,acc\n"
             "0100000001000000010000000100000001000000010000000,input conv9x9 conv3x3-bn-relu conv3x3-bn-relu "
             "conv3x3-bn-relu conv3x3-bn-relu output,91.0\n");
  c.space = "nb101";
  c.data.table = "bad101.csv";
  c.data.arch_column = "{adj}|{ops}";
  c.data.train_size = 1;
  c.data.test_size = 0;
  msg = load_split_error(c);
  EXPECT_NE(msg.find("bad101.csv:2 (columns 'adj', 'ops' as '{adj}|{ops}') = \"0100"), std::string::npos) << msg;
  EXPECT_NE(msg.find("conv9x9"), std::string::npos) << msg;

  // A column that the table lacks, and a malformed spec.
  c.data.arch_column = "{adj}|{opz}";
  msg = load_split_error(c);
  EXPECT_NE(msg.find("bad101.csv"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'opz'"), std::string::npos) << msg;
  c.data.arch_column = "{adj}|{ops";
  EXPECT_THROW(load_split(c, *spaces::make_space("nb101")), ConfigError);
}

// Equivalence augmentation on the real NB201 table: the labelled rows come first and unchanged; each
// added row is another member of a labelled cell's class, carrying that cell's accuracy and no latency.
TEST(TrainingSetTest, EquivalentsCarryTheSharedTargetsOnly) {
  RlmConfig c;
  c.source = "test";
  c.space = "nb201";
  c.data.table = "nb201.csv";
  c.data.targets = {"acc_cifar10", "lat_ms_pixel3"};
  c.data.train_size = 40;
  c.data.test_size = 10;
  c.data.split_seed = 3;
  auto space = spaces::make_space("nb201");
  LabelledSplit split = load_split(c, *space);
  TrainingSet plain = training_set(c, *space, split);
  EXPECT_EQ(plain.archs, split.train);
  EXPECT_EQ(plain.labelled, 40u);

  c.data.equivalents = 3;
  c.data.equivalent_targets = {"acc_cifar10"};
  TrainingSet set = training_set(c, *space, split);
  ASSERT_EQ(set.labelled, 40u);
  ASSERT_EQ(set.archs.size(), set.y.size());
  ASSERT_GT(set.archs.size(), 40u) << "40 random cells should include members of larger classes";
  ASSERT_LE(set.archs.size(), 40u * 4);
  for (size_t i = 0; i < 40; ++i) {
    EXPECT_EQ(set.archs[i], split.train[i]);
    EXPECT_EQ(set.y[i], split.train_y[i]);
  }
  std::map<std::string, size_t> added_per_class;
  for (size_t i = 40; i < set.archs.size(); ++i) {
    EXPECT_TRUE(std::isnan(set.y[i][1])) << "latency is not shared by a class";
    // The row's accuracy is that of a labelled cell of the same class.
    bool found = false;
    for (size_t l = 0; l < 40 && !found; ++l)
      found = space->canonical(split.train[l]) == space->canonical(set.archs[i]) && split.train_y[l][0] == set.y[i][0] &&
              split.train[l] != set.archs[i];
    EXPECT_TRUE(found) << space->format(set.archs[i]);
    ++added_per_class[space->canonical(set.archs[i])];
  }
  for (const auto& [cls, n] : added_per_class) {
    size_t labelled_in_class = 0;
    for (const auto& g : split.train) labelled_in_class += space->canonical(g) == cls;
    EXPECT_LE(n, 3 * labelled_in_class) << cls;
  }
  // The same seed gives the same set.
  TrainingSet again = training_set(c, *space, split);
  EXPECT_EQ(again.archs, set.archs);

  // A space that cannot be enumerated has no classes to draw from.
  RlmConfig c101;
  c101.source = "test";
  c101.space = "nb101";
  c101.data.table = "nb101_subset.csv";
  c101.data.arch_column = "{adjacency_7x7}|{ops}";
  c101.data.targets = {"acc_cifar10_val"};
  c101.data.train_size = 5;
  c101.data.test_size = 0;
  c101.data.equivalents = 2;
  c101.data.equivalent_targets = {"acc_cifar10_val"};
  auto nb101 = spaces::make_space("nb101");
  EXPECT_THROW(training_set(c101, *nb101, load_split(c101, *nb101)), ConfigError);
}

TEST(PretrainingPoolTest, AMultiSpacePoolHoldsEverySpaceInOrder) {
  RlmConfig c;
  c.pretrain_spaces = {"nb101", "nb201", "fbnet", "ofa_mbv3", "darts"};
  c.pretrain_pool = 3;
  auto pool = pretraining_pool(c);
  ASSERT_EQ(pool.size(), 15u);
  for (size_t i = 0; i < pool.size(); ++i) {
    EXPECT_EQ(pool[i].space, c.pretrain_spaces[i / 3]) << i;
    EXPECT_FALSE(pool[i].text.empty());
    ASSERT_EQ(pool[i].computed.size(), computed_target_names().size());
    EXPECT_GT(pool[i].computed[0], 0.0) << "params_M of " << pool[i].space;
    EXPECT_GT(pool[i].computed[1], 0.0) << "flops_M of " << pool[i].space;
    // flops_live_M: only NB201 networks have dead nodes (ops on edges into a node that feeds `none`).
    if (pool[i].space == "nb201")
      EXPECT_LE(pool[i].computed[4], pool[i].computed[1]);
    else
      EXPECT_EQ(pool[i].computed[4], pool[i].computed[1]) << "flops_live_M of " << pool[i].space;
    // convs_live, pools_live: whole counts; every space's networks have live convs.
    EXPECT_GE(pool[i].computed[5], 1.0) << "convs_live of " << pool[i].space;
    EXPECT_EQ(pool[i].computed[5], std::floor(pool[i].computed[5]));
    EXPECT_EQ(pool[i].computed[6], std::floor(pool[i].computed[6]));
    EXPECT_GE(pool[i].computed[6], 0.0);
    // convs_dead, pools_dead, convs_dead_merged, convs_dead_unmerged: whole counts, none outside NB201
    // (as flops_live_M above); the dead convs are the merged ones and the rest.
    EXPECT_EQ(pool[i].computed[9] + pool[i].computed[10], pool[i].computed[7]) << pool[i].space;
    for (size_t k : {size_t{7}, size_t{8}, size_t{9}, size_t{10}}) {
      EXPECT_EQ(pool[i].computed[k], std::floor(pool[i].computed[k])) << computed_target_names()[k];
      EXPECT_GE(pool[i].computed[k], 0.0) << computed_target_names()[k];
      if (pool[i].space != "nb201") EXPECT_EQ(pool[i].computed[k], 0.0) << computed_target_names()[k] << " of " << pool[i].space;
    }
  }
  EXPECT_EQ(pretraining_spaces(c), c.pretrain_spaces);

  // Without the key: config.space alone, as before.
  c.pretrain_spaces.clear();
  c.space = "darts";
  EXPECT_EQ(pretraining_spaces(c), std::vector<std::string>{"darts"});
  pool = pretraining_pool(c);
  ASSERT_EQ(pool.size(), 3u);
  for (const auto& a : pool) EXPECT_EQ(a.space, "darts");
}

TEST(PretrainRlmTest, EveryTaskOfAMultiSpaceConfigStartsFromOneCachedModel) {
  const std::string cache = (fs::temp_directory_path() / fmt::format("nas_multispace_cache_{}", ::getpid())).string();
  fs::remove_all(cache);
  auto mt = parse_rlm_multitask_config(fmt::format(R"(
pretrain_spaces: [nb101, nb201, fbnet, ofa_mbv3, darts]
pretrain_pool: 2
pretrain_cache: {}
tokenizer: {{vocab_size: 512, corpus_size: 3}}
model: {{d_model: 16, encoder_layers: 1, decoder_layers: 1, heads: 2, feed_forward: 32, max_length: 4096}}
pretrain: {{steps: 2, batch_size: 2, warmup_steps: 1, targets: [params_M, flops_M]}}
tasks:
  - {{space: nb101,
     data: {{table: nb101_subset.csv, arch_column: "{{adjacency_7x7}}|{{ops}}", targets: [acc_cifar10_val]}}}}
  - {{space: fbnet, data: {{table: fbnet.csv, arch_column: blocks, targets: [lat_ms_pixel3]}}}}
)",
                                                   cache),
                                       "mt.yaml");
  {
    Rlm first = pretrain_rlm(mt.tasks[1].config);
  }
  ASSERT_TRUE(fs::exists(cache + "/model.pt"));
  for (const auto& task : mt.tasks) {
    ::testing::internal::CaptureStderr();
    Rlm rlm = pretrain_rlm(task.config);
    std::string log = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(log.find("reusing the pretrained model"), std::string::npos) << task.name << ": " << log;
    EXPECT_EQ(rlm.config().space, task.config.space);
    EXPECT_EQ(rlm.config().data.table, task.config.data.table);
    EXPECT_EQ(rlm.config().pretrain_spaces, mt.shared.pretrain_spaces);
  }
  // Other pretraining spaces: pretrained again.
  RlmConfig other = mt.tasks[0].config;
  other.pretrain_spaces = {"nb101", "darts"};
  ::testing::internal::CaptureStderr();
  pretrain_rlm(other);
  std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("pretraining again"), std::string::npos) << log;
  fs::remove_all(cache);
}

}  // namespace
}  // namespace nas::predictor
