#pragma once

// A graph neural network baseline of the NAS predictor literature: GIN, the graph isomorphism network
// (Xu, Hu, Leskovec, Jegelka, "How Powerful are Graph Neural Networks?", ICLR 2019), over the ONNX
// graph of an architecture (predictor/arch_graph.h). Layer k updates every node as
//   h_v <- MLP_k((1 + eps_k) h_v + sum of h_u over the neighbours u of v)
// (eq. 4.1 of the paper; eps_k learned, MLP_k = Linear-ReLU-Linear-ReLU), with the edges taken in both
// directions (producer <-> consumer). The graph's readout concatenates, for every layer, the sum of its
// node states divided by the training graphs' mean node count (a constant, so the readout stays a sum)
// and their mean (the paper's readout concatenates the layers' sums); an MLP head regresses all
// standardised targets with MSE (missing targets masked), trained with AdamW.
// A batch of graphs is one block-diagonal graph: node rows concatenated, edges offset, neighbour sums
// by index_add_. Header is torch-free (pimpl).

#include <cstdint>
#include <memory>
#include <vector>

#include "predictor/arch_graph.h"
#include "predictor/options.h"

namespace nas::predictor {

// Options of the GIN baseline.
struct GinOptions {
  int64_t hidden = 64;  // node state width
  int64_t layers = 3;   // GIN layers
  // Training length: epochs over the training graphs, at most max_steps optimiser steps.
  int64_t epochs = 300;
  int64_t max_steps = 2000;
  int64_t batch_size = 32;  // graphs per step (all of them when fewer)
  double lr = 1e-3;         // AdamW, cosine decay to 10% over the steps
  double weight_decay = 1e-4;
  uint64_t seed = 0;
  // LibTorch intra-op threads during fit() and predict() (the process setting is restored after);
  // 0 = keep the process setting. The GIN's operations are small, so one thread is faster: NB201,
  // n = 256, 2,000 steps + 2,000 test graphs on the 2-core machine: 51.6 s with 1 thread, 58.6 s with 2.
  int threads = 0;
};

// A fitted GIN regressor over architecture graphs.
// Thread-safety: not thread-safe; use one instance per thread.
class GinBaseline {
 public:
  explicit GinBaseline(GinOptions options);
  ~GinBaseline();
  GinBaseline(GinBaseline&&) noexcept;

  // values[i][j] = target j of graph i (NaN = missing). Shape features are standardised with the
  // training nodes' mean and std, targets with the training values'. Throws nas::Error for empty or
  // mismatched inputs. Deterministic for a given seed and thread count.
  // Returns the loss curve (standardised-target MSE).
  TrainReport fit(const std::vector<ArchGraph>& graphs, const std::vector<std::vector<double>>& values);
  // Predictions [n][targets] in the targets' units.
  std::vector<std::vector<double>> predict(const std::vector<ArchGraph>& graphs) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nas::predictor
