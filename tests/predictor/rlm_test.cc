#include "predictor/rlm.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/io.h"
#include "core/table.h"
#include "predictor/arch_text.h"
#include "predictor/bpe_tokenizer.h"
#include "predictor/config.h"
#include "predictor/threads.h"
#include "spaces/search_space.h"

namespace nas::predictor {
namespace {

const std::vector<std::string> kTargets = {"acc_cifar10", "lat_ms_pixel3"};

// A handful of real NB201 cells with their benchmark accuracy and Pixel3 latency.
struct Fixture {
  std::vector<ArchText> texts;
  std::vector<std::vector<double>> values;
};

Fixture real_cells(size_t n, size_t stride = 1531) {
  static Table table = [] {
    Table t = Table::load(data_path("nb201.csv"), {{"arch_str", ColumnType::kText}});
    return t;
  }();
  auto space = spaces::make_space("nb201");
  std::vector<spaces::Genotype> gs;
  Fixture f;
  for (size_t i = 0; i < n; ++i) {
    size_t row = (i * stride + 7) % table.rows();
    gs.push_back(space->parse(table.text(row, "arch_str")));
    f.values.push_back({table.number(row, "acc_cifar10"), table.number(row, "lat_ms_pixel3")});
  }
  f.texts = architecture_texts(*space, gs, "cifar10");
  return f;
}

RlmConfig tiny_config() {
  RlmConfig c = parse_rlm_config(R"(
space: nb201
dataset: cifar10
data: {table: nb201.csv, targets: [acc_cifar10, lat_ms_pixel3], train_size: 8, test_size: 8}
model: {d_model: 48, encoder_layers: 1, decoder_layers: 1, heads: 4, feed_forward: 96, max_length: 512}
finetune: {steps: 250, batch_size: 8, lr: 3.0e-3, warmup_steps: 20}
decode: {samples: 8, batch_size: 16}
)",
                                 "tiny.yaml");
  return c;
}

BpeTokenizer tokenizer_for(const Fixture& f) {
  std::vector<std::string> corpus;
  for (const auto& t : f.texts) corpus.push_back(t.text);
  BpeTrainOptions o;
  o.vocab_size = 256;
  return BpeTokenizer::train(corpus, o);
}

// Greedy predictions of f's cells, and how many lie within relative error acc_tol of their accuracy
// and lat_tol of their latency (printed to stderr for a failing run's log).
struct GreedyFit {
  std::vector<Prediction> predictions;
  int close = 0;
};
GreedyFit greedy_fit(const Rlm& rlm, const Fixture& f, double acc_tol, double lat_tol) {
  DecodeOptions greedy;
  greedy.samples = 0;
  GreedyFit fit{rlm.predict(f.texts, kTargets, greedy), 0};
  for (size_t i = 0; i < f.texts.size(); ++i) {
    const auto& m = fit.predictions[i].median;
    double acc_err = std::abs(m[0] - f.values[i][0]) / f.values[i][0];
    double lat_err = std::abs(m[1] - f.values[i][1]) / f.values[i][1];
    fit.close += acc_err < acc_tol && lat_err < lat_tol;
    std::cerr << m[0] << " vs " << f.values[i][0] << " | " << m[1] << " vs " << f.values[i][1] << "\n";
  }
  return fit;
}

// The message of the ConfigError that parsing `yaml` (as "c.yaml") throws, or "no error".
std::string config_error(const std::string& yaml) {
  try {
    parse_rlm_config(yaml, "c.yaml");
  } catch (const ConfigError& e) {
    return std::string(e.what());
  }
  return std::string("no error");
}

TEST(RlmTest, TinyModelOverfitsAHandfulOfArchitectures) {
  Fixture f = real_cells(8);
  RlmConfig config = tiny_config();
  Rlm rlm(config, tokenizer_for(f));
  auto report = rlm.train(f.texts, f.values, kTargets, config.finetune, "overfit");
  EXPECT_LT(report.final_loss, 0.35 * report.first_loss) << "first " << report.first_loss << " final "
                                                           << report.final_loss;
  EXPECT_GE(greedy_fit(rlm, f, 0.05, 0.15).close, 6) << "predictions should approach the training targets";
}

// Length-grouped batches (TrainOptions::length_groups) still fit the data: batches of 3 from chunks of
// 2 batches over 8 cells (chunks straddle the epoch boundary).
TEST(RlmTest, LengthGroupedBatchesStillFitTheData) {
  Fixture f = real_cells(8);
  RlmConfig config = tiny_config();
  config.finetune.length_groups = 2;
  config.finetune.batch_size = 3;
  Rlm rlm(config, tokenizer_for(f));
  auto report = rlm.train(f.texts, f.values, kTargets, config.finetune, "grouped");
  EXPECT_LT(report.final_loss, 0.35 * report.first_loss) << "first " << report.first_loss << " final "
                                                           << report.final_loss;
  // The setting is part of the YAML a checkpoint stores, and must not be negative.
  EXPECT_NE(rlm_config_to_yaml(config).find("length_groups: 2"), std::string::npos);
  EXPECT_EQ(parse_rlm_config(rlm_config_to_yaml(config), "round.yaml").finetune.length_groups, 2);
  try {
    parse_rlm_config("data: {table: nb201.csv, targets: [acc_cifar10]}\npretrain: {length_groups: -1}\n", "c.yaml");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("c.yaml: pretrain.length_groups: must be >= 0"), std::string::npos) << e.what();
  }
}

// Fine-tuning with dropout on a model built without it still fits the data; the setting round-trips
// through the stored YAML and is validated, as are the equivalence-augmentation keys.
TEST(RlmTest, FineTuningDropoutStillFitsTheData) {
  Fixture f = real_cells(8);
  RlmConfig config = tiny_config();
  config.finetune.dropout = 0.1;
  Rlm rlm(config, tokenizer_for(f));
  auto report = rlm.train(f.texts, f.values, kTargets, config.finetune, "dropout");
  EXPECT_LT(report.final_loss, 0.4 * report.first_loss) << "first " << report.first_loss << " final "
                                                          << report.final_loss;
  // Prediction runs without dropout: two greedy predictions agree exactly, and lie near the data.
  auto a = greedy_fit(rlm, f, 0.05, std::numeric_limits<double>::infinity());
  auto b = greedy_fit(rlm, f, 0.05, std::numeric_limits<double>::infinity());
  for (size_t i = 0; i < f.texts.size(); ++i) EXPECT_EQ(a.predictions[i].median, b.predictions[i].median);
  EXPECT_GE(a.close, 6);
  auto round = parse_rlm_config(rlm_config_to_yaml(config), "round.yaml");
  EXPECT_DOUBLE_EQ(round.finetune.dropout, 0.1);
  EXPECT_LT(round.pretrain.dropout, 0.0) << "unset means the model's dropout";
  const std::string base = "data: {table: nb201.csv, targets: [acc_cifar10]}\n";
  EXPECT_NE(config_error(base + "finetune: {dropout: 1.5}\n").find("c.yaml: finetune.dropout: must be < 1"), std::string::npos);
  EXPECT_NE(config_error("data: {table: nb201.csv, targets: [acc_cifar10], equivalents: 4}\n")
                .find("c.yaml: data.equivalent_targets: required when data.equivalents > 0"),
            std::string::npos);
  EXPECT_NE(config_error("data: {table: nb201.csv, targets: [acc_cifar10], equivalents: 4, equivalent_targets: [acc]}\n")
                .find("c.yaml: data.equivalent_targets: 'acc' is not one of data.targets"),
            std::string::npos);
}

// finetune.attention_dropout drops attention weights only: with every other dropout off it changes
// the training run; set to the phase's dropout it is the same run as leaving it unset. It round-trips
// through the stored YAML and is validated.
TEST(RlmTest, AttentionDropoutIsItsOwnSetting) {
  Fixture f = real_cells(8);
  RlmConfig config = tiny_config();
  auto final_loss = [&](double dropout, double attention_dropout) {
    TrainOptions options = config.finetune;
    options.steps = 15;  // the runs need only differ or agree, not converge
    options.dropout = dropout;
    options.attention_dropout = attention_dropout;
    Rlm rlm(config, tokenizer_for(f));
    return rlm.train(f.texts, f.values, kTargets, options, "attention dropout").final_loss;
  };
  EXPECT_NE(final_loss(0.0, 0.3), final_loss(0.0, -1.0));
  EXPECT_EQ(final_loss(0.1, 0.1), final_loss(0.1, -1.0));
  config.finetune.attention_dropout = 0.25;
  EXPECT_DOUBLE_EQ(parse_rlm_config(rlm_config_to_yaml(config), "round.yaml").finetune.attention_dropout, 0.25);
  EXPECT_NE(config_error("data: {table: nb201.csv, targets: [acc_cifar10]}\nfinetune: {attention_dropout: 1.0}\n")
                .find("c.yaml: finetune.attention_dropout: must be < 1"),
            std::string::npos);
}

// finetune.ema_decay ends the phase with the moving average of the weights: a decay near 0 keeps the
// last step's weights (the same model as without averaging), a real decay gives another model. It
// round-trips through the stored YAML and is validated.
TEST(RlmTest, EmaDecayEndsWithTheAveragedWeights) {
  Fixture f = real_cells(8);
  RlmConfig config = tiny_config();
  auto loss_after = [&](double ema_decay) {
    TrainOptions options = config.finetune;
    options.steps = 15;  // the runs need only differ or agree, not converge
    options.ema_decay = ema_decay;
    Rlm rlm(config, tokenizer_for(f));
    rlm.train(f.texts, f.values, kTargets, options, "ema");
    return rlm.loss(f.texts, f.values, kTargets);
  };
  const double plain = loss_after(0.0);
  EXPECT_NEAR(loss_after(1e-12), plain, 1e-6 * plain);
  EXPECT_GT(std::abs(loss_after(0.9) - plain), 1e-3 * plain);
  config.finetune.ema_decay = 0.999;
  EXPECT_DOUBLE_EQ(parse_rlm_config(rlm_config_to_yaml(config), "round.yaml").finetune.ema_decay, 0.999);
  EXPECT_EQ(rlm_config_to_yaml(tiny_config()).find("ema_decay"), std::string::npos) << "off = not written";
  EXPECT_NE(config_error("data: {table: nb201.csv, targets: [acc_cifar10]}\nfinetune: {ema_decay: 1.0}\n")
                .find("c.yaml: finetune.ema_decay: must be in [0, 1) (0 = off)"),
            std::string::npos);
}

TEST(RlmTest, SampledPredictionsAreValidNumbersWithOrderedQuantiles) {
  Fixture f = real_cells(6);
  RlmConfig config = tiny_config();
  Rlm rlm(config, tokenizer_for(f));
  TrainOptions few = config.finetune;
  few.steps = 20;
  rlm.train(f.texts, f.values, kTargets, few, "few");
  DecodeOptions hot;
  hot.samples = 16;
  hot.temperature = 3.0;  // flat distributions: every grammar branch gets exercised
  auto pred = rlm.predict(f.texts, kTargets, hot);
  ASSERT_EQ(pred.size(), f.texts.size());
  for (const auto& p : pred) {
    ASSERT_EQ(p.median.size(), 2u);
    for (size_t j = 0; j < 2; ++j) {
      EXPECT_TRUE(std::isfinite(p.median[j]));
      EXPECT_LE(p.p10[j], p.median[j]);
      EXPECT_LE(p.median[j], p.p90[j]);
    }
  }
}

TEST(RlmTest, MissingTargetsAreMaskedOutOfTheLoss) {
  Fixture f = real_cells(6);
  RlmConfig config = tiny_config();
  Rlm rlm(config, tokenizer_for(f));
  TrainOptions few = config.finetune;
  few.steps = 10;
  rlm.train(f.texts, f.values, kTargets, few, "few");
  std::vector<std::vector<double>> first_only, first_missing_second;
  for (const auto& v : f.values) {
    first_only.push_back({v[0]});
    first_missing_second.push_back({v[0], std::nan("")});
  }
  // The first target's tokens do not see later positions (causal decoder), so masking the second
  // target must leave exactly the first target's loss.
  double a = rlm.loss(f.texts, first_only, {"acc_cifar10"});
  double b = rlm.loss(f.texts, first_missing_second, kTargets);
  EXPECT_NEAR(a, b, 1e-5);
  double full = rlm.loss(f.texts, f.values, kTargets);
  EXPECT_GT(std::abs(full - a), 1e-4) << "the second target must count when present";
}

TEST(RlmTest, CheckpointRoundTripGivesIdenticalPredictions) {
  Fixture f = real_cells(6);
  RlmConfig config = tiny_config();
  Rlm rlm(config, tokenizer_for(f));
  TrainOptions few = config.finetune;
  few.steps = 15;
  rlm.train(f.texts, f.values, kTargets, few, "few");
  auto dir = (std::filesystem::temp_directory_path() / "nas_rlm_ckpt_test").string();
  std::filesystem::remove_all(dir);
  rlm.save(dir);
  rlm.save(dir);  // overwriting an existing checkpoint works and leaves no temporaries
  int entries = 0;
  for (auto& e : std::filesystem::directory_iterator(std::filesystem::path(dir).parent_path()))
    entries += e.path().filename().string().rfind("nas_rlm_ckpt_test", 0) == 0;
  EXPECT_EQ(entries, 1);
  Rlm loaded = Rlm::load(dir);
  EXPECT_EQ(loaded.known_targets(), rlm.known_targets());
  DecodeOptions d;
  d.samples = 4;
  d.seed = 3;
  auto p1 = rlm.predict(f.texts, kTargets, d);
  auto p2 = loaded.predict(f.texts, kTargets, d);
  for (size_t i = 0; i < p1.size(); ++i) {
    EXPECT_EQ(p1[i].median, p2[i].median);
    EXPECT_EQ(p1[i].p10, p2[i].p10);
  }
  std::filesystem::remove_all(dir);
}

// TrainOptions::members trains an ensemble: copies of the model with their own seeds (batch order,
// dropout), side by side in threads, reproducibly; member 0 is the single model trained with the same
// options. Prediction pools the members' samples; the checkpoint holds every member, and a missing
// member file is a clear error.
TEST(RlmTest, EnsembleMembersTrainReproduciblyAndPoolTheirSamples) {
  Fixture f = real_cells(6);
  const RlmConfig config = tiny_config();
  TrainOptions options = config.finetune;
  options.steps = 15;  // members need only differ, not converge
  options.dropout = 0.1;
  auto trained = [&](int64_t members, int threads) {
    ScopedThreads scoped(threads);
    TrainOptions o = options;
    o.members = members;
    Rlm rlm(config, tokenizer_for(f));
    rlm.train(f.texts, f.values, kTargets, o, "ensemble");
    return rlm;
  };
  Rlm a = trained(2, 2), b = trained(2, 2), single = trained(1, 1);
  EXPECT_EQ(a.config().members, 2);
  EXPECT_EQ(single.config().members, 1);
  EXPECT_EQ(a.parameter_count(), 2 * single.parameter_count());
  DecodeOptions sampled;
  sampled.samples = 8;
  sampled.seed = 5;
  auto pa = a.predict(f.texts, kTargets, sampled), pb = b.predict(f.texts, kTargets, sampled);
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_EQ(pa[i].median, pb[i].median) << "the same seeds must give the same ensemble, threads or not";
    EXPECT_EQ(pa[i].p90, pb[i].p90);
  }
  // Greedy: one path per member. A single model's quantiles collapse onto its value; the ensemble's
  // spread over its two members' values, which differ for some cell.
  DecodeOptions greedy;
  greedy.samples = 0;
  auto ga = a.predict(f.texts, kTargets, greedy), gs = single.predict(f.texts, kTargets, greedy);
  int spread = 0;
  for (size_t i = 0; i < ga.size(); ++i)
    for (size_t j = 0; j < kTargets.size(); ++j) {
      EXPECT_EQ(gs[i].p10[j], gs[i].p90[j]);
      EXPECT_LE(ga[i].p10[j], ga[i].median[j]);
      EXPECT_LE(ga[i].median[j], ga[i].p90[j]);
      spread += ga[i].p10[j] < ga[i].p90[j];
    }
  EXPECT_GT(spread, 0) << "the members should differ";
  // The checkpoint stores both members; loaded, it predicts the same. Member 0 alone (model.pt, with
  // the config's member count set to 1) is the single model.
  auto dir = (std::filesystem::temp_directory_path() / "nas_rlm_ensemble_ckpt").string();
  std::filesystem::remove_all(dir);
  a.save(dir);
  EXPECT_TRUE(std::filesystem::exists(dir + "/model_1.pt"));
  Rlm loaded = Rlm::load(dir);
  EXPECT_EQ(loaded.config().members, 2);
  auto pl = loaded.predict(f.texts, kTargets, sampled);
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_EQ(pl[i].median, pa[i].median);
  std::string yaml = read_file(dir + "/config.yaml");
  const auto pos = yaml.find("\nmembers: 2\n");
  ASSERT_NE(pos, std::string::npos) << yaml;
  write_file_atomic(dir + "/config.yaml", std::string(yaml).replace(pos, 12, "\n"));
  auto first = Rlm::load(dir).predict(f.texts, kTargets, greedy);
  for (size_t i = 0; i < gs.size(); ++i) EXPECT_EQ(first[i].median, gs[i].median) << "member 0 keeps the single seeds";
  write_file_atomic(dir + "/config.yaml", yaml);
  std::filesystem::remove(dir + "/model_1.pt");
  try {
    Rlm::load(dir);
    FAIL() << "no error";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("missing model_1.pt"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("2 ensemble members"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
  // The setting round-trips through the stored YAML (left out at 1) and is validated.
  RlmConfig c = tiny_config();
  c.finetune.members = 3;
  EXPECT_EQ(parse_rlm_config(rlm_config_to_yaml(c), "round.yaml").finetune.members, 3);
  EXPECT_EQ(rlm_config_to_yaml(tiny_config()).find("members"), std::string::npos) << "1 = not written";
  const std::string base = "data: {table: nb201.csv, targets: [acc_cifar10]}\n";
  EXPECT_NE(config_error(base + "finetune: {members: 0}\n").find("c.yaml: finetune.members: must be in [1, 16]"),
            std::string::npos);
  EXPECT_NE(config_error(base + "members: 17\n").find("c.yaml: members: must be in [1, 16]"), std::string::npos);
}

// Value bounds: training records each target's range (saved with the checkpoint), and sampling, however
// hot, stays within it widened by decode.bound_margin; with the bounds off the same sampling leaves it.
TEST(RlmTest, DecodingStaysWithinTheTrainedRangeAndMargin) {
  Fixture f = real_cells(6);
  RlmConfig config = tiny_config();
  Rlm rlm(config, tokenizer_for(f));
  EXPECT_EQ(rlm.trained_range("acc_cifar10"), nullptr);
  TrainOptions few = config.finetune;
  few.steps = 20;
  rlm.train(f.texts, f.values, kTargets, few, "few");
  for (size_t j = 0; j < kTargets.size(); ++j) {
    const TargetRange* r = rlm.trained_range(kTargets[j]);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->count, 6);
    double lo = f.values[0][j], hi = lo;
    for (const auto& row : f.values) lo = std::min(lo, row[j]), hi = std::max(hi, row[j]);
    EXPECT_NEAR(r->min, lo, 1e-3 * lo);  // as the decoder sees them: rounded to 4 digits
    EXPECT_NEAR(r->max, hi, 1e-3 * hi);
  }
  DecodeOptions hot;
  hot.samples = 16;
  hot.temperature = 3.0;
  int outside = 0;
  for (double margin : {0.1, -1.0}) {
    hot.bound_margin = margin;
    for (const auto& p : rlm.predict(f.texts, kTargets, hot)) {
      for (size_t j = 0; j < kTargets.size(); ++j) {
        const TargetRange& r = *rlm.trained_range(kTargets[j]);
        const double lo = std::max(0.0, r.min - 0.1 * (r.max - r.min)), hi = r.max + 0.1 * (r.max - r.min);
        const bool inside = p.p10[j] >= lo && p.p90[j] <= hi;
        if (margin >= 0) {
          EXPECT_TRUE(inside) << kTargets[j] << " p10 " << p.p10[j] << " p90 " << p.p90[j] << " not in [" << lo
                              << ", " << hi << "]";
        } else {
          outside += !inside;
        }
      }
    }
  }
  EXPECT_GT(outside, 0) << "unbounded hot sampling of an untrained model should leave the training range";
  // The ranges travel with the checkpoint; a second training phase widens them.
  auto dir = (std::filesystem::temp_directory_path() / "nas_rlm_ranges_test").string();
  rlm.save(dir);
  Rlm loaded = Rlm::load(dir);
  ASSERT_NE(loaded.trained_range("lat_ms_pixel3"), nullptr);
  EXPECT_EQ(loaded.trained_range("lat_ms_pixel3")->max, rlm.trained_range("lat_ms_pixel3")->max);
  EXPECT_EQ(loaded.trained_range("acc_cifar10")->count, 6);
  auto wider = f.values;
  wider[0][1] = 1000.0;
  loaded.train(f.texts, wider, kTargets, few, "again");
  EXPECT_EQ(loaded.trained_range("lat_ms_pixel3")->max, 1000.0);
  EXPECT_EQ(loaded.trained_range("acc_cifar10")->count, 12);
  std::filesystem::remove_all(dir);
  // The margin is part of a checkpoint's YAML; a value that is not a number is refused by name.
  RlmConfig c = tiny_config();
  c.decode.bound_margin = -1;
  EXPECT_EQ(parse_rlm_config(rlm_config_to_yaml(c), "round.yaml").decode.bound_margin, -1);
  EXPECT_EQ(tiny_config().decode.bound_margin, 0.02);
  try {
    parse_rlm_config("data: {table: nb201.csv, targets: [acc_cifar10]}\ndecode: {bound_margin: .nan}\n", "c.yaml");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("c.yaml: decode.bound_margin: must be a number"), std::string::npos)
        << e.what();
  }
}

TEST(RlmTest, BadCheckpointsGiveClearErrors) {
  Fixture f = real_cells(4);
  RlmConfig config = tiny_config();
  Rlm rlm(config, tokenizer_for(f));
  auto dir = (std::filesystem::temp_directory_path() / "nas_rlm_bad_ckpt").string();
  std::filesystem::remove_all(dir);
  auto message = [&] {
    try {
      Rlm::load(dir);
    } catch (const CheckpointError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message().find("missing config.yaml"), std::string::npos);
  rlm.save(dir);
  // Weights truncated on disk.
  std::string weights = read_file(dir + "/model.pt");
  write_file_atomic(dir + "/model.pt", weights.substr(0, weights.size() / 2));
  EXPECT_NE(message().find("unreadable weights file"), std::string::npos);
  // Config that does not match the weights.
  rlm.save(dir);
  std::string yaml = read_file(dir + "/config.yaml");
  auto pos = yaml.find("d_model: 48");
  ASSERT_NE(pos, std::string::npos);
  write_file_atomic(dir + "/config.yaml", yaml.replace(pos, 11, "d_model: 64"));
  EXPECT_NE(message().find("has shape"), std::string::npos) << message();
  // Unknown format line.
  rlm.save(dir);
  write_file_atomic(dir + "/targets.txt", "something else\n");
  EXPECT_NE(message().find("unknown checkpoint format"), std::string::npos);
  // A damaged target_ranges.csv names its line.
  rlm.save(dir);
  write_file_atomic(dir + "/target_ranges.csv", "target,count,min,max\nacc_cifar10,3,91.2,abc\n");
  EXPECT_NE(message().find("target_ranges.csv:2:"), std::string::npos) << message();
  write_file_atomic(dir + "/target_ranges.csv", "target,count,min,max\nacc_cifar10,3,95,91\n");
  EXPECT_NE(message().find("min <= max"), std::string::npos) << message();
  write_file_atomic(dir + "/target_ranges.csv", "target,count,min,max\nacc_cifar10,,91,95\n");
  EXPECT_NE(message().find("target_ranges.csv:2: target 'acc_cifar10': need an integer count"), std::string::npos)
      << message();
  write_file_atomic(dir + "/target_ranges.csv", "target,count,min\nacc_cifar10,3,91\n");
  EXPECT_NE(message().find("target_ranges.csv: missing required column 'max'"), std::string::npos) << message();
  // Older checkpoints without the file still load (and decode unbounded).
  std::filesystem::remove(dir + "/target_ranges.csv");
  EXPECT_EQ(message(), "no error");
  std::filesystem::remove_all(dir);
}

TEST(RlmTest, ContextTargetsAreGivenExactlyAndConditionThePrediction) {
  Fixture f = real_cells(8);
  RlmConfig config = tiny_config();
  config.data.context = {"depth_max", "depth_min"};
  Rlm rlm(config, tokenizer_for(f));
  TrainOptions few = config.finetune;
  few.steps = 40;
  rlm.train(f.texts, f.values, kTargets, few, "context");
  // Training decoded the context targets first: they have slots before the benchmark targets.
  ASSERT_EQ(rlm.known_targets().size(), 4u);
  EXPECT_EQ(rlm.known_targets()[0], "depth_max");
  EXPECT_EQ(rlm.known_targets()[2], "acc_cifar10");
  DecodeOptions greedy;
  greedy.samples = 0;
  greedy.batch_size = 3;  // several batches, the last one partial
  auto pred = rlm.predict(f.texts, kTargets, greedy);
  ASSERT_EQ(pred.size(), f.texts.size());
  // Batching does not change the teacher-forced prefix.
  greedy.batch_size = 8;
  auto whole = rlm.predict(f.texts, kTargets, greedy);
  for (size_t i = 0; i < pred.size(); ++i) EXPECT_EQ(pred[i].median, whole[i].median);
  // The prefix is read from the inputs' computed values: changing them changes the loss.
  auto shifted = f.texts;
  for (auto& t : shifted) t.computed[2] += 7.0;  // depth_max
  EXPECT_NE(rlm.loss(f.texts, f.values, kTargets), rlm.loss(shifted, f.values, kTargets));
  // Inputs without computed values cannot be conditioned: a clear error, not garbage.
  auto bare = f.texts;
  for (auto& t : bare) t.computed.clear();
  try {
    rlm.predict(bare, kTargets, greedy);
    ADD_FAILURE() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("depth_max"), std::string::npos) << e.what();
  }
  // Asking for a context target itself decodes it from the text instead of forcing it.
  auto own = rlm.predict(f.texts, {"depth_max"}, greedy);
  EXPECT_EQ(own.size(), f.texts.size());
}

// decode.conditioning = median: target j is decoded after a teacher-forced prefix of the medians of the
// targets before it. With one greedy path the median is that path, so both modes must agree exactly
// (with and without context targets); with sampling every target still gets valid quantiles.
TEST(RlmTest, MedianConditioningMatchesGreedyPathAndKeepsQuantilesValid) {
  Fixture f = real_cells(8);
  for (bool with_context : {false, true}) {
    RlmConfig config = tiny_config();
    if (with_context) config.data.context = {"depth_max", "depth_min"};
    Rlm rlm(config, tokenizer_for(f));
    TrainOptions few = config.finetune;
    few.steps = 60;
    rlm.train(f.texts, f.values, kTargets, few, "median");
    DecodeOptions greedy;
    greedy.samples = 0;
    greedy.batch_size = 3;
    auto sampled = rlm.predict(f.texts, kTargets, greedy);
    greedy.conditioning = "median";
    auto median = rlm.predict(f.texts, kTargets, greedy);
    for (size_t i = 0; i < f.texts.size(); ++i) EXPECT_EQ(sampled[i].median, median[i].median) << "cell " << i;
    DecodeOptions hot;
    hot.samples = 8;
    hot.temperature = 2.0;
    hot.conditioning = "median";
    auto pred = rlm.predict(f.texts, kTargets, hot);
    for (const auto& p : pred)
      for (size_t j = 0; j < kTargets.size(); ++j) {
        EXPECT_TRUE(std::isfinite(p.median[j]));
        EXPECT_LE(p.p10[j], p.median[j]);
        EXPECT_LE(p.median[j], p.p90[j]);
      }
  }
  // The setting round-trips through a checkpoint's YAML; an unknown one is refused by name.
  RlmConfig config = tiny_config();
  config.decode.conditioning = "median";
  EXPECT_EQ(parse_rlm_config(rlm_config_to_yaml(config), "round.yaml").decode.conditioning, "median");
  try {
    parse_rlm_config("data: {table: nb201.csv, targets: [acc_cifar10]}\ndecode: {conditioning: mean}\n", "c.yaml");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("c.yaml: decode.conditioning: must be 'sampled' or 'median'"),
              std::string::npos)
        << e.what();
  }
  Rlm rlm(config, tokenizer_for(f));
  DecodeOptions bad;
  bad.conditioning = "joint";
  EXPECT_THROW(rlm.predict(f.texts, kTargets, bad), ConfigError);
}

TEST(RlmTest, TextsLongerThanMaxLengthAreAnErrorNotTruncated) {
  Fixture f = real_cells(2);
  RlmConfig config = tiny_config();
  config.model.max_length = 16;
  Rlm rlm(config, tokenizer_for(f));
  TrainOptions few = config.finetune;
  few.steps = 2;
  try {
    rlm.train(f.texts, f.values, kTargets, few, "too long");
    ADD_FAILURE() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("max_length = 16"), std::string::npos) << e.what();
  }
}

TEST(RlmTest, UnknownTargetIsAConfigError) {
  Fixture f = real_cells(2);
  Rlm rlm(tiny_config(), tokenizer_for(f));
  EXPECT_THROW(rlm.predict(f.texts, {"lat_ms_nowhere"}, {}), ConfigError);
}

TEST(RlmConfigTest, ErrorsNameTheFileAndKey) {
  const auto& error = config_error;
  const std::string base = "data: {table: nb201.csv, targets: [acc_cifar10]}\n";
  EXPECT_EQ(error(base + "modle: {d_model: 3}\n"), "c.yaml: modle: unknown key (line 2)");
  EXPECT_EQ(error(base + "model: {d_model: 30, heads: 4}\n"),
            "c.yaml: model.heads: d_model must be a positive multiple of heads");
  EXPECT_NE(error(base + "finetune: {steps: many}\n").find("c.yaml: finetune.steps: wrong type"), std::string::npos);
  EXPECT_NE(error("data: {targets: [a]}\n").find("data.table: required"), std::string::npos);
  EXPECT_NE(error("data: [1, 2\n").find("invalid YAML"), std::string::npos);
  EXPECT_EQ(error(base + "device: tpu\n"), "c.yaml: device: must be 'cpu' or 'cuda[:N]'");
  EXPECT_NO_THROW(load_rlm_config(std::string(NAS_TEST_DATA_DIR) + "/../../configs/rlm_nb201.yaml"));
  EXPECT_THROW(load_rlm_config("/nonexistent.yaml"), ConfigError);
}

TEST(QuantileTest, LinearInterpolation) {
  EXPECT_DOUBLE_EQ(quantile({1, 2, 3, 4}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(quantile({5, 1, 3}, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(quantile({5, 1, 3}, 1.0), 5.0);
  EXPECT_NEAR(quantile({0, 10}, 0.1), 1.0, 1e-12);
  EXPECT_TRUE(std::isnan(quantile({}, 0.5)));
}

}  // namespace
}  // namespace nas::predictor
