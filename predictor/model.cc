#include "predictor/model.h"

#include <cmath>
#include <limits>

#include <torch/nn/functional/activation.h>
#include <torch/nn/init.h>

namespace nas::predictor {

namespace F = torch::nn::functional;

SeededDropoutImpl::SeededDropoutImpl(double p_) : p(p_) {
  TORCH_CHECK(p >= 0 && p <= 1, "dropout probability must be in [0, 1], got ", p);
}

torch::Tensor SeededDropoutImpl::forward(const torch::Tensor& x) {
  if (!is_training() || p == 0 || x.numel() == 0) return x;
  if (p == 1) return x * torch::zeros({}, x.options());
  auto noise = torch::empty_like(x);
  noise.bernoulli_(1 - p, generator);
  noise.div_(1 - p);
  return x * noise;
}

AttentionImpl::AttentionImpl(int64_t d_model, int64_t heads_, double dropout)
    : heads(heads_), head_dim(d_model / heads_) {
  TORCH_CHECK(d_model % heads_ == 0, "d_model (", d_model, ") must be divisible by heads (", heads_, ")");
  q_proj = register_module("q_proj", torch::nn::Linear(d_model, d_model));
  kv_proj = register_module("kv_proj", torch::nn::Linear(d_model, 2 * d_model));
  out_proj = register_module("out_proj", torch::nn::Linear(d_model, d_model));
  drop = register_module("drop", SeededDropout(dropout));
}

std::pair<torch::Tensor, torch::Tensor> AttentionImpl::project_kv(const torch::Tensor& x) {
  const int64_t n = x.size(0), l = x.size(1);
  auto kv = kv_proj(x).view({n, l, 2, heads, head_dim}).permute({2, 0, 3, 1, 4});  // [2, N, H, L, D]
  return {kv[0], kv[1]};
}

torch::Tensor AttentionImpl::attend(const torch::Tensor& q_in, const torch::Tensor& k, const torch::Tensor& v,
                                    const torch::Tensor& key_padding, bool causal) {
  const int64_t n = q_in.size(0), t = q_in.size(1), l = k.size(2);
  auto q = q_proj(q_in).view({n, t, heads, head_dim}).transpose(1, 2);  // [N, H, T, D]
  auto scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(head_dim));  // [N, H, T, L]
  const float neg_inf = -std::numeric_limits<float>::infinity();
  if (key_padding.defined()) scores = scores.masked_fill(key_padding.view({n, 1, 1, l}), neg_inf);
  if (causal) {
    auto future = torch::ones({t, l}, torch::dtype(torch::kBool).device(q.device())).triu(l - t + 1);
    scores = scores.masked_fill(future, neg_inf);
  }
  auto weights = drop(torch::softmax(scores, -1));
  auto out = torch::matmul(weights, v).transpose(1, 2).reshape({n, t, heads * head_dim});  // [N, T, E]
  return out_proj(out);
}

FeedForwardImpl::FeedForwardImpl(int64_t d_model, int64_t hidden, double dropout) {
  fc1 = register_module("fc1", torch::nn::Linear(d_model, hidden));
  fc2 = register_module("fc2", torch::nn::Linear(hidden, d_model));
  drop = register_module("drop", SeededDropout(dropout));
}

torch::Tensor FeedForwardImpl::forward(const torch::Tensor& x) { return fc2(drop(F::gelu(fc1(x)))); }

EncoderLayerImpl::EncoderLayerImpl(const ModelOptions& o) {
  norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.d_model})));
  norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.d_model})));
  attn = register_module("attn", Attention(o.d_model, o.heads, o.dropout));
  ff = register_module("ff", FeedForward(o.d_model, o.feed_forward, o.dropout));
  drop = register_module("drop", SeededDropout(o.dropout));
}

torch::Tensor EncoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& padding) {
  auto h = norm1(x);
  auto [k, v] = attn->project_kv(h);
  auto y = x + drop(attn->attend(h, k, v, padding, /*causal=*/false));
  return y + drop(ff(norm2(y)));
}

DecoderLayerImpl::DecoderLayerImpl(const ModelOptions& o) {
  norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.d_model})));
  norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.d_model})));
  norm3 = register_module("norm3", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.d_model})));
  self_attn = register_module("self_attn", Attention(o.d_model, o.heads, o.dropout));
  cross_attn = register_module("cross_attn", Attention(o.d_model, o.heads, o.dropout));
  ff = register_module("ff", FeedForward(o.d_model, o.feed_forward, o.dropout));
  drop = register_module("drop", SeededDropout(o.dropout));
}

EncoderDecoderImpl::EncoderDecoderImpl(const ModelOptions& o) : options(o) {
  TORCH_CHECK(o.src_vocab_size > 0 && o.tgt_vocab_size > 0 && o.max_target_tokens > 0,
              "model options need vocabulary sizes and max_target_tokens");
  src_embed = register_module("src_embed", torch::nn::Embedding(o.src_vocab_size, o.d_model));
  src_pos = register_module("src_pos", torch::nn::Embedding(o.max_length, o.d_model));
  tgt_embed = register_module("tgt_embed", torch::nn::Embedding(o.tgt_vocab_size, o.d_model));
  tgt_pos = register_module("tgt_pos", torch::nn::Embedding(o.max_target_tokens, o.d_model));
  encoder_layers = register_module("encoder_layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.encoder_layers; ++i) encoder_layers->push_back(EncoderLayer(o));
  decoder_layers = register_module("decoder_layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.decoder_layers; ++i) decoder_layers->push_back(DecoderLayer(o));
  encoder_norm = register_module("encoder_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.d_model})));
  decoder_norm = register_module("decoder_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.d_model})));
  head = register_module("head", torch::nn::Linear(o.d_model, o.tgt_vocab_size));
  drop = register_module("drop", SeededDropout(o.dropout));
  for (auto* emb : {&src_embed, &src_pos, &tgt_embed, &tgt_pos})
    torch::nn::init::normal_((*emb)->weight, 0.0, 0.02);
}

Memory EncoderDecoderImpl::encode(const torch::Tensor& src) {
  TORCH_CHECK(src.dim() == 2 && src.size(1) <= options.max_length, "src must be [N, S<=max_length]");
  const int64_t s = src.size(1);
  auto positions = torch::arange(s, torch::dtype(torch::kLong).device(src.device()));
  auto x = drop(src_embed(src) + src_pos(positions).unsqueeze(0));  // [N, S, E]
  Memory memory;
  memory.padding = src.eq(0);
  for (const auto& m : *encoder_layers) x = m->as<EncoderLayer>()->forward(x, memory.padding);
  x = encoder_norm(x);
  for (const auto& m : *decoder_layers) {
    auto [k, v] = m->as<DecoderLayer>()->cross_attn->project_kv(x);
    memory.keys.push_back(k);
    memory.values.push_back(v);
  }
  return memory;
}

torch::Tensor EncoderDecoderImpl::decode_train(const Memory& memory, const torch::Tensor& tgt_in) {
  const int64_t t = tgt_in.size(1);
  auto positions = torch::arange(t, torch::dtype(torch::kLong).device(tgt_in.device()));
  auto x = drop(tgt_embed(tgt_in) + tgt_pos(positions).unsqueeze(0));  // [N, T, E]
  for (size_t i = 0; i < decoder_layers->size(); ++i) {
    auto layer = decoder_layers[i]->as<DecoderLayer>();
    auto h = layer->norm1(x);
    auto [k, v] = layer->self_attn->project_kv(h);
    x = x + layer->drop(layer->self_attn->attend(h, k, v, {}, /*causal=*/true));
    x = x + layer->drop(layer->cross_attn->attend(layer->norm2(x), memory.keys[i], memory.values[i], memory.padding,
                                                  /*causal=*/false));
    x = x + layer->drop(layer->ff(layer->norm3(x)));
  }
  return head(decoder_norm(x));
}

torch::Tensor EncoderDecoderImpl::decode_prefix(const Memory& memory, int64_t samples, const torch::Tensor& tokens,
                                                DecoderCache& cache) {
  const int64_t p = tokens.size(1);
  auto positions = torch::arange(p, torch::dtype(torch::kLong).device(tokens.device()));
  auto x = tgt_embed(tokens) + tgt_pos(positions).unsqueeze(0);  // [N, P, E]
  cache.keys.assign(decoder_layers->size(), {});
  cache.values.assign(decoder_layers->size(), {});
  for (size_t i = 0; i < decoder_layers->size(); ++i) {
    auto layer = decoder_layers[i]->as<DecoderLayer>();
    auto h = layer->norm1(x);
    auto [k, v] = layer->self_attn->project_kv(h);  // [N, H, P, D]
    x = x + layer->self_attn->attend(h, k, v, {}, /*causal=*/true);
    x = x + layer->cross_attn->attend(layer->norm2(x), memory.keys[i], memory.values[i], memory.padding,
                                      /*causal=*/false);
    x = x + layer->ff(layer->norm3(x));
    cache.keys[i] = k.repeat_interleave(samples, 0);
    cache.values[i] = v.repeat_interleave(samples, 0);
  }
  auto last = x.select(1, p - 1);                                      // [N, E]
  return head(decoder_norm(last)).repeat_interleave(samples, 0);       // [R, V]
}

torch::Tensor EncoderDecoderImpl::decode_step(const Memory& memory, int64_t samples, const torch::Tensor& token,
                                              int64_t pos, DecoderCache& cache) {
  const int64_t rows = token.size(0);
  const int64_t n = rows / samples;
  auto x = tgt_embed(token) + tgt_pos->weight[pos].unsqueeze(0);  // [R, E]
  x = x.unsqueeze(1);                                                // [R, 1, E]
  if (cache.keys.empty()) {
    cache.keys.resize(decoder_layers->size());
    cache.values.resize(decoder_layers->size());
  }
  for (size_t i = 0; i < decoder_layers->size(); ++i) {
    auto layer = decoder_layers[i]->as<DecoderLayer>();
    auto h = layer->norm1(x);
    auto [k, v] = layer->self_attn->project_kv(h);  // [R, H, 1, D]
    cache.keys[i] = cache.keys[i].defined() ? torch::cat({cache.keys[i], k}, 2) : k;
    cache.values[i] = cache.values[i].defined() ? torch::cat({cache.values[i], v}, 2) : v;
    x = x + layer->self_attn->attend(h, cache.keys[i], cache.values[i], {}, /*causal=*/false);
    // Cross-attention: the S sample rows of one architecture become S queries against its memory.
    auto q = layer->norm2(x).view({n, samples, x.size(2)});  // [N, S, E]
    auto c = layer->cross_attn->attend(q, memory.keys[i], memory.values[i], memory.padding, /*causal=*/false);
    x = x + c.view({rows, 1, x.size(2)});
    x = x + layer->ff(layer->norm3(x));
  }
  return head(decoder_norm(x)).squeeze(1);  // [R, V]
}

}  // namespace nas::predictor
