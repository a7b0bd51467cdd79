// Few-shot adaptation (predictor/adapt.h) on real NB201 cells with a tiny RLM.

#include "predictor/adapt.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/io.h"
#include "core/table.h"
#include "predictor/arch_text.h"
#include "predictor/bpe_tokenizer.h"
#include "predictor/config.h"
#include "predictor/metrics.h"

namespace nas::predictor {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kTargets = {"acc_cifar10", "lat_ms_pixel3"};

struct Cells {
  std::vector<spaces::Genotype> archs;
  std::vector<ArchText> texts;
  std::vector<std::vector<double>> values;  // kTargets
  std::vector<double> eyeriss;              // lat_ms_eyeriss, the "new device"
};

Cells real_cells(const spaces::SearchSpace& space, size_t n) {
  Table t = Table::load(data_path("nb201.csv"), {{"arch_str", ColumnType::kText}});
  Cells c;
  for (size_t i = 0; i < n; ++i) {
    size_t row = (i * 977 + 11) % t.rows();
    c.archs.push_back(space.parse(t.text(row, "arch_str")));
    c.values.push_back({t.number(row, "acc_cifar10"), t.number(row, "lat_ms_pixel3")});
    c.eyeriss.push_back(t.number(row, "lat_ms_eyeriss"));
  }
  c.texts = architecture_texts(space, c.archs, "cifar10");
  return c;
}

class AdaptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("nas_adapt_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    space_ = spaces::make_space("nb201");
    cells_ = real_cells(*space_, 10);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A tiny model trained on the cells' accuracy and Pixel3 latency, saved to dir_/base.
  void train_base() {
    RlmConfig c = parse_rlm_config(R"(
space: nb201
dataset: cifar10
data: {table: nb201.csv, targets: [acc_cifar10, lat_ms_pixel3], train_size: 8, test_size: 8}
model: {d_model: 48, encoder_layers: 1, decoder_layers: 1, heads: 4, feed_forward: 96, max_length: 512}
finetune: {steps: 200, batch_size: 8, lr: 3.0e-3, warmup_steps: 20}
decode: {samples: 0, batch_size: 16}
)",
                                   "tiny.yaml");
    std::vector<std::string> corpus;
    for (const auto& t : cells_.texts) corpus.push_back(t.text);
    BpeTrainOptions o;
    o.vocab_size = 256;
    Rlm rlm(c, BpeTokenizer::train(corpus, o));
    rlm.train(cells_.texts, cells_.values, kTargets, c.finetune, "base");
    rlm.save((dir_ / "base").string());
  }

  fs::path dir_;
  std::unique_ptr<spaces::SearchSpace> space_;
  Cells cells_;
};

TEST_F(AdaptTest, AddsTheNewTargetAfterTheOldOnesAndKeepsThem) {
  train_base();
  Rlm rlm = Rlm::load((dir_ / "base").string());
  DecodeOptions greedy;
  greedy.samples = 0;
  auto before = rlm.predict(cells_.texts, kTargets, greedy);
  ASSERT_NE(rlm.trained_range("acc_cifar10"), nullptr);
  const TargetRange acc_range = *rlm.trained_range("acc_cifar10");

  AdaptOptions o;
  o.target = "lat_ms_eyeriss";
  o.steps = 150;
  o.lr = 3e-3;
  o.batch_size = 8;
  o.replay = 16;
  auto report = adapt_rlm(rlm, *space_, cells_.archs, cells_.eyeriss, o);
  EXPECT_EQ(rlm.config().data.targets, (std::vector<std::string>{"acc_cifar10", "lat_ms_pixel3", "lat_ms_eyeriss"}));
  EXPECT_TRUE(report.init_from == "acc_cifar10" || report.init_from == "lat_ms_pixel3") << report.init_from;
  EXPECT_LT(report.train.final_loss, report.train.first_loss);
  EXPECT_TRUE(report.transfer.fitted());  // the replay cells were pseudo-labelled
  EXPECT_GT(report.ridge_fit_rho, 0.5);
  // Value bounds: the old targets keep the range of their true labels (the replayed labels are the
  // model's own predictions), the new one gets the range of its shots and pseudo-labels.
  EXPECT_EQ(rlm.trained_range("acc_cifar10")->min, acc_range.min);
  EXPECT_EQ(rlm.trained_range("acc_cifar10")->max, acc_range.max);
  EXPECT_EQ(rlm.trained_range("acc_cifar10")->count, acc_range.count);
  ASSERT_NE(rlm.trained_range("lat_ms_eyeriss"), nullptr);
  EXPECT_LE(rlm.trained_range("lat_ms_eyeriss")->min,
            *std::min_element(cells_.eyeriss.begin(), cells_.eyeriss.end()) * (1 + 1e-3));
  EXPECT_GE(rlm.trained_range("lat_ms_eyeriss")->max,
            *std::max_element(cells_.eyeriss.begin(), cells_.eyeriss.end()) * (1 - 1e-3));

  // The new target is learnt on the shots (decoded after the old ones) ...
  auto adapted = predict_in_training_order(rlm, cells_.texts, {"lat_ms_eyeriss"}, greedy);
  std::vector<double> p;
  for (const auto& x : adapted) p.push_back(x.median[0]);
  EXPECT_GT(spearman_rho(p, cells_.eyeriss), 0.6);
  int close = 0;
  for (size_t i = 0; i < p.size(); ++i) close += std::abs(p[i] - cells_.eyeriss[i]) < 0.3 * cells_.eyeriss[i];
  EXPECT_GE(close, 6) << "of " << p.size();

  // ... and the old targets keep their predictions (distilled from the model itself).
  auto after = rlm.predict(cells_.texts, kTargets, greedy);
  int kept = 0;
  for (size_t i = 0; i < after.size(); ++i)
    kept += std::abs(after[i].median[0] - before[i].median[0]) < 0.05 * before[i].median[0] &&
            std::abs(after[i].median[1] - before[i].median[1]) < 0.15 * before[i].median[1];
  EXPECT_GE(kept, 7) << "of " << after.size();

  // Asking for one target decodes the training order: the same values as asking for all of them.
  auto all = rlm.predict(cells_.texts, rlm.config().data.targets, greedy);
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].median[2], p[i]);

  // The adapted checkpoint round-trips with its new target.
  rlm.save((dir_ / "adapted").string());
  Rlm loaded = Rlm::load((dir_ / "adapted").string());
  EXPECT_EQ(loaded.config().data.targets, rlm.config().data.targets);
  auto again = predict_in_training_order(loaded, cells_.texts, {"lat_ms_eyeriss"}, greedy);
  for (size_t i = 0; i < again.size(); ++i) EXPECT_EQ(again[i].median[0], p[i]);

  // A target the model already predicts, and bad shots, are refused.
  EXPECT_THROW(adapt_rlm(loaded, *space_, cells_.archs, cells_.eyeriss, o), ConfigError);
  AdaptOptions other = o;
  other.target = "lat_ms_fpga";
  EXPECT_THROW(adapt_rlm(loaded, *space_, cells_.archs, {1.0, 2.0}, other), ConfigError);
  std::vector<double> bad = cells_.eyeriss;
  bad[3] = std::nan("");
  EXPECT_THROW(adapt_rlm(loaded, *space_, cells_.archs, bad, other), ConfigError);
  for (double share : {0.0, 1.0, -0.5}) {
    AdaptOptions shares = other;
    shares.shot_share = share;
    EXPECT_THROW(adapt_rlm(loaded, *space_, cells_.archs, cells_.eyeriss, shares), ConfigError) << share;
  }
}

// The pseudo-label map on real latencies: with the true latencies of three known devices standing in for
// the model's predictions, 10 measured cells of a fourth device (raspi4) rank 300 other cells better
// than the FLOPs proxy does, and the map refuses inconsistent input.
TEST_F(AdaptTest, RidgeTransferFromKnownDevicesBeatsFlopsOnANewOne) {
  Table t = Table::load(data_path("nb201.csv"), {{"arch_str", ColumnType::kText}});
  const std::vector<std::string> known = {"lat_ms_pixel3", "lat_ms_gold_6226", "lat_ms_titanx_1"};
  std::vector<spaces::Genotype> archs;
  std::vector<Prediction> pred;
  std::vector<double> raspi4;
  for (size_t i = 0; i < 310; ++i) {
    size_t row = (i * 7919 + 5) % t.rows();
    archs.push_back(space_->parse(t.text(row, "arch_str")));
    Prediction p;
    for (const auto& c : known) p.median.push_back(t.number(row, c));
    pred.push_back(p);
    raspi4.push_back(t.number(row, "lat_ms_raspi4"));
  }
  auto texts = architecture_texts(*space_, archs, "cifar10");
  auto first = [](const auto& v, size_t n) { return std::vector<typename std::decay_t<decltype(v)>::value_type>(v.begin(), v.begin() + n); };
  auto rest = [](const auto& v, size_t n) { return std::vector<typename std::decay_t<decltype(v)>::value_type>(v.begin() + n, v.end()); };
  RidgeTransfer map = RidgeTransfer::fit(first(pred, 10), first(texts, 10), first(raspi4, 10), pred, texts, 1.0);
  ASSERT_TRUE(map.fitted());
  std::vector<double> guess, flops;
  for (size_t i = 10; i < pred.size(); ++i) {
    guess.push_back(map.predict(pred[i], texts[i]));
    flops.push_back(texts[i].computed.at(1));
    EXPECT_GT(guess.back(), 0.0);
  }
  const auto truth = rest(raspi4, 10);
  const double rho = spearman_rho(guess, truth), flops_rho = spearman_rho(flops, truth);
  EXPECT_GT(rho, 0.85) << "FLOPs " << flops_rho;
  EXPECT_GT(rho, flops_rho);
  // The leave-one-out choice of the L2 weight (ridge < 0) does at least as well here.
  RidgeTransfer loo = RidgeTransfer::fit(first(pred, 10), first(texts, 10), first(raspi4, 10), pred, texts, -1.0);
  EXPECT_GT(loo.lambda(), 0.0);
  std::vector<double> loo_guess;
  for (size_t i = 10; i < pred.size(); ++i) loo_guess.push_back(loo.predict(pred[i], texts[i]));
  EXPECT_GT(spearman_rho(loo_guess, truth), flops_rho) << "lambda " << loo.lambda();
  std::cerr << "ridge rho " << rho << ", leave-one-out lambda " << loo.lambda() << " rho "
            << spearman_rho(loo_guess, truth) << ", FLOPs " << flops_rho << "\n";
  // Same measurements in another unit (s instead of ms): the same ranking.
  std::vector<double> seconds;
  for (double v : first(raspi4, 10)) seconds.push_back(v / 1000.0);
  RidgeTransfer in_s = RidgeTransfer::fit(first(pred, 10), first(texts, 10), seconds, pred, texts, 1.0);
  EXPECT_NEAR(in_s.predict(pred[20], texts[20]) * 1000.0, map.predict(pred[20], texts[20]), 1e-6 * guess[10]);

  EXPECT_THROW(RidgeTransfer::fit(first(pred, 10), first(texts, 9), first(raspi4, 10), pred, texts, 1.0), ConfigError);
  EXPECT_THROW(RidgeTransfer::fit(first(pred, 10), first(texts, 10), first(raspi4, 10), {}, {}, 1.0), ConfigError);
  EXPECT_THROW(RidgeTransfer().predict(pred[0], texts[0]), ConfigError);
}

TEST_F(AdaptTest, MeasuredTableReadsArchitecturesAndNamesBadRows) {
  fs::create_directories(dir_);
  std::string csv = "arch_str,lat_ms_mybox\n";
  for (size_t i = 0; i < 3; ++i) csv += space_->format(cells_.archs[i]) + "," + std::to_string(1.5 + i) + "\n";
  write_file_atomic((dir_ / "mybox.csv").string(), csv);
  auto t = load_measured_table((dir_ / "mybox.csv").string(), "arch_str", "lat_ms_mybox", *space_);
  ASSERT_EQ(t.archs.size(), 3u);
  EXPECT_EQ(t.archs[2].genes, cells_.archs[2].genes);
  EXPECT_DOUBLE_EQ(t.values[1], 2.5);

  try {
    load_measured_table((dir_ / "mybox.csv").string(), "arch_str", "lat_ms_other", *space_);
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("lat_ms_other"), std::string::npos) << e.what();
  }
  write_file_atomic((dir_ / "bad.csv").string(), csv + "|nor_conv_3x3~0|+|bogus~0|,3.0\n");
  try {
    load_measured_table((dir_ / "bad.csv").string(), "arch_str", "lat_ms_mybox", *space_);
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.csv:5"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace nas::predictor
