#pragma once

#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace nas {

// Base of every error this project throws on purpose. The message is one line a user can act on:
// it names the file, line, field or value at fault. `nas` prints it and exits with status 1.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad YAML config or command-line option: "configs/x.yaml: search.population_size: must be > 0".
class ConfigError final : public Error {
 public:
  using Error::Error;
};

// Malformed or invalid genotype / architecture string, or a request a search space cannot serve.
class SpaceError final : public Error {
 public:
  using Error::Error;
};

// Malformed ONNX model, unreadable ONNX file, or predictor text that does not parse.
class OnnxTextError final : public Error {
 public:
  using Error::Error;
};

// Malformed data file (CSV / JSON table): "data/nb201.csv:12:5 (column 'acc_cifar10'): not a number".
class DataError final : public Error {
 public:
  using Error::Error;
};

// Checkpoint missing, truncated, or inconsistent with its config.
class CheckpointError final : public Error {
 public:
  using Error::Error;
};

}  // namespace nas

// Internal invariant check; throws nas::Error with the source location. Not for user input
// (user input gets one of the specific errors above with the user's file/field named).
#define NAS_CHECK(cond, ...)                                                                 \
  do {                                                                                       \
    if (!(cond))                                                                             \
      throw ::nas::Error(fmt::format("{}:{}: check '{}' failed: ", __FILE__, __LINE__, #cond) + \
                         fmt::format(__VA_ARGS__));                                          \
  } while (false)
