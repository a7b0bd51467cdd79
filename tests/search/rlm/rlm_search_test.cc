// The RLM evaluator of the search (search/rlm_source.h), with a tiny RLM trained in the test. A separate
// executable (nas_search_rlm_tests), built only with the LibTorch predictor, so that the torch-free search
// tests do not load LibTorch.

#include "search/rlm_source.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/io.h"
#include "core/table.h"
#include "search/search_run.h"
#include "search/table_source.h"

namespace nas::search {
namespace {

namespace fs = std::filesystem;

// Trains in seconds; its predictions are poor, which does not matter here: the test is the plumbing.
constexpr const char* kTinyRlm = R"(
space: nb201
dataset: cifar10
data: {table: nb201.csv, targets: [acc_cifar10, lat_ms_pixel3], train_size: 8, test_size: 8, split_seed: 3}
tokenizer: {vocab_size: 200, corpus_size: 8}
model: {d_model: 32, encoder_layers: 1, decoder_layers: 1, heads: 2, feed_forward: 64, max_length: 512}
finetune: {steps: 4, batch_size: 8, lr: 1.0e-3, warmup_steps: 1}
decode: {samples: 4, batch_size: 16}
mlp_baseline: false
)";

class RlmSearchTest : public ::testing::Test {
 protected:
  // One folder per test: ctest runs the tests of this suite as concurrent processes.
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("nas_rlm_search_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    write_file_atomic((dir_ / "tiny.yaml").string(), kTinyRlm);
  }
  void TearDown() override { fs::remove_all(dir_); }

  SearchConfig config(const std::string& output) const {
    SearchConfig c = parse_search_config(R"(
space: nb201
table: nb201.csv
objectives:
  - {name: acc_cifar10, direction: max}
  - {name: lat_ms_pixel3, direction: min}
population: 8
generations: 2
threads: 2
evaluator: {type: rlm, checkpoint: x, budget: 12}
export_onnx: false
)",
                                         "rlm_test.yaml");
    c.evaluator.checkpoint = (dir_ / "checkpoint").string();
    c.evaluator.rlm_config = (dir_ / "tiny.yaml").string();
    c.output = (dir_ / output).string();
    return c;
  }
  static SearchRunOptions options() {
    SearchRunOptions o;
    o.progress = false;
    o.predictor = make_rlm_predictor;
    return o;
  }

  fs::path dir_;
};

TEST_F(RlmSearchTest, TrainsCachesAndSearchesOnPredictions) {
  SearchResult first = run_search(config("first"), options());
  EXPECT_TRUE(first.predictor.trained);
  EXPECT_EQ(first.predictor.labelled, 12);
  EXPECT_EQ(first.predictor.labelled_set.size(), 12u);
  EXPECT_TRUE(fs::exists(dir_ / "checkpoint" / "model.pt"));
  EXPECT_FALSE(first.exact_evaluator);
  EXPECT_EQ(first.evaluations, 16);
  ASSERT_FALSE(first.front.empty());

  // pareto.csv: predicted median inside its p10..p90 band, true values from the table.
  auto space = spaces::make_space("nb201");
  TableSource table(*space, data_path("nb201.csv"));
  Table pareto = Table::parse(read_file((dir_ / "first" / "pareto.csv").string()), "pareto.csv",
                              {{"arch", ColumnType::kText}, {"onnx", ColumnType::kText}});
  ASSERT_EQ(pareto.rows(), first.front.size());
  for (size_t i = 0; i < pareto.rows(); ++i) {
    for (const std::string m : {"acc_cifar10", "lat_ms_pixel3"}) {
      EXPECT_LE(pareto.number(i, m + "_p10"), pareto.number(i, m + "_median"));
      EXPECT_LE(pareto.number(i, m + "_median"), pareto.number(i, m + "_p90"));
      EXPECT_DOUBLE_EQ(pareto.number(i, m + "_true"), table.value(space->parse(pareto.text(i, "arch")), m));
    }
  }
  EXPECT_FALSE(std::isnan(first.hv_true));
  EXPECT_NE(read_file((dir_ / "first" / "front.svg").string()).find("found front, true values"),
            std::string::npos);

  // The next run reuses the cached checkpoint (same labelled cells) and, with the same seed, finds the
  // same front.
  SearchResult second = run_search(config("second"), options());
  EXPECT_FALSE(second.predictor.trained);
  EXPECT_EQ(second.predictor.labelled_set, first.predictor.labelled_set);
  EXPECT_EQ(read_file((dir_ / "second" / "pareto.csv").string()),
            read_file((dir_ / "first" / "pareto.csv").string()));

  // A budget below what the checkpoint was trained on is refused.
  SearchConfig small = config("small");
  small.evaluator.budget = 5;
  try {
    run_search(small, options());
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("rlm_test.yaml: evaluator.budget"), std::string::npos) << e.what();
  }
}

TEST_F(RlmSearchTest, SourceDecodesTheTrainedTargetOrderAndIsDeterministic) {
  SearchConfig c = config("unused");
  auto space = spaces::make_space("nb201");
  PredictorSource p = make_rlm_predictor(c, *space);  // trains the tiny model
  ASSERT_TRUE(p.source);
  EXPECT_TRUE(p.source->provides("lat_ms_pixel3"));
  EXPECT_FALSE(p.source->provides("lat_ms_eyeriss"));
  Rng rng(4);
  std::vector<spaces::Genotype> xs;
  for (int i = 0; i < 5; ++i) xs.push_back(space->sample(rng));
  auto both = p.source->estimate(xs, {"acc_cifar10", "lat_ms_pixel3"});
  auto again = p.source->estimate(xs, {"acc_cifar10", "lat_ms_pixel3"});
  auto latency = p.source->estimate(xs, {"lat_ms_pixel3"});  // decodes acc_cifar10 first, as trained
  for (size_t i = 0; i < xs.size(); ++i) {
    EXPECT_EQ(both[i][1].median, latency[i][0].median);
    EXPECT_EQ(both[i][1].p90, latency[i][0].p90);
    EXPECT_EQ(both[i][0].median, again[i][0].median);
    EXPECT_LE(both[i][0].p10, both[i][0].p90);
  }
  EXPECT_THROW(p.source->estimate(xs, {"lat_ms_eyeriss"}), ConfigError);
}

TEST_F(RlmSearchTest, ActiveLearningLabelsTheBudgetAndResumesExactly) {
  SearchConfig c = config("active");
  c.evaluator.checkpoint = (dir_ / "checkpoint_active").string();
  c.evaluator.budget = 16;
  c.evaluator.rounds = 3;
  c.evaluator.initial = 8;
  c.evaluator.refit_steps = 3;
  SearchResult full = run_search(c, options());
  EXPECT_EQ(full.rounds, 3);
  EXPECT_EQ(full.queried, 8);  // (16 - 8) / 2 per round after the first two rounds
  EXPECT_EQ(full.predictor.labelled, 16);
  EXPECT_EQ(full.generations_done, 6);
  EXPECT_EQ(full.history.size(), 6u);
  EXPECT_EQ(full.history.back().evaluations, full.evaluations);
  EXPECT_TRUE(full.finished);
  EXPECT_TRUE(full.labelled_front);
  EXPECT_TRUE(fs::exists(dir_ / "active" / "rlm_round_1" / "model.pt"));
  EXPECT_TRUE(fs::exists(dir_ / "active" / "rlm_round_2" / "model.pt"));

  // The front is the true Pareto front of the labelled architectures: non-dominated among themselves,
  // searched values = true values, and nothing labelled dominates a member.
  auto space = spaces::make_space("nb201");
  TableSource table(*space, data_path("nb201.csv"));
  ASSERT_FALSE(full.front.empty());
  for (const auto& f : full.front) {
    EXPECT_DOUBLE_EQ(f.objectives[0], table.value(f.genotype, "acc_cifar10"));
    EXPECT_DOUBLE_EQ(f.objectives[1], table.value(f.genotype, "lat_ms_pixel3"));
    EXPECT_DOUBLE_EQ(f.truth[0], f.objectives[0]);
  }
  for (const auto& a : full.front)
    for (const auto& b : full.front)
      EXPECT_FALSE(a.objectives[0] >= b.objectives[0] && a.objectives[1] <= b.objectives[1] &&
                   (a.objectives[0] > b.objectives[0] || a.objectives[1] < b.objectives[1]));
  EXPECT_NEAR(full.hv_true, full.hv_search, 1e-12);
  EXPECT_NE(read_file((dir_ / "active" / "summary.md").string()).find("true front of the 16 labelled"),
            std::string::npos);

  // Killed in round 2 (after its first generation), resumed: same front and history as uninterrupted.
  SearchConfig k = c;
  k.output = (dir_ / "killed").string();
  SearchRunOptions stop = options();
  int calls = 0;
  stop.on_generation = [&](const Nsga2&) { return ++calls < 3; };
  run_search(k, stop);
  SearchRunOptions resume = options();
  resume.resume = true;
  SearchResult resumed = run_search(k, resume);
  EXPECT_TRUE(resumed.resumed);
  EXPECT_EQ(resumed.generations_done, 6);
  ASSERT_EQ(resumed.front.size(), full.front.size());
  for (size_t i = 0; i < full.front.size(); ++i) EXPECT_EQ(resumed.front[i].arch, full.front[i].arch);
  EXPECT_EQ(read_file((dir_ / "killed" / "pareto.csv").string()), read_file((dir_ / "active" / "pareto.csv").string()));

  // Config errors name the key.
  EXPECT_THROW(parse_search_config(R"(
objectives: [{name: acc_cifar10, direction: max}]
evaluator: {type: rlm, checkpoint: x, budget: 10, rounds: 3, initial: 10}
)",
                                   "bad.yaml"),
               ConfigError);
}

}  // namespace
}  // namespace nas::search
