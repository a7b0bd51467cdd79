#pragma once

namespace nas::predictor {

// Sets LibTorch's intra-op threads to `threads` (<= 0: $OMP_NUM_THREADS, else the core count) and
// makes OpenBLAS single-threaded. LibTorch (OpenMP) and OpenBLAS (its own pthreads) otherwise each
// start one thread per core and spin against each other; measured on the 2-core machine this made
// the same decode loop vary between 0.5 s and 9 s. Returns the thread count in use. Idempotent.
int configure_threads(int threads = 0);

// LibTorch's intra-op thread count set to `threads` (> 0; 0 changes nothing) for the guard's lifetime,
// then restored: for phases made of small operations (the GIN baseline), where one thread beats two.
class ScopedThreads {
 public:
  explicit ScopedThreads(int threads);
  ~ScopedThreads();
  ScopedThreads(const ScopedThreads&) = delete;
  ScopedThreads& operator=(const ScopedThreads&) = delete;

 private:
  int previous_;
};

}  // namespace nas::predictor
