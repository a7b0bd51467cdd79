#pragma once

#include <string>
#include <vector>

#include "search/metric_source.h"
#include "spaces/search_space.h"

namespace nas::search {

// Exact parameter and FLOP counts computed from each architecture's ONNX graph
// (SearchSpace::build_model at batch 1, then onnx_text::graph_cost): metrics "params_M" (trainable
// parameters, millions) and "flops_M" (multiply-accumulates, millions). For NB201 these equal the
// table's params_M_<dataset> / flops_M_<dataset> columns (checked in tests/spaces/nb201_test.cc).
// Models are built and costed in parallel (TBB); rows come back in input order.
// Memory model: the space is not owned and must outlive the source.
class GraphCostSource final : public MetricSource {
 public:
  // `dataset`: the input configuration to build (one of space.datasets(); "" = the space's first).
  GraphCostSource(const spaces::SearchSpace& space, std::string dataset);

  std::string describe() const override;
  bool exact() const override { return true; }
  bool provides(const std::string& metric) const override { return metric == "params_M" || metric == "flops_M"; }
  // Throws nas::SpaceError for an invalid genotype or dataset, nas::OnnxTextError if costing fails.
  std::vector<std::vector<Estimate>> estimate(const std::vector<spaces::Genotype>& xs,
                                              const std::vector<std::string>& metrics) override;

 private:
  const spaces::SearchSpace* space_;
  std::string dataset_;
};

}  // namespace nas::search
