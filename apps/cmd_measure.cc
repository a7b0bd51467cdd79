// Subcommand `measure`: latency of a space's architectures on this machine (predictor/measure.h).

#include <algorithm>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "apps/commands.h"
#include "core/error.h"
#include "core/io.h"
#include "core/rng.h"
#include "predictor/measure.h"
#include "predictor/threads.h"
#include "spaces/search_space.h"

namespace nas::apps {

void add_measure_commands(CLI::App& app) {
  auto* cmd = app.add_subcommand("measure",
                                 "Measure the latency of architectures on this machine (LibTorch) "
                                 "and write it as a benchmark-style table");
  struct Opts {
    std::string space, dataset, device = "cpu", name, archs, output;
    int64_t n = 0, batch = 1;
    uint64_t seed = 0;
    int warmup = 5, repeats = 20, threads = 0;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--space", o->space, "search space (see `nas spaces`)")->required();
  auto* n =
      cmd->add_option("-n,--n", o->n, "number of distinct random architectures")->check(CLI::PositiveNumber);
  auto* archs = cmd->add_option("--archs", o->archs, "file with one genotype per line (instead of --n)");
  n->excludes(archs);
  cmd->add_option("--seed", o->seed, "seed of the sample, the weights and the inputs");
  cmd->add_option("--device", o->device, "cpu, cuda or cuda:N");
  cmd->add_option("--batch", o->batch, "images per forward pass")->check(CLI::PositiveNumber);
  cmd->add_option("--warmup", o->warmup, "untimed runs per architecture")->check(CLI::NonNegativeNumber);
  cmd->add_option("--repeats", o->repeats, "timed runs per architecture (the median is kept)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--threads", o->threads, "LibTorch threads (default: $OMP_NUM_THREADS, else all cores)");
  cmd->add_option("--dataset", o->dataset, "input configuration (default: the space's first dataset)");
  cmd->add_option("--name", o->name, "device name; the column is lat_ms_<name> (default: the stem of -o)");
  cmd->add_option("-o,--output", o->output, "CSV file to write")->required();
  cmd->callback([o] {
    if (o->n == 0 && o->archs.empty()) throw ConfigError("measure: give --n or --archs");
    auto space = spaces::make_space(o->space);
    std::string name = o->name.empty() ? std::filesystem::path(o->output).stem().string() : o->name;
    predictor::latency_column(name);  // a bad name fails before the measurements
    std::vector<spaces::Genotype> gs;
    if (!o->archs.empty()) {
      for (auto& [line, g] : spaces::read_genotype_file(*space, o->archs)) gs.push_back(std::move(g));
    } else {
      Rng rng(o->seed);
      gs = spaces::sample_distinct(*space, static_cast<size_t>(o->n), rng);
    }
    int threads = predictor::configure_threads(o->threads);
    predictor::MeasureOptions m;
    m.dataset = o->dataset;
    m.device = o->device;
    m.batch_size = o->batch;
    m.timing.warmup = o->warmup;
    m.timing.repeats = o->repeats;
    m.seed = o->seed;
    std::vector<double> ms;
    for (const auto& lat : predictor::measure_latencies(*space, gs, m)) ms.push_back(lat.median_ms);
    write_file_atomic(o->output, predictor::latency_table_csv(*space, gs, ms, name));
    auto [lo, hi] = std::minmax_element(ms.begin(), ms.end());
    fmt::print(
        "{} {} architectures on {} (batch {}, {} thread(s), {} + {} runs): median latency {:.4g}..{:.4g} ms; "
        "wrote {} ({})\n",
        gs.size(), space->name(), o->device, o->batch, threads, o->warmup, o->repeats, *lo, *hi, o->output,
        predictor::latency_column(name));
  });
}

}  // namespace nas::apps
