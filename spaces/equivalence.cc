#include "spaces/equivalence.h"

#include <fmt/format.h>

#include "core/error.h"

namespace nas::spaces {

EquivalenceClasses::EquivalenceClasses(const SearchSpace& space, uint64_t max_size) : space_(space) {
  auto size = space.size();
  if (!size)
    throw ConfigError(fmt::format("equivalence classes of '{}': the space cannot be enumerated", space.name()));
  if (*size > max_size)
    throw ConfigError(fmt::format("equivalence classes of '{}': {} genotypes exceed the limit of {}", space.name(),
                                  *size, max_size));
  count_ = *size;
  for (uint64_t i = 0; i < count_; ++i) members_[space.canonical(space.at(i))].push_back(i);
}

std::vector<Genotype> EquivalenceClasses::others(const Genotype& g) const {
  space_.validate(g);
  std::vector<Genotype> out;
  auto it = members_.find(space_.canonical(g));
  if (it == members_.end()) return out;
  for (uint64_t i : it->second) {
    Genotype m = space_.at(i);
    if (m != g) out.push_back(std::move(m));
  }
  return out;
}

}  // namespace nas::spaces
