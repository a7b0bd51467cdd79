#pragma once

// Few-shot adaptation of a trained RLM to a new target, typically the latency of a device a user
// measured (`nas measure`, then `nas adapt`). The new target becomes one more decoded target after the
// model's existing ones, so it is conditioned on them (the model's predicted latencies on the devices it
// knows play the role of HELP's hardware embedding: Lee et al., "HELP: Hardware-Adaptive Efficient
// Latency Prediction for NAS via Meta-Learning", NeurIPS 2021). Torch-free header.

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "predictor/rlm.h"
#include "spaces/search_space.h"

namespace nas::predictor {

// Settings of adapt_rlm(). Defaults were chosen on NB201 leave-one-device-out
// (experiments/lodo_nb201_benchmark.cc).
struct AdaptOptions {
  std::string target;  // the new target's name, e.g. "lat_ms_mybox"
  int64_t steps = 600;  // fine-tuning steps (NB201 raspi4, 10 shots: rho 0.73 at 150, 0.86 at 500, 0.89 at 1,000)
  int64_t batch_size = 16;
  double lr = 1e-3;
  int64_t warmup_steps = 30;
  // Generated architectures (sampled from the space, seeded, distinct from the shots). Their existing
  // targets are distilled from the model's own predictions, so that the old targets keep their quality,
  // and the new target gets a pseudo-label (see `pseudo_labels`).
  int64_t replay = 512;
  // Pseudo-labels for the replay architectures: a ridge regression (`ridge` = L2 weight on standardised
  // features) fitted on the shots maps the model's predictions of its existing targets and the graph's
  // log params / log FLOPs to the log of the new target; the network then learns the new target from the
  // shots and the pseudo-labelled replay set. With only k shots, the existing targets act as the hardware
  // description (as the reference-architecture latencies in HELP). false: replay without a new-target
  // value (only the shots teach it).
  bool pseudo_labels = true;
  // L2 weight of the map (< 0: chosen by leave-one-out on the shots, RidgeTransfer::fit). NB201
  // leave-one-device-out, the map alone on 1,000 test cells, mean rho over 5 devices x k = 10/20/50:
  // 0.9466 at 1, 0.9438 at 10, 0.9418 by leave-one-out (experiments/lodo_nb201_benchmark --ridge-only).
  double ridge = 1.0;
  // Warm start the new target from the existing target whose predictions on the shots rank them most
  // like the measurements (Spearman rho); false = a fresh target embedding.
  bool init_from_nearest = true;
  // Share of the training rows that are the measured shots (repeated), the rest being the replay set;
  // in (0, 1). With pseudo-labels, a smaller share lets the map's ranking of the replay set weigh more
  // than an exact fit of the k shots. NB201 leave-one-device-out, raspi4, k = 10, 500 test cells: rho
  // 0.9013 at 0.5, 0.9012 at 0.15 (and 0.9001 at 0.15 with 1,200 steps), against 0.934 for the map alone.
  double shot_share = 0.5;
  uint64_t seed = 0;
};

// The pseudo-label map of AdaptOptions::pseudo_labels: ridge regression of log(new target) on features
// standardised over a pool of generated architectures; features = log of the model's median predictions
// of its existing targets, then log params_M and log flops_M of the graph (ArchText::computed[0..1]).
class RidgeTransfer {
 public:
  // Fits on the shots (`shot_pred[i]`, `shot_texts[i]` measured `values[i]`, values > 0); `pool_pred` /
  // `pool_texts` (non-empty) only set the standardisation. `ridge` = L2 weight on standardised features;
  // < 0: chosen from 0.01 ... 1000 (half-decade grid) by the leave-one-out error on the shots (PRESS,
  // Allen 1974), which keeps 12 collinear features from overfitting 10-50 shots.
  // Throws nas::ConfigError for mismatched sizes or an empty pool.
  static RidgeTransfer fit(const std::vector<Prediction>& shot_pred, const std::vector<ArchText>& shot_texts,
                           const std::vector<double>& values, const std::vector<Prediction>& pool_pred,
                           const std::vector<ArchText>& pool_texts, double ridge);
  // The predicted new-target value (exp of the fitted log value) for one architecture.
  double predict(const Prediction& pred, const ArchText& text) const;
  bool fitted() const { return !weight_.empty(); }
  double lambda() const { return lambda_; }  // the L2 weight used

 private:
  std::vector<double> features(const Prediction& pred, const ArchText& text) const;
  std::vector<double> mean_, scale_, weight_;  // standardisation and weights, one per feature
  double intercept_ = 0.0, lambda_ = 0.0;
};

// What adapt_rlm() did.
struct AdaptReport {
  std::string init_from;   // the existing target the new one started from ("" = none)
  double init_rho = 0.0;   // Spearman rho of init_from's predictions with the measurements on the shots
  double ridge_fit_rho = std::nan("");  // Spearman rho of the pseudo-label map on the shots (NaN: not used)
  RidgeTransfer transfer;  // the pseudo-label map (fitted() false when not used)
  TrainReport train;
};

// Adds options.target to `rlm` (Rlm::add_target) and fits it to the shots: `shots[i]` measured
// `values[i]` (in the target's unit, e.g. ms). Every training row carries the model's own median
// predictions (before adaptation, config decode settings) of its existing targets, so the new target
// learns to follow from what the model will decode before it. The shots are repeated to about `shot_share` of
// the rows, the rest being the `replay` generated architectures (pseudo-labelled, see AdaptOptions).
// Value bounds (Rlm::trained_range): the new target's range is that of the shots and pseudo-labels; the
// existing targets keep theirs (their labels here are the model's own predictions). Progress on stderr.
// Throws nas::ConfigError for an empty or mismatched shot set, a non-finite value, a target the model
// already predicts, or no free target slot.
AdaptReport adapt_rlm(Rlm& rlm, const spaces::SearchSpace& space, const std::vector<spaces::Genotype>& shots,
                      const std::vector<double>& values, const AdaptOptions& options);

// Architectures and one target column of a table a user supplies (e.g. the output of `nas measure`):
// rows in file order.
struct MeasuredTable {
  std::vector<spaces::Genotype> archs;
  std::vector<double> values;
};

// Reads `path` (CSV with a header; any path, not only under data/): the architecture from `arch_column`
// (a column or template, spaces/arch_columns.h) and the number in column `target`. Throws
// nas::DataError naming file:line and the column for a missing column, an architecture that does not
// parse or a non-numeric or non-finite value; nas::ConfigError for a malformed arch_column.
MeasuredTable load_measured_table(const std::string& path, const std::string& arch_column,
                                  const std::string& target, const spaces::SearchSpace& space);

}  // namespace nas::predictor
