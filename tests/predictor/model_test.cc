#include "predictor/model.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

namespace nas::predictor {
namespace {

EncoderDecoder small_model() {
  ModelOptions o;
  o.d_model = 32;
  o.encoder_layers = 1;
  o.decoder_layers = 2;
  o.heads = 4;
  o.feed_forward = 64;
  o.max_length = 32;
  o.src_vocab_size = 50;
  o.tgt_vocab_size = 30;
  o.max_target_tokens = 24;
  torch::manual_seed(3);
  EncoderDecoder m(o);
  m->eval();
  return m;
}

// decode_prefix must give exactly what feeding the same tokens one by one through decode_step gives
// (it is the fast path of Rlm::predict for teacher-forced context targets).
TEST(EncoderDecoderTest, PrefixPassEqualsStepByStepDecoding) {
  torch::NoGradGuard no_grad;
  auto model = small_model();
  const int64_t n = 3, samples = 4, p = 6;
  auto src = torch::randint(1, 50, {n, 12}, torch::kLong);
  src.index_put_({1, torch::indexing::Slice(9, 12)}, 0);  // padding in one row
  auto prefix = torch::randint(3, 30, {n, p}, torch::kLong);
  Memory memory = model->encode(src);

  DecoderCache fast;
  auto fast_logits = model->decode_prefix(memory, samples, prefix, fast);  // [n * samples, V]

  DecoderCache slow;
  torch::Tensor slow_logits;
  for (int64_t t = 0; t < p; ++t)
    slow_logits = model->decode_step(memory, samples, prefix.select(1, t).repeat_interleave(samples), t, slow);
  ASSERT_EQ(fast_logits.sizes(), slow_logits.sizes());
  EXPECT_TRUE(torch::allclose(fast_logits, slow_logits, 1e-4, 1e-5));

  // Decoding continues identically from either cache.
  auto next = torch::randint(3, 30, {n * samples}, torch::kLong);
  auto a = model->decode_step(memory, samples, next, p, fast);
  auto b = model->decode_step(memory, samples, next, p, slow);
  EXPECT_TRUE(torch::allclose(a, b, 1e-4, 1e-5));
  // The rows of one architecture share the prefix, so before sampling diverges they agree.
  EXPECT_TRUE(torch::allclose(fast_logits[0], fast_logits[samples - 1]));
  EXPECT_FALSE(torch::allclose(fast_logits[0], fast_logits[samples]));
}

}  // namespace
}  // namespace nas::predictor
