// Benchmark of one RLM across the five search spaces (issue 5, "One RLM across the five spaces"):
// pretrain once on graph-computed targets (params, FLOPs, depths) over generated architectures of
// every space in pretrain_spaces (cached in pretrain_cache), then for each task fine-tune a copy of
// that pretrained model on the task's labelled split (its own split seed) and score the held-out split,
// with the one-hot MLP baseline on the identical split. Before any fine-tuning, every task's
// architectures are tokenized to show that none is longer than model.max_length (never truncated).
//
// Usage: rlm_multispace_benchmark [CONFIG=configs/rlm_multispace.yaml] [--tasks NAME,NAME,...]
//                                 [--out PREFIX=results/rlm_multispace] [--details]
// Writes PREFIX.csv (one row per task and target) and PREFIX.md (the same table, token lengths and
// wall time per phase), rewritten after every task (an interrupted run keeps the finished tasks, marked
// "partial"); --details also writes each task's evaluation report PREFIX_<task>.{csv,md}
// with predicted-vs-true plots and per-architecture predictions.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "core/error.h"
#include "core/io.h"
#include "predictor/arch_text.h"
#include "predictor/bpe_tokenizer.h"
#include "predictor/pipeline.h"
#include "spaces/search_space.h"

namespace {

using namespace nas;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Wall and process CPU time (all threads) of one phase. CPU time tells how long a phase would take
// on idle cores when the machine is shared: about cpu / threads.
struct Stopwatch {
  Clock::time_point wall0 = Clock::now();
  std::clock_t cpu0 = std::clock();
  double wall() const { return seconds_since(wall0); }
  double cpu() const { return static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC; }
};

struct PhaseTime {
  double wall = 0, cpu = 0;
  static PhaseTime of(const Stopwatch& w) { return {w.wall(), w.cpu()}; }
  std::string str() const { return fmt::format("{:.1f} ({:.1f})", wall, cpu); }
};

struct TaskRun {
  std::string name, space;
  predictor::RlmConfig config;
  predictor::EvalResult result;
  size_t n_train = 0, n_test = 0;
  size_t median_tokens = 0, max_tokens = 0;
  PhaseTime split, finetune, evaluate;  // evaluate = RLM prediction + MLP fit and prediction
  double predict_s = 0;                 // RLM prediction alone (wall)
};

// The rank correlation the issue reports for a task: Kendall tau for accuracy, Spearman rho for latency.
const char* headline_metric(const std::string& target) {
  return target.rfind("acc", 0) == 0 ? "tau" : "rho";
}

std::string fmt_metric(double v) { return std::isnan(v) ? "n/a" : fmt::format("{:.4f}", v); }

std::vector<std::string> split_names(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string config_path = "configs/rlm_multispace.yaml", out = "results/rlm_multispace";
    std::vector<std::string> only;
    bool details = false;
    for (int i = 1; i < argc; ++i) {
      if (!std::strcmp(argv[i], "--tasks") && i + 1 < argc) only = split_names(argv[++i]);
      else if (!std::strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
      else if (!std::strcmp(argv[i], "--details")) details = true;
      else if (argv[i][0] == '-') throw ConfigError(fmt::format("unknown option '{}'", argv[i]));
      else config_path = argv[i];
    }
    const Stopwatch total;
    auto mt = predictor::load_rlm_multitask_config(config_path);
    if (mt.shared.pretrain_cache.empty())
      throw ConfigError(fmt::format("{}: pretrain_cache: required (every task starts from a copy of the pretrained "
                                    "model stored there)",
                                    config_path));
    std::vector<TaskRun> runs;
    for (const auto& t : mt.tasks) {
      if (!only.empty() && std::find(only.begin(), only.end(), t.name) == only.end()) continue;
      TaskRun r;
      r.name = t.name;
      r.space = t.config.space;
      r.config = t.config;
      runs.push_back(std::move(r));
    }
    for (const auto& name : only)
      if (std::none_of(runs.begin(), runs.end(), [&](const TaskRun& r) { return r.name == name; }))
        throw ConfigError(fmt::format("--tasks: no task '{}' in {}", name, config_path));

    // Phase 1: one pretraining over all spaces (or the cached one).
    fmt::print(stderr, "== pretraining over {} ({} architectures per space, {} steps)\n",
               fmt::join(predictor::pretraining_spaces(mt.shared), ", "), mt.shared.pretrain_pool,
               mt.shared.pretrain.steps);
    PhaseTime pretrain_t, tokens_t;
    {
      Stopwatch w;
      // Any task's config pretrains the same model (tasks cannot change what pretraining depends on);
      // the first one's is complete, so the cached checkpoint can be loaded on its own.
      predictor::Rlm pretrained = predictor::pretrain_rlm(runs.front().config);
      pretrain_t = PhaseTime::of(w);
      fmt::print(stderr, "== pretraining: {} s wall (CPU)\n", pretrain_t.str());

      // Phase 2: token budget. Every task's train + test architectures through the shared tokenizer.
      w = Stopwatch();
      for (auto& r : runs) {
        auto space = spaces::make_space(r.space);
        auto split = predictor::load_split(r.config, *space);
        std::vector<spaces::Genotype> all = split.train;
        all.insert(all.end(), split.test.begin(), split.test.end());
        std::vector<size_t> lengths;
        for (const auto& a : predictor::architecture_texts(*space, all, r.config.dataset))
          lengths.push_back(pretrained.tokenizer().encode(a.text, a.space).size());
        std::sort(lengths.begin(), lengths.end());
        r.median_tokens = lengths[lengths.size() / 2];
        r.max_tokens = lengths.back();
        fmt::print(stderr, "== tokens {}: median {}, max {} (model.max_length {})\n", r.name, r.median_tokens,
                   r.max_tokens, r.config.model.max_length);
        if (static_cast<int64_t>(r.max_tokens) > r.config.model.max_length)
          throw ConfigError(fmt::format("{}: model.max_length: task '{}' has a text of {} tokens; texts are never "
                                        "truncated, raise max_length",
                                        config_path, r.name, r.max_tokens));
      }
      tokens_t = PhaseTime::of(w);
    }

    // The combined report over the first `done` tasks; rewritten (atomically) after every task so that an
    // interrupted run keeps the tasks it finished.
    auto write_report = [&](size_t done) -> std::string {
      std::string csv = "task,space,target,metric,n_train,n_test,rlm_kendall_tau,rlm_spearman_rho,mlp_kendall_tau,"
                        "mlp_spearman_rho\n";
      std::string table = fmt::format("| {:<8} | {:<22} | {:>7} | {:>6} | {:>7} | {:>7} | {:>7} | {:>7} |\n", "task",
                                      "target", "n_train", "n_test", "RLM τ", "RLM ρ", "MLP τ", "MLP ρ");
      table += "|----------|------------------------|--------:|-------:|--------:|--------:|--------:|--------:|\n";
      for (size_t k = 0; k < done; ++k) {
        const auto& r = runs[k];
        for (const auto& s : r.result.scores) {
          csv += fmt::format("{},{},{},{},{},{},{:.4f},{:.4f},{:.4f},{:.4f}\n", r.name, r.space, s.target,
                             headline_metric(s.target), r.n_train, s.n, s.kendall_tau, s.spearman_rho,
                             s.mlp_kendall_tau, s.mlp_spearman_rho);
          table += fmt::format("| {:<8} | {:<22} | {:>7} | {:>6} | {:>7} | {:>7} | {:>7} | {:>7} |\n", r.name, s.target,
                               r.n_train, s.n, fmt_metric(s.kendall_tau), fmt_metric(s.spearman_rho),
                               fmt_metric(s.mlp_kendall_tau), fmt_metric(s.mlp_spearman_rho));
        }
      }
      const auto& sh = mt.shared;
      std::string md = fmt::format(
          "# One RLM across the search spaces ({})\n\n"
          "Pretrained once on computed targets [{}] over {} generated architectures per space of {} ({} steps, "
          "batch {}); each task fine-tunes a copy ({}, model d_model {}, {} encoder / {} decoder layers, max_length "
          "{}). The MLP is the one-hot baseline on the identical split. The issue reports Kendall τ on accuracy and "
          "Spearman ρ on latency.\n\n",
          config_path, fmt::join(sh.pretrain.targets, ", "), sh.pretrain_pool,
          fmt::join(predictor::pretraining_spaces(sh), ", "), sh.pretrain.steps, sh.pretrain.batch_size,
          sh.pretrain_cache, sh.model.d_model, sh.model.encoder_layers, sh.model.decoder_layers, sh.model.max_length);
      md += table;
      md += "\nSeconds per phase, wall (process CPU time):\n\n| task | space | table | split seed | fine-tuning steps | "
            "tokens median / max | split | fine-tune | evaluate | of which RLM predict (wall) |\n"
            "|---|---|---|---|---|---|---|---|---|---|\n";
      for (size_t k = 0; k < done; ++k) {
        const auto& r = runs[k];
        md += fmt::format("| {} | {} | {} | {} | {} | {} / {} | {} | {} | {} | {:.1f} |\n", r.name, r.space,
                          r.config.data.table, r.config.data.split_seed, r.config.finetune.steps, r.median_tokens,
                          r.max_tokens, r.split.str(), r.finetune.str(), r.evaluate.str(), r.predict_s);
      }
      const PhaseTime all = PhaseTime::of(total);
      md += fmt::format("\nPretraining {} s, token check {} s, total {} s = {:.1f} min wall{}.\n", pretrain_t.str(),
                        tokens_t.str(), all.str(), all.wall / 60.0,
                        done < runs.size() ? fmt::format(" (partial: {} of {} tasks done)", done, runs.size()) : "");
      write_file_atomic(out + ".csv", csv);
      write_file_atomic(out + ".md", md);
      return md;
    };

    // Phase 3: per task, fine-tune a copy of the pretrained model and evaluate beside the MLP.
    for (size_t k = 0; k < runs.size(); ++k) {
      auto& r = runs[k];
      const auto& c = r.config;
      fmt::print(stderr, "== task {}/{} {}: {} train {} / test {}, {} fine-tuning steps, targets {}\n", k + 1,
                 runs.size(), r.name, c.data.table, c.data.train_size, c.data.test_size, c.finetune.steps,
                 fmt::join(c.data.targets, ", "));
      auto space = spaces::make_space(c.space);
      Stopwatch w;
      auto split = predictor::load_split(c, *space);
      r.split = PhaseTime::of(w);
      r.n_train = split.train.size();
      r.n_test = split.test.size();
      w = Stopwatch();
      auto rlm = predictor::train_rlm(c, *space, split);
      r.finetune = PhaseTime::of(w);
      w = Stopwatch();
      r.result = predictor::evaluate(rlm, c, *space, split);
      r.evaluate = PhaseTime::of(w);
      r.predict_s = r.result.predict_seconds;
      for (const auto& s : r.result.scores)
        fmt::print(stderr, "   {:<22} RLM tau {} rho {} | MLP tau {} rho {}\n", s.target, fmt_metric(s.kendall_tau),
                   fmt_metric(s.spearman_rho), fmt_metric(s.mlp_kendall_tau), fmt_metric(s.mlp_spearman_rho));
      fmt::print(stderr, "== task {}: fine-tuning {} s, evaluation {} s wall (CPU), of which RLM prediction {:.1f} s\n",
                 r.name, r.finetune.str(), r.evaluate.str(), r.predict_s);
      if (details) predictor::write_eval_report(r.result, c, out + "_" + r.name, &split);
      if (k + 1 < runs.size()) write_report(k + 1);
    }
    const std::string md = write_report(runs.size());
    std::cout << md;
    return 0;
  } catch (const nas::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
