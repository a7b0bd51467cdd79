#include "predictor/mlp_baseline.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/adamw.h>
#include <torch/utils.h>

#include <cmath>
#include <numeric>

#include "core/error.h"
#include "core/rng.h"

namespace nas::predictor {

std::vector<float> one_hot(const spaces::Genotype& g, const std::vector<int>& cardinalities) {
  NAS_CHECK(g.genes.size() == cardinalities.size(), "genotype has {} genes, space has {}", g.genes.size(),
            cardinalities.size());
  std::vector<float> x(static_cast<size_t>(std::accumulate(cardinalities.begin(), cardinalities.end(), 0)), 0.f);
  size_t offset = 0;
  for (size_t i = 0; i < cardinalities.size(); ++i) {
    NAS_CHECK(g.genes[i] >= 0 && g.genes[i] < cardinalities[i], "gene {} = {} out of range", i, g.genes[i]);
    x[offset + static_cast<size_t>(g.genes[i])] = 1.f;
    offset += static_cast<size_t>(cardinalities[i]);
  }
  return x;
}

struct MlpBaseline::Impl {
  std::vector<int> cardinalities;
  MlpOptions options;
  torch::nn::Sequential net{nullptr};
  std::vector<double> mean, stddev;

  torch::Tensor features(const std::vector<spaces::Genotype>& gs) const {
    int64_t width = std::accumulate(cardinalities.begin(), cardinalities.end(), int64_t{0});
    auto x = torch::zeros({static_cast<int64_t>(gs.size()), width});
    for (size_t i = 0; i < gs.size(); ++i) {
      auto v = one_hot(gs[i], cardinalities);
      x[static_cast<int64_t>(i)].copy_(torch::from_blob(v.data(), {width}, torch::kFloat));
    }
    return x;
  }
};

MlpBaseline::MlpBaseline(std::vector<int> cardinalities, MlpOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->cardinalities = std::move(cardinalities);
  impl_->options = options;
}
MlpBaseline::~MlpBaseline() = default;
MlpBaseline::MlpBaseline(MlpBaseline&&) noexcept = default;

void MlpBaseline::fit(const std::vector<spaces::Genotype>& genotypes, const std::vector<std::vector<double>>& values) {
  auto& m = *impl_;
  NAS_CHECK(!genotypes.empty() && genotypes.size() == values.size(), "need matching non-empty data");
  const int64_t n = static_cast<int64_t>(genotypes.size()), t = static_cast<int64_t>(values[0].size());
  m.mean.assign(t, 0.0);
  m.stddev.assign(t, 1.0);
  for (int64_t j = 0; j < t; ++j) {
    double s = 0, s2 = 0;
    int64_t c = 0;
    for (const auto& row : values)
      if (!std::isnan(row[j])) s += row[j], s2 += row[j] * row[j], ++c;
    if (c > 0) {
      m.mean[j] = s / c;
      m.stddev[j] = std::max(1e-9, std::sqrt(std::max(0.0, s2 / c - m.mean[j] * m.mean[j])));
    }
  }
  auto x = m.features(genotypes);
  auto y = torch::zeros({n, t});
  auto w = torch::zeros({n, t});
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < t; ++j)
      if (!std::isnan(values[i][j])) {
        y[i][j] = (values[i][j] - m.mean[j]) / m.stddev[j];
        w[i][j] = 1.0;
      }
  torch::manual_seed(m.options.seed);
  const int64_t width = x.size(1), h = m.options.hidden;
  m.net = torch::nn::Sequential(torch::nn::Linear(width, h), torch::nn::ReLU(), torch::nn::Linear(h, h),
                                torch::nn::ReLU(), torch::nn::Linear(h, t));
  torch::optim::AdamW opt(m.net->parameters(),
                          torch::optim::AdamWOptions(m.options.lr).weight_decay(m.options.weight_decay));
  Rng rng(m.options.seed);
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  for (int64_t epoch = 0; epoch < m.options.epochs; ++epoch) {
    rng.shuffle(order);
    for (int64_t b = 0; b < n; b += m.options.batch_size) {
      int64_t e = std::min(n, b + m.options.batch_size);
      auto idx = torch::tensor(std::vector<int64_t>(order.begin() + b, order.begin() + e));
      auto pred = m.net->forward(x.index_select(0, idx));
      auto wi = w.index_select(0, idx);
      auto loss = ((pred - y.index_select(0, idx)).pow(2) * wi).sum() / wi.sum().clamp_min(1.0);
      opt.zero_grad();
      loss.backward();
      opt.step();
    }
  }
}

std::vector<std::vector<double>> MlpBaseline::predict(const std::vector<spaces::Genotype>& genotypes) const {
  auto& m = *impl_;
  NAS_CHECK(m.net, "MlpBaseline::predict() before fit()");
  torch::NoGradGuard no_grad;
  auto out = m.net->forward(m.features(genotypes));
  auto acc = out.accessor<float, 2>();
  std::vector<std::vector<double>> result(genotypes.size());
  for (size_t i = 0; i < genotypes.size(); ++i)
    for (size_t j = 0; j < m.mean.size(); ++j)
      result[i].push_back(acc[static_cast<int64_t>(i)][static_cast<int64_t>(j)] * m.stddev[j] + m.mean[j]);
  return result;
}

}  // namespace nas::predictor
