#include "predictor/measure.h"

#include <cctype>
#include <memory>

#include <fmt/format.h>

#include "core/error.h"
#include "core/progress.h"
#include "core/rng.h"
#include "core/table.h"
#include "spaces/arch_columns.h"

namespace nas::predictor {

std::vector<Latency> measure_latencies(const spaces::SearchSpace& space,
                                       const std::vector<spaces::Genotype>& archs,
                                       const MeasureOptions& options) {
  std::vector<Latency> out;
  std::unique_ptr<Progress> progress;
  if (options.progress)
    progress = std::make_unique<Progress>("measure", static_cast<int64_t>(archs.size()), "arch");
  for (size_t i = 0; i < archs.size(); ++i) {
    spaces::BuildOptions build;
    build.dataset = options.dataset;
    build.batch_size = options.batch_size;
    build.weights = spaces::WeightFill::kRandom;
    build.weight_seed = derive_seed(options.seed, 1, i);
    ExecutorOptions exec_options;
    exec_options.device = options.device;
    exec_options.batch_size = options.batch_size;
    exec_options.seed = derive_seed(options.seed, 2, i);
    try {
      OnnxExecutor exec(space.build_model(archs[i], build), exec_options);
      out.push_back(exec.time(options.timing));
    } catch (const SpaceError& e) {
      throw SpaceError(fmt::format("{} '{}': {}", space.name(), space.format(archs[i]), e.what()));
    } catch (const ConfigError& e) {
      throw ConfigError(fmt::format("{} '{}': {}", space.name(), space.format(archs[i]), e.what()));
    } catch (const UnsupportedOpError& e) {
      throw UnsupportedOpError(fmt::format("{} '{}': {}", space.name(), space.format(archs[i]), e.what()));
    } catch (const Error& e) {
      throw Error(fmt::format("{} '{}': {}", space.name(), space.format(archs[i]), e.what()));
    }
    if (progress)
      progress->update(static_cast<int64_t>(i + 1), fmt::format("last {:.3f} ms", out.back().median_ms));
  }
  if (progress) progress->finish();
  return out;
}

std::string latency_column(const std::string& name) {
  bool ok = !name.empty();
  for (char c : name)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.');
  if (!ok)
    throw ConfigError(
        fmt::format("device name '{}': use letters, digits, '_', '-' or '.' (it becomes column "
                    "lat_ms_<name>)",
                    name));
  return "lat_ms_" + name;
}

std::string latency_table_csv(const spaces::SearchSpace& space, const std::vector<spaces::Genotype>& archs,
                              const std::vector<double>& ms, const std::string& name) {
  if (archs.size() != ms.size())
    throw ConfigError(
        fmt::format("latency table: {} architectures but {} latencies", archs.size(), ms.size()));
  const spaces::ArchColumns columns(spaces::benchmark_arch_columns(space.name()));
  std::string csv;
  for (const auto& c : columns.columns()) csv += csv_quote(c) + ",";
  csv += latency_column(name) + "\n";
  for (size_t i = 0; i < archs.size(); ++i) {
    for (const auto& cell : columns.split(space.format(archs[i]))) csv += csv_quote(cell) + ",";
    csv += fmt::format("{:.6g}\n", ms[i]);
  }
  return csv;
}

}  // namespace nas::predictor
