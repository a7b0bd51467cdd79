#include "spaces/search_space.h"

#include <fmt/format.h>

#include "core/error.h"

namespace nas::spaces {

Genotype SearchSpace::at(uint64_t index) const {
  auto n = size();
  if (!n) throw SpaceError(fmt::format("space '{}' is not enumerable", name()));
  if (index >= *n) throw SpaceError(fmt::format("index {} out of range for space '{}' ({} genotypes)", index, name(), *n));
  auto card = gene_cardinalities();
  Genotype g;
  g.genes.resize(card.size());
  for (size_t i = card.size(); i-- > 0;) {
    g.genes[i] = static_cast<int>(index % static_cast<uint64_t>(card[i]));
    index /= static_cast<uint64_t>(card[i]);
  }
  return g;
}

}  // namespace nas::spaces
