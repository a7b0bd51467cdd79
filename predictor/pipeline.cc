#include "predictor/pipeline.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <limits>
#include <cmath>
#include <iterator>
#include <numeric>

#include <fmt/format.h>

#include "core/error.h"
#include "core/io.h"
#include "core/rng.h"
#include "core/svg_plot.h"
#include "core/table.h"
#include "predictor/arch_text.h"
#include "predictor/metrics.h"
#include "predictor/mlp_baseline.h"
#include "spaces/arch_columns.h"
#include "spaces/equivalence.h"

namespace nas::predictor {

LabelledSplit load_split(const RlmConfig& config, const spaces::SearchSpace& space) {
  const std::string path = data_path(config.data.table);
  const spaces::ArchColumns arch = [&] {
    try {
      return spaces::ArchColumns(config.data.arch_column);
    } catch (const ConfigError& e) {
      throw ConfigError(fmt::format("{}: data.arch_column: {}", config.source, e.what()));
    }
  }();
  Table::TypeHints hints = arch.text_hints();
  for (const auto& t : config.data.targets) hints.push_back({t, ColumnType::kNumber});
  Table table = Table::load(path, hints);
  const size_t need = static_cast<size_t>(config.data.train_size + config.data.test_size);
  if (table.rows() < need)
    throw ConfigError(fmt::format("{}: data.train_size + data.test_size = {} but {} has {} rows", config.source, need,
                                  path, table.rows()));
  std::vector<size_t> rows(table.rows());
  std::iota(rows.begin(), rows.end(), size_t{0});
  Rng rng(config.data.split_seed);
  rng.shuffle(rows);
  LabelledSplit split;
  for (size_t i = 0; i < need; ++i) {
    size_t r = rows[i];
    spaces::Genotype g;
    std::string text = arch.arch(table, r);
    try {
      g = space.parse(text);
    } catch (const SpaceError& e) {
      // Character positions in the space's message count in the assembled string: show it.
      throw DataError(fmt::format("{}:{} ({}){}: {}", path, r + 2, arch.describe(),
                                  arch.is_template() ? fmt::format(" = \"{}\"", text) : std::string(), e.what()));
    }
    std::vector<double> y;
    for (const auto& t : config.data.targets) y.push_back(table.number(r, t));
    bool train = i < static_cast<size_t>(config.data.train_size);
    (train ? split.train : split.test).push_back(std::move(g));
    (train ? split.train_y : split.test_y).push_back(std::move(y));
  }
  return split;
}

std::vector<std::string> pretraining_spaces(const RlmConfig& config) {
  return config.pretrain_spaces.empty() ? std::vector<std::string>{config.space} : config.pretrain_spaces;
}

namespace {

// The dataset `name` is built for in pretraining and tokenizer learning (config.dataset for
// config.space, the default otherwise), spelled out ("" = the space's first dataset).
std::string pretraining_dataset(const RlmConfig& config, const std::string& name) {
  std::string ds = name == config.space ? config.dataset : "";
  return ds.empty() ? spaces::make_space(name)->datasets().front() : ds;
}

// The cached pretrained model is reused only if it was built with the same model, tokenizer, number
// codec, pretraining settings and pretraining inputs.
bool same_pretraining(const RlmConfig& a, const RlmConfig& b) {
  auto key = [](const RlmConfig& c) {
    RlmConfig k;
    k.space = c.space;
    k.dataset = c.dataset;
    auto names = pretraining_spaces(c);
    if (names.size() > 1 || names.front() != c.space) {
      // Several spaces: what counts is each one's dataset; the caller's space only through its
      // dataset (which the tokenizer corpus also uses).
      for (const auto& n : names) k.pretrain_spaces.push_back(n + ":" + pretraining_dataset(c, n));
      k.space.clear();
      std::string own = pretraining_dataset(c, c.space);
      k.dataset = own == spaces::make_space(c.space)->datasets().front() ? std::string() : c.space + ":" + own;
    }
    k.seed = c.seed;
    k.tokenizer_vocab_size = c.tokenizer_vocab_size;
    k.tokenizer_corpus_size = c.tokenizer_corpus_size;
    k.number_digits = c.number_digits;
    k.number_exponent_range = c.number_exponent_range;
    k.max_targets = c.max_targets;
    k.model = c.model;
    k.model.src_vocab_size = k.model.tgt_vocab_size = k.model.max_target_tokens = 0;
    k.pretrain = c.pretrain;
    k.pretrain_pool = c.pretrain_pool;
    k.data = {};
    k.finetune = {};
    return rlm_config_to_yaml(k);
  };
  return key(a) == key(b) && a.text_version == kArchTextVersion;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

std::vector<ArchText> pretraining_pool(const RlmConfig& config) {
  std::vector<ArchText> pool;
  for (const auto& name : pretraining_spaces(config)) {
    auto t0 = std::chrono::steady_clock::now();
    auto space = spaces::make_space(name);
    // A finite space no larger than the pool is enumerated (every architecture once); otherwise the
    // pool is drawn at random. Each space has its own generator, seeded as in single-space pretraining.
    std::vector<spaces::Genotype> gs;
    auto size = space->size();
    if (size && *size <= static_cast<uint64_t>(config.pretrain_pool)) {
      for (uint64_t i = 0; i < *size; ++i) gs.push_back(space->at(i));
    } else {
      Rng rng(derive_seed(config.seed, 202));
      for (int64_t i = 0; i < config.pretrain_pool; ++i) gs.push_back(space->sample(rng));
    }
    auto texts = architecture_texts(*space, gs, name == config.space ? config.dataset : "");
    fmt::print(stderr, "rlm: pretraining pool: {} {} architectures ({:.1f}s)\n", gs.size(), name, seconds_since(t0));
    pool.insert(pool.end(), std::make_move_iterator(texts.begin()), std::make_move_iterator(texts.end()));
  }
  return pool;
}

Rlm pretrain_rlm(const RlmConfig& config) {
  auto t0 = std::chrono::steady_clock::now();
  if (!config.pretrain_cache.empty() && std::filesystem::exists(config.pretrain_cache + "/model.pt")) {
    Rlm cached = Rlm::load(config.pretrain_cache, config.device);
    if (same_pretraining(cached.config(), config)) {
      fmt::print(stderr, "rlm: reusing the pretrained model in {}\n", config.pretrain_cache);
      RlmConfig& c = cached.mutable_config();
      c.space = config.space;
      c.dataset = config.dataset;
      c.data = config.data;
      c.finetune = config.finetune;
      c.decode = config.decode;
      c.output = config.output;
      c.mlp_baseline = config.mlp_baseline;
      c.pretrain_cache = config.pretrain_cache;
      return cached;
    }
    fmt::print(stderr, "rlm: {} was pretrained with other settings or another input version; pretraining again\n",
               config.pretrain_cache);
  }
  BpeTokenizer tokenizer = train_tokenizer(config);
  RlmConfig fresh = config;
  fresh.text_version = kArchTextVersion;
  Rlm rlm(fresh, tokenizer);
  fmt::print(stderr, "rlm: tokenizer {} tokens, model {:.2f} M parameters ({:.1f}s)\n", tokenizer.vocab_size(),
             static_cast<double>(rlm.parameter_count()) / 1e6, seconds_since(t0));
  if (config.pretrain.steps > 0) {
    auto texts = pretraining_pool(config);
    // Pretraining decodes the computed targets named in config.pretrain.targets.
    const auto& names = computed_target_names();
    std::vector<std::vector<double>> values(texts.size());
    for (const auto& t : config.pretrain.targets) {
      auto it = std::find(names.begin(), names.end(), t);
      if (it == names.end())
        throw ConfigError(fmt::format("{}: pretrain.targets: '{}' is not a computed target (known: {})", config.source,
                                      t, fmt::join(names, ", ")));
      for (size_t i = 0; i < texts.size(); ++i)
        values[i].push_back(texts[i].computed[static_cast<size_t>(it - names.begin())]);
    }
    rlm.train(texts, values, config.pretrain.targets, config.pretrain, "pretrain");
    if (!config.pretrain_cache.empty()) {
      rlm.save(config.pretrain_cache);
      fmt::print(stderr, "rlm: saved the pretrained model to {}\n", config.pretrain_cache);
    }
  }
  return rlm;
}

TrainingSet with_equivalents(const spaces::SearchSpace& space, std::vector<spaces::Genotype> archs,
                             std::vector<std::vector<double>> y, const std::vector<std::string>& targets,
                             const DataOptions& data) {
  NAS_CHECK(archs.size() == y.size(), "{} architectures but {} value rows", archs.size(), y.size());
  TrainingSet set{std::move(archs), std::move(y), 0};
  set.labelled = set.archs.size();
  if (data.equivalents <= 0 || set.labelled == 0) return set;
  auto t0 = std::chrono::steady_clock::now();
  spaces::EquivalenceClasses classes(space);
  std::vector<bool> shared(targets.size(), false);
  for (size_t j = 0; j < shared.size(); ++j)
    shared[j] = std::find(data.equivalent_targets.begin(), data.equivalent_targets.end(), targets[j]) !=
                data.equivalent_targets.end();
  Rng rng(derive_seed(data.split_seed, 31));
  for (size_t i = 0; i < set.labelled; ++i) {
    auto others = classes.others(set.archs[i]);
    rng.shuffle(others);
    if (others.size() > static_cast<size_t>(data.equivalents)) others.resize(static_cast<size_t>(data.equivalents));
    std::vector<double> row(shared.size(), std::numeric_limits<double>::quiet_NaN());
    for (size_t j = 0; j < shared.size(); ++j)
      if (shared[j]) row[j] = set.y[i][j];
    for (auto& g : others) {
      set.archs.push_back(std::move(g));
      set.y.push_back(row);
    }
  }
  fmt::print(stderr, "rlm: equivalence augmentation: {} labelled + {} equivalent {} architectures ({} classes, {:.1f}s)\n",
             set.labelled, set.archs.size() - set.labelled, space.name(), classes.num_classes(), seconds_since(t0));
  return set;
}

TrainingSet training_set(const RlmConfig& config, const spaces::SearchSpace& space, const LabelledSplit& split) {
  return with_equivalents(space, split.train, split.train_y, config.data.targets, config.data);
}

Rlm train_rlm(const RlmConfig& config, const spaces::SearchSpace& space, const LabelledSplit& split) {
  Rlm rlm = pretrain_rlm(config);
  auto set = training_set(config, space, split);
  auto texts = architecture_texts(space, set.archs, config.dataset);
  rlm.train(texts, set.y, config.data.targets, config.finetune, "finetune", set.labelled);
  return rlm;
}

EvalResult evaluate(const Rlm& rlm, const RlmConfig& config, const spaces::SearchSpace& space,
                    const LabelledSplit& split) {
  EvalResult result;
  auto texts = architecture_texts(space, split.test, config.dataset);
  auto t0 = std::chrono::steady_clock::now();
  auto predictions = predict_in_training_order(rlm, texts, config.data.targets, config.decode);
  result.predict_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  result.archs_per_second = static_cast<double>(texts.size()) / std::max(1e-9, result.predict_seconds);
  result.members = rlm.config().members;
  std::vector<std::vector<double>> mlp_pred;
  if (config.mlp_baseline) {
    MlpOptions mo;
    mo.seed = config.seed;
    MlpBaseline mlp(space.gene_cardinalities(), mo);
    // The same training rows as the RLM's (with the equivalence augmentation when it is on), so the
    // comparison is between the encodings, not between what each was shown.
    auto set = training_set(config, space, split);
    mlp.fit(set.archs, set.y);
    mlp_pred = mlp.predict(split.test);
  }
  result.mlp_predicted = mlp_pred;
  for (const auto& g : split.test) result.archs.push_back(space.format(g));
  for (size_t j = 0; j < config.data.targets.size(); ++j) {
    std::vector<double> truth, pred, base;
    for (size_t i = 0; i < split.test.size(); ++i) {
      truth.push_back(split.test_y[i][j]);
      pred.push_back(predictions[i].median[j]);
      if (!mlp_pred.empty()) base.push_back(mlp_pred[i][j]);
    }
    TargetScore s;
    s.target = config.data.targets[j];
    auto m = rank_metrics(pred, truth);
    s.n = m.n;
    s.kendall_tau = m.kendall_tau;
    s.spearman_rho = m.spearman_rho;
    s.mlp_kendall_tau = s.mlp_spearman_rho = std::nan("");
    if (!base.empty()) {
      auto b = rank_metrics(base, truth);
      s.mlp_kendall_tau = b.kendall_tau;
      s.mlp_spearman_rho = b.spearman_rho;
    }
    result.scores.push_back(s);
  }
  for (const auto& p : predictions) result.predicted.push_back(p.median);
  result.predictions = std::move(predictions);
  return result;
}

std::string write_eval_report(const EvalResult& r, const RlmConfig& config, const std::string& prefix,
                              const LabelledSplit* split) {
  std::string csv = "target,n_test,kendall_tau,spearman_rho,mlp_kendall_tau,mlp_spearman_rho\n";
  std::string md = fmt::format(
      "# RLM evaluation: {} ({}), train {} / test {} (split seed {})\n\n"
      "| target | n | RLM Kendall τ | RLM Spearman ρ | MLP τ | MLP ρ |\n|---|---|---|---|---|---|\n",
      config.space, config.data.table, config.data.train_size, config.data.test_size, config.data.split_seed);
  // "—" where the baseline was off (the CSV keeps NaN).
  auto cell = [](double v) { return std::isnan(v) ? std::string("—") : fmt::format("{:.4f}", v); };
  for (const auto& s : r.scores) {
    csv += fmt::format("{},{},{:.4f},{:.4f},{:.4f},{:.4f}\n", s.target, s.n, s.kendall_tau, s.spearman_rho,
                       s.mlp_kendall_tau, s.mlp_spearman_rho);
    md += fmt::format("| {} | {} | {:.4f} | {:.4f} | {} | {} |\n", s.target, s.n, s.kendall_tau, s.spearman_rho,
                      cell(s.mlp_kendall_tau), cell(s.mlp_spearman_rho));
  }
  if (config.data.equivalents > 0)
    md += fmt::format(
        "\nTraining rows (RLM and MLP alike): the {} labelled architectures, each joined by up to {} functionally "
        "equivalent ones carrying its {} (equivalence augmentation).\n",
        config.data.train_size, config.data.equivalents, fmt::join(config.data.equivalent_targets, ", "));
  md += fmt::format("\nPrediction: {:.1f} architectures/s ({}{}).\n", r.archs_per_second,
                    config.decode.samples > 0 ? fmt::format("{} samples per target", config.decode.samples)
                                              : std::string("greedy decoding"),
                    r.members > 1 ? fmt::format(", pooled over {} ensemble members", r.members) : std::string());
  if (split && split->test_y.size() == r.predicted.size()) {
    md += "\nPredicted vs. true on the held-out split:";
    for (size_t j = 0; j < r.scores.size(); ++j) {
      PlotSeries points;
      points.label = fmt::format("RLM median (Kendall tau {:.3f})", r.scores[j].kendall_tau);
      points.marker_size = 2.0;
      points.opacity = 0.5;
      double lo = std::numeric_limits<double>::infinity(), hi = -lo;
      for (size_t i = 0; i < r.predicted.size(); ++i) {
        double t = split->test_y[i][j], p = r.predicted[i][j];
        if (std::isnan(t) || std::isnan(p)) continue;
        points.x.push_back(t);
        points.y.push_back(p);
        lo = std::min({lo, t, p});
        hi = std::max({hi, t, p});
      }
      SvgPlot plot(fmt::format("{}: predicted vs. true ({} test architectures)", r.scores[j].target, points.x.size()),
                   "true " + r.scores[j].target, "predicted " + r.scores[j].target);
      PlotSeries diagonal;
      diagonal.label = "y = x";
      diagonal.style = SeriesStyle::kLine;
      diagonal.color = "#888888";
      diagonal.x = diagonal.y = {lo, hi};
      plot.add(points);
      plot.add(diagonal);
      plot.set_legend(LegendPosition::kTopLeft);
      std::string file = fmt::format("{}_{}.svg", prefix, r.scores[j].target);
      plot.save(file);
      md += fmt::format(" [{}]({})", r.scores[j].target, file.substr(file.find_last_of('/') + 1));
    }
    md += "\n";
    if (r.predictions.size() == r.predicted.size() && r.archs.size() == r.predicted.size()) {
      std::string rows = "arch";
      for (const auto& s : r.scores)
        rows += fmt::format(",{0}_true,{0}_median,{0}_mean,{0}_p10,{0}_p90,{0}_mlp", s.target);
      rows += "\n";
      for (size_t i = 0; i < r.predicted.size(); ++i) {
        rows += "\"" + r.archs[i] + "\"";
        for (size_t j = 0; j < r.scores.size(); ++j) {
          const auto& p = r.predictions[i];
          double mlp = r.mlp_predicted.empty() ? std::nan("") : r.mlp_predicted[i][j];
          rows += fmt::format(",{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g}", split->test_y[i][j], p.median[j], p.mean[j],
                              p.p10[j], p.p90[j], mlp);
        }
        rows += "\n";
      }
      write_file_atomic(prefix + "_predictions.csv", rows);
    }
  }
  write_file_atomic(prefix + ".csv", csv);
  write_file_atomic(prefix + ".md", md);
  return md;
}

}  // namespace nas::predictor
