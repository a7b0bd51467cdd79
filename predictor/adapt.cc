#include "predictor/adapt.h"

#include <algorithm>
#include <cmath>
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

  // Rows: the shots (repeated to about half of the rows) and the replay architectures.
  std::vector<ArchText> inputs;
  std::vector<std::vector<double>> rows;
  const size_t repeats = std::max<size_t>(1, (replay.size() + shots.size() - 1) / shots.size());
  for (size_t r = 0; r < repeats; ++r)
    for (size_t i = 0; i < shots.size(); ++i) {
      inputs.push_back(shot_texts[i]);
      std::vector<double> row = shot_pred[i].median;
      row.push_back(values[i]);
      rows.push_back(std::move(row));
    }
  std::vector<double> pseudo(replay.size(), std::nan(""));
  if (options.pseudo_labels && !replay.empty() && shots.size() >= 3) {
    // Features: log of the predicted existing targets and of the graph's params / FLOPs, standardised
    // over the replay set; ridge regression of log(value) on the shots (Eigen, LDLT).
    auto features = [&](const Prediction& p, const ArchText& t) {
      std::vector<double> f;
      for (double v : p.median) f.push_back(std::log(std::max(std::abs(v), 1e-6)));
      for (size_t c = 0; c < 2 && c < t.computed.size(); ++c) f.push_back(std::log(std::max(t.computed[c], 1e-6)));
      return f;
    };
    const size_t d = features(replay_pred[0], replay_texts[0]).size();
    Eigen::MatrixXd pool(static_cast<Eigen::Index>(replay.size()), static_cast<Eigen::Index>(d));
    for (size_t i = 0; i < replay.size(); ++i) {
      auto f = features(replay_pred[i], replay_texts[i]);
      for (size_t j = 0; j < d; ++j) pool(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = f[j];
    }
    Eigen::RowVectorXd mu = pool.colwise().mean();
    Eigen::RowVectorXd sd = ((pool.rowwise() - mu).array().square().colwise().mean()).sqrt().max(1e-9);
    auto standardise = [&](const Eigen::MatrixXd& m) {
      return Eigen::MatrixXd((m.rowwise() - mu).array().rowwise() / sd.array());
    };
    Eigen::MatrixXd x(static_cast<Eigen::Index>(shots.size()), static_cast<Eigen::Index>(d));
    Eigen::VectorXd y(static_cast<Eigen::Index>(shots.size()));
    for (size_t i = 0; i < shots.size(); ++i) {
      auto f = features(shot_pred[i], shot_texts[i]);
      for (size_t j = 0; j < d; ++j) x(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = f[j];
      y(static_cast<Eigen::Index>(i)) = std::log(std::max(values[i], 1e-9));
    }
    x = standardise(x);
    Eigen::RowVectorXd x_mean = x.colwise().mean();
    const double y_mean = y.mean();
    Eigen::MatrixXd xc = x.rowwise() - x_mean;
    Eigen::MatrixXd a = xc.transpose() * xc;
    a.diagonal().array() += options.ridge;
    Eigen::VectorXd w = a.ldlt().solve(xc.transpose() * (y.array() - y_mean).matrix());
    Eigen::VectorXd fit = (xc * w).array() + y_mean;
    std::vector<double> fitted(fit.data(), fit.data() + fit.size());
    report.ridge_fit_rho = spearman_rho(fitted, values);
    Eigen::VectorXd guess = ((standardise(pool).rowwise() - x_mean) * w).array() + y_mean;
    for (size_t i = 0; i < replay.size(); ++i) pseudo[i] = std::exp(guess(static_cast<Eigen::Index>(i)));
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
  report.train = rlm.train(inputs, rows, targets, train, "adapt");
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
