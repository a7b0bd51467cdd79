#include "spaces/search_space.h"

#include <fstream>
#include <unordered_set>

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

std::vector<Genotype> sample_distinct(const SearchSpace& space, size_t n, Rng& rng) {
  if (auto size = space.size(); size && *size < n)
    throw ConfigError(fmt::format("space '{}' has {} genotypes, cannot draw {} distinct ones", space.name(), *size, n));
  std::vector<Genotype> out;
  std::unordered_set<std::string> seen;
  const size_t max_draws = 100 * n + 10000;
  for (size_t draw = 0; out.size() < n; ++draw) {
    if (draw == max_draws)
      throw ConfigError(fmt::format("space '{}': {} draws gave only {} distinct architectures (canonical forms) of "
                                    "the {} requested",
                                    space.name(), max_draws, out.size(), n));
    Genotype g = space.sample(rng);
    if (seen.insert(space.canonical(g)).second) out.push_back(std::move(g));
  }
  return out;
}

std::vector<std::pair<std::string, Genotype>> read_genotype_file(const SearchSpace& space, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(fmt::format("{}: cannot open file for reading", path));
  std::vector<std::pair<std::string, Genotype>> out;
  std::string line;
  for (int lineno = 1; std::getline(in, line); ++lineno) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    try {
      out.emplace_back(line, space.parse(line));
    } catch (const SpaceError& e) {
      throw SpaceError(fmt::format("{}:{}: {}", path, lineno, e.what()));
    }
  }
  if (out.empty()) throw Error(fmt::format("{}: no genotypes in file", path));
  return out;
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
