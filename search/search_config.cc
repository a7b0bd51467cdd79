#include "search/search_config.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "core/error.h"
#include "core/io.h"
#include "core/table.h"
#include "core/yaml_section.h"
#include "spaces/search_space.h"

namespace nas::search {
namespace {

using Section = YamlSection;

std::string line_of(const YAML::Node& node) { return yaml_line_of(node); }

ReferenceSpec parse_reference(const std::string& text, Section& s, const std::string& key) {
  ReferenceSpec r;
  if (text == "median") {
    r.quantile = 0.5;
    return r;
  }
  if (text.size() >= 2 && text[0] == 'p' && text.find_first_not_of("0123456789.", 1) == std::string::npos) {
    char* end = nullptr;
    double percent = std::strtod(text.c_str() + 1, &end);
    if (end == text.c_str() + text.size() && percent >= 0 && percent <= 100) {
      r.quantile = percent / 100.0;
      return r;
    }
  }
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (!text.empty() && end == text.c_str() + text.size() && std::isfinite(v)) {
    r.fixed = true;
    r.value = v;
    return r;
  }
  s.fail(s.full(key),
         fmt::format("'{}' is not a number, 'median' or a percentile 'pNN'{}", text, line_of(s.child(key))));
}

}  // namespace

std::vector<Objective> SearchConfig::problem_objectives() const {
  std::vector<Objective> out;
  for (const auto& o : objectives) out.push_back({o.name, o.direction});
  return out;
}

std::vector<std::string> SearchConfig::constraint_names() const {
  std::vector<std::string> out;
  for (const auto& c : constraints) out.push_back(c.to_string());
  return out;
}

std::string SearchConfig::table_path() const {
  if (table.empty()) return "";
  if (std::filesystem::path(table).is_absolute()) return table;
  return data_path(table);
}

SearchConfig parse_search_config(const std::string& yaml, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw ConfigError(
        fmt::format("{}:{}:{}: invalid YAML: {}", source, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  SearchConfig c;
  c.source = source;
  c.table = "nb201.csv";
  Section top(root, "", source);
  top.get("space", &c.space);
  top.get("dataset", &c.dataset);
  top.get("table", &c.table);
  top.get("arch_column", &c.arch_column);
  top.get("output", &c.output);
  top.get("export_onnx", &c.export_onnx);
  top.get("threads", &c.threads);
  top.get("population", &c.nsga2.population_size);
  top.get("generations", &c.nsga2.generations);
  top.get("crossover_prob", &c.nsga2.crossover_prob);
  top.get("mutation_prob", &c.nsga2.mutation_prob);
  top.get("seed", &c.nsga2.seed);

  // Space and dataset.
  std::unique_ptr<spaces::SearchSpace> space;
  try {
    space = spaces::make_space(c.space);
  } catch (const ConfigError& e) {
    top.fail("space", e.what() + line_of(top.child("space")));
  }
  if (!c.dataset.empty()) {
    auto ds = space->datasets();
    top.require(
        std::find(ds.begin(), ds.end(), c.dataset) != ds.end(), "dataset",
        fmt::format("unknown dataset '{}' of space {}; known: {}", c.dataset, c.space, fmt::join(ds, ", ")));
  }

  // Objectives.
  YAML::Node objectives = top.child("objectives");
  if (!objectives || objectives.IsNull()) top.fail("objectives", "missing: list at least one objective");
  if (!objectives.IsSequence() || objectives.size() == 0)
    top.fail("objectives", "expected a non-empty list of {name, direction}" + line_of(objectives));
  std::set<std::string> names;
  for (size_t i = 0; i < objectives.size(); ++i) {
    std::string path = fmt::format("objectives[{}]", i);
    Section o(objectives[i], path, source);
    ObjectiveSpec spec;
    if (!o.get("name", &spec.name) || spec.name.empty())
      o.fail(o.full("name"), "missing" + line_of(objectives[i]));
    std::string direction;
    if (!o.get("direction", &direction))
      o.fail(o.full("direction"), "missing ('min' or 'max')" + line_of(objectives[i]));
    try {
      spec.direction = parse_direction(direction);
    } catch (const ConfigError& e) {
      o.fail(o.full("direction"), e.what() + line_of(o.child("direction")));
    }
    spec.reference.quantile = spec.direction == Direction::kMaximize ? 0.5 : 0.9;
    std::string reference;
    if (o.get("reference", &reference)) spec.reference = parse_reference(reference, o, "reference");
    o.finish();
    if (!names.insert(spec.name).second)
      o.fail(o.full("name"), fmt::format("objective '{}' declared twice{}", spec.name, line_of(o.child("name"))));
    c.objectives.push_back(spec);
  }

  // Constraints.
  YAML::Node constraints = top.child("constraints");
  if (constraints && !constraints.IsNull()) {
    if (!constraints.IsSequence())
      top.fail("constraints", "expected a list like [\"lat_ms_pixel3 <= 15\"]" + line_of(constraints));
    std::set<std::string> seen;
    for (size_t i = 0; i < constraints.size(); ++i) {
      std::string key = fmt::format("constraints[{}]", i);
      if (!constraints[i].IsScalar())
        top.fail(key, "expected a string like \"lat_ms_pixel3 <= 15\"" + line_of(constraints[i]));
      try {
        c.constraints.push_back(MetricConstraint::parse(constraints[i].Scalar()));
      } catch (const ConfigError& e) {
        top.fail(key, e.what() + line_of(constraints[i]));
      }
      if (!seen.insert(c.constraints.back().to_string()).second)
        top.fail(key, "declared twice" + line_of(constraints[i]));
    }
  }

  // Evaluator.
  {
    Section e(top.child("evaluator"), "evaluator", source);
    auto& ev = c.evaluator;
    e.get("type", &ev.type);
    e.get("checkpoint", &ev.checkpoint);
    e.get("rlm_config", &ev.rlm_config);
    e.get("budget", &ev.budget);
    e.get("device", &ev.device);
    e.get("samples", &ev.samples);
    e.get("rounds", &ev.rounds);
    e.get("initial", &ev.initial);
    e.get("refit_steps", &ev.refit_steps);
    std::string statistic;
    if (e.get("statistic", &statistic)) {
      try {
        ev.statistic = parse_statistic(statistic);
      } catch (const ConfigError& err) {
        e.fail(e.full("statistic"), err.what() + line_of(e.child("statistic")));
      }
    }
    e.finish();
    e.require(ev.type == "rlm" || ev.type == "table", "type",
              fmt::format("unknown evaluator '{}'; expected 'rlm' or 'table'", ev.type));
    if (ev.type == "rlm") {
      e.require(!ev.checkpoint.empty(), "checkpoint", "the rlm evaluator needs a checkpoint directory");
      e.require(ev.budget >= 1, "budget", fmt::format("must be >= 1, got {}", ev.budget));
      e.require(ev.samples >= -1, "samples",
                fmt::format("must be >= 0 (or -1 = the checkpoint's), got {}", ev.samples));
      e.require(ev.rounds >= 1, "rounds", fmt::format("must be >= 1, got {}", ev.rounds));
      if (ev.rounds > 1) {
        e.require(ev.initial >= 1 && ev.initial < ev.budget, "initial",
                  fmt::format("with rounds > 1 must be in [1, budget - 1] = [1, {}], got {}", ev.budget - 1,
                              ev.initial));
        e.require((ev.budget - ev.initial) >= ev.rounds - 1, "rounds",
                  fmt::format("{} rounds need at least one architecture to label per round after the first; "
                              "budget - initial = {}",
                              ev.rounds, ev.budget - ev.initial));
        e.require(ev.refit_steps >= 1, "refit_steps", fmt::format("must be >= 1, got {}", ev.refit_steps));
        e.require(!c.table.empty(), "rounds", "active learning (rounds > 1) labels architectures from the `table`");
      }
    }
    if (ev.type == "table") e.require(!c.table.empty(), "type", "the table evaluator needs a `table`");
  }
  top.finish();

  top.require(c.nsga2.population_size >= 2, "population",
              fmt::format("must be >= 2, got {}", c.nsga2.population_size));
  top.require(c.nsga2.generations >= 1, "generations", fmt::format("must be >= 1, got {}", c.nsga2.generations));
  top.require(c.nsga2.crossover_prob >= 0 && c.nsga2.crossover_prob <= 1, "crossover_prob",
              fmt::format("must be in [0, 1], got {}", c.nsga2.crossover_prob));
  top.require(c.nsga2.mutation_prob >= 0 && c.nsga2.mutation_prob <= 1, "mutation_prob",
              fmt::format("must be in [0, 1], got {}", c.nsga2.mutation_prob));
  top.require(c.threads >= 0, "threads", fmt::format("must be >= 0 (0 = all cores), got {}", c.threads));
  top.require(!c.output.empty(), "output", "must name the results folder");
  top.require(!c.arch_column.empty(), "arch_column", "must not be empty");
  return c;
}

SearchConfig load_search_config(const std::string& path) {
  std::string text;
  try {
    text = read_file(path);
  } catch (const Error& e) {
    throw ConfigError(e.what());
  }
  return parse_search_config(text, path);
}

}  // namespace nas::search
