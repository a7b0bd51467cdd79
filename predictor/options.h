#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nas::predictor {

// Sizes of the regression language model (RLM); all set from the `model:` section of the YAML
// config (see configs/rlm_nb201.yaml). Defaults fit training on a 2-core CPU in minutes.
struct ModelOptions {
  int64_t d_model = 128;          // embedding width E
  int64_t encoder_layers = 2;
  int64_t decoder_layers = 1;
  int64_t heads = 4;              // E must be divisible by heads
  int64_t feed_forward = 256;     // hidden width of each layer's MLP
  int64_t max_length = 640;       // encoder positions; a longer text is an error (never truncated)
  double dropout = 0.0;
  int64_t src_vocab_size = 0;     // set from the tokenizer
  int64_t tgt_vocab_size = 0;     // set from the number vocabulary
  int64_t max_target_tokens = 0;  // 1 + targets * tokens_per_number; set from the task
};

// How numbers are decoded at inference (see predictor/rlm.h).
struct DecodeOptions {
  int64_t samples = 8;       // S constrained samples per target; 0 = greedy (one argmax path)
  double temperature = 1.0;  // softmax temperature of the sampling
  uint64_t seed = 0;
  int64_t batch_size = 64;   // architectures per forward pass
  // What a target is conditioned on when several are decoded in turn:
  //   "sampled": each sample continues its own sampled values of the targets before (ancestral sampling
  //              of the joint; quantiles are those of the marginals);
  //   "median":  every sample of target j sees the median over the samples of each target before it
  //              (teacher-forced, like the context values), so the noise of earlier targets does not
  //              spread into later ones; p10/p90 are then conditional on those medians. Costs one
  //              parallel prefix pass per target. Measured on NB201 leave-one-device-out (raspi4, k = 10,
  //              500 test cells, 4 samples): rho 0.889 against 0.901 with "sampled", so not the default.
  std::string conditioning = "sampled";
  // Value bounds of constrained decoding (NumberCodec::allowed_next_within): each target is decoded
  // within the range of the values it was trained on, [min, max] (Rlm::trained_range), widened by
  // bound_margin * (max - min) on both sides, the lower end kept >= 0 when no negative value was seen.
  // This keeps an optimiser from exploiting extrapolation (a search over NB201 found cells predicted at
  // 99.9 % accuracy, true 92.4 %; the best cell has 94.4 %). < 0 = unbounded; targets without a
  // recorded range (checkpoints from before ranges were kept) are unbounded too.
  double bound_margin = 0.02;
};

// Whether `name` is a DecodeOptions::conditioning value ("sampled" or "median").
inline bool is_decode_conditioning(const std::string& name) { return name == "sampled" || name == "median"; }

// Loss curve of one training phase (the RLM's train(), the GIN baseline's fit()).
struct TrainReport {
  int64_t steps = 0;
  double first_loss = 0.0, final_loss = 0.0;  // mean of the first / last 10% of steps
  double seconds = 0.0;
};

}  // namespace nas::predictor
