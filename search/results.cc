#include "search/results.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <filesystem>
#include <mutex>
#include <optional>

#include <fmt/format.h>
#include <tbb/parallel_for.h>

#include "core/error.h"
#include "core/io.h"
#include "core/progress.h"
#include "core/svg_plot.h"
#include "core/table.h"

namespace nas::search {
namespace {

// A CSV cell: empty for NaN, else shortest round-trip text.
std::string cell(double v) { return std::isnan(v) ? "" : fmt::format("{}", v); }

// A markdown number: "–" for NaN.
std::string md(double v, int digits = 4) { return std::isnan(v) ? "–" : fmt::format("{:.{}g}", v, digits); }

double ratio(double hv, double exact) {
  return std::isnan(hv) || std::isnan(exact) || exact <= 0 ? std::nan("") : hv / exact;
}

void write_front_svg(const SearchResult& r, const std::string& path) {
  const auto& ox = r.objectives[1];
  const auto& oy = r.objectives[0];
  SvgPlot plot(fmt::format("Pareto front: {} ({}) vs {} ({})", oy.name, to_string(oy.direction), ox.name,
                           to_string(ox.direction)),
               ox.name, oy.name);
  // Window: the hypervolume box widened by half its size on the bad side of each objective (and 5% on the
  // good side), so that the front inside the box is readable; points outside (degenerate cells) are clipped.
  auto window = [&](size_t j, const Objective& o) -> std::optional<std::pair<double, double>> {
    const double ref = r.reference[j];
    const bool max = o.direction == Direction::kMaximize;
    double best = ref;
    auto consider = [&](double v) {
      if (std::isfinite(v)) best = max ? std::max(best, v) : std::min(best, v);
    };
    if (r.exact)
      for (const auto& p : r.exact->objectives) consider(p[j]);
    for (const auto& f : r.front) {
      consider(f.estimates[j].median);
      consider(f.truth[j]);
    }
    double span = std::abs(best - ref);
    if (!(span > 0)) return std::nullopt;
    return max ? std::make_pair(ref - 0.5 * span, best + 0.05 * span)
               : std::make_pair(best - 0.05 * span, ref + 0.5 * span);
  };
  if (auto wx = window(1, ox)) plot.set_x_range(wx->first, wx->second);
  if (auto wy = window(0, oy)) plot.set_y_range(wy->first, wy->second);
  // The legend goes to the corner that is bad in both objectives, where no front lies.
  const bool right = ox.direction == Direction::kMinimize, bottom = oy.direction == Direction::kMaximize;
  plot.set_legend(right ? (bottom ? LegendPosition::kBottomRight : LegendPosition::kTopRight)
                        : (bottom ? LegendPosition::kBottomLeft : LegendPosition::kTopLeft));
  PlotSeries evaluated{"evaluated (searched values)"};
  evaluated.color = "#b0b0b0";
  evaluated.marker_size = 2.0;
  evaluated.opacity = 0.6;
  for (const auto& e : r.evaluated) {
    evaluated.x.push_back(e[1]);
    evaluated.y.push_back(e[0]);
  }
  plot.add(evaluated);
  // The front as a staircase in increasing x; "steps-post" is the attainment boundary when x is minimised.
  const SeriesStyle front_style = ox.direction == Direction::kMinimize ? SeriesStyle::kStep : SeriesStyle::kLine;
  if (r.exact) {
    PlotSeries exact{fmt::format("exact front ({} cells)", r.exact->genotypes.size())};
    exact.style = front_style;
    exact.color = "#000000";
    for (const auto& o : r.exact->objectives) {
      exact.x.push_back(o[1]);
      exact.y.push_back(o[0]);
    }
    plot.add(exact);
  }
  PlotSeries searched{r.exact_evaluator ? "found front" : "found front, predicted (median)"};
  searched.color = "#1f77b4";
  searched.marker_size = 4.5;
  PlotSeries truth{"found front, true values"};
  truth.color = "#ff7f0e";
  truth.marker = Marker::kSquare;
  truth.marker_size = 3.5;
  for (const auto& f : r.front) {
    searched.x.push_back(f.estimates[1].median);
    searched.y.push_back(f.estimates[0].median);
    truth.x.push_back(f.truth[1]);
    truth.y.push_back(f.truth[0]);
  }
  plot.add(searched);
  if (!r.exact_evaluator) plot.add(truth);
  PlotSeries reference{"hypervolume reference"};
  reference.color = "#d62728";
  reference.marker = Marker::kCross;
  reference.marker_size = 6;
  reference.x = {r.reference[1]};
  reference.y = {r.reference[0]};
  plot.add(reference);
  plot.save(path);
}

void write_history_svg(const SearchResult& r, const std::string& path) {
  SvgPlot plot("Hypervolume per generation", "generation", "hypervolume");
  plot.set_legend(LegendPosition::kBottomRight);
  PlotSeries searched{r.exact_evaluator ? "found front" : "found front, predicted values"};
  searched.style = SeriesStyle::kLine;
  searched.color = "#1f77b4";
  PlotSeries truth{"found front, true values"};
  truth.style = SeriesStyle::kLine;
  truth.color = "#ff7f0e";
  for (const auto& h : r.history) {
    searched.x.push_back(h.generation);
    searched.y.push_back(h.hv_search);
    truth.x.push_back(h.generation);
    truth.y.push_back(h.hv_true);
  }
  plot.add(searched);
  if (!r.exact_evaluator) plot.add(truth);
  if (!std::isnan(r.hv_exact) && !r.history.empty()) {
    PlotSeries exact{"exact front"};
    exact.style = SeriesStyle::kLine;
    exact.color = "#000000";
    exact.x = {static_cast<double>(r.history.front().generation),
               static_cast<double>(r.history.back().generation)};
    exact.y = {r.hv_exact, r.hv_exact};
    if (exact.x[0] == exact.x[1]) exact.x[1] += 1;
    plot.add(exact);
  }
  plot.save(path);
}

// Writes onnx/front_NNN.onnx for every front member, in parallel; removes models of earlier runs.
void export_onnx(SearchResult& r, const SearchConfig& config, const spaces::SearchSpace& space) {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(r.output) / "onnx";
  std::error_code ec;
  if (fs::exists(dir, ec))
    for (const auto& entry : fs::directory_iterator(dir))
      if (entry.path().extension() == ".onnx" && entry.path().filename().string().rfind("front_", 0) == 0)
        fs::remove(entry.path(), ec);
  make_dirs(dir.string());
  std::exception_ptr error;
  std::mutex mu;
  tbb::parallel_for(size_t{0}, r.front.size(), [&](size_t i) {
    try {
      spaces::BuildOptions options;
      options.dataset = config.dataset;
      options.weights = spaces::WeightFill::kRandom;
      options.weight_seed = 0;  // as `nas export`
      options.use_functions = false;
      std::string bytes;
      if (!space.build_model(r.front[i].genotype, options).SerializeToString(&bytes))
        throw Error(fmt::format("cannot serialise the model of {}", r.front[i].arch));
      std::string name = fmt::format("onnx/front_{:03d}.onnx", i);
      write_file_atomic((fs::path(r.output) / name).string(), bytes);
      r.front[i].onnx = name;
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu);
      if (!error) error = std::current_exception();
    }
  });
  if (error) std::rethrow_exception(error);
}

}  // namespace

std::string pareto_csv(const SearchResult& r) {
  std::string out = "index,arch";
  for (const auto& m : r.metrics) out += fmt::format(",{0}_median,{0}_p10,{0}_p90,{0}_true", m);
  out += ",feasible,onnx\n";
  for (size_t i = 0; i < r.front.size(); ++i) {
    const auto& f = r.front[i];
    out += fmt::format("{},{}", i, csv_quote(f.arch));
    for (size_t j = 0; j < r.metrics.size(); ++j)
      out += fmt::format(",{},{},{},{}", cell(f.estimates[j].median), cell(f.estimates[j].p10),
                         cell(f.estimates[j].p90), cell(f.truth[j]));
    out += fmt::format(",{},{}\n", f.violation <= 0.0 ? 1 : 0, csv_quote(f.onnx));
  }
  return out;
}

std::string history_csv(const SearchResult& r) {
  std::string out = "generation,evaluations,front_size,hv_search,hv_true,hv_ratio\n";
  for (const auto& h : r.history)
    out += fmt::format("{},{},{},{},{},{}\n", h.generation, h.evaluations, h.front_size, cell(h.hv_search),
                       cell(h.hv_true), cell(ratio(h.hv_true, r.hv_exact)));
  return out;
}

std::string summary_markdown(const SearchResult& r, const SearchConfig& config) {
  std::vector<std::string> goals;
  for (const auto& o : r.objectives)
    goals.push_back(fmt::format("{} {}", o.direction == Direction::kMaximize ? "maximise" : "minimise", o.name));
  std::string s = fmt::format("# Search on {}: {}\n\n", config.space, fmt::join(goals, ", "));
  s += fmt::format(
      "- config: `{}`; seed {}; population {} x {} generations ({} done{}), {} evaluations of {} distinct "
      "architectures\n",
      config.source, config.nsga2.seed, config.nsga2.population_size, config.nsga2.generations, r.generations_done,
      r.finished ? "" : ", stopped early", r.evaluations, r.estimated);
  if (r.rounds > 1)
    s += fmt::format(
        "- active learning: {} rounds of NSGA-II (seeds {}..{}, {} generations each); after each round but the "
        "last, the best unlabelled predictions were labelled from the table and the RLM refit ({} steps): {} "
        "architectures labelled by the search\n",
        r.rounds, config.nsga2.seed, config.nsga2.seed + r.rounds - 1, config.nsga2.generations,
        config.evaluator.refit_steps, r.queried);
  if (!r.constraints.empty()) {
    std::vector<std::string> cs;
    for (const auto& c : r.constraints) cs.push_back(c.to_string());
    s += fmt::format("- constraints: {}\n", fmt::join(cs, ", "));
  }
  s += fmt::format("- evaluator: {} ({}); searched statistic: {}\n", config.evaluator.type, r.evaluator,
                   to_string(config.evaluator.statistic));
  if (config.evaluator.type == "rlm" && r.rounds > 1)
    s += fmt::format("- predictor: {}, {}, first trained on {} labelled architectures; {} labelled in all ({})\n",
                     r.predictor.describe, r.predictor.trained ? "trained in this run" : "loaded from its checkpoint",
                     config.evaluator.first_training_size(), r.predictor.labelled,
                     format_duration(r.predictor.seconds));
  else if (config.evaluator.type == "rlm")
    s += fmt::format("- predictor: {}, {} on {} labelled architectures ({})\n", r.predictor.describe,
                     r.predictor.trained ? "trained in this run" : "loaded from its checkpoint",
                     r.predictor.labelled, format_duration(r.predictor.seconds));
  s += fmt::format("- hypervolume reference point: {}\n", r.reference_note);
  s += fmt::format("- search wall time: {}{}\n\n", format_duration(r.seconds), r.resumed ? " (resumed run)" : "");

  s += "| front | size | hypervolume | ratio to exact |\n|---|---|---|---|\n";
  if (r.labelled_front)
    s += fmt::format("| found: true front of the {} labelled architectures | {} | {} | {} |\n",
                     r.predictor.labelled, r.front.size(), md(r.hv_true, 6), md(ratio(r.hv_true, r.hv_exact)));
  else if (!r.exact_evaluator)
    s += fmt::format("| found, predicted values | {} | {} | – |\n", r.front.size(), md(r.hv_search, 6));
  if (!r.labelled_front)
    s += fmt::format("| found, true values | {} | {} | {} |\n", r.front.size(),
                     md(r.exact_evaluator ? r.hv_search : r.hv_true, 6),
                     md(ratio(r.exact_evaluator ? r.hv_search : r.hv_true, r.hv_exact)));
  if (r.exact)
    s += fmt::format("| exact (all {} genotypes enumerated, {} feasible) | {} | {} | 1 |\n", r.exact->enumerated,
                     r.exact->feasible, r.exact->genotypes.size(), md(r.hv_exact, 6));
  if (!std::isnan(r.igd_plus_true))
    s +=
        fmt::format("\nIGD+ of the found front's true values to the exact front: {} (in the objectives' units).\n",
                    md(r.igd_plus_true));

  s += "\n## Found front\n\n| # | arch |";
  for (const auto& m : r.metrics) s += fmt::format(" {} |", m);
  s += "\n|---|---|";
  for (size_t j = 0; j < r.metrics.size(); ++j) s += "---|";
  s += "\n";
  for (size_t i = 0; i < r.front.size(); ++i) {
    const auto& f = r.front[i];
    s += fmt::format("| {} | `{}` |", i, f.arch);
    for (size_t j = 0; j < r.metrics.size(); ++j) {
      const auto& e = f.estimates[j];
      if (r.exact_evaluator) {
        s += fmt::format(" {} |", md(e.median, 5));
      } else {
        s += fmt::format(" {} [{}, {}] (true {}) |", md(e.median, 4), md(e.p10, 4), md(e.p90, 4),
                         md(f.truth[j], 5));
      }
    }
    s += "\n";
  }
  s += "\nFiles: `pareto.csv` (front, with p10/median/p90 and true values), `history.csv` (hypervolume per "
       "generation), `front.svg`, `history.svg`";
  if (config.export_onnx) s += ", `onnx/front_NNN.onnx` (one model per front member)";
  s += ", `checkpoint.json` (resume with `--resume`).\n";
  return s;
}

void write_results(SearchResult& r, const SearchConfig& config, const spaces::SearchSpace& space) {
  namespace fs = std::filesystem;
  make_dirs(r.output);
  if (config.export_onnx) export_onnx(r, config, space);
  write_file_atomic((fs::path(r.output) / "pareto.csv").string(), pareto_csv(r));
  write_file_atomic((fs::path(r.output) / "history.csv").string(), history_csv(r));
  if (r.objectives.size() == 2) write_front_svg(r, (fs::path(r.output) / "front.svg").string());
  write_history_svg(r, (fs::path(r.output) / "history.svg").string());
  write_file_atomic((fs::path(r.output) / "summary.md").string(), summary_markdown(r, config));
}

}  // namespace nas::search
