#include "predictor/kendall_experiment.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <map>
#include <numeric>
#include <set>
#include <tuple>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "core/io.h"
#include "core/progress.h"
#include "core/rng.h"
#include "core/table.h"
#include "predictor/arch_graph.h"
#include "predictor/arch_text.h"
#include "predictor/gin_baseline.h"
#include "predictor/metrics.h"
#include "predictor/mlp_baseline.h"
#include "predictor/pipeline.h"
#include "predictor/rlm.h"
#include "spaces/search_space.h"

namespace nas::predictor {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Work units of one cell for the overall ETA: the RLM's fine-tuning steps plus the rest of a cell
// (RLM prediction of the test set, GIN and MLP fits) in fine-tuning-step equivalents, estimated for
// NB201 (prediction of 2,000 test cells ~ 10 s, GIN fit 3-35 s, fine-tuning step ~ 0.3 s).
constexpr int64_t kCellOverhead = 80;

const char* predictor_title(const std::string& p) {
  if (p == "rlm") return "RLM (fine-tuned from the pretrained model)";
  if (p == "gin") return "GIN (ONNX graph)";
  if (p == "mlp") return "MLP (one-hot genotype)";
  if (p == "flops") return "FLOPs proxy (no training)";
  if (p == "params") return "params proxy (no training)";
  return "?";
}

// The labelled data of one entry: fixed test set and training pool (load_split's shuffle).
struct EntryData {
  std::vector<spaces::Genotype> pool, test;
  std::vector<double> pool_y, test_y;
  size_t rows = 0;
};

EntryData load_entry(const KendallEntry& e, int64_t test_size, int64_t smallest) {
  const RlmConfig& rc = e.rlm;
  const size_t rows = Table::load(data_path(rc.data.table)).rows();
  if (rows <= static_cast<size_t>(smallest))
    throw ConfigError(fmt::format("{}: {} has {} rows, not more than the smallest training size {}",
                                  e.rlm_config, rc.data.table, rows, smallest));
  const int64_t t = std::min<int64_t>(test_size, static_cast<int64_t>(rows) - smallest);
  RlmConfig c = rc;
  c.data.train_size = static_cast<int64_t>(rows) - t;
  c.data.test_size = t;
  auto space = spaces::make_space(e.space);
  LabelledSplit split = load_split(c, *space);
  EntryData d;
  d.rows = rows;
  for (size_t i = 0; i < split.train.size(); ++i)
    if (!std::isnan(split.train_y[i][0]))
      d.pool.push_back(split.train[i]), d.pool_y.push_back(split.train_y[i][0]);
  for (size_t i = 0; i < split.test.size(); ++i)
    if (!std::isnan(split.test_y[i][0]))
      d.test.push_back(split.test[i]), d.test_y.push_back(split.test_y[i][0]);
  return d;
}

KendallRun score(const KendallEntry& e, const std::string& predictor, int64_t n, int64_t seed,
                 const std::vector<double>& predicted, const std::vector<double>& truth, double seconds) {
  auto m = rank_metrics(predicted, truth);
  KendallRun r;
  r.space = e.space;
  r.target = e.target;
  r.predictor = predictor;
  r.n = n;
  r.seed = seed;
  r.n_test = static_cast<int64_t>(m.n);
  r.kendall_tau = m.kendall_tau;
  r.spearman_rho = m.spearman_rho;
  r.seconds = seconds;
  return r;
}

std::string runs_csv(const std::vector<KendallRun>& runs) {
  std::string csv = "space,target,predictor,n,seed,n_test,kendall_tau,spearman_rho,seconds,cpu_seconds\n";
  for (const auto& r : runs)
    csv += fmt::format("{},{},{},{},{},{},{:.6f},{:.6f},{:.2f},{:.2f}\n", r.space, r.target, r.predictor, r.n,
                       r.seed, r.n_test, r.kendall_tau, r.spearman_rho, r.seconds, r.cpu_seconds);
  return csv;
}

std::vector<KendallRun> read_runs(const std::string& path) {
  std::vector<KendallRun> runs;
  if (!std::filesystem::exists(path)) return runs;
  Table t = Table::load(path, {{"space", ColumnType::kText},
                               {"target", ColumnType::kText},
                               {"predictor", ColumnType::kText},
                               {"n", ColumnType::kNumber},
                               {"seed", ColumnType::kNumber},
                               {"n_test", ColumnType::kNumber},
                               {"kendall_tau", ColumnType::kNumber},
                               {"spearman_rho", ColumnType::kNumber},
                               {"seconds", ColumnType::kNumber},
                               {"cpu_seconds", ColumnType::kNumber}});
  for (size_t i = 0; i < t.rows(); ++i) {
    KendallRun r;
    r.space = t.text(i, "space");
    r.target = t.text(i, "target");
    r.predictor = t.text(i, "predictor");
    r.n = static_cast<int64_t>(t.number(i, "n"));
    r.seed = static_cast<int64_t>(t.number(i, "seed"));
    r.n_test = static_cast<int64_t>(t.number(i, "n_test"));
    r.kendall_tau = t.number(i, "kendall_tau");
    r.spearman_rho = t.number(i, "spearman_rho");
    r.seconds = t.number(i, "seconds");
    r.cpu_seconds = t.number(i, "cpu_seconds");
    runs.push_back(r);
  }
  return runs;
}

// Mean and sample standard deviation (NaN for one value).
std::pair<double, double> mean_std(const std::vector<double>& v) {
  double mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  if (v.size() < 2) return {mean, std::nan("")};
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  return {mean, std::sqrt(ss / static_cast<double>(v.size() - 1))};
}

// Runs grouped by (space, target, predictor, n), in order of first appearance of (space, target),
// then predictor order, then n.
struct Group {
  std::string space, target, predictor;
  int64_t n = 0;
  std::vector<double> tau, rho, seconds, cpu;
  int64_t n_test = 0;
};

std::vector<Group> group_runs(const std::vector<KendallRun>& runs) {
  std::vector<std::string> entries;
  const auto& names = kendall_predictor_names();
  std::map<std::tuple<size_t, size_t, int64_t>, Group> groups;
  for (const auto& r : runs) {
    std::string label = r.space + ":" + r.target;
    auto it = std::find(entries.begin(), entries.end(), label);
    size_t e = static_cast<size_t>(it - entries.begin());
    if (it == entries.end()) entries.push_back(label);
    size_t p = static_cast<size_t>(std::find(names.begin(), names.end(), r.predictor) - names.begin());
    Group& g = groups[{e, p, r.n}];
    g.space = r.space;
    g.target = r.target;
    g.predictor = r.predictor;
    g.n = r.n;
    g.n_test = r.n_test;
    g.tau.push_back(r.kendall_tau);
    g.rho.push_back(r.spearman_rho);
    g.seconds.push_back(r.seconds);
    g.cpu.push_back(r.cpu_seconds);
  }
  std::vector<Group> out;
  for (auto& [key, g] : groups) out.push_back(std::move(g));
  return out;
}

std::string fmt_num(double v) { return std::isnan(v) ? "nan" : fmt::format("{:.4f}", v); }

std::string fmt_cell(const std::vector<double>& v) {
  auto [mean, sd] = mean_std(v);
  if (v.size() < 2) return fmt::format("{:.3f} (1 seed)", mean);
  return fmt::format("{:.3f} ± {:.3f}", mean, sd);
}

void write_results(const KendallConfig& config, const KendallResults& results, const std::string& prefix) {
  write_file_atomic(prefix + "_runs.csv", runs_csv(results.runs));
  write_file_atomic(prefix + ".csv", kendall_summary_csv(results));
  write_file_atomic(prefix + ".md", kendall_markdown(config, results));
}

std::vector<double> column(const std::vector<std::vector<double>>& rows) {
  std::vector<double> out;
  for (const auto& r : rows) out.push_back(r.at(0));
  return out;
}

}  // namespace

std::string kendall_summary_csv(const KendallResults& results) {
  std::string csv =
      "space,target,predictor,n,seeds,n_test,kendall_tau_mean,kendall_tau_std,spearman_rho_mean,"
      "spearman_rho_std,seconds_mean,cpu_seconds_mean\n";
  for (const auto& g : group_runs(results.runs)) {
    auto [tm, ts] = mean_std(g.tau);
    auto [rm, rs] = mean_std(g.rho);
    csv += fmt::format("{},{},{},{},{},{},{},{},{},{},{:.2f},{:.2f}\n", g.space, g.target, g.predictor, g.n,
                       g.tau.size(), g.n_test, fmt_num(tm), fmt_num(ts), fmt_num(rm), fmt_num(rs),
                       mean_std(g.seconds).first, mean_std(g.cpu).first);
  }
  return csv;
}

std::string kendall_markdown(const KendallConfig& config, const KendallResults& results) {
  std::string md = fmt::format(
      "# Predictor benchmark: Kendall τ-b / Spearman ρ vs. training size ({})\n\n"
      "Per (space, target): a fixed seeded test set of held-out architectures; per training size n and seed, "
      "one "
      "training sample drawn from the other rows, the same for every predictor. Cells: mean ± sample std "
      "over "
      "seeds. Proxies need no training: their score on the same test set is in the column \"no training\".\n",
      config.source);
  auto groups = group_runs(results.runs);
  std::vector<std::pair<std::string, std::string>> entries;
  for (const auto& g : groups)
    if (std::find(entries.begin(), entries.end(), std::make_pair(g.space, g.target)) == entries.end())
      entries.emplace_back(g.space, g.target);
  for (const auto& entry_key : entries) {
    const std::string& space = entry_key.first;
    const std::string& target = entry_key.second;
    std::set<int64_t> sizes;
    std::vector<std::string> predictors;
    int64_t n_test = 0;
    bool proxies = false;
    for (const auto& g : groups) {
      if (g.space != space || g.target != target) continue;
      if (g.n > 0) sizes.insert(g.n);
      proxies = proxies || g.n == 0;
      if (std::find(predictors.begin(), predictors.end(), g.predictor) == predictors.end())
        predictors.push_back(g.predictor);
      n_test = std::max(n_test, g.n_test);
    }
    const KendallEntry* entry = nullptr;
    for (const auto& e : config.entries)
      if (e.space == space && e.target == target) entry = &e;
    md += fmt::format("\n## {} / {}\n\n", space, target);
    if (entry)
      md += fmt::format(
          "Table `{}`, architectures from `{}`, test set {} architectures (split seed {}); RLM from "
          "`{}` (pretrained model `{}`), fine-tuning steps per n: {}.\n",
          entry->rlm.data.table, entry->rlm.data.arch_column, n_test, entry->split_seed, entry->rlm_config,
          entry->rlm.pretrain_cache, [&] {
            std::vector<std::string> parts;
            for (int64_t n : sizes)
              parts.push_back(fmt::format("{}: {}", n, value_for_size(entry->rlm_steps, n)));
            return fmt::format("{}", fmt::join(parts, ", "));
          }());
    const std::vector<std::pair<int, const char*>> tables = {
        {0, "Kendall τ-b"}, {1, "Spearman ρ"}, {2, "Seconds per fit + test prediction, mean wall (process CPU)"}};
    for (const auto& table : tables) {
      const int metric = table.first;
      const char* title = table.second;
      md += fmt::format("\n{}:\n\n| predictor |{} n={} |", title,
                        proxies && metric < 2 ? " no training |" : "", fmt::join(sizes, " | n="));
      md += fmt::format("\n|---|{}{}\n", proxies && metric < 2 ? "---|" : "", [&] {
        std::string s;
        for (size_t i = 0; i < sizes.size(); ++i) s += "---|";
        return s;
      }());
      for (const auto& p : predictors) {
        if (metric == 2 && is_kendall_proxy(p)) continue;
        md += fmt::format("| {} |", predictor_title(p));
        auto find = [&](int64_t n) -> const Group* {
          for (const auto& g : groups)
            if (g.space == space && g.target == target && g.predictor == p && g.n == n) return &g;
          return nullptr;
        };
        auto cell = [&](const Group* g) {
          if (!g) return std::string(" – |");
          if (metric == 0) return " " + fmt_cell(g->tau) + " |";
          if (metric == 1) return " " + fmt_cell(g->rho) + " |";
          return fmt::format(" {:.1f} ({:.1f}) |", mean_std(g->seconds).first, mean_std(g->cpu).first);
        };
        if (proxies && metric < 2) md += cell(find(0));
        for (int64_t n : sizes) md += cell(is_kendall_proxy(p) ? nullptr : find(n));
        md += "\n";
      }
    }
  }
  if (!results.notes.empty()) {
    md += "\nNotes:\n\n";
    for (const auto& n : results.notes) md += "- " + n + "\n";
  }
  if (!config.anchors.empty()) {
    md +=
        "\n## Literature anchors (reported elsewhere, different split)\n\n"
        "Not comparable number for number: other test sets, other training samples, other protocols.\n\n"
        "| source | setting | label | Kendall τ |\n|---|---|---|---|\n";
    for (const auto& a : config.anchors)
      for (const auto& [label, tau] : a.values)
        md += fmt::format("| {} | {} | {} | {:.3f} |\n", a.source, a.setting, label, tau);
  }
  return md;
}

KendallResults run_kendall_experiment(const KendallConfig& config, const KendallRunOptions& options) {
  const std::string prefix = options.output.empty() ? config.output : options.output;
  std::vector<int64_t> sizes = options.sizes.empty() ? config.sizes : options.sizes;
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  for (int64_t n : sizes)
    if (n <= 0) throw ConfigError(fmt::format("--sizes: size {} must be > 0", n));
  auto seeds_for = [&](int64_t n) {
    return options.seeds > 0 ? options.seeds : value_for_size(config.seeds, n);
  };

  std::vector<const KendallEntry*> entries;
  for (const auto& e : config.entries)
    if (options.only.empty() || std::count(options.only.begin(), options.only.end(), e.space) ||
        std::count(options.only.begin(), options.only.end(), e.label()))
      entries.push_back(&e);
  for (const auto& name : options.only)
    if (std::none_of(config.entries.begin(), config.entries.end(),
                     [&](const KendallEntry& e) { return e.space == name || e.label() == name; }))
      throw ConfigError(fmt::format("--only: no entry '{}' in {} (entries: {})", name, config.source, [&] {
        std::vector<std::string> labels;
        for (const auto& e : config.entries) labels.push_back(e.label());
        return fmt::format("{}", fmt::join(labels, ", "));
      }()));

  KendallResults results;
  if (options.resume) results.runs = read_runs(prefix + "_runs.csv");
  auto have = [&](const KendallEntry& e, const std::string& p, int64_t n, int64_t seed) {
    return std::any_of(results.runs.begin(), results.runs.end(), [&](const KendallRun& r) {
      return r.space == e.space && r.target == e.target && r.predictor == p && r.n == n && r.seed == seed;
    });
  };
  const auto& preds = config.predictors;
  auto wants = [&](const std::string& p) { return std::count(preds.begin(), preds.end(), p) > 0; };
  std::vector<std::string> trained;
  for (const auto& p : preds)
    if (!is_kendall_proxy(p)) trained.push_back(p);

  // Work plan: cells (entry, n, seed) with something left to do, weighted for the ETA.
  int64_t total_work = 0;
  for (const auto* e : entries)
    for (int64_t n : sizes)
      for (int64_t s = 0; s < seeds_for(n); ++s)
        if (std::any_of(trained.begin(), trained.end(),
                        [&](const std::string& p) { return !have(*e, p, n, s); }))
          total_work += (wants("rlm") ? value_for_size(e->rlm_steps, n) : 0) + kCellOverhead;
  Progress progress("experiment", std::max<int64_t>(1, total_work), "step", 0.0);
  int64_t done_work = 0;
  fmt::print(stderr, "experiment: {} entries, sizes {}, predictors {} -> {}.{{csv,md}}\n", entries.size(),
             fmt::join(sizes, ","), fmt::join(preds, ","), prefix);

  for (const auto* ep : entries) {
    const KendallEntry& e = *ep;
    const int64_t test_size = options.test_size > 0 ? options.test_size : e.test_size;
    auto t0 = Clock::now();
    EntryData d = load_entry(e, test_size, sizes.front());
    auto space = spaces::make_space(e.space);
    fmt::print(stderr, "experiment: {}: {} rows, test {} / pool {} ({:.1f}s)\n", e.label(), d.rows,
               d.test.size(), d.pool.size(), seconds_since(t0));
    std::vector<int64_t> entry_sizes;
    for (int64_t n : sizes) {
      if (n > static_cast<int64_t>(d.pool.size())) {
        std::string note = fmt::format("{}: n={} skipped: the table has {} rows, {} are the test set",
                                       e.label(), n, d.rows, d.test.size());
        fmt::print(stderr, "experiment: {}\n", note);
        results.notes.push_back(note);
        for (int64_t s = 0; s < seeds_for(n); ++s)
          if (std::any_of(trained.begin(), trained.end(),
                          [&](const std::string& p) { return !have(e, p, n, s); }))
            done_work += (wants("rlm") ? value_for_size(e.rlm_steps, n) : 0) + kCellOverhead;
        continue;
      }
      entry_sizes.push_back(n);
    }

    // Test-set inputs, built once per entry.
    std::vector<ArchText> test_texts;
    std::vector<ArchGraph> test_graphs;
    t0 = Clock::now();
    if (wants("rlm") || wants("flops") || wants("params"))
      test_texts = architecture_texts(*space, d.test, e.rlm.dataset);
    if (wants("gin")) test_graphs = architecture_graphs(*space, d.test, e.rlm.dataset);
    fmt::print(stderr, "experiment: {}: test-set texts and graphs ({:.1f}s)\n", e.label(), seconds_since(t0));

    // Zero-training proxies.
    const auto& computed_names = computed_target_names();
    for (const auto& p : preds) {
      if (!is_kendall_proxy(p) || have(e, p, 0, 0)) continue;
      const std::string name = p == "flops" ? "flops_M" : "params_M";
      const size_t k = static_cast<size_t>(std::find(computed_names.begin(), computed_names.end(), name) -
                                           computed_names.begin());
      std::vector<double> proxy;
      for (const auto& t : test_texts) proxy.push_back(t.computed.at(k));
      results.runs.push_back(score(e, p, 0, 0, proxy, d.test_y, 0.0));
      fmt::print(stderr, "experiment: {}: {} proxy tau {:.4f}\n", e.label(), p,
                 results.runs.back().kendall_tau);
    }
    write_results(config, results, prefix);

    for (int64_t n : entry_sizes) {
      for (int64_t s = 0; s < seeds_for(n); ++s) {
        std::vector<std::string> todo;
        for (const auto& p : trained)
          if (!have(e, p, n, s)) todo.push_back(p);
        if (todo.empty()) continue;
        const int64_t steps = value_for_size(e.rlm_steps, n);
        const uint64_t cell_seed =
            derive_seed(e.split_seed, static_cast<uint64_t>(n), static_cast<uint64_t>(s));
        // Training sample: the first n of this seed's permutation of the pool.
        std::vector<size_t> perm(d.pool.size());
        std::iota(perm.begin(), perm.end(), size_t{0});
        Rng rng(derive_seed(e.split_seed, 1000 + static_cast<uint64_t>(s)));
        rng.shuffle(perm);
        std::vector<spaces::Genotype> train;
        std::vector<std::vector<double>> train_y;
        for (int64_t i = 0; i < n; ++i) {
          train.push_back(d.pool[perm[static_cast<size_t>(i)]]);
          train_y.push_back({d.pool_y[perm[static_cast<size_t>(i)]]});
        }
        const std::string cell = fmt::format("{} n={} seed {}", e.label(), n, s);
        std::vector<std::string> status;
        for (const auto& p : todo) {
          auto tp = Clock::now();
          const std::clock_t cpu0 = std::clock();
          std::vector<double> predicted;
          if (p == "rlm") {
            RlmConfig rc = e.rlm;
            rc.finetune.steps = steps;
            rc.finetune.batch_size = std::min(rc.finetune.batch_size, n);  // no architecture twice per step
            Rlm rlm = pretrain_rlm(rc);
            rlm.mutable_config().seed = cell_seed;
            auto texts = architecture_texts(*space, train, rc.dataset);
            rlm.train(texts, train_y, {e.target}, rc.finetune, "  rlm " + cell);
            for (const auto& pr : rlm.predict(test_texts, {e.target}, rc.decode))
              predicted.push_back(pr.median.at(0));
          } else if (p == "gin") {
            GinOptions go = config.gin;
            go.seed = cell_seed;
            GinBaseline gin(go);
            gin.fit(architecture_graphs(*space, train, e.rlm.dataset), train_y);
            predicted = column(gin.predict(test_graphs));
          } else if (p == "mlp") {
            MlpOptions mo = config.mlp;
            mo.seed = cell_seed;
            MlpBaseline mlp(space->gene_cardinalities(), mo);
            mlp.fit(train, train_y);
            predicted = column(mlp.predict(d.test));
          }
          results.runs.push_back(score(e, p, n, s, predicted, d.test_y, seconds_since(tp)));
          results.runs.back().cpu_seconds = static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC;
          status.push_back(fmt::format("{} {:.3f} ({:.0f}s)", p, results.runs.back().kendall_tau,
                                       results.runs.back().seconds));
        }
        write_results(config, results, prefix);
        done_work += (wants("rlm") ? steps : 0) + kCellOverhead;
        progress.update(done_work, fmt::format("{}: tau {}", cell, fmt::join(status, ", ")));
      }
    }
  }
  write_results(config, results, prefix);
  progress.finish();
  return results;
}

}  // namespace nas::predictor
