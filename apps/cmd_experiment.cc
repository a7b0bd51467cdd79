// Subcommand `experiment`: the predictor benchmark (Kendall tau / Spearman rho vs. training size) of
// predictor/kendall_experiment.h.

#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "apps/commands.h"
#include "core/error.h"
#include "predictor/kendall_experiment.h"

namespace nas::apps {

void add_experiment_commands(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "experiment",
      "Predictor benchmark: Kendall tau / Spearman rho vs. training size, RLM beside GIN, MLP, proxies");
  struct Opts {
    std::string config, output;
    std::vector<std::string> only;
    std::vector<int64_t> sizes;
    int64_t seeds = 0, test_size = 0;
    bool resume = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--config", o->config, "YAML config, e.g. configs/experiments/kendall_tau.yaml")
      ->required();
  cmd->add_option("--only", o->only, "entries to run: SPACE or SPACE:TARGET (comma-separated)")
      ->delimiter(',');
  cmd->add_option("--sizes", o->sizes, "training sizes instead of the config's (comma-separated)")
      ->delimiter(',');
  cmd->add_option("--seeds", o->seeds, "seeds per size instead of the config's");
  cmd->add_option("--test-size", o->test_size, "held-out architectures per entry instead of the config's");
  cmd->add_option("-o,--output", o->output, "results prefix (default: the config's `output`)");
  cmd->add_flag("--resume", o->resume, "keep PREFIX_runs.csv and skip the cells already in it");
  cmd->callback([o] {
    auto config = predictor::load_kendall_config(o->config);
    predictor::KendallRunOptions options;
    options.only = o->only;
    options.sizes = o->sizes;
    if (o->seeds < 0) throw ConfigError(fmt::format("--seeds: must be > 0, got {}", o->seeds));
    if (o->test_size < 0) throw ConfigError(fmt::format("--test-size: must be > 0, got {}", o->test_size));
    options.seeds = o->seeds;
    options.test_size = o->test_size;
    options.output = o->output;
    options.resume = o->resume;
    auto results = predictor::run_kendall_experiment(config, options);
    std::cout << predictor::kendall_markdown(config, results);
    const std::string prefix = o->output.empty() ? config.output : o->output;
    fmt::print("wrote {0}.csv, {0}.md and {0}_runs.csv\n", prefix);
  });
}

}  // namespace nas::apps
