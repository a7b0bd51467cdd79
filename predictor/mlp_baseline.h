#pragma once

// The one-hot MLP baseline of the NAS predictor literature (e.g. White et al., "How Powerful are
// Performance Predictors in NAS?", NeurIPS 2021): each gene one-hot encoded, a 2-hidden-layer MLP
// regressing all (standardised) targets at once with MSE; missing targets are masked out.
// Header is torch-free (pimpl).

#include <cstdint>
#include <memory>
#include <vector>

#include "spaces/search_space.h"

namespace nas::predictor {

// Options of the MLP baseline.
struct MlpOptions {
  int64_t hidden = 128;
  int64_t epochs = 300;
  int64_t batch_size = 32;
  double lr = 1e-3;
  double weight_decay = 1e-4;
  uint64_t seed = 0;
};

// One-hot encoding of a genotype: concatenated one-hot vectors of every gene (length = sum of
// gene cardinalities).
std::vector<float> one_hot(const spaces::Genotype& g, const std::vector<int>& cardinalities);

// A fitted MLP regressor over one-hot genotypes.
class MlpBaseline {
 public:
  MlpBaseline(std::vector<int> cardinalities, MlpOptions options);
  ~MlpBaseline();
  MlpBaseline(MlpBaseline&&) noexcept;
  // values[i][j] = target j of genotype i (NaN = missing).
  void fit(const std::vector<spaces::Genotype>& genotypes, const std::vector<std::vector<double>>& values);
  // Predictions [n][targets] in the targets' units.
  std::vector<std::vector<double>> predict(const std::vector<spaces::Genotype>& genotypes) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nas::predictor
