#include "spaces/fbnet.h"

#include <algorithm>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

#include "core/error.h"

namespace nas::spaces {

void add_bn_args(std::vector<WeightArg>& weights, const std::string& prefix, int64_t channels) {
  weights.push_back({prefix + "_scale", {channels}, ParamRole::kOnes});
  weights.push_back({prefix + "_bias", {channels}, ParamRole::kZeros});
  weights.push_back({prefix + "_mean", {channels}, ParamRole::kZeros});
  weights.push_back({prefix + "_var", {channels}, ParamRole::kOnes});
}

namespace {

constexpr std::array<int, 7> kStageLayers{1, 4, 4, 4, 4, 4, 1};
constexpr std::array<int64_t, 7> kStageChannels{16, 24, 32, 64, 112, 184, 352};
constexpr std::array<int64_t, 7> kCifarStrides{1, 1, 2, 2, 1, 2, 1};
constexpr std::array<int64_t, 7> kImagenetStrides{1, 2, 2, 2, 1, 2, 1};
constexpr int64_t kStemChannels = 16;

const std::array<std::string, kFbnetNumOps>& op_names() {
  static const std::array<std::string, kFbnetNumOps> names{"k3_e1",    "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1",
                                                           "k5_e1_g2", "k5_e3",    "k5_e6", "skip"};
  return names;
}

// ShuffleNet's channel shuffle as a gather permutation: output channel j*groups + i reads input channel
// i*(channels/groups) + j.
std::vector<int64_t> shuffle_indices(int64_t channels, int64_t groups) {
  std::vector<int64_t> index(static_cast<size_t>(channels));
  int64_t per_group = channels / groups;
  for (int64_t i = 0; i < groups; ++i)
    for (int64_t j = 0; j < per_group; ++j) index[static_cast<size_t>(j * groups + i)] = i * per_group + j;
  return index;
}

[[noreturn]] void parse_error(std::string_view arch, std::string_view token, size_t pos, const std::string& what) {
  throw SpaceError(fmt::format("fbnet arch '{}': token '{}' at position {}: {}", arch, token, pos, what));
}

std::vector<FbnetLayer> make_layers(const FbnetDataset& ds) {
  const auto& strides = ds.stem_stride == 1 ? kCifarStrides : kImagenetStrides;
  std::vector<FbnetLayer> layers;
  int64_t h = ds.resolution / ds.stem_stride;
  int64_t c = kStemChannels;
  for (int stage = 0; stage < 7; ++stage) {
    for (int i = 0; i < kStageLayers[stage]; ++i) {
      FbnetLayer l;
      l.index = static_cast<int>(layers.size());
      l.stage = stage;
      l.height = h;
      l.c_in = c;
      l.c_out = kStageChannels[stage];
      l.stride = i == 0 ? strides[stage] : 1;
      layers.push_back(l);
      h /= l.stride;
      c = l.c_out;
    }
  }
  return layers;
}

// ---- The ONNX blocks.
//
// Function set, chosen by the predictor text's length (onnx_text/serializer.h; BPE of
// predictor/bpe_tokenizer.h, vocabulary 512, trained on 200 sampled texts, measured on 200 others, CIFAR-100,
// median / max tokens):
//   one function per block kind and variant (k3_e6, k3_e6 first, ...; up to 17):  2,095 / 2,470
//   one per expansion (mb_e6, ...), kernel in the listed depthwise weight:          1,537 / 1,828
//   generic mb / mb_g2 (+ _first), expansion and kernel in the depthwise weight:    1,527 / 1,704
//   the same with the identity shortcut as a main-graph Add (no _first variants):  1,598 / 1,777
//   everything inline (use_functions = false):                                    3,175 / 3,607
// The definitions dominate: a block body is ~110 tokens, a call ~20, so fewer, generic functions win.

// The function of a ConvBlock (or, for kSkip, the 1x1-conv skip) at `layer`, with the weights of this
// call in body order.
struct BlockCall {
  onnx::FunctionProto fn;
  std::vector<WeightArg> weights;
  std::vector<onnx::AttributeProto> attrs;
};

BlockCall conv_block(const FbnetLayer& layer, FbnetOp op) {
  const FbnetOpSpec spec = fbnet_op_spec(op);
  const bool residual = layer.shape_preserving();
  const int64_t c = layer.c_in, mid = c * spec.expansion, g = spec.groups, k = spec.kernel;
  BlockCall call;
  auto& w = call.weights;
  w.push_back({"e_w", {mid, c / g, 1, 1}});
  add_bn_args(w, "e", mid);
  if (g > 1) w.push_back({"shuffle", {mid}, ParamRole::kZeros, shuffle_indices(mid, g)});
  // The depthwise weight [mid, 1, k, k] is listed: its shape carries the kernel size and the expanded
  // width, in which the other weights' shapes are written.
  w.push_back({"d_w", {mid, 1, k, k}, ParamRole::kWeight, {}, /*listed=*/true});
  add_bn_args(w, "d", mid);
  w.push_back({"p_w", {layer.c_out, mid / g, 1, 1}, ParamRole::kWeight, {}, /*listed=*/!residual});
  add_bn_args(w, "p", layer.c_out);

  FunctionBuilder f(std::string(g > 1 ? "mb_g2" : "mb") + (residual ? "" : "_first"));
  std::vector<onnx::AttributeProto> grouped;
  if (g > 1) grouped.push_back(attr("group", g));
  f.node("Conv", {"x", "e_w"}, {"e"}, grouped)
      .node("BatchNormalization", bn_inputs("e", "e"), {"e_bn"})
      .node("Relu", {"e_bn"}, {"e_relu"});
  std::string dw_in = "e_relu";
  if (g > 1) {
    f.node("Gather", {"e_relu", "shuffle"}, {"e_shuffle"}, {attr("axis", 1)});
    dw_in = "e_shuffle";
  }
  std::vector<onnx::AttributeProto> dw_attrs{attr("auto_pad", "SAME_LOWER"),
                                             attr_ref("group", "g", onnx::AttributeProto::INT)};
  if (!residual) dw_attrs.push_back(attr_ref("strides", "s", onnx::AttributeProto::INTS));
  f.node("Conv", {dw_in, "d_w"}, {"d"}, dw_attrs)
      .node("BatchNormalization", bn_inputs("d", "d"), {"d_bn"})
      .node("Relu", {"d_bn"}, {"d_relu"})
      .node("Conv", {"d_relu", "p_w"}, {"p"}, grouped)
      .node("BatchNormalization", bn_inputs("p", "p"), {residual ? "p_bn" : "y"});
  if (residual) f.node("Add", {"p_bn", "x"}, {"y"});
  for (const auto& formal : CallEmitter::formal_order({"x"}, w)) f.input(formal);
  f.output("y");
  call.fn = f.build();
  call.fn.add_attribute("g");
  if (!residual) call.fn.add_attribute("s");
  call.attrs.push_back(attr("g", mid));
  if (layer.stride != 1) call.attrs.push_back(attr("s", {layer.stride, layer.stride}));
  return call;
}

BlockCall conv_skip(const FbnetLayer& layer) {
  BlockCall call;
  call.weights.push_back({"w", {layer.c_out, layer.c_in, 1, 1}, ParamRole::kWeight, {}, /*listed=*/true});
  add_bn_args(call.weights, "bn", layer.c_out);
  FunctionBuilder f("skip");
  f.node("Conv", {"x", "w"}, {"conv"}, {attr_ref("strides", "s", onnx::AttributeProto::INTS)})
      .node("BatchNormalization", bn_inputs("conv", "bn"), {"bn_out"})
      .node("Relu", {"bn_out"}, {"y"});
  for (const auto& formal : CallEmitter::formal_order({"x"}, call.weights)) f.input(formal);
  f.output("y");
  call.fn = f.build();
  call.fn.add_attribute("s");
  if (layer.stride != 1) call.attrs.push_back(attr("s", {layer.stride, layer.stride}));
  return call;
}

}  // namespace

// ---- CallEmitter

onnx::AttributeProto attr_ref(const std::string& name, const std::string& ref,
                              onnx::AttributeProto::AttributeType type) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_ref_attr_name(ref);
  a.set_type(type);
  return a;
}

std::vector<std::string> CallEmitter::formal_order(const std::vector<std::string>& activations,
                                                   const std::vector<WeightArg>& weights) {
  std::vector<std::string> order = activations;
  for (bool listed : {true, false})
    for (const auto& w : weights)
      if (w.listed == listed) order.push_back(w.formal);
  return order;
}

void CallEmitter::call(const onnx::FunctionProto& fn, const std::vector<std::string>& activations,
                       const std::vector<WeightArg>& weights, std::vector<onnx::AttributeProto> attrs,
                       const std::vector<std::string>& outputs, const std::string& prefix) {
  std::vector<std::string> formals = formal_order({}, weights);
  NAS_CHECK(static_cast<int>(activations.size() + formals.size()) == fn.input_size() &&
                static_cast<int>(outputs.size()) == fn.output_size(),
            "call of '{}' binds {} inputs / {} outputs; the function has {} / {}", fn.name(),
            activations.size() + formals.size(), outputs.size(), fn.input_size(), fn.output_size());
  std::unordered_map<std::string, std::string> actual;  // formal -> actual
  for (size_t i = 0; i < activations.size(); ++i) actual[fn.input(static_cast<int>(i))] = activations[i];
  for (const auto& w : weights) {
    std::string name = prefix + "_" + w.formal;
    actual[w.formal] = name;
    if (w.int64_values.empty()) {
      b_.initializer(name, w.dims, w.role);
    } else {
      onnx::TensorProto t;
      t.set_name(name);
      t.set_data_type(onnx::TensorProto::INT64);
      for (int64_t d : w.dims) t.add_dims(d);
      for (int64_t v : w.int64_values) t.add_int64_data(v);
      int64_initializers_.push_back(std::move(t));
    }
  }
  for (int i = 0; i < fn.output_size(); ++i) actual[fn.output(i)] = outputs[static_cast<size_t>(i)];

  if (use_functions_) {
    auto known = std::find_if(functions_.begin(), functions_.end(),
                              [&](const onnx::FunctionProto& f) { return f.name() == fn.name(); });
    if (known == functions_.end()) {
      functions_.push_back(fn);
    } else {
      NAS_CHECK(known->SerializeAsString() == fn.SerializeAsString(), "two different functions named '{}'",
                fn.name());
    }
    std::vector<std::string> inputs;
    for (const auto& formal : fn.input()) inputs.push_back(actual.at(formal));
    b_.node(fn.name(), std::move(inputs), outputs, std::move(attrs), fn.domain());
    return;
  }
  auto mapped = [&](const std::string& v) {
    auto it = actual.find(v);
    return it != actual.end() ? it->second : prefix + "_" + v;
  };
  for (const auto& n : fn.node()) {
    std::vector<std::string> inputs, outs;
    for (const auto& i : n.input()) inputs.push_back(mapped(i));
    for (const auto& o : n.output()) outs.push_back(mapped(o));
    std::vector<onnx::AttributeProto> resolved;
    for (const auto& a : n.attribute()) {
      if (a.ref_attr_name().empty()) {
        resolved.push_back(a);
        continue;
      }
      for (const auto& c : attrs) {
        if (c.name() != a.ref_attr_name()) continue;
        onnx::AttributeProto r = c;
        r.set_name(a.name());
        resolved.push_back(std::move(r));
      }
    }
    b_.node(n.op_type(), std::move(inputs), std::move(outs), std::move(resolved), n.domain());
  }
}

void CallEmitter::finish(onnx::ModelProto& model) {
  for (auto& t : int64_initializers_) *model.mutable_graph()->add_initializer() = std::move(t);
  int64_initializers_.clear();
  if (functions_.empty()) return;
  for (auto& f : functions_) *model.add_functions() = std::move(f);
  functions_.clear();
  auto* nas = model.add_opset_import();
  nas->set_domain(kNasDomain);
  nas->set_version(1);
}

// ---- Ops, datasets, layers

const std::string& fbnet_op_name(FbnetOp op) {
  int i = static_cast<int>(op);
  NAS_CHECK(i >= 0 && i < kFbnetNumOps, "invalid FbnetOp {}", i);
  return op_names()[static_cast<size_t>(i)];
}

FbnetOpSpec fbnet_op_spec(FbnetOp op) {
  switch (op) {
    case FbnetOp::kK3E1:
      return {3, 1, 1};
    case FbnetOp::kK3E1G2:
      return {3, 1, 2};
    case FbnetOp::kK3E3:
      return {3, 3, 1};
    case FbnetOp::kK3E6:
      return {3, 6, 1};
    case FbnetOp::kK5E1:
      return {5, 1, 1};
    case FbnetOp::kK5E1G2:
      return {5, 1, 2};
    case FbnetOp::kK5E3:
      return {5, 3, 1};
    case FbnetOp::kK5E6:
      return {5, 6, 1};
    case FbnetOp::kSkip:
      return {};
  }
  NAS_CHECK(false, "invalid FbnetOp {}", static_cast<int>(op));
  return {};
}

const std::vector<FbnetDataset>& fbnet_datasets() {
  static const std::vector<FbnetDataset> datasets{{"cifar100", "cifar100", 32, 100, 1, 1504},
                                                  {"imagenet", "ImageNet", 224, 1000, 2, 1984}};
  return datasets;
}

const FbnetDataset& fbnet_dataset(const std::string& name) {
  const auto& all = fbnet_datasets();
  if (name.empty()) return all.front();
  for (const auto& d : all)
    if (d.name == name) return d;
  std::vector<std::string> known;
  for (const auto& d : all) known.push_back(d.name);
  throw SpaceError(fmt::format("fbnet: unknown dataset '{}'; known: {}", name, fmt::join(known, ", ")));
}

const std::vector<FbnetLayer>& fbnet_layers(const std::string& dataset) {
  static const std::vector<std::vector<FbnetLayer>> layers = [] {
    std::vector<std::vector<FbnetLayer>> out;
    for (const auto& ds : fbnet_datasets()) out.push_back(make_layers(ds));
    return out;
  }();
  const FbnetDataset& ds = fbnet_dataset(dataset);
  return layers[static_cast<size_t>(&ds - fbnet_datasets().data())];
}

std::string fbnet_block_signature(const FbnetLayer& layer, FbnetOp op) {
  if (op == FbnetOp::kSkip)
    return fmt::format("Skip_H{0}_W{0}_Cin{1}_Cout{2}_stride{3}", layer.height, layer.c_in, layer.c_out,
                       layer.stride);
  FbnetOpSpec s = fbnet_op_spec(op);
  return fmt::format("ConvBlock_H{0}_W{0}_Cin{1}_Cout{2}_exp{3}_kernel{4}_stride{5}_group{6}", layer.height,
                     layer.c_in, layer.c_out, s.expansion, s.kernel, layer.stride, s.groups);
}

// ---- Genotype

FbnetGenotype FbnetGenotype::parse(std::string_view arch) {
  FbnetGenotype g;
  size_t pos = 0;
  for (int layer = 0; layer < kFbnetNumLayers; ++layer) {
    if (pos > arch.size())
      parse_error(arch, "<end>", arch.size(), fmt::format("expected 22 blocks, found {}", layer));
    size_t end = std::min(arch.find(' ', pos), arch.size());
    std::string_view token = arch.substr(pos, end - pos);
    if (token.empty()) {
      if (pos == arch.size()) parse_error(arch, "<end>", pos, fmt::format("expected 22 blocks, found {}", layer));
      parse_error(arch, token, pos,
                  fmt::format("empty block name for layer {} (a leading or doubled space)", layer));
    }
    auto it = std::find(op_names().begin(), op_names().end(), token);
    if (it == op_names().end())
      parse_error(arch, token, pos,
                  fmt::format("unknown block for layer {} (known: {})", layer, fmt::join(op_names(), ", ")));
    g.ops[static_cast<size_t>(layer)] = static_cast<FbnetOp>(it - op_names().begin());
    pos = end + 1;
  }
  if (pos < arch.size()) parse_error(arch, arch.substr(pos), pos, "more than 22 blocks");
  if (pos == arch.size() && !arch.empty() && arch.back() == ' ')
    parse_error(arch, " ", arch.size() - 1, "trailing space after the 22nd block");
  return g;
}

std::string FbnetGenotype::to_string() const {
  std::string s;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (i > 0) s += ' ';
    s += fbnet_op_name(ops[i]);
  }
  return s;
}

std::string FbnetGenotype::canonical() const {
  FbnetGenotype c = *this;
  const auto& layers = fbnet_layers("");
  size_t i = 0;
  while (i < layers.size()) {
    size_t end = i;
    while (end < layers.size() && layers[end].stage == layers[i].stage) ++end;
    // Layers i+1 .. end-1 share one shape; a stable partition puts their identity skips last.
    std::stable_partition(c.ops.begin() + static_cast<long>(i) + 1, c.ops.begin() + static_cast<long>(end),
                          [](FbnetOp op) { return op != FbnetOp::kSkip; });
    i = end;
  }
  return c.to_string();
}

FbnetGenotype FbnetGenotype::from_genotype(const Genotype& g) {
  if (g.genes.size() != kFbnetNumLayers)
    throw SpaceError(fmt::format("fbnet genotype: expected {} genes, got {}", kFbnetNumLayers, g.genes.size()));
  FbnetGenotype out;
  for (size_t i = 0; i < g.genes.size(); ++i) {
    if (g.genes[i] < 0 || g.genes[i] >= kFbnetNumOps)
      throw SpaceError(
          fmt::format("fbnet genotype: gene {} = {} is outside [0, {})", i, g.genes[i], kFbnetNumOps));
    out.ops[i] = static_cast<FbnetOp>(g.genes[i]);
  }
  return out;
}

Genotype FbnetGenotype::to_genotype() const {
  Genotype g;
  for (FbnetOp op : ops) g.genes.push_back(static_cast<int>(op));
  return g;
}

// ---- Model

onnx::ModelProto build_fbnet_model(const FbnetGenotype& g, const BuildOptions& options) {
  const FbnetDataset& ds = fbnet_dataset(options.dataset);
  if (options.batch_size < 1)
    throw SpaceError(fmt::format("fbnet: batch_size {} must be >= 1", options.batch_size));
  const int64_t n = options.batch_size;
  const auto& layers = fbnet_layers(ds.name);
  GraphBuilder b("fbnet", options.weights, options.weight_seed);
  CallEmitter emitter(b, options.use_functions);
  b.input("x", onnx::TensorProto::FLOAT, {n, 3, ds.resolution, ds.resolution});

  std::vector<onnx::AttributeProto> stem_attrs{attr("pads", {1, 1, 1, 1})};
  if (ds.stem_stride != 1) stem_attrs.push_back(attr("strides", {ds.stem_stride, ds.stem_stride}));
  b.initializer("stem_w", {kStemChannels, 3, 3, 3}, ParamRole::kWeight);
  add_bn_params(b, "stem_bn", kStemChannels);
  b.node("Conv", {"x", "stem_w"}, {"stem_conv"}, stem_attrs)
      .node("BatchNormalization", bn_inputs("stem_conv", "stem_bn"), {"stem_bn_out"})
      .node("Relu", {"stem_bn_out"}, {"stem_out"});

  std::string x = "stem_out";
  for (const FbnetLayer& layer : layers) {
    FbnetOp op = g.ops[static_cast<size_t>(layer.index)];
    if (op == FbnetOp::kSkip && layer.shape_preserving()) continue;  // identity
    BlockCall call = op == FbnetOp::kSkip ? conv_skip(layer) : conv_block(layer, op);
    std::string prefix = fmt::format("l{}", layer.index);
    emitter.call(call.fn, {x}, call.weights, std::move(call.attrs), {prefix + "_out"}, prefix);
    x = prefix + "_out";
  }

  const int64_t c_last = kStageChannels.back(), h = ds.header_channels;
  b.initializer("head_w", {h, c_last, 1, 1}, ParamRole::kWeight);
  add_bn_params(b, "head_bn", h);
  b.initializer("classifier_w", {ds.num_classes, h}, ParamRole::kWeight)
      .initializer("classifier_b", {ds.num_classes}, ParamRole::kZeros)
      .node("Conv", {x, "head_w"}, {"head_conv"})
      .node("BatchNormalization", bn_inputs("head_conv", "head_bn"), {"head_bn_out"})
      .node("Relu", {"head_bn_out"}, {"head_relu"})
      .node("GlobalAveragePool", {"head_relu"}, {"head_pool"})
      .node("Flatten", {"head_pool"}, {"head_flat"})
      .node("Gemm", {"head_flat", "classifier_w", "classifier_b"}, {"logits"}, {attr("transB", 1)})
      .output("logits", onnx::TensorProto::FLOAT, {n, ds.num_classes});
  onnx::ModelProto model = std::move(b).build();
  emitter.finish(model);
  return model;
}

// ---- Space

std::vector<int> FbnetSpace::gene_cardinalities() const { return std::vector<int>(kFbnetNumLayers, kFbnetNumOps); }

std::vector<std::string> FbnetSpace::datasets() const {
  std::vector<std::string> names;
  for (const auto& d : fbnet_datasets()) names.push_back(d.name);
  return names;
}

void FbnetSpace::validate(const Genotype& g) const { FbnetGenotype::from_genotype(g); }

Genotype FbnetSpace::sample(Rng& rng) const { return sample_independent_genes(gene_cardinalities(), rng); }

Genotype FbnetSpace::mutate(const Genotype& parent, Rng& rng) const {
  validate(parent);
  return mutate_gene(parent, rng.index(kFbnetNumLayers), kFbnetNumOps, rng);
}

Genotype FbnetSpace::crossover(const Genotype& a, const Genotype& b, Rng& rng) const {
  validate(a);
  validate(b);
  return uniform_crossover(a, b, rng);
}

Genotype FbnetSpace::parse(std::string_view arch) const { return FbnetGenotype::parse(arch).to_genotype(); }

std::string FbnetSpace::format(const Genotype& g) const { return FbnetGenotype::from_genotype(g).to_string(); }

std::string FbnetSpace::canonical(const Genotype& g) const { return FbnetGenotype::from_genotype(g).canonical(); }

onnx::ModelProto FbnetSpace::build_model(const Genotype& g, const BuildOptions& options) const {
  return build_fbnet_model(FbnetGenotype::from_genotype(g), options);
}

}  // namespace nas::spaces
