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

Genotype sample_independent_genes(const std::vector<int>& cardinalities, Rng& rng) {
  Genotype g;
  for (int card : cardinalities) g.genes.push_back(static_cast<int>(rng.index(static_cast<size_t>(card))));
  return g;
}

Genotype mutate_gene(const Genotype& parent, size_t gene, int cardinality, Rng& rng) {
  Genotype child = parent;
  int v = static_cast<int>(rng.index(static_cast<size_t>(cardinality - 1)));
  child.genes[gene] = v >= parent.genes[gene] ? v + 1 : v;
  return child;
}

Genotype uniform_crossover(const Genotype& a, const Genotype& b, Rng& rng) {
  Genotype child = a;
  for (size_t i = 0; i < child.genes.size(); ++i)
    if (rng.bernoulli(0.5)) child.genes[i] = b.genes[i];
  return child;
}

}  // namespace nas::spaces
