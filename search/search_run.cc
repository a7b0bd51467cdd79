#include "search/search_run.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io.h"
#include "core/progress.h"
#include "search/crowding_distance.h"
#include "search/exact_front.h"
#include "search/graph_cost_source.h"
#include "search/hypervolume.h"
#include "search/indicators.h"
#include "search/non_dominated_sort.h"
#include "search/table_source.h"

namespace nas::search {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kCheckpointFormat = "nas-search-checkpoint";
constexpr int kCheckpointVersion = 2;  // 2: active-learning rounds

// One evaluated genotype, as the checkpoint keeps it.
struct LogEntry {
  int round = 0;       // 0-based active-learning round
  int generation = 0;  // 1-based: the tell() of its round that received it
  spaces::Genotype genotype;
  std::vector<Estimate> estimates;  // per metric
};

// Exact values of every metric an exact source knows, cached per genotype (they never change).
class Truth {
 public:
  Truth(const std::vector<std::string>& metrics, const std::vector<MetricSource*>& exact_sources)
      : metrics_(metrics), source_of_(metrics.size(), nullptr) {
    for (size_t j = 0; j < metrics.size(); ++j)
      for (auto* s : exact_sources)
        if (s->provides(metrics[j])) {
          source_of_[j] = s;
          break;
        }
  }
  bool complete() const {
    return std::all_of(source_of_.begin(), source_of_.end(), [](auto* s) { return s != nullptr; });
  }
  bool any() const {
    return std::any_of(source_of_.begin(), source_of_.end(), [](auto* s) { return s != nullptr; });
  }
  // [xs.size()][metrics]; NaN where unknown.
  std::vector<std::vector<double>> values(const std::vector<spaces::Genotype>& xs) {
    std::vector<spaces::Genotype> missing;
    for (const auto& x : xs)
      if (!cache_.count(x.genes) && std::find_if(missing.begin(), missing.end(), [&](const auto& m) {
                                      return m.genes == x.genes;
                                    }) == missing.end())
        missing.push_back(x);
    if (!missing.empty()) {
      std::vector<std::vector<double>> rows(missing.size(), std::vector<double>(metrics_.size(), std::nan("")));
      std::vector<MetricSource*> done;
      for (size_t j = 0; j < metrics_.size(); ++j) {
        MetricSource* s = source_of_[j];
        if (!s || std::find(done.begin(), done.end(), s) != done.end()) continue;
        done.push_back(s);
        std::vector<std::string> asked;
        std::vector<size_t> cols;
        for (size_t k = 0; k < metrics_.size(); ++k)
          if (source_of_[k] == s) {
            asked.push_back(metrics_[k]);
            cols.push_back(k);
          }
        auto est = s->estimate(missing, asked);
        for (size_t i = 0; i < missing.size(); ++i)
          for (size_t c = 0; c < cols.size(); ++c) rows[i][cols[c]] = est[i][c].median;
      }
      for (size_t i = 0; i < missing.size(); ++i) cache_[missing[i].genes] = std::move(rows[i]);
    }
    std::vector<std::vector<double>> out;
    for (const auto& x : xs) out.push_back(cache_.at(x.genes));
    return out;
  }

 private:
  std::vector<std::string> metrics_;
  std::vector<MetricSource*> source_of_;
  std::map<std::vector<int>, std::vector<double>> cache_;
};

// Hypervolume of points given in the problem's directions.
double hv(const ObjectiveMatrix& points, const std::vector<double>& reference,
          const std::vector<Direction>& dirs) {
  if (points.empty()) return 0.0;
  return hypervolume(to_minimized(points, dirs), to_minimized(reference, dirs));
}

std::string quantile_name(double q) {
  if (q == 0.5) return "median";
  return fmt::format("{:g}th percentile", q * 100.0);
}

// Everything run_search() keeps between generations.
struct RunState {
  int round = 0;                                // current active-learning round (0-based)
  std::vector<std::vector<int>> queried;        // genes labelled by active learning, in labelling order
  std::vector<LogEntry> log;
  std::vector<HistoryRow> history;
  double seconds_before = 0.0;  // wall time of earlier sessions
};

Json run_identity(const SearchConfig& config, const std::vector<std::string>& metrics) {
  return Json{{"space", config.space},
              {"evaluator", config.evaluator.type},
              {"statistic", to_string(config.evaluator.statistic)},
              {"checkpoint", config.evaluator.type == "rlm" ? config.evaluator.checkpoint : ""},
              {"rounds", config.evaluator.type == "rlm" ? config.evaluator.rounds : 1},
              {"initial", config.evaluator.type == "rlm" ? config.evaluator.first_training_size() : 0},
              {"table", config.table},
              {"metrics", metrics}};
}

std::string checkpoint_text(const Nsga2& algorithm, const RunState& state, const Json& identity, double seconds) {
  Json j;
  j["format"] = kCheckpointFormat;
  j["version"] = kCheckpointVersion;
  j["run"] = identity;
  j["seconds"] = seconds;
  j["round"] = state.round;
  j["queried"] = state.queried;
  j["nsga2"] = Json::parse(algorithm.save_state());
  Json evals = Json::array();
  for (const auto& e : state.log) {
    Json est = Json::array();
    for (const auto& x : e.estimates) est.push_back({x.median, x.p10, x.p90});
    evals.push_back(
        {{"round", e.round}, {"generation", e.generation}, {"genes", e.genotype.genes}, {"estimates", est}});
  }
  j["evaluations"] = std::move(evals);
  Json hist = Json::array();
  for (const auto& h : state.history) {
    hist.push_back({{"generation", h.generation},
                    {"evaluations", h.evaluations},
                    {"front_size", h.front_size},
                    {"hv_search", h.hv_search},
                    {"hv_true", std::isnan(h.hv_true) ? Json(nullptr) : Json(h.hv_true)},
                    {"seconds", h.seconds}});
  }
  j["history"] = std::move(hist);
  // One top-level field per line, one evaluation per line.
  std::string out = "{\n";
  size_t index = 0;
  for (const auto& [key, value] : j.items()) {
    out += "  " + Json(key).dump() + ": ";
    if (value.is_array() && !value.empty() && (key == "evaluations" || key == "history" || key == "queried")) {
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

// Restores the algorithm of the checkpoint's round (made by `algorithm_for(round)`) and `state` from a
// checkpoint file; throws nas::CheckpointError naming the file and the field at fault.
void load_checkpoint(const std::string& path, const Json& identity, size_t num_metrics,
                     const spaces::SearchSpace& space, int generations_per_round,
                     const std::function<Nsga2&(int round)>& algorithm_for, RunState& state) {
  auto fail = [&](const std::string& field, const std::string& why) {
    throw CheckpointError(fmt::format("{}: field '{}': {}", path, field, why));
  };
  std::string text;
  try {
    text = read_file(path);
  } catch (const Error& e) {
    throw CheckpointError(e.what());
  }
  Json j;
  try {
    j = Json::parse(text);
  } catch (const Json::exception& e) {
    throw CheckpointError(fmt::format("{}: not valid JSON: {}", path, e.what()));
  }
  if (!j.is_object()) fail("(top level)", "expected a JSON object");
  if (j.value("format", "") != kCheckpointFormat)
    fail("format", fmt::format("expected \"{}\"", kCheckpointFormat));
  if (j.value("version", 0) != kCheckpointVersion)
    fail("version", fmt::format("this build reads version {}", kCheckpointVersion));
  if (!j.contains("run") || j["run"] != identity)
    fail("run", fmt::format("the checkpoint is of another run ({}; this run: {}); remove it or use another output",
                            j.contains("run") ? j["run"].dump() : "missing", identity.dump()));
  if (!j.contains("nsga2") || !j["nsga2"].is_object()) fail("nsga2", "missing");
  RunState loaded;
  try {
    loaded.seconds_before = j.at("seconds").get<double>();
    loaded.round = j.at("round").get<int>();
    if (loaded.round < 0 || loaded.round >= identity.at("rounds").get<int>())
      fail("round", fmt::format("{} is not a round of this run ({} rounds)", loaded.round,
                                identity.at("rounds").get<int>()));
    for (const auto& g : j.at("queried")) {
      loaded.queried.push_back(g.get<std::vector<int>>());
      space.validate(spaces::Genotype{loaded.queried.back()});
    }
    for (const auto& e : j.at("evaluations")) {
      LogEntry entry;
      entry.round = e.at("round").get<int>();
      if (entry.round < 0 || entry.round > loaded.round) fail("evaluations", "an entry of a later round");
      entry.generation = e.at("generation").get<int>();
      entry.genotype.genes = e.at("genes").get<std::vector<int>>();
      space.validate(entry.genotype);
      for (const auto& x : e.at("estimates")) {
        auto v = x.get<std::vector<double>>();
        if (v.size() != 3) fail("evaluations", "an estimate is not [median, p10, p90]");
        entry.estimates.push_back({v[0], v[1], v[2]});
      }
      if (entry.estimates.size() != num_metrics)
        fail("evaluations", fmt::format("{} estimates per genotype, this run has {} metrics",
                                        entry.estimates.size(), num_metrics));
      loaded.log.push_back(std::move(entry));
    }
    for (const auto& h : j.at("history")) {
      HistoryRow row;
      row.generation = h.at("generation").get<int>();
      row.evaluations = h.at("evaluations").get<int64_t>();
      row.front_size = h.at("front_size").get<size_t>();
      row.hv_search = h.at("hv_search").get<double>();
      row.hv_true = h.at("hv_true").is_null() ? std::nan("") : h.at("hv_true").get<double>();
      row.seconds = h.at("seconds").get<double>();
      loaded.history.push_back(row);
    }
  } catch (const Json::exception& e) {
    throw CheckpointError(fmt::format("{}: malformed: {}", path, e.what()));
  } catch (const SpaceError& e) {
    fail("evaluations", e.what());
  }
  Nsga2& algorithm = algorithm_for(loaded.round);
  algorithm.restore_state(j["nsga2"].dump(), path + " (nsga2)");
  const int generations = loaded.round * generations_per_round + algorithm.generation();
  if (static_cast<int>(loaded.history.size()) != generations)
    fail("history", fmt::format("{} rows for generation {}", loaded.history.size(), generations));
  const auto this_round = std::count_if(loaded.log.begin(), loaded.log.end(),
                                        [&](const LogEntry& e) { return e.round == loaded.round; });
  if (this_round != algorithm.evaluations())
    fail("evaluations", fmt::format("{} entries of round {} for {} evaluations", this_round, loaded.round,
                                    algorithm.evaluations()));
  state = std::move(loaded);
}

}  // namespace

SearchResult run_search(const SearchConfig& config, const SearchRunOptions& options) {
  using Clock = std::chrono::steady_clock;
  auto space = spaces::make_space(config.space);
  const auto directions = [&] {
    std::vector<Direction> d;
    for (const auto& o : config.objectives) d.push_back(o.direction);
    return d;
  }();

  // Exact sources: the benchmark table (true values) and the ONNX graph (params / FLOPs).
  std::unique_ptr<TableSource> table;
  if (!config.table.empty())
    table = std::make_unique<TableSource>(*space, config.table_path(), config.arch_column);
  GraphCostSource costs(*space, config.dataset);
  std::vector<MetricSource*> exact_sources;
  if (table) exact_sources.push_back(table.get());
  exact_sources.push_back(&costs);

  SearchResult result;
  result.output = config.output;
  result.objectives = config.problem_objectives();
  result.constraints = config.constraints;

  PredictorSource predictor;
  std::vector<MetricSource*> search_sources = exact_sources;
  if (config.evaluator.type == "rlm") {
    if (!options.predictor)
      throw ConfigError(
          fmt::format("{}: evaluator.type: 'rlm' needs a build with the LibTorch predictor "
                      "(NAS_BUILD_PREDICTOR=ON); use 'table' otherwise",
                      config.source));
    predictor = options.predictor(config, *space);
    NAS_CHECK(predictor.source != nullptr, "the predictor factory returned no source");
    result.predictor = predictor.info;
    search_sources = {&costs, predictor.source.get()};
  }
  // Every metric needs a source; name the config key at fault.
  auto check_served = [&](const std::string& metric, const std::string& key) {
    std::vector<std::string> names;
    for (auto* s : search_sources) {
      if (s->provides(metric)) return;
      names.push_back(s->describe());
    }
    throw ConfigError(fmt::format("{}: {}: no evaluator provides metric '{}' (sources: {})", config.source, key,
                                  metric, fmt::join(names, "; ")));
  };
  for (size_t j = 0; j < config.objectives.size(); ++j)
    check_served(config.objectives[j].name, fmt::format("objectives[{}].name", j));
  for (size_t k = 0; k < config.constraints.size(); ++k)
    check_served(config.constraints[k].metric, fmt::format("constraints[{}]", k));
  Problem problem(*space, config.problem_objectives(), config.constraint_names());
  MetricEvaluator evaluator(config.problem_objectives(), config.constraints, search_sources,
                            config.evaluator.statistic);
  result.metrics = evaluator.metrics();
  result.evaluator = evaluator.describe();
  result.exact_evaluator = evaluator.exact();
  Truth truth(result.metrics, exact_sources);

  // Hypervolume reference point, from the table unless fixed in the config.
  std::vector<std::string> notes;
  for (size_t j = 0; j < config.objectives.size(); ++j) {
    const auto& o = config.objectives[j];
    if (o.reference.fixed) {
      result.reference.push_back(o.reference.value);
      notes.push_back(fmt::format("{} = {:g} (fixed in the config)", o.name, o.reference.value));
      continue;
    }
    if (!table || !table->provides(o.name))
      throw ConfigError(
          fmt::format("{}: objectives[{}].reference: no table column '{}' to take the {} from; "
                      "give the reference value as a number",
                      config.source, j, o.name, quantile_name(o.reference.quantile)));
    double r = quantile(table->table().numbers(o.name), o.reference.quantile);
    result.reference.push_back(r);
    notes.push_back(fmt::format("{} = {:.6g} ({} over the {} rows of {})", o.name, r,
                                quantile_name(o.reference.quantile), table->table().rows(), config.table));
  }
  result.reference_note = fmt::format("{}", fmt::join(notes, "; "));

  // The exact front, by enumeration.
  result.hv_exact = std::nan("");
  if (options.exact_front && space->size() && truth.complete()) {
    MetricEvaluator exact_eval(config.problem_objectives(), config.constraints, exact_sources, Statistic::kMedian);
    result.exact = exact_front(problem, exact_eval);
    result.hv_exact = hv(result.exact->objectives, result.reference, directions);
  }

  // Active learning: rounds of NSGA-II, labelling the best unlabelled predictions between rounds.
  const int rounds = config.evaluator.type == "rlm" ? static_cast<int>(config.evaluator.rounds) : 1;
  const bool active = rounds > 1;
  if (active) {
    if (!truth.complete())
      throw ConfigError(fmt::format("{}: evaluator.rounds: active learning labels architectures from the table, "
                                    "which lacks some of the metrics [{}]",
                                    config.source, fmt::join(result.metrics, ", ")));
    if (!predictor.refit || !predictor.save || !predictor.load)
      throw ConfigError(fmt::format("{}: evaluator.rounds: this predictor cannot be refit (no active learning)",
                                    config.source));
  }
  const int64_t per_round =
      active ? (config.evaluator.budget - config.evaluator.initial) / (config.evaluator.rounds - 1) : 0;
  const int generations_per_round = config.nsga2.generations;
  result.rounds = rounds;

  // The algorithm, fresh or from the checkpoint; a fresh one (seed + round) per round.
  const std::string checkpoint = (std::filesystem::path(config.output) / "checkpoint.json").string();
  const Json identity = run_identity(config, result.metrics);
  std::optional<Nsga2> algorithm;
  auto algorithm_for = [&](int round) -> Nsga2& {
    Nsga2Options o = config.nsga2;
    o.seed = config.nsga2.seed + static_cast<uint64_t>(round);
    algorithm.emplace(problem, o);
    return *algorithm;
  };
  auto round_model = [&](int round) {
    return (std::filesystem::path(config.output) / fmt::format("rlm_round_{}", round)).string();
  };
  RunState state;
  if (options.resume && std::filesystem::exists(checkpoint)) {
    load_checkpoint(checkpoint, identity, result.metrics.size(), *space, generations_per_round, algorithm_for,
                    state);
    result.resumed = true;
    if (state.round > 0) predictor.load(round_model(state.round));
    if (options.progress)
      fmt::print(stderr, "search: resumed {} at round {}/{}, generation {}/{}\n", checkpoint, state.round + 1,
                 rounds, algorithm->generation(), config.nsga2.generations);
  } else {
    algorithm_for(0);
    if (std::filesystem::exists(checkpoint) && options.progress)
      fmt::print(stderr, "search: starting afresh; overwriting {} (use --resume to continue it)\n", checkpoint);
  }

  // The labelled architectures (active learning): the predictor's training set, then the queried ones.
  std::vector<spaces::Genotype> labelled;
  std::set<std::vector<int>> is_labelled;
  auto add_labelled = [&](const spaces::Genotype& g) {
    if (is_labelled.insert(g.genes).second) labelled.push_back(g);
  };
  if (active) {
    for (const auto& g : predictor.info.labelled_set) add_labelled(g);
    for (const auto& genes : state.queried) add_labelled(spaces::Genotype{genes});
  }
  // Labelled architectures are evaluated by their true values (every metric).
  auto true_estimates = [&](const std::vector<spaces::Genotype>& xs) {
    std::vector<std::vector<Estimate>> out;
    for (const auto& row : truth.values(xs)) {
      std::vector<Estimate> est;
      for (double v : row) est.push_back({v, v, v});
      out.push_back(std::move(est));
    }
    return out;
  };

  // Estimates per genotype (genes) in the current round, from the log of earlier sessions.
  std::map<std::vector<int>, std::vector<Estimate>> estimated;
  auto start_round_cache = [&] {
    estimated.clear();
    if (!active) return;
    auto rows = true_estimates(labelled);
    for (size_t i = 0; i < labelled.size(); ++i) estimated.emplace(labelled[i].genes, std::move(rows[i]));
  };
  start_round_cache();
  {
    std::set<std::pair<int, std::vector<int>>> seen;  // the evaluator estimates a genotype once per round
    for (const auto& e : state.log) {
      if (seen.insert({e.round, e.genotype.genes}).second && !is_labelled.count(e.genotype.genes))
        ++result.estimated;
      if (e.round == state.round) estimated.emplace(e.genotype.genes, e.estimates);
    }
  }

  // Front members of the archive (feasible ones if any), with their truth.
  auto archive_front = [&](const Nsga2& a) {
    std::vector<const Individual*> members;
    for (const auto& ind : a.archive())
      if (ind.violation <= 0.0) members.push_back(&ind);
    if (members.empty())
      for (const auto& ind : a.archive()) members.push_back(&ind);
    return members;
  };
  // Hypervolume of the true values of `xs` (truly infeasible ones do not count).
  auto true_points = [&](const std::vector<spaces::Genotype>& xs, std::vector<size_t>* kept = nullptr) {
    ObjectiveMatrix points;
    auto values = truth.values(xs);
    for (size_t i = 0; i < values.size(); ++i) {
      const auto& row = values[i];
      std::vector<Estimate> est;
      for (double v : row) est.push_back({v, v, v});
      Evaluation e = evaluator.to_evaluation(est);              // median statistic of exact values = the values
      if (constraint_violation(e.constraints) > 0.0) continue;  // truly infeasible members do not count
      points.push_back(
          std::vector<double>(row.begin(), row.begin() + static_cast<long>(config.objectives.size())));
      if (kept) kept->push_back(i);
    }
    return points;
  };
  auto true_hv = [&](const std::vector<const Individual*>& members) {
    if (!truth.complete() || members.empty()) return truth.complete() ? 0.0 : std::nan("");
    std::vector<spaces::Genotype> xs;
    for (const auto* m : members) xs.push_back(m->genotype);
    return hv(true_points(xs), result.reference, directions);
  };

  // The next round's labels: the round's best unlabelled predictions, by constrained non-dominated rank,
  // then crowding distance (largest first), then first estimate (the map's genes order breaks ties).
  auto select_queries = [&](int64_t count) {
    std::vector<spaces::Genotype> candidates;
    ObjectiveMatrix f;
    std::vector<double> cv;
    for (const auto& [genes, est] : estimated) {
      if (is_labelled.count(genes)) continue;
      Evaluation e = evaluator.to_evaluation(est);
      candidates.push_back(spaces::Genotype{genes});
      f.push_back(to_minimized(e.objectives, directions));
      cv.push_back(config.constraints.empty() ? 0.0 : constraint_violation(e.constraints));
    }
    std::vector<spaces::Genotype> chosen;
    for (const auto& front : constrained_non_dominated_fronts(f, cv)) {
      if (static_cast<int64_t>(chosen.size()) >= count) break;
      std::vector<int> order = front;
      if (static_cast<int64_t>(chosen.size() + front.size()) > count) {
        auto crowd = crowding_distance(f, front);
        std::vector<size_t> idx(front.size());
        for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
        std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return crowd[a] > crowd[b]; });
        order.clear();
        for (size_t i : idx) order.push_back(front[i]);
      }
      for (int i : order) {
        if (static_cast<int64_t>(chosen.size()) >= count) break;
        chosen.push_back(candidates[static_cast<size_t>(i)]);
      }
    }
    return chosen;
  };

  // Counts this session's generations, so that the rate and ETA stay right after a resume.
  const int total_generations = rounds * generations_per_round;
  auto global_generation = [&] { return state.round * generations_per_round + algorithm->generation(); };
  int first_generation = global_generation();  // where the current progress line started
  std::optional<Progress> progress;
  if (options.progress)
    progress.emplace("search", std::max(0, total_generations - first_generation), "gen");
  auto session_start = Clock::now();
  auto elapsed = [&] {
    return state.seconds_before + std::chrono::duration<double>(Clock::now() - session_start).count();
  };
  bool stopped = false;
  while (!stopped) {
    if (algorithm->done()) {
      if (state.round + 1 >= rounds) break;
      // Label the round's best unlabelled predictions, refit the predictor, start the next round.
      auto queries = select_queries(per_round);
      for (const auto& q : queries) {
        state.queried.push_back(q.genes);
        add_labelled(q);
      }
      if (progress) progress->finish();
      auto values = truth.values(labelled);
      if (options.progress) {
        double labelled_hv = hv(true_points(labelled), result.reference, directions);
        std::string ratio = !std::isnan(result.hv_exact) && result.hv_exact > 0
                                ? fmt::format(" ({:.3f} of exact)", labelled_hv / result.hv_exact)
                                : "";
        fmt::print(stderr,
                   "search: round {}/{} done; labelled {} of its predictions (now {}; their true front: hv={:.4g}{}); "
                   "refitting\n",
                   state.round + 1, rounds, queries.size(), labelled.size(), labelled_hv, ratio);
      }
      predictor.refit(labelled, values, result.metrics);
      predictor.save(round_model(state.round + 1));
      ++state.round;
      algorithm_for(state.round);
      start_round_cache();
      write_file_atomic(checkpoint, checkpoint_text(*algorithm, state, identity, elapsed()));
      first_generation = global_generation();
      if (options.progress) progress.emplace("search", std::max(0, total_generations - first_generation), "gen");
      continue;
    }
    std::vector<spaces::Genotype> xs = algorithm->ask();
    // Only genotypes never estimated before in this round go to the evaluator (NSGA-II re-proposes earlier
    // cells: ~40% of NB201 offspring); the others reuse their first estimate, so a genotype keeps one value
    // for the round. The cache is rebuilt from the checkpoint's log on resume, which keeps resumed runs exact.
    std::vector<spaces::Genotype> fresh;
    for (const auto& x : xs)
      if (!estimated.count(x.genes) &&
          std::none_of(fresh.begin(), fresh.end(), [&](const auto& f) { return f.genes == x.genes; }))
        fresh.push_back(x);
    if (!fresh.empty()) {
      auto rows = evaluator.estimate(fresh);
      for (size_t i = 0; i < fresh.size(); ++i) estimated.emplace(fresh[i].genes, std::move(rows[i]));
      result.estimated += static_cast<int64_t>(fresh.size());
    }
    ObjectiveMatrix objectives, constraints;
    for (const auto& x : xs) {
      Evaluation e = evaluator.to_evaluation(estimated.at(x.genes));
      objectives.push_back(std::move(e.objectives));
      if (!config.constraints.empty()) constraints.push_back(std::move(e.constraints));
    }
    algorithm->tell(xs, objectives, constraints);
    for (const auto& x : xs)
      state.log.push_back({state.round, algorithm->generation(), x, estimated.at(x.genes)});

    auto members = archive_front(*algorithm);
    HistoryRow row;
    row.generation = global_generation();
    row.evaluations = algorithm->evaluations();
    for (const auto& h : state.history)
      if (h.generation == state.round * generations_per_round) row.evaluations += h.evaluations;
    row.front_size = members.size();
    ObjectiveMatrix searched;
    for (const auto* m : members)
      if (m->violation <= 0.0) searched.push_back(m->objectives);
    row.hv_search = hv(searched, result.reference, directions);
    row.hv_true = true_hv(members);
    row.seconds = elapsed();
    state.history.push_back(row);
    write_file_atomic(checkpoint, checkpoint_text(*algorithm, state, identity, row.seconds));

    std::string status = fmt::format("front={} hv={:.4g}", row.front_size, row.hv_search);
    if (!std::isnan(row.hv_true)) status += fmt::format(" hv_true={:.4g}", row.hv_true);
    if (!std::isnan(result.hv_exact) && result.hv_exact > 0 && !std::isnan(row.hv_true))
      status += fmt::format(" ({:.3f} of exact)", row.hv_true / result.hv_exact);
    if (progress) {
      std::string where = rounds > 1 ? fmt::format("round {}/{} ", state.round + 1, rounds) : "";
      progress->update(global_generation() - first_generation,
                       fmt::format("{}gen {}/{}  {}", where, algorithm->generation(), config.nsga2.generations,
                                   status));
    }
    if (options.on_generation && !options.on_generation(*algorithm)) stopped = true;
  }
  if (progress) progress->finish();

  // The final front: the archive of the last round, or (active learning) the true front of the labelled set.
  if (active) {
    std::vector<size_t> kept;
    ObjectiveMatrix points = true_points(labelled, &kept);
    std::vector<spaces::Genotype> members;
    for (int i : non_dominated_indices(to_minimized(points, directions)))
      members.push_back(labelled[kept[static_cast<size_t>(i)]]);
    auto predicted = evaluator.estimate(members);  // the final model's view of them, for pareto.csv
    auto values = truth.values(members);
    for (size_t i = 0; i < members.size(); ++i) {
      FrontMember f;
      f.genotype = members[i];
      f.arch = space->format(members[i]);
      std::vector<Estimate> exact;
      for (double v : values[i]) exact.push_back({v, v, v});
      f.objectives = evaluator.to_evaluation(exact).objectives;
      f.estimates = predicted[i];
      f.truth = values[i];
      result.front.push_back(std::move(f));
    }
    result.labelled_front = true;
    result.queried = static_cast<int64_t>(state.queried.size());
    result.predictor.labelled = static_cast<int64_t>(labelled.size());
  } else {
    for (const auto* m : archive_front(*algorithm)) {
      FrontMember f;
      f.genotype = m->genotype;
      f.arch = space->format(m->genotype);
      f.objectives = m->objectives;
      f.violation = m->violation;
      auto found = estimated.find(m->genotype.genes);
      NAS_CHECK(found != estimated.end(), "front member {} missing from the evaluation log", f.arch);
      f.estimates = found->second;
      result.front.push_back(std::move(f));
    }
    std::vector<spaces::Genotype> xs;
    for (const auto& f : result.front) xs.push_back(f.genotype);
    auto values = truth.any() ? truth.values(xs)
                              : std::vector<std::vector<double>>(
                                    xs.size(), std::vector<double>(result.metrics.size(), std::nan("")));
    for (size_t i = 0; i < xs.size(); ++i) result.front[i].truth = values[i];
  }
  std::stable_sort(result.front.begin(), result.front.end(), [&](const FrontMember& a, const FrontMember& b) {
    return to_minimized(a.objectives, directions) < to_minimized(b.objectives, directions);
  });
  for (const auto& e : state.log) result.evaluated.push_back(evaluator.to_evaluation(e.estimates).objectives);
  result.history = state.history;
  result.generations_done = global_generation();
  result.evaluations = static_cast<int64_t>(state.log.size());
  result.finished = algorithm->done() && state.round + 1 >= rounds;
  result.seconds = elapsed();
  if (active) {
    ObjectiveMatrix pts;
    for (const auto& f : result.front)
      pts.push_back(std::vector<double>(f.truth.begin(), f.truth.begin() + static_cast<long>(config.objectives.size())));
    result.hv_true = result.hv_search = hv(pts, result.reference, directions);
  } else if (!state.history.empty()) {
    result.hv_search = state.history.back().hv_search;
    result.hv_true = state.history.back().hv_true;
  } else {
    result.hv_search = 0.0;
    result.hv_true = std::nan("");
  }
  result.igd_plus_true = std::nan("");
  if (result.exact && !result.exact->objectives.empty() && truth.complete() && !result.front.empty()) {
    ObjectiveMatrix found;
    for (const auto& f : result.front)
      found.push_back(
          std::vector<double>(f.truth.begin(), f.truth.begin() + static_cast<long>(config.objectives.size())));
    result.igd_plus_true =
        igd_plus(to_minimized(found, directions), to_minimized(result.exact->objectives, directions));
  }
  if (options.write_results) write_results(result, config, *space);
  return result;
}

}  // namespace nas::search
