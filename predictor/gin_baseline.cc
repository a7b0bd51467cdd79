#include "predictor/gin_baseline.h"

#include <torch/nn/module.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/optim/adamw.h>
#include <torch/utils.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "core/error.h"
#include "core/rng.h"
#include "predictor/threads.h"

namespace nas::predictor {
namespace {

// One batch as a block-diagonal graph.
struct GraphBatch {
  torch::Tensor x;          // [V, F] standardised node features
  torch::Tensor src, dst;   // [E'] message edges, both directions of every graph edge
  torch::Tensor graph;      // [V] index of each node's graph in the batch
  torch::Tensor inv_count;  // [G, 1] 1 / nodes of each graph
  int64_t num_graphs = 0;
};

struct GinNetImpl : torch::nn::Module {
  GinNetImpl(int64_t in, int64_t hidden, int64_t layers, int64_t outputs) {
    for (int64_t k = 0; k < layers; ++k)
      mlps.push_back(register_module(
          fmt::format("mlp{}", k),
          torch::nn::Sequential(torch::nn::Linear(k == 0 ? in : hidden, hidden), torch::nn::ReLU(),
                                torch::nn::Linear(hidden, hidden), torch::nn::ReLU())));
    eps = register_parameter("eps", torch::zeros({layers}));
    head =
        register_module("head", torch::nn::Sequential(torch::nn::Linear(2 * layers * hidden, hidden),
                                                      torch::nn::ReLU(), torch::nn::Linear(hidden, outputs)));
  }

  // -> [G, outputs]. sum_scale multiplies the per-graph sums (1 / mean training node count).
  torch::Tensor forward(const GraphBatch& b, double sum_scale) {
    torch::Tensor h = b.x;  // [V, F]
    std::vector<torch::Tensor> pooled;
    for (size_t k = 0; k < mlps.size(); ++k) {
      auto agg = torch::zeros_like(h).index_add_(0, b.dst, h.index_select(0, b.src));  // [V, H_in]
      h = mlps[k]->forward((1 + eps[static_cast<int64_t>(k)]) * h + agg);              // [V, H]
      auto sums = torch::zeros({b.num_graphs, h.size(1)}).index_add_(0, b.graph, h);   // [G, H]
      pooled.push_back(sums * sum_scale);
      pooled.push_back(sums * b.inv_count);
    }
    return head->forward(torch::cat(pooled, 1));  // [G, outputs]
  }

  std::vector<torch::nn::Sequential> mlps;
  torch::Tensor eps;
  torch::nn::Sequential head{nullptr};
};
TORCH_MODULE(GinNet);

}  // namespace

struct GinBaseline::Impl {
  GinOptions options;
  GinNet net{nullptr};
  std::vector<float> feature_mean, feature_std;  // [F]; one-hot columns 0 / 1
  std::vector<double> mean, stddev;              // [targets]
  double sum_scale = 1.0;

  // Standardised features and both-direction edges of one graph.
  struct Prepared {
    torch::Tensor x, src, dst;
  };

  Prepared prepare(const ArchGraph& g) const {
    const int64_t f = arch_graph_feature_count();
    NAS_CHECK(static_cast<int64_t>(g.features.size()) == g.num_nodes * f,
              "graph has {} feature values for {} nodes", g.features.size(), g.num_nodes);
    std::vector<float> x(g.features);
    for (int64_t v = 0; v < g.num_nodes; ++v)
      for (int64_t j = 0; j < f; ++j) {
        float& e = x[static_cast<size_t>(v * f + j)];
        e = (e - feature_mean[static_cast<size_t>(j)]) / feature_std[static_cast<size_t>(j)];
      }
    std::vector<int64_t> src, dst;
    for (const auto& [a, b] : g.edges) {
      src.push_back(a), dst.push_back(b);
      src.push_back(b), dst.push_back(a);
    }
    return {torch::from_blob(x.data(), {g.num_nodes, f}, torch::kFloat).clone(),
            torch::tensor(src, torch::kLong), torch::tensor(dst, torch::kLong)};
  }

  GraphBatch batch(const std::vector<Prepared>& graphs, const std::vector<size_t>& idx) const {
    GraphBatch b;
    b.num_graphs = static_cast<int64_t>(idx.size());
    std::vector<torch::Tensor> xs, srcs, dsts, ids;
    std::vector<float> inv;
    int64_t offset = 0;
    for (size_t k = 0; k < idx.size(); ++k) {
      const auto& p = graphs[idx[k]];
      const int64_t n = p.x.size(0);
      xs.push_back(p.x);
      srcs.push_back(p.src + offset);
      dsts.push_back(p.dst + offset);
      ids.push_back(torch::full({n}, static_cast<int64_t>(k), torch::kLong));
      inv.push_back(1.f / static_cast<float>(std::max<int64_t>(1, n)));
      offset += n;
    }
    b.x = torch::cat(xs, 0);
    b.src = torch::cat(srcs, 0);
    b.dst = torch::cat(dsts, 0);
    b.graph = torch::cat(ids, 0);
    b.inv_count = torch::tensor(inv).view({-1, 1});
    return b;
  }
};

GinBaseline::GinBaseline(GinOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  configure_threads();
}
GinBaseline::~GinBaseline() = default;
GinBaseline::GinBaseline(GinBaseline&&) noexcept = default;

TrainReport GinBaseline::fit(const std::vector<ArchGraph>& graphs,
                              const std::vector<std::vector<double>>& values) {
  auto& m = *impl_;
  const auto& o = m.options;
  ScopedThreads threads(o.threads);
  NAS_CHECK(!graphs.empty() && graphs.size() == values.size(),
            "need matching non-empty data ({} graphs, {} rows)", graphs.size(), values.size());
  NAS_CHECK(o.hidden > 0 && o.layers > 0 && o.batch_size > 0 && o.epochs > 0 && o.max_steps > 0,
            "GIN options must be positive");
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t n = static_cast<int64_t>(graphs.size()), t = static_cast<int64_t>(values[0].size());
  const int64_t f = arch_graph_feature_count();
  const size_t n_ops = arch_graph_op_types().size();

  // Feature standardisation over all training nodes (shape features only).
  m.feature_mean.assign(static_cast<size_t>(f), 0.f);
  m.feature_std.assign(static_cast<size_t>(f), 1.f);
  double total_nodes = 0;
  for (const auto& g : graphs) total_nodes += static_cast<double>(g.num_nodes);
  NAS_CHECK(total_nodes > 0, "training graphs have no nodes");
  for (size_t j = n_ops; j < static_cast<size_t>(f); ++j) {
    double s = 0, s2 = 0;
    for (const auto& g : graphs)
      for (int64_t v = 0; v < g.num_nodes; ++v) {
        double e = g.features[static_cast<size_t>(v * f) + j];
        s += e, s2 += e * e;
      }
    double mu = s / total_nodes, var = std::max(0.0, s2 / total_nodes - mu * mu);
    m.feature_mean[j] = static_cast<float>(mu);
    m.feature_std[j] = static_cast<float>(std::max(1e-6, std::sqrt(var)));
  }
  m.sum_scale = static_cast<double>(n) / total_nodes;

  // Target standardisation; NaN = missing (masked).
  m.mean.assign(static_cast<size_t>(t), 0.0);
  m.stddev.assign(static_cast<size_t>(t), 1.0);
  for (int64_t j = 0; j < t; ++j) {
    double s = 0, s2 = 0;
    int64_t c = 0;
    for (const auto& row : values) {
      NAS_CHECK(static_cast<int64_t>(row.size()) == t, "rows of values differ in length");
      if (!std::isnan(row[j])) s += row[j], s2 += row[j] * row[j], ++c;
    }
    if (c > 0) {
      m.mean[j] = s / c;
      m.stddev[j] = std::max(1e-9, std::sqrt(std::max(0.0, s2 / c - m.mean[j] * m.mean[j])));
    }
  }
  auto y = torch::zeros({n, t});
  auto w = torch::zeros({n, t});
  {
    auto ya = y.accessor<float, 2>();
    auto wa = w.accessor<float, 2>();
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < t; ++j)
        if (!std::isnan(values[i][j])) {
          ya[i][j] = static_cast<float>((values[i][j] - m.mean[j]) / m.stddev[j]);
          wa[i][j] = 1.f;
        }
  }
  std::vector<Impl::Prepared> prepared;
  prepared.reserve(graphs.size());
  for (const auto& g : graphs) prepared.push_back(m.prepare(g));

  torch::manual_seed(o.seed);
  m.net = GinNet(f, o.hidden, o.layers, t);
  torch::optim::AdamW opt(m.net->parameters(), torch::optim::AdamWOptions(o.lr).weight_decay(o.weight_decay));
  const int64_t bs = std::min(o.batch_size, n);
  const int64_t per_epoch = (n + bs - 1) / bs;
  const int64_t steps = std::min(o.max_steps, o.epochs * per_epoch);
  Rng rng(derive_seed(o.seed, 31));
  std::vector<size_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), size_t{0});
  std::vector<double> losses;
  const double pi = std::acos(-1.0);
  m.net->train();
  for (int64_t step = 0; step < steps; ++step) {
    const int64_t pos = (step % per_epoch) * bs;
    if (pos == 0) rng.shuffle(order);
    const int64_t end = std::min(n, pos + bs);
    std::vector<size_t> idx(order.begin() + pos, order.begin() + end);
    double lr =
        o.lr *
        (0.1 + 0.9 * 0.5 * (1.0 + std::cos(pi * static_cast<double>(step) / static_cast<double>(steps))));
    for (auto& group : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    auto rows = torch::tensor(std::vector<int64_t>(idx.begin(), idx.end()), torch::kLong);
    auto pred = m.net->forward(m.batch(prepared, idx), m.sum_scale);  // [B, t]
    auto wi = w.index_select(0, rows);
    auto loss = ((pred - y.index_select(0, rows)).pow(2) * wi).sum() / wi.sum().clamp_min(1.0);
    opt.zero_grad();
    loss.backward();
    opt.step();
    losses.push_back(loss.item<double>());
  }
  m.net->eval();
  TrainReport report;
  report.steps = steps;
  const size_t tenth = std::max<size_t>(1, losses.size() / 10);
  report.first_loss = std::accumulate(losses.begin(), losses.begin() + static_cast<long>(tenth), 0.0) / tenth;
  report.final_loss = std::accumulate(losses.end() - static_cast<long>(tenth), losses.end(), 0.0) / tenth;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

std::vector<std::vector<double>> GinBaseline::predict(const std::vector<ArchGraph>& graphs) const {
  auto& m = *impl_;
  NAS_CHECK(m.net, "GinBaseline::predict() before fit()");
  ScopedThreads threads(m.options.threads);
  torch::NoGradGuard no_grad;
  std::vector<std::vector<double>> result;
  result.reserve(graphs.size());
  constexpr size_t kChunk = 256;
  for (size_t b = 0; b < graphs.size(); b += kChunk) {
    std::vector<Impl::Prepared> prepared;
    std::vector<size_t> idx;
    for (size_t i = b; i < std::min(graphs.size(), b + kChunk); ++i) {
      prepared.push_back(m.prepare(graphs[i]));
      idx.push_back(i - b);
    }
    auto out = m.net->forward(m.batch(prepared, idx), m.sum_scale);  // [chunk, t]
    auto acc = out.accessor<float, 2>();
    for (size_t i = 0; i < idx.size(); ++i) {
      std::vector<double> row;
      for (size_t j = 0; j < m.mean.size(); ++j)
        row.push_back(acc[static_cast<int64_t>(i)][static_cast<int64_t>(j)] * m.stddev[j] + m.mean[j]);
      result.push_back(std::move(row));
    }
  }
  return result;
}

}  // namespace nas::predictor
