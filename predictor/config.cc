#include "predictor/config.h"


#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include "core/error.h"
#include "core/io.h"
#include "core/yaml_section.h"
#include "predictor/arch_text.h"

namespace nas::predictor {
namespace {

using Section = YamlSection;

void require(bool ok, const std::string& source, const std::string& key, const std::string& why) {
  if (!ok) throw ConfigError(fmt::format("{}: {}: {}", source, key, why));
}

void read_train(Section& parent, const std::string& key, TrainOptions* t) {
  Section s(parent.child(key), parent.full(key), parent.source());
  s.get("steps", &t->steps);
  s.get("batch_size", &t->batch_size);
  s.get("lr", &t->lr);
  s.get("warmup_steps", &t->warmup_steps);
  s.get("weight_decay", &t->weight_decay);
  s.get("clip_norm", &t->clip_norm);
  s.get_list("targets", &t->targets);
  s.finish();
  const auto& src = parent.source();
  require(t->steps >= 0, src, s.full("steps"), "must be >= 0");
  require(t->batch_size > 0, src, s.full("batch_size"), "must be > 0");
  require(t->lr > 0, src, s.full("lr"), "must be > 0");
  require(t->warmup_steps >= 0, src, s.full("warmup_steps"), "must be >= 0");
  require(t->clip_norm > 0, src, s.full("clip_norm"), "must be > 0");
}

}  // namespace

RlmConfig parse_rlm_config(const std::string& yaml, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw ConfigError(fmt::format("{}:{}:{}: invalid YAML: {}", source, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  RlmConfig c;
  c.source = source;
  c.pretrain.targets = {"params_M", "flops_M"};
  c.pretrain.steps = 0;
  {
    Section top(root, "", source);
    top.get("space", &c.space);
    top.get("dataset", &c.dataset);
    top.get("seed", &c.seed);
    top.get("device", &c.device);
    top.get("output", &c.output);
    top.get("mlp_baseline", &c.mlp_baseline);
    top.get("max_targets", &c.max_targets);
    top.get("pretrain_pool", &c.pretrain_pool);
    top.get("pretrain_cache", &c.pretrain_cache);
    top.get("text_version", &c.text_version);
    {
      Section d(top.child("data"), "data", source);
      d.get("table", &c.data.table);
      d.get("arch_column", &c.data.arch_column);
      d.get_list("targets", &c.data.targets);
      d.get_list("context", &c.data.context);
      d.get("train_size", &c.data.train_size);
      d.get("test_size", &c.data.test_size);
      d.get("split_seed", &c.data.split_seed);
      d.finish();
    }
    {
      Section t(top.child("tokenizer"), "tokenizer", source);
      t.get("vocab_size", &c.tokenizer_vocab_size);
      t.get("corpus_size", &c.tokenizer_corpus_size);
      t.finish();
    }
    {
      Section n(top.child("numbers"), "numbers", source);
      n.get("digits", &c.number_digits);
      n.get("exponent_range", &c.number_exponent_range);
      n.finish();
    }
    {
      Section m(top.child("model"), "model", source);
      m.get("d_model", &c.model.d_model);
      m.get("encoder_layers", &c.model.encoder_layers);
      m.get("decoder_layers", &c.model.decoder_layers);
      m.get("heads", &c.model.heads);
      m.get("feed_forward", &c.model.feed_forward);
      m.get("max_length", &c.model.max_length);
      m.get("dropout", &c.model.dropout);
      m.finish();
    }
    read_train(top, "pretrain", &c.pretrain);
    c.finetune.targets.clear();
    read_train(top, "finetune", &c.finetune);
    {
      Section d(top.child("decode"), "decode", source);
      d.get("samples", &c.decode.samples);
      d.get("temperature", &c.decode.temperature);
      d.get("batch_size", &c.decode.batch_size);
      d.get("seed", &c.decode.seed);
      d.finish();
    }
    top.finish();
  }
  if (c.finetune.targets.empty()) c.finetune.targets = c.data.targets;
  require(!c.data.table.empty(), source, "data.table", "required (a CSV file under data/)");
  require(!c.data.targets.empty(), source, "data.targets", "required (benchmark columns to predict)");
  require(c.data.train_size > 0, source, "data.train_size", "must be > 0");
  require(c.data.test_size >= 0, source, "data.test_size", "must be >= 0");
  require(c.tokenizer_vocab_size >= 64, source, "tokenizer.vocab_size", "must be >= 64");
  require(c.number_digits >= 1 && c.number_digits <= 8, source, "numbers.digits", "must be in [1, 8]");
  require(c.number_exponent_range >= 1 && c.number_exponent_range <= 30, source, "numbers.exponent_range",
          "must be in [1, 30]");
  require(c.model.d_model > 0 && c.model.heads > 0 && c.model.d_model % c.model.heads == 0, source, "model.heads",
          "d_model must be a positive multiple of heads");
  require(c.model.encoder_layers >= 1 && c.model.decoder_layers >= 1, source, "model", "needs >= 1 layer each");
  require(c.model.feed_forward > 0, source, "model.feed_forward", "must be > 0");
  require(c.model.max_length >= 16, source, "model.max_length", "must be >= 16");
  require(c.model.dropout >= 0 && c.model.dropout < 1, source, "model.dropout", "must be in [0, 1)");
  require(c.decode.samples >= 0, source, "decode.samples", "must be >= 0 (0 = greedy)");
  require(c.decode.temperature > 0, source, "decode.temperature", "must be > 0");
  require(c.decode.batch_size > 0, source, "decode.batch_size", "must be > 0");
  require(c.device == "cpu" || c.device.rfind("cuda", 0) == 0, source, "device", "must be 'cpu' or 'cuda[:N]'");
  for (const auto& name : c.data.context) {
    const auto& known = computed_target_names();
    require(std::find(known.begin(), known.end(), name) != known.end(), source, "data.context",
            fmt::format("'{}' is not a computed target (known: {})", name, fmt::join(known, ", ")));
  }
  require(static_cast<int64_t>(c.pretrain.targets.size() + c.finetune.targets.size() + c.data.context.size()) <=
              c.max_targets,
          source,
          "max_targets", "smaller than the number of pretraining + fine-tuning targets");
  return c;
}

RlmConfig load_rlm_config(const std::string& path) {
  std::string text;
  try {
    text = read_file(path);
  } catch (const Error& e) {
    throw ConfigError(e.what());
  }
  return parse_rlm_config(text, path);
}

std::string rlm_config_to_yaml(const RlmConfig& c) {
  YAML::Emitter out;
  auto train = [&](const char* key, const TrainOptions& t) {
    out << YAML::Key << key << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "steps" << YAML::Value << t.steps << YAML::Key << "batch_size" << YAML::Value << t.batch_size;
    out << YAML::Key << "lr" << YAML::Value << t.lr << YAML::Key << "warmup_steps" << YAML::Value << t.warmup_steps;
    out << YAML::Key << "weight_decay" << YAML::Value << t.weight_decay;
    out << YAML::Key << "clip_norm" << YAML::Value << t.clip_norm;
    out << YAML::Key << "targets" << YAML::Value << YAML::Flow << t.targets;
    out << YAML::EndMap;
  };
  out << YAML::BeginMap;
  out << YAML::Key << "space" << YAML::Value << c.space << YAML::Key << "dataset" << YAML::Value << c.dataset;
  out << YAML::Key << "seed" << YAML::Value << c.seed << YAML::Key << "device" << YAML::Value << c.device;
  out << YAML::Key << "output" << YAML::Value << c.output << YAML::Key << "mlp_baseline" << YAML::Value
      << c.mlp_baseline;
  out << YAML::Key << "max_targets" << YAML::Value << c.max_targets;
  out << YAML::Key << "pretrain_pool" << YAML::Value << c.pretrain_pool;
  out << YAML::Key << "pretrain_cache" << YAML::Value << c.pretrain_cache;
  out << YAML::Key << "text_version" << YAML::Value << c.text_version;
  out << YAML::Key << "data" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "table" << YAML::Value << c.data.table << YAML::Key << "arch_column" << YAML::Value
      << c.data.arch_column;
  out << YAML::Key << "targets" << YAML::Value << YAML::Flow << c.data.targets;
  out << YAML::Key << "context" << YAML::Value << YAML::Flow << c.data.context;
  out << YAML::Key << "train_size" << YAML::Value << c.data.train_size << YAML::Key << "test_size" << YAML::Value
      << c.data.test_size << YAML::Key << "split_seed" << YAML::Value << c.data.split_seed << YAML::EndMap;
  out << YAML::Key << "tokenizer" << YAML::Value << YAML::BeginMap << YAML::Key << "vocab_size" << YAML::Value
      << c.tokenizer_vocab_size << YAML::Key << "corpus_size" << YAML::Value << c.tokenizer_corpus_size
      << YAML::EndMap;
  out << YAML::Key << "numbers" << YAML::Value << YAML::BeginMap << YAML::Key << "digits" << YAML::Value
      << c.number_digits << YAML::Key << "exponent_range" << YAML::Value << c.number_exponent_range << YAML::EndMap;
  out << YAML::Key << "model" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "d_model" << YAML::Value << c.model.d_model << YAML::Key << "encoder_layers" << YAML::Value
      << c.model.encoder_layers << YAML::Key << "decoder_layers" << YAML::Value << c.model.decoder_layers;
  out << YAML::Key << "heads" << YAML::Value << c.model.heads << YAML::Key << "feed_forward" << YAML::Value
      << c.model.feed_forward << YAML::Key << "max_length" << YAML::Value << c.model.max_length;
  out << YAML::Key << "dropout" << YAML::Value << c.model.dropout << YAML::EndMap;
  train("pretrain", c.pretrain);
  train("finetune", c.finetune);
  out << YAML::Key << "decode" << YAML::Value << YAML::BeginMap << YAML::Key << "samples" << YAML::Value
      << c.decode.samples << YAML::Key << "temperature" << YAML::Value << c.decode.temperature << YAML::Key
      << "batch_size" << YAML::Value << c.decode.batch_size << YAML::Key << "seed" << YAML::Value << c.decode.seed
      << YAML::EndMap;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace nas::predictor
