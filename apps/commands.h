#pragma once

// The `nas` program's subcommands. Each add_* function registers its subcommands on `app`; the
// callbacks throw nas::Error (or a subclass) on bad input, which main() prints as one line before
// exiting with status 1.

#include <CLI/CLI.hpp>

namespace nas::apps {

// spaces, sample, export, text, info, check
void add_space_commands(CLI::App& app);
// train, predict, eval (only in builds with the LibTorch predictor)
void add_predictor_commands(CLI::App& app);
// measure: latency on this machine's CPU / GPU via the LibTorch ONNX executor (only with the predictor)
void add_measure_commands(CLI::App& app);
// search (its rlm evaluator only in builds with the LibTorch predictor; the table evaluator always)
void add_search_commands(CLI::App& app);
// experiment: the predictor benchmark (only in builds with the LibTorch predictor)
void add_experiment_commands(CLI::App& app);

}  // namespace nas::apps
