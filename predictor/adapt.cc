#include "predictor/adapt.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>

#include <Eigen/Dense>
#include <fmt/format.h>

#include "core/error.h"
#include "core/rng.h"
#include "core/table.h"
#include "predictor/arch_text.h"
#include "predictor/metrics.h"
#include "spaces/arch_columns.h"

namespace nas::predictor {

std::vector<double> RidgeTransfer::features(const Prediction& pred, const ArchText& text) const {
  std::vector<double> f;
  for (double v : pred.median) f.push_back(std::log(std::max(std::abs(v), 1e-6)));
  for (size_t c = 0; c < 2 && c < text.computed.size(); ++c) f.push_back(std::log(std::max(text.computed[c], 1e-6)));
  return f;
}

RidgeTransfer RidgeTransfer::fit(const std::vector<Prediction>& shot_pred, const std::vector<ArchText>& shot_texts,
                                 const std::vector<double>& values, const std::vector<Prediction>& pool_pred,
                                 const std::vector<ArchText>& pool_texts, double ridge) {
  if (shot_pred.size() != values.size() || shot_texts.size() != values.size() || values.empty())
    throw ConfigError(fmt::format("ridge transfer: {} predictions, {} texts, {} values", shot_pred.size(),
                                  shot_texts.size(), values.size()));
  if (pool_pred.empty() || pool_pred.size() != pool_texts.size())
    throw ConfigError(fmt::format("ridge transfer: pool of {} predictions and {} texts", pool_pred.size(),
                                  pool_texts.size()));
  RidgeTransfer t;
  const auto d = static_cast<Eigen::Index>(t.features(pool_pred[0], pool_texts[0]).size());
  // One feature row per architecture: [preds.size(), d].
  auto feature_rows = [&](const std::vector<Prediction>& preds, const std::vector<ArchText>& texts,
                          const char* what) {
    Eigen::MatrixXd rows(static_cast<Eigen::Index>(preds.size()), d);
    for (size_t i = 0; i < preds.size(); ++i) {
      auto f = t.features(preds[i], texts[i]);
      if (static_cast<Eigen::Index>(f.size()) != d)
        throw ConfigError(
            fmt::format("ridge transfer: a {} row has {} features, the first pool row {}", what, f.size(), d));
      for (Eigen::Index j = 0; j < d; ++j) rows(static_cast<Eigen::Index>(i), j) = f[static_cast<size_t>(j)];
    }
    return rows;
  };
  const Eigen::MatrixXd pool = feature_rows(pool_pred, pool_texts, "pool");
  Eigen::RowVectorXd mu = pool.colwise().mean();
  Eigen::RowVectorXd sd = ((pool.rowwise() - mu).array().square().colwise().mean()).sqrt().max(1e-9);
  const auto n = static_cast<Eigen::Index>(values.size());
  const Eigen::MatrixXd x = (feature_rows(shot_pred, shot_texts, "shot").rowwise() - mu).array().rowwise() / sd.array();
  Eigen::VectorXd y(n);
  for (Eigen::Index i = 0; i < n; ++i) y(i) = std::log(std::max(values[static_cast<size_t>(i)], 1e-9));
  Eigen::RowVectorXd x_mean = x.colwise().mean();
  const double y_mean = y.mean();
  Eigen::MatrixXd xc = x.rowwise() - x_mean;
  Eigen::VectorXd yc = y.array() - y_mean;
  const Eigen::MatrixXd xtx = xc.transpose() * xc;
  auto factor = [&](double lambda) {
    Eigen::MatrixXd a = xtx;
    a.diagonal().array() += lambda;
    return Eigen::LDLT<Eigen::MatrixXd>(a);
  };
  t.lambda_ = ridge;
  if (ridge < 0) {
    // Leave-one-out squared error of each candidate, in closed form: residual / (1 - leverage)
    // (Allen 1974, PRESS), the centring counted as fixed.
    double best = INFINITY;
    for (double lambda : {0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0}) {
      auto ldlt = factor(lambda);
      Eigen::VectorXd w = ldlt.solve(xc.transpose() * yc);
      Eigen::VectorXd resid = yc - xc * w;
      Eigen::MatrixXd ax = ldlt.solve(xc.transpose());  // [d, n]
      double press = 0.0;
      for (Eigen::Index i = 0; i < n; ++i) {
        double h = xc.row(i).dot(ax.col(i)) + 1.0 / static_cast<double>(n);
        double e = resid(i) / std::max(1.0 - h, 1e-6);
        press += e * e;
      }
      if (press < best) {
        best = press;
        t.lambda_ = lambda;
      }
    }
  }
  Eigen::VectorXd w = factor(t.lambda_).solve(xc.transpose() * yc);
  t.intercept_ = y_mean - (x_mean * w)(0);
  for (Eigen::Index j = 0; j < d; ++j) {
    t.mean_.push_back(mu(j));
    t.scale_.push_back(sd(j));
    t.weight_.push_back(w(j));
  }
  return t;
}

double RidgeTransfer::predict(const Prediction& pred, const ArchText& text) const {
  if (!fitted()) throw ConfigError("ridge transfer: not fitted");
  auto f = features(pred, text);
  if (f.size() != weight_.size())
    throw ConfigError(fmt::format("ridge transfer: {} features, fitted on {}", f.size(), weight_.size()));
  double y = intercept_;
  for (size_t j = 0; j < f.size(); ++j) y += weight_[j] * (f[j] - mean_[j]) / scale_[j];
  return std::exp(y);
}

AdaptReport adapt_rlm(Rlm& rlm, const spaces::SearchSpace& space, const std::vector<spaces::Genotype>& shots,
                      const std::vector<double>& values, const AdaptOptions& options) {
  if (options.target.empty()) throw ConfigError("adapt: the new target needs a name");
  if (shots.empty()) throw ConfigError(fmt::format("adapt {}: no measured architectures", options.target));
  if (shots.size() != values.size())
    throw ConfigError(fmt::format("adapt {}: {} architectures but {} values", options.target, shots.size(),
                                  values.size()));
  for (size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i]))
      throw ConfigError(fmt::format("adapt {}: value {} ({}) is not a finite number", options.target, i,
                                    space.format(shots[i])));
  if (!(options.shot_share > 0.0 && options.shot_share < 1.0))
    throw ConfigError(fmt::format("adapt {}: shot_share {} is not in (0, 1)", options.target, options.shot_share));
  const std::vector<std::string> old = rlm.config().data.targets;
  if (std::find(old.begin(), old.end(), options.target) != old.end())
    throw ConfigError(fmt::format("adapt: the model already predicts '{}'", options.target));

  // Replay architectures: sampled, seeded, none of them a shot.
  std::set<std::string> taken;
  for (const auto& g : shots) taken.insert(space.canonical(g));
  std::vector<spaces::Genotype> replay;
  const int64_t replay_size = options.replay;
  Rng rng(derive_seed(options.seed, 0x41444150));
  const uint64_t limit = space.size() ? *space.size() - taken.size() : UINT64_MAX;
  for (int64_t tries = 0; static_cast<int64_t>(replay.size()) < replay_size &&
                          static_cast<uint64_t>(replay.size()) < limit && tries < 100 * replay_size;
       ++tries) {
    spaces::Genotype g = space.sample(rng);
    if (taken.insert(space.canonical(g)).second) replay.push_back(std::move(g));
  }

  // The model's own view of the existing targets, before adaptation.
  const std::string dataset = rlm.config().dataset;
  auto shot_texts = architecture_texts(space, shots, dataset);
  auto replay_texts = architecture_texts(space, replay, dataset);
  const DecodeOptions decode = rlm.config().decode;
  auto shot_pred = old.empty() ? std::vector<Prediction>(shots.size()) : rlm.predict(shot_texts, old, decode);
  auto replay_pred = old.empty() || replay.empty() ? std::vector<Prediction>(replay.size())
                                                   : rlm.predict(replay_texts, old, decode);

  AdaptReport report;
  if (options.init_from_nearest && shots.size() >= 3) {
    double best = -2.0;
    for (size_t j = 0; j < old.size(); ++j) {
      std::vector<double> p;
      for (const auto& pr : shot_pred) p.push_back(pr.median[j]);
      double rho = spearman_rho(p, values);
      if (std::isfinite(rho) && rho > best) {
        best = rho;
        report.init_from = old[j];
      }
    }
    report.init_rho = best;
  }
  rlm.add_target(options.target, report.init_from);

  // Rows: the shots (repeated to about shot_share of the rows) and the replay architectures.
  std::vector<ArchText> inputs;
  std::vector<std::vector<double>> rows;
  const double share_ratio = options.shot_share / (1.0 - options.shot_share);
  const size_t repeats = std::max<size_t>(
      1, static_cast<size_t>(std::ceil(share_ratio * static_cast<double>(replay.size()) / shots.size() - 1e-9)));
  for (size_t r = 0; r < repeats; ++r)
    for (size_t i = 0; i < shots.size(); ++i) {
      inputs.push_back(shot_texts[i]);
      std::vector<double> row = shot_pred[i].median;
      row.push_back(values[i]);
      rows.push_back(std::move(row));
    }
  std::vector<double> pseudo(replay.size(), std::nan(""));
  if (options.pseudo_labels && !replay.empty() && shots.size() >= 3) {
    report.transfer = RidgeTransfer::fit(shot_pred, shot_texts, values, replay_pred, replay_texts, options.ridge);
    std::vector<double> fitted;
    for (size_t i = 0; i < shots.size(); ++i) fitted.push_back(report.transfer.predict(shot_pred[i], shot_texts[i]));
    report.ridge_fit_rho = spearman_rho(fitted, values);
    for (size_t i = 0; i < replay.size(); ++i) pseudo[i] = report.transfer.predict(replay_pred[i], replay_texts[i]);
  }
  for (size_t i = 0; i < replay.size(); ++i) {
    inputs.push_back(replay_texts[i]);
    std::vector<double> row = replay_pred[i].median;
    row.push_back(pseudo[i]);
    rows.push_back(std::move(row));
  }
  std::vector<std::string> targets = old;
  targets.push_back(options.target);
  TrainOptions train;
  train.steps = options.steps;
  train.batch_size = options.batch_size;
  train.lr = options.lr;
  train.warmup_steps = options.warmup_steps;
  train.targets = targets;
  // The old targets' labels here are the model's own predictions: they are no evidence of those
  // targets' ranges, so the value bounds of decoding keep what the earlier training recorded (without
  // this every adaptation would widen them by the decoding margin).
  std::vector<std::optional<TargetRange>> kept;
  for (const auto& t : old) {
    const TargetRange* r = rlm.trained_range(t);
    kept.push_back(r ? std::optional<TargetRange>(*r) : std::nullopt);
  }
  report.train = rlm.train(inputs, rows, targets, train, "adapt");
  for (size_t j = 0; j < old.size(); ++j) rlm.set_trained_range(old[j], kept[j] ? &*kept[j] : nullptr);
  return report;
}

MeasuredTable load_measured_table(const std::string& path, const std::string& arch_column,
                                  const std::string& target, const spaces::SearchSpace& space) {
  const spaces::ArchColumns arch(arch_column);
  Table::TypeHints hints = arch.text_hints();
  hints.push_back({target, ColumnType::kNumber});
  Table table = Table::load(path, hints);
  if (!table.has_column(target))
    throw DataError(fmt::format("{}: no column '{}' (columns: {})", path, target, fmt::join(table.columns(), ", ")));
  MeasuredTable out;
  for (size_t r = 0; r < table.rows(); ++r) {
    std::string text = arch.arch(table, r);
    try {
      out.archs.push_back(space.parse(text));
    } catch (const SpaceError& e) {
      throw DataError(fmt::format("{}:{} ({}): {}", path, r + 2, arch.describe(), e.what()));
    }
    double v = table.number(r, target);
    if (!std::isfinite(v))
      throw DataError(fmt::format("{}:{}: column '{}': missing or non-finite value", path, r + 2, target));
    out.values.push_back(v);
  }
  return out;
}

}  // namespace nas::predictor
