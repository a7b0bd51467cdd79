#include "predictor/batch_sampler.h"

#include <algorithm>
#include <numeric>

namespace nas::predictor {

BatchSampler::BatchSampler(size_t n, uint64_t seed, std::vector<size_t> lengths, size_t length_groups, size_t primary)
    : n_(n), primary_(primary > 0 && primary < n ? primary : n), lengths_(std::move(lengths)), groups_(length_groups),
      rng_(seed) {
  for (size_t i = primary_; i < n_; ++i) aux_.push_back(i);
  rng_.shuffle(aux_);
  new_epoch();
}

std::vector<size_t> BatchSampler::next(size_t batch) {
  if (groups_ == 0 || lengths_.size() != n_) return take(batch);
  if (ready_.empty()) {
    std::vector<size_t> chunk = take(batch * groups_);
    std::stable_sort(chunk.begin(), chunk.end(), [&](size_t a, size_t b) { return lengths_[a] < lengths_[b]; });
    for (size_t b = 0; b < chunk.size(); b += batch)
      ready_.emplace_back(chunk.begin() + static_cast<long>(b),
                          chunk.begin() + static_cast<long>(std::min(chunk.size(), b + batch)));
    rng_.shuffle(ready_);
  }
  std::vector<size_t> out = std::move(ready_.back());
  ready_.pop_back();
  return out;
}

void BatchSampler::new_epoch() {
  pos_ = 0;
  if (aux_.empty() && !order_.empty()) {  // no auxiliary rows: reshuffle the previous order
    rng_.shuffle(order_);
    return;
  }
  order_.resize(primary_);
  std::iota(order_.begin(), order_.end(), size_t{0});
  for (size_t k = 0; k < std::min(primary_, aux_.size()); ++k) {
    if (aux_pos_ == aux_.size()) {
      rng_.shuffle(aux_);
      aux_pos_ = 0;
    }
    order_.push_back(aux_[aux_pos_++]);
  }
  rng_.shuffle(order_);
}

std::vector<size_t> BatchSampler::take(size_t count) {
  std::vector<size_t> out;
  while (out.size() < count) {
    if (pos_ == order_.size()) new_epoch();
    out.push_back(order_[pos_++]);
  }
  return out;
}

}  // namespace nas::predictor
