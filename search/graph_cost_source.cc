#include "search/graph_cost_source.h"

#include <exception>
#include <mutex>

#include <fmt/format.h>
#include <tbb/parallel_for.h>

#include "core/error.h"
#include "onnx_text/graph_cost.h"

namespace nas::search {

GraphCostSource::GraphCostSource(const spaces::SearchSpace& space, std::string dataset)
    : space_(&space), dataset_(std::move(dataset)) {}

std::string GraphCostSource::describe() const {
  return fmt::format("graph cost ({} {})", space_->name(),
                     dataset_.empty() ? space_->datasets().front() : dataset_);
}

std::vector<std::vector<Estimate>> GraphCostSource::estimate(const std::vector<spaces::Genotype>& xs,
                                                             const std::vector<std::string>& metrics) {
  for (const auto& m : metrics)
    if (!provides(m))
      throw ConfigError(fmt::format("graph cost: unknown metric '{}' (known: params_M, flops_M)", m));
  std::vector<onnx_text::GraphCost> costs(xs.size());
  std::exception_ptr error;
  size_t error_index = xs.size();
  std::mutex mu;
  tbb::parallel_for(size_t{0}, xs.size(), [&](size_t i) {
    try {
      spaces::BuildOptions options;
      options.dataset = dataset_;
      options.batch_size = 1;
      options.weights = spaces::WeightFill::kZeros;
      costs[i] = onnx_text::graph_cost(space_->build_model(xs[i], options));
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu);
      if (i < error_index) {  // report the first failing genotype in input order
        error_index = i;
        error = std::current_exception();
      }
    }
  });
  if (error) std::rethrow_exception(error);
  std::vector<std::vector<Estimate>> out(xs.size());
  for (size_t i = 0; i < xs.size(); ++i)
    for (const auto& m : metrics) {
      double v = m == "params_M" ? costs[i].params_M : costs[i].flops_M;
      out[i].push_back({v, v, v});
    }
  return out;
}

}  // namespace nas::search
