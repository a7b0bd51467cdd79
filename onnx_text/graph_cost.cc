#include "onnx_text/graph_cost.h"

#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include "core/error.h"

namespace nas::onnx_text {
namespace {

using TypeMap = std::unordered_map<std::string, onnx::TypeProto>;
using ConstMap = std::unordered_map<std::string, const onnx::TensorProto*>;
using OpsetMap = std::unordered_map<std::string, int>;
using Nodes = google::protobuf::RepeatedPtrField<onnx::NodeProto>;

bool is_floating(int32_t type) {
  return type == onnx::TensorProto::FLOAT || type == onnx::TensorProto::DOUBLE ||
         type == onnx::TensorProto::FLOAT16 || type == onnx::TensorProto::BFLOAT16;
}

bool is_default_domain(const std::string& domain) { return domain.empty() || domain == "ai.onnx"; }

int64_t numel(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

int64_t numel(const onnx::TensorProto& t) {
  int64_t n = 1;
  for (int64_t d : t.dims()) n *= d;
  return n;
}

// Initializer values worth handing to shape inference (which may read shapes, scales, pads from them).
bool keep_values(const onnx::TensorProto& t) {
  return is_floating(t.data_type()) ? numel(t) <= 8 : numel(t) <= 1024;
}

// The bytes of `t` without its name, for memo keys.
std::string value_key(const onnx::TensorProto& t) {
  onnx::TensorProto copy = t;
  copy.clear_name();
  copy.clear_doc_string();
  return copy.SerializeAsString();
}

onnx::TypeProto type_of(const onnx::TensorProto& t) {
  onnx::TypeProto type;
  auto* tensor = type.mutable_tensor_type();
  tensor->set_elem_type(t.data_type());
  auto* shape = tensor->mutable_shape();
  for (int64_t d : t.dims()) shape->add_dim()->set_dim_value(d);
  return type;
}

// Compact memo-key text of a type: element type and dims for tensors, the serialized proto otherwise.
std::string type_key(const onnx::TypeProto& type) {
  if (!type.has_tensor_type()) return type.SerializeAsString();
  const auto& t = type.tensor_type();
  std::string key = "T" + std::to_string(t.elem_type());
  if (!t.has_shape()) return key + "*";
  for (const auto& d : t.shape().dim()) {
    key += ',';
    key += d.has_dim_value() ? std::to_string(d.dim_value()) : d.has_dim_param() ? d.dim_param() : "?";
  }
  return key;
}

// The same text for an initializer's type, without building a TypeProto.
std::string type_key(const onnx::TensorProto& t) {
  std::string key = "T" + std::to_string(t.data_type());
  for (int64_t d : t.dims()) {
    key += ',';
    key += std::to_string(d);
  }
  return key;
}

// The values and types visible in one graph or function body. Initializers (or initializers bound to
// a function's formals) are kept as tensors and typed on demand.
struct Scope {
  TypeMap types;    // graph inputs, inferred values, formals bound to computed values
  ConstMap consts;  // initializers by (scope-local) name

  // The type of `name`, or nullptr if unknown.
  const onnx::TypeProto* type(const std::string& name) {
    auto it = types.find(name);
    if (it != types.end()) return &it->second;
    auto c = consts.find(name);
    if (c == consts.end()) return nullptr;
    return &(types[name] = type_of(*c->second));
  }

  // The static shape of `name`, or nullopt if unknown or dynamic.
  std::optional<std::vector<int64_t>> static_dims(const std::string& name) const {
    auto c = consts.find(name);
    if (c != consts.end()) return std::vector<int64_t>(c->second->dims().begin(), c->second->dims().end());
    auto it = types.find(name);
    if (it == types.end() || !it->second.has_tensor_type() || !it->second.tensor_type().has_shape())
      return std::nullopt;
    std::vector<int64_t> dims;
    for (const auto& d : it->second.tensor_type().shape().dim()) {
      if (!d.has_dim_value() || d.dim_value() < 0) return std::nullopt;
      dims.push_back(d.dim_value());
    }
    return dims;
  }

  // "[1, C, ?]" or "unknown", for messages.
  std::string describe(const std::string& name) const {
    auto it = types.find(name);
    if (it == types.end() || !it->second.has_tensor_type() || !it->second.tensor_type().has_shape()) return "unknown";
    std::vector<std::string> dims;
    for (const auto& d : it->second.tensor_type().shape().dim())
      dims.push_back(d.has_dim_value() ? std::to_string(d.dim_value()) : d.has_dim_param() ? d.dim_param() : "?");
    return fmt::format("[{}]", fmt::join(dims, ", "));
  }

  // Memo-key text of the value bound to `name`: its type, plus its bytes if shape inference may read them.
  std::string key(const std::string& name) const {
    auto c = consts.find(name);
    if (c != consts.end()) {
      std::string k = type_key(*c->second);
      return keep_values(*c->second) ? k + "=" + value_key(*c->second) : k;
    }
    auto it = types.find(name);
    return it == types.end() ? "" : type_key(it->second);
  }
};

int64_t int_attr(const onnx::NodeProto& n, const std::string& name, int64_t fallback) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return a.i();
  return fallback;
}

bool has_input(const onnx::NodeProto& n, int i) { return n.input_size() > i && !n.input(i).empty(); }

// Multiply-accumulates of one standard node per the rules in the header.
double node_macs(const onnx::NodeProto& n, const Scope& scope, const std::string& where) {
  const std::string& op = n.op_type();
  bool counted = op == "Conv" || op == "ConvTranspose" || op == "Gemm" || op == "MatMul";
  if (!counted || !is_default_domain(n.domain())) return 0;
  std::string out = n.output_size() > 0 ? n.output(0) : "";
  auto fail = [&](const std::string& what) {
    return OnnxTextError(fmt::format("graph_cost: {} node '{}' (output '{}'){}: {}", op, n.name(), out, where, what));
  };
  auto shape = [&](const std::string& name) {
    auto s = scope.static_dims(name);
    if (!s) throw fail(fmt::format("shape of '{}' is not static ({})", name, scope.describe(name)));
    return *s;
  };
  auto operand = [&](int i) {
    if (!has_input(n, i)) throw fail(fmt::format("missing input {}", i));
    return shape(n.input(i));
  };
  if (op == "Conv" || op == "ConvTranspose") {
    std::vector<int64_t> w = operand(1), y = shape(out);
    if (w.size() < 3 || w[0] == 0) throw fail("weight must have rank >= 3 and a nonzero first dimension");
    double per_element = static_cast<double>(numel(w) / w[0]);
    double macs = static_cast<double>(numel(op == "Conv" ? y : operand(0))) * per_element;
    if (has_input(n, 2)) macs += static_cast<double>(numel(y));
    return macs;
  }
  if (op == "Gemm") {
    std::vector<int64_t> a = operand(0), b = operand(1);
    if (a.size() != 2 || b.size() != 2) throw fail("Gemm operands must be 2-D");
    bool ta = int_attr(n, "transA", 0) != 0, tb = int_attr(n, "transB", 0) != 0;
    double m = static_cast<double>(ta ? a[1] : a[0]), k = static_cast<double>(ta ? a[0] : a[1]);
    double cols = static_cast<double>(tb ? b[0] : b[1]);
    return m * k * cols + (has_input(n, 2) ? m * cols : 0.0);
  }
  std::vector<int64_t> a = operand(0), y = shape(out);  // MatMul
  if (a.empty()) throw fail("operand A is a scalar");
  return static_cast<double>(numel(y)) * static_cast<double>(a.back());
}

// Every value a node reads, including the outer-scope values its subgraphs read.
void collect_reads(const onnx::NodeProto& n, std::vector<std::string>& reads) {
  for (const auto& i : n.input()) reads.push_back(i);
  for (const auto& a : n.attribute()) {
    std::vector<const onnx::GraphProto*> graphs;
    if (a.has_g()) graphs.push_back(&a.g());
    for (const auto& g : a.graphs()) graphs.push_back(&g);
    for (const auto* g : graphs)
      for (const auto& sub : g->node()) collect_reads(sub, reads);
  }
}

struct CallSummary;

// One node of an evaluated graph or body as liveness sees it: the values it reads (for a call, its
// actual inputs by position), its outputs, its MACs (a call's: those of its summary) and its operator
// (GraphCost::live_nodes naming; empty for a call).
struct LiveNode {
  std::vector<std::string> reads, outputs;
  double macs = 0;
  std::string op;
  const CallSummary* call = nullptr;
  bool zero = false;   // makes_zero(): reads nothing it needs
  bool merge = false;  // merges(): sums or otherwise combines two or more branches
};
using Body = std::vector<LiveNode>;

// What the live nodes of a graph or body add up to.
struct LiveTally {
  double macs = 0;
  std::map<std::string, int64_t> nodes;  // by operator, as GraphCost::live_nodes

  void add(const LiveTally& other) {
    macs += other.macs;
    for (const auto& [op, count] : other.nodes) nodes[op] += count;
  }
};

// Liveness of one graph or body for one set of needed values (live_tally).
struct Liveness {
  LiveTally tally;
  std::vector<bool> dead;                 // per node: not live and not a zero node
  std::vector<std::vector<bool>> masks;  // per call node: which of its outputs are needed
};

// Where the results of dead nodes end, for one call (dead_ends): the dead nodes of the body that end
// only in merges, by operator, and per formal input whether its dead readers in the body all end in
// merges (nullopt: no dead node of the body reads it).
struct DeadEnds {
  std::map<std::string, int64_t> merged;
  std::vector<std::optional<bool>> formal_inputs;
};
using EndStates = std::vector<std::optional<bool>>;  // per formal output: as DeadEnds::formal_inputs

// The live part of one call for one set of needed outputs.
struct CallLive {
  Liveness body;
  std::vector<bool> needed_formals;  // per formal input: read by a live node of the body
  mutable std::map<EndStates, DeadEnds> dead_ends;  // by where its unneeded outputs end, on demand
};

// What a function body contributes per call, for one signature (actual input types and attributes).
struct CallSummary {
  std::vector<std::optional<onnx::TypeProto>> outputs;  // per formal output
  double macs = 0;
  std::vector<bool> trainable_formals;  // per formal input: read in a trainable slot
  std::vector<std::string> formal_inputs, formal_outputs;
  Body body;
  mutable std::map<std::vector<bool>, CallLive> live;  // by needed formal outputs, filled on demand
  mutable std::optional<std::map<std::string, int64_t>> all_nodes;  // every node of the body, on demand
};

double total_macs(const Body& body) {
  double macs = 0;
  for (const auto& n : body) macs += n.macs;
  return macs;
}

Liveness live_tally(const Body& body, std::unordered_set<std::string>& needed);

// Every node of `body` by operator (GraphCost::nodes), calls counted through their bodies.
std::map<std::string, int64_t> all_nodes(const Body& body) {
  std::map<std::string, int64_t> nodes;
  for (const auto& n : body) {
    if (n.call == nullptr) {
      ++nodes[n.op];
      continue;
    }
    if (!n.call->all_nodes) n.call->all_nodes = all_nodes(n.call->body);
    for (const auto& [op, count] : *n.call->all_nodes) nodes[op] += count;
  }
  return nodes;
}

const CallLive& call_live(const CallSummary& s, std::vector<bool> mask) {
  mask.resize(s.formal_outputs.size(), false);
  auto it = s.live.find(mask);
  if (it != s.live.end()) return it->second;
  std::unordered_set<std::string> needed;
  for (size_t k = 0; k < mask.size(); ++k)
    if (mask[k]) needed.insert(s.formal_outputs[k]);
  CallLive result;
  result.body = live_tally(s.body, needed);
  for (const auto& f : s.formal_inputs) result.needed_formals.push_back(needed.count(f) > 0);
  return s.live.emplace(std::move(mask), std::move(result)).first->second;
}

// MACs and operators of the nodes of `body` that some value in `needed` depends on (backwards from the
// last node); `needed` grows by every value those nodes read. Nodes that makes_zero() are not counted:
// a runtime folds them to a constant.
Liveness live_tally(const Body& body, std::unordered_set<std::string>& needed) {
  Liveness result;
  result.dead.assign(body.size(), false);
  result.masks.resize(body.size());
  for (size_t i = body.size(); i-- > 0;) {
    const LiveNode& n = body[i];
    std::vector<bool> mask;
    bool live = false;
    for (const auto& out : n.outputs) {
      mask.push_back(!out.empty() && needed.count(out) > 0);
      live |= mask.back();
    }
    result.dead[i] = !live && !n.zero;
    if (n.call != nullptr) result.masks[i] = mask;
    if (!live || n.zero) continue;
    if (n.call == nullptr) {
      result.tally.macs += n.macs;
      ++result.tally.nodes[n.op];
      for (const auto& r : n.reads)
        if (!r.empty()) needed.insert(r);
      continue;
    }
    const CallLive& part = call_live(*n.call, std::move(mask));
    result.tally.add(part.body.tally);
    for (size_t k = 0; k < n.reads.size() && k < part.needed_formals.size(); ++k)
      if (part.needed_formals[k] && !n.reads[k].empty()) needed.insert(n.reads[k]);
  }
  return result;
}

const DeadEnds& dead_ends(const CallSummary& s, const CallLive& part, const EndStates& outputs);

// Whether every dead reader of `value` seen so far ends only in merges; nullopt if none read it.
std::optional<bool> end_state(const std::unordered_map<std::string, bool>& ends, const std::string& value) {
  auto it = ends.find(value);
  return it == ends.end() ? std::nullopt : std::optional<bool>(it->second);
}

// Adds to `out` the dead nodes of `body` whose results end only in merges (GraphCost::dead_merged_nodes),
// walking backwards so that readers come first. `ends` maps a value to whether every dead reader seen
// so far ends only in merges (seeded with where a body's outputs end outside it) and is left holding
// that for the values the body reads. A dead node that no dead node reads is an end: it counts if it
// merges. A live node's reads end unmerged (a value it reads but does not need, through a call, goes
// by the dead readers in the call's body); zero nodes read nothing. Calls are walked through their
// bodies, as if inlined.
void count_dead_merged(const Body& body, const Liveness& liveness, std::unordered_map<std::string, bool>& ends,
                       std::map<std::string, int64_t>& out) {
  auto reach = [&ends](const std::string& value, bool merged) {
    if (value.empty()) return;
    auto [it, fresh] = ends.try_emplace(value, merged);
    if (!fresh) it->second = it->second && merged;
  };
  for (size_t i = body.size(); i-- > 0;) {
    const LiveNode& n = body[i];
    if (n.zero) continue;
    if (n.call != nullptr) {
      const CallLive& part = call_live(*n.call, liveness.masks[i]);
      EndStates outputs;
      for (const auto& o : n.outputs) outputs.push_back(end_state(ends, o));
      const DeadEnds& d = dead_ends(*n.call, part, outputs);
      for (const auto& [op, count] : d.merged) out[op] += count;
      for (size_t k = 0; k < n.reads.size() && k < d.formal_inputs.size(); ++k)
        if (part.needed_formals[k]) reach(n.reads[k], false);
        else if (d.formal_inputs[k]) reach(n.reads[k], *d.formal_inputs[k]);
      continue;
    }
    bool merged = false;
    if (liveness.dead[i]) {
      bool read = false;
      merged = true;
      for (const auto& o : n.outputs)
        if (std::optional<bool> e = end_state(ends, o)) {
          read = true;
          merged = merged && *e;
        }
      if (!read) merged = n.merge;
      if (merged) ++out[n.op];
    }
    for (const auto& r : n.reads) reach(r, merged);
  }
}

// The dead-merged nodes of one call whose needed outputs gave `part`, with `outputs` saying where each
// formal output ends outside the call (memoized per CallLive).
const DeadEnds& dead_ends(const CallSummary& s, const CallLive& part, const EndStates& outputs) {
  auto it = part.dead_ends.find(outputs);
  if (it != part.dead_ends.end()) return it->second;
  std::unordered_map<std::string, bool> ends;
  for (size_t k = 0; k < outputs.size() && k < s.formal_outputs.size(); ++k)
    if (outputs[k]) ends.emplace(s.formal_outputs[k], *outputs[k]);
  DeadEnds result;
  count_dead_merged(s.body, part.body, ends, result.merged);
  for (const auto& f : s.formal_inputs) result.formal_inputs.push_back(end_state(ends, f));
  return part.dead_ends.emplace(outputs, std::move(result)).first->second;
}

// True for nodes whose output is zero whatever the value of their computed input, so the input is not
// needed: Sub(x, x), and Mul by an all-zero initializer (a runtime folds both to a constant).
bool makes_zero(const onnx::NodeProto& n, const Scope& scope) {
  if (!is_default_domain(n.domain()) || n.input_size() != 2) return false;
  if (n.op_type() == "Sub") return n.input(0) == n.input(1) && !n.input(0).empty();
  if (n.op_type() != "Mul") return false;
  for (const auto& name : n.input()) {
    auto c = scope.consts.find(name);
    if (c == scope.consts.end() || c->second->data_type() != onnx::TensorProto::FLOAT || !keep_values(*c->second))
      continue;
    const onnx::TensorProto& t = *c->second;
    std::vector<float> values(t.float_data().begin(), t.float_data().end());
    if (t.has_raw_data() && t.raw_data().size() % sizeof(float) == 0) {  // little-endian, as ONNX stores it
      values.resize(t.raw_data().size() / sizeof(float));
      std::memcpy(values.data(), t.raw_data().data(), t.raw_data().size());
    }
    bool zero = !values.empty();
    for (float v : values) zero &= v == 0.0f;
    if (zero) return true;
  }
  return false;
}

// True for nodes that combine two or more branches: at least two distinct inputs that are not constants
// (initializers, also as bound to a function's formals) and have the static shape of the first output
// (Sum or Add of two activations; not a Conv's weight, a BatchNormalization's statistics, an Add of a
// bias, nor a Concat, whose output is larger than its inputs).
bool merges(const onnx::NodeProto& n, const Scope& scope) {
  if (n.output_size() == 0 || n.output(0).empty()) return false;
  auto y = scope.static_dims(n.output(0));
  if (!y) return false;
  std::set<std::string> branches;
  for (const auto& in : n.input())
    if (!in.empty() && scope.consts.count(in) == 0 && scope.static_dims(in) == y) branches.insert(in);
  return branches.size() >= 2;
}

// Shape inference and counting over a graph or function body. Runs of standard nodes go through
// onnx::shape_inference::InferShapes as one small graph; each call of a model-local function is
// evaluated from its body once per signature (function, actual types, attributes) and memoized. That
// gives the same result as inlining, but infers each distinct block once (NB201: 5 body inferences
// for 17 calls).
class Evaluator {
 public:
  explicit Evaluator(const onnx::ModelProto& model) {
    for (const auto& imp : model.opset_import())
      model_opsets_[is_default_domain(imp.domain()) ? "" : imp.domain()] = static_cast<int>(imp.version());
    for (const auto& f : model.functions()) functions_[{f.domain(), f.name()}] = &f;
  }

  const OpsetMap& model_opsets() const { return model_opsets_; }

  // Infers the types of the values `nodes` produce into `scope`, records in `trainable` the values
  // read in trainable slots, and returns the nodes with their MACs for counting (total_macs,
  // live_tally). `declared` holds types the scope declares for produced values (graph outputs /
  // value_info); inference is checked and merged against them.
  Body run(const Nodes& nodes, Scope& scope, const TypeMap& declared, const OpsetMap& opsets,
           std::unordered_set<std::string>& trainable, const std::string& where) {
    Body body(static_cast<size_t>(nodes.size()));
    int begin = 0;
    while (begin < nodes.size()) {
      if (const onnx::FunctionProto* fn = function_of(nodes[begin])) {
        LiveNode& ln = body[static_cast<size_t>(begin)];
        ln.call = &run_call(nodes[begin], *fn, scope, declared, trainable, where);
        ln.macs = ln.call->macs;
        ln.reads.assign(nodes[begin].input().begin(), nodes[begin].input().end());
        ln.outputs.assign(nodes[begin].output().begin(), nodes[begin].output().end());
        ln.merge = merges(nodes[begin], scope);
        ++begin;
        continue;
      }
      int end = begin;
      while (end < nodes.size() && function_of(nodes[end]) == nullptr) ++end;
      infer_segment(nodes, begin, end, scope, declared, opsets, where);
      for (int i = begin; i < end; ++i) {
        const auto& n = nodes[i];
        bool batch_norm = n.op_type() == "BatchNormalization" && is_default_domain(n.domain());
        for (int k = 0; k < n.input_size(); ++k)
          if (!(batch_norm && (k == 3 || k == 4)) && !n.input(k).empty()) trainable.insert(n.input(k));
        LiveNode& ln = body[static_cast<size_t>(i)];
        ln.macs = node_macs(n, scope, where);
        ln.zero = makes_zero(n, scope);
        ln.merge = merges(n, scope);
        ln.op = is_default_domain(n.domain()) ? n.op_type() : n.domain() + "." + n.op_type();
        collect_reads(n, ln.reads);
        ln.outputs.assign(n.output().begin(), n.output().end());
      }
      begin = end;
    }
    return body;
  }

 private:
  const onnx::FunctionProto* function_of(const onnx::NodeProto& n) const {
    if (functions_.empty()) return nullptr;
    auto it = functions_.find({n.domain(), n.op_type()});
    return it == functions_.end() ? nullptr : it->second;
  }

  // InferShapes over nodes [begin, end) as one graph whose inputs are the values they read from outside.
  void infer_segment(const Nodes& nodes, int begin, int end, Scope& scope, const TypeMap& declared,
                     const OpsetMap& opsets, const std::string& where) {
    onnx::GraphProto g;
    std::unordered_set<std::string> produced, inputs;
    for (int i = begin; i < end; ++i) {
      std::vector<std::string> reads;
      collect_reads(nodes[i], reads);
      for (const auto& v : reads) {
        if (v.empty() || produced.count(v) || !inputs.insert(v).second) continue;
        const onnx::TypeProto* t = scope.type(v);
        if (t == nullptr) continue;
        auto* in = g.add_input();
        in->set_name(v);
        *in->mutable_type() = *t;
        auto c = scope.consts.find(v);
        if (c != scope.consts.end() && keep_values(*c->second)) {
          auto* init = g.add_initializer();
          *init = *c->second;
          init->set_name(v);
        }
      }
      *g.add_node() = nodes[i];
      for (const auto& o : nodes[i].output()) {
        if (o.empty()) continue;
        produced.insert(o);
        auto d = declared.find(o);
        if (d != declared.end()) {
          auto* vi = g.add_value_info();
          vi->set_name(o);
          *vi->mutable_type() = d->second;
        }
      }
    }
    try {
      onnx::shape_inference::InferShapes(&g, opsets, onnx::OpSchemaRegistry::Instance(),
                                         onnx::ShapeInferenceOptions{/*check_type=*/true, /*error_mode=*/1,
                                                                     /*enable_data_propagation=*/true});
    } catch (const std::exception& e) {
      throw OnnxTextError(fmt::format("graph_cost: shape inference failed{}: {}", where, e.what()));
    }
    for (auto& v : *g.mutable_value_info())
      if (produced.count(v.name())) scope.types[v.name()] = std::move(*v.mutable_type());
  }

  const CallSummary& run_call(const onnx::NodeProto& call, const onnx::FunctionProto& fn, Scope& scope,
                              const TypeMap& declared, std::unordered_set<std::string>& trainable,
                              const std::string& where) {
    std::string fn_id = fn.domain() + "." + fn.name();
    if (call.input_size() > fn.input_size() || call.output_size() > fn.output_size())
      throw OnnxTextError(fmt::format("graph_cost: node '{}' calls '{}' with {} inputs / {} outputs; it has {} / {}",
                                      call.name(), fn_id, call.input_size(), call.output_size(), fn.input_size(),
                                      fn.output_size()));
    std::string key = fn_id;
    auto append = [&key](const std::string& s) {
      key += '|';
      key += std::to_string(s.size());
      key += ':';
      key += s;
    };
    for (const auto& i : call.input()) append(scope.key(i));
    for (const auto& a : call.attribute()) append(a.SerializeAsString());
    auto cached = cache_.find(key);
    if (cached == cache_.end()) {
      std::string site = fmt::format("{} in '{}' (called by node '{}')", where, fn_id, call.name());
      cached = cache_.emplace(key, summarize(call, fn, scope, site)).first;
    }
    const CallSummary& summary = cached->second;

    for (int i = 0; i < call.input_size(); ++i)
      if (summary.trainable_formals[i] && !call.input(i).empty()) trainable.insert(call.input(i));
    for (int i = 0; i < call.output_size(); ++i) {
      const std::string& out = call.output(i);
      if (out.empty() || !summary.outputs[i]) continue;
      onnx::TypeProto type = *summary.outputs[i];
      auto d = declared.find(out);
      if (d != declared.end()) {
        onnx::TypeProto merged = d->second;
        try {
          onnx::shape_inference::mergeShapesAndTypes(type, &merged);
        } catch (const std::exception& e) {
          throw OnnxTextError(fmt::format("graph_cost: output '{}' of node '{}'{}: declared type conflicts with the "
                                          "inferred one: {}", out, call.name(), where, e.what()));
        }
        type = std::move(merged);
      }
      scope.types[out] = std::move(type);
    }
    return summary;
  }

  // Evaluates the body of `fn` for the actuals of `call`.
  CallSummary summarize(const onnx::NodeProto& call, const onnx::FunctionProto& fn, Scope& scope,
                        const std::string& site) {
    std::string fn_id = fn.domain() + "." + fn.name();
    if (!active_.insert(fn_id).second)
      throw OnnxTextError(fmt::format("graph_cost: local function '{}' calls itself{}", fn_id, site));
    Scope body_scope;
    for (int i = 0; i < fn.input_size() && i < call.input_size(); ++i) {
      const std::string& actual = call.input(i);
      if (actual.empty()) continue;
      auto c = scope.consts.find(actual);
      if (c != scope.consts.end()) {
        body_scope.consts[fn.input(i)] = c->second;
      } else if (const onnx::TypeProto* t = scope.type(actual)) {
        body_scope.types[fn.input(i)] = *t;
      }
    }
    // The body, with attribute references resolved against the call (copied only if it has any).
    bool has_refs = false;
    for (const auto& n : fn.node())
      for (const auto& a : n.attribute()) has_refs |= !a.ref_attr_name().empty();
    Nodes resolved;
    if (has_refs) {
      std::unordered_map<std::string, const onnx::AttributeProto*> call_attrs;
      for (const auto& a : call.attribute()) call_attrs[a.name()] = &a;
      resolved = fn.node();
      for (auto& n : resolved) {
        auto* attrs = n.mutable_attribute();
        for (int k = attrs->size() - 1; k >= 0; --k) {
          onnx::AttributeProto& a = (*attrs)[k];
          if (a.ref_attr_name().empty()) continue;
          auto c = call_attrs.find(a.ref_attr_name());
          if (c == call_attrs.end()) {
            attrs->DeleteSubrange(k, 1);  // not given at the call: the op's default applies
          } else {
            std::string name = a.name();
            a = *c->second;
            a.set_name(name);
          }
        }
      }
    }
    const Nodes& body = has_refs ? resolved : fn.node();
    OpsetMap opsets = model_opsets_;
    for (const auto& imp : fn.opset_import())
      opsets[is_default_domain(imp.domain()) ? "" : imp.domain()] = static_cast<int>(imp.version());

    CallSummary summary;
    std::unordered_set<std::string> body_trainable;
    summary.body = run(body, body_scope, /*declared=*/{}, opsets, body_trainable, site);
    summary.macs = total_macs(summary.body);
    summary.formal_inputs.assign(fn.input().begin(), fn.input().end());
    summary.formal_outputs.assign(fn.output().begin(), fn.output().end());
    for (const auto& formal : fn.input()) summary.trainable_formals.push_back(body_trainable.count(formal) > 0);
    for (const auto& formal : fn.output()) {
      const onnx::TypeProto* t = body_scope.type(formal);
      summary.outputs.push_back(t == nullptr ? std::nullopt : std::optional<onnx::TypeProto>(*t));
    }
    active_.erase(fn_id);
    return summary;
  }

  OpsetMap model_opsets_;
  std::map<std::pair<std::string, std::string>, const onnx::FunctionProto*> functions_;
  std::unordered_map<std::string, CallSummary> cache_;
  std::set<std::string> active_;
};

}  // namespace

GraphCost graph_cost(const onnx::ModelProto& model) {
  const onnx::GraphProto& g = model.graph();
  Evaluator evaluator(model);
  Scope scope;
  TypeMap declared;
  for (const auto& t : g.initializer()) scope.consts[t.name()] = &t;
  for (const auto& v : g.input())
    if (v.has_type()) scope.types[v.name()] = v.type();
  for (const auto& v : g.value_info())
    if (v.has_type()) declared[v.name()] = v.type();
  for (const auto& v : g.output())
    if (v.has_type()) declared[v.name()] = v.type();

  std::unordered_set<std::string> trainable, needed;
  for (const auto& v : g.output()) needed.insert(v.name());
  Body body = evaluator.run(g.node(), scope, declared, evaluator.model_opsets(), trainable, "");
  double macs = total_macs(body);
  Liveness live = live_tally(body, needed);
  std::unordered_map<std::string, bool> ends;
  std::map<std::string, int64_t> dead_merged;
  count_dead_merged(body, live, ends, dead_merged);
  double params = 0;
  for (const auto& t : g.initializer())
    if (trainable.count(t.name()) && is_floating(t.data_type())) params += static_cast<double>(numel(t));
  return GraphCost{params / 1e6,    macs / 1e6, live.tally.macs / 1e6, std::move(live.tally.nodes),
                   all_nodes(body), std::move(dead_merged)};
}

}  // namespace nas::onnx_text
