#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace nas {

// SplitMix64 finaliser (Steele, Lea, Flood 2014): a bijective 64-bit mix used to derive
// independent seeds, e.g. derive_seed(seed, generation, index), so that results do not depend
// on thread scheduling.
uint64_t splitmix64(uint64_t x);
uint64_t derive_seed(uint64_t seed, uint64_t a, uint64_t b = 0, uint64_t c = 0);

// The project's random-number generator: std::mt19937_64 plus the few draws we need. Its full
// state can be saved and restored as text (for resumable search checkpoints).
// Thread-safety: not thread-safe; give each thread / individual its own Rng via derive_seed.
class Rng {
 public:
  explicit Rng(uint64_t seed = 0) : engine_(seed) {}

  // Uniform integer in [lo, hi] (both inclusive). Requires lo <= hi.
  int64_t uniform_int(int64_t lo, int64_t hi);
  // Uniform index in [0, n). Requires n > 0.
  size_t index(size_t n) { return static_cast<size_t>(uniform_int(0, static_cast<int64_t>(n) - 1)); }
  // Uniform real in [0, 1).
  double uniform();
  double normal(double mean = 0.0, double stddev = 1.0);
  bool bernoulli(double p) { return uniform() < p; }
  uint64_t next_u64() { return engine_(); }

  // Fisher-Yates shuffle.
  template <typename T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[index(i)]);
  }

  // Engine state as text (std::mt19937_64 stream format) and back. restore() throws nas::Error
  // on malformed text.
  std::string save_state() const;
  void restore_state(const std::string& state);

  std::mt19937_64& engine() { return engine_; }

 private:
  std::mt19937_64 engine_;
};

}  // namespace nas
