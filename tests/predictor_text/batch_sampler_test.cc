#include "predictor/batch_sampler.h"

#include <algorithm>
#include <map>
#include <set>

#include <gtest/gtest.h>

namespace nas::predictor {
namespace {

// Draws whole epochs of `s` in batches of `batch` (epoch_size divisible by batch).
std::vector<std::vector<size_t>> epochs(BatchSampler& s, size_t count, size_t batch) {
  std::vector<std::vector<size_t>> out(count);
  for (auto& e : out)
    while (e.size() < s.epoch_size()) {
      auto b = s.next(batch);
      e.insert(e.end(), b.begin(), b.end());
    }
  return out;
}

TEST(BatchSamplerTest, EveryRowOncePerEpochInANewOrder) {
  BatchSampler s(12, 5);
  EXPECT_EQ(s.epoch_size(), 12u);
  auto e = epochs(s, 3, 4);
  for (const auto& epoch : e) {
    std::set<size_t> rows(epoch.begin(), epoch.end());
    EXPECT_EQ(rows.size(), 12u);
  }
  EXPECT_NE(e[0], e[1]);
  BatchSampler again(12, 5);
  EXPECT_EQ(epochs(again, 3, 4), e) << "same seed, same order";
}

TEST(BatchSamplerTest, AugmentedRowsFillHalfAnEpochAndCycleBeforeRepeating) {
  // 10 labelled rows, 35 augmented ones.
  BatchSampler s(45, 9, {}, 0, 10);
  EXPECT_EQ(s.epoch_size(), 20u);
  auto e = epochs(s, 7, 5);  // 7 x 10 augmented draws = 2 full cycles over the 35
  std::map<size_t, int> aux_seen;
  for (const auto& epoch : e) {
    std::set<size_t> labelled;
    int aux = 0;
    for (size_t r : epoch) {
      ASSERT_LT(r, 45u);
      if (r < 10) labelled.insert(r);
      else ++aux, ++aux_seen[r];
    }
    EXPECT_EQ(labelled.size(), 10u) << "every labelled row in every epoch";
    EXPECT_EQ(aux, 10);
  }
  EXPECT_EQ(aux_seen.size(), 35u);
  for (const auto& [r, n] : aux_seen) EXPECT_EQ(n, 2) << "row " << r;
  // Fewer augmented rows than labelled ones: all of them, every epoch.
  BatchSampler few(13, 1, {}, 0, 10);
  EXPECT_EQ(few.epoch_size(), 13u);
  auto f = epochs(few, 2, 13);
  for (const auto& epoch : f) EXPECT_EQ(std::set<size_t>(epoch.begin(), epoch.end()).size(), 13u);
}

TEST(BatchSamplerTest, LengthGroupsGiveBatchesOfSimilarLength) {
  std::vector<size_t> lengths;
  for (size_t i = 0; i < 32; ++i) lengths.push_back(i % 2 ? 800 : 200);
  BatchSampler s(32, 3, lengths, 4);
  int mixed = 0;
  for (int b = 0; b < 16; ++b) {
    auto batch = s.next(4);
    ASSERT_EQ(batch.size(), 4u);
    std::set<size_t> ls;
    for (size_t r : batch) ls.insert(lengths[r]);
    mixed += ls.size() > 1;
  }
  EXPECT_LE(mixed, 4) << "sorted chunks of 4 batches: at most one mixed batch per chunk";
}

}  // namespace
}  // namespace nas::predictor
