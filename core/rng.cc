#include "core/rng.h"

#include <sstream>

#include "core/error.h"

namespace nas {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t derive_seed(uint64_t seed, uint64_t a, uint64_t b, uint64_t c) {
  uint64_t h = splitmix64(seed);
  h = splitmix64(h ^ a);
  h = splitmix64(h ^ b);
  return splitmix64(h ^ c);
}

int64_t Rng::uniform_int(int64_t lo, int64_t hi) {
  NAS_CHECK(lo <= hi, "empty range [{}, {}]", lo, hi);
  std::uniform_int_distribution<int64_t> dist(lo, hi);
  return dist(engine_);
}

double Rng::uniform() {
  // 53 random bits -> [0, 1); independent of the standard library's distribution implementation.
  return static_cast<double>(engine_() >> 11) * (1.0 / 9007199254740992.0);
}

double Rng::normal(double mean, double stddev) {
  std::normal_distribution<double> dist(mean, stddev);
  return dist(engine_);
}

std::string Rng::save_state() const {
  std::ostringstream os;
  os << engine_;
  return os.str();
}

void Rng::restore_state(const std::string& state) {
  std::istringstream is(state);
  std::mt19937_64 engine;
  is >> engine;
  if (is.fail()) throw Error("malformed random-number-generator state in checkpoint");
  engine_ = engine;
}

}  // namespace nas
