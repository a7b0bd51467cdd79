#pragma once

#include <memory>

#include "core/rng.h"
#include "spaces/search_space.h"

namespace nas::search {

using spaces::Genotype;
using spaces::SearchSpace;

// Makes the genotypes of an initial population. The public apply() is the entry point; subclasses
// override the protected sample() (pymoo's do / _do split).
class Sampling {
 public:
  virtual ~Sampling() = default;
  // A valid genotype of `space`.
  Genotype apply(const SearchSpace& space, Rng& rng) const { return sample(space, rng); }

 protected:
  virtual Genotype sample(const SearchSpace& space, Rng& rng) const = 0;
};

// Recombines two parents into one child.
class Crossover {
 public:
  virtual ~Crossover() = default;
  // With probability `prob` (one rng.uniform() draw) returns cross(a, b); otherwise a copy of `a`.
  Genotype apply(const SearchSpace& space, const Genotype& a, const Genotype& b, double prob,
                 Rng& rng) const {
    return rng.bernoulli(prob) ? cross(space, a, b, rng) : a;
  }

 protected:
  virtual Genotype cross(const SearchSpace& space, const Genotype& a, const Genotype& b, Rng& rng) const = 0;
};

// Perturbs one genotype.
class Mutation {
 public:
  virtual ~Mutation() = default;
  // Applies the mutation with probability `prob` (one rng.uniform() draw); otherwise returns a copy
  // of `parent`. The result is always a valid genotype of `space`.
  Genotype apply(const SearchSpace& space, const Genotype& parent, double prob, Rng& rng) const {
    return rng.bernoulli(prob) ? mutate(space, parent, rng) : parent;
  }

 protected:
  virtual Genotype mutate(const SearchSpace& space, const Genotype& parent, Rng& rng) const = 0;
};

// The space's own operators: SearchSpace::sample / crossover / mutate.
class SpaceSampling final : public Sampling {
 protected:
  Genotype sample(const SearchSpace& space, Rng& rng) const override { return space.sample(rng); }
};
class SpaceCrossover final : public Crossover {
 protected:
  Genotype cross(const SearchSpace& space, const Genotype& a, const Genotype& b, Rng& rng) const override {
    return space.crossover(a, b, rng);
  }
};
class SpaceMutation final : public Mutation {
 protected:
  Genotype mutate(const SearchSpace& space, const Genotype& parent, Rng& rng) const override {
    return space.mutate(parent, rng);
  }
};

// The variation operators an algorithm uses; defaults to the space's own.
// Thread-safety: operators are const and stateless; all randomness comes from the Rng argument.
struct OperatorSet {
  std::shared_ptr<const Sampling> sampling = std::make_shared<SpaceSampling>();
  std::shared_ptr<const Crossover> crossover = std::make_shared<SpaceCrossover>();
  std::shared_ptr<const Mutation> mutation = std::make_shared<SpaceMutation>();
};

}  // namespace nas::search
