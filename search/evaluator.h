#pragma once

#include <functional>
#include <vector>

#include "search/objectives.h"
#include "spaces/search_space.h"

namespace nas::search {

// Objective and constraint values of a batch of genotypes, row i for genotype i.
struct Evaluations {
  ObjectiveMatrix objectives;   // [n, m], in the problem's directions (not negated)
  ObjectiveMatrix constraints;  // [n, k] g_j(x) values (feasible iff <= 0); empty when k == 0
};

// The values of one genotype.
struct Evaluation {
  std::vector<double> objectives;   // [m]
  std::vector<double> constraints;  // [k]
};

// Computes objective and constraint rows for genotypes asked for by a search algorithm (benchmark
// table look-up, predictor, on-device measurement). The algorithms never evaluate anything
// themselves.
class Evaluator {
 public:
  virtual ~Evaluator() = default;
  // Rows in the order of `xs`. Throws whatever the evaluation throws (e.g. nas::SpaceError for a
  // genotype the benchmark does not hold).
  virtual Evaluations evaluate(const std::vector<spaces::Genotype>& xs) = 0;
};

// Calls a per-genotype function for every genotype of a batch with tbb::parallel_for; results come
// back in input order, so they do not depend on the thread count. Limit threads with
// tbb::global_control in the caller.
// Thread-safety: `fn` is called concurrently from several threads and must be safe for that. If any
// call throws, evaluate() rethrows one of the exceptions after the loop stops.
class ParallelEvaluator final : public Evaluator {
 public:
  using Function = std::function<Evaluation(const spaces::Genotype&)>;
  // `grain_size`: genotypes per TBB task at least (1 suits slow evaluations).
  explicit ParallelEvaluator(Function fn, size_t grain_size = 1);
  Evaluations evaluate(const std::vector<spaces::Genotype>& xs) override;

 private:
  Function fn_;
  size_t grain_size_;
};

// A serial evaluator around the same per-genotype function; handy in tests and for functions that
// are not thread-safe.
class SerialEvaluator final : public Evaluator {
 public:
  explicit SerialEvaluator(ParallelEvaluator::Function fn) : fn_(std::move(fn)) {}
  Evaluations evaluate(const std::vector<spaces::Genotype>& xs) override;

 private:
  ParallelEvaluator::Function fn_;
};

}  // namespace nas::search
