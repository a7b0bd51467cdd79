#include "search/nsga2.h"

#include <cmath>
#include <filesystem>
#include <limits>
#include <unordered_set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io.h"
#include "search/dominance.h"
#include "search/survival.h"

namespace nas::search {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kStateFormat = "nas-nsga2-state";
constexpr int kStateVersion = 1;

void check_finite(const std::vector<double>& row, const char* what, size_t index) {
  for (size_t j = 0; j < row.size(); ++j)
    if (!std::isfinite(row[j]))
      throw Error(fmt::format("Nsga2::tell: {} {} of row {} is {}", what, j, index, row[j]));
}

// Reads a saved state, naming the source and the field in every error.
class StateReader {
 public:
  explicit StateReader(const std::string& source) : source_(source) {}

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw CheckpointError(fmt::format("{}: field '{}': {}", source_, field, what));
  }

  const Json& field(const Json& obj, const std::string& key, const std::string& path) const {
    std::string full = path.empty() ? key : path + "." + key;
    if (!obj.is_object()) fail(path.empty() ? "(top level)" : path, "expected a JSON object");
    auto it = obj.find(key);
    if (it == obj.end()) fail(full, "missing");
    return *it;
  }
  static std::string child(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

  double number(const Json& j, const std::string& path) const {
    if (!j.is_number()) fail(path, fmt::format("expected a number, got {}", j.dump()));
    double v = j.get<double>();
    if (!std::isfinite(v)) fail(path, "not finite");
    return v;
  }
  int64_t integer(const Json& j, const std::string& path, int64_t min_value) const {
    if (!j.is_number_integer()) fail(path, fmt::format("expected an integer, got {}", j.dump()));
    if (j.is_number_unsigned() && j.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      fail(path, "too large");
    int64_t v = j.get<int64_t>();
    if (v < min_value) fail(path, fmt::format("must be >= {}, got {}", min_value, j.dump()));
    return v;
  }
  uint64_t unsigned_integer(const Json& j, const std::string& path) const {
    if (!j.is_number_unsigned()) fail(path, fmt::format("expected a non-negative integer, got {}", j.dump()));
    return j.get<uint64_t>();
  }
  std::string string(const Json& j, const std::string& path) const {
    if (!j.is_string()) fail(path, fmt::format("expected a string, got {}", j.dump()));
    return j.get<std::string>();
  }
  const Json& array(const Json& j, const std::string& path) const {
    if (!j.is_array()) fail(path, fmt::format("expected an array, got {}", j.type_name()));
    return j;
  }
  std::vector<double> numbers(const Json& j, const std::string& path, size_t expected_size) const {
    array(j, path);
    if (j.size() != expected_size)
      fail(path, fmt::format("expected {} values, got {}", expected_size, j.size()));
    std::vector<double> out;
    for (size_t i = 0; i < j.size(); ++i) out.push_back(number(j[i], fmt::format("{}[{}]", path, i)));
    return out;
  }

 private:
  std::string source_;
};

Json individual_to_json(const Individual& ind, bool with_rank) {
  Json j;
  j["genes"] = ind.genotype.genes;
  j["objectives"] = ind.objectives;
  j["constraints"] = ind.constraints;
  if (with_rank) {
    j["rank"] = ind.rank;
    if (std::isinf(ind.crowding)) {
      j["crowding"] = "inf";
    } else {
      j["crowding"] = ind.crowding;
    }
  }
  return j;
}

}  // namespace

void validate(const Nsga2Options& options) {
  if (options.population_size < 2)
    throw ConfigError(fmt::format("nsga2.population_size: must be >= 2, got {}", options.population_size));
  if (options.generations < 1)
    throw ConfigError(fmt::format("nsga2.generations: must be >= 1, got {}", options.generations));
  if (!(options.crossover_prob >= 0.0 && options.crossover_prob <= 1.0))
    throw ConfigError(fmt::format("nsga2.crossover_prob: must be in [0, 1], got {}", options.crossover_prob));
  if (!(options.mutation_prob >= 0.0 && options.mutation_prob <= 1.0))
    throw ConfigError(fmt::format("nsga2.mutation_prob: must be in [0, 1], got {}", options.mutation_prob));
}

Nsga2::Nsga2(const Problem& problem, Nsga2Options options, OperatorSet operators)
    : problem_(&problem),
      options_(options),
      operators_(std::move(operators)),
      survival_rng_(derive_seed(options.seed, /*a=*/0, /*b=*/0, /*c=*/1)) {
  validate(options_);
  NAS_CHECK(operators_.sampling && operators_.crossover && operators_.mutation, "incomplete OperatorSet");
}

int Nsga2::tournament(Rng& rng) const {
  const size_t n = population_.size();
  if (n == 1) return 0;
  size_t a = rng.index(n), b = rng.index(n - 1);
  if (b >= a) ++b;
  const Individual& x = population_[a];
  const Individual& y = population_[b];
  if (x.rank != y.rank) return static_cast<int>(x.rank < y.rank ? a : b);
  if (x.crowding != y.crowding) return static_cast<int>(x.crowding > y.crowding ? a : b);
  return static_cast<int>(rng.bernoulli(0.5) ? a : b);
}

spaces::Genotype Nsga2::breed(Rng& rng) const {
  const auto& space = problem_->space();
  const spaces::Genotype& a = population_[tournament(rng)].genotype;
  const spaces::Genotype& b = population_[tournament(rng)].genotype;
  spaces::Genotype child = operators_.crossover->apply(space, a, b, options_.crossover_prob, rng);
  return operators_.mutation->apply(space, child, options_.mutation_prob, rng);
}

std::vector<spaces::Genotype> Nsga2::ask() const {
  const auto& space = problem_->space();
  std::unordered_set<std::string> seen;
  for (const auto& ind : population_) seen.insert(space.canonical(ind.genotype));
  const bool initial = population_.empty();
  std::vector<spaces::Genotype> out;
  out.reserve(options_.population_size);
  for (int i = 0; i < options_.population_size; ++i) {
    Rng rng(derive_seed(options_.seed, static_cast<uint64_t>(generation_), static_cast<uint64_t>(i)));
    spaces::Genotype child;
    std::string key;
    bool fresh = false;
    for (int t = 0; t < kMaxTries && !fresh && !initial; ++t) {
      child = breed(rng);
      key = space.canonical(child);
      fresh = seen.count(key) == 0;
    }
    for (int t = 0; t < kMaxTries && !fresh; ++t) {
      child = operators_.sampling->apply(space, rng);
      key = space.canonical(child);
      fresh = seen.count(key) == 0;
    }
    seen.insert(key);
    out.push_back(std::move(child));
  }
  return out;
}

Individual Nsga2::make_individual(const spaces::Genotype& x, const std::vector<double>& objectives,
                                  const std::vector<double>* constraints, size_t row) const {
  const size_t m = problem_->num_objectives(), k = problem_->num_constraints();
  if (objectives.size() != m)
    throw Error(fmt::format("Nsga2::tell: objective row {} has {} values, the problem has {} objectives", row,
                            objectives.size(), m));
  check_finite(objectives, "objective", row);
  std::vector<double> g = constraints ? *constraints : std::vector<double>{};
  if (g.size() != k)
    throw Error(fmt::format("Nsga2::tell: constraint row {} has {} values, the problem has {} constraints",
                            row, g.size(), k));
  check_finite(g, "constraint", row);
  problem_->space().validate(x);
  Individual ind;
  ind.genotype = x;
  ind.objectives = objectives;
  ind.constraints = std::move(g);
  ind.violation = constraint_violation(ind.constraints);
  return ind;
}

void Nsga2::tell(const std::vector<spaces::Genotype>& xs, const ObjectiveMatrix& objectives,
                 const ObjectiveMatrix& constraints) {
  const size_t n = xs.size();
  if (n == 0) throw Error("Nsga2::tell: empty batch");
  if (objectives.size() != n)
    throw Error(fmt::format("Nsga2::tell: {} genotypes but {} objective rows", n, objectives.size()));
  if (!constraints.empty() && constraints.size() != n)
    throw Error(fmt::format("Nsga2::tell: {} genotypes but {} constraint rows", n, constraints.size()));
  std::vector<Individual> told;
  told.reserve(n);
  for (size_t i = 0; i < n; ++i)
    told.push_back(make_individual(xs[i], objectives[i], constraints.empty() ? nullptr : &constraints[i], i));

  std::vector<Individual> merged = population_;
  merged.insert(merged.end(), told.begin(), told.end());
  ObjectiveMatrix f;
  std::vector<double> cv;
  const auto directions = problem_->directions();
  for (const auto& ind : merged) {
    f.push_back(to_minimized(ind.objectives, directions));
    cv.push_back(ind.violation);
  }
  SurvivalResult s = rank_and_crowding_survival(f, cv, options_.population_size, survival_rng_);
  std::vector<Individual> next;
  next.reserve(s.survivors.size());
  for (size_t k = 0; k < s.survivors.size(); ++k) {
    next.push_back(std::move(merged[s.survivors[k]]));
    next.back().rank = s.rank[k];
    next.back().crowding = s.crowding[k];
  }
  population_ = std::move(next);
  update_archive(told);
  ++generation_;
  evaluations_ += static_cast<int64_t>(n);
}

void Nsga2::update_archive(const std::vector<Individual>& told) {
  const auto& space = problem_->space();
  std::unordered_set<std::string> keys;
  std::vector<Individual> candidates;
  for (const auto& ind : archive_) {
    keys.insert(space.canonical(ind.genotype));
    candidates.push_back(ind);
  }
  for (const auto& ind : told)
    if (keys.insert(space.canonical(ind.genotype)).second) candidates.push_back(ind);
  const auto directions = problem_->directions();
  ObjectiveMatrix f;
  for (const auto& ind : candidates) f.push_back(to_minimized(ind.objectives, directions));
  std::vector<Individual> next;
  for (size_t i = 0; i < candidates.size(); ++i) {
    bool dominated = false;
    for (size_t j = 0; j < candidates.size() && !dominated; ++j)
      dominated =
          j != i && constrained_dominates(f[j], candidates[j].violation, f[i], candidates[i].violation);
    if (dominated) continue;
    next.push_back(std::move(candidates[i]));
    next.back().rank = 0;
    next.back().crowding = 0.0;
  }
  archive_ = std::move(next);
}

std::string Nsga2::save_state() const {
  Json j;
  j["format"] = kStateFormat;
  j["version"] = kStateVersion;
  j["space"] = problem_->space().name();
  j["objectives"] = Json::array();
  for (const auto& o : problem_->objectives())
    j["objectives"].push_back({{"name", o.name}, {"direction", to_string(o.direction)}});
  j["constraints"] = problem_->constraints();
  j["options"] = {{"population_size", options_.population_size},
                  {"crossover_prob", options_.crossover_prob},
                  {"mutation_prob", options_.mutation_prob},
                  {"seed", options_.seed}};
  j["generation"] = generation_;
  j["evaluations"] = evaluations_;
  j["rng"] = survival_rng_.save_state();
  j["population"] = Json::array();
  for (const auto& ind : population_) j["population"].push_back(individual_to_json(ind, /*with_rank=*/true));
  j["archive"] = Json::array();
  for (const auto& ind : archive_) j["archive"].push_back(individual_to_json(ind, /*with_rank=*/false));
  // One top-level field per line and one individual per line: readable and diff-friendly.
  std::string out = "{\n";
  size_t index = 0;
  for (const auto& [key, value] : j.items()) {
    out += "  " + Json(key).dump() + ": ";
    if (value.is_array() && (key == "population" || key == "archive") && !value.empty()) {
      out += "[\n";
      for (size_t i = 0; i < value.size(); ++i)
        out += "    " + value[i].dump() + (i + 1 < value.size() ? ",\n" : "\n");
      out += "  ]";
    } else {
      out += value.dump();
    }
    out += ++index < j.size() ? ",\n" : "\n";
  }
  return out + "}\n";
}

void Nsga2::restore_state(const std::string& json_text, const std::string& source) {
  StateReader r(source);
  Json root;
  try {
    root = Json::parse(json_text);
  } catch (const Json::parse_error& e) {
    throw CheckpointError(fmt::format("{}: not valid JSON: {}", source, e.what()));
  }
  if (!root.is_object()) r.fail("(top level)", "expected a JSON object");
  if (r.string(r.field(root, "format", ""), "format") != kStateFormat)
    r.fail("format", fmt::format("expected \"{}\"", kStateFormat));
  if (r.integer(r.field(root, "version", ""), "version", 0) != kStateVersion)
    r.fail("version", fmt::format("unsupported version (this build reads {})", kStateVersion));

  const auto& space = problem_->space();
  std::string space_name = r.string(r.field(root, "space", ""), "space");
  if (space_name != space.name())
    r.fail("space", fmt::format("state is for space '{}', this run searches '{}'", space_name, space.name()));

  const Json& objectives = r.array(r.field(root, "objectives", ""), "objectives");
  const auto& declared = problem_->objectives();
  if (objectives.size() != declared.size())
    r.fail("objectives",
           fmt::format("state has {} objectives, this run {}", objectives.size(), declared.size()));
  for (size_t i = 0; i < declared.size(); ++i) {
    std::string path = fmt::format("objectives[{}]", i);
    std::string name = r.string(r.field(objectives[i], "name", path), path + ".name");
    std::string dir = r.string(r.field(objectives[i], "direction", path), path + ".direction");
    if (name != declared[i].name || dir != to_string(declared[i].direction))
      r.fail(path, fmt::format("state has '{}' ({}), this run '{}' ({})", name, dir, declared[i].name,
                               to_string(declared[i].direction)));
  }
  const Json& constraints = r.array(r.field(root, "constraints", ""), "constraints");
  std::vector<std::string> constraint_names;
  for (size_t i = 0; i < constraints.size(); ++i)
    constraint_names.push_back(r.string(constraints[i], fmt::format("constraints[{}]", i)));
  if (constraint_names != problem_->constraints())
    r.fail("constraints", fmt::format("state has [{}], this run [{}]", fmt::join(constraint_names, ", "),
                                      fmt::join(problem_->constraints(), ", ")));

  const Json& opts = r.field(root, "options", "");
  if (r.integer(r.field(opts, "population_size", "options"), "options.population_size", 0) !=
      options_.population_size)
    r.fail("options.population_size", fmt::format("does not match this run's {}", options_.population_size));
  if (r.number(r.field(opts, "crossover_prob", "options"), "options.crossover_prob") !=
      options_.crossover_prob)
    r.fail("options.crossover_prob", fmt::format("does not match this run's {}", options_.crossover_prob));
  if (r.number(r.field(opts, "mutation_prob", "options"), "options.mutation_prob") != options_.mutation_prob)
    r.fail("options.mutation_prob", fmt::format("does not match this run's {}", options_.mutation_prob));
  if (r.unsigned_integer(r.field(opts, "seed", "options"), "options.seed") != options_.seed)
    r.fail("options.seed", fmt::format("does not match this run's {}", options_.seed));

  int64_t generation = r.integer(r.field(root, "generation", ""), "generation", 0);
  if (generation > std::numeric_limits<int>::max()) r.fail("generation", "too large");
  int64_t evaluations = r.integer(r.field(root, "evaluations", ""), "evaluations", 0);
  Rng rng;
  try {
    rng.restore_state(r.string(r.field(root, "rng", ""), "rng"));
  } catch (const Error&) {
    r.fail("rng", "malformed random-number-generator state");
  }

  const size_t m = problem_->num_objectives(), k = problem_->num_constraints();
  auto read_individual = [&](const Json& j, const std::string& path, bool with_rank) {
    Individual ind;
    const Json& genes = r.array(r.field(j, "genes", path), path + ".genes");
    for (size_t g = 0; g < genes.size(); ++g) {
      int64_t v = r.integer(genes[g], fmt::format("{}.genes[{}]", path, g), 0);
      if (v > std::numeric_limits<int>::max()) r.fail(fmt::format("{}.genes[{}]", path, g), "too large");
      ind.genotype.genes.push_back(static_cast<int>(v));
    }
    try {
      space.validate(ind.genotype);
    } catch (const SpaceError& e) {
      r.fail(path + ".genes", e.what());
    }
    ind.objectives = r.numbers(r.field(j, "objectives", path), path + ".objectives", m);
    ind.constraints = r.numbers(r.field(j, "constraints", path), path + ".constraints", k);
    ind.violation = constraint_violation(ind.constraints);
    if (with_rank) {
      int64_t rank = r.integer(r.field(j, "rank", path), path + ".rank", 0);
      if (rank > std::numeric_limits<int>::max()) r.fail(path + ".rank", "too large");
      ind.rank = static_cast<int>(rank);
      const Json& c = r.field(j, "crowding", path);
      if (c.is_string() && c.get<std::string>() == "inf") {
        ind.crowding = std::numeric_limits<double>::infinity();
      } else {
        if (!c.is_number())
          r.fail(path + ".crowding", fmt::format("expected a number or \"inf\", got {}", c.dump()));
        ind.crowding = r.number(c, path + ".crowding");
        if (ind.crowding < 0) r.fail(path + ".crowding", "must be >= 0");
      }
    }
    return ind;
  };

  const Json& pop = r.array(r.field(root, "population", ""), "population");
  if (pop.size() > static_cast<size_t>(options_.population_size))
    r.fail("population",
           fmt::format("{} individuals, more than population_size {}", pop.size(), options_.population_size));
  if ((generation == 0) != pop.empty())
    r.fail("population", fmt::format("{} individuals at generation {}", pop.size(), generation));
  std::vector<Individual> population;
  for (size_t i = 0; i < pop.size(); ++i)
    population.push_back(read_individual(pop[i], fmt::format("population[{}]", i), /*with_rank=*/true));
  const Json& arc = r.array(r.field(root, "archive", ""), "archive");
  std::vector<Individual> archive;
  for (size_t i = 0; i < arc.size(); ++i)
    archive.push_back(read_individual(arc[i], fmt::format("archive[{}]", i), /*with_rank=*/false));

  generation_ = static_cast<int>(generation);
  evaluations_ = evaluations;
  survival_rng_ = rng;
  population_ = std::move(population);
  archive_ = std::move(archive);
}

void Nsga2::save(const std::string& path) const { write_file_atomic(path, save_state()); }

void Nsga2::load(const std::string& path) {
  std::string text;
  try {
    text = read_file(path);
  } catch (const Error& e) {
    throw CheckpointError(e.what());
  }
  restore_state(text, path);
}

Nsga2 run_nsga2(const Problem& problem, Evaluator& evaluator, const Nsga2Options& options,
                const Nsga2Callbacks& callbacks, const StateOptions& state, OperatorSet operators) {
  Nsga2 algorithm(problem, options, std::move(operators));
  if (state.resume && !state.path.empty() && std::filesystem::exists(state.path)) algorithm.load(state.path);
  while (!algorithm.done()) {
    std::vector<spaces::Genotype> xs = algorithm.ask();
    Evaluations values = evaluator.evaluate(xs);
    algorithm.tell(xs, values.objectives, values.constraints);
    if (!state.path.empty()) algorithm.save(state.path);
    if (callbacks.on_generation && !callbacks.on_generation(algorithm)) break;
  }
  return algorithm;
}

}  // namespace nas::search
