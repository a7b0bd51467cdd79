#include <chrono>
#include <iostream>
#include <torch/torch.h>
#include "predictor/model.h"
#include "predictor/threads.h"
using namespace nas::predictor;
double since(std::chrono::steady_clock::time_point t) { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count(); }
int main(int argc, char** argv) {
  torch::NoGradGuard ng; nas::predictor::configure_threads();
  ModelOptions o; o.src_vocab_size = 300; o.tgt_vocab_size = 60; o.max_target_tokens = 64; o.max_length = 2048;
  EncoderDecoder m(o); m->eval();
  int L = 400;
  auto src = torch::randint(1, 300, {64, L});
  auto t0 = std::chrono::steady_clock::now();
  auto mem = m->encode(src);
  std::cout << "encode " << since(t0) << "\n";
  for (int S : {1, 8}) {
    DecoderCache cache;
    auto tok = torch::ones({64 * S}, torch::kLong);
    t0 = std::chrono::steady_clock::now();
    for (int p = 0; p < 35; ++p) m->decode_step(mem, S, tok, p, cache);
    std::cout << "S=" << S << " decode35 " << since(t0) << "\n";
  }
  for (auto& k : mem.keys) k = k.contiguous();
  for (auto& v : mem.values) v = v.contiguous();
  DecoderCache cache; int S = 8;
  auto tok = torch::ones({64 * S}, torch::kLong);
  t0 = std::chrono::steady_clock::now();
  for (int p = 0; p < 35; ++p) m->decode_step(mem, S, tok, p, cache);
  std::cout << "contig S=8 decode35 " << since(t0) << "\n";
  auto x = torch::randn({512, 1, 128});
  t0 = std::chrono::steady_clock::now();
  for (int p = 0; p < 35; ++p) { auto y = m->decoder_layers[0]->as<DecoderLayer>()->ff(x); }
  std::cout << "ff35 " << since(t0) << "\n";
}
