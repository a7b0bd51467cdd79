// Subcommands of the regression language model: train, predict, eval.

#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "core/error.h"
#include "core/io.h"
#include "onnx_text/serializer.h"
#include "predictor/arch_text.h"
#include "predictor/pipeline.h"
#include "predictor/rlm.h"
#include "spaces/search_space.h"

namespace nas::apps {
namespace {

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
    int64_t samples = -1;
    double temperature = 0;
    bool greedy = false, json = false;
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
  cmd->add_option("--samples", o->samples, "constrained samples per target (default: the checkpoint's)");
  cmd->add_option("--temperature", o->temperature, "sampling temperature (default: the checkpoint's)");
  cmd->add_flag("--greedy", o->greedy, "greedy decoding (fast; p10 = p90 = median)");
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
    if (o->samples >= 0) decode.samples = o->samples;
    if (o->temperature > 0) decode.temperature = o->temperature;
    if (o->greedy) decode.samples = 0;
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
    auto predictions = rlm.predict(inputs, targets, decode);
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
    int64_t samples = -1;
    double temperature = 0;
    bool greedy = false, no_mlp = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--checkpoint", o->checkpoint, "checkpoint directory")->required();
  cmd->add_option("--config", o->config, "config whose data split to score (default: the checkpoint's)");
  cmd->add_option("--samples", o->samples, "constrained samples per target (default: the config's decode.samples)");
  cmd->add_option("--temperature", o->temperature, "sampling temperature (default: the config's)");
  cmd->add_flag("--greedy", o->greedy, "greedy decoding (one argmax path per target)");
  cmd->add_flag("--no-mlp", o->no_mlp, "skip the one-hot MLP baseline");
  cmd->add_option("-o,--output", o->output, "results prefix (writes PREFIX.csv and PREFIX.md)");
  cmd->add_option("--device", o->device, "cpu or cuda[:N]");
  cmd->callback([o] {
    auto rlm = predictor::Rlm::load(o->checkpoint, o->device);
    auto config = o->config.empty() ? rlm.config() : predictor::load_rlm_config(o->config);
    config.decode = o->config.empty() ? rlm.config().decode : config.decode;
    if (o->samples >= 0) config.decode.samples = o->samples;
    if (o->temperature > 0) config.decode.temperature = o->temperature;
    if (o->greedy) config.decode.samples = 0;
    if (o->no_mlp) config.mlp_baseline = false;
    auto space = spaces::make_space(config.space);
    auto split = predictor::load_split(config, *space);
    auto result = predictor::evaluate(rlm, config, *space, split);
    std::string prefix = o->output.empty() ? "results/eval_" + config.space : o->output;
    std::cout << predictor::write_eval_report(result, config, prefix, &split);
    fmt::print("wrote {0}.csv, {0}.md and {0}_predictions.csv\n", prefix);
  });
}

}  // namespace

void add_predictor_commands(CLI::App& app) {
  add_train(app);
  add_predict(app);
  add_eval(app);
}

}  // namespace nas::apps
