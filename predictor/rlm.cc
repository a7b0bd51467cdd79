#include "predictor/rlm.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/types.h>
#include <torch/cuda.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>
#include <torch/serialize.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <torch/utils.h>
#include <torch/nn/functional/loss.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <filesystem>
#include <functional>
#include <fstream>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "core/error.h"
#include "core/io.h"
#include "core/progress.h"
#include "core/rng.h"
#include "core/table.h"
#include "predictor/arch_text.h"
#include "predictor/batch_sampler.h"
#include "predictor/bpe_tokenizer.h"
#include "predictor/model.h"
#include "predictor/number_codec.h"
#include "predictor/threads.h"

namespace nas::predictor {

namespace {

constexpr const char* kCheckpointFormat = "nas-rlm-checkpoint 1";
constexpr const char* kRangesFile = "target_ranges.csv";

// The weights file of ensemble member i in a checkpoint: model.pt, model_1.pt, model_2.pt, ...
std::string member_file(size_t i) { return i == 0 ? "model.pt" : fmt::format("model_{}.pt", i); }

torch::Device parse_device(const std::string& name) {
  try {
    torch::Device d(name);
    if (d.is_cuda() && !torch::cuda::is_available())
      throw ConfigError(fmt::format("device '{}' requested but CUDA is not available in this build", name));
    return d;
  } catch (const c10::Error&) {
    throw ConfigError(fmt::format("unknown device '{}' (expected 'cpu' or 'cuda[:N]')", name));
  }
}

// target_ranges.csv of a checkpoint: header "target,count,min,max", then one row per target.
std::map<std::string, TargetRange> read_ranges(const std::string& path) {
  const Table table = [&] {
    try {
      return Table::load(path, {{"target", ColumnType::kText},
                                {"count", ColumnType::kNumber},
                                {"min", ColumnType::kNumber},
                                {"max", ColumnType::kNumber}});
    } catch (const DataError& e) {
      throw CheckpointError(e.what());
    }
  }();  // Table::load throws (here: CheckpointError) when one of the four columns is missing
  std::map<std::string, TargetRange> out;
  for (size_t row = 0; row < table.rows(); ++row) {
    const std::string& name = table.text(row, "target");
    // Validated as a double first: casting a missing (NaN) or huge count to an integer is undefined.
    const double count = table.number(row, "count");
    const double min = table.number(row, "min"), max = table.number(row, "max");
    if (!(count >= 1 && count <= 9e15 && count == std::floor(count)) || !std::isfinite(min) || !std::isfinite(max) ||
        min > max)
      throw CheckpointError(fmt::format("{}:{}: target '{}': need an integer count >= 1 and finite min <= max", path,
                                        row + 2, name));
    const TargetRange r{static_cast<int64_t>(count), min, max};
    if (!out.emplace(name, r).second)
      throw CheckpointError(fmt::format("{}:{}: target '{}' listed twice", path, row + 2, name));
  }
  return out;
}

// Runs body(i) for i = 0 .. count - 1 on `workers` threads, each with `threads_each` LibTorch intra-op
// threads (workers <= 1 or a single item: in this thread, as it is). While they run, this thread calls
// `poll` (when set) every 200 ms. The first exception a call throws is rethrown once all threads have
// stopped; the other threads take no new item after it.
void run_items(size_t count, int workers, int threads_each, const std::function<void(size_t)>& body,
               const std::function<void()>& poll = {}) {
  workers = static_cast<int>(std::min<size_t>(static_cast<size_t>(std::max(workers, 1)), count));
  if (workers <= 1) {
    for (size_t i = 0; i < count; ++i) body(i);
    return;
  }
  const int threads = torch::get_num_threads();
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::atomic<int> running{workers};
  std::vector<std::exception_ptr> errors(static_cast<size_t>(workers));
  std::vector<std::thread> pool;
  for (int w = 0; w < workers; ++w)
    pool.emplace_back([&, w] {
      try {
        torch::set_num_threads(threads_each);
        for (size_t i = next++; i < count && !failed.load(); i = next++) body(i);
      } catch (...) {
        errors[static_cast<size_t>(w)] = std::current_exception();
        failed = true;
      }
      --running;
    });
  if (poll)
    while (running.load() > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      poll();
    }
  for (auto& t : pool) t.join();
  torch::set_num_threads(threads);  // the workers' setting is also LibTorch's process-wide default
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace

std::vector<Prediction> predict_in_training_order(const Rlm& rlm, const std::vector<ArchText>& inputs,
                                                  const std::vector<std::string>& targets,
                                                  const DecodeOptions& options) {
  const auto& order = rlm.config().data.targets;
  size_t prefix = 0;
  for (const auto& t : targets) {
    auto it = std::find(order.begin(), order.end(), t);
    if (it != order.end()) prefix = std::max(prefix, static_cast<size_t>(it - order.begin()) + 1);
  }
  std::vector<std::string> decoded(order.begin(), order.begin() + static_cast<long>(prefix));
  for (const auto& t : targets)
    if (std::find(decoded.begin(), decoded.end(), t) == decoded.end()) decoded.push_back(t);
  std::vector<size_t> column;
  for (const auto& t : targets)
    column.push_back(static_cast<size_t>(std::find(decoded.begin(), decoded.end(), t) - decoded.begin()));
  if (decoded == targets) return rlm.predict(inputs, targets, options);
  auto all = rlm.predict(inputs, decoded, options);
  std::vector<Prediction> out(all.size());
  for (size_t i = 0; i < all.size(); ++i)
    for (size_t c : column) {
      out[i].median.push_back(all[i].median[c]);
      out[i].mean.push_back(all[i].mean[c]);
      out[i].p10.push_back(all[i].p10[c]);
      out[i].p90.push_back(all[i].p90[c]);
    }
  return out;
}

double quantile(std::vector<double> values, double q) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(values.begin(), values.end());
  double pos = q * static_cast<double>(values.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(pos));
  size_t hi = std::min(lo + 1, values.size() - 1);
  double frac = pos - static_cast<double>(lo);
  return values[lo] + (values[hi] - values[lo]) * frac;
}

struct Rlm::Impl {
  RlmConfig config;
  std::unique_ptr<BpeTokenizer> tokenizer;
  std::shared_ptr<P10Codec> codec;
  std::unique_ptr<NumberVocab> vocab;
  std::vector<std::string> targets;  // slot order
  std::map<std::string, TargetRange> ranges;  // trained values per target (Rlm::trained_range)
  std::vector<EncoderDecoder> models;  // the ensemble's members (RlmConfig::members); one for a single model
  torch::Device device{torch::kCPU};

  int64_t k() const { return vocab->tokens_per_number(); }

  // Widens ranges[target] to cover `value` as the decoder sees it (rounded by the codec), so that a
  // range always holds representable numbers.
  void observe(const std::string& target, double value) {
    const double v = vocab->decode_numbers(vocab->encode_numbers({value}))[0];
    auto [it, fresh] = ranges.try_emplace(target, TargetRange{0, v, v});
    TargetRange& r = it->second;
    ++r.count;
    r.min = std::min(r.min, v);
    r.max = std::max(r.max, v);
  }

  // Value bounds of `target` for decoding with `margin` (DecodeOptions::bound_margin).
  ValueBounds bounds_of(const std::string& target, double margin) const {
    auto it = ranges.find(target);
    if (margin < 0 || it == ranges.end() || it->second.count == 0) return {};
    const TargetRange& r = it->second;
    const double pad = margin * (r.max - r.min);
    ValueBounds b{r.min - pad, r.max + pad};
    if (r.min >= 0) b.lo = std::max(b.lo, 0.0);
    return b;
  }
  int64_t target_token(size_t slot) const { return vocab->size() + static_cast<int64_t>(slot); }

  void build(const RlmConfig& c, const BpeTokenizer& tok) {
    config = c;
    tokenizer = std::make_unique<BpeTokenizer>(tok);
    P10Options po;
    po.num_digits = static_cast<int>(c.number_digits);
    po.exponent_range = static_cast<int>(c.number_exponent_range);
    po.out_of_range = OutOfRange::kClamp;
    codec = std::make_shared<P10Codec>(po);
    vocab = std::make_unique<NumberVocab>(codec);
    ModelOptions mo = c.model;
    mo.src_vocab_size = tokenizer->vocab_size();
    mo.tgt_vocab_size = vocab->size() + c.max_targets;
    mo.max_target_tokens = c.max_targets * (1 + k());
    config.model = mo;
    device = parse_device(c.device);
    models.clear();
    for (int64_t i = 0; i < std::max<int64_t>(1, c.members); ++i) {
      models.emplace_back(mo);
      models.back()->to(device);
    }
    config.members = static_cast<int64_t>(models.size());
  }

  // A new ensemble member: a copy of member 0's weights.
  void add_member() {
    EncoderDecoder copy(config.model);
    copy->to(device);
    torch::NoGradGuard no_grad;
    auto source = models.front()->named_parameters();
    for (auto& item : copy->named_parameters()) item.value().copy_(source[item.key()]);
    models.push_back(copy);
    config.members = static_cast<int64_t>(models.size());
  }

  size_t slot_of(const std::string& target, bool create) {
    auto it = std::find(targets.begin(), targets.end(), target);
    if (it != targets.end()) return static_cast<size_t>(it - targets.begin());
    if (!create) throw ConfigError(fmt::format("target '{}' is unknown to this model (known: {})", target,
                                               fmt::join(targets, ", ")));
    if (static_cast<int64_t>(targets.size()) >= config.max_targets)
      throw ConfigError(fmt::format("no free target slot for '{}': the model has max_targets = {}", target,
                                    config.max_targets));
    targets.push_back(target);
    return targets.size() - 1;
  }

  std::vector<size_t> slots(const std::vector<std::string>& names, bool create) {
    std::vector<size_t> out;
    for (const auto& n : names) out.push_back(slot_of(n, create));
    if (static_cast<int64_t>(names.size() * (1 + k())) > config.model.max_target_tokens)
      throw ConfigError(fmt::format("{} targets exceed the decoder's {} positions", names.size(),
                                    config.model.max_target_tokens));
    return out;
  }

  // The config's context targets (data.context) that `targets` does not name, as indices into
  // computed_target_names().
  std::vector<size_t> context_of(const std::vector<std::string>& targets) const {
    const auto& names = computed_target_names();
    std::vector<size_t> out;
    for (const auto& c : config.data.context) {
      if (std::find(targets.begin(), targets.end(), c) != targets.end()) continue;
      auto it = std::find(names.begin(), names.end(), c);
      if (it == names.end())
        throw ConfigError(fmt::format("data.context: '{}' is not a computed target (known: {})", c, fmt::join(names, ", ")));
      out.push_back(static_cast<size_t>(it - names.begin()));
    }
    return out;
  }

  // Context values of one input (computed from its graph); throws if they are missing.
  double context_value(const ArchText& a, size_t index) const {
    if (a.computed.size() != computed_target_names().size() || std::isnan(a.computed[index]))
      throw ConfigError(fmt::format(
          "the model is conditioned on the computed target '{}' (data.context) but an input has no computed values "
          "(build inputs with predictor::architecture_texts or model_text)",
          computed_target_names()[index]));
    return a.computed[index];
  }

  // `targets` preceded by the context targets it does not name (their names into *all), and the
  // decoder sequence of one input: its context values, then `values`.
  std::vector<size_t> with_context(const std::vector<std::string>& targets, std::vector<std::string>* all) const {
    auto context = context_of(targets);
    all->clear();
    for (size_t c : context) all->push_back(computed_target_names()[c]);
    all->insert(all->end(), targets.begin(), targets.end());
    return context;
  }
  std::vector<int64_t> sequence_with_context(const ArchText& input, const std::vector<double>& values,
                                             const std::vector<size_t>& context, const std::vector<size_t>& slot) const {
    std::vector<double> row;
    for (size_t c : context) row.push_back(context_value(input, c));
    row.insert(row.end(), values.begin(), values.end());
    return target_sequence(row, slot);
  }

  std::vector<int64_t> tokenize(const ArchText& a) const {
    auto ids = tokenizer->encode(a.text, a.space);
    // Never truncated: a cut-off text would silently drop part of the architecture.
    if (static_cast<int64_t>(ids.size()) > config.model.max_length)
      throw ConfigError(fmt::format(
          "a {} text is {} tokens long but the model reads at most model.max_length = {} (texts are never "
          "truncated; raise max_length, see experiments/text_length_report)",
          a.space, ids.size(), config.model.max_length));
    return {ids.begin(), ids.end()};
  }

  // Decoder sequence [tgt_0, n.., tgt_1, n.., ...]; a missing (NaN) value becomes pad tokens.
  std::vector<int64_t> target_sequence(const std::vector<double>& values, const std::vector<size_t>& slot) const {
    std::vector<int64_t> seq;
    for (size_t j = 0; j < slot.size(); ++j) {
      seq.push_back(target_token(slot[j]));
      if (std::isnan(values[j])) {
        for (int64_t t = 0; t < k(); ++t) seq.push_back(NumberVocab::kPadId);
      } else {
        for (int id : vocab->encode_numbers({values[j]})) seq.push_back(id);
      }
    }
    return seq;
  }

  torch::Tensor pad_batch(const std::vector<std::vector<int64_t>>& seqs, const std::vector<size_t>& idx) const {
    size_t len = 0;
    for (size_t i : idx) len = std::max(len, seqs[i].size());
    auto t = torch::zeros({static_cast<int64_t>(idx.size()), static_cast<int64_t>(len)}, torch::kLong);
    auto acc = t.accessor<int64_t, 2>();
    for (size_t r = 0; r < idx.size(); ++r)
      for (size_t c = 0; c < seqs[idx[r]].size(); ++c) acc[r][c] = seqs[idx[r]][c];
    return t.to(device);
  }

  // Teacher-forced loss over a batch: labels are the next tokens where they are number tokens.
  torch::Tensor batch_loss(EncoderDecoder& model, const torch::Tensor& src, const torch::Tensor& seq) const {
    auto memory = model->encode(src);
    auto logits = model->decode_train(memory, seq);  // [N, L, V]
    auto labels = torch::zeros_like(seq);
    const int64_t len = seq.size(1);
    labels.narrow(1, 0, len - 1).copy_(seq.narrow(1, 1, len - 1));
    labels.masked_fill_(labels.ge(vocab->size()), NumberVocab::kPadId);  // target-name tokens are inputs only
    namespace F = torch::nn::functional;
    return F::cross_entropy(logits.reshape({-1, logits.size(2)}), labels.reshape({-1}),
                            F::CrossEntropyFuncOptions().ignore_index(NumberVocab::kPadId));
  }

  // One member's training phase (Rlm::train) on token sequences src / seq; on_step(step, mean loss
  // of the last 50 steps, lr) after each step. Returns the loss of every step. Stops early (returning
  // the steps done) once *stop is set.
  std::vector<double> train_member(size_t member, const std::vector<std::vector<int64_t>>& src,
                                   const std::vector<std::vector<int64_t>>& seq, const TrainOptions& options,
                                   size_t augmented_from, const std::function<void(int64_t, double, double)>& on_step,
                                   const std::atomic<bool>& stop) {
    EncoderDecoder& model = models[member];
    // Member 0 keeps the seeds of a single model, so `members: 1` trains exactly as before ensembles.
    const uint64_t dropout_seed = derive_seed(config.seed, 17, static_cast<uint64_t>(options.steps), member);
    const uint64_t batch_seed = derive_seed(config.seed, 23, src.size(), member);
    // The member's own dropout generator on CPU (members run in threads); on CUDA the default one, seeded
    // here (members run one after another there).
    c10::optional<at::Generator> generator;
    if (device.is_cpu())
      generator = at::make_generator<at::CPUGeneratorImpl>(dropout_seed);
    else
      torch::manual_seed(dropout_seed);
    model->train();
    // A phase's own dropout, restored to the model's when the phase ends. The attention-weight dropout
    // layers are the `drop` of each Attention module.
    const auto modules = model->modules(/*include_self=*/false);
    std::set<const torch::nn::Module*> attention;
    for (const auto& mod : modules)
      if (auto* a = dynamic_cast<AttentionImpl*>(mod.get())) attention.insert(a->drop.get());
    auto set_dropout = [&](double p, double attention_p, const c10::optional<at::Generator>& gen) {
      for (const auto& mod : modules)
        if (auto* d = dynamic_cast<SeededDropoutImpl*>(mod.get())) {
          d->p = attention.count(d) ? attention_p : p;
          d->generator = gen;
        }
    };
    const double p = options.dropout >= 0 ? options.dropout : config.model.dropout;
    set_dropout(p, options.attention_dropout >= 0 ? options.attention_dropout : p, generator);
    const auto params = model->parameters();  // handles of the weights: optimizer, clipping, averaging
    torch::optim::AdamW optimizer(params, torch::optim::AdamWOptions(options.lr).weight_decay(options.weight_decay));
    std::vector<size_t> lengths;
    if (options.length_groups > 0)
      for (const auto& x : src) lengths.push_back(x.size());
    BatchSampler sampler(src.size(), batch_seed, std::move(lengths), static_cast<size_t>(options.length_groups),
                         augmented_from);
    // Polyak averaging (TrainOptions::ema_decay): the averaged weights replace the model's at the end.
    std::vector<torch::Tensor> ema;
    if (options.ema_decay > 0) {
      torch::NoGradGuard no_grad;
      for (const auto& w : params) ema.push_back(w.detach().clone());
    }
    std::vector<double> losses;
    const double pi = std::acos(-1.0);
    for (int64_t step = 0; step < options.steps && !stop.load(); ++step) {
      double lr;
      if (step < options.warmup_steps) {
        lr = options.lr * static_cast<double>(step + 1) / static_cast<double>(options.warmup_steps);
      } else {
        double t = static_cast<double>(step - options.warmup_steps) /
                   std::max<double>(1.0, static_cast<double>(options.steps - options.warmup_steps));
        lr = options.lr * (0.1 + 0.9 * 0.5 * (1.0 + std::cos(pi * t)));
      }
      for (auto& group : optimizer.param_groups())
        static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
      auto idx = sampler.next(static_cast<size_t>(options.batch_size));
      auto loss = batch_loss(model, pad_batch(src, idx), pad_batch(seq, idx));
      optimizer.zero_grad();
      loss.backward();
      torch::nn::utils::clip_grad_norm_(params, options.clip_norm);
      optimizer.step();
      if (!ema.empty()) {
        torch::NoGradGuard no_grad;
        const double d =
            std::min(options.ema_decay, (1.0 + static_cast<double>(step)) / (10.0 + static_cast<double>(step)));
        for (size_t i = 0; i < params.size(); ++i) ema[i].mul_(d).add_(params[i].detach(), 1.0 - d);
      }
      losses.push_back(loss.item<double>());
      size_t w = std::min<size_t>(losses.size(), 50);
      double recent = std::accumulate(losses.end() - static_cast<long>(w), losses.end(), 0.0) / static_cast<double>(w);
      on_step(step + 1, recent, lr);
    }
    if (!ema.empty()) {
      torch::NoGradGuard no_grad;
      for (size_t i = 0; i < params.size(); ++i) params[i].copy_(ema[i]);
    }
    set_dropout(config.model.dropout, config.model.dropout, c10::nullopt);
    model->eval();
    return losses;
  }
};

Rlm::Rlm() : impl_(std::make_unique<Impl>()) { configure_threads(); }
Rlm::Rlm(const RlmConfig& config, const BpeTokenizer& tokenizer) : Rlm() {
  torch::manual_seed(config.seed);
  RlmConfig single = config;
  single.members = 1;
  impl_->build(single, tokenizer);
}
Rlm::~Rlm() = default;
Rlm::Rlm(Rlm&&) noexcept = default;
Rlm& Rlm::operator=(Rlm&&) noexcept = default;

void Rlm::add_target(const std::string& name, const std::string& init_from) {
  auto& m = *impl_;
  auto& targets = m.config.data.targets;
  if (std::find(targets.begin(), targets.end(), name) != targets.end() ||
      std::find(m.targets.begin(), m.targets.end(), name) != m.targets.end())
    throw ConfigError(fmt::format("the model already predicts '{}'", name));
  std::vector<std::string> order = targets, all;
  order.push_back(name);
  m.with_context(order, &all);
  const int64_t block = static_cast<int64_t>(all.size()) - 1;  // place of `name` in the decoded sequence
  const int64_t width = 1 + m.k();
  if ((block + 1) * width > m.config.model.max_target_tokens)
    throw ConfigError(fmt::format("no decoder position left for '{}': {} decoded targets fill the model's {} "
                                  "positions",
                                  name, block, m.config.model.max_target_tokens));
  std::optional<size_t> from;
  if (!init_from.empty()) from = m.slot_of(init_from, /*create=*/false);
  size_t slot = m.slot_of(name, /*create=*/true);
  for (auto& model : m.models) {
    torch::NoGradGuard no_grad;
    auto emb = model->tgt_embed->weight;
    if (from) emb[m.target_token(slot)].copy_(emb[m.target_token(*from)]);
    // The source block of positions: init_from's place in the decoded sequence (a target always sits at
    // the same place, so the positions carry part of its identity), else the previous target's.
    int64_t source_block = block - 1;
    if (from) source_block = std::find(all.begin(), all.end(), init_from) - all.begin();
    if (source_block >= 0) {
      auto pos = model->tgt_pos->weight;
      pos.narrow(0, block * width, width).copy_(pos.narrow(0, source_block * width, width));
    }
  }
  targets.push_back(name);
  m.config.finetune.targets = targets;
}

const RlmConfig& Rlm::config() const { return impl_->config; }
RlmConfig& Rlm::mutable_config() { return impl_->config; }
const BpeTokenizer& Rlm::tokenizer() const { return *impl_->tokenizer; }
const std::vector<std::string>& Rlm::known_targets() const { return impl_->targets; }
const TargetRange* Rlm::trained_range(const std::string& target) const {
  auto it = impl_->ranges.find(target);
  return it == impl_->ranges.end() ? nullptr : &it->second;
}
void Rlm::set_trained_range(const std::string& target, const TargetRange* range) {
  if (range)
    impl_->ranges[target] = *range;
  else
    impl_->ranges.erase(target);
}

int64_t Rlm::parameter_count() const {
  int64_t n = 0;
  for (const auto& model : impl_->models)
    for (const auto& p : model->parameters()) n += p.numel();
  return n;
}

TrainReport Rlm::train(const std::vector<ArchText>& inputs, const std::vector<std::vector<double>>& values,
                       const std::vector<std::string>& targets, const TrainOptions& options,
                       const std::string& label, size_t augmented_from) {
  auto& m = *impl_;
  NAS_CHECK(inputs.size() == values.size(), "{} inputs but {} value rows", inputs.size(), values.size());
  TrainReport report;
  if (options.steps == 0 || inputs.empty()) return report;
  // Context targets first (their values computed from each input's graph), then `targets`.
  std::vector<std::string> all_targets;
  const auto context = m.with_context(targets, &all_targets);
  auto slot = m.slots(all_targets, /*create=*/true);
  std::vector<std::vector<int64_t>> src(inputs.size()), seq(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    NAS_CHECK(values[i].size() == targets.size(), "row {} has {} values for {} targets", i, values[i].size(),
              targets.size());
    src[i] = m.tokenize(inputs[i]);
    seq[i] = m.sequence_with_context(inputs[i], values[i], context, slot);
  }
  for (size_t j = 0; j < targets.size(); ++j)
    for (const auto& row : values)
      if (!std::isnan(row[j])) m.observe(targets[j], row[j]);
  while (static_cast<int64_t>(m.models.size()) < options.members) m.add_member();
  const size_t members = m.models.size();
  std::vector<std::vector<double>> losses(members);
  std::atomic<bool> stop{false};
  Progress progress(members > 1 ? fmt::format("{} ({} members)", label, members) : label,
                    options.steps * static_cast<int64_t>(members), "step");
  if (members == 1 || !m.device.is_cpu()) {
    // One member after another, each on all intra-op threads; progress counts every member's steps.
    for (size_t i = 0; i < members; ++i) {
      const int64_t before = static_cast<int64_t>(i) * options.steps;
      losses[i] = m.train_member(i, src, seq, options, augmented_from, [&](int64_t step, double recent, double lr) {
        progress.update(before + step, fmt::format("loss={:.4f} lr={:.2e}", recent, lr));
      }, stop);
    }
  } else {
    // Members side by side, each in a thread with its share of the intra-op threads; this thread draws
    // the progress line (mean recent loss over the members).
    std::vector<std::atomic<int64_t>> done(members);
    std::vector<std::atomic<double>> recent(members);
    for (size_t i = 0; i < members; ++i) done[i] = 0, recent[i] = 0.0;
    std::atomic<double> lr_now{options.lr};
    const int share = std::max(1, torch::get_num_threads() / static_cast<int>(members));
    run_items(
        members, static_cast<int>(members), share,
        [&](size_t i) {
          try {
            losses[i] = m.train_member(i, src, seq, options, augmented_from, [&](int64_t step, double loss, double lr) {
              done[i] = step;
              recent[i] = loss;
              if (i == 0) lr_now = lr;
            }, stop);
          } catch (...) {
            stop = true;  // the other members end their phase early
            throw;
          }
        },
        [&] {
          int64_t total = 0;
          double loss = 0;
          for (size_t i = 0; i < members; ++i) total += done[i].load(), loss += recent[i].load();
          progress.update(total,
                          fmt::format("loss={:.4f} lr={:.2e}", loss / static_cast<double>(members), lr_now.load()));
        });
  }
  double last = 0;
  for (const auto& l : losses) last += l.back() / static_cast<double>(members);
  progress.finish(fmt::format("loss={:.4f}", last));
  // Per member: the mean of its first / last 10% of steps; averaged over the members.
  for (const auto& l : losses) {
    size_t tenth = std::max<size_t>(1, l.size() / 10);
    report.first_loss += std::accumulate(l.begin(), l.begin() + static_cast<long>(tenth), 0.0) / tenth / members;
    report.final_loss += std::accumulate(l.end() - static_cast<long>(tenth), l.end(), 0.0) / tenth / members;
  }
  report.steps = options.steps;
  report.seconds = progress.elapsed_s();
  return report;
}

double Rlm::loss(const std::vector<ArchText>& inputs, const std::vector<std::vector<double>>& values,
                 const std::vector<std::string>& targets) const {
  auto& m = *impl_;
  std::vector<std::string> all_targets;
  const auto context = m.with_context(targets, &all_targets);
  auto slot = m.slots(all_targets, /*create=*/false);
  torch::NoGradGuard no_grad;
  std::vector<std::vector<int64_t>> src, seq;
  for (size_t i = 0; i < inputs.size(); ++i) {
    src.push_back(m.tokenize(inputs[i]));
    seq.push_back(m.sequence_with_context(inputs[i], values[i], context, slot));
  }
  double total = 0;
  size_t batches = 0;
  for (auto& model : m.models) {
    model->eval();
    for (size_t b = 0; b < inputs.size(); b += 64) {
      std::vector<size_t> idx;
      for (size_t i = b; i < std::min(inputs.size(), b + 64); ++i) idx.push_back(i);
      total += m.batch_loss(model, m.pad_batch(src, idx), m.pad_batch(seq, idx)).item<double>();
      ++batches;
    }
  }
  return batches ? total / static_cast<double>(batches) : 0.0;
}

std::vector<Prediction> Rlm::predict(const std::vector<ArchText>& inputs, const std::vector<std::string>& targets,
                                     const DecodeOptions& options) const {
  auto& m = *impl_;
  auto slot = m.slots(targets, /*create=*/false);
  const auto context = m.context_of(targets);
  std::vector<size_t> context_slot;
  for (size_t c : context) context_slot.push_back(m.slot_of(computed_target_names()[c], /*create=*/false));
  torch::NoGradGuard no_grad;
  for (auto& model : m.models) model->eval();
  const bool greedy = options.samples <= 0;
  // The S samples are shared out among the ensemble's members (the first S mod M draw one more);
  // greedy decoding takes one path per member.
  const int64_t members = static_cast<int64_t>(m.models.size());
  auto samples_of = [&](int64_t member) {
    return greedy ? int64_t{1} : options.samples / members + (member < options.samples % members ? 1 : 0);
  };
  const int64_t k = m.k();
  const int64_t vocab_size = m.vocab->size();
  if (!is_decode_conditioning(options.conditioning))
    throw ConfigError(fmt::format("decode conditioning '{}': must be 'sampled' or 'median'", options.conditioning));
  const bool median_conditioning = options.conditioning == "median" && slot.size() > 1;
  std::vector<ValueBounds> bounds;
  for (const auto& t : targets) bounds.push_back(m.bounds_of(t, options.bound_margin));
  std::vector<std::vector<int64_t>> src;
  for (const auto& input : inputs) src.push_back(m.tokenize(input));
  // Work items: one batch of architectures decoded by one member (its share of the samples), with a
  // random stream of its own drawn from (decode seed, batch, member), so that the result does not
  // depend on how the items are spread over threads.
  struct Item {
    size_t begin, end;
    int64_t member;
  };
  std::vector<Item> items;
  for (size_t b = 0; b < inputs.size(); b += static_cast<size_t>(options.batch_size))
    for (int64_t member = 0; member < members; ++member)
      if (samples_of(member) > 0)
        items.push_back({b, std::min(inputs.size(), b + static_cast<size_t>(options.batch_size)), member});
  // Decodes one item: [architecture][target] -> the member's sampled values.
  auto decode_item = [&](const Item& item) {
    torch::NoGradGuard no_grad_here;  // thread-local
    const size_t b = item.begin;
    const int64_t n = static_cast<int64_t>(item.end - item.begin);
    std::vector<size_t> idx(static_cast<size_t>(n));
    std::iota(idx.begin(), idx.end(), b);
    std::vector<std::vector<std::vector<double>>> result(static_cast<size_t>(n));
    const int64_t samples = samples_of(item.member), rows = n * samples;
    EncoderDecoder& model = m.models[static_cast<size_t>(item.member)];
    Rng rng(derive_seed(options.seed, 41, b / static_cast<size_t>(options.batch_size),
                        static_cast<uint64_t>(item.member)));
    Memory memory = model->encode(m.pad_batch(src, idx));
    std::vector<std::vector<double>> decoded(static_cast<size_t>(rows));  // per row: one value per target
    std::vector<std::vector<int>> number(static_cast<size_t>(rows));
    auto token = torch::empty({rows}, torch::kLong);
    // The decoded values of target j over architecture a's samples.
    auto sample_values = [&](int64_t a, size_t j) {
      std::vector<double> vals;
      for (int64_t s = 0; s < samples; ++s) vals.push_back(decoded[static_cast<size_t>(a * samples + s)][j]);
      return vals;
    };
    // Samples one number (K constrained tokens) for every row and appends its value to decoded[row].
    // `first`: logits of the first number token when a prefix pass already produced them; otherwise
    // `token` holds the target token to feed at `pos`.
    auto sample_number = [&](torch::Tensor first, int64_t& pos, DecoderCache& cache, const ValueBounds& bound) {
      for (auto& nb : number) nb.clear();
      std::vector<double> p(static_cast<size_t>(vocab_size));
      for (int64_t t = 0; t < k; ++t) {
        auto logits =
            (t == 0 && first.defined() ? first
                                       : model->decode_step(memory, samples, token.to(m.device), pos++, cache))
                .to(torch::kCPU, torch::kFloat);  // [R, V]
        auto acc = logits.accessor<float, 2>();
        auto next = token.accessor<int64_t, 1>();
        for (int64_t r = 0; r < rows; ++r) {
          auto mask = m.vocab->allowed_next_mask(number[r], bound);
          int best = -1;
          if (greedy) {
            float best_logit = -std::numeric_limits<float>::infinity();
            for (int64_t v = 0; v < vocab_size; ++v)
              if (mask[v] && (best < 0 || acc[r][v] > best_logit)) best = static_cast<int>(v), best_logit = acc[r][v];
          } else {
            double mx = -std::numeric_limits<double>::infinity();
            for (int64_t v = 0; v < vocab_size; ++v)
              if (mask[v]) mx = std::max(mx, static_cast<double>(acc[r][v]) / options.temperature);
            double z = 0;
            for (int64_t v = 0; v < vocab_size; ++v) {
              p[v] = mask[v] ? std::exp(static_cast<double>(acc[r][v]) / options.temperature - mx) : 0.0;
              z += p[v];
            }
            double u = rng.uniform() * z, c = 0;
            for (int64_t v = 0; v < vocab_size; ++v) {
              if (!mask[v]) continue;
              best = static_cast<int>(v);
              c += p[v];
              if (u < c) break;
            }
          }
          NAS_CHECK(best >= 0, "number grammar allows no token after {} tokens", number[r].size());
          number[r].push_back(best);
          next[r] = best;
        }
      }
      for (int64_t r = 0; r < rows; ++r) decoded[r].push_back(m.vocab->decode_numbers(number[r])[0]);
    };
    // Teacher-forced pass over [ctx_0, its K number tokens, ..., given targets with their values, next
    // target's token] (one parallel decoder pass per architecture, repeated per sample): the context
    // values, then per architecture the values of the first `given` targets in `given_values[a]`.
    // Returns the logits of the next target's first number token; `pos` continues after the prefix.
    auto prefix_pass = [&](const std::vector<std::vector<double>>& given_values, size_t given, size_t next_slot,
                           int64_t& pos, DecoderCache& cache) {
      const int64_t p = static_cast<int64_t>(context.size() + given) * (1 + k) + 1;
      auto prefix = torch::empty({n, p}, torch::kLong);
      auto pa = prefix.accessor<int64_t, 2>();
      for (int64_t a = 0; a < n; ++a) {
        int64_t col = 0;
        auto put = [&](size_t target_slot, double value) {
          pa[a][col++] = m.target_token(target_slot);
          for (int id : m.vocab->encode_numbers({value})) pa[a][col++] = id;
        };
        for (size_t c = 0; c < context.size(); ++c)
          put(context_slot[c], m.context_value(inputs[b + static_cast<size_t>(a)], context[c]));
        for (size_t j = 0; j < given; ++j) put(slot[j], given_values[static_cast<size_t>(a)][j]);
        pa[a][col++] = m.target_token(next_slot);
      }
      pos = p;
      return model->decode_prefix(memory, samples, prefix.to(m.device), cache);
    };
    if (median_conditioning) {
      // Target j sees the medians of targets 0..j-1 (a fresh teacher-forced prefix per target).
      std::vector<std::vector<double>> medians(static_cast<size_t>(n));
      for (size_t j = 0; j < slot.size(); ++j) {
        DecoderCache cache;
        int64_t pos = 0;
        torch::Tensor first;
        if (context.empty() && j == 0)
          token.fill_(m.target_token(slot[0]));
        else
          first = prefix_pass(medians, j, slot[j], pos, cache);
        sample_number(first, pos, cache, bounds[j]);
        for (int64_t a = 0; a < n; ++a) medians[static_cast<size_t>(a)].push_back(quantile(sample_values(a, j), 0.5));
      }
    } else {
      // Each sample continues its own sampled values: one decoder cache for the whole sequence.
      DecoderCache cache;
      int64_t pos = 0;
      torch::Tensor first;
      if (!context.empty())
        first = prefix_pass({}, 0, slot[0], pos, cache);
      else
        token.fill_(m.target_token(slot[0]));
      for (size_t j = 0; j < slot.size(); ++j) {
        if (j > 0) {
          // The previous target's last number token is an input too (teacher forcing saw it there).
          model->decode_step(memory, samples, token.to(m.device), pos++, cache);
          token.fill_(m.target_token(slot[j]));
          first = torch::Tensor();
        }
        sample_number(first, pos, cache, bounds[j]);
      }
    }
    for (int64_t a = 0; a < n; ++a)
      for (size_t j = 0; j < slot.size(); ++j) result[static_cast<size_t>(a)].push_back(sample_values(a, j));
    return result;
  };
  std::vector<std::vector<std::vector<std::vector<double>>>> decoded(items.size());
  run_items(items.size(), m.device.is_cpu() ? torch::get_num_threads() : 1, /*threads_each=*/1,
            [&](size_t i) { decoded[i] = decode_item(items[i]); });
  // Pooled over the members (in member order) per architecture and target.
  std::vector<std::vector<std::vector<double>>> pooled(inputs.size(), std::vector<std::vector<double>>(slot.size()));
  for (size_t i = 0; i < items.size(); ++i)
    for (size_t a = 0; a < decoded[i].size(); ++a)
      for (size_t j = 0; j < slot.size(); ++j) {
        auto& into = pooled[items[i].begin + a][j];
        into.insert(into.end(), decoded[i][a][j].begin(), decoded[i][a][j].end());
      }
  std::vector<Prediction> out(inputs.size());
  for (size_t a = 0; a < inputs.size(); ++a) {
    Prediction& pr = out[a];
    for (size_t j = 0; j < slot.size(); ++j) {
      const std::vector<double>& vals = pooled[a][j];
      pr.median.push_back(quantile(vals, 0.5));
      pr.mean.push_back(std::accumulate(vals.begin(), vals.end(), 0.0) / static_cast<double>(vals.size()));
      pr.p10.push_back(quantile(vals, 0.1));
      pr.p90.push_back(quantile(vals, 0.9));
    }
  }
  return out;
}

void Rlm::save(const std::string& dir) const {
  namespace fs = std::filesystem;
  auto& m = *impl_;
  fs::path target(dir);
  fs::path tmp = target.string() + fmt::format(".tmp.{}", ::getpid());
  fs::remove_all(tmp);
  make_dirs(tmp.string());
  write_file_atomic((tmp / "config.yaml").string(), rlm_config_to_yaml(m.config));
  write_file_atomic((tmp / "tokenizer.json").string(), m.tokenizer->to_json());
  std::string meta = std::string(kCheckpointFormat) + "\n";
  for (const auto& t : m.targets) meta += t + "\n";
  write_file_atomic((tmp / "targets.txt").string(), meta);
  std::string ranges = "target,count,min,max\n";
  for (const auto& [name, r] : m.ranges) ranges += fmt::format("{},{},{:.17g},{:.17g}\n", name, r.count, r.min, r.max);
  write_file_atomic((tmp / kRangesFile).string(), ranges);
  for (size_t i = 0; i < m.models.size(); ++i) {
    torch::serialize::OutputArchive archive;
    // A flat archive keyed by parameter name ("encoder_layers.0.attn.q_proj.weight"), read back
    // name by name in load() so that a mismatch is reported per tensor.
    for (const auto& item : m.models[i]->named_parameters())
      archive.write(item.key(), item.value().detach().cpu());
    std::ostringstream os;
    archive.save_to(os);
    write_file_atomic((tmp / member_file(i)).string(), os.str());
  }
  fs::path old = target.string() + fmt::format(".old.{}", ::getpid());
  std::error_code ec;
  if (fs::exists(target)) fs::rename(target, old, ec);
  if (ec) throw CheckpointError(fmt::format("{}: cannot move old checkpoint aside: {}", dir, ec.message()));
  fs::rename(tmp, target, ec);
  if (ec) throw CheckpointError(fmt::format("{}: cannot rename checkpoint into place: {}", dir, ec.message()));
  fs::remove_all(old, ec);
}

Rlm Rlm::load(const std::string& dir, const std::string& device) {
  namespace fs = std::filesystem;
  auto need = [&](const char* name) {
    fs::path p = fs::path(dir) / name;
    if (!fs::exists(p)) throw CheckpointError(fmt::format("{}: not a checkpoint (missing {})", dir, name));
    return p.string();
  };
  std::string config_path = need("config.yaml"), tok_path = need("tokenizer.json"), targets_path = need("targets.txt");
  need("model.pt");
  RlmConfig config;
  try {
    config = load_rlm_config(config_path);
  } catch (const ConfigError& e) {
    throw CheckpointError(fmt::format("{}: bad checkpoint config: {}", dir, e.what()));
  }
  if (!device.empty()) config.device = device;
  BpeTokenizer tokenizer = [&] {
    try {
      return BpeTokenizer::load(tok_path);
    } catch (const Error& e) {
      throw CheckpointError(fmt::format("{}: bad tokenizer: {}", dir, e.what()));
    }
  }();
  Rlm rlm;
  rlm.impl_->build(config, tokenizer);
  if (rlm.impl_->config.model.src_vocab_size != tokenizer.vocab_size())
    throw CheckpointError(fmt::format("{}: tokenizer has {} tokens but the model was built for {}", dir,
                                      tokenizer.vocab_size(), rlm.impl_->config.model.src_vocab_size));
  std::istringstream meta(read_file(targets_path));
  std::string line;
  std::getline(meta, line);
  if (line != kCheckpointFormat)
    throw CheckpointError(fmt::format("{}: unknown checkpoint format '{}' (expected '{}')", targets_path, line,
                                      kCheckpointFormat));
  while (std::getline(meta, line))
    if (!line.empty()) rlm.impl_->targets.push_back(line);
  if (static_cast<int64_t>(rlm.impl_->targets.size()) > config.max_targets)
    throw CheckpointError(fmt::format("{}: {} targets but max_targets = {}", targets_path,
                                      rlm.impl_->targets.size(), config.max_targets));
  const fs::path ranges_path = fs::path(dir) / kRangesFile;
  if (fs::exists(ranges_path)) rlm.impl_->ranges = read_ranges(ranges_path.string());
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < rlm.impl_->models.size(); ++i) {
    const std::string model_path = (fs::path(dir) / member_file(i)).string();
    if (!fs::exists(model_path))
      throw CheckpointError(fmt::format("{}: missing {}: {} says the model has {} ensemble members", dir,
                                        member_file(i), config_path, config.members));
    torch::serialize::InputArchive archive;
    try {
      archive.load_from(model_path);
    } catch (const c10::Error& e) {
      throw CheckpointError(
          fmt::format("{}: unreadable weights file (truncated or not a LibTorch archive)", model_path));
    }
    for (auto& item : rlm.impl_->models[i]->named_parameters()) {
      torch::Tensor stored;
      try {
        archive.read(item.key(), stored);
      } catch (const c10::Error&) {
        throw CheckpointError(fmt::format("{}: tensor '{}' missing; the weights do not match {}", model_path,
                                          item.key(), config_path));
      }
      if (stored.sizes() != item.value().sizes())
        throw CheckpointError(fmt::format("{}: tensor '{}' has shape {} but {} implies {}", model_path, item.key(),
                                          fmt::join(stored.sizes(), "x"), config_path,
                                          fmt::join(item.value().sizes(), "x")));
      item.value().copy_(stored);
    }
    rlm.impl_->models[i]->eval();
  }
  return rlm;
}

}  // namespace nas::predictor
