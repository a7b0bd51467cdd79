#include "spaces/registry.h"

#include <mutex>

#include <fmt/format.h>

#include "core/error.h"
#include "spaces/darts.h"
#include "spaces/fbnet.h"
#include "spaces/nb101.h"
#include "spaces/nb201.h"
#include "spaces/ofa_mbv3.h"

namespace nas::spaces {
namespace {

template <typename T>
void register_space(SpaceRegistry& registry, const std::string& name) {
  registry.add(name, [] { return std::make_unique<T>(); });
}

// The one list of built-in spaces.
void register_builtin_spaces(SpaceRegistry& registry) {
  register_space<Nb101Space>(registry, "nb101");
  register_space<Nb201Space>(registry, "nb201");
  register_space<FbnetSpace>(registry, "fbnet");
  register_space<OfaMbv3Space>(registry, "ofa_mbv3");
  register_space<DartsSpace>(registry, "darts");
}

}  // namespace

SpaceRegistry& SpaceRegistry::instance() {
  static SpaceRegistry registry;
  static std::once_flag once;
  std::call_once(once, [] { register_builtin_spaces(registry); });
  return registry;
}

void SpaceRegistry::add(const std::string& name, Factory factory) {
  NAS_CHECK(factories_.count(name) == 0, "space '{}' registered twice", name);
  factories_.emplace(name, std::move(factory));
}

std::unique_ptr<SearchSpace> SpaceRegistry::create(const std::string& name) const {
  auto it = factories_.find(name);
  if (it == factories_.end())
    throw ConfigError(fmt::format("unknown space '{}'; known: {}", name, fmt::join(names(), ", ")));
  return it->second();
}

std::vector<std::string> SpaceRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, factory] : factories_) out.push_back(name);
  return out;
}

std::vector<std::string> space_names() { return SpaceRegistry::instance().names(); }

std::unique_ptr<SearchSpace> make_space(const std::string& name) { return SpaceRegistry::instance().create(name); }

}  // namespace nas::spaces
