#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "spaces/search_space.h"

namespace nas::search::toy {

// A small integer-vector space for testing search algorithms: `length` genes, each in
// [0, cardinality). With `unordered` set, genotypes that are permutations of each other denote the
// same "network" (canonical() sorts the genes), to exercise duplicate removal by canonical form.
class ToySpace final : public spaces::SearchSpace {
 public:
  ToySpace(int length, int cardinality, bool unordered = false)
      : length_(length), cardinality_(cardinality), unordered_(unordered) {}

  std::string name() const override { return "toy"; }
  std::vector<int> gene_cardinalities() const override { return std::vector<int>(length_, cardinality_); }
  std::vector<std::string> datasets() const override { return {"toy"}; }

  void validate(const spaces::Genotype& g) const override {
    if (static_cast<int>(g.genes.size()) != length_)
      throw SpaceError(fmt::format("toy genotype has {} genes, expected {}", g.genes.size(), length_));
    for (size_t i = 0; i < g.genes.size(); ++i)
      if (g.genes[i] < 0 || g.genes[i] >= cardinality_)
        throw SpaceError(fmt::format("toy gene {} = {} out of [0, {})", i, g.genes[i], cardinality_));
  }
  spaces::Genotype sample(Rng& rng) const override {
    spaces::Genotype g;
    for (int i = 0; i < length_; ++i)
      g.genes.push_back(static_cast<int>(rng.uniform_int(0, cardinality_ - 1)));
    return g;
  }
  spaces::Genotype mutate(const spaces::Genotype& parent, Rng& rng) const override {
    spaces::Genotype g = parent;
    size_t i = rng.index(g.genes.size());
    int v = static_cast<int>(rng.uniform_int(0, cardinality_ - 2));
    g.genes[i] = v >= g.genes[i] ? v + 1 : v;
    return g;
  }
  spaces::Genotype crossover(const spaces::Genotype& a, const spaces::Genotype& b, Rng& rng) const override {
    spaces::Genotype g = a;
    for (size_t i = 0; i < g.genes.size(); ++i)
      if (rng.bernoulli(0.5)) g.genes[i] = b.genes[i];
    return g;
  }
  // "3-0-7" -> {3, 0, 7}.
  spaces::Genotype parse(std::string_view arch) const override {
    spaces::Genotype g;
    size_t start = 0;
    while (start <= arch.size()) {
      size_t end = std::min(arch.find('-', start), arch.size());
      std::string token(arch.substr(start, end - start));
      if (token.empty() || token.find_first_not_of("0123456789") != std::string::npos || token.size() > 9)
        throw SpaceError(fmt::format("toy genotype '{}': bad gene '{}'", arch, token));
      g.genes.push_back(std::stoi(token));
      start = end + 1;
    }
    validate(g);
    return g;
  }
  std::string format(const spaces::Genotype& g) const override {
    return fmt::format("{}", fmt::join(g.genes, "-"));
  }
  std::string canonical(const spaces::Genotype& g) const override {
    if (!unordered_) return format(g);
    spaces::Genotype sorted = g;
    std::sort(sorted.genes.begin(), sorted.genes.end());
    return format(sorted);
  }
  std::optional<uint64_t> size() const override {
    uint64_t n = 1;
    for (int i = 0; i < length_; ++i) {
      if (n > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(cardinality_)) return std::nullopt;
      n *= static_cast<uint64_t>(cardinality_);
    }
    return n;
  }
  onnx::ModelProto build_model(const spaces::Genotype&, const spaces::BuildOptions&) const override {
    throw SpaceError("the toy space has no networks");
  }

 private:
  int length_, cardinality_;
  bool unordered_;
};

// A discretised ZDT1 (Zitzler, Deb, Thiele 2000) on a ToySpace(length, cardinality):
// x_i = gene_i / (cardinality - 1); f1 = x_0; g = 1 + 9 * mean(x_1..x_{L-1}); f2 = g * (1 - sqrt(f1 / g)).
// Both minimised. The Pareto set is every genotype with genes 1.. all zero (g = 1, f2 = 1 - sqrt(f1)),
// i.e. `cardinality` points.
inline std::vector<double> zdt1(const spaces::Genotype& x, int cardinality) {
  const double k = cardinality - 1;
  double f1 = x.genes[0] / k;
  double sum = 0.0;
  for (size_t i = 1; i < x.genes.size(); ++i) sum += x.genes[i] / k;
  double g = 1.0 + 9.0 * sum / static_cast<double>(x.genes.size() - 1);
  return {f1, g * (1.0 - std::sqrt(f1 / g))};
}

}  // namespace nas::search::toy
