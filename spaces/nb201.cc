#include "spaces/nb201.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"
#include "spaces/onnx_builder.h"

namespace nas::spaces {
namespace {

constexpr std::array<std::pair<int, int>, kNb201NumEdges> kEdges{{{1, 0}, {2, 0}, {2, 1}, {3, 0}, {3, 1}, {3, 2}}};
constexpr int64_t kStemChannels = 16;
constexpr int kStages = 3;
constexpr int kCellsPerStage = 5;

const std::array<std::string, kNb201NumOps>& op_names() {
  static const std::array<std::string, kNb201NumOps> names{"none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3",
                                                           "avg_pool_3x3"};
  return names;
}

// Kernel size of a conv op, 0 for the other ops.
int64_t conv_kernel(Nb201Op op) {
  if (op == Nb201Op::kNorConv1x1) return 1;
  if (op == Nb201Op::kNorConv3x3) return 3;
  return 0;
}

[[noreturn]] void parse_error(std::string_view arch, std::string_view token, size_t pos, const std::string& what) {
  throw SpaceError(fmt::format("nb201 arch '{}': token '{}' at position {}: {}", arch, token, pos, what));
}

// The node-edge index of edge (to, from).
int edge_index(int to, int from) {
  for (int i = 0; i < kNb201NumEdges; ++i)
    if (kEdges[i].first == to && kEdges[i].second == from) return i;
  NAS_CHECK(false, "no NB201 edge {} <- {}", to, from);
  return -1;
}

// Conv attributes; no kernel_shape, which ONNX takes from the weight's shape (nor does the predictor
// text need it twice).
std::vector<onnx::AttributeProto> conv_attrs(int64_t k, int64_t stride) {
  std::vector<onnx::AttributeProto> attrs;
  int64_t pad = (k - 1) / 2;
  if (pad != 0) attrs.push_back(attr("pads", {pad, pad, pad, pad}));
  if (stride != 1) attrs.push_back(attr("strides", {stride, stride}));
  return attrs;
}

// The weight formals of the cell function, in body order.
std::vector<std::string> cell_weight_formals(const Nb201Genotype& g) {
  std::vector<std::string> formals;
  for (int j = 0; j < kNb201NumEdges; ++j) {
    if (conv_kernel(g.edges[j]) == 0) continue;
    for (const char* suffix : {"_w", "_scale", "_bias", "_mean", "_var"}) formals.push_back(fmt::format("e{}{}", j, suffix));
  }
  return formals;
}

onnx::FunctionProto cell_function(const Nb201Genotype& g) {
  FunctionBuilder f("cell");
  f.input("x");
  for (auto& w : cell_weight_formals(g)) f.input(w);
  f.output("y");
  std::array<std::string, 4> nodes{"x"};
  for (int to = 1; to <= 3; ++to) {
    std::vector<std::string> terms;
    for (int from = 0; from < to; ++from) {
      int j = edge_index(to, from);
      const std::string& in = nodes[from];
      std::string e = fmt::format("e{}", j);
      switch (g.edges[j]) {
        case Nb201Op::kNone:
          break;
        case Nb201Op::kSkipConnect:
          terms.push_back(in);
          break;
        case Nb201Op::kNorConv1x1:
        case Nb201Op::kNorConv3x3:
          f.node("Relu", {in}, {e + "_relu"})
              .node("Conv", {e + "_relu", e + "_w"}, {e + "_conv"}, conv_attrs(conv_kernel(g.edges[j]), 1))
              .node("BatchNormalization", bn_inputs(e + "_conv", e), {e + "_bn"});
          terms.push_back(e + "_bn");
          break;
        case Nb201Op::kAvgPool3x3:
          f.node("AveragePool", {in}, {e + "_pool"}, {attr("kernel_shape", {3, 3}), attr("pads", {1, 1, 1, 1})});
          terms.push_back(e + "_pool");
          break;
      }
    }
    std::string out = to == 3 ? "y" : fmt::format("n{}", to);
    if (terms.empty()) {
      f.node("Sub", {"x", "x"}, {out});  // the zero tensor of the input's shape, without parameters
    } else if (terms.size() == 1) {
      if (to == 3) f.node("Identity", {terms[0]}, {out});
      else out = terms[0];
    } else {
      f.node("Sum", terms, {out});
    }
    nodes[to] = out;
  }
  return f.build();
}

const std::vector<std::string>& resblock_weight_formals() {
  static const std::vector<std::string> formals{"a_w",     "a_scale", "a_bias", "a_mean", "a_var",  "b_w",
                                                "b_scale", "b_bias",  "b_mean", "b_var",  "short_w"};
  return formals;
}

onnx::FunctionProto resblock_function() {
  FunctionBuilder f("resblock");
  f.input("x");
  for (const auto& w : resblock_weight_formals()) f.input(w);
  f.output("y")
      .node("Relu", {"x"}, {"a_relu"})
      .node("Conv", {"a_relu", "a_w"}, {"a_conv"}, conv_attrs(3, 2))
      .node("BatchNormalization", bn_inputs("a_conv", "a"), {"a_bn"})
      .node("Relu", {"a_bn"}, {"b_relu"})
      .node("Conv", {"b_relu", "b_w"}, {"b_conv"}, conv_attrs(3, 1))
      .node("BatchNormalization", bn_inputs("b_conv", "b"), {"b_bn"})
      .node("AveragePool", {"x"}, {"short_pool"}, {attr("kernel_shape", {2, 2}), attr("strides", {2, 2})})
      .node("Conv", {"short_pool", "short_w"}, {"short_conv"}, conv_attrs(1, 1))
      .node("Add", {"b_bn", "short_conv"}, {"y"});
  return f.build();
}

// Binds the formals to fresh initializers "prefix_<formal>", adding them with the right shapes.
std::vector<std::string> cell_call_inputs(GraphBuilder& b, const Nb201Genotype& g, const std::string& prefix,
                                          const std::string& x, int64_t c) {
  std::vector<std::string> inputs{x};
  for (int j = 0; j < kNb201NumEdges; ++j) {
    int64_t k = conv_kernel(g.edges[j]);
    if (k == 0) continue;
    std::string e = fmt::format("{}_e{}", prefix, j);
    b.initializer(e + "_w", {c, c, k, k}, ParamRole::kWeight);
    add_bn_params(b, e, c);
    for (const char* suffix : {"_w", "_scale", "_bias", "_mean", "_var"}) inputs.push_back(e + suffix);
  }
  return inputs;
}

std::vector<std::string> resblock_call_inputs(GraphBuilder& b, const std::string& prefix, const std::string& x,
                                              int64_t c_in, int64_t c_out) {
  b.initializer(prefix + "_a_w", {c_out, c_in, 3, 3}, ParamRole::kWeight);
  add_bn_params(b, prefix + "_a", c_out);
  b.initializer(prefix + "_b_w", {c_out, c_out, 3, 3}, ParamRole::kWeight);
  add_bn_params(b, prefix + "_b", c_out);
  b.initializer(prefix + "_short_w", {c_out, c_in, 1, 1}, ParamRole::kWeight);
  std::vector<std::string> inputs{x};
  for (const auto& w : resblock_weight_formals()) inputs.push_back(prefix + "_" + w);
  return inputs;
}

}  // namespace

const std::string& nb201_op_name(Nb201Op op) {
  int i = static_cast<int>(op);
  NAS_CHECK(i >= 0 && i < kNb201NumOps, "invalid Nb201Op {}", i);
  return op_names()[i];
}

std::pair<int, int> nb201_edge(int i) {
  NAS_CHECK(i >= 0 && i < kNb201NumEdges, "NB201 edge index {} out of range", i);
  return kEdges[i];
}

Nb201Genotype Nb201Genotype::parse(std::string_view arch) {
  Nb201Genotype g;
  size_t pos = 0;
  auto char_at = [&](size_t p) -> std::string_view { return p < arch.size() ? arch.substr(p, 1) : "<end>"; };
  for (int to = 1; to <= 3; ++to) {
    if (to > 1) {
      if (pos >= arch.size() || arch[pos] != '+')
        parse_error(arch, char_at(pos), pos, fmt::format("expected '+' before node {}", to));
      ++pos;
    }
    if (pos >= arch.size() || arch[pos] != '|')
      parse_error(arch, char_at(pos), pos, fmt::format("expected '|' opening node {}", to));
    ++pos;
    for (int from = 0; from < to; ++from) {
      size_t end = arch.find('|', pos);
      std::string_view token = arch.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
      if (token.empty() || token.find('+') != std::string_view::npos)
        parse_error(arch, token, pos, fmt::format("node {} has {} input(s), expected {}", to, from, to));
      if (end == std::string_view::npos) parse_error(arch, token, pos, "missing closing '|'");
      size_t tilde = token.find('~');
      if (tilde == std::string_view::npos || token.find('~', tilde + 1) != std::string_view::npos)
        parse_error(arch, token, pos, "expected 'op~input'");
      std::string_view op = token.substr(0, tilde), input = token.substr(tilde + 1);
      auto it = std::find(op_names().begin(), op_names().end(), op);
      if (it == op_names().end())
        parse_error(arch, token, pos,
                    fmt::format("unknown op '{}' (known: {})", op, fmt::join(op_names(), ", ")));
      if (input != std::to_string(from))
        parse_error(arch, token, pos, fmt::format("input '{}' where node {} expects input {}", input, to, from));
      g.edges[edge_index(to, from)] = static_cast<Nb201Op>(it - op_names().begin());
      pos = end + 1;
    }
    bool node_end = pos == arch.size() || arch[pos] == '+';
    if (!node_end) {
      size_t end = std::min(arch.find('|', pos), arch.size());
      parse_error(arch, arch.substr(pos, end - pos), pos,
                  fmt::format("node {} has more than {} inputs", to, to));
    }
  }
  if (pos != arch.size()) parse_error(arch, arch.substr(pos), pos, "trailing characters after node 3");
  return g;
}

std::string Nb201Genotype::to_string() const {
  std::string s;
  for (int to = 1; to <= 3; ++to) {
    if (to > 1) s += '+';
    s += '|';
    for (int from = 0; from < to; ++from) {
      s += nb201_op_name(edges[edge_index(to, from)]);
      s += '~';
      s += std::to_string(from);
      s += '|';
    }
  }
  return s;
}

std::string Nb201Genotype::canonical() const {
  std::array<std::string, 4> nodes{"0"};
  for (int to = 1; to <= 3; ++to) {
    std::vector<std::string> terms;
    for (int from = 0; from < to; ++from) {
      Nb201Op op = edges[edge_index(to, from)];
      const std::string& in = nodes[from];
      if (op == Nb201Op::kNone || in == "#") terms.push_back("#");
      else if (op == Nb201Op::kSkipConnect) terms.push_back(in);
      else terms.push_back("(" + in + ")@" + nb201_op_name(op));
    }
    std::sort(terms.begin(), terms.end());
    nodes[to] = fmt::format("{}", fmt::join(terms, "+"));
  }
  return nodes[3];
}

Nb201Genotype Nb201Genotype::from_genotype(const Genotype& g) {
  if (g.genes.size() != kNb201NumEdges)
    throw SpaceError(fmt::format("nb201 genotype: expected {} genes, got {}", kNb201NumEdges, g.genes.size()));
  Nb201Genotype out;
  for (int i = 0; i < kNb201NumEdges; ++i) {
    if (g.genes[i] < 0 || g.genes[i] >= kNb201NumOps)
      throw SpaceError(fmt::format("nb201 genotype: gene {} = {} is outside [0, {})", i, g.genes[i], kNb201NumOps));
    out.edges[i] = static_cast<Nb201Op>(g.genes[i]);
  }
  return out;
}

Genotype Nb201Genotype::to_genotype() const {
  Genotype g;
  for (Nb201Op op : edges) g.genes.push_back(static_cast<int>(op));
  return g;
}

const std::vector<Nb201Dataset>& nb201_datasets() {
  static const std::vector<Nb201Dataset> datasets{{"cifar10", 32, 10}, {"cifar100", 32, 100}, {"imagenet16", 16, 120}};
  return datasets;
}

const Nb201Dataset& nb201_dataset(const std::string& name) {
  const auto& all = nb201_datasets();
  if (name.empty()) return all.front();
  for (const auto& d : all)
    if (d.name == name) return d;
  std::vector<std::string> known;
  for (const auto& d : all) known.push_back(d.name);
  throw SpaceError(fmt::format("nb201: unknown dataset '{}'; known: {}", name, fmt::join(known, ", ")));
}

onnx::ModelProto build_nb201_model(const Nb201Genotype& g, const BuildOptions& options) {
  const Nb201Dataset& ds = nb201_dataset(options.dataset);
  if (options.batch_size < 1) throw SpaceError(fmt::format("nb201: batch_size {} must be >= 1", options.batch_size));
  const int64_t n = options.batch_size;
  GraphBuilder b("nb201", options.weights, options.weight_seed);
  b.set_inline_calls(!options.use_functions).function(cell_function(g)).function(resblock_function());
  b.input("x", onnx::TensorProto::FLOAT, {n, 3, ds.resolution, ds.resolution});

  b.initializer("stem_conv_w", {kStemChannels, 3, 3, 3}, ParamRole::kWeight);
  add_bn_params(b, "stem_bn", kStemChannels);
  b.node("Conv", {"x", "stem_conv_w"}, {"stem_conv"}, conv_attrs(3, 1))
      .node("BatchNormalization", bn_inputs("stem_conv", "stem_bn"), {"stem_out"});

  std::string x = "stem_out";
  int64_t c = kStemChannels;
  int index = 0;
  for (int stage = 0; stage < kStages; ++stage) {
    if (stage > 0) {
      std::string prefix = fmt::format("cell{}", index++);
      b.call("resblock", resblock_call_inputs(b, prefix, x, c, 2 * c), {prefix + "_out"}, prefix);
      x = prefix + "_out";
      c *= 2;
    }
    for (int i = 0; i < kCellsPerStage; ++i) {
      std::string prefix = fmt::format("cell{}", index++);
      b.call("cell", cell_call_inputs(b, g, prefix, x, c), {prefix + "_out"}, prefix);
      x = prefix + "_out";
    }
  }

  add_bn_params(b, "head_bn", c);
  b.initializer("classifier_w", {ds.num_classes, c}, ParamRole::kWeight)
      .initializer("classifier_b", {ds.num_classes}, ParamRole::kZeros)
      .node("BatchNormalization", bn_inputs(x, "head_bn"), {"head_bn_out"})
      .node("Relu", {"head_bn_out"}, {"head_relu"})
      .node("GlobalAveragePool", {"head_relu"}, {"head_pool"})
      .node("Flatten", {"head_pool"}, {"head_flat"})
      .node("Gemm", {"head_flat", "classifier_w", "classifier_b"}, {"logits"}, {attr("transB", 1)})
      .output("logits", onnx::TensorProto::FLOAT, {n, ds.num_classes});
  return std::move(b).build();
}

std::vector<int> Nb201Space::gene_cardinalities() const { return std::vector<int>(kNb201NumEdges, kNb201NumOps); }

std::vector<std::string> Nb201Space::datasets() const {
  std::vector<std::string> names;
  for (const auto& d : nb201_datasets()) names.push_back(d.name);
  return names;
}

void Nb201Space::validate(const Genotype& g) const { Nb201Genotype::from_genotype(g); }

Genotype Nb201Space::sample(Rng& rng) const { return sample_independent_genes(gene_cardinalities(), rng); }

Genotype Nb201Space::mutate(const Genotype& parent, Rng& rng) const {
  validate(parent);
  return mutate_gene(parent, rng.index(kNb201NumEdges), kNb201NumOps, rng);
}

Genotype Nb201Space::crossover(const Genotype& a, const Genotype& b, Rng& rng) const {
  validate(a);
  validate(b);
  return uniform_crossover(a, b, rng);
}

Genotype Nb201Space::parse(std::string_view arch) const { return Nb201Genotype::parse(arch).to_genotype(); }

std::string Nb201Space::format(const Genotype& g) const { return Nb201Genotype::from_genotype(g).to_string(); }

std::string Nb201Space::canonical(const Genotype& g) const { return Nb201Genotype::from_genotype(g).canonical(); }

onnx::ModelProto Nb201Space::build_model(const Genotype& g, const BuildOptions& options) const {
  return build_nb201_model(Nb201Genotype::from_genotype(g), options);
}

}  // namespace nas::spaces
