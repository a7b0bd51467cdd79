#include "predictor/threads.h"

#include <dlfcn.h>

#include <cstdlib>
#include <thread>

#include <torch/utils.h>

namespace nas::predictor {

int configure_threads(int threads) {
  if (threads <= 0) {
    const char* env = std::getenv("OMP_NUM_THREADS");
    threads = env && std::atoi(env) > 0 ? std::atoi(env) : static_cast<int>(std::thread::hardware_concurrency());
    if (threads <= 0) threads = 1;
  }
  // openblas_set_num_threads is looked up at run time: the symbol exists only when the BLAS in use
  // is OpenBLAS (Debian's libblas.so.3 alternative), and we must not link against it directly.
  using SetThreads = void (*)(int);
  if (auto fn = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) fn(1);
  torch::set_num_threads(threads);
  return threads;
}

ScopedThreads::ScopedThreads(int threads) : previous_(torch::get_num_threads()) {
  if (threads > 0 && threads != previous_) torch::set_num_threads(threads);
}

ScopedThreads::~ScopedThreads() {
  if (torch::get_num_threads() != previous_) torch::set_num_threads(previous_);
}

}  // namespace nas::predictor
