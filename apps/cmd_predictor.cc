// Subcommands of the regression language model: train, predict, eval.

#include <cmath>
#include <iostream>
#include <limits>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "core/error.h"
#include "core/io.h"
#include "core/rng.h"
#include "onnx_text/serializer.h"
#include "predictor/adapt.h"
#include "predictor/arch_text.h"
#include "predictor/metrics.h"
#include "predictor/pipeline.h"
#include "predictor/rlm.h"
#include "spaces/arch_columns.h"
#include "spaces/search_space.h"

namespace nas::apps {
namespace {

/// The decoding flags shared by `predict` and `eval`; unset flags keep the checkpoint's / config's
/// `decode` section.
struct DecodeFlags {
  int64_t samples = -1;
  double bound_margin = std::numeric_limits<double>::quiet_NaN();
  double temperature = 0;
  bool greedy = false;

  void add_to(CLI::App* cmd) {
    cmd->add_option("--samples", samples, "constrained samples per target (default: the config's decode.samples)");
    cmd->add_option("--bound-margin", bound_margin,
                    "value bounds: training range widened by this fraction on each side; < 0 = unbounded "
                    "(default: the config's decode.bound_margin)");
    cmd->add_option("--temperature", temperature, "sampling temperature (default: the config's)");
    cmd->add_flag("--greedy", greedy, "greedy decoding (one argmax path per target; p10 = p90 = median)");
  }

  void apply(predictor::DecodeOptions& decode) const {
    if (samples >= 0) decode.samples = samples;
    if (temperature > 0) decode.temperature = temperature;
    if (greedy) decode.samples = 0;
    if (!std::isnan(bound_margin)) decode.bound_margin = bound_margin;
  }
};

void add_train(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train the RLM (tokenizer, pretraining, fine-tuning) from a YAML config");
  struct Opts {
    std::string config, output, device;
    bool eval = true;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--config", o->config, "YAML config, e.g. configs/rlm_nb201.yaml")->required();
  cmd->add_option("-o,--output", o->output, "checkpoint directory (default: the config's `output`)");
  cmd->add_option("--device", o->device, "cpu or cuda[:N] (default: the config's `device`)");
  cmd->add_flag("!--no-eval", o->eval, "skip scoring the held-out split after training");
  cmd->callback([o] {
    auto config = predictor::load_rlm_config(o->config);
    if (!o->device.empty()) config.device = o->device;
    if (!o->output.empty()) config.output = o->output;
    auto space = spaces::make_space(config.space);
    auto split = predictor::load_split(config, *space);
    auto rlm = predictor::train_rlm(config, *space, split);
    rlm.save(config.output);
    fmt::print("saved checkpoint {}\n", config.output);
    if (o->eval) {
      auto result = predictor::evaluate(rlm, config, *space, split);
      std::cout << predictor::write_eval_report(result, config, config.output + "/eval", &split);
    }
  });
}

void add_predict(CLI::App& app) {
  auto* cmd = app.add_subcommand("predict", "Predict metrics of architectures (median, p10, p90 per target)");
  struct Opts {
    std::string checkpoint, space, arch, archs, onnx, dataset, device;
    std::vector<std::string> targets;
    DecodeFlags decode;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--checkpoint", o->checkpoint, "checkpoint directory written by `nas train`")->required();
  cmd->add_option("--space", o->space, "search space of --arch/--archs (default: the checkpoint's)");
  auto* one = cmd->add_option("--arch", o->arch, "one genotype string");
  auto* many = cmd->add_option("--archs", o->archs, "file with one genotype per line");
  auto* file = cmd->add_option("--onnx", o->onnx, "any ONNX model file");
  one->excludes(many)->excludes(file);
  many->excludes(file);
  cmd->add_option("--dataset", o->dataset, "network input configuration (default: the checkpoint's)");
  cmd->add_option("--targets", o->targets, "targets to decode, in order (default: the checkpoint's task)")
      ->delimiter(',');
  o->decode.add_to(cmd);
  cmd->add_option("--device", o->device, "cpu or cuda[:N]");
  cmd->add_flag("--json", o->json, "JSON output instead of CSV");
  cmd->callback([o] {
    if (o->arch.empty() && o->archs.empty() && o->onnx.empty())
      throw ConfigError("predict: give one of --arch, --archs or --onnx");
    auto rlm = predictor::Rlm::load(o->checkpoint, o->device);
    const auto& config = rlm.config();
    std::string space_name = o->space.empty() ? config.space : o->space;
    std::string dataset = o->dataset.empty() ? config.dataset : o->dataset;
    std::vector<std::string> targets = o->targets.empty() ? config.data.targets : o->targets;
    predictor::DecodeOptions decode = config.decode;
    o->decode.apply(decode);
    std::vector<std::string> names;
    std::vector<predictor::ArchText> inputs;
    if (!o->onnx.empty()) {
      names.push_back(o->onnx);
      inputs.push_back(predictor::model_text(onnx_text::load_onnx_file(o->onnx), space_name));
    } else {
      auto space = spaces::make_space(space_name);
      std::vector<spaces::Genotype> gs;
      if (!o->arch.empty()) {
        gs.push_back(space->parse(o->arch));
        names.push_back(o->arch);
      } else {
        for (auto& [line, g] : spaces::read_genotype_file(*space, o->archs)) {
          names.push_back(line);
          gs.push_back(std::move(g));
        }
      }
      inputs = predictor::architecture_texts(*space, gs, dataset);
    }
    auto predictions = predictor::predict_in_training_order(rlm, inputs, targets, decode);
    if (o->json) {
      nlohmann::json out = nlohmann::json::array();
      for (size_t i = 0; i < predictions.size(); ++i) {
        nlohmann::json row;
        row["arch"] = names[i];
        for (size_t j = 0; j < targets.size(); ++j)
          row[targets[j]] = {{"median", predictions[i].median[j]},
                             {"p10", predictions[i].p10[j]},
                             {"p90", predictions[i].p90[j]}};
        out.push_back(row);
      }
      std::cout << out.dump(2) << "\n";
    } else {
      std::cout << "arch,target,median,p10,p90\n";
      for (size_t i = 0; i < predictions.size(); ++i)
        for (size_t j = 0; j < targets.size(); ++j)
          std::cout << fmt::format("\"{}\",{},{:.6g},{:.6g},{:.6g}\n", names[i], targets[j],
                                   predictions[i].median[j], predictions[i].p10[j], predictions[i].p90[j]);
    }
  });
}

void add_eval(CLI::App& app) {
  auto* cmd = app.add_subcommand("eval", "Kendall tau-b and Spearman rho per target on the held-out split");
  struct Opts {
    std::string checkpoint, config, output, device;
    DecodeFlags decode;
    bool no_mlp = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--checkpoint", o->checkpoint, "checkpoint directory")->required();
  cmd->add_option("--config", o->config, "config whose data split to score (default: the checkpoint's)");
  o->decode.add_to(cmd);
  cmd->add_flag("--no-mlp", o->no_mlp, "skip the one-hot MLP baseline");
  cmd->add_option("-o,--output", o->output, "results prefix (writes PREFIX.csv and PREFIX.md)");
  cmd->add_option("--device", o->device, "cpu or cuda[:N]");
  cmd->callback([o] {
    auto rlm = predictor::Rlm::load(o->checkpoint, o->device);
    auto config = o->config.empty() ? rlm.config() : predictor::load_rlm_config(o->config);
    config.decode = o->config.empty() ? rlm.config().decode : config.decode;
    o->decode.apply(config.decode);
    if (o->no_mlp) config.mlp_baseline = false;
    auto space = spaces::make_space(config.space);
    auto split = predictor::load_split(config, *space);
    auto result = predictor::evaluate(rlm, config, *space, split);
    std::string prefix = o->output.empty() ? "results/eval_" + config.space : o->output;
    std::cout << predictor::write_eval_report(result, config, prefix, &split);
    fmt::print("wrote {0}.csv, {0}.md and {0}_predictions.csv\n", prefix);
  });
}

void add_adapt(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "adapt", "Few-shot adaptation: add a new target (e.g. your device's latency) to a trained RLM");
  struct Opts {
    std::string checkpoint, target, data, output, arch_column, device;
    int64_t shots = 20, steps = -1, replay = -1;
    double shot_share = -1;
    double lr = -1;
    bool no_pseudo = false;
    uint64_t seed = 0;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--checkpoint", o->checkpoint, "the trained RLM's checkpoint directory")->required();
  cmd->add_option("--target", o->target, "the new target, a column of --data, e.g. lat_ms_mybox")->required();
  cmd->add_option("--data", o->data, "CSV of measured architectures, e.g. from `nas measure`")->required();
  cmd->add_option("--shots", o->shots, "measured architectures to adapt on (seeded draw; the rest are scored)");
  cmd->add_option("--arch-column", o->arch_column,
                  "architecture column or template of --data (default: the space's benchmark column)");
  cmd->add_option("--steps", o->steps, "fine-tuning steps (default 600)");
  cmd->add_option("--lr", o->lr, "learning rate (default 1e-3)");
  cmd->add_option("--replay", o->replay, "generated architectures that keep the old targets (default 512)");
  cmd->add_flag("--no-pseudo", o->no_pseudo, "no ridge pseudo-labels for the replay architectures");
  cmd->add_option("--shot-share", o->shot_share, "share of the training rows that are the shots (default 0.5)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--seed", o->seed, "seed of the shot draw and the replay set");
  cmd->add_option("--device", o->device, "cpu or cuda[:N]");
  cmd->add_option("-o,--output", o->output, "checkpoint directory of the adapted model")->required();
  cmd->callback([o] {
    auto rlm = predictor::Rlm::load(o->checkpoint, o->device);
    const std::string space_name = rlm.config().space;
    auto space = spaces::make_space(space_name);
    const std::string arch_column =
        o->arch_column.empty() ? spaces::benchmark_arch_columns(space_name) : o->arch_column;
    auto table = predictor::load_measured_table(o->data, arch_column, o->target, *space);
    if (o->shots < 1 || static_cast<size_t>(o->shots) > table.archs.size())
      throw ConfigError(fmt::format("--shots: must be in [1, {}] (rows of {}), got {}", table.archs.size(), o->data,
                                    o->shots));
    std::vector<size_t> order(table.archs.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    Rng rng(derive_seed(o->seed, 0x53484f54));
    rng.shuffle(order);
    std::vector<spaces::Genotype> shots, rest;
    std::vector<double> shot_y, rest_y;
    for (size_t i = 0; i < order.size(); ++i) {
      bool shot = i < static_cast<size_t>(o->shots);
      (shot ? shots : rest).push_back(table.archs[order[i]]);
      (shot ? shot_y : rest_y).push_back(table.values[order[i]]);
    }
    predictor::AdaptOptions options;
    options.target = o->target;
    options.seed = o->seed;
    if (o->no_pseudo) options.pseudo_labels = false;
    if (o->steps >= 0) options.steps = o->steps;
    if (o->lr > 0) options.lr = o->lr;
    if (o->replay >= 0) options.replay = o->replay;
    if (o->shot_share > 0) options.shot_share = o->shot_share;
    auto report = predictor::adapt_rlm(rlm, *space, shots, shot_y, options);
    rlm.save(o->output);
    std::string md = fmt::format("# Adapted {} to {}\n\n- data: `{}` ({} rows), {} shots (seed {}), {} steps\n",
                                 o->checkpoint, o->target, o->data, table.archs.size(), shots.size(), o->seed,
                                 options.steps);
    if (!report.init_from.empty())
      md += fmt::format("- warm start from `{}` (Spearman rho {:.3f} with the measurements on the shots)\n",
                        report.init_from, report.init_rho);
    if (!rest.empty()) {
      auto texts = predictor::architecture_texts(*space, rest, rlm.config().dataset);
      auto pred = predictor::predict_in_training_order(rlm, texts, {o->target}, rlm.config().decode);
      std::vector<double> p, flops;
      for (size_t i = 0; i < rest.size(); ++i) {
        p.push_back(pred[i].median[0]);
        flops.push_back(texts[i].computed.at(1));
      }
      auto m = predictor::rank_metrics(p, rest_y);
      md += fmt::format(
          "- on the other {} measured architectures: Spearman rho {:.4f}, Kendall tau {:.4f} (FLOPs proxy: rho "
          "{:.4f})\n",
          m.n, m.spearman_rho, m.kendall_tau, predictor::spearman_rho(flops, rest_y));
    }
    md += fmt::format("- saved `{}`; the new target works in `nas predict`, `nas eval` and as a search objective\n",
                      o->output);
    write_file_atomic(o->output + "/adapt.md", md);
    std::cout << md;
  });
}

}  // namespace

void add_predictor_commands(CLI::App& app) {
  add_train(app);
  add_predict(app);
  add_eval(app);
  add_adapt(app);
}

}  // namespace nas::apps
