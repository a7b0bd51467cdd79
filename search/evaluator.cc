#include "search/evaluator.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "core/error.h"

namespace nas::search {
namespace {

Evaluations to_rows(std::vector<Evaluation> results) {
  Evaluations out;
  out.objectives.reserve(results.size());
  bool any_constraints = false;
  for (const auto& r : results) any_constraints = any_constraints || !r.constraints.empty();
  for (auto& r : results) {
    out.objectives.push_back(std::move(r.objectives));
    if (any_constraints) out.constraints.push_back(std::move(r.constraints));
  }
  return out;
}

}  // namespace

ParallelEvaluator::ParallelEvaluator(Function fn, size_t grain_size)
    : fn_(std::move(fn)), grain_size_(std::max<size_t>(grain_size, 1)) {
  NAS_CHECK(static_cast<bool>(fn_), "ParallelEvaluator needs a function");
}

Evaluations ParallelEvaluator::evaluate(const std::vector<spaces::Genotype>& xs) {
  std::vector<Evaluation> results(xs.size());
  tbb::parallel_for(tbb::blocked_range<size_t>(0, xs.size(), grain_size_),
                    [&](const tbb::blocked_range<size_t>& r) {
                      for (size_t i = r.begin(); i != r.end(); ++i) results[i] = fn_(xs[i]);
                    });
  return to_rows(std::move(results));
}

Evaluations SerialEvaluator::evaluate(const std::vector<spaces::Genotype>& xs) {
  std::vector<Evaluation> results;
  results.reserve(xs.size());
  for (const auto& x : xs) results.push_back(fn_(x));
  return to_rows(std::move(results));
}

}  // namespace nas::search
