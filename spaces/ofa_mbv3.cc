#include "spaces/ofa_mbv3.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include <fmt/format.h>

#include "core/error.h"
#include "spaces/fbnet.h"  // CallEmitter, WeightArg, attr_ref
#include "spaces/onnx_builder.h"

namespace nas::spaces {
namespace {

constexpr std::array<int64_t, kOfaNumStages> kStageStrides{2, 2, 2, 1, 2};
constexpr std::array<bool, kOfaNumStages> kStageHswish{false, false, true, true, true};
constexpr std::array<bool, kOfaNumStages> kStageSe{false, true, false, true, true};
constexpr int kNumClasses = 1000;
constexpr float kHardSigmoidAlpha = 1.0f / 6.0f;  // relu6(x + 3) / 6 = clip(x / 6 + 0.5, 0, 1)

// One '|'-separated field of the genotype string: "<label>=v v v".
struct Field {
  const char* label;   // "ks", "e", "d", "r"
  const char* column;  // data/ofa_mbv3.csv column, for from_columns() messages
  size_t count;
  std::vector<int> allowed;
};

std::vector<int> resolutions() {
  std::vector<int> r;
  for (int v = kOfaMinResolution; v <= kOfaMaxResolution; v += kOfaResolutionStep) r.push_back(v);
  return r;
}

const std::array<Field, 4>& fields() {
  static const std::array<Field, 4> f{{
      {"ks", "kernel_sizes", kOfaNumLayers, {kOfaKernelSizes.begin(), kOfaKernelSizes.end()}},
      {"e", "expand_ratios", kOfaNumLayers, {kOfaExpandRatios.begin(), kOfaExpandRatios.end()}},
      {"d", "depths", kOfaNumStages, {kOfaDepths.begin(), kOfaDepths.end()}},
      {"r", "resolution", 1, resolutions()},
  }};
  return f;
}

[[noreturn]] void parse_error(std::string_view what_arch, std::string_view token, size_t pos,
                              const std::string& what) {
  throw SpaceError(fmt::format("ofa_mbv3 {}: token '{}' at position {}: {}", what_arch, token, pos, what));
}

// Parses the space-separated values of `field` in text[pos, end); `context` names the string in errors.
std::vector<int> parse_values(std::string_view text, size_t pos, size_t end, const Field& field,
                              const std::string& context) {
  std::vector<int> values;
  while (true) {
    size_t stop = std::min(text.find(' ', pos), end);
    std::string_view token = text.substr(pos, stop - pos);
    if (token.empty())
      parse_error(context, token, pos,
                  fmt::format("empty value in '{}' (a doubled, leading or trailing space)", field.label));
    int v = 0;
    bool digits =
        token.size() <= 4 && std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (digits)
      for (char c : token) v = v * 10 + (c - '0');
    if (!digits || (token.size() > 1 && token[0] == '0') ||
        std::find(field.allowed.begin(), field.allowed.end(), v) == field.allowed.end()) {
      std::string allowed = field.allowed.size() > 4 ? fmt::format("{}, {}, ..., {}", field.allowed[0],
                                                                   field.allowed[1], field.allowed.back())
                                                     : fmt::format("{}", fmt::join(field.allowed, ", "));
      parse_error(context, token, pos,
                  fmt::format("'{}' value {} is not one of {}", field.label, values.size(), allowed));
    }
    values.push_back(v);
    if (values.size() > field.count)
      parse_error(context, token, pos, fmt::format("more than {} '{}' values", field.count, field.label));
    if (stop == end) break;
    pos = stop + 1;
  }
  if (values.size() != field.count)
    parse_error(context, text.substr(end, 1).empty() ? std::string_view("<end>") : text.substr(end, 1), end,
                fmt::format("expected {} '{}' values, found {}", field.count, field.label, values.size()));
  return values;
}

OfaMbv3Genotype from_fields(const std::array<std::vector<int>, 4>& v) {
  OfaMbv3Genotype g;
  std::copy(v[0].begin(), v[0].end(), g.kernel_sizes.begin());
  std::copy(v[1].begin(), v[1].end(), g.expand_ratios.begin());
  std::copy(v[2].begin(), v[2].end(), g.depths.begin());
  g.resolution = v[3][0];
  return g;
}

template <size_t N>
int index_of(const std::array<int, N>& set, int value, const char* what, size_t i) {
  auto it = std::find(set.begin(), set.end(), value);
  if (it == set.end())
    throw SpaceError(
        fmt::format("ofa_mbv3 genotype: {} {} = {} is not one of {}", what, i, value, fmt::join(set, ", ")));
  return static_cast<int>(it - set.begin());
}

struct BlockCall {
  onnx::FunctionProto fn;
  std::vector<WeightArg> weights;
  std::vector<onnx::AttributeProto> attrs;
};

// Function set, chosen by the predictor text's length (BPE of predictor/bpe_tokenizer.h, vocabulary 512,
// trained on 200 sampled texts, measured on 200 others, median / max tokens): one function per stage kind
// (activation x SE) with the shortcut as a main-graph Add, the kernel, expanded width, SE width and output
// width in the listed weights' shapes: 2,041 / 2,362; the same with separate "_first" functions for a
// stage's first block (no shortcut, listed projection only there): 2,652 / 2,919; everything inline:
// 3,938 / 4,850. Per-(kernel, expand) functions would need up to 72 definitions of ~150 tokens each.
//
// The MBConv block of one active OFA block of stage `stage` (C_in -> C_out, stride, kernel k, expand
// ratio e), without its identity shortcut (the caller adds it: one function then serves a stage's
// first block and its other blocks, which gave the shorter text).
BlockCall mb_block(int stage, int64_t c_in, int64_t c_out, int64_t stride, int k, int e) {
  const bool hswish = kStageHswish[static_cast<size_t>(stage)], se = kStageSe[static_cast<size_t>(stage)];
  const int64_t mid = ofa_make_divisible(static_cast<double>(c_in * e));
  const int64_t se_mid = ofa_make_divisible(static_cast<double>(mid / 4));  // SEModule: channel // 4
  const char* act = hswish ? "HardSwish" : "Relu";

  // Listed weights (their shapes carry the kernel size, the expanded width, the SE width and the output
  // width, in which the other weights' shapes are written): the depthwise weight, the SE reduction,
  // the projection.
  BlockCall call;
  auto& w = call.weights;
  w.push_back({"e_w", {mid, c_in, 1, 1}});
  add_bn_args(w, "e", mid);
  w.push_back({"d_w", {mid, 1, k, k}, ParamRole::kWeight, {}, /*listed=*/true});
  add_bn_args(w, "d", mid);
  if (se) {
    w.push_back({"se_r_w", {se_mid, mid, 1, 1}, ParamRole::kWeight, {}, /*listed=*/true});
    w.push_back({"se_r_b", {se_mid}, ParamRole::kZeros});
    w.push_back({"se_e_w", {mid, se_mid, 1, 1}});
    w.push_back({"se_e_b", {mid}, ParamRole::kZeros});
  }
  w.push_back({"p_w", {c_out, mid, 1, 1}, ParamRole::kWeight, {}, /*listed=*/true});
  add_bn_args(w, "p", c_out);

  FunctionBuilder f(std::string("mb") + (hswish ? "_hs" : "") + (se ? "_se" : ""));
  f.node("Conv", {"x", "e_w"}, {"e"})
      .node("BatchNormalization", bn_inputs("e", "e"), {"e_bn"})
      .node(act, {"e_bn"}, {"e_act"})
      .node("Conv", {"e_act", "d_w"}, {"d"},
            {attr("auto_pad", "SAME_LOWER"), attr_ref("group", "g", onnx::AttributeProto::INT),
             attr_ref("strides", "s", onnx::AttributeProto::INTS)})
      .node("BatchNormalization", bn_inputs("d", "d"), {"d_bn"})
      .node(act, {"d_bn"}, {"d_act"});
  std::string p_in = "d_act";
  if (se) {
    f.node("GlobalAveragePool", {"d_act"}, {"se_pool"})
        .node("Conv", {"se_pool", "se_r_w", "se_r_b"}, {"se_r"})
        .node("Relu", {"se_r"}, {"se_relu"})
        .node("Conv", {"se_relu", "se_e_w", "se_e_b"}, {"se_e"})
        .node("HardSigmoid", {"se_e"}, {"se_gate"}, {attr("alpha", kHardSigmoidAlpha)})
        .node("Mul", {"d_act", "se_gate"}, {"se"});
    p_in = "se";
  }
  f.node("Conv", {p_in, "p_w"}, {"p"}).node("BatchNormalization", bn_inputs("p", "p"), {"y"});
  for (const auto& formal : CallEmitter::formal_order({"x"}, w)) f.input(formal);
  f.output("y");
  call.fn = f.build();
  call.fn.add_attribute("g");
  call.fn.add_attribute("s");
  call.attrs.push_back(attr("g", mid));
  if (stride != 1) call.attrs.push_back(attr("s", {stride, stride}));
  return call;
}

}  // namespace

// ---- Genotype

OfaMbv3Genotype OfaMbv3Genotype::parse(std::string_view arch) {
  const std::string context = fmt::format("arch '{}'", arch);
  std::array<std::vector<int>, 4> values;
  size_t pos = 0;
  for (size_t i = 0; i < fields().size(); ++i) {
    const Field& field = fields()[i];
    std::string head = (i == 0 ? "" : "|") + std::string(field.label) + "=";
    if (arch.substr(pos, head.size()) != head) {
      size_t stop = std::min(arch.find_first_of(" |", pos + 1), arch.size());
      std::string_view token = pos < arch.size() ? arch.substr(pos, stop - pos) : std::string_view("<end>");
      parse_error(context, token, pos, fmt::format("expected '{}'", head));
    }
    pos += head.size();
    size_t end = std::min(arch.find('|', pos), arch.size());
    if (i + 1 == fields().size() && end != arch.size())
      parse_error(context, arch.substr(end), end, "trailing characters after the resolution");
    values[i] = parse_values(arch, pos, end, field, context);
    pos = end;
  }
  return from_fields(values);
}

OfaMbv3Genotype OfaMbv3Genotype::from_columns(std::string_view kernel_sizes, std::string_view expand_ratios,
                                              std::string_view depths, std::string_view resolution) {
  std::array<std::string_view, 4> columns{kernel_sizes, expand_ratios, depths, resolution};
  std::array<std::vector<int>, 4> values;
  for (size_t i = 0; i < columns.size(); ++i) {
    std::string context = fmt::format("column '{}' value '{}'", fields()[i].column, columns[i]);
    values[i] = parse_values(columns[i], 0, columns[i].size(), fields()[i], context);
  }
  return from_fields(values);
}

std::string OfaMbv3Genotype::to_string() const {
  return fmt::format("ks={}|e={}|d={}|r={}", fmt::join(kernel_sizes, " "), fmt::join(expand_ratios, " "),
                     fmt::join(depths, " "), resolution);
}

std::string OfaMbv3Genotype::canonical() const {
  OfaMbv3Genotype c = *this;
  for (int layer = 0; layer < kOfaNumLayers; ++layer) {
    if (active(layer)) continue;
    c.kernel_sizes[static_cast<size_t>(layer)] = kOfaKernelSizes[0];
    c.expand_ratios[static_cast<size_t>(layer)] = kOfaExpandRatios[0];
  }
  return c.to_string();
}

OfaMbv3Genotype OfaMbv3Genotype::from_genotype(const Genotype& g) {
  constexpr size_t kGenes = 2 * kOfaNumLayers + kOfaNumStages + 1;
  if (g.genes.size() != kGenes)
    throw SpaceError(fmt::format("ofa_mbv3 genotype: expected {} genes, got {}", kGenes, g.genes.size()));
  auto gene = [&](size_t i, int cardinality) {
    int v = g.genes[i];
    if (v < 0 || v >= cardinality)
      throw SpaceError(fmt::format("ofa_mbv3 genotype: gene {} = {} is outside [0, {})", i, v, cardinality));
    return v;
  };
  OfaMbv3Genotype out;
  for (size_t i = 0; i < kOfaNumLayers; ++i) {
    out.kernel_sizes[i] = kOfaKernelSizes[static_cast<size_t>(gene(i, 3))];
    out.expand_ratios[i] = kOfaExpandRatios[static_cast<size_t>(gene(kOfaNumLayers + i, 3))];
  }
  for (size_t s = 0; s < kOfaNumStages; ++s)
    out.depths[s] = kOfaDepths[static_cast<size_t>(gene(2 * kOfaNumLayers + s, 3))];
  out.resolution = kOfaMinResolution + kOfaResolutionStep * gene(kGenes - 1, kOfaNumResolutions);
  return out;
}

Genotype OfaMbv3Genotype::to_genotype() const {
  Genotype g;
  for (size_t i = 0; i < kOfaNumLayers; ++i)
    g.genes.push_back(index_of(kOfaKernelSizes, kernel_sizes[i], "kernel size", i));
  for (size_t i = 0; i < kOfaNumLayers; ++i)
    g.genes.push_back(index_of(kOfaExpandRatios, expand_ratios[i], "expand ratio", i));
  for (size_t s = 0; s < kOfaNumStages; ++s) g.genes.push_back(index_of(kOfaDepths, depths[s], "depth", s));
  int r = resolution - kOfaMinResolution;
  if (r < 0 || r % kOfaResolutionStep != 0 || r / kOfaResolutionStep >= kOfaNumResolutions)
    throw SpaceError(fmt::format("ofa_mbv3 genotype: resolution {} is not one of 128, 132, ..., 224", resolution));
  g.genes.push_back(r / kOfaResolutionStep);
  return g;
}

// ---- Widths and model

int64_t ofa_make_divisible(double v, int64_t divisor) {
  int64_t new_v =
      std::max<int64_t>(divisor, static_cast<int64_t>(v + static_cast<double>(divisor) / 2) / divisor * divisor);
  if (static_cast<double>(new_v) < 0.9 * v) new_v += divisor;
  return new_v;
}

OfaMbv3Widths ofa_mbv3_widths(double width_mult) {
  if (!(width_mult > 0)) throw SpaceError(fmt::format("ofa_mbv3: width_mult {} must be > 0", width_mult));
  constexpr std::array<int, 9> kBase{16, 16, 24, 40, 80, 112, 160, 960, 1280};
  auto width = [&](size_t i) { return ofa_make_divisible(kBase[i] * width_mult); };
  OfaMbv3Widths w;
  w.first_conv = width(0);
  w.first_block = width(1);
  for (size_t s = 0; s < kOfaNumStages; ++s) w.stage[s] = width(2 + s);
  w.final_expand = width(7);
  w.feature_mix = width(8);
  return w;
}

onnx::ModelProto build_ofa_mbv3_model(const OfaMbv3Genotype& g, const BuildOptions& options, double width_mult) {
  if (!options.dataset.empty() && options.dataset != "imagenet")
    throw SpaceError(fmt::format("ofa_mbv3: unknown dataset '{}'; known: imagenet", options.dataset));
  if (options.batch_size < 1)
    throw SpaceError(fmt::format("ofa_mbv3: batch_size {} must be >= 1", options.batch_size));
  g.to_genotype();  // validates every value
  const OfaMbv3Widths widths = ofa_mbv3_widths(width_mult);
  const int64_t n = options.batch_size, r = g.resolution;
  GraphBuilder b("ofa_mbv3", options.weights, options.weight_seed);
  CallEmitter emitter(b, options.use_functions);
  b.input("x", onnx::TensorProto::FLOAT, {n, 3, r, r});

  const int64_t c0 = widths.first_conv, c1 = widths.first_block;
  b.initializer("stem_w", {c0, 3, 3, 3}, ParamRole::kWeight);
  add_bn_params(b, "stem_bn", c0);
  b.node("Conv", {"x", "stem_w"}, {"stem_conv"}, {attr("pads", {1, 1, 1, 1}), attr("strides", {2, 2})})
      .node("BatchNormalization", bn_inputs("stem_conv", "stem_bn"), {"stem_bn_out"})
      .node("HardSwish", {"stem_bn_out"}, {"stem_out"});
  // First block: MBConvLayer with expand_ratio 1 (no inverted bottleneck), ReLU, identity shortcut.
  b.initializer("first_d_w", {c0, 1, 3, 3}, ParamRole::kWeight);
  add_bn_params(b, "first_d_bn", c0);
  b.initializer("first_p_w", {c1, c0, 1, 1}, ParamRole::kWeight);
  add_bn_params(b, "first_p_bn", c1);
  b.node("Conv", {"stem_out", "first_d_w"}, {"first_d"}, {attr("group", c0), attr("pads", {1, 1, 1, 1})})
      .node("BatchNormalization", bn_inputs("first_d", "first_d_bn"), {"first_d_bn_out"})
      .node("Relu", {"first_d_bn_out"}, {"first_d_act"})
      .node("Conv", {"first_d_act", "first_p_w"}, {"first_p"})
      .node("BatchNormalization", bn_inputs("first_p", "first_p_bn"), {"first_p_bn_out"});
  std::string x = "first_out";
  NAS_CHECK(c0 == c1, "OFA first block without identity shortcut ({} -> {})", c0, c1);
  b.node("Add", {"first_p_bn_out", "stem_out"}, {x});

  int64_t c = c1;
  for (int stage = 0; stage < kOfaNumStages; ++stage) {
    for (int i = 0; i < g.depths[static_cast<size_t>(stage)]; ++i) {
      const int layer = stage * kOfaMaxDepth + i;
      const int64_t stride = i == 0 ? kStageStrides[static_cast<size_t>(stage)] : 1;
      const int64_t c_out = widths.stage[static_cast<size_t>(stage)];
      BlockCall call = mb_block(stage, c, c_out, stride, g.kernel_sizes[static_cast<size_t>(layer)],
                                g.expand_ratios[static_cast<size_t>(layer)]);
      std::string prefix = fmt::format("b{}", layer);
      emitter.call(call.fn, {x}, call.weights, std::move(call.attrs), {prefix + "_block"}, prefix);
      if (stride == 1 && c == c_out) {  // OFA's ResidualBlock with an IdentityLayer shortcut
        b.node("Add", {prefix + "_block", x}, {prefix + "_out"});
        x = prefix + "_out";
      } else {
        x = prefix + "_block";
      }
      c = c_out;
    }
  }

  const int64_t fe = widths.final_expand, fm = widths.feature_mix;
  b.initializer("final_expand_w", {fe, c, 1, 1}, ParamRole::kWeight);
  add_bn_params(b, "final_expand_bn", fe);
  b.initializer("feature_mix_w", {fm, fe, 1, 1}, ParamRole::kWeight)
      .initializer("classifier_w", {kNumClasses, fm}, ParamRole::kWeight)
      .initializer("classifier_b", {kNumClasses}, ParamRole::kZeros)
      .node("Conv", {x, "final_expand_w"}, {"final_expand"})
      .node("BatchNormalization", bn_inputs("final_expand", "final_expand_bn"), {"final_expand_bn_out"})
      .node("HardSwish", {"final_expand_bn_out"}, {"final_expand_act"})
      .node("GlobalAveragePool", {"final_expand_act"}, {"pool"})
      .node("Conv", {"pool", "feature_mix_w"}, {"feature_mix"})
      .node("HardSwish", {"feature_mix"}, {"feature_mix_act"})
      .node("Flatten", {"feature_mix_act"}, {"flat"})
      .node("Gemm", {"flat", "classifier_w", "classifier_b"}, {"logits"}, {attr("transB", 1)})
      .output("logits", onnx::TensorProto::FLOAT, {n, kNumClasses});
  onnx::ModelProto model = std::move(b).build();
  emitter.finish(model);
  return model;
}

// ---- Space

OfaMbv3Space::OfaMbv3Space(double width_mult) : width_mult_(width_mult) { ofa_mbv3_widths(width_mult); }

std::vector<int> OfaMbv3Space::gene_cardinalities() const {
  std::vector<int> c(2 * kOfaNumLayers + kOfaNumStages, 3);
  c.push_back(kOfaNumResolutions);
  return c;
}

std::vector<std::string> OfaMbv3Space::datasets() const { return {"imagenet"}; }

void OfaMbv3Space::validate(const Genotype& g) const { OfaMbv3Genotype::from_genotype(g); }

Genotype OfaMbv3Space::sample(Rng& rng) const { return sample_independent_genes(gene_cardinalities(), rng); }

Genotype OfaMbv3Space::mutate(const Genotype& parent, Rng& rng) const {
  OfaMbv3Genotype p = OfaMbv3Genotype::from_genotype(parent);
  std::vector<size_t> live;  // genes that change the network
  for (int layer = 0; layer < kOfaNumLayers; ++layer) {
    if (!p.active(layer)) continue;
    live.push_back(static_cast<size_t>(layer));
    live.push_back(static_cast<size_t>(kOfaNumLayers + layer));
  }
  for (size_t s = 0; s < kOfaNumStages + 1; ++s) live.push_back(2 * kOfaNumLayers + s);
  size_t gene = live[rng.index(live.size())];
  return mutate_gene(parent, gene, gene_cardinalities()[gene], rng);
}

Genotype OfaMbv3Space::crossover(const Genotype& a, const Genotype& b, Rng& rng) const {
  validate(a);
  validate(b);
  return uniform_crossover(a, b, rng);
}

Genotype OfaMbv3Space::parse(std::string_view arch) const { return OfaMbv3Genotype::parse(arch).to_genotype(); }

std::string OfaMbv3Space::format(const Genotype& g) const { return OfaMbv3Genotype::from_genotype(g).to_string(); }

std::string OfaMbv3Space::canonical(const Genotype& g) const {
  return OfaMbv3Genotype::from_genotype(g).canonical();
}

onnx::ModelProto OfaMbv3Space::build_model(const Genotype& g, const BuildOptions& options) const {
  return build_ofa_mbv3_model(OfaMbv3Genotype::from_genotype(g), options, width_mult_);
}

}  // namespace nas::spaces
