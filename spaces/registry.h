#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "spaces/search_space.h"

namespace nas::spaces {

// Name -> factory table behind make_space() / space_names() (declared in spaces/search_space.h).
// Filled once, explicitly, by register_builtin_spaces() (registry.cc) under std::call_once on the first
// instance() call; there is no static self-registration. To add a space, add one
// register_space<T>(registry, "name") line there.
// Thread-safety: add() is only called during that one-time registration; create() and names() are
// const and may then be called concurrently.
class SpaceRegistry {
 public:
  using Factory = std::function<std::unique_ptr<SearchSpace>()>;

  // The process-wide registry, with the built-in spaces registered.
  static SpaceRegistry& instance();

  // Registers `factory` under `name`. Throws nas::Error (internal) if `name` is already registered.
  void add(const std::string& name, Factory factory);
  // Throws nas::ConfigError("unknown space 'x'; known: nb201").
  std::unique_ptr<SearchSpace> create(const std::string& name) const;
  // Sorted.
  std::vector<std::string> names() const;

 private:
  std::map<std::string, Factory> factories_;
};

}  // namespace nas::spaces
