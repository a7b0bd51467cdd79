#include "predictor/kendall_config.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include "core/error.h"
#include "core/io.h"
#include "core/yaml_section.h"
#include "spaces/search_space.h"

namespace nas::predictor {
namespace {

YAML::Node load_yaml(const std::string& yaml, const std::string& source) {
  try {
    return YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw ConfigError(
        fmt::format("{}:{}:{}: invalid YAML: {}", source, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
}

// A SizeMap from `key` of `s` if present: a map {size: value} or one number for every size.
void read_size_map(YamlSection& s, const std::string& key, SizeMap* out) {
  YAML::Node n = s.child(key);
  if (!n || n.IsNull()) return;
  const std::string full = s.full(key);
  auto as_int = [&](const YAML::Node& v, const char* what) {
    try {
      return v.as<int64_t>();
    } catch (const YAML::Exception&) {
      s.fail(full, fmt::format("{} '{}' is not an integer{}", what, v.IsScalar() ? v.Scalar() : "?",
                               yaml_line_of(v)));
    }
  };
  SizeMap m;
  if (n.IsScalar()) {
    int64_t v = as_int(n, "value");
    if (v <= 0) s.fail(full, fmt::format("must be > 0, got {}{}", v, yaml_line_of(n)));
    m[1] = v;
  } else if (n.IsMap()) {
    for (const auto& kv : n) {
      int64_t size = as_int(kv.first, "size"), v = as_int(kv.second, "value");
      if (size <= 0) s.fail(full, fmt::format("size {} must be > 0{}", size, yaml_line_of(kv.first)));
      if (v <= 0)
        s.fail(full, fmt::format("value {} for size {} must be > 0{}", v, size, yaml_line_of(kv.second)));
      m[size] = v;
    }
    if (m.empty()) s.fail(full, "must not be empty" + yaml_line_of(n));
  } else {
    s.fail(full, "expected a number or a map {size: value}" + yaml_line_of(n));
  }
  *out = std::move(m);
}

void read_gin(YamlSection& top, GinOptions* g) {
  YamlSection s(top.child("gin"), "gin", top.source());
  s.get("hidden", &g->hidden);
  s.get("layers", &g->layers);
  s.get("epochs", &g->epochs);
  s.get("max_steps", &g->max_steps);
  s.get("batch_size", &g->batch_size);
  s.get("lr", &g->lr);
  s.get("weight_decay", &g->weight_decay);
  s.get("threads", &g->threads);
  s.finish();
  s.require(g->threads >= 0, "threads", "must be >= 0 (0 = the process setting)");
  const std::vector<std::pair<const char*, int64_t>> positive = {{"hidden", g->hidden},
                                                                 {"layers", g->layers},
                                                                 {"epochs", g->epochs},
                                                                 {"max_steps", g->max_steps},
                                                                 {"batch_size", g->batch_size}};
  for (const auto& [key, v] : positive) s.require(v > 0, key, "must be > 0");
  s.require(g->lr > 0, "lr", "must be > 0");
  s.require(g->weight_decay >= 0, "weight_decay", "must be >= 0");
}

void read_mlp(YamlSection& top, MlpOptions* m) {
  YamlSection s(top.child("mlp"), "mlp", top.source());
  s.get("hidden", &m->hidden);
  s.get("epochs", &m->epochs);
  s.get("batch_size", &m->batch_size);
  s.get("lr", &m->lr);
  s.get("weight_decay", &m->weight_decay);
  s.finish();
  const std::vector<std::pair<const char*, int64_t>> positive = {
      {"hidden", m->hidden}, {"epochs", m->epochs}, {"batch_size", m->batch_size}};
  for (const auto& [key, v] : positive) s.require(v > 0, key, "must be > 0");
  s.require(m->lr > 0, "lr", "must be > 0");
  s.require(m->weight_decay >= 0, "weight_decay", "must be >= 0");
}

// The RLM config of an entry: a single-task config, or the task `task` of a multi-task one.
RlmConfig entry_rlm_config(YamlSection& e, const KendallEntry& entry) {
  std::string text;
  try {
    text = read_file(entry.rlm_config);
  } catch (const Error&) {
    e.fail(e.full("rlm_config"),
           fmt::format("cannot read '{}' (paths are relative to the working directory){}", entry.rlm_config,
                       yaml_line_of(e.child("rlm_config"))));
  }
  YAML::Node root = load_yaml(text, entry.rlm_config);
  if (root.IsMap() && root["tasks"]) {
    auto mt = parse_rlm_multitask_config(text, entry.rlm_config);
    std::vector<std::string> names;
    for (auto& t : mt.tasks) {
      if (t.name == entry.task) return t.config;
      names.push_back(t.name);
    }
    const std::string what = entry.task.empty()
                                 ? fmt::format("required: one of the tasks of {}", entry.rlm_config)
                                 : fmt::format("no task '{}' in {}", entry.task, entry.rlm_config);
    e.fail(e.full("task"),
           fmt::format("{} ({}){}", what, fmt::join(names, ", "), yaml_line_of(e.child("task"))));
  }
  if (!entry.task.empty())
    e.fail(e.full("task"), fmt::format("{} is a single-task config; leave task out{}", entry.rlm_config,
                                       yaml_line_of(e.child("task"))));
  return parse_rlm_config(text, entry.rlm_config);
}

}  // namespace

int64_t value_for_size(const SizeMap& m, int64_t n) {
  NAS_CHECK(!m.empty(), "empty size map");
  auto it = m.upper_bound(n);
  return it == m.begin() ? it->second : std::prev(it)->second;
}

const std::vector<std::string>& kendall_predictor_names() {
  static const std::vector<std::string> names = {"rlm", "gin", "mlp", "flops", "params"};
  return names;
}

bool is_kendall_proxy(const std::string& name) { return name == "flops" || name == "params"; }

KendallConfig parse_kendall_config(const std::string& yaml, const std::string& source) {
  YAML::Node root = load_yaml(yaml, source);
  KendallConfig c;
  c.source = source;
  c.sizes = {16, 64, 128, 256, 1000};
  c.seeds = {{1, 3}};
  c.predictors = kendall_predictor_names();
  c.rlm_steps = {{1, 300}};
  YamlSection top(root, "", source);
  top.get("output", &c.output);
  top.get_list("sizes", &c.sizes);
  read_size_map(top, "seeds", &c.seeds);
  top.get("test_size", &c.test_size);
  std::vector<std::string> predictors;
  if (top.get_list("predictors", &predictors)) {
    const auto& known = kendall_predictor_names();
    for (size_t i = 0; i < predictors.size(); ++i) {
      const auto& p = predictors[i];
      top.require(std::find(known.begin(), known.end(), p) != known.end(), "predictors",
                  fmt::format("unknown predictor '{}' (known: {})", p, fmt::join(known, ", ")));
      top.require(std::count(predictors.begin(), predictors.end(), p) == 1, "predictors",
                  fmt::format("'{}' is listed twice", p));
    }
    top.require(!predictors.empty(), "predictors", "must not be empty");
    c.predictors.clear();
    for (const auto& p : known)
      if (std::count(predictors.begin(), predictors.end(), p)) c.predictors.push_back(p);
  }
  {
    YamlSection r(top.child("rlm"), "rlm", source);
    read_size_map(r, "steps", &c.rlm_steps);
    r.get("decode_samples", &c.rlm_decode_samples);
    r.get("dropout", &c.rlm_dropout);
    r.get("members", &c.rlm_members);
    r.finish();
    r.require(c.rlm_decode_samples >= -1, "decode_samples",
              "must be >= 0 (0 = greedy), or -1 for the RLM config's");
    r.require(c.rlm_dropout < 1, "dropout", "must be < 1 (< 0 = the RLM config's finetune.dropout)");
    r.require(c.rlm_members >= 0 && c.rlm_members <= kMaxMembers, "members",
              fmt::format("must be in [0, {}] (0 = the RLM config's finetune.members)", kMaxMembers));
  }
  read_gin(top, &c.gin);
  read_mlp(top, &c.mlp);
  top.require(!c.sizes.empty(), "sizes", "must not be empty");
  for (int64_t n : c.sizes) top.require(n > 0, "sizes", fmt::format("size {} must be > 0", n));
  for (size_t i = 1; i < c.sizes.size(); ++i)
    top.require(c.sizes[i] > c.sizes[i - 1], "sizes", "must be strictly ascending");
  top.require(c.test_size > 0, "test_size", "must be > 0");

  YAML::Node entries = top.child("entries");
  if (!entries || !entries.IsSequence() || entries.size() == 0)
    top.fail("entries", "required: a non-empty list of {space, target, rlm_config}" + yaml_line_of(entries));
  const auto known_spaces = spaces::space_names();
  for (size_t i = 0; i < entries.size(); ++i) {
    YamlSection e(entries[i], fmt::format("entries[{}]", i), source);
    KendallEntry entry;
    entry.test_size = c.test_size;
    e.get("space", &entry.space);
    e.get("target", &entry.target);
    e.get("rlm_config", &entry.rlm_config);
    e.get("task", &entry.task);
    e.get("test_size", &entry.test_size);
    bool own_seed = e.get("split_seed", &entry.split_seed);
    read_size_map(e, "rlm_steps", &entry.rlm_steps);
    e.finish();
    e.require(!entry.space.empty(), "space", "required");
    e.require(std::find(known_spaces.begin(), known_spaces.end(), entry.space) != known_spaces.end(), "space",
              fmt::format("unknown space '{}' (known: {})", entry.space, fmt::join(known_spaces, ", ")));
    e.require(!entry.target.empty(), "target", "required (a column of the entry's table)");
    e.require(!entry.rlm_config.empty(), "rlm_config",
              "required (the RLM config giving table, arch column, model)");
    e.require(entry.test_size > 0, "test_size", "must be > 0");
    for (const auto& other : c.entries)
      e.require(other.label() != entry.label(), "target", fmt::format("'{}' is listed twice", entry.label()));
    if (entry.rlm_steps.empty()) entry.rlm_steps = c.rlm_steps;
    RlmConfig rlm = entry_rlm_config(e, entry);
    e.require(rlm.space == entry.space, "space",
              fmt::format("'{}' but {} is for space '{}'", entry.space, entry.rlm_config, rlm.space));
    if (!own_seed) entry.split_seed = rlm.data.split_seed;
    rlm.data.targets = {entry.target};
    rlm.finetune.targets = {entry.target};
    rlm.data.split_seed = entry.split_seed;
    rlm.mlp_baseline = false;
    if (c.rlm_decode_samples >= 0) rlm.decode.samples = c.rlm_decode_samples;
    if (c.rlm_dropout >= 0) rlm.finetune.dropout = c.rlm_dropout;
    if (c.rlm_members > 0) rlm.finetune.members = c.rlm_members;
    entry.rlm = std::move(rlm);
    c.entries.push_back(std::move(entry));
  }

  YAML::Node anchors = top.child("anchors");
  if (anchors && !anchors.IsNull()) {
    if (!anchors.IsSequence()) top.fail("anchors", "expected a list" + yaml_line_of(anchors));
    for (size_t i = 0; i < anchors.size(); ++i) {
      YamlSection a(anchors[i], fmt::format("anchors[{}]", i), source);
      KendallAnchor anchor;
      a.get("source", &anchor.source);
      a.get("setting", &anchor.setting);
      YAML::Node values = a.child("values");
      a.finish();
      a.require(!anchor.source.empty(), "source", "required");
      if (!values || !values.IsMap() || values.size() == 0)
        a.fail(a.full("values"), "required: a map {label: Kendall tau}" + yaml_line_of(values));
      for (const auto& kv : values) {
        double tau = 0;
        try {
          tau = kv.second.as<double>();
        } catch (const YAML::Exception&) {
          a.fail(a.full("values"),
                 fmt::format("'{}' is not a number{}", kv.second.IsScalar() ? kv.second.Scalar() : "?",
                             yaml_line_of(kv.second)));
        }
        if (tau < -1 || tau > 1)
          a.fail(a.full("values"),
                 fmt::format("Kendall tau {} outside [-1, 1]{}", tau, yaml_line_of(kv.second)));
        anchor.values.emplace_back(kv.first.as<std::string>(), tau);
      }
      c.anchors.push_back(std::move(anchor));
    }
  }
  top.finish();
  return c;
}

KendallConfig load_kendall_config(const std::string& path) {
  std::string text;
  try {
    text = read_file(path);
  } catch (const Error& e) {
    throw ConfigError(e.what());
  }
  return parse_kendall_config(text, path);
}

}  // namespace nas::predictor
