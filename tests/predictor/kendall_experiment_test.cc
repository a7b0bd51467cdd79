#include "predictor/kendall_experiment.h"

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <fmt/format.h>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/io.h"
#include "core/table.h"

namespace nas::predictor {
namespace {

namespace fs = std::filesystem;

const std::string kRoot = std::string(NAS_TEST_DATA_DIR) + "/../..";

// A scratch directory with a copy of the shipped pretrained NB201 model (so that nothing here can
// write to models/), removed at the end.
class KendallExperimentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / fmt::format("nas_kendall_test_{}", ::getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fs::copy(kRoot + "/models/rlm_nb201_pretrained", dir_ / "pretrained", fs::copy_options::recursive);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // nb201 acc_cifar10, one size, tiny training, the shipped pretrained model (copied).
  KendallConfig tiny_config() const {
    auto c = parse_kendall_config(
        fmt::format(
            "sizes: [16]\nseeds: 1\ntest_size: 100\n"
            "rlm: {{steps: 4, decode_samples: 0}}\n"
            "gin: {{epochs: 10}}\nmlp: {{epochs: 10}}\n"
            "entries:\n  - {{space: nb201, target: acc_cifar10, rlm_config: {}/configs/rlm_nb201.yaml}}\n"
            "anchors:\n  - {{source: FLAN, setting: NB201 CIFAR-10, values: {{\"n=16\": 0.565}}}}\n",
            kRoot),
        "tiny.yaml");
    c.entries[0].rlm.pretrain_cache = (dir_ / "pretrained").string();
    c.output = (dir_ / "kendall").string();
    return c;
  }

  fs::path dir_;
};

TEST_F(KendallExperimentTest, TinyRunWritesOneRowPerPredictorAndResumeSkipsThem) {
  const auto config = tiny_config();
  auto results = run_kendall_experiment(config);
  ASSERT_EQ(results.runs.size(), 5u);  // flops, params at n = 0; rlm, gin, mlp at n = 16
  for (const auto& r : results.runs) {
    EXPECT_EQ(r.space, "nb201");
    EXPECT_EQ(r.n_test, 100) << r.predictor;
    EXPECT_EQ(r.n, is_kendall_proxy(r.predictor) ? 0 : 16) << r.predictor;
    EXPECT_GE(r.kendall_tau, -1.0);
    EXPECT_LE(r.kendall_tau, 1.0);
  }
  // FLOPs rank NB201 accuracy well on any split (a known strong proxy).
  EXPECT_GT(results.runs[0].kendall_tau, 0.3) << results.runs[0].predictor;

  const std::string prefix = config.output;
  Table summary = Table::load(prefix + ".csv", {{"predictor", ColumnType::kText}});
  ASSERT_EQ(summary.rows(), 5u);
  std::vector<std::string> predictors;
  for (size_t i = 0; i < summary.rows(); ++i) {
    predictors.push_back(summary.text(i, "predictor"));
    EXPECT_EQ(summary.number(i, "seeds"), 1.0);
    EXPECT_EQ(summary.number(i, "n_test"), 100.0);
    EXPECT_EQ(summary.number(i, "n"), is_kendall_proxy(predictors.back()) ? 0.0 : 16.0);
  }
  EXPECT_EQ(predictors, (std::vector<std::string>{"rlm", "gin", "mlp", "flops", "params"}));
  const std::string md = read_file(prefix + ".md");
  EXPECT_NE(md.find("## nb201 / acc_cifar10"), std::string::npos);
  EXPECT_NE(md.find("| predictor | no training | n=16 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| GIN (ONNX graph) | – | "), std::string::npos) << md;
  EXPECT_NE(md.find("reported elsewhere, different split"), std::string::npos);
  EXPECT_NE(md.find("| FLAN | NB201 CIFAR-10 | n=16 | 0.565 |"), std::string::npos) << md;
  EXPECT_EQ(Table::load(prefix + "_runs.csv").rows(), 5u);

  // Resume: every cell is done, nothing is trained again and the rows are kept.
  KendallRunOptions resume;
  resume.resume = true;
  auto again = run_kendall_experiment(config, resume);
  ASSERT_EQ(again.runs.size(), 5u);
  for (size_t i = 0; i < 5; ++i) EXPECT_NEAR(again.runs[i].kendall_tau, results.runs[i].kendall_tau, 1e-6);
}

TEST_F(KendallExperimentTest, SizesBeyondThePoolAreSkippedAndUnknownOnlyIsAnError) {
  auto config = tiny_config();
  config.predictors = {"mlp"};
  KendallRunOptions o;
  o.sizes = {16, 20000};
  auto results = run_kendall_experiment(config, o);
  ASSERT_EQ(results.runs.size(), 1u);
  ASSERT_EQ(results.notes.size(), 1u);
  EXPECT_NE(results.notes[0].find("n=20000 skipped"), std::string::npos) << results.notes[0];
  EXPECT_NE(read_file(config.output + ".md").find("n=20000 skipped"), std::string::npos);

  o.only = {"nb101"};
  try {
    run_kendall_experiment(config, o);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(
        std::string(e.what()).find("--only: no entry 'nb101' in tiny.yaml (entries: nb201:acc_cifar10)"),
        std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace nas::predictor
