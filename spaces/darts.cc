#include "spaces/darts.h"
#include "spaces/function_weights.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>

#include "core/error.h"
#include "spaces/onnx_builder.h"

namespace nas::spaces {
namespace {

constexpr int kNumClasses = 10;
constexpr int64_t kResolution = 32;
constexpr int64_t kStemMultiplier = 3;

const std::array<std::string, kDartsNumOps>& op_names() {
  static const std::array<std::string, kDartsNumOps> names{
      "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"};
  return names;
}

bool is_reduction_layer(int layer) { return layer == kDartsLayers / 3 || layer == 2 * kDartsLayers / 3; }

// ---- Parsing.

// A strict cursor over the compact genotype string.
class CompactParser {
 public:
  explicit CompactParser(std::string_view text) : text_(text) {}

  [[noreturn]] void fail(size_t pos, const std::string& what) const {
    // The token: the maximal run of digits / other non-separator characters at pos, or the character.
    std::string_view token = "<end>";
    if (pos < text_.size()) {
      size_t end = pos + 1;
      auto word = [](char c) { return c != '[' && c != ']' && c != '(' && c != ')' && c != ',' && c != ' '; };
      if (word(text_[pos]))
        while (end < text_.size() && word(text_[end])) ++end;
      token = text_.substr(pos, end - pos);
    }
    throw SpaceError(fmt::format("darts genotype '{}': token '{}' at position {}: {}", text_, token, pos, what));
  }

  void expect(std::string_view literal, const std::string& what) {
    for (size_t k = 0; k < literal.size(); ++k)
      if (pos_ + k >= text_.size() || text_[pos_ + k] != literal[k])
        fail(pos_ + k, fmt::format("expected '{}' {}", literal, what));
    pos_ += literal.size();
  }

  // A decimal integer in [0, bound) without leading zeros.
  int integer(int bound, const std::string& what) {
    size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    if (pos_ == start) fail(start, fmt::format("expected {}", what));
    std::string_view digits = text_.substr(start, pos_ - start);
    if (digits.size() > 1 && digits[0] == '0') fail(start, fmt::format("{} has a leading zero", what));
    if (digits.size() > 3 || std::stoi(std::string(digits)) >= bound)
      fail(start, fmt::format("{} must be in [0, {})", what, bound));
    return std::stoi(std::string(digits));
  }

  size_t pos() const { return pos_; }
  bool at_end() const { return pos_ == text_.size(); }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

void append_cell(std::string& s, const DartsCell& cell) {
  s += '[';
  for (int j = 0; j < kDartsEdgesPerCell; ++j) {
    if (j > 0) s += ", ";
    s += fmt::format("({}, {})", cell.edges[j].input, static_cast<int>(cell.edges[j].op));
  }
  s += ']';
}

void validate_cell(const DartsCell& cell, const char* which) {
  for (int node = 0; node < kDartsNodes; ++node) {
    const DartsEdge &a = cell.edges[2 * node], &b = cell.edges[2 * node + 1];
    for (const DartsEdge* e : {&a, &b})
      if (e->input < 0 || e->input >= node + 2)
        throw SpaceError(
            fmt::format("{} cell node {}: input {} is not one of the states 0..{}", which, node, e->input, node + 1));
    if (a.input == b.input)
      throw SpaceError(fmt::format("{} cell node {}: both edges read state {} (a node's two inputs must differ)", which,
                                   node, a.input));
  }
}

// ---- ONNX.

onnx::AttributeProto ref_attr(const std::string& name) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::INT);
  a.set_ref_attr_name(name);
  return a;
}

// Attribute `name` of type `type` that takes the value of the function attribute `ref`.
onnx::AttributeProto ref_attr(const std::string& name, const std::string& ref, onnx::AttributeProto::AttributeType type) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(type);
  a.set_ref_attr_name(ref);
  return a;
}

onnx::AttributeProto float_tensor_attr(const std::string& name, float value) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::TENSOR);
  auto* t = a.mutable_t();
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_dims(1);
  t->add_float_data(value);
  return a;
}

// One weight formal of a cell function and its shape at one call.
struct WeightSpec {
  std::string formal;
  std::vector<int64_t> dims;
  ParamRole role;
  std::string intro;  // the formal to list explicitly when this one's shape needs a new dim variable
};

struct BodyNode {
  std::string op;
  std::vector<std::string> inputs, outputs;
  std::vector<onnx::AttributeProto> attrs;
  std::string domain;  // kNasDomain for a call of an op function
};

// Ops that become functions of their own ("op functions") when cells are functions: those with weights.
bool is_op_function(DartsOp op, int64_t stride) {
  return op != DartsOp::kMaxPool3x3 && op != DartsOp::kAvgPool3x3 && (op != DartsOp::kSkipConnect || stride != 1);
}

bool has_plain_bn(DartsOp op, int64_t stride) { return op != DartsOp::kSkipConnect || stride != 1; }

bool has_depthwise(const DartsCell& cell) {
  return std::any_of(cell.edges.begin(), cell.edges.end(), [](const DartsEdge& e) {
    return e.op != DartsOp::kMaxPool3x3 && e.op != DartsOp::kAvgPool3x3 && e.op != DartsOp::kSkipConnect;
  });
}

// Writes the body of one block (a cell or a preprocessing block) and its weights at one call, both in
// body order. The body is the same at every call of the block, except that with a concrete `group`
// the depthwise convolutions carry it instead of a reference to the function attribute "group".
// With `op_calls`, a cell's ops with weights are calls of op functions (op_function()) that take the
// edge's input, the cell's "ones" / "zeros" and the op's weights, instead of their nodes; the weights
// (names, order) are the same either way, and so is the network once the functions are inlined.
class BlockEmitter {
 public:
  explicit BlockEmitter(std::optional<int64_t> group = std::nullopt) : group_(group) {}

  // DARTS ReLUConvBN(c_in, c_out, 1, 1, 0) of input "x" -> "y".
  static BlockEmitter relu_conv_bn(int64_t c_in, int64_t c_out) {
    BlockEmitter b;
    b.nodes_.push_back({"Relu", {"x"}, {"relu"}, {}});
    b.conv("conv", "relu", {c_out, c_in, 1, 1}, {}, "bn_scale");
    b.affine_bn("bn", "conv", c_out, "y");
    return b;
  }

  // DARTS FactorizedReduce(c_in, c_out) of input "x" -> "y", with an affine BN (preprocessing).
  static BlockEmitter factorized_reduce(int64_t c_in, int64_t c_out) {
    BlockEmitter b;
    b.c_ = c_out;
    b.reduce_halves("fr", "x", c_in, c_out, "bn_scale");
    b.affine_bn("bn", "fr_cat", c_out, "y");
    return b;
  }

  // One cell on the preprocessed inputs "s0", "s1" (c channels each) -> "y" (4c channels).
  static BlockEmitter cell(const DartsCell& cell, bool reduction, int64_t c, std::optional<int64_t> group,
                           bool op_calls = false) {
    BlockEmitter b(group);
    b.c_ = c;
    b.op_calls_ = op_calls;
    // The unit scale / bias of the ops' BatchNormalizations first (inline and called ops alike).
    for (int j = 0; j < kDartsEdgesPerCell; ++j)
      if (has_plain_bn(cell.edges[j].op, reduction && cell.edges[j].input < 2 ? 2 : 1)) b.make_unit();
    std::vector<std::string> states{"s0", "s1"};
    for (int node = 0; node < kDartsNodes; ++node) {
      std::array<std::string, 2> terms;
      for (int k = 0; k < 2; ++k) {
        int j = 2 * node + k;
        const DartsEdge& e = cell.edges[j];
        terms[k] = b.edge(fmt::format("e{}", j), states[e.input], e.op, reduction && e.input < 2 ? 2 : 1);
      }
      std::string n = fmt::format("n{}", node);
      b.nodes_.push_back({"Add", {terms[0], terms[1]}, {n}, {}});
      states.push_back(n);
    }
    b.nodes_.push_back({"Concat", {"n0", "n1", "n2", "n3"}, {"y"}, {attr("axis", 1)}});
    return b;
  }

  // The body of op function `op`: "x", "ones", "zeros", then the op's weights -> "y"; the depthwise
  // convolutions reference attribute "group", and with `strided` the first one also "s" (its strides).
  static BlockEmitter op_function(DartsOp op, int64_t c, bool strided) {
    BlockEmitter b;
    b.c_ = c;
    b.made_unit_ = true;  // "ones" / "zeros" are formals
    b.stride_ref_ = strided;
    b.edge("y", "x", op, strided || op == DartsOp::kSkipConnect ? 2 : 1);
    return b;
  }

  const std::vector<BodyNode>& nodes() const { return nodes_; }
  const std::vector<WeightSpec>& weights() const { return weights_; }
  // The op functions the calls use, and whether some call is strided.
  const std::map<DartsOp, bool>& called_ops() const { return called_ops_; }

 private:
  void weight(const std::string& formal, std::vector<int64_t> dims, ParamRole role, const std::string& intro) {
    weights_.push_back({formal, std::move(dims), role, intro});
  }

  // Affine BatchNormalization with per-call scale / bias / mean / var.
  void affine_bn(const std::string& prefix, const std::string& x, int64_t channels, const std::string& out) {
    const std::string scale = prefix + "_scale";
    weight(scale, {channels}, ParamRole::kOnes, scale);
    weight(prefix + "_bias", {channels}, ParamRole::kZeros, scale);
    weight(prefix + "_mean", {channels}, ParamRole::kZeros, scale);
    weight(prefix + "_var", {channels}, ParamRole::kOnes, scale);
    nodes_.push_back(
        {"BatchNormalization", {x, scale, prefix + "_bias", prefix + "_mean", prefix + "_var"}, {out}, {}});
  }

  // Scale 1 and bias 0 of the cell's channel count ("ones", "zeros"), made once per cell from the shape
  // of input "s0".
  void make_unit() {
    if (made_unit_) return;
    nodes_.push_back({"Shape", {"s0"}, {"channels"}, {attr("start", int64_t{1}), attr("end", int64_t{2})}});
    nodes_.push_back({"ConstantOfShape", {"channels"}, {"ones"}, {float_tensor_attr("value", 1.0f)}});
    nodes_.push_back({"ConstantOfShape", {"channels"}, {"zeros"}, {}});
    made_unit_ = true;
  }

  // BatchNormalization without trainable parameters (affine=False): the cell's unit scale and bias;
  // running mean / var per call.
  std::string plain_bn(const std::string& prefix, const std::string& x, const std::string& out) {
    make_unit();
    weight(prefix + "_mean", {c_}, ParamRole::kZeros, prefix + "_mean");
    weight(prefix + "_var", {c_}, ParamRole::kOnes, prefix + "_mean");
    nodes_.push_back({"BatchNormalization", {x, "ones", "zeros", prefix + "_mean", prefix + "_var"}, {out}, {}});
    return out;
  }

  void conv(const std::string& name, const std::string& x, std::vector<int64_t> w_dims,
            std::vector<onnx::AttributeProto> attrs, const std::string& intro) {
    weight(name + "_w", std::move(w_dims), ParamRole::kWeight, intro);
    nodes_.push_back({"Conv", {x, name + "_w"}, {name}, std::move(attrs)});
  }

  onnx::AttributeProto group_attr() const { return group_ ? attr("group", *group_) : ref_attr("group"); }

  // A convolution's strides: the value, or in a strided op function the reference to "s".
  void add_strides(std::vector<onnx::AttributeProto>& attrs, int64_t stride) const {
    if (stride == 1) return;
    attrs.push_back(stride_ref_ ? ref_attr("strides", "s", onnx::AttributeProto::INTS) : attr("strides", {stride, stride}));
  }

  // Edge `e` as a call of its op function; the weights are those the inline form has.
  std::string op_call(const std::string& e, const std::string& x, DartsOp op, int64_t stride) {
    BlockEmitter inline_form(group_);
    inline_form.c_ = c_;
    inline_form.made_unit_ = true;
    inline_form.edge(e, x, op, stride);
    std::vector<std::string> inputs{x, "ones", "zeros"};
    for (const auto& w : inline_form.weights_) {
      weights_.push_back(w);
      inputs.push_back(w.formal);
    }
    std::vector<onnx::AttributeProto> attrs;
    if (op != DartsOp::kSkipConnect) attrs.push_back(group_attr());
    if (op != DartsOp::kSkipConnect && stride != 1) attrs.push_back(attr("s", {stride, stride}));
    nodes_.push_back({op_names()[static_cast<int>(op)], inputs, {e}, std::move(attrs), kNasDomain});
    called_ops_[op] = called_ops_[op] || (op != DartsOp::kSkipConnect && stride != 1);
    return e;
  }

  // The convolutions of FactorizedReduce: Relu -> SpaceToDepth(2) -> Split into 4 -> Conv 1x1 on parts
  // 0 and 3 (c_in -> c_out / 2 each) -> prefix_cat (c_out channels).
  void reduce_halves(const std::string& prefix, const std::string& x, int64_t c_in, int64_t c_out,
                     const std::string& intro) {
    nodes_.push_back({"Relu", {x}, {prefix + "_relu"}, {}});
    nodes_.push_back({"SpaceToDepth", {prefix + "_relu"}, {prefix + "_s2d"}, {attr("blocksize", int64_t{2})}});
    nodes_.push_back({"Split",
                      {prefix + "_s2d"},
                      {prefix + "_q0", prefix + "_q1", prefix + "_q2", prefix + "_q3"},
                      {attr("axis", 1)}});
    conv(prefix + "_c1", prefix + "_q0", {c_out / 2, c_in, 1, 1}, {}, intro);
    conv(prefix + "_c2", prefix + "_q3", {c_out / 2, c_in, 1, 1}, {}, intro);
    nodes_.push_back({"Concat", {prefix + "_c1", prefix + "_c2"}, {prefix + "_cat"}, {attr("axis", 1)}});
  }

  std::string edge(const std::string& e, const std::string& x, DartsOp op, int64_t stride) {
    if (op_calls_ && is_op_function(op, stride)) return op_call(e, x, op, stride);
    auto strides = [&](std::vector<onnx::AttributeProto> attrs) {
      add_strides(attrs, stride);
      return attrs;
    };
    switch (op) {
      case DartsOp::kMaxPool3x3:
      case DartsOp::kAvgPool3x3:
        nodes_.push_back({op == DartsOp::kMaxPool3x3 ? "MaxPool" : "AveragePool",
                          {x},
                          {e + "_pool"},
                          [&] {
                            std::vector<onnx::AttributeProto> a{attr("kernel_shape", {3, 3}), attr("pads", {1, 1, 1, 1})};
                            if (stride != 1) a.push_back(attr("strides", {stride, stride}));
                            return a;
                          }()});
        return plain_bn(e, e + "_pool", e);
      case DartsOp::kSkipConnect:
        if (stride == 1) return x;
        reduce_halves(e, x, c_, c_, e + "_mean");
        return plain_bn(e, e + "_cat", e);
      case DartsOp::kSepConv3x3:
      case DartsOp::kSepConv5x5: {
        int64_t k = op == DartsOp::kSepConv3x3 ? 3 : 5, pad = k / 2;
        std::string in = x;
        for (int half = 0; half < 2; ++half) {
          std::string p = fmt::format("{}_{}", e, half == 0 ? 'a' : 'b');
          nodes_.push_back({"Relu", {in}, {p + "_relu"}, {}});
          std::vector<onnx::AttributeProto> dw{group_attr(), attr("pads", {pad, pad, pad, pad})};
          if (half == 0) add_strides(dw, stride);
          conv(p + "_dw", p + "_relu", {c_, 1, k, k}, std::move(dw), p + "_mean");
          conv(p + "_pw", p + "_dw", {c_, c_, 1, 1}, {}, p + "_mean");
          in = plain_bn(p, p + "_pw", half == 0 ? p : e);
        }
        return e;
      }
      case DartsOp::kDilConv3x3:
      case DartsOp::kDilConv5x5: {
        int64_t k = op == DartsOp::kDilConv3x3 ? 3 : 5, pad = k - 1;
        nodes_.push_back({"Relu", {x}, {e + "_relu"}, {}});
        conv(e + "_dw", e + "_relu", {c_, 1, k, k},
             strides({attr("dilations", {2, 2}), group_attr(), attr("pads", {pad, pad, pad, pad})}),
             e + "_mean");
        conv(e + "_pw", e + "_dw", {c_, c_, 1, 1}, {}, e + "_mean");
        return plain_bn(e, e + "_pw", e);
      }
    }
    NAS_CHECK(false, "invalid DartsOp {}", static_cast<int>(op));
    return "";
  }

  int64_t c_ = 0;
  std::optional<int64_t> group_;
  bool made_unit_ = false;
  bool op_calls_ = false;
  bool stride_ref_ = false;
  std::vector<BodyNode> nodes_;
  std::vector<WeightSpec> weights_;
  std::map<DartsOp, bool> called_ops_;
};

// The order of the weight formals: first the "intro" formals whose shapes bring channel counts that
// cannot be written in terms of the activations' shapes or earlier intros, then every other weight in
// body order (same rule as spaces/nb101.cc; see build_darts_model()). `calls[i]`: the weights of call i;
// `activations[i]`: the dims of each activation input at call i.
std::vector<std::string> order_weight_formals(const std::vector<std::vector<WeightSpec>>& calls,
                                              const std::vector<std::vector<std::vector<int64_t>>>& activations) {
  std::vector<std::vector<int64_t>> vars;
  auto add_vars = [&](const std::vector<std::vector<int64_t>>& dims_per_call) {
    for (size_t d = 0; d < dims_per_call[0].size(); ++d) {
      std::vector<int64_t> u;
      for (const auto& dims : dims_per_call) u.push_back(dims[d]);
      if (!dims_expressible(u, {})) vars.push_back(u);
    }
  };
  for (size_t a = 0; a < activations[0].size(); ++a) {
    std::vector<std::vector<int64_t>> dims;
    for (const auto& call : activations) dims.push_back(call[a]);
    add_vars(dims);
  }
  const auto& first = calls.front();
  auto dims_of = [&](size_t i) {
    std::vector<std::vector<int64_t>> out;
    for (const auto& call : calls) out.push_back(call[i].dims);
    return out;
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
    size_t j = 0;
    while (j < first.size() && first[j].formal != first[i].intro) ++j;
    NAS_CHECK(j < first.size(), "darts: no weight formal '{}'", first[i].intro);
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

onnx::FunctionProto make_function(const std::string& name, const std::vector<std::string>& activations,
                                  const BlockEmitter& body, const std::vector<std::string>& weight_formals,
                                  bool group_attribute) {
  FunctionBuilder f(name);
  for (const auto& a : activations) f.input(a);
  for (const auto& w : weight_formals) f.input(w);
  f.output("y");
  for (const auto& n : body.nodes()) f.node(n.op, n.inputs, n.outputs, n.attrs, n.domain);
  onnx::FunctionProto fn = f.build();
  if (group_attribute) fn.add_attribute("group");
  return fn;
}

// Op function `op` (see BlockEmitter::op_function) for channel count `c` (its shapes do not matter:
// only its nodes and formals are written).
onnx::FunctionProto make_op_function(DartsOp op, bool strided) {
  BlockEmitter body = BlockEmitter::op_function(op, /*c=*/1, strided);
  std::vector<std::string> weights;
  for (const auto& w : body.weights()) weights.push_back(w.formal);
  onnx::FunctionProto fn = make_function(op_names()[static_cast<int>(op)], {"x", "ones", "zeros"}, body, weights,
                                         /*group_attribute=*/op != DartsOp::kSkipConnect);
  if (strided && op != DartsOp::kSkipConnect) fn.add_attribute("s");
  return fn;
}

// The functions of the network, in registration order.
enum Block : int { kReluConvBn = 0, kFactorizedReduce = 1, kNormal = 2, kReduce = 3, kNumBlocks = 4 };
constexpr std::array<const char*, kNumBlocks> kBlockNames{"relu_conv_bn", "factorized_reduce", "normal", "reduce"};

// One call of a block in the network.
struct BlockCall {
  Block block;
  std::vector<std::string> inputs;  // activations
  std::vector<std::vector<int64_t>> input_dims;
  std::string output;
  int64_t c_in = 0, c = 0;  // preprocessing: channels in / out; cells: c = cell channels
  std::vector<WeightSpec> weights;
};

BlockEmitter emit(const BlockCall& call, const DartsGenotype& g, std::optional<int64_t> group,
                  bool op_calls = false) {
  switch (call.block) {
    case kReluConvBn:
      return BlockEmitter::relu_conv_bn(call.c_in, call.c);
    case kFactorizedReduce:
      return BlockEmitter::factorized_reduce(call.c_in, call.c);
    case kNormal:
      return BlockEmitter::cell(g.normal, false, call.c, group, op_calls);
    default:
      return BlockEmitter::cell(g.reduce, true, call.c, group, op_calls);
  }
}

// The block calls of the network in order: per cell, the preprocessing of its two inputs, then the cell.
std::vector<BlockCall> network_calls(const DartsGenotype& g, int64_t n) {
  std::vector<BlockCall> calls;
  int64_t c = kDartsInitChannels, c_pp = kStemMultiplier * c, c_p = c_pp, h_pp = kResolution, h_p = kResolution;
  std::string s0 = "stem", s1 = "stem";
  bool reduction_prev = false;
  for (int layer = 0; layer < kDartsLayers; ++layer) {
    bool reduction = is_reduction_layer(layer);
    if (reduction) c *= 2;
    std::string prefix = fmt::format("cell{}", layer);
    calls.push_back({reduction_prev ? kFactorizedReduce : kReluConvBn,
                     {s0},
                     {{n, c_pp, h_pp, h_pp}},
                     prefix + "_pre0",
                     c_pp,
                     c,
                     {}});
    calls.push_back({kReluConvBn, {s1}, {{n, c_p, h_p, h_p}}, prefix + "_pre1", c_p, c, {}});
    int64_t h = h_p;
    calls.push_back({reduction ? kReduce : kNormal,
                     {prefix + "_pre0", prefix + "_pre1"},
                     {{n, c, h, h}, {n, c, h, h}},
                     prefix + "_out",
                     c,
                     c,
                     {}});
    c_pp = c_p;
    c_p = kDartsNodes * c;
    h_pp = h_p;
    h_p = reduction ? h_p / 2 : h_p;
    s0 = s1;
    s1 = prefix + "_out";
    reduction_prev = reduction;
  }
  for (auto& call : calls) call.weights = emit(call, g, call.c).weights();
  return calls;
}

}  // namespace

const std::string& darts_op_name(DartsOp op) {
  int i = static_cast<int>(op);
  NAS_CHECK(i >= 0 && i < kDartsNumOps, "invalid DartsOp {}", i);
  return op_names()[i];
}

DartsGenotype DartsGenotype::parse(std::string_view compact) {
  CompactParser p(compact);
  DartsGenotype g;
  p.expect("[", "opening the genotype");
  for (int c = 0; c < 2; ++c) {
    const char* which = c == 0 ? "normal" : "reduce";
    DartsCell& cell = c == 0 ? g.normal : g.reduce;
    if (c > 0) p.expect(", ", "between the normal and the reduction cell");
    p.expect("[", fmt::format("opening the {} cell", which));
    for (int j = 0; j < kDartsEdgesPerCell; ++j) {
      int node = j / 2;
      if (j > 0) {
        size_t at = p.pos();
        if (at < compact.size() && compact[at] == ']')
          p.fail(at, fmt::format("the {} cell has {} pairs, expected {}", which, j, kDartsEdgesPerCell));
        p.expect(", ", fmt::format("between the pairs of the {} cell", which));
      }
      p.expect("(", fmt::format("opening pair {} of the {} cell", j, which));
      size_t input_pos = p.pos();
      cell.edges[j].input =
          p.integer(node + 2, fmt::format("the input of pair {} (node {} reads states 0..{})", j, node, node + 1));
      p.expect(", ", fmt::format("after the input of pair {}", j));
      cell.edges[j].op = static_cast<DartsOp>(p.integer(kDartsNumOps, fmt::format("the op index of pair {}", j)));
      p.expect(")", fmt::format("closing pair {} of the {} cell", j, which));
      if (j % 2 == 1 && cell.edges[j].input == cell.edges[j - 1].input)
        p.fail(input_pos, fmt::format("node {} of the {} cell reads state {} twice (its two inputs must differ)", node,
                                      which, cell.edges[j].input));
    }
    size_t at = p.pos();
    if (at < compact.size() && compact[at] == ',')
      p.fail(at + (at + 2 < compact.size() ? 2 : 0),
             fmt::format("the {} cell has more than {} pairs", which, kDartsEdgesPerCell));
    p.expect("]", fmt::format("closing the {} cell", which));
  }
  p.expect("]", "closing the genotype");
  if (!p.at_end()) p.fail(p.pos(), "trailing characters");
  return g;
}

std::string DartsGenotype::to_string() const {
  std::string s = "[";
  append_cell(s, normal);
  s += ", ";
  append_cell(s, reduce);
  return s + "]";
}

void DartsGenotype::validate() const {
  validate_cell(normal, "normal");
  validate_cell(reduce, "reduce");
}

std::string DartsGenotype::canonical() const {
  DartsGenotype c = *this;
  for (DartsCell* cell : {&c.normal, &c.reduce})
    for (int node = 0; node < kDartsNodes; ++node)
      if (cell->edges[2 * node + 1] < cell->edges[2 * node])
        std::swap(cell->edges[2 * node], cell->edges[2 * node + 1]);
  return c.to_string();
}

DartsGenotype DartsGenotype::from_genotype(const Genotype& g) {
  constexpr size_t kGenes = 2 * kDartsGenesPerCell;
  if (g.genes.size() != kGenes)
    throw SpaceError(fmt::format("darts genotype: expected {} genes, got {}", kGenes, g.genes.size()));
  DartsGenotype out;
  for (int c = 0; c < 2; ++c) {
    DartsCell& cell = c == 0 ? out.normal : out.reduce;
    for (int j = 0; j < kDartsEdgesPerCell; ++j) {
      int gi = c * kDartsGenesPerCell + 2 * j, input = g.genes[gi], op = g.genes[gi + 1];
      if (input < 0 || input >= j / 2 + 2)
        throw SpaceError(fmt::format("darts genotype: gene {} = {} is outside [0, {})", gi, input, j / 2 + 2));
      if (op < 0 || op >= kDartsNumOps)
        throw SpaceError(fmt::format("darts genotype: gene {} = {} is outside [0, {})", gi + 1, op, kDartsNumOps));
      cell.edges[j] = {input, static_cast<DartsOp>(op)};
    }
  }
  return out;
}

Genotype DartsGenotype::to_genotype() const {
  Genotype g;
  for (const DartsCell* cell : {&normal, &reduce})
    for (const DartsEdge& e : cell->edges) {
      g.genes.push_back(e.input);
      g.genes.push_back(static_cast<int>(e.op));
    }
  return g;
}

onnx::ModelProto build_darts_model(const DartsGenotype& g, const BuildOptions& options) {
  if (!options.dataset.empty() && options.dataset != "cifar10")
    throw SpaceError(fmt::format("darts: unknown dataset '{}'; known: cifar10", options.dataset));
  if (options.batch_size < 1) throw SpaceError(fmt::format("darts: batch_size {} must be >= 1", options.batch_size));
  try {
    g.validate();
  } catch (const SpaceError& e) {
    throw SpaceError(fmt::format("darts genotype '{}': {}", g.to_string(), e.what()));
  }
  const int64_t n = options.batch_size;
  const std::vector<BlockCall> calls = network_calls(g, n);
  const std::array<bool, kNumBlocks> grouped{false, false, has_depthwise(g.normal), has_depthwise(g.reduce)};

  // Per block: the weight formal order over its calls; its function (with a "group" reference).
  std::array<std::vector<std::string>, kNumBlocks> formals;
  std::map<DartsOp, bool> op_strided;  // op functions the cells call, and whether some call is strided
  GraphBuilder b("darts", options.weights, options.weight_seed);
  b.set_inline_calls(!options.use_functions);
  for (int block = 0; block < kNumBlocks; ++block) {
    std::vector<std::vector<WeightSpec>> weights;
    std::vector<std::vector<std::vector<int64_t>>> activations;
    const BlockCall* first = nullptr;
    for (const auto& call : calls) {
      if (call.block != block) continue;
      if (!first) first = &call;
      weights.push_back(call.weights);
      activations.push_back(call.input_dims);
    }
    formals[block] = order_weight_formals(weights, activations);
    const bool cell = block == kNormal || block == kReduce;
    // Functions without a group reference are expanded by GraphBuilder itself when inlining.
    if (options.use_functions || !grouped[block]) {
      BlockEmitter body = emit(*first, g, std::nullopt, /*op_calls=*/options.use_functions);
      for (const auto& [op, strided] : body.called_ops()) op_strided[op] = op_strided[op] || strided;
      b.function(make_function(kBlockNames[block],
                               cell ? std::vector<std::string>{"s0", "s1"} : std::vector<std::string>{"x"}, body,
                               formals[block], grouped[block]));
    }
  }

  b.input("x", onnx::TensorProto::FLOAT, {n, 3, kResolution, kResolution});
  const int64_t stem_c = kStemMultiplier * kDartsInitChannels;
  b.initializer("stem_w", {stem_c, 3, 3, 3}, ParamRole::kWeight)
      .initializer("stem_scale", {stem_c}, ParamRole::kOnes)
      .initializer("stem_bias", {stem_c}, ParamRole::kZeros)
      .initializer("stem_mean", {stem_c}, ParamRole::kZeros)
      .initializer("stem_var", {stem_c}, ParamRole::kOnes)
      .node("Conv", {"x", "stem_w"}, {"stem_conv"}, {attr("pads", {1, 1, 1, 1})})
      .node("BatchNormalization", {"stem_conv", "stem_scale", "stem_bias", "stem_mean", "stem_var"}, {"stem"});

  std::vector<int64_t> call_groups;  // the "group" attribute of each kept call (0: none), in order
  for (const auto& call : calls) {
    const std::string& prefix = call.output;
    for (const auto& w : call.weights) b.initializer(prefix + "_" + w.formal, w.dims, w.role);
    std::vector<std::string> inputs = call.inputs;
    for (const auto& f : formals[call.block]) inputs.push_back(prefix + "_" + f);
    std::string fn = kBlockNames[call.block];
    if (!options.use_functions && grouped[call.block]) {  // a copy with the concrete group, expanded in place
      fn = prefix;
      const bool cell = call.block == kNormal || call.block == kReduce;
      b.function(make_function(fn, cell ? std::vector<std::string>{"s0", "s1"} : std::vector<std::string>{"x"},
                               emit(call, g, call.c), formals[call.block], false));
    }
    call_groups.push_back(grouped[call.block] ? call.c : 0);
    b.call(fn, std::move(inputs), {call.output}, prefix);
  }

  const int64_t c_last = kDartsNodes * calls.back().c;
  b.initializer("classifier_w", {kNumClasses, c_last}, ParamRole::kWeight)
      .initializer("classifier_b", {kNumClasses}, ParamRole::kZeros)
      .node("GlobalAveragePool", {calls.back().output}, {"head_pool"})
      .node("Flatten", {"head_pool"}, {"head_flat"})
      .node("Gemm", {"head_flat", "classifier_w", "classifier_b"}, {"logits"}, {attr("transB", 1)})
      .output("logits", onnx::TensorProto::FLOAT, {n, kNumClasses});
  onnx::ModelProto model = std::move(b).build();
  for (const auto& [op, strided] : op_strided) *model.add_functions() = make_op_function(op, strided);
  if (options.use_functions) {  // bind the "group" attribute of each call
    size_t k = 0;
    for (auto& node : *model.mutable_graph()->mutable_node()) {
      if (node.domain() != kNasDomain) continue;
      NAS_CHECK(k < call_groups.size(), "darts: more calls than blocks");
      if (call_groups[k] > 0) *node.add_attribute() = attr("group", call_groups[k]);
      ++k;
    }
    NAS_CHECK(k == call_groups.size(), "darts: {} calls for {} blocks", k, call_groups.size());
  }
  return model;
}

std::vector<int> DartsSpace::gene_cardinalities() const {
  std::vector<int> card;
  for (int c = 0; c < 2; ++c)
    for (int j = 0; j < kDartsEdgesPerCell; ++j) {
      card.push_back(j / 2 + 2);
      card.push_back(kDartsNumOps);
    }
  return card;
}

std::vector<std::string> DartsSpace::datasets() const { return {"cifar10"}; }

void DartsSpace::validate(const Genotype& g) const {
  DartsGenotype d = DartsGenotype::from_genotype(g);
  try {
    d.validate();
  } catch (const SpaceError& e) {
    throw SpaceError(fmt::format("darts genotype '{}': {}", d.to_string(), e.what()));
  }
}

Genotype DartsSpace::sample(Rng& rng) const {
  DartsGenotype g;
  for (DartsCell* cell : {&g.normal, &g.reduce})
    for (int node = 0; node < kDartsNodes; ++node) {
      int states = node + 2;
      int a = static_cast<int>(rng.index(states));
      int b = static_cast<int>(rng.index(states - 1));
      if (b >= a) ++b;
      cell->edges[2 * node] = {a, static_cast<DartsOp>(rng.index(kDartsNumOps))};
      cell->edges[2 * node + 1] = {b, static_cast<DartsOp>(rng.index(kDartsNumOps))};
    }
  return g.to_genotype();
}

Genotype DartsSpace::mutate(const Genotype& parent, Rng& rng) const {
  validate(parent);
  const auto card = gene_cardinalities();
  const std::string parent_canonical = canonical(parent);
  for (int attempt = 0; attempt < 100000; ++attempt) {
    Genotype child = parent;
    size_t i = rng.index(card.size());
    int v = static_cast<int>(rng.index(static_cast<size_t>(card[i]) - 1));
    child.genes[i] = v >= child.genes[i] ? v + 1 : v;
    DartsGenotype d = DartsGenotype::from_genotype(child);
    bool valid = true;
    try {
      d.validate();
    } catch (const SpaceError&) {
      valid = false;
    }
    if (valid && d.canonical() != parent_canonical) return child;
  }
  NAS_CHECK(false, "darts: no mutation of '{}' found", format(parent));
  return {};
}

Genotype DartsSpace::crossover(const Genotype& a, const Genotype& b, Rng& rng) const {
  validate(a);
  validate(b);
  Genotype child = a;
  for (size_t node = 0; node < 2 * kDartsNodes; ++node)  // 4 genes per node
    if (rng.bernoulli(0.5))
      std::copy(b.genes.begin() + 4 * node, b.genes.begin() + 4 * node + 4, child.genes.begin() + 4 * node);
  return child;
}

Genotype DartsSpace::parse(std::string_view arch) const { return DartsGenotype::parse(arch).to_genotype(); }

std::string DartsSpace::format(const Genotype& g) const { return DartsGenotype::from_genotype(g).to_string(); }

std::string DartsSpace::canonical(const Genotype& g) const {
  validate(g);
  return DartsGenotype::from_genotype(g).canonical();
}

onnx::ModelProto DartsSpace::build_model(const Genotype& g, const BuildOptions& options) const {
  return build_darts_model(DartsGenotype::from_genotype(g), options);
}

}  // namespace nas::spaces
