// The `search` subcommand: multi-objective architecture search (NSGA-II) guided by the RLM or by the
// benchmark table, writing a results folder (search/results.h).

#include <memory>
#include <thread>

#include <fmt/format.h>
#include <tbb/global_control.h>

#include "apps/commands.h"
#include "core/error.h"
#include "search/search_config.h"
#include "search/search_run.h"
#ifdef NAS_WITH_PREDICTOR
#include "search/rlm_source.h"
#endif

namespace nas::apps {

void add_search_commands(CLI::App& app) {
  auto* cmd = app.add_subcommand("search", "Multi-objective architecture search (NSGA-II) from a YAML config");
  struct Opts {
    std::string config, output, evaluator;
    bool resume = false;
    int threads = -1;
    int64_t seed = -1;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--config", o->config, "YAML config, e.g. configs/search_nb201.yaml")->required();
  cmd->add_flag("--resume", o->resume,
                "continue the run from OUTPUT/checkpoint.json (a missing one starts afresh)");
  cmd->add_option("-o,--output", o->output, "results folder (default: the config's `output`)");
  cmd->add_option("--evaluator", o->evaluator, "rlm or table (default: the config's evaluator.type)")
      ->check(CLI::IsMember({"rlm", "table"}));
  cmd->add_option("--seed", o->seed, "random seed (default: the config's)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--threads", o->threads, "threads, 0 = all cores (default: the config's)")
      ->check(CLI::NonNegativeNumber);
  cmd->callback([o] {
    auto config = search::load_search_config(o->config);
    if (!o->output.empty()) config.output = o->output;
    if (!o->evaluator.empty()) config.evaluator.type = o->evaluator;
    if (o->seed >= 0) config.nsga2.seed = static_cast<uint64_t>(o->seed);
    if (o->threads >= 0) config.threads = o->threads;
    if (config.evaluator.type == "rlm" && config.evaluator.checkpoint.empty())
      throw ConfigError(
          fmt::format("{}: evaluator.checkpoint: the rlm evaluator needs a checkpoint directory", config.source));
    int threads =
        config.threads > 0 ? config.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, static_cast<size_t>(threads));
    search::SearchRunOptions options;
    options.resume = o->resume;
#ifdef NAS_WITH_PREDICTOR
    options.predictor = search::make_rlm_predictor;
#endif
    auto result = search::run_search(config, options);
    fmt::print("{}", search::summary_markdown(result, config));
    fmt::print("\nwrote {}/ (summary.md, pareto.csv, history.csv, front.svg, history.svg{})\n", result.output,
               config.export_onnx ? ", onnx/" : "");
  });
}

}  // namespace nas::apps
