#pragma once

// The RLM network: a pre-norm transformer encoder over ONNX-text tokens and a small pre-norm
// transformer decoder over number tokens with cross-attention (after Akhauri et al., "Regression
// Language Models for Code", arXiv 2509.26476; Vaswani et al. 2017; pre-norm as in Xiong et al. 2020).
// Batch-first layout throughout. Attention is written out here (not torch::nn::MultiheadAttention)
// so that decoding can cache the encoder memory's keys/values once per architecture, share them
// across samples, and keep a key/value cache for the decoder's self-attention.

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <ATen/core/Generator.h>
#include <c10/util/Optional.h>

#include <vector>

#include "predictor/options.h"

namespace nas::predictor {

// Inverted dropout (Srivastava et al. 2014): in training, each activation is zeroed with probability
// `p` and the kept ones scaled by 1 / (1 - p); in eval mode the identity. The mask is drawn from
// `generator` when one is set, else from LibTorch's default generator, with the same draws as
// torch::nn::Dropout for the same seed (ATen's CPU dropout: bernoulli_(1 - p), then div_(1 - p)). A
// generator of its own per ensemble member lets members train side by side in threads and stay
// reproducible (Rlm::train). Shapes: any -> the same.
struct SeededDropoutImpl : torch::nn::Module {
  explicit SeededDropoutImpl(double p);
  torch::Tensor forward(const torch::Tensor& x);
  double p;
  c10::optional<at::Generator> generator;
};
TORCH_MODULE(SeededDropout);

// Multi-head scaled dot-product attention with separate query and key/value projections.
struct AttentionImpl : torch::nn::Module {
  AttentionImpl(int64_t d_model, int64_t heads, double dropout);
  // Projects x [N, L, E] to keys and values, each [N, H, L, E/H].
  std::pair<torch::Tensor, torch::Tensor> project_kv(const torch::Tensor& x);
  // q_in [N, T, E] attends to k, v [N, H, L, E/H]. key_padding [N, L] bool (true = ignore) or
  // undefined; causal applies the T x L lower-triangular mask aligned to the end (T <= L).
  // Returns [N, T, E].
  torch::Tensor attend(const torch::Tensor& q_in, const torch::Tensor& k, const torch::Tensor& v,
                       const torch::Tensor& key_padding, bool causal);

  int64_t heads, head_dim;
  torch::nn::Linear q_proj{nullptr}, kv_proj{nullptr}, out_proj{nullptr};
  SeededDropout drop{nullptr};
};
TORCH_MODULE(Attention);

// Position-wise MLP: Linear -> GELU -> Linear.
struct FeedForwardImpl : torch::nn::Module {
  FeedForwardImpl(int64_t d_model, int64_t hidden, double dropout);
  torch::Tensor forward(const torch::Tensor& x);  // [.., E] -> [.., E]
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  SeededDropout drop{nullptr};
};
TORCH_MODULE(FeedForward);

// Pre-norm encoder layer: x + SelfAttn(LN(x)); x + FF(LN(x)).
struct EncoderLayerImpl : torch::nn::Module {
  EncoderLayerImpl(const ModelOptions& o);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& padding);  // [N, S, E]
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  Attention attn{nullptr};
  FeedForward ff{nullptr};
  SeededDropout drop{nullptr};
};
TORCH_MODULE(EncoderLayer);

// Pre-norm decoder layer: causal self-attention, cross-attention to the encoder memory, MLP.
struct DecoderLayerImpl : torch::nn::Module {
  DecoderLayerImpl(const ModelOptions& o);
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr}, norm3{nullptr};
  Attention self_attn{nullptr}, cross_attn{nullptr};
  FeedForward ff{nullptr};
  SeededDropout drop{nullptr};
};
TORCH_MODULE(DecoderLayer);

// Encoder output for a batch of architectures, with each decoder layer's cross-attention keys and
// values computed once.
struct Memory {
  torch::Tensor padding;                      // [N, S] bool, true = padding
  std::vector<torch::Tensor> keys, values;    // per decoder layer: [N, H, S, E/H]
};

// Self-attention key/value cache of an incremental decode over R = N * samples rows.
struct DecoderCache {
  std::vector<torch::Tensor> keys, values;  // per decoder layer: [R, H, t, E/H]
};

// The encoder-decoder. Token ids are int64; padding id 0 in both vocabularies.
struct EncoderDecoderImpl : torch::nn::Module {
  explicit EncoderDecoderImpl(const ModelOptions& options);

  // src [N, S] ids (S <= max_length) -> Memory (padding = src == 0).
  Memory encode(const torch::Tensor& src);
  // Teacher-forced decoding for training: tgt_in [N, T] ids (starting with <s>) -> logits [N, T, V].
  torch::Tensor decode_train(const Memory& memory, const torch::Tensor& tgt_in);
  // One incremental step for R = N * samples rows (row r belongs to architecture r / samples):
  // token [R] ids at position `pos` -> logits [R, V]; appends to `cache`.
  torch::Tensor decode_step(const Memory& memory, int64_t samples, const torch::Tensor& token, int64_t pos,
                            DecoderCache& cache);

  // Teacher-forced decoding of a known prefix for R = N * samples rows: tokens [N, P] ids at
  // positions 0..P-1 (the same prefix for the S sample rows of an architecture, computed once) ->
  // logits of the last position [R, V]; `cache` (empty on entry) receives the prefix's keys/values
  // repeated per sample, so decode_step() continues at position P.
  torch::Tensor decode_prefix(const Memory& memory, int64_t samples, const torch::Tensor& tokens,
                              DecoderCache& cache);

  ModelOptions options;
  torch::nn::Embedding src_embed{nullptr}, src_pos{nullptr}, tgt_embed{nullptr}, tgt_pos{nullptr};
  torch::nn::ModuleList encoder_layers{nullptr}, decoder_layers{nullptr};
  torch::nn::LayerNorm encoder_norm{nullptr}, decoder_norm{nullptr};
  torch::nn::Linear head{nullptr};
  SeededDropout drop{nullptr};
};
TORCH_MODULE(EncoderDecoder);

}  // namespace nas::predictor
