#include "onnx_text/serializer.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include "core/error.h"
#include "core/io.h"

namespace nas::onnx_text {
namespace {

struct DtypeEntry {
  int32_t type;
  const char* name;
  int64_t size;
};

constexpr DtypeEntry kDtypes[] = {
    {onnx::TensorProto::FLOAT, "f32", 4},        {onnx::TensorProto::UINT8, "u8", 1},
    {onnx::TensorProto::INT8, "i8", 1},          {onnx::TensorProto::UINT16, "u16", 2},
    {onnx::TensorProto::INT16, "i16", 2},        {onnx::TensorProto::INT32, "i32", 4},
    {onnx::TensorProto::INT64, "i64", 8},        {onnx::TensorProto::STRING, "str", 0},
    {onnx::TensorProto::BOOL, "bool", 1},        {onnx::TensorProto::FLOAT16, "f16", 2},
    {onnx::TensorProto::DOUBLE, "f64", 8},       {onnx::TensorProto::UINT32, "u32", 4},
    {onnx::TensorProto::UINT64, "u64", 8},       {onnx::TensorProto::COMPLEX64, "c64", 8},
    {onnx::TensorProto::COMPLEX128, "c128", 16}, {onnx::TensorProto::BFLOAT16, "bf16", 2},
};

}  // namespace

const char* dtype_name(int32_t data_type) {
  for (const auto& e : kDtypes)
    if (e.type == data_type) return e.name;
  return nullptr;
}

int32_t dtype_from_name(std::string_view name) {
  for (const auto& e : kDtypes)
    if (name == e.name) return e.type;
  return 0;
}

int64_t dtype_size(int32_t data_type) {
  for (const auto& e : kDtypes)
    if (e.type == data_type) return e.size;
  return 0;
}

onnx::ModelProto parse_onnx_bytes(const std::string& bytes, const std::string& source) {
  onnx::ModelProto model;
  if (!model.ParseFromString(bytes))
    throw OnnxTextError(
        fmt::format("{}: not an ONNX model (protobuf parsing failed on {} bytes)", source, bytes.size()));
  if (!model.has_graph())
    throw OnnxTextError(fmt::format("{}: not an ONNX model (no graph; {} bytes)", source, bytes.size()));
  return model;
}

onnx::ModelProto load_onnx_file(const std::string& path) {
  std::string bytes;
  try {
    bytes = read_file(path);
  } catch (const Error&) {
    throw OnnxTextError(fmt::format("{}: cannot open file for reading", path));
  }
  return parse_onnx_bytes(bytes, path);
}

namespace {

using onnx::AttributeProto;
using onnx::FunctionProto;
using onnx::GraphProto;
using onnx::ModelProto;
using onnx::NodeProto;
using onnx::TensorProto;
using onnx::TypeProto;

[[noreturn]] void fail(const std::string& message) { throw OnnxTextError(message); }

bool is_identifier(std::string_view s) {
  if (s.empty()) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(s[0])) return false;
  for (char c : s)
    if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
  return true;
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string name_text(const std::string& s) { return is_identifier(s) ? s : quote(s); }

// A domain as dotted identifiers ("ai.onnx.ml") or, if it has other characters, a quoted string.
std::string domain_text(const std::string& domain) {
  size_t start = 0;
  while (true) {
    size_t dot = domain.find('.', start);
    std::string_view part(domain.data() + start, (dot == std::string::npos ? domain.size() : dot) - start);
    if (!is_identifier(part)) return quote(domain);
    if (dot == std::string::npos) return domain;
    start = dot + 1;
  }
}

// Shortest decimal that reads back as the same float, always with '.' or an exponent.
std::string format_float(float v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  char buf[64];
  for (int precision = 1; precision <= 9; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, static_cast<double>(v));
    if (std::strtof(buf, nullptr) == v) break;
  }
  std::string s = buf;
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

template <typename Range, typename F>
std::string join(const Range& range, F&& f, const char* sep = ",") {
  std::string out;
  bool first = true;
  for (const auto& x : range) {
    if (!first) out += sep;
    first = false;
    out += f(x);
  }
  return out;
}

// One dimension of a value type as the text shows it.
struct Dim {
  enum Kind { kInt, kParam, kUnknown };
  Kind kind = kUnknown;
  int64_t value = 0;
  std::string param;
  bool operator==(const Dim& o) const { return kind == o.kind && value == o.value && param == o.param; }
  bool operator!=(const Dim& o) const { return !(*this == o); }
};

// A value type as the text shows it; std::nullopt is printed as '?'.
struct TensorView {
  int32_t dtype = 0;
  bool ranked = false;
  std::vector<Dim> dims;
};

std::optional<TensorView> view_of(const TypeProto* t) {
  if (t == nullptr || !t->has_tensor_type()) return std::nullopt;
  const auto& tt = t->tensor_type();
  if (dtype_name(tt.elem_type()) == nullptr) return std::nullopt;
  TensorView v;
  v.dtype = tt.elem_type();
  v.ranked = tt.has_shape();
  if (v.ranked) {
    for (const auto& d : tt.shape().dim()) {
      Dim x;
      if (d.has_dim_value()) {
        x.kind = Dim::kInt;
        x.value = d.dim_value();
      } else if (d.has_dim_param() && !d.dim_param().empty()) {
        x.kind = Dim::kParam;
        x.param = d.dim_param();
      }
      v.dims.push_back(std::move(x));
    }
  }
  return v;
}

std::string dtype_prefix(int32_t dtype) { return dtype == TensorProto::FLOAT ? "" : dtype_name(dtype); }

std::string dim_text(const Dim& d) {
  if (d.kind == Dim::kInt) return std::to_string(d.value);
  if (d.kind == Dim::kParam) return name_text(d.param);
  return "?";
}

std::string type_text(const std::optional<TensorView>& v) {
  if (!v) return "?";
  std::string s = dtype_prefix(v->dtype);
  if (!v->ranked) return s + "[*]";
  return s + "[" + join(v->dims, dim_text) + "]";
}

std::string type_text(const TypeProto* t) { return type_text(view_of(t)); }

TypeProto tensor_type(int32_t dtype, const std::vector<int64_t>& dims) {
  TypeProto t;
  auto* tt = t.mutable_tensor_type();
  tt->set_elem_type(dtype);
  auto* shape = tt->mutable_shape();
  for (int64_t d : dims) shape->add_dim()->set_dim_value(d);
  return t;
}

std::string ints_text(const std::vector<int64_t>& dims) {
  return "[" + join(dims, [](int64_t d) { return std::to_string(d); }) + "]";
}

const char* attr_type_code(int type) {
  switch (type) {
    case AttributeProto::FLOAT:
      return "float";
    case AttributeProto::INT:
      return "int";
    case AttributeProto::STRING:
      return "string";
    case AttributeProto::TENSOR:
      return "tensor";
    case AttributeProto::GRAPH:
      return "graph";
    case AttributeProto::SPARSE_TENSOR:
      return "sparse_tensor";
    case AttributeProto::TYPE_PROTO:
      return "type_proto";
    case AttributeProto::FLOATS:
      return "floats";
    case AttributeProto::INTS:
      return "ints";
    case AttributeProto::STRINGS:
      return "strings";
    case AttributeProto::TENSORS:
      return "tensors";
    case AttributeProto::GRAPHS:
      return "graphs";
    case AttributeProto::SPARSE_TENSORS:
      return "sparse_tensors";
    case AttributeProto::TYPE_PROTOS:
      return "type_protos";
    default:
      return nullptr;
  }
}

std::string tensor_attr_text(const TensorProto& t, const std::string& where) {
  const char* dtype = dtype_name(t.data_type());
  if (dtype == nullptr) fail(fmt::format("{}: tensor has an undefined data type ({})", where, t.data_type()));
  for (int64_t d : t.dims())
    if (d < 0) fail(fmt::format("{}: tensor has a negative dim ({})", where, d));
  return std::string(dtype) + ints_text({t.dims().begin(), t.dims().end()});
}

std::string attr_value_text(const AttributeProto& a, const std::string& where) {
  if (!a.ref_attr_name().empty()) {
    std::string s = "@" + name_text(a.ref_attr_name());
    if (a.type() != AttributeProto::UNDEFINED) {
      const char* code = attr_type_code(a.type());
      if (code == nullptr)
        fail(fmt::format("{}: attribute has an unknown type {}", where, static_cast<int>(a.type())));
      s += std::string(":") + code;
    }
    return s;
  }
  switch (a.type()) {
    case AttributeProto::FLOAT:
      return format_float(a.f());
    case AttributeProto::INT:
      return std::to_string(a.i());
    case AttributeProto::STRING:
      return quote(a.s());
    case AttributeProto::TENSOR:
      return tensor_attr_text(a.t(), where);
    case AttributeProto::FLOATS:
      if (a.floats_size() == 0) return "floats[]";
      return "[" + join(a.floats(), format_float) + "]";
    case AttributeProto::INTS:
      if (a.ints_size() == 0) return "ints[]";
      return "[" + join(a.ints(), [](int64_t v) { return std::to_string(v); }) + "]";
    case AttributeProto::STRINGS:
      if (a.strings_size() == 0) return "strings[]";
      return "[" + join(a.strings(), [](const std::string& s) { return quote(s); }) + "]";
    case AttributeProto::TENSORS:
      if (a.tensors_size() == 0) return "tensors[]";
      return "[" + join(a.tensors(), [&](const TensorProto& t) { return tensor_attr_text(t, where); }) + "]";
    case AttributeProto::GRAPH:
    case AttributeProto::GRAPHS:
      fail(fmt::format("{}: graph-valued attributes (If / Loop / Scan bodies) are not supported", where));
    case AttributeProto::SPARSE_TENSOR:
    case AttributeProto::SPARSE_TENSORS:
    case AttributeProto::TYPE_PROTO:
    case AttributeProto::TYPE_PROTOS:
      fail(fmt::format("{}: {} attributes are not supported", where, attr_type_code(a.type())));
    default:
      fail(fmt::format("{}: attribute has an undefined or unknown type ({})", where, static_cast<int>(a.type())));
  }
}

// `{a=1,b=[2,3]}` with the attributes sorted by name; "" when there are none.
std::string attrs_text(const NodeProto& n, const std::string& where) {
  if (n.attribute_size() == 0) return "";
  std::vector<const AttributeProto*> attrs;
  for (const auto& a : n.attribute()) {
    if (a.name().empty()) fail(fmt::format("{}: attribute without a name", where));
    attrs.push_back(&a);
  }
  std::sort(attrs.begin(), attrs.end(), [](auto* x, auto* y) { return x->name() < y->name(); });
  for (size_t i = 1; i < attrs.size(); ++i)
    if (attrs[i]->name() == attrs[i - 1]->name())
      fail(fmt::format("{}: duplicate attribute '{}'", where, attrs[i]->name()));
  return "{" +
         join(attrs,
              [&](const AttributeProto* a) {
                return name_text(a->name()) + "=" +
                       attr_value_text(*a, fmt::format("{}, attribute '{}'", where, a->name()));
              }) +
         "}";
}

std::string node_desc(const NodeProto& n, int index, const std::string& scope) {
  std::string op = n.domain().empty() ? n.op_type() : n.domain() + "." + n.op_type();
  if (n.name().empty()) return fmt::format("{} node {} ({})", scope, index, op);
  return fmt::format("{} node {} ({} '{}')", scope, index, op, n.name());
}

std::string fn_id(const std::string& domain, const std::string& name) { return domain + ":" + name; }

// Text name of the k-th formal ("a".."z", then "a26", ...) and the k-th dim variable ("A".."Z", "A26", ...).
std::string formal_name(size_t k) {
  return k < 26 ? std::string(1, static_cast<char>('a' + k)) : fmt::format("a{}", k);
}
std::string var_name(size_t k) {
  return k < 26 ? std::string(1, static_cast<char>('A' + k)) : fmt::format("A{}", k);
}

// A dim written in terms of dim variables: literal, V, V*k or V/k; nullopt if none fits every column.
// `u[c]` is the dim at call / instance c, `vars[j][c]` the value of variable j there.
std::optional<std::string> express(const std::vector<Dim>& u, const std::vector<std::string>& var_names,
                                   const std::vector<std::vector<Dim>>& vars) {
  if (u.empty()) return std::nullopt;
  bool all_int = std::all_of(u.begin(), u.end(), [](const Dim& d) { return d.kind == Dim::kInt; });
  if (all_int && std::all_of(u.begin(), u.end(), [&](const Dim& d) { return d.value == u[0].value; }))
    return std::to_string(u[0].value);
  if (std::any_of(u.begin(), u.end(), [](const Dim& d) { return d.kind == Dim::kUnknown; })) return std::nullopt;
  for (size_t j = 0; j < vars.size(); ++j)
    if (vars[j] == u) return var_names[j];
  if (!all_int) return std::nullopt;
  for (size_t j = 0; j < vars.size(); ++j) {
    const auto& w = vars[j];
    if (!std::all_of(w.begin(), w.end(), [](const Dim& d) { return d.kind == Dim::kInt && d.value > 0; }))
      continue;
    if (u[0].value > 0 && u[0].value % w[0].value == 0) {
      int64_t k = u[0].value / w[0].value;
      bool ok = k >= 2;
      for (size_t c = 0; ok && c < u.size(); ++c) ok = u[c].value == w[c].value * k;
      if (ok) return fmt::format("{}*{}", var_names[j], k);
    }
    if (u[0].value > 0 && w[0].value % u[0].value == 0) {
      int64_t k = w[0].value / u[0].value;
      bool ok = k >= 2;
      for (size_t c = 0; ok && c < u.size(); ++c) ok = u[c].value > 0 && w[c].value == u[c].value * k;
      if (ok) return fmt::format("{}/{}", var_names[j], k);
    }
  }
  return std::nullopt;
}

// An initializer of the main graph (dense or sparse), by shape.
struct Weight {
  int32_t dtype = 0;
  std::vector<int64_t> dims;
  int node_uses = 0;
  bool is_output = false;
  std::string text;       // dtype prefix + [dims]
  std::string text_name;  // "w<k>" once named
  bool inline_use() const { return node_uses == 1 && !is_output; }
};

class Writer {
 public:
  Writer(const ModelProto& model, const TextOptions& options) : src_(model), options_(options) {}

  std::string write() {
    if (!src_.has_graph()) fail("ONNX model has no graph");
    work_ = copy_without_data();
    index_functions();
    // Validate before any shape inference: ONNX's inference does not survive e.g. recursive functions.
    analyze_main();
    for (size_t f = 0; f < fns_.size(); ++f) analyze_function(static_cast<int>(f));
    order_functions();
    infer_main();
    for (auto& fn : fns_) plan_function(fn);

    std::string out = header();
    for (int f : fn_order_) out += function_text(fns_[f]);
    out += main_text();
    return out;
  }

 private:
  struct CallSite {
    const NodeProto* node;
    bool in_main;
  };
  struct Instance {
    std::vector<TypeProto> in_types;  // per formal; value_case() NOT_SET when unknown
    std::unordered_map<std::string, TypeProto> values;
  };
  struct Var {
    int formal;
    int dim;
  };
  struct Function {
    const FunctionProto* proto = nullptr;
    std::string desc;  // "function nas.cell"
    std::unordered_map<std::string, int> formal_index;
    std::vector<CallSite> calls;
    std::vector<int> callees;
    std::vector<Instance> instances;
    std::unordered_map<std::string, int> instance_index;  // key: argument types + call attributes
    std::unordered_map<std::string, int> opsets;          // for inference
    // Plan.
    std::vector<bool> implicit;
    std::vector<std::string> pattern;
    std::vector<Var> vars;
    std::vector<std::string> weight_text;  // per implicit formal
  };

  // ---- The model-local functions, by id "domain:name".
  void index_functions() {
    for (const auto& op : work_.opset_import()) model_opsets_[op.domain()] = static_cast<int>(op.version());
    for (int i = 0; i < work_.functions_size(); ++i) {
      const auto& fp = work_.functions(i);
      std::string id = fn_id(fp.domain(), fp.name());
      if (fp.name().empty()) fail(fmt::format("model-local function {} has no name", i));
      if (!fn_index_.emplace(id, i).second)
        fail(fmt::format("model-local function {}.{} is defined twice", fp.domain(), fp.name()));
      local_fns_[id] = &fp;
      local_domains_.insert(fp.domain());
      if (fp.domain() == kLocalDomain) local_names_.insert(fp.name());
      Function fn;
      fn.proto = &fp;
      fn.desc = fmt::format("function {}", fp.domain().empty() ? fp.name() : fp.domain() + "." + fp.name());
      fn.opsets = model_opsets_;
      for (const auto& op : fp.opset_import()) fn.opsets[op.domain()] = static_cast<int>(op.version());
      fns_.push_back(std::move(fn));
    }
    local_domains_.insert(kLocalDomain);
  }

  static onnx::ShapeInferenceOptions inference_options() {
    onnx::ShapeInferenceOptions o;
    o.check_type = false;
    o.error_mode = 0;
    o.enable_data_propagation = false;
    return o;
  }

  ModelProto copy_without_data() const {
    ModelProto m;
    m.set_ir_version(src_.ir_version());
    *m.mutable_opset_import() = src_.opset_import();
    *m.mutable_functions() = src_.functions();
    const GraphProto& g = src_.graph();
    GraphProto* out = m.mutable_graph();
    out->set_name(g.name());
    *out->mutable_node() = g.node();
    *out->mutable_input() = g.input();
    *out->mutable_output() = g.output();
    *out->mutable_value_info() = g.value_info();
    for (const auto& t : g.initializer()) {
      TensorProto* c = out->add_initializer();
      if (keeps_values(t)) {
        c->CopyFrom(t);
      } else {
        c->set_name(t.name());
        c->set_data_type(t.data_type());
        *c->mutable_dims() = t.dims();
      }
    }
    *out->mutable_sparse_initializer() = g.sparse_initializer();
    return m;
  }

  // Small and integer initializers keep their values in work_ (shape inference reads e.g. Reshape's
  // shape); the others only their dtype and dims.
  static bool keeps_values(const TensorProto& t) {
    int64_t n = 1;
    for (int64_t d : t.dims()) n *= d;
    return n <= 64 || t.data_type() == TensorProto::INT64 || t.data_type() == TensorProto::INT32;
  }

  // Index of the local function `n` calls, or -1.
  int local_call(const NodeProto& n) const {
    if (fn_index_.empty()) return -1;
    auto it = fn_index_.find(fn_id(n.domain(), n.op_type()));
    return it == fn_index_.end() ? -1 : it->second;
  }

  void check_op(const NodeProto& n, const std::string& desc) const {
    if (n.op_type().empty()) fail(fmt::format("{}: node has no op type", desc));
    if (local_call(n) >= 0 || !local_domains_.count(n.domain())) return;
    if (onnx::OpSchemaRegistry::Schema(n.op_type(), n.domain()) != nullptr) return;
    fail(fmt::format("{}: unknown function '{}.{}' (not a model-local function)", desc, n.domain(), n.op_type()));
  }

  // ---- Main graph: definitions, uses, types.
  void analyze_main() {
    const GraphProto& g = work_.graph();
    auto add_weight = [&](const std::string& name, int32_t dtype, std::vector<int64_t> dims) {
      if (name.empty()) fail("main graph: initializer without a name");
      if (dtype_name(dtype) == nullptr)
        fail(fmt::format("main graph: initializer '{}' has an undefined data type ({})", name, dtype));
      for (int64_t d : dims)
        if (d < 0) fail(fmt::format("main graph: initializer '{}' has a negative dim ({})", name, d));
      Weight w;
      w.dtype = dtype;
      w.dims = std::move(dims);
      w.text = dtype_prefix(dtype) + ints_text(w.dims);
      if (!weights_.emplace(name, std::move(w)).second)
        fail(fmt::format("main graph: initializer '{}' defined twice", name));
    };
    for (const auto& t : g.initializer()) {
      add_weight(t.name(), t.data_type(), {t.dims().begin(), t.dims().end()});
      if (keeps_values(t)) init_protos_[t.name()] = &t;
    }
    for (const auto& s : g.sparse_initializer())
      add_weight(s.values().name(), s.values().data_type(), {s.dims().begin(), s.dims().end()});

    for (const auto& vi : g.value_info()) types_[vi.name()] = vi.type();
    for (const auto& vi : g.output()) types_[vi.name()] = vi.type();
    for (const auto& vi : g.input()) {
      if (weights_.count(vi.name())) continue;
      if (vi.name().empty()) fail("main graph: input without a name");
      if (!defined_.insert(vi.name()).second) fail(fmt::format("main graph: input '{}' listed twice", vi.name()));
      inputs_.push_back(&vi);
      types_[vi.name()] = vi.type();
    }
    for (const auto& [name, w] : weights_) types_[name] = tensor_type(w.dtype, w.dims);

    for (int k = 0; k < g.node_size(); ++k) {
      const NodeProto& n = g.node(k);
      std::string desc = node_desc(n, k, "main graph");
      check_op(n, desc);
      for (const auto& in : n.input()) {
        if (in.empty()) continue;
        auto w = weights_.find(in);
        if (w != weights_.end()) {
          ++w->second.node_uses;
        } else if (!defined_.count(in)) {
          fail(fmt::format(
              "{}: input '{}' has no producer (not a graph input, initializer or earlier node output)", desc, in));
        }
      }
      int f = local_call(n);
      if (f >= 0) {
        fns_[f].calls.push_back({&n, true});
        if (n.input_size() > fns_[f].proto->input_size())
          fail(fmt::format("{}: {} inputs but {} has {} formal inputs", desc, n.input_size(), fns_[f].desc,
                           fns_[f].proto->input_size()));
      }
      for (const auto& out : n.output()) {
        if (out.empty()) continue;
        if (weights_.count(out) || !defined_.insert(out).second)
          fail(fmt::format("{}: output '{}' is defined twice", desc, out));
      }
    }
    for (const auto& vi : g.output()) {
      auto w = weights_.find(vi.name());
      if (w != weights_.end()) {
        w->second.is_output = true;
      } else if (!defined_.count(vi.name())) {
        fail(fmt::format("main graph: output '{}' has no producer", vi.name()));
      }
    }
  }

  // ---- Function bodies: definitions, calls.
  void analyze_function(int f) {
    Function& fn = fns_[f];
    const FunctionProto& fp = *fn.proto;
    std::unordered_set<std::string> defined;
    for (int i = 0; i < fp.input_size(); ++i) {
      if (fp.input(i).empty()) fail(fmt::format("{}: formal input {} has no name", fn.desc, i));
      if (!defined.insert(fp.input(i)).second)
        fail(fmt::format("{}: formal input '{}' listed twice", fn.desc, fp.input(i)));
      fn.formal_index[fp.input(i)] = i;
    }
    for (int k = 0; k < fp.node_size(); ++k) {
      const NodeProto& n = fp.node(k);
      std::string desc = node_desc(n, k, fn.desc);
      check_op(n, desc);
      for (const auto& in : n.input())
        if (!in.empty() && !defined.count(in)) fail(fmt::format("{}: input '{}' has no producer", desc, in));
      int callee = local_call(n);
      if (callee >= 0) {
        fns_[callee].calls.push_back({&n, false});
        fn.callees.push_back(callee);
        if (n.input_size() > fns_[callee].proto->input_size())
          fail(fmt::format("{}: {} inputs but {} has {} formal inputs", desc, n.input_size(), fns_[callee].desc,
                           fns_[callee].proto->input_size()));
      }
      for (const auto& out : n.output())
        if (!out.empty() && !defined.insert(out).second)
          fail(fmt::format("{}: output '{}' is defined twice", desc, out));
    }
    for (const auto& out : fp.output())
      if (!defined.count(out)) fail(fmt::format("{}: output '{}' has no producer", fn.desc, out));
  }

  // Callees before callers, otherwise in proto order; throws on recursion.
  void order_functions() {
    std::vector<int> state(fns_.size(), 0);  // 0 new, 1 on stack, 2 done
    std::function<void(int)> visit = [&](int f) {
      if (state[f] == 2) return;
      if (state[f] == 1) fail(fmt::format("{} is recursive (calls itself directly or indirectly)", fns_[f].desc));
      state[f] = 1;
      for (int c : fns_[f].callees) visit(c);
      state[f] = 2;
      fn_order_.push_back(f);
    };
    for (size_t f = 0; f < fns_.size(); ++f) visit(static_cast<int>(f));
  }

  // ---- Shapes. The main graph is inferred in segments between calls of local functions; each
  // distinct call (function, argument types, attributes) is inferred once, on its own body, which gives
  // both the call's output types and the shapes inside the body. (ONNX's InferShapes on the whole model
  // would re-infer the body at every call and keeps no shapes inside bodies.) Types already in the proto
  // are merged with the inferred ones by ONNX; a segment whose inference fails keeps the proto's types.
  void infer_main() {
    const GraphProto& g = work_.graph();
    std::vector<const NodeProto*> segment;
    for (const auto& n : g.node()) {
      int f = local_call(n);
      if (f < 0) {
        segment.push_back(&n);
        continue;
      }
      infer_segment(segment);
      segment.clear();
      std::vector<TypeProto> in_types;
      for (const auto& in : n.input()) in_types.push_back(in.empty() ? TypeProto() : main_type_or_empty(in));
      int k = add_instance(f, std::move(in_types), n);
      const Function& fn = fns_[f];
      for (int o = 0; o < n.output_size() && o < fn.proto->output_size(); ++o) {
        const TypeProto* t = instance_type(fn, fn.instances[k], fn.proto->output(o));
        if (n.output(o).empty() || t == nullptr) continue;
        auto it = types_.find(n.output(o));
        if (it == types_.end() || !it->second.has_tensor_type() || !it->second.tensor_type().has_shape())
          types_[n.output(o)] = *t;
      }
    }
    infer_segment(segment);
  }

  TypeProto main_type_or_empty(const std::string& name) const {
    auto it = types_.find(name);
    return it == types_.end() ? TypeProto() : it->second;
  }

  void infer_segment(const std::vector<const NodeProto*>& nodes) {
    if (nodes.empty()) return;
    GraphProto seg;
    seg.set_name("segment");
    std::unordered_set<std::string> inside, outside;
    for (const NodeProto* n : nodes) {
      for (const auto& in : n->input()) {
        if (in.empty() || inside.count(in) || !outside.insert(in).second) continue;
        auto t = types_.find(in);
        if (t == types_.end()) continue;
        auto* vi = seg.add_input();
        vi->set_name(in);
        *vi->mutable_type() = t->second;
        auto w = init_protos_.find(in);
        if (w != init_protos_.end()) *seg.add_initializer() = *w->second;
      }
      *seg.add_node() = *n;
      for (const auto& out : n->output()) {
        if (out.empty()) continue;
        inside.insert(out);
        auto t = types_.find(out);
        if (t == types_.end()) continue;
        auto* vi = seg.add_value_info();
        vi->set_name(out);
        *vi->mutable_type() = t->second;
      }
    }
    for (const auto& n : seg.node())
      if (unsafe_for_inference(n)) return;
    try {
      onnx::shape_inference::InferShapes(&seg, model_opsets_, onnx::OpSchemaRegistry::Instance(),
                                         inference_options(), local_fns_);
    } catch (const std::exception&) {
      return;  // keep the proto's types for this segment
    }
    for (const auto& vi : seg.value_info()) types_[vi.name()] = vi.type();
  }

  // Index in fns_[f].instances of the instance for this call, inferring it if it is new.
  int add_instance(int f, std::vector<TypeProto> in_types, const NodeProto& call) {
    Function& fn = fns_[f];
    const FunctionProto& fp = *fn.proto;
    in_types.resize(fp.input_size());
    std::string key;
    for (const auto& t : in_types) {
      std::string s = t.SerializeAsString();
      key += std::to_string(s.size()) + ":" + s;
    }
    std::vector<std::string> attrs;
    for (const auto& a : call.attribute()) attrs.push_back(a.SerializeAsString());
    std::sort(attrs.begin(), attrs.end());
    for (const auto& a : attrs) key += std::to_string(a.size()) + ":" + a;
    auto known = fn.instance_index.find(key);
    if (known != fn.instance_index.end()) return known->second;

    GraphProto g;
    g.set_name("instance");
    for (int i = 0; i < fp.input_size(); ++i) {
      if (in_types[i].value_case() == TypeProto::VALUE_NOT_SET) continue;
      auto* vi = g.add_input();
      vi->set_name(fp.input(i));
      *vi->mutable_type() = in_types[i];
    }
    bool safe = true;
    for (const auto& n : fp.node()) {
      *g.add_node() = bind_attributes(n, call);
      safe = safe && !unsafe_for_inference(g.node(g.node_size() - 1));
    }
    try {
      if (safe)
        onnx::shape_inference::InferShapes(&g, fn.opsets, onnx::OpSchemaRegistry::Instance(), inference_options(),
                                           local_fns_);
    } catch (const std::exception&) {
      // Shapes stay unknown; the text shows '?'.
    }
    Instance inst;
    inst.in_types = std::move(in_types);
    for (const auto& vi : g.value_info()) inst.values[vi.name()] = vi.type();
    for (const auto& n : g.node()) {
      int callee = local_call(n);
      if (callee < 0) continue;
      std::vector<TypeProto> nested;
      for (const auto& in : n.input()) {
        const TypeProto* t = instance_type(fn, inst, in);
        nested.push_back(t ? *t : TypeProto());
      }
      add_instance(callee, std::move(nested), n);
    }
    fns_[f].instances.push_back(std::move(inst));
    int index = static_cast<int>(fns_[f].instances.size()) - 1;
    fns_[f].instance_index.emplace(std::move(key), index);
    return index;
  }

  // ONNX 1.12's shape inference divides by some attributes without checking them (e.g. Conv / pooling
  // strides of 0 raise SIGFPE in convPoolShapeInference). Graphs with such a node, directly or in a
  // called function, are not inferred; their shapes stay as the proto has them.
  bool unsafe_for_inference(const NodeProto& n) const {
    int f = local_call(n);
    if (f >= 0) {
      for (const auto& body : fns_[f].proto->node())
        if (unsafe_for_inference(bind_attributes(body, n))) return true;
      return false;
    }
    static const std::set<std::string> kPositive{"strides", "dilations", "kernel_shape", "blocksize", "group"};
    for (const auto& a : n.attribute()) {
      if (!kPositive.count(a.name())) continue;
      if (a.type() == AttributeProto::INT && a.i() <= 0) return true;
      for (int64_t v : a.ints())
        if (v <= 0) return true;
    }
    return false;
  }

  // A body node with attribute references replaced by the call's values (or dropped).
  static NodeProto bind_attributes(const NodeProto& n, const NodeProto& call) {
    NodeProto out = n;
    out.clear_attribute();
    for (const auto& a : n.attribute()) {
      if (a.ref_attr_name().empty()) {
        *out.add_attribute() = a;
        continue;
      }
      for (const auto& c : call.attribute()) {
        if (c.name() != a.ref_attr_name()) continue;
        AttributeProto* b = out.add_attribute();
        *b = c;
        b->set_name(a.name());
        break;
      }
    }
    return out;
  }

  static const TypeProto* instance_type(const Function& fn, const Instance& inst, const std::string& name) {
    if (name.empty()) return nullptr;
    auto f = fn.formal_index.find(name);
    if (f != fn.formal_index.end()) {
      const TypeProto& t = inst.in_types[f->second];
      return t.value_case() == TypeProto::VALUE_NOT_SET ? nullptr : &t;
    }
    auto v = inst.values.find(name);
    return v == inst.values.end() ? nullptr : &v->second;
  }

  // ---- Which formals are implicit weights, the dim variables, the symbolic weight shapes.
  void plan_function(Function& fn) {
    const FunctionProto& fp = *fn.proto;
    const int nf = fp.input_size();
    std::vector<int> uses(nf, 0);
    std::vector<std::pair<int, int>> first_use(nf, {INT_MAX, INT_MAX});
    std::vector<bool> is_output(nf, false);
    for (int k = 0; k < fp.node_size(); ++k) {
      const NodeProto& n = fp.node(k);
      for (int s = 0; s < n.input_size(); ++s) {
        auto it = fn.formal_index.find(n.input(s));
        if (it == fn.formal_index.end()) continue;
        ++uses[it->second];
        first_use[it->second] = std::min(first_use[it->second], {k, s});
      }
    }
    for (const auto& out : fp.output()) {
      auto it = fn.formal_index.find(out);
      if (it != fn.formal_index.end()) is_output[it->second] = true;
    }

    fn.implicit.assign(nf, false);
    bool all_main = !fn.calls.empty() &&
                    std::all_of(fn.calls.begin(), fn.calls.end(), [](const CallSite& c) { return c.in_main; });
    if (options_.implicit_function_weights && all_main) {
      for (int i = 0; i < nf; ++i) {
        if (uses[i] != 1 || is_output[i]) continue;
        bool ok = true;
        const Weight* first = nullptr;
        for (const auto& c : fn.calls) {
          const Weight* w = nullptr;
          if (i < c.node->input_size()) {
            auto it = weights_.find(c.node->input(i));
            if (it != weights_.end() && it->second.inline_use()) w = &it->second;
          }
          if (w == nullptr || (first && (w->dtype != first->dtype || w->dims.size() != first->dims.size()))) {
            ok = false;
            break;
          }
          if (!first) first = w;
        }
        fn.implicit[i] = ok;
      }
    }
    const std::vector<bool> candidate = fn.implicit;

    while (true) {
      compute_vars(fn);
      bool changed = false;
      fn.weight_text.assign(nf, "");
      for (int i = 0; i < nf; ++i) {
        if (!fn.implicit[i]) continue;
        // Variables are recomputed after each formal turns explicit (below): its shape pattern may
        // define the variables that later formals need.
        auto text = implicit_weight_text(fn, i, var_names(fn), var_values_at_calls(fn));
        if (text) {
          fn.weight_text[i] = *text;
        } else {
          fn.implicit[i] = false;
          changed = true;
          compute_vars(fn);  // its shape pattern may define the variables later formals need
        }
      }
      // The reader appends implicit formals after the listed ones, in order of first use.
      int start = nf;
      while (start > 0 && fn.implicit[start - 1]) --start;
      for (int i = 0; i < start; ++i) {
        if (fn.implicit[i]) {
          fn.implicit[i] = false;
          changed = true;
        }
      }
      int run = nf;  // longest tail with increasing first use
      while (run > start && (run == nf || first_use[run - 1] < first_use[run])) --run;
      for (int i = start; i < run; ++i) {
        fn.implicit[i] = false;
        changed = true;
      }
      if (!changed) break;
    }
    // Second pass: grow the implicit tail backwards with formals that failed only for want of the dim
    // variables that the listed weight formals declare.
    if (options_.implicit_function_weights && all_main) {
      while (true) {
        int start = nf;
        while (start > 0 && fn.implicit[start - 1]) --start;
        int i = start - 1;
        if (i < 0 || !candidate[i]) break;
        if (start < nf && !(first_use[i] < first_use[start])) break;
        fn.implicit[i] = true;
        compute_vars(fn);
        const auto names = var_names(fn);
        const auto vals = var_values_at_calls(fn);
        bool ok = true;
        for (int j = i; j < nf && ok; ++j) ok = implicit_weight_text(fn, j, names, vals).has_value();
        if (!ok) {
          fn.implicit[i] = false;
          compute_vars(fn);
          break;
        }
      }
      compute_vars(fn);
      const auto names = var_names(fn);
      const auto vals = var_values_at_calls(fn);
      fn.weight_text.assign(nf, "");
      for (int j = 0; j < nf; ++j)
        if (fn.implicit[j]) fn.weight_text[j] = *implicit_weight_text(fn, j, names, vals);
    }
  }

  // Dim variables over the listed (non-implicit) formals and their shape patterns.
  void compute_vars(Function& fn) {
    const int nf = fn.proto->input_size();
    fn.vars.clear();
    fn.pattern.assign(nf, "");
    if (fn.instances.empty()) return;
    std::vector<std::vector<Dim>> var_values;
    for (int i = 0; i < nf; ++i) {
      if (fn.implicit[i]) continue;
      std::vector<TensorView> views;
      for (const auto& inst : fn.instances) {
        auto v = view_of(&inst.in_types[i]);
        if (!v || !v->ranked || (!views.empty() && v->dims.size() != views[0].dims.size())) break;
        views.push_back(std::move(*v));
      }
      if (views.size() != fn.instances.size()) continue;
      std::vector<std::string> parts;
      for (size_t d = 0; d < views[0].dims.size(); ++d) {
        std::vector<Dim> u;
        for (const auto& v : views) u.push_back(v.dims[d]);
        bool all_int = std::all_of(u.begin(), u.end(), [](const Dim& x) { return x.kind == Dim::kInt; });
        if (all_int && std::all_of(u.begin(), u.end(), [&](const Dim& x) { return x.value == u[0].value; })) {
          parts.push_back(std::to_string(u[0].value));
        } else if (std::any_of(u.begin(), u.end(), [](const Dim& x) { return x.kind == Dim::kUnknown; })) {
          parts.push_back("?");
        } else {
          size_t j = std::find(var_values.begin(), var_values.end(), u) - var_values.begin();
          if (j == var_values.size()) {
            var_values.push_back(u);
            fn.vars.push_back({i, static_cast<int>(d)});
          }
          parts.push_back(var_name(j));
        }
      }
      fn.pattern[i] = "[" + join(parts, [](const std::string& s) { return s; }) + "]";
    }
  }

  std::vector<std::string> var_names(const Function& fn) const {
    std::vector<std::string> names;
    for (size_t j = 0; j < fn.vars.size(); ++j) names.push_back(var_name(j));
    return names;
  }

  // Values of every dim variable at every direct call (all in the main graph).
  std::vector<std::vector<Dim>> var_values_at_calls(const Function& fn) const {
    std::vector<std::vector<Dim>> out;
    for (const Var& v : fn.vars) {
      std::vector<Dim> vals;
      for (const auto& c : fn.calls) {
        auto it = types_.find(c.node->input(v.formal));
        auto view = view_of(it == types_.end() ? nullptr : &it->second);
        vals.push_back(view && view->ranked && v.dim < static_cast<int>(view->dims.size()) ? view->dims[v.dim]
                                                                                           : Dim());
      }
      out.push_back(std::move(vals));
    }
    return out;
  }

  std::vector<std::vector<Dim>> var_values_at_instances(const Function& fn) const {
    std::vector<std::vector<Dim>> out;
    for (const Var& v : fn.vars) {
      std::vector<Dim> vals;
      for (const auto& inst : fn.instances) {
        auto view = view_of(&inst.in_types[v.formal]);
        vals.push_back(view && view->ranked && v.dim < static_cast<int>(view->dims.size()) ? view->dims[v.dim]
                                                                                           : Dim());
      }
      out.push_back(std::move(vals));
    }
    return out;
  }

  // The symbolic shape of implicit weight formal `formal`, e.g. "[A*2,A,3,3]"; nullopt if a dim has no
  // such form. `vals[j][c]`: value of variable j at call c.
  std::optional<std::string> implicit_weight_text(const Function& fn, int formal,
                                                  const std::vector<std::string>& names,
                                                  const std::vector<std::vector<Dim>>& vals) const {
    std::vector<const Weight*> ws;
    for (const auto& c : fn.calls) ws.push_back(&weights_.at(c.node->input(formal)));
    std::vector<std::string> parts;
    for (size_t d = 0; d < ws[0]->dims.size(); ++d) {
      std::vector<Dim> u;
      for (const Weight* w : ws) u.push_back(Dim{Dim::kInt, w->dims[d], ""});
      auto e = express(u, names, vals);
      if (!e) return std::nullopt;
      parts.push_back(*e);
    }
    return dtype_prefix(ws[0]->dtype) + "[" + join(parts, [](const std::string& s) { return s; }) + "]";
  }

  // ---- Printing.
  std::string header() const {
    std::string out;
    if (work_.ir_version() != kDefaultIrVersion) out += fmt::format("ir {}\n", work_.ir_version());
    std::vector<std::pair<std::string, int64_t>> opsets, defaults{{"", kDefaultOpset}};
    for (const auto& op : work_.opset_import()) opsets.emplace_back(op.domain(), op.version());
    std::sort(opsets.begin(), opsets.end());
    if (!local_names_.empty()) defaults.emplace_back(kLocalDomain, kLocalDomainVersion);
    if (opsets != defaults) out += "opset" + std::string(opsets.empty() ? "" : " ") + opsets_text(opsets) + "\n";
    return out;
  }

  static std::string opsets_text(const std::vector<std::pair<std::string, int64_t>>& opsets) {
    return join(opsets, [](const std::pair<std::string, int64_t>& op) {
      return op.first.empty() ? std::to_string(op.second)
                              : domain_text(op.first) + ":" + std::to_string(op.second);
    });
  }

  // The op of a node as printed (see the dialect in serializer.h).
  std::string op_text(const NodeProto& n) const {
    if (n.domain() == kLocalDomain && local_call(n) >= 0) return name_text(n.op_type());
    if (n.domain().empty()) return (local_names_.count(n.op_type()) ? "." : "") + name_text(n.op_type());
    return domain_text(n.domain()) + "." + name_text(n.op_type());
  }

  // Arguments: inline weights collapse into `[16]*4` runs.
  static std::string args_text(const std::vector<std::pair<std::string, bool>>& args) {
    std::string out = "(";
    for (size_t i = 0; i < args.size();) {
      size_t j = i + 1;
      if (args[i].second)
        while (j < args.size() && args[j].second && args[j].first == args[i].first) ++j;
      if (i > 0) out += ",";
      out += args[i].first;
      if (j - i > 1) out += fmt::format("*{}", j - i);
      i = j;
    }
    return out + ")";
  }

  std::string function_text(const Function& fn) const {
    const FunctionProto& fp = *fn.proto;
    std::unordered_map<std::string, std::string> names;
    std::vector<std::string> formals;
    for (int i = 0; i < fp.input_size(); ++i) {
      if (fn.implicit[i]) continue;
      std::string name = formal_name(formals.size());
      names[fp.input(i)] = name;
      formals.push_back(name + fn.pattern[i]);
    }
    std::string out = "def ";
    if (fp.domain() == kLocalDomain)
      out += name_text(fp.name());
    else if (fp.domain().empty())
      out += "." + name_text(fp.name());
    else
      out += domain_text(fp.domain()) + "." + name_text(fp.name());
    out += "(" + join(formals, [](const std::string& s) { return s; }) + ")";
    if (fp.attribute_size() > 0) out += "<" + join(fp.attribute(), name_text) + ">";
    // Default imports: the model's version of the default domain and of every other domain the body uses.
    std::set<std::string> used{""};
    for (const auto& n : fp.node()) used.insert(n.domain());
    std::vector<std::pair<std::string, int64_t>> opsets, defaults;
    for (const auto& op : fp.opset_import()) opsets.emplace_back(op.domain(), op.version());
    for (const auto& op : work_.opset_import())
      if (used.count(op.domain())) defaults.emplace_back(op.domain(), op.version());
    std::sort(opsets.begin(), opsets.end());
    std::sort(defaults.begin(), defaults.end());
    if (opsets != defaults) out += " opset" + std::string(opsets.empty() ? "" : " ") + opsets_text(opsets);
    out += "\n";

    int counter = 0;
    for (int k = 0; k < fp.node_size(); ++k) {
      const NodeProto& n = fp.node(k);
      std::string desc = node_desc(n, k, fn.desc);
      std::vector<std::pair<std::string, bool>> args;
      for (const auto& in : n.input()) {
        if (in.empty()) {
          args.emplace_back("_", false);
          continue;
        }
        auto f = fn.formal_index.find(in);
        if (f != fn.formal_index.end() && fn.implicit[f->second])
          args.emplace_back(fn.weight_text[f->second], true);
        else
          args.emplace_back(names.at(in), false);
      }
      std::vector<std::string> outs;
      for (const auto& o : n.output()) {
        if (o.empty()) {
          outs.push_back("_");
          continue;
        }
        names[o] = fmt::format("t{}", counter++);
        outs.push_back(names[o]);
      }
      out += join(outs, [](const std::string& s) { return s; }) + "=" + op_text(n) + attrs_text(n, desc) +
             args_text(args) + body_types_text(fn, n) + "\n";
    }
    return out + "ret" + (fp.output_size() ? " " : "") +
           join(fp.output(), [&](const std::string& o) { return names.at(o); }) + "\n";
  }

  // Output types of a body node, symbolic over the function's instances; "" when elided.
  std::string body_types_text(const Function& fn, const NodeProto& n) const {
    if (fn.instances.empty()) return "";
    bool elide = options_.elide_types;
    for (size_t c = 0; elide && c < fn.instances.size(); ++c) {
      const Instance& inst = fn.instances[c];
      std::string ref = n.input_size() > 0 ? type_text(instance_type(fn, inst, n.input(0))) : "?";
      for (const auto& o : n.output())
        if (!o.empty() && type_text(instance_type(fn, inst, o)) != ref) elide = false;
    }
    if (elide) return "";
    auto names = var_names(fn);
    auto vals = var_values_at_instances(fn);
    std::vector<std::string> parts;
    for (const auto& o : n.output()) {
      if (o.empty()) continue;
      std::vector<std::optional<TensorView>> views;
      for (const auto& inst : fn.instances) views.push_back(view_of(instance_type(fn, inst, o)));
      parts.push_back(symbolic_type(views, names, vals));
    }
    return " " + join(parts, [](const std::string& s) { return s; });
  }

  static std::string symbolic_type(const std::vector<std::optional<TensorView>>& views,
                                   const std::vector<std::string>& names,
                                   const std::vector<std::vector<Dim>>& vals) {
    for (const auto& v : views)
      if (!v || v->dtype != views[0]->dtype || v->ranked != views[0]->ranked ||
          v->dims.size() != views[0]->dims.size())
        return "?";
    std::string prefix = dtype_prefix(views[0]->dtype);
    if (!views[0]->ranked) return prefix + "[*]";
    std::vector<std::string> parts;
    for (size_t d = 0; d < views[0]->dims.size(); ++d) {
      std::vector<Dim> u;
      for (const auto& v : views) u.push_back(v->dims[d]);
      parts.push_back(express(u, names, vals).value_or("?"));
    }
    return prefix + "[" + join(parts, [](const std::string& s) { return s; }) + "]";
  }

  std::string main_text() {
    const GraphProto& g = work_.graph();
    std::unordered_map<std::string, std::string> names;
    std::string out;
    for (size_t i = 0; i < inputs_.size(); ++i) {
      std::string name = inputs_.size() == 1 ? "x" : fmt::format("x{}", i);
      names[inputs_[i]->name()] = name;
      out += "in " + name + " " + type_text(&inputs_[i]->type()) + "\n";
    }
    int counter = 0, weight_counter = 0;
    auto weight_ref = [&](const std::string& name) {
      Weight& w = weights_.at(name);
      if (!w.text_name.empty()) return w.text_name;
      w.text_name = fmt::format("w{}", weight_counter++);
      return w.text_name + "=" + w.text;
    };
    auto main_type = [&](const std::string& name) -> const TypeProto* {
      auto it = types_.find(name);
      return it == types_.end() ? nullptr : &it->second;
    };
    for (int k = 0; k < g.node_size(); ++k) {
      const NodeProto& n = g.node(k);
      std::string desc = node_desc(n, k, "main graph");
      std::vector<std::pair<std::string, bool>> args;
      int callee = local_call(n);
      for (int s = 0; s < n.input_size(); ++s) {
        const std::string& in = n.input(s);
        if (callee >= 0 && fns_[callee].implicit[s]) continue;  // re-created by the reader from the def
        if (in.empty()) {
          args.emplace_back("_", false);
          continue;
        }
        auto w = weights_.find(in);
        if (w == weights_.end())
          args.emplace_back(names.at(in), false);
        else if (w->second.inline_use())
          args.emplace_back(w->second.text, true);
        else
          args.emplace_back(weight_ref(in), false);
      }
      std::vector<std::string> outs;
      for (const auto& o : n.output()) {
        if (o.empty()) {
          outs.push_back("_");
          continue;
        }
        names[o] = fmt::format("v{}", counter++);
        outs.push_back(names[o]);
      }
      std::string ref = n.input_size() > 0 && !n.input(0).empty() ? type_text(main_type(n.input(0))) : "?";
      std::vector<std::string> types;
      bool elide = options_.elide_types;
      for (const auto& o : n.output()) {
        if (o.empty()) continue;
        types.push_back(type_text(main_type(o)));
        if (types.back() != ref) elide = false;
      }
      out += join(outs, [](const std::string& s) { return s; }) + "=" + op_text(n) + attrs_text(n, desc) +
             args_text(args) + (elide ? "" : " " + join(types, [](const std::string& s) { return s; })) + "\n";
    }
    // Weights no node uses: graph outputs in output order, then unused ones sorted by shape (proto
    // order is not structure).
    for (const auto& vi : g.output()) {
      auto w = weights_.find(vi.name());
      if (w != weights_.end() && w->second.text_name.empty()) out += weight_ref(vi.name()) + "\n";
    }
    std::vector<std::string> unused;
    for (const auto& [name, w] : weights_)
      if (w.node_uses == 0 && !w.is_output) unused.push_back(w.text);
    std::sort(unused.begin(), unused.end());
    for (const auto& text : unused) out += fmt::format("w{}={}\n", weight_counter++, text);
    std::vector<std::string> outs;
    for (const auto& vi : g.output()) {
      auto w = weights_.find(vi.name());
      outs.push_back(w != weights_.end() ? w->second.text_name : names.at(vi.name()));
    }
    return out + "out" + (outs.empty() ? "" : " ") + join(outs, [](const std::string& s) { return s; }) + "\n";
  }

  const ModelProto& src_;
  TextOptions options_;
  ModelProto work_;
  std::unordered_map<std::string, int> model_opsets_;
  std::unordered_map<std::string, int> fn_index_;
  onnx::shape_inference::ModelLocalFunctionsMap local_fns_;
  std::set<std::string> local_domains_;
  std::set<std::string> local_names_;  // names of functions in domain "nas"
  std::vector<Function> fns_;
  std::vector<int> fn_order_;
  std::unordered_map<std::string, Weight> weights_;
  std::unordered_map<std::string, TypeProto> types_;
  std::unordered_map<std::string, const TensorProto*> init_protos_;  // work_'s initializers with values
  std::unordered_set<std::string> defined_;
  std::vector<const onnx::ValueInfoProto*> inputs_;
};

}  // namespace

std::string to_text(const onnx::ModelProto& model, const TextOptions& options) {
  return Writer(model, options).write();
}

}  // namespace nas::onnx_text
