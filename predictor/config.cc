#include "predictor/config.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include "core/error.h"
#include "core/io.h"
#include "core/yaml_section.h"
#include "predictor/arch_text.h"
#include "spaces/search_space.h"

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
  s.get("length_groups", &t->length_groups);
  s.get("dropout", &t->dropout);
  s.get("attention_dropout", &t->attention_dropout);
  s.get("ema_decay", &t->ema_decay);
  s.get("members", &t->members);
  s.get_list("targets", &t->targets);
  s.finish();
  const auto& src = parent.source();
  require(t->steps >= 0, src, s.full("steps"), "must be >= 0");
  require(t->batch_size > 0, src, s.full("batch_size"), "must be > 0");
  require(t->lr > 0, src, s.full("lr"), "must be > 0");
  require(t->warmup_steps >= 0, src, s.full("warmup_steps"), "must be >= 0");
  require(t->clip_norm > 0, src, s.full("clip_norm"), "must be > 0");
  require(t->length_groups >= 0, src, s.full("length_groups"), "must be >= 0 (0 = off)");
  require(t->dropout < 1, src, s.full("dropout"), "must be < 1 (< 0 = the model's dropout)");
  require(t->attention_dropout < 1, src, s.full("attention_dropout"), "must be < 1 (< 0 = the phase's dropout)");
  require(t->ema_decay >= 0 && t->ema_decay < 1, src, s.full("ema_decay"), "must be in [0, 1) (0 = off)");
  require(t->members >= 1 && t->members <= kMaxMembers, src, s.full("members"),
          fmt::format("must be in [1, {}]", kMaxMembers));
}

void read_data(Section& parent, DataOptions* d) {
  Section s(parent.child("data"), parent.full("data"), parent.source());
  s.get("table", &d->table);
  s.get("arch_column", &d->arch_column);
  s.get_list("targets", &d->targets);
  s.get_list("context", &d->context);
  s.get("train_size", &d->train_size);
  s.get("test_size", &d->test_size);
  s.get("split_seed", &d->split_seed);
  s.get("equivalents", &d->equivalents);
  s.get_list("equivalent_targets", &d->equivalent_targets);
  s.finish();
}

void read_decode(Section& parent, DecodeOptions* d) {
  Section s(parent.child("decode"), parent.full("decode"), parent.source());
  s.get("samples", &d->samples);
  s.get("temperature", &d->temperature);
  s.get("batch_size", &d->batch_size);
  s.get("seed", &d->seed);
  s.get("conditioning", &d->conditioning);
  s.get("bound_margin", &d->bound_margin);
  s.finish();
}

// Every top-level key of an RlmConfig (the caller calls finish()).
void read_rlm_keys(Section& top, RlmConfig& c) {
  top.get("space", &c.space);
  top.get("dataset", &c.dataset);
  top.get("seed", &c.seed);
  top.get("device", &c.device);
  top.get("output", &c.output);
  top.get("mlp_baseline", &c.mlp_baseline);
  top.get("max_targets", &c.max_targets);
  top.get("pretrain_pool", &c.pretrain_pool);
  top.get_list("pretrain_spaces", &c.pretrain_spaces);
  top.get("pretrain_cache", &c.pretrain_cache);
  top.get("text_version", &c.text_version);
  top.get("members", &c.members);
  require(c.members >= 1 && c.members <= kMaxMembers, top.source(), "members",
          fmt::format("must be in [1, {}] (the ensemble members a checkpoint holds)", kMaxMembers));
  read_data(top, &c.data);
  {
    Section t(top.child("tokenizer"), "tokenizer", top.source());
    t.get("vocab_size", &c.tokenizer_vocab_size);
    t.get("corpus_size", &c.tokenizer_corpus_size);
    t.finish();
  }
  {
    Section n(top.child("numbers"), "numbers", top.source());
    n.get("digits", &c.number_digits);
    n.get("exponent_range", &c.number_exponent_range);
    n.finish();
  }
  {
    Section m(top.child("model"), "model", top.source());
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
  read_decode(top, &c.decode);
}

// The keys a task of a multi-task config may set (the caller calls finish()).
void read_task_keys(Section& task, RlmConfig& c) {
  task.get("space", &c.space);
  task.get("dataset", &c.dataset);
  task.get("output", &c.output);
  task.get("mlp_baseline", &c.mlp_baseline);
  read_data(task, &c.data);
  c.finetune.targets.clear();
  read_train(task, "finetune", &c.finetune);
  read_decode(task, &c.decode);
}

// Checks of what pretraining depends on (model, tokenizer, numbers, pretraining spaces).
void validate_shared(const RlmConfig& c, const std::string& source) {
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
  require(c.device == "cpu" || c.device.rfind("cuda", 0) == 0, source, "device", "must be 'cpu' or 'cuda[:N]'");
  require(c.pretrain_pool > 0, source, "pretrain_pool", "must be > 0");
  const auto known = spaces::space_names();
  for (size_t i = 0; i < c.pretrain_spaces.size(); ++i) {
    const auto& name = c.pretrain_spaces[i];
    require(std::find(known.begin(), known.end(), name) != known.end(), source, "pretrain_spaces",
            fmt::format("unknown space '{}' (known: {})", name, fmt::join(known, ", ")));
    require(std::find(c.pretrain_spaces.begin(), c.pretrain_spaces.begin() + static_cast<long>(i), name) ==
                c.pretrain_spaces.begin() + static_cast<long>(i),
            source, "pretrain_spaces", fmt::format("'{}' is listed twice", name));
  }
}

// Checks of the labelled data, fine-tuning and decoding; `prefix` ("" or "tasks[2].") names the keys.
void validate_task(const RlmConfig& c, const std::string& source, const std::string& prefix) {
  require(!c.data.table.empty(), source, prefix + "data.table", "required (a CSV file under data/)");
  require(!c.data.targets.empty(), source, prefix + "data.targets", "required (benchmark columns to predict)");
  require(!c.data.arch_column.empty(), source, prefix + "data.arch_column", "must not be empty");
  require(c.data.train_size > 0, source, prefix + "data.train_size", "must be > 0");
  require(c.data.test_size >= 0, source, prefix + "data.test_size", "must be >= 0");
  require(c.data.equivalents >= 0, source, prefix + "data.equivalents", "must be >= 0 (0 = off)");
  require(c.data.equivalents == 0 || !c.data.equivalent_targets.empty(), source, prefix + "data.equivalent_targets",
          "required when data.equivalents > 0 (the targets a class of equivalent architectures shares)");
  for (const auto& t : c.data.equivalent_targets)
    require(std::find(c.data.targets.begin(), c.data.targets.end(), t) != c.data.targets.end(), source,
            prefix + "data.equivalent_targets", fmt::format("'{}' is not one of data.targets", t));
  require(c.decode.samples >= 0, source, prefix + "decode.samples", "must be >= 0 (0 = greedy)");
  require(c.decode.temperature > 0, source, prefix + "decode.temperature", "must be > 0");
  require(c.decode.batch_size > 0, source, prefix + "decode.batch_size", "must be > 0");
  require(is_decode_conditioning(c.decode.conditioning), source, prefix + "decode.conditioning",
          "must be 'sampled' or 'median'");
  require(std::isfinite(c.decode.bound_margin), source, prefix + "decode.bound_margin",
          "must be a number (< 0 = unbounded decoding)");
  for (const auto& name : c.data.context) {
    const auto& known = computed_target_names();
    require(std::find(known.begin(), known.end(), name) != known.end(), source, prefix + "data.context",
            fmt::format("'{}' is not a computed target (known: {})", name, fmt::join(known, ", ")));
  }
  // Target slots: one per distinct name (context targets are pretraining targets too).
  std::set<std::string> slots(c.pretrain.targets.begin(), c.pretrain.targets.end());
  slots.insert(c.finetune.targets.begin(), c.finetune.targets.end());
  slots.insert(c.data.context.begin(), c.data.context.end());
  require(static_cast<int64_t>(slots.size()) <= c.max_targets, source,
          prefix.empty() ? "max_targets" : prefix + "data.targets",
          fmt::format("{} distinct pretraining, context and fine-tuning targets need more than max_targets = {} "
                      "slots",
                      slots.size(), c.max_targets));
}

YAML::Node load_yaml(const std::string& yaml, const std::string& source) {
  try {
    return YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw ConfigError(fmt::format("{}:{}:{}: invalid YAML: {}", source, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
}

RlmConfig default_config(const std::string& source) {
  RlmConfig c;
  c.source = source;
  c.pretrain.targets = {"params_M", "flops_M"};
  c.pretrain.steps = 0;
  return c;
}

std::string read_text(const std::string& path) {
  try {
    return read_file(path);
  } catch (const Error& e) {
    throw ConfigError(e.what());
  }
}

}  // namespace

RlmConfig parse_rlm_config(const std::string& yaml, const std::string& source) {
  YAML::Node root = load_yaml(yaml, source);
  RlmConfig c = default_config(source);
  {
    Section top(root, "", source);
    read_rlm_keys(top, c);
    top.finish();
  }
  if (c.finetune.targets.empty()) c.finetune.targets = c.data.targets;
  validate_task(c, source, "");
  validate_shared(c, source);
  return c;
}

RlmMultiTaskConfig parse_rlm_multitask_config(const std::string& yaml, const std::string& source) {
  YAML::Node root = load_yaml(yaml, source);
  RlmMultiTaskConfig mt;
  mt.shared = default_config(source);
  YAML::Node tasks;
  {
    Section top(root, "", source);
    read_rlm_keys(top, mt.shared);
    tasks = top.child("tasks");
    top.finish();
    if (!tasks || !tasks.IsSequence() || tasks.size() == 0)
      top.fail("tasks", "required: a non-empty list of tasks" + yaml_line_of(tasks));
  }
  validate_shared(mt.shared, source);
  for (size_t i = 0; i < tasks.size(); ++i) {
    const std::string path = fmt::format("tasks[{}]", i);
    RlmTask task;
    task.config = mt.shared;
    Section t(tasks[i], path, source);
    t.get("name", &task.name);
    read_task_keys(t, task.config);
    t.finish();
    if (task.name.empty()) task.name = task.config.space;
    for (const auto& other : mt.tasks)
      require(other.name != task.name, source, path + ".name", fmt::format("task name '{}' is used twice", task.name));
    if (task.config.finetune.targets.empty()) task.config.finetune.targets = task.config.data.targets;
    validate_task(task.config, source, path + ".");
    mt.tasks.push_back(std::move(task));
  }
  return mt;
}

RlmConfig load_rlm_config(const std::string& path) { return parse_rlm_config(read_text(path), path); }

RlmMultiTaskConfig load_rlm_multitask_config(const std::string& path) {
  return parse_rlm_multitask_config(read_text(path), path);
}

std::string rlm_config_to_yaml(const RlmConfig& c) {
  YAML::Emitter out;
  auto train = [&](const char* key, const TrainOptions& t) {
    out << YAML::Key << key << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "steps" << YAML::Value << t.steps << YAML::Key << "batch_size" << YAML::Value << t.batch_size;
    out << YAML::Key << "lr" << YAML::Value << t.lr << YAML::Key << "warmup_steps" << YAML::Value << t.warmup_steps;
    out << YAML::Key << "weight_decay" << YAML::Value << t.weight_decay;
    out << YAML::Key << "clip_norm" << YAML::Value << t.clip_norm;
    if (t.length_groups > 0) out << YAML::Key << "length_groups" << YAML::Value << t.length_groups;
    if (t.dropout >= 0) out << YAML::Key << "dropout" << YAML::Value << t.dropout;
    if (t.attention_dropout >= 0) out << YAML::Key << "attention_dropout" << YAML::Value << t.attention_dropout;
    if (t.ema_decay > 0) out << YAML::Key << "ema_decay" << YAML::Value << t.ema_decay;
    if (t.members > 1) out << YAML::Key << "members" << YAML::Value << t.members;
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
  // Absent = config.space alone; left out then, so single-space checkpoints keep their config text.
  if (!c.pretrain_spaces.empty())
    out << YAML::Key << "pretrain_spaces" << YAML::Value << YAML::Flow << c.pretrain_spaces;
  out << YAML::Key << "pretrain_cache" << YAML::Value << c.pretrain_cache;
  out << YAML::Key << "text_version" << YAML::Value << c.text_version;
  // Left out for a single model, so such checkpoints keep their config text.
  if (c.members > 1) out << YAML::Key << "members" << YAML::Value << c.members;
  out << YAML::Key << "data" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "table" << YAML::Value << c.data.table << YAML::Key << "arch_column" << YAML::Value
      << c.data.arch_column;
  out << YAML::Key << "targets" << YAML::Value << YAML::Flow << c.data.targets;
  out << YAML::Key << "context" << YAML::Value << YAML::Flow << c.data.context;
  out << YAML::Key << "train_size" << YAML::Value << c.data.train_size << YAML::Key << "test_size" << YAML::Value
      << c.data.test_size << YAML::Key << "split_seed" << YAML::Value << c.data.split_seed;
  if (c.data.equivalents > 0)
    out << YAML::Key << "equivalents" << YAML::Value << c.data.equivalents << YAML::Key << "equivalent_targets"
        << YAML::Value << YAML::Flow << c.data.equivalent_targets;
  out << YAML::EndMap;
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
      << YAML::Key << "bound_margin" << YAML::Value << c.decode.bound_margin;
  if (c.decode.conditioning != "sampled")
    out << YAML::Key << "conditioning" << YAML::Value << c.decode.conditioning;
  out << YAML::EndMap;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace nas::predictor
