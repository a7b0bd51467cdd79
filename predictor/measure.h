#pragma once

// Latency tables measured on this machine (`nas measure`): each architecture's ONNX graph is run by the
// LibTorch executor (predictor/onnx_executor.h) and its median wall time is written in the layout of
// the benchmark tables in data/, so that the predictor's table loader (load_split) reads it like
// data/nb201.csv. Torch-free header.

#include <cstdint>
#include <string>
#include <vector>

#include "predictor/onnx_executor.h"
#include "spaces/search_space.h"

namespace nas::predictor {

// How measure_latencies() builds and runs each architecture.
struct MeasureOptions {
  std::string dataset;         // input configuration (SearchSpace::datasets()); "" = the space's first
  std::string device = "cpu";  // "cpu", "cuda", "cuda:N"
  int64_t batch_size = 1;      // images per forward pass
  TimingOptions timing;        // warm-up and timed runs per architecture
  // Architecture i is built with He-normal weights seeded derive_seed(seed, 1, i) and run on a
  // standard-normal input seeded derive_seed(seed, 2, i) (values do not change the latency).
  uint64_t seed = 0;
  bool progress = true;  // progress line with rate and ETA on stderr
};

// The median latency in ms of each of `archs` (same order), one architecture at a time: build the model
// (spaces::BuildOptions with options.dataset, batch_size and kRandom weights), plan an OnnxExecutor, run
// timing.warmup + timing.repeats forward passes. Threads: whatever configure_threads() set.
// Throws what SearchSpace::build_model() and OnnxExecutor throw (nas::SpaceError for a bad dataset,
// nas::ConfigError for a bad device, UnsupportedOpError), each prefixed with the architecture string.
std::vector<Latency> measure_latencies(const spaces::SearchSpace& space,
                                       const std::vector<spaces::Genotype>& archs,
                                       const MeasureOptions& options);

// The latency column of device `name`: "lat_ms_" + name, as in data/nb201.csv ("lat_ms_pixel3").
// Throws nas::ConfigError unless `name` is non-empty and made of letters, digits, '_', '-' and '.'.
std::string latency_column(const std::string& name);

// The CSV text of a measured table: a header with the space's benchmark architecture columns
// (spaces/arch_columns.h benchmark_arch_columns(), e.g. `arch_str` for nb201, `adjacency_7x7,ops` for
// nb101) and latency_column(name), then one row per architecture: its cells (RFC 4180 quoting where
// needed) and the latency in ms with 6 significant digits.
// Example (nb201, name "mybox"):
//   arch_str,lat_ms_mybox
//   |nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|,MS
//   (MS: the median in ms, 6 significant digits)
// Throws nas::ConfigError for a bad name or archs / ms of different lengths.
std::string latency_table_csv(const spaces::SearchSpace& space, const std::vector<spaces::Genotype>& archs,
                              const std::vector<double>& ms, const std::string& name);

}  // namespace nas::predictor
