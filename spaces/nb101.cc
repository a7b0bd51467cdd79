#include "spaces/nb101.h"
#include "spaces/function_weights.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <optional>
#include <unordered_map>

#include "core/error.h"
#include "spaces/onnx_builder.h"

namespace nas::spaces {
namespace {

constexpr int kNumClasses = 10;
constexpr int64_t kResolution = 32;
constexpr int kMaxSampleTries = 1000000;

const std::array<std::string, kNb101NumOps>& op_names() {
  static const std::array<std::string, kNb101NumOps> names{"conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"};
  return names;
}

// Edge gene index of the upper-triangular entry (from, to), from < to.
int edge_gene(int from, int to) {
  int index = 0;
  for (int i = 0; i < from; ++i) index += kNb101NumVertices - 1 - i;
  return index + (to - from - 1);
}

// Reports a parse error at `pos` of the string being parsed; `source` says what is parsed.
[[noreturn]] void parse_error(const std::string& source, std::string_view token, size_t pos, const std::string& what) {
  throw SpaceError(fmt::format("{}: token '{}' at position {}: {}", source, token, pos, what));
}

void parse_adjacency(std::string_view adj, const std::string& source, Nb101Genotype& g) {
  constexpr size_t kCells = kNb101NumVertices * kNb101NumVertices;
  if (adj.size() != kCells)
    parse_error(source, adj, 0,
                fmt::format("adjacency has {} characters, expected {} (7x7 row-major 0/1)", adj.size(), kCells));
  for (size_t k = 0; k < kCells; ++k) {
    char c = adj[k];
    if (c != '0' && c != '1') parse_error(source, adj.substr(k, 1), k, "adjacency characters must be '0' or '1'");
    int from = static_cast<int>(k) / kNb101NumVertices, to = static_cast<int>(k) % kNb101NumVertices;
    if (c == '1' && from >= to)
      parse_error(
          source, adj.substr(k, 1), k,
          fmt::format("edge {} -> {} is not above the diagonal (the adjacency must be upper-triangular)", from, to));
    if (from < to) g.adjacency[from][to] = c == '1';
  }
}

void parse_ops(std::string_view ops, size_t offset, const std::string& source, Nb101Genotype& g) {
  std::vector<std::pair<std::string_view, size_t>> tokens;  // (name, position)
  size_t pos = 0;
  while (true) {
    size_t end = ops.find(' ', pos);
    std::string_view token = ops.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    if (token.empty()) parse_error(source, token, offset + pos, "empty op name (ops are separated by single spaces)");
    tokens.emplace_back(token, offset + pos);
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  if (tokens.size() != kNb101NumVertices)
    parse_error(source, tokens.size() > kNb101NumVertices ? tokens[kNb101NumVertices].first : tokens.back().first,
                tokens.size() > kNb101NumVertices ? tokens[kNb101NumVertices].second : tokens.back().second,
                fmt::format("{} ops, expected {} (input, 5 vertex ops, output)", tokens.size(), kNb101NumVertices));
  if (tokens.front().first != "input")
    parse_error(source, tokens.front().first, tokens.front().second, "vertex 0 must be 'input'");
  if (tokens.back().first != "output")
    parse_error(source, tokens.back().first, tokens.back().second, "vertex 6 must be 'output'");
  for (int v = 1; v <= kNb101NumOpGenes; ++v) {
    auto [token, p] = tokens[v];
    auto it = std::find(op_names().begin(), op_names().end(), token);
    if (it == op_names().end())
      parse_error(source, token, p,
                  fmt::format("unknown op for vertex {} (known: {})", v, fmt::join(op_names(), ", ")));
    g.ops[v - 1] = static_cast<Nb101Op>(it - op_names().begin());
  }
}

// Vertices reachable from vertex 0 (forward) and reaching vertex 6 (backward).
std::array<bool, kNb101NumVertices> live_vertices(const Nb101Genotype& g, bool& connected) {
  std::array<bool, kNb101NumVertices> from_input{}, to_output{}, live{};
  from_input[0] = true;
  for (int v = 1; v < kNb101NumVertices; ++v)
    for (int u = 0; u < v; ++u) from_input[v] = from_input[v] || (from_input[u] && g.adjacency[u][v]);
  to_output[kNb101NumVertices - 1] = true;
  for (int u = kNb101NumVertices - 2; u >= 0; --u)
    for (int v = u + 1; v < kNb101NumVertices; ++v) to_output[u] = to_output[u] || (to_output[v] && g.adjacency[u][v]);
  for (int v = 0; v < kNb101NumVertices; ++v) live[v] = from_input[v] && to_output[v];
  connected = from_input[kNb101NumVertices - 1];
  return live;
}

// ---- ONNX.

// Conv attributes; no kernel_shape, which ONNX takes from the weight's shape.
std::vector<onnx::AttributeProto> conv_attrs(int64_t k) {
  std::vector<onnx::AttributeProto> attrs;
  int64_t pad = (k - 1) / 2;
  if (pad != 0) attrs.push_back(attr("pads", {pad, pad, pad, pad}));
  return attrs;
}

int64_t kernel_of(Nb101Op op) { return op == Nb101Op::kConv3x3 ? 3 : op == Nb101Op::kConv1x1 ? 1 : 0; }

// One node of the cell body before it is written, so that the final value can be renamed "y".
struct BodyNode {
  std::string op;
  std::vector<std::string> inputs, outputs;
  std::vector<onnx::AttributeProto> attrs;
};

// What one module needs from its call: which edges are truncated (in some stack), in nasbench's order.
struct CellPlan {
  Nb101Spec spec;
  std::vector<std::vector<bool>> gather;  // [s][t]: the edge s -> t goes through a Gather
  std::vector<int> feeders;               // intermediate vertices feeding the output, in order
  bool input_to_output = false;
};

CellPlan plan_cell(const Nb101Spec& spec) {
  CellPlan plan;
  plan.spec = spec;
  const int n = spec.num_vertices();
  plan.gather.assign(n, std::vector<bool>(n, false));
  int64_t c = kNb101StemChannels;
  for (int stack = 0; stack < kNb101Stacks; ++stack, c *= 2) {
    auto vc = nb101_vertex_channels(c, c, spec);
    for (int t = 1; t < n - 1; ++t)
      for (int s = 1; s < t; ++s)
        if (spec.matrix[s][t] && vc[s] != vc[t]) {
          NAS_CHECK(vc[s] == vc[t] + 1, "nb101: truncation {} -> {} from {} to {} channels", s, t, vc[s], vc[t]);
          plan.gather[s][t] = true;
        }
  }
  for (int v = 1; v < n - 1; ++v)
    if (spec.matrix[v][n - 1]) plan.feeders.push_back(v);
  plan.input_to_output = spec.matrix[0][n - 1] != 0;
  return plan;
}

// One weight formal of the cell function and its shape at one call.
struct WeightSpec {
  std::string formal;
  std::vector<int64_t> dims;
  bool indices = false;  // int64 Gather indices 0..dims[0]-1, else float (role by name)
  std::string intro;     // the formal to list explicitly when this one's shape needs a new dim variable
};

// The weights of one call (input channels c_in, module channels c), in body order.
std::vector<WeightSpec> cell_weights(const CellPlan& plan, int64_t c_in, int64_t c) {
  const Nb101Spec& spec = plan.spec;
  const int n = spec.num_vertices();
  auto vc = nb101_vertex_channels(c_in, c, spec);
  std::vector<WeightSpec> weights;
  auto conv_bn = [&](const std::string& prefix, std::vector<int64_t> w_dims) {
    int64_t co = w_dims[0];
    weights.push_back({prefix + "_w", std::move(w_dims), false, prefix + "_scale"});
    for (const char* suffix : {"_scale", "_bias", "_mean", "_var"})
      weights.push_back({prefix + suffix, {co}, false, prefix + "_scale"});
  };
  for (int t = 1; t < n - 1; ++t) {
    for (int s = 1; s < t; ++s)
      if (plan.gather[s][t]) {
        std::string g = fmt::format("g{}_{}_idx", s, t);
        weights.push_back({g, {vc[t]}, true, g});
      }
    if (spec.matrix[0][t]) conv_bn(fmt::format("p{}", t), {vc[t], c_in, 1, 1});
    int64_t k = kernel_of(spec.ops[t - 1]);
    if (k > 0) conv_bn(fmt::format("v{}", t), {vc[t], vc[t], k, k});
  }
  if (plan.input_to_output) conv_bn("pout", {c, c_in, 1, 1});
  return weights;
}

// The order of the weight formals (after the activation): first the few "intro" formals whose shapes
// bring channel counts that cannot be written in terms of the activation's shape or earlier intros
// (one BatchNormalization scale per such count), then every other weight in body order. The predictor
// text lists the intros at each call and writes all the other weights inline in the function body,
// with symbolic shapes; in plain body order, one inexpressible shape would make every weight before
// it explicit too (the text reader needs the implicit formals to be a tail in order of use).
// `calls[i]`: the weights of call i (same formals, body order); `activation[i]`: the input's dims.
std::vector<std::string> order_weight_formals(const std::vector<std::vector<WeightSpec>>& calls,
                                              const std::vector<std::vector<int64_t>>& activation) {
  std::vector<std::vector<int64_t>> vars;
  auto add_vars = [&](const std::vector<std::vector<int64_t>>& dims_per_call) {
    for (size_t d = 0; d < dims_per_call[0].size(); ++d) {
      std::vector<int64_t> u;
      for (const auto& dims : dims_per_call) u.push_back(dims[d]);
      if (!dims_expressible(u, {})) vars.push_back(u);
    }
  };
  add_vars(activation);
  const auto& first = calls.front();
  auto dims_of = [&](size_t i) {
    std::vector<std::vector<int64_t>> out;
    for (const auto& call : calls) out.push_back(call[i].dims);
    return out;
  };
  auto index_of = [&](const std::string& formal) {
    for (size_t i = 0; i < first.size(); ++i)
      if (first[i].formal == formal) return i;
    NAS_CHECK(false, "nb101: no weight formal '{}'", formal);
    return size_t{0};
  };
  auto fits = [&](size_t i) {
    auto dims = dims_of(i);
    for (size_t d = 0; d < dims[0].size(); ++d) {
      std::vector<int64_t> u;
      for (const auto& x : dims) u.push_back(x[d]);
      if (!dims_expressible(u, vars)) return false;
    }
    return true;
  };
  std::vector<bool> intro(first.size(), false);
  for (size_t i = 0; i < first.size(); ++i) {
    if (intro[i] || fits(i)) continue;
    size_t j = index_of(first[i].intro);
    if (!intro[j]) {
      intro[j] = true;
      add_vars(dims_of(j));
    }
    if (!fits(i)) {
      intro[i] = true;
      add_vars(dims_of(i));
    }
  }
  std::vector<std::string> order;
  for (size_t i = 0; i < first.size(); ++i)
    if (intro[i]) order.push_back(first[i].formal);
  for (size_t i = 0; i < first.size(); ++i)
    if (!intro[i]) order.push_back(first[i].formal);
  return order;
}

// The (input channels, module channels) of the 9 module calls in network order.
std::vector<std::pair<int64_t, int64_t>> module_channels() {
  std::vector<std::pair<int64_t, int64_t>> out;
  int64_t c_in = kNb101StemChannels, c = kNb101StemChannels;
  for (int stack = 0; stack < kNb101Stacks; ++stack) {
    if (stack > 0) c *= 2;
    for (int m = 0; m < kNb101ModulesPerStack; ++m) {
      out.emplace_back(c_in, c);
      c_in = c;
    }
  }
  return out;
}

onnx::FunctionProto cell_function(const CellPlan& plan, const std::vector<std::string>& weight_formals) {
  const Nb101Spec& spec = plan.spec;
  const int n = spec.num_vertices();
  std::vector<BodyNode> body;
  auto projection = [&](const std::string& prefix) {  // conv_bn_relu(x, 1x1); nasbench projection()
    body.push_back({"Conv", {"x", prefix + "_w"}, {prefix + "_conv"}, conv_attrs(1)});
    body.push_back({"BatchNormalization", bn_inputs(prefix + "_conv", prefix), {prefix + "_bn"}, {}});
    body.push_back({"Relu", {prefix + "_bn"}, {prefix}, {}});
    return prefix;
  };
  std::vector<std::string> value(n);
  value[0] = "x";
  for (int t = 1; t < n - 1; ++t) {
    std::vector<std::string> terms;
    for (int s = 1; s < t; ++s) {
      if (!spec.matrix[s][t]) continue;
      if (plan.gather[s][t]) {
        std::string g = fmt::format("g{}_{}", s, t);
        body.push_back({"Gather", {value[s], g + "_idx"}, {g}, {attr("axis", 1)}});
        terms.push_back(g);
      } else {
        terms.push_back(value[s]);
      }
    }
    if (spec.matrix[0][t]) terms.push_back(projection(fmt::format("p{}", t)));
    NAS_CHECK(!terms.empty(), "nb101: pruned vertex {} has no input", t);
    std::string in = terms.front();
    if (terms.size() > 1) {
      in = fmt::format("in{}", t);
      body.push_back({"Sum", terms, {in}, {}});
    }
    std::string v = fmt::format("v{}", t);
    Nb101Op op = spec.ops[t - 1];
    if (op == Nb101Op::kMaxPool3x3) {
      body.push_back({"MaxPool", {in}, {v}, {attr("kernel_shape", {3, 3}), attr("pads", {1, 1, 1, 1})}});
    } else {
      body.push_back({"Conv", {in, v + "_w"}, {v + "_conv"}, conv_attrs(kernel_of(op))});
      body.push_back({"BatchNormalization", bn_inputs(v + "_conv", v), {v + "_bn"}, {}});
      body.push_back({"Relu", {v + "_bn"}, {v}, {}});
    }
    value[t] = v;
  }
  std::string out;
  if (plan.feeders.empty()) {
    out = projection("pout");
  } else {
    out = value[plan.feeders.front()];
    if (plan.feeders.size() > 1) {
      std::vector<std::string> parts;
      for (int v : plan.feeders) parts.push_back(value[v]);
      out = "cat";
      body.push_back({"Concat", parts, {out}, {attr("axis", 1)}});
    }
    if (plan.input_to_output) {
      std::string proj = projection("pout");
      body.push_back({"Add", {out, proj}, {"sum"}, {}});
      out = "sum";
    }
  }
  // The final value is called "y" (it may also be read by later vertices).
  for (auto& node : body) {
    for (auto& i : node.inputs)
      if (i == out) i = "y";
    for (auto& o : node.outputs)
      if (o == out) o = "y";
  }
  FunctionBuilder f("cell");
  f.input("x");
  for (const auto& w : weight_formals) f.input(w);
  f.output("y");
  for (auto& node : body) f.node(node.op, node.inputs, node.outputs, node.attrs);
  return f.build();
}

void add_conv_bn_params(GraphBuilder& b, const std::string& prefix, const std::vector<int64_t>& w_dims) {
  b.initializer(prefix + "_w", w_dims, ParamRole::kWeight);
  add_bn_params(b, prefix, w_dims[0]);
}

// Adds the initializers of one call, "prefix_<formal>", and returns its actual inputs in the order of
// `weight_formals`. Gather indices go to `indices` (added after GraphBuilder::build(), which only
// makes float initializers).
std::vector<std::string> cell_call_inputs(GraphBuilder& b, std::vector<std::pair<std::string, int64_t>>& indices,
                                          const std::vector<WeightSpec>& weights,
                                          const std::vector<std::string>& weight_formals, const std::string& prefix,
                                          const std::string& x) {
  for (const auto& w : weights) {
    std::string name = prefix + "_" + w.formal;
    if (w.indices) {
      indices.emplace_back(name, w.dims[0]);
      continue;
    }
    auto ends_with = [&](const char* suffix) {
      std::string_view f = w.formal, sfx = suffix;
      return f.size() >= sfx.size() && f.substr(f.size() - sfx.size()) == sfx;
    };
    ParamRole role = ends_with("_w")                            ? ParamRole::kWeight
                     : ends_with("_scale") || ends_with("_var") ? ParamRole::kOnes
                                                                : ParamRole::kZeros;
    b.initializer(name, w.dims, role);
  }
  std::vector<std::string> inputs{x};
  for (const auto& f : weight_formals) inputs.push_back(prefix + "_" + f);
  return inputs;
}

}  // namespace

const std::string& nb101_op_name(Nb101Op op) {
  int i = static_cast<int>(op);
  NAS_CHECK(i >= 0 && i < kNb101NumOps, "invalid Nb101Op {}", i);
  return op_names()[i];
}

int Nb101Spec::num_edges() const {
  int edges = 0;
  for (const auto& row : matrix) edges += static_cast<int>(std::count(row.begin(), row.end(), 1));
  return edges;
}

std::string Nb101Spec::to_string() const {
  std::string s;
  for (const auto& row : matrix)
    for (int e : row) s += e ? '1' : '0';
  s += "|input";
  for (Nb101Op op : ops) s += " " + nb101_op_name(op);
  return s + " output";
}

std::vector<int64_t> nb101_vertex_channels(int64_t input_channels, int64_t output_channels, const Nb101Spec& spec) {
  const int n = spec.num_vertices();
  NAS_CHECK(n >= 2, "nb101: module with {} vertices", n);
  std::vector<int64_t> vc(n, 0);
  vc[0] = input_channels;
  vc[n - 1] = output_channels;
  if (n == 2) return vc;
  int64_t in_degree = 0;  // intermediate vertices feeding the output
  for (int v = 1; v < n - 1; ++v) in_degree += spec.matrix[v][n - 1];
  NAS_CHECK(in_degree > 0, "nb101: no intermediate vertex feeds the output of a pruned module");
  int64_t interior = output_channels / in_degree, correction = output_channels % in_degree;
  for (int v = 1; v < n - 1; ++v) {
    if (!spec.matrix[v][n - 1]) continue;
    vc[v] = interior;
    if (correction > 0) {
      ++vc[v];
      --correction;
    }
  }
  for (int v = n - 3; v > 0; --v) {
    if (spec.matrix[v][n - 1]) continue;
    for (int dst = v + 1; dst < n - 1; ++dst)
      if (spec.matrix[v][dst]) vc[v] = std::max(vc[v], vc[dst]);
    NAS_CHECK(vc[v] > 0, "nb101: vertex {} gets no channels", v);
  }
  return vc;
}

Nb101Genotype Nb101Genotype::parse(std::string_view arch) {
  const std::string source = fmt::format("nb101 arch '{}'", arch);
  size_t bar = arch.find('|');
  if (bar == std::string_view::npos)
    parse_error(source, arch.substr(0, std::min<size_t>(arch.size(), 49)), 0,
                "expected 'ADJACENCY|OPS' (the 49-character adjacency, '|', the 7 space-separated ops)");
  Nb101Genotype g;
  parse_adjacency(arch.substr(0, bar), source, g);
  parse_ops(arch.substr(bar + 1), bar + 1, source, g);
  try {
    g.validate();
  } catch (const SpaceError& e) {
    throw SpaceError(fmt::format("{}: {}", source, e.what()));
  }
  return g;
}

Nb101Genotype Nb101Genotype::from_csv(std::string_view adjacency_7x7, std::string_view ops) {
  Nb101Genotype g;
  parse_adjacency(adjacency_7x7, fmt::format("nb101 column 'adjacency_7x7' ('{}')", adjacency_7x7), g);
  parse_ops(ops, 0, fmt::format("nb101 column 'ops' ('{}')", ops), g);
  try {
    g.validate();
  } catch (const SpaceError& e) {
    throw SpaceError(fmt::format("nb101 cell '{}|{}': {}", adjacency_7x7, ops, e.what()));
  }
  return g;
}

std::string Nb101Genotype::adjacency_string() const {
  std::string s;
  for (int i = 0; i < kNb101NumVertices; ++i)
    for (int j = 0; j < kNb101NumVertices; ++j) s += i < j && adjacency[i][j] ? '1' : '0';
  return s;
}

std::string Nb101Genotype::ops_string() const {
  std::string s = "input";
  for (Nb101Op op : ops) s += " " + nb101_op_name(op);
  return s + " output";
}

std::string Nb101Genotype::to_string() const { return adjacency_string() + "|" + ops_string(); }

Nb101Spec Nb101Genotype::pruned() const {
  bool connected = false;
  auto live = live_vertices(*this, connected);
  if (!connected) throw SpaceError("input is not connected to the output");
  std::vector<int> keep;
  for (int v = 0; v < kNb101NumVertices; ++v)
    if (live[v]) keep.push_back(v);
  Nb101Spec spec;
  const int n = static_cast<int>(keep.size());
  spec.matrix.assign(n, std::vector<int>(n, 0));
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j) spec.matrix[i][j] = adjacency[keep[i]][keep[j]] ? 1 : 0;
  for (int i = 1; i < n - 1; ++i) spec.ops.push_back(ops[keep[i] - 1]);
  return spec;
}

void Nb101Genotype::validate() const {
  Nb101Spec spec = pruned();
  if (spec.num_edges() > kNb101MaxEdges)
    throw SpaceError(fmt::format("pruned module has {} edges, at most {}", spec.num_edges(), kNb101MaxEdges));
}

bool Nb101Genotype::is_valid() const {
  bool connected = false;
  auto live = live_vertices(*this, connected);
  if (!connected) return false;
  int edges = 0;
  for (int i = 0; i < kNb101NumVertices; ++i)
    for (int j = i + 1; j < kNb101NumVertices; ++j) edges += adjacency[i][j] && live[i] && live[j];
  return edges <= kNb101MaxEdges;
}

std::string Nb101Genotype::canonical() const {
  Nb101Spec spec = pruned();
  const int n = spec.num_vertices();
  std::vector<int> order(n - 2);  // order[k] = old index of the intermediate vertex placed at k + 1
  std::iota(order.begin(), order.end(), 1);
  std::string best;
  do {
    std::vector<int> old_of(n);  // new index -> old index
    old_of[0] = 0;
    old_of[n - 1] = n - 1;
    for (int k = 0; k < n - 2; ++k) old_of[k + 1] = order[k];
    Nb101Spec relabelled;
    relabelled.matrix.assign(n, std::vector<int>(n, 0));
    bool topological = true;
    for (int i = 0; i < n && topological; ++i)
      for (int j = 0; j < n; ++j) {
        if (!spec.matrix[old_of[i]][old_of[j]]) continue;
        if (i >= j) {
          topological = false;
          break;
        }
        relabelled.matrix[i][j] = 1;
      }
    if (!topological) continue;
    for (int k = 1; k < n - 1; ++k) relabelled.ops.push_back(spec.ops[old_of[k] - 1]);
    std::string s = relabelled.to_string();
    if (best.empty() || s < best) best = std::move(s);
  } while (std::next_permutation(order.begin(), order.end()));
  return best;
}

Nb101Genotype Nb101Genotype::from_genotype(const Genotype& g) {
  constexpr size_t kGenes = kNb101NumEdgeGenes + kNb101NumOpGenes;
  if (g.genes.size() != kGenes)
    throw SpaceError(fmt::format("nb101 genotype: expected {} genes, got {}", kGenes, g.genes.size()));
  Nb101Genotype out;
  for (int from = 0; from < kNb101NumVertices; ++from)
    for (int to = from + 1; to < kNb101NumVertices; ++to) {
      int i = edge_gene(from, to), v = g.genes[i];
      if (v < 0 || v > 1) throw SpaceError(fmt::format("nb101 genotype: gene {} = {} is outside [0, 2)", i, v));
      out.adjacency[from][to] = v == 1;
    }
  for (int k = 0; k < kNb101NumOpGenes; ++k) {
    int i = kNb101NumEdgeGenes + k, v = g.genes[i];
    if (v < 0 || v >= kNb101NumOps)
      throw SpaceError(fmt::format("nb101 genotype: gene {} = {} is outside [0, {})", i, v, kNb101NumOps));
    out.ops[k] = static_cast<Nb101Op>(v);
  }
  return out;
}

Genotype Nb101Genotype::to_genotype() const {
  Genotype g;
  g.genes.assign(kNb101NumEdgeGenes + kNb101NumOpGenes, 0);
  for (int from = 0; from < kNb101NumVertices; ++from)
    for (int to = from + 1; to < kNb101NumVertices; ++to) g.genes[edge_gene(from, to)] = adjacency[from][to] ? 1 : 0;
  for (int k = 0; k < kNb101NumOpGenes; ++k) g.genes[kNb101NumEdgeGenes + k] = static_cast<int>(ops[k]);
  return g;
}

onnx::ModelProto build_nb101_model(const Nb101Genotype& g, const BuildOptions& options) {
  if (!options.dataset.empty() && options.dataset != "cifar10")
    throw SpaceError(fmt::format("nb101: unknown dataset '{}'; known: cifar10", options.dataset));
  if (options.batch_size < 1) throw SpaceError(fmt::format("nb101: batch_size {} must be >= 1", options.batch_size));
  Nb101Spec spec;
  try {
    g.validate();
    spec = g.pruned();
  } catch (const SpaceError& e) {
    throw SpaceError(fmt::format("nb101 arch '{}': {}", g.to_string(), e.what()));
  }
  const CellPlan plan = plan_cell(spec);
  const int64_t n = options.batch_size;
  const auto channels = module_channels();
  std::vector<std::vector<WeightSpec>> call_weights;
  std::vector<std::vector<int64_t>> activation;
  int64_t h = kResolution;
  for (size_t i = 0; i < channels.size(); ++i) {
    if (i > 0 && channels[i].second != channels[i - 1].second) h /= 2;
    call_weights.push_back(cell_weights(plan, channels[i].first, channels[i].second));
    activation.push_back({n, channels[i].first, h, h});
  }
  const auto weight_formals = order_weight_formals(call_weights, activation);

  GraphBuilder b("nb101", options.weights, options.weight_seed);
  b.set_inline_calls(!options.use_functions).function(cell_function(plan, weight_formals));
  b.input("x", onnx::TensorProto::FLOAT, {n, 3, kResolution, kResolution});

  add_conv_bn_params(b, "stem", {kNb101StemChannels, 3, 3, 3});
  b.node("Conv", {"x", "stem_w"}, {"stem_conv"}, conv_attrs(3))
      .node("BatchNormalization", bn_inputs("stem_conv", "stem"), {"stem_bn"})
      .node("Relu", {"stem_bn"}, {"stem_out"});

  std::vector<std::pair<std::string, int64_t>> indices;  // Gather indices initializers: name, size
  std::string x = "stem_out";
  int64_t c = kNb101StemChannels;
  for (size_t i = 0; i < channels.size(); ++i) {
    if (channels[i].second != c) {
      std::string pooled = fmt::format("pool{}", i / kNb101ModulesPerStack);
      b.node("MaxPool", {x}, {pooled}, {attr("kernel_shape", {2, 2}), attr("strides", {2, 2})});
      x = pooled;
      c = channels[i].second;
    }
    std::string prefix = fmt::format("cell{}", i);
    b.call("cell", cell_call_inputs(b, indices, call_weights[i], weight_formals, prefix, x), {prefix + "_out"}, prefix);
    x = prefix + "_out";
  }

  b.initializer("classifier_w", {kNumClasses, c}, ParamRole::kWeight)
      .initializer("classifier_b", {kNumClasses}, ParamRole::kZeros)
      .node("GlobalAveragePool", {x}, {"head_pool"})
      .node("Flatten", {"head_pool"}, {"head_flat"})
      .node("Gemm", {"head_flat", "classifier_w", "classifier_b"}, {"logits"}, {attr("transB", 1)})
      .output("logits", onnx::TensorProto::FLOAT, {n, kNumClasses});
  onnx::ModelProto model = std::move(b).build();
  for (const auto& [name, size] : indices) {
    auto* t = model.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(size);
    for (int64_t i = 0; i < size; ++i) t->add_int64_data(i);
  }
  return model;
}

std::vector<int> Nb101Space::gene_cardinalities() const {
  std::vector<int> card(kNb101NumEdgeGenes, 2);
  card.insert(card.end(), kNb101NumOpGenes, kNb101NumOps);
  return card;
}

std::vector<std::string> Nb101Space::datasets() const { return {"cifar10"}; }

void Nb101Space::validate(const Genotype& g) const {
  Nb101Genotype n = Nb101Genotype::from_genotype(g);
  try {
    n.validate();
  } catch (const SpaceError& e) {
    throw SpaceError(fmt::format("nb101 genotype '{}': {}", n.to_string(), e.what()));
  }
}

Genotype Nb101Space::sample(Rng& rng) const {
  const auto card = gene_cardinalities();
  for (int attempt = 0; attempt < kMaxSampleTries; ++attempt) {
    Genotype g;
    for (int c : card) g.genes.push_back(static_cast<int>(rng.index(static_cast<size_t>(c))));
    if (Nb101Genotype::from_genotype(g).is_valid()) return g;
  }
  NAS_CHECK(false, "nb101: no valid genotype in {} random draws", kMaxSampleTries);
  return {};
}

Genotype Nb101Space::mutate(const Genotype& parent, Rng& rng) const {
  validate(parent);
  const auto card = gene_cardinalities();
  const std::string parent_canonical = canonical(parent);
  auto change_genes = [&](int count) {
    Genotype child = parent;
    for (int k = 0; k < count; ++k) {
      size_t i = rng.index(card.size());
      int v = static_cast<int>(rng.index(static_cast<size_t>(card[i]) - 1));
      child.genes[i] = v >= child.genes[i] ? v + 1 : v;
    }
    return child;
  };
  std::optional<Genotype> fallback;  // valid, different genes, maybe the same network
  for (int count = 1; count <= 3; ++count) {
    for (int attempt = 0; attempt < 200; ++attempt) {
      Genotype child = change_genes(count);
      if (child == parent) continue;
      Nb101Genotype c = Nb101Genotype::from_genotype(child);
      if (!c.is_valid()) continue;
      if (c.canonical() != parent_canonical) return child;
      if (!fallback) fallback = child;
    }
  }
  if (fallback) return *fallback;
  for (int attempt = 0; attempt < kMaxSampleTries; ++attempt) {
    Genotype child = sample(rng);
    if (child != parent) return child;
  }
  NAS_CHECK(false, "nb101: no mutation of '{}' found", format(parent));
  return {};
}

Genotype Nb101Space::crossover(const Genotype& a, const Genotype& b, Rng& rng) const {
  validate(a);
  validate(b);
  for (int attempt = 0; attempt < 100; ++attempt) {
    Genotype child = a;
    for (size_t i = 0; i < child.genes.size(); ++i)
      if (rng.bernoulli(0.5)) child.genes[i] = b.genes[i];
    if (Nb101Genotype::from_genotype(child).is_valid()) return child;
  }
  return a;
}

Genotype Nb101Space::parse(std::string_view arch) const { return Nb101Genotype::parse(arch).to_genotype(); }

std::string Nb101Space::format(const Genotype& g) const { return Nb101Genotype::from_genotype(g).to_string(); }

std::string Nb101Space::canonical(const Genotype& g) const {
  validate(g);
  return Nb101Genotype::from_genotype(g).canonical();
}

onnx::ModelProto Nb101Space::build_model(const Genotype& g, const BuildOptions& options) const {
  return build_nb101_model(Nb101Genotype::from_genotype(g), options);
}

}  // namespace nas::spaces
