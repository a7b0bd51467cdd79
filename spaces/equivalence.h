#pragma once

// Functional-equivalence classes of an enumerable search space: genotypes grouped by
// SearchSpace::canonical(). For NB201 the canonical form is the expression computed at the cell's
// output node, with edges into dead or zero nodes dropped and the summands of a node sorted, so a
// class holds cells that compute the same function (15,625 cells fall into 6,466 classes, the count of
// "unique" cells in Dong & Yang, ICLR 2020). Their trained accuracy agrees up to seed noise (NB201
// acc_cifar10: standard deviation 0.24 points within classes against 12.9 overall, data/nb201.csv),
// while latency does not (dead branches are still executed: 2.5 ms within against 6.3 ms overall on
// Pixel 3).

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "spaces/search_space.h"

namespace nas::spaces {

class EquivalenceClasses {
 public:
  // Enumerates `space` (every genotype's canonical form; NB201: 15,625 in ~0.1 s). Throws
  // nas::ConfigError if the space is not enumerable (size() is nullopt) or has more than
  // `max_size` genotypes.
  explicit EquivalenceClasses(const SearchSpace& space, uint64_t max_size = 1'000'000);

  // The other genotypes of g's class (g itself left out), in enumeration order; empty when g is
  // alone in its class. Throws nas::SpaceError for a genotype that is not valid in the space.
  std::vector<Genotype> others(const Genotype& g) const;
  size_t num_classes() const { return members_.size(); }
  uint64_t num_genotypes() const { return count_; }

 private:
  const SearchSpace& space_;
  std::unordered_map<std::string, std::vector<uint64_t>> members_;  // canonical form -> enumeration indices
  uint64_t count_ = 0;
};

}  // namespace nas::spaces
