#pragma once

// The order in which training visits its examples (predictor/rlm.cc, Rlm::train). Torch-free.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/rng.h"

namespace nas::predictor {

// Shuffled epoch order of example indices [0, n), a new order each epoch from a seeded Rng.
//  * length_groups > 0 (TrainOptions::length_groups): batches come from chunks of that many batches of
//    the shuffled order, sorted by `lengths` (one per example) and served in shuffled order.
//  * 0 < primary < n: rows [primary, n) are auxiliary (augmented, pipeline.h training_set()): an
//    epoch is every primary row once plus the next min(primary, n - primary) auxiliary rows of a
//    shuffled cycle over them, so however many auxiliary rows there are they fill at most half of an
//    epoch, and each is visited before any is repeated. primary = 0 or >= n: every row each epoch.
class BatchSampler {
 public:
  BatchSampler(size_t n, uint64_t seed, std::vector<size_t> lengths = {}, size_t length_groups = 0,
               size_t primary = 0);
  // The next `batch` indices (a batch may span two epochs when length_groups = 0).
  std::vector<size_t> next(size_t batch);
  // Rows in one epoch: primary + min(primary, n - primary), or n.
  size_t epoch_size() const { return primary_ + std::min(primary_, aux_.size()); }

 private:
  void new_epoch();
  std::vector<size_t> take(size_t count);

  size_t n_, primary_;
  std::vector<size_t> aux_;
  size_t aux_pos_ = 0;
  std::vector<size_t> order_;
  std::vector<size_t> lengths_;
  size_t groups_;
  std::vector<std::vector<size_t>> ready_;
  size_t pos_ = 0;
  Rng rng_;
};

}  // namespace nas::predictor
