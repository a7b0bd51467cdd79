#pragma once

#include <string>
#include <vector>

#include "search/objectives.h"
#include "spaces/search_space.h"

namespace nas::search {

// One objective of a search problem, e.g. {"acc_cifar10", Direction::kMaximize}.
struct Objective {
  std::string name;
  Direction direction = Direction::kMinimize;
};

// What a search optimises: a search space, named objectives with their directions, and named
// constraints written g_j(x) <= 0 (e.g. "latency_ms" with g = latency - budget). Evaluation is not
// part of the problem: the algorithm asks for genotypes and is told their objective and constraint
// rows (see Evaluator).
// Memory model: the space is not owned and must outlive the Problem (and any algorithm using it).
class Problem {
 public:
  // Throws nas::ConfigError if `objectives` is empty, or an objective or constraint name is empty or
  // repeated.
  Problem(const spaces::SearchSpace& space, std::vector<Objective> objectives,
          std::vector<std::string> constraints = {});

  const spaces::SearchSpace& space() const { return *space_; }
  const std::vector<Objective>& objectives() const { return objectives_; }
  const std::vector<std::string>& constraints() const { return constraints_; }
  int num_objectives() const { return static_cast<int>(objectives_.size()); }
  int num_constraints() const { return static_cast<int>(constraints_.size()); }
  // The direction of each objective, in order.
  std::vector<Direction> directions() const;

 private:
  const spaces::SearchSpace* space_;
  std::vector<Objective> objectives_;
  std::vector<std::string> constraints_;
};

}  // namespace nas::search
