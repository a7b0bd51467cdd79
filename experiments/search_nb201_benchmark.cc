// Benchmark of the main job (issue 4): NB201, maximise acc_cifar10, minimise lat_ms_pixel3. Three
// methods with the same labelled budget, each front scored with the TRUE table values as the
// hypervolume ratio (found / exact front, the exact front by enumerating all 15,625 cells), with the
// reference point computed from the table (median acc_cifar10, 90th percentile lat_ms_pixel3):
//   - NSGA-II on RLM predictions (the RLM trained on `budget` labelled cells, or loaded from the
//     config's checkpoint), one search per seed; with evaluator.rounds > 1 (active learning) the RLM is
//     trained on `initial` cells and every seed's search labels the rest of the budget itself;
//   - random search: the front of `budget` distinct random cells per seed (their true values), plus
//     the front of the RLM's own labelled cells;
//   - NSGA-II on the true table, the algorithm's ceiling, one search per seed.
// Prints them side by side (mean over the seeds) and writes OUT/benchmark.md; each search writes its
// results folder under OUT/.
//
// Usage: search_nb201_benchmark [CONFIG=configs/search_nb201.yaml] [--seeds N=3] [--out DIR]
//          [--rlm-config FILE] [--checkpoint DIR] [--budget N] [--threads N] [--skip-rlm]
// --rlm-config / --checkpoint / --budget override the config's evaluator (e.g. a tiny RLM config to
// check the plumbing); --skip-rlm runs only the table and random-search parts.

#include <chrono>
#include <cmath>
#include <cstring>
#include <iostream>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <tbb/global_control.h>

#include "core/error.h"
#include "core/io.h"
#include "core/rng.h"
#include "search/hypervolume.h"
#include "search/rlm_source.h"
#include "search/search_config.h"
#include "search/search_run.h"
#include "search/table_source.h"
#include "spaces/search_space.h"

namespace {

using namespace nas;
using namespace nas::search;

// A non-owning view of a source, so that one loaded RLM serves every seed's search.
class BorrowedSource final : public MetricSource {
 public:
  explicit BorrowedSource(MetricSource* inner) : inner_(inner) {}
  std::string describe() const override { return inner_->describe(); }
  bool exact() const override { return inner_->exact(); }
  bool provides(const std::string& metric) const override { return inner_->provides(metric); }
  std::vector<std::vector<Estimate>> estimate(const std::vector<spaces::Genotype>& xs,
                                              const std::vector<std::string>& metrics) override {
    return inner_->estimate(xs, metrics);
  }

 private:
  MetricSource* inner_;
};

// One method's scores over the seeds.
struct Row {
  std::string method, budget;
  std::vector<double> ratios;
  double seconds = 0.0;
};

double mean(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x;
  return v.empty() ? std::nan("") : s / static_cast<double>(v.size());
}

// Hypervolume ratio of the true values of `cells` against the exact front's hypervolume.
double front_ratio(const std::vector<spaces::Genotype>& cells, TableSource& table, const SearchConfig& config,
                   const std::vector<double>& reference, double hv_exact) {
  std::vector<std::string> metrics;
  std::vector<Direction> dirs;
  for (const auto& o : config.objectives) {
    metrics.push_back(o.name);
    dirs.push_back(o.direction);
  }
  auto est = table.estimate(cells, metrics);
  ObjectiveMatrix points;
  for (size_t i = 0; i < cells.size(); ++i) {
    std::vector<double> p;
    for (const auto& e : est[i]) p.push_back(e.median);
    bool feasible = true;
    for (const auto& c : config.constraints) feasible = feasible && c.g(table.value(cells[i], c.metric)) <= 0.0;
    if (feasible) points.push_back(p);
  }
  if (points.empty()) return 0.0;
  return hypervolume(to_minimized(points, dirs), to_minimized(reference, dirs)) / hv_exact;
}

std::string ratios_text(const Row& r, size_t seeds) {
  std::string s;
  for (size_t i = 0; i < seeds; ++i)
    s += i < r.ratios.size() ? fmt::format(" {:>7.4f} |", r.ratios[i]) : "       – |";
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string config_path = "configs/search_nb201.yaml", out = "results/search_nb201_benchmark";
    std::string rlm_config, checkpoint;
    int seeds = 3, threads = -1;
    int64_t budget = -1;
    bool skip_rlm = false;
    for (int i = 1; i < argc; ++i) {
      auto next = [&](const char* flag) -> std::string {
        if (i + 1 >= argc) throw ConfigError(fmt::format("{} needs a value", flag));
        return argv[++i];
      };
      if (!std::strcmp(argv[i], "--seeds"))
        seeds = std::stoi(next("--seeds"));
      else if (!std::strcmp(argv[i], "--out"))
        out = next("--out");
      else if (!std::strcmp(argv[i], "--rlm-config"))
        rlm_config = next("--rlm-config");
      else if (!std::strcmp(argv[i], "--checkpoint"))
        checkpoint = next("--checkpoint");
      else if (!std::strcmp(argv[i], "--budget"))
        budget = std::stoll(next("--budget"));
      else if (!std::strcmp(argv[i], "--threads"))
        threads = std::stoi(next("--threads"));
      else if (!std::strcmp(argv[i], "--skip-rlm"))
        skip_rlm = true;
      else if (argv[i][0] == '-')
        throw ConfigError(fmt::format("unknown option {}", argv[i]));
      else
        config_path = argv[i];
    }
    if (seeds < 1) throw ConfigError("--seeds must be >= 1");
    SearchConfig base = load_search_config(config_path);
    if (!rlm_config.empty()) base.evaluator.rlm_config = rlm_config;
    if (!checkpoint.empty()) base.evaluator.checkpoint = checkpoint;
    if (budget > 0) base.evaluator.budget = budget;
    if (threads >= 0) base.threads = threads;
    if (base.evaluator.checkpoint.empty()) base.evaluator.checkpoint = out + "/rlm";
    base.export_onnx = false;
    const int n_threads =
        base.threads > 0 ? base.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, static_cast<size_t>(n_threads));
    if (base.table.empty())
      throw ConfigError(fmt::format("{}: table: the benchmark needs the table", config_path));

    auto space = spaces::make_space(base.space);
    TableSource table(*space, base.table_path(), base.arch_column);
    std::vector<Row> rows;

    // NSGA-II on the true table: the ceiling. Also gives the reference point and the exact front.
    Row ceiling{"NSGA-II on the true table (ceiling)", ""};
    std::vector<double> reference;
    double hv_exact = 0.0;
    size_t exact_size = 0;
    std::string reference_note;
    for (int s = 0; s < seeds; ++s) {
      SearchConfig c = base;
      c.evaluator.type = "table";
      c.nsga2.seed = static_cast<uint64_t>(s);
      c.output = fmt::format("{}/table_seed{}", out, s);
      SearchRunOptions options;
      auto r = run_search(c, options);
      ceiling.ratios.push_back(r.hv_search / r.hv_exact);
      ceiling.seconds += r.seconds;
      ceiling.budget = fmt::format("{} evaluations", r.evaluations);
      reference = r.reference;
      hv_exact = r.hv_exact;
      exact_size = r.exact ? r.exact->genotypes.size() : 0;
      reference_note = r.reference_note;
    }

    // Random search with the labelled budget.
    Row random{fmt::format("random search ({} random cells)", base.evaluator.budget), ""};
    random.budget = fmt::format("{} labelled", base.evaluator.budget);
    {
      auto t0 = std::chrono::steady_clock::now();
      const uint64_t size = *space->size();
      for (int s = 0; s < seeds; ++s) {
        Rng rng(derive_seed(static_cast<uint64_t>(s), /*a=*/0x52414e44));
        std::set<uint64_t> picked;
        std::vector<spaces::Genotype> cells;
        while (cells.size() < std::min<uint64_t>(size, static_cast<uint64_t>(base.evaluator.budget))) {
          uint64_t i = static_cast<uint64_t>(rng.uniform_int(0, static_cast<int64_t>(size) - 1));
          if (picked.insert(i).second) cells.push_back(space->at(i));
        }
        random.ratios.push_back(front_ratio(cells, table, base, reference, hv_exact));
      }
      random.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }

    // NSGA-II on RLM predictions.
    Row guided{"NSGA-II on RLM predictions", ""};
    Row labelled{"front of the RLM's labelled cells", ""};
    if (!skip_rlm) {
      SearchConfig c = base;
      c.evaluator.type = "rlm";
      PredictorSource rlm = make_rlm_predictor(c, *space);
      if (c.evaluator.rounds > 1)
        guided.method = fmt::format(
            "NSGA-II on RLM predictions, active learning ({} rounds: {} random + {} x {} queried)",
            c.evaluator.rounds, c.evaluator.initial, c.evaluator.rounds - 1,
            (c.evaluator.budget - c.evaluator.initial) / (c.evaluator.rounds - 1));
      guided.budget = labelled.budget = fmt::format("{} labelled", rlm.info.labelled);
      guided.seconds += rlm.info.seconds;
      fmt::print(stderr, "benchmark: RLM {} in {:.1f} s\n", rlm.info.trained ? "trained" : "loaded",
                 rlm.info.seconds);
      if (!rlm.info.labelled_set.empty() && c.evaluator.rounds == 1)
        labelled.ratios.push_back(front_ratio(rlm.info.labelled_set, table, base, reference, hv_exact));
      for (int s = 0; s < seeds; ++s) {
        SearchConfig cs = c;
        cs.nsga2.seed = static_cast<uint64_t>(s);
        cs.output = fmt::format("{}/rlm_seed{}", out, s);
        SearchRunOptions options;
        if (c.evaluator.rounds > 1) {
          // Active learning refits the model: every seed starts from the saved checkpoint.
          options.predictor = make_rlm_predictor;
        } else {
          options.predictor = [&](const SearchConfig&, const spaces::SearchSpace&) {
            PredictorSource p;
            p.source = std::make_unique<BorrowedSource>(rlm.source.get());
            p.info = rlm.info;
            return p;
          };
        }
        auto r = run_search(cs, options);
        if (c.evaluator.rounds > 1) guided.budget = fmt::format("{} labelled", r.predictor.labelled);
        guided.ratios.push_back(r.hv_true / r.hv_exact);
        guided.seconds += r.seconds;
      }
      rows.push_back(guided);
    }
    rows.push_back(random);
    if (!labelled.ratios.empty()) rows.push_back(labelled);
    rows.push_back(ceiling);

    std::string md = fmt::format(
        "# NB201 search benchmark: maximise acc_cifar10, minimise lat_ms_pixel3\n\n"
        "Hypervolume ratio (front scored with the true table values / exact front); exact front: {} cells by "
        "enumeration of all {} (hypervolume {:.6g}); reference point: {}. Population {} x {} generations.\n\n",
        exact_size, *space->size(), hv_exact, reference_note, base.nsga2.population_size, base.nsga2.generations);
    md += "| method | budget |";
    for (int s = 0; s < seeds; ++s) md += fmt::format(" seed {} |", s);
    md += " mean | wall time |\n|---|---|";
    for (int s = 0; s < seeds; ++s) md += "---|";
    md += "---|---|\n";
    for (const auto& r : rows)
      md += fmt::format("| {} | {} |{} {:.4f} | {:.1f} s |\n", r.method, r.budget,
                        ratios_text(r, static_cast<size_t>(seeds)), mean(r.ratios), r.seconds);
    if (!skip_rlm)
      md += fmt::format(
          "\nRLM: `{}` ({}); its labelled cells are one fixed random draw, so that row has one value.\n",
          base.evaluator.checkpoint, base.evaluator.rlm_config);
    write_file_atomic(out + "/benchmark.md", md);
    std::cout << md << fmt::format("\nwrote {}/benchmark.md\n", out);
  } catch (const std::exception& e) {
    std::cerr << "search_nb201_benchmark: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
