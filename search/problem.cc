#include "search/problem.h"

#include <set>

#include <fmt/format.h>

#include "core/error.h"

namespace nas::search {

Problem::Problem(const spaces::SearchSpace& space, std::vector<Objective> objectives,
                 std::vector<std::string> constraints)
    : space_(&space), objectives_(std::move(objectives)), constraints_(std::move(constraints)) {
  if (objectives_.empty()) throw ConfigError("search problem: at least one objective is required");
  std::set<std::string> names;
  for (const auto& o : objectives_) {
    if (o.name.empty()) throw ConfigError("search problem: objective with an empty name");
    if (!names.insert(o.name).second)
      throw ConfigError(fmt::format("search problem: objective '{}' declared twice", o.name));
  }
  for (const auto& c : constraints_) {
    if (c.empty()) throw ConfigError("search problem: constraint with an empty name");
    if (!names.insert(c).second)
      throw ConfigError(fmt::format("search problem: name '{}' declared twice", c));
  }
}

std::vector<Direction> Problem::directions() const {
  std::vector<Direction> out;
  for (const auto& o : objectives_) out.push_back(o.direction);
  return out;
}

}  // namespace nas::search
