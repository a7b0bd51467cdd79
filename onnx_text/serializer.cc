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

// Int and float lists of at least this many equal elements print as `[v]*n` (pads=[1]*4).
constexpr int kMinListRepeat = 3;

// Equal as printed (bitwise, so -0.0 and every NaN payload stay apart).
bool same_float(float a, float b) { return format_float(a) == format_float(b); }

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
      if (a.floats_size() >= kMinListRepeat &&
          std::all_of(a.floats().begin(), a.floats().end(), [&](float v) { return same_float(v, a.floats(0)); }))
        return fmt::format("[{}]*{}", format_float(a.floats(0)), a.floats_size());
      return "[" + join(a.floats(), format_float) + "]";
    case AttributeProto::INTS:
      if (a.ints_size() == 0) return "ints[]";
      if (a.ints_size() >= kMinListRepeat &&
          std::all_of(a.ints().begin(), a.ints().end(), [&](int64_t v) { return v == a.ints(0); }))
        return fmt::format("[{}]*{}", a.ints(0), a.ints_size());
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

// `{a=1,b=[2,3]}` with the attributes sorted by name, less those named in `skip`; "" when none is left.
std::string attrs_text(const NodeProto& n, const std::string& where, const std::set<std::string>& skip = {}) {
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
  attrs.erase(std::remove_if(attrs.begin(), attrs.end(), [&](auto* a) { return skip.count(a->name()) > 0; }),
              attrs.end());
  if (attrs.empty()) return "";
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

// A dim written in terms of dim variables: a literal, V, V*k, V/k or unknown (`?`).
struct Expr {
  enum Kind { kUnknown, kLit, kVar, kMul, kDiv };
  Kind kind = kUnknown;
  int64_t value = 0;  // the literal, or the factor of kMul / kDiv
  size_t var = 0;     // index of the dim variable
};

std::string expr_text(const Expr& e) {
  switch (e.kind) {
    case Expr::kLit:
      return std::to_string(e.value);
    case Expr::kVar:
      return var_name(e.var);
    case Expr::kMul:
      return fmt::format("{}*{}", var_name(e.var), e.value);
    case Expr::kDiv:
      return fmt::format("{}/{}", var_name(e.var), e.value);
    default:
      return "?";
  }
}

// The value of `e` where the dim variables have the values `at` (one call); unknown where `e` is, where
// its variable is, or where a product or quotient of a non-integer (or non-divisible) value is asked for.
// The reader evaluates the same way (onnx_text/reader.cc).
Dim evaluate(const Expr& e, const std::vector<Dim>& at) {
  Dim d;
  if (e.kind == Expr::kLit) {
    d.kind = Dim::kInt;
    d.value = e.value;
    return d;
  }
  if (e.kind == Expr::kUnknown || e.var >= at.size()) return d;
  const Dim& v = at[e.var];
  if (e.kind == Expr::kVar) return v;
  if (v.kind != Dim::kInt) return d;
  if (e.kind == Expr::kMul) {
    if (v.value != 0 && std::abs(v.value) > INT64_MAX / e.value) return d;
    d.kind = Dim::kInt;
    d.value = v.value * e.value;
  } else if (v.value % e.value == 0) {
    d.kind = Dim::kInt;
    d.value = v.value / e.value;
  }
  return d;
}

// A dim written in terms of dim variables: literal, V, V*k or V/k; nullopt if none fits every column.
// `u[c]` is the dim at call / instance c, `vars[j][c]` the value of variable j there.
std::optional<Expr> express(const std::vector<Dim>& u, const std::vector<std::vector<Dim>>& vars) {
  if (u.empty()) return std::nullopt;
  bool all_int = std::all_of(u.begin(), u.end(), [](const Dim& d) { return d.kind == Dim::kInt; });
  if (all_int && std::all_of(u.begin(), u.end(), [&](const Dim& d) { return d.value == u[0].value; }))
    return Expr{Expr::kLit, u[0].value, 0};
  if (std::any_of(u.begin(), u.end(), [](const Dim& d) { return d.kind == Dim::kUnknown; })) return std::nullopt;
  for (size_t j = 0; j < vars.size(); ++j)
    if (vars[j] == u) return Expr{Expr::kVar, 0, j};
  if (!all_int) return std::nullopt;
  for (size_t j = 0; j < vars.size(); ++j) {
    const auto& w = vars[j];
    if (!std::all_of(w.begin(), w.end(), [](const Dim& d) { return d.kind == Dim::kInt && d.value > 0; }))
      continue;
    if (u[0].value > 0 && u[0].value % w[0].value == 0) {
      int64_t k = u[0].value / w[0].value;
      bool ok = k >= 2;
      for (size_t c = 0; ok && c < u.size(); ++c) ok = u[c].value == w[c].value * k;
      if (ok) return Expr{Expr::kMul, k, j};
    }
    if (u[0].value > 0 && w[0].value % u[0].value == 0) {
      int64_t k = w[0].value / u[0].value;
      bool ok = k >= 2;
      for (size_t c = 0; ok && c < u.size(); ++c) ok = u[c].value > 0 && w[c].value == u[c].value * k;
      if (ok) return Expr{Expr::kDiv, k, j};
    }
  }
  return std::nullopt;
}

// The type of a function-body value as the text lets the reader know it: unknown, "the type of listed
// formal `formal` at the call" (an elided type that goes back to a formal), or a tensor type whose dims
// are expressions over the dim variables. The main graph's default type of a call's output is its
// function's output SymType evaluated at the call.
struct SymType {
  enum Kind { kUnknown, kFormal, kTensor };
  Kind kind = kUnknown;
  int formal = -1;  // proto index of the formal (kFormal)
  int32_t dtype = 0;
  bool ranked = false;
  std::vector<Expr> dims;
};

std::string sym_text(const SymType& t) {
  if (t.kind != SymType::kTensor) return "?";
  std::string s = dtype_prefix(t.dtype);
  if (!t.ranked) return s + "[*]";
  return s + "[" + join(t.dims, expr_text) + "]";
}

// `T,T,T,U` as `T*3,U`: runs of equal output types (e.g. Split's outputs).
std::string types_join(const std::vector<std::string>& types) {
  std::string out;
  for (size_t i = 0; i < types.size();) {
    size_t j = i + 1;
    while (j < types.size() && types[j] == types[i]) ++j;
    if (i > 0) out += ",";
    out += types[i];
    if (j - i > 1) out += fmt::format("*{}", j - i);
    i = j;
  }
  return out;
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
    // Callers before callees: a callee's implicit weights may come through its callers' (nested calls).
    for (auto f = fn_order_.rbegin(); f != fn_order_.rend(); ++f) {
      Function& fn = fns_[*f];
      for (const auto& c : fn.calls) {
        if (c.in_main) {
          fn.sites.push_back({c.node, -1, -1});
          continue;
        }
        for (size_t k = 0; k < fns_[c.caller].sites.size(); ++k)
          fn.sites.push_back({c.node, c.caller, static_cast<int>(k)});
      }
      plan_function(fn);
      for (const auto& site : fn.sites) fn.site_vars.push_back(var_values_at_site(fn, site));
      plan_body(fn);
    }

    std::string out = header();
    for (int f : fn_order_) out += function_text(fns_[f]);
    out += main_text();
    return out;
  }

 private:
  struct CallSite {
    const NodeProto* node;
    bool in_main;
    int caller = -1;  // the function whose body holds the call (when not in_main)
  };
  // One instantiation of a function down a chain of calls: a main-graph call, or a call in the body of
  // a caller at one of the caller's own sites.
  struct Site {
    const NodeProto* call;
    int caller = -1;       // -1: the main graph
    int caller_site = -1;  // index in fns_[caller].sites
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
    std::vector<int> pattern_rank;                  // per formal: rank of its shape pattern, -1 if none
    std::vector<std::vector<int>> pattern_vars;     // per formal and dim: the variable there, or -1
    std::vector<std::vector<Expr>> weight_dims;     // per implicit formal: its symbolic shape
    std::vector<std::string> weight_text;           // per implicit formal: dtype + `[dims]`
    std::vector<std::vector<Expr>> pattern_exprs;   // per formal and dim: literal, variable or `?`
    std::map<std::string, Expr> implied_attrs;      // attribute parameters the calls do not pass
    std::vector<Site> sites;                        // every instantiation (callers are planned first)
    std::vector<std::vector<Dim>> site_vars;        // per site: the variables' values, as the reader binds them
    std::vector<std::string> node_types;            // per body node: " TYPES" as printed, or ""
    std::unordered_map<std::string, SymType> body_sym;  // formal / body value -> type as the reader knows it
    std::vector<SymType> out_types;                 // per function output, as the text tells the reader
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
        fns_[callee].calls.push_back({&n, false, f});
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
    auto known = [&](const std::string& name) -> const TypeProto* {
      auto t = types_.find(name);
      return t == types_.end() ? nullptr : &t->second;
    };
    for (auto& n : *seg.mutable_node())
      if (!prepare_for_inference(n, known)) return;
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
    auto existing = fn.instance_index.find(key);
    if (existing != fn.instance_index.end()) return existing->second;

    // The body is inferred in segments between calls of local functions, each call through the
    // callee's own instance (as the main graph is), so that ONNX never expands a function itself.
    Instance inst;
    inst.in_types = in_types;
    std::unordered_map<std::string, TypeProto> known;  // formals and body values with a type
    for (int i = 0; i < fp.input_size(); ++i)
      if (in_types[i].value_case() != TypeProto::VALUE_NOT_SET) known[fp.input(i)] = in_types[i];
    std::vector<NodeProto> segment;
    for (const auto& body_node : fp.node()) {
      NodeProto n = bind_attributes(body_node, call);
      const int callee = local_call(n);
      if (callee < 0) {
        segment.push_back(std::move(n));
        continue;
      }
      infer_body_segment(fn, segment, known);
      segment.clear();
      std::vector<TypeProto> nested;
      for (const auto& in : n.input()) {
        auto it = in.empty() ? known.end() : known.find(in);
        nested.push_back(it == known.end() ? TypeProto() : it->second);
      }
      const int k = add_instance(callee, std::move(nested), n);
      const Function& c = fns_[callee];
      for (int o = 0; o < n.output_size() && o < c.proto->output_size(); ++o) {
        const TypeProto* t = instance_type(c, c.instances[k], c.proto->output(o));
        if (!n.output(o).empty() && t != nullptr) known[n.output(o)] = *t;
      }
    }
    infer_body_segment(fn, segment, known);
    for (auto& [name, t] : known)
      if (!fn.formal_index.count(name)) inst.values[name] = std::move(t);
    fns_[f].instances.push_back(std::move(inst));
    int index = static_cast<int>(fns_[f].instances.size()) - 1;
    fns_[f].instance_index.emplace(std::move(key), index);
    return index;
  }

  // Infers `nodes` (a stretch of a function body without calls of local functions) given the types in
  // `known`, and adds the inferred types to it; a segment that is unsafe or fails adds nothing.
  void infer_body_segment(const Function& fn, std::vector<NodeProto>& nodes,
                          std::unordered_map<std::string, TypeProto>& known) const {
    if (nodes.empty()) return;
    GraphProto g;
    g.set_name("segment");
    std::unordered_set<std::string> inside, outside;
    auto lookup = [&](const std::string& name) -> const TypeProto* {
      auto it = known.find(name);
      return it == known.end() || inside.count(name) ? nullptr : &it->second;
    };
    for (auto& n : nodes) {
      for (const auto& in : n.input()) {
        if (in.empty() || inside.count(in) || !outside.insert(in).second) continue;
        auto t = known.find(in);
        if (t == known.end()) continue;
        auto* vi = g.add_input();
        vi->set_name(in);
        *vi->mutable_type() = t->second;
      }
      if (!prepare_for_inference(n, lookup)) return;
      *g.add_node() = n;
      for (const auto& out : n.output())
        if (!out.empty()) inside.insert(out);
    }
    try {
      onnx::shape_inference::InferShapes(&g, fn.opsets, onnx::OpSchemaRegistry::Instance(), inference_options(),
                                         local_fns_);
    } catch (const std::exception&) {
      return;  // shapes stay unknown; the text shows '?'
    }
    for (const auto& vi : g.value_info()) known[vi.name()] = vi.type();
  }

  // ONNX 1.12's shape inference divides by some attributes without checking them (e.g. Conv / pooling
  // strides of 0 raise SIGFPE in convPoolShapeInference), and a convolution without kernel_shape reads
  // the kernel from its weight's shape, out of bounds when that rank is not the input's. Graphs with
  // such a node, directly or in a called function, are not inferred; their shapes stay as the proto has
  // them. A convolution without kernel_shape whose weight type is known (`known`: an initializer, graph
  // input or formal) gets kernel_shape from it in the copy that is inferred (same result, and a rank
  // mismatch becomes an inference error); with an unknown weight type it is not inferred.
  // Returns whether `n` (that copy) may be inferred.
  bool prepare_for_inference(NodeProto& n, const std::function<const TypeProto*(const std::string&)>& known) const {
    int f = local_call(n);
    if (f >= 0) {
      for (const auto& body : fns_[f].proto->node()) {
        NodeProto b = bind_attributes(body, n);
        if (!prepare_for_inference(b, [](const std::string&) { return nullptr; })) return false;
      }
      return true;
    }
    static const std::set<std::string> kPositive{"strides", "dilations", "kernel_shape", "blocksize", "group"};
    bool has_kernel_shape = false;
    for (const auto& a : n.attribute()) {
      has_kernel_shape = has_kernel_shape || a.name() == "kernel_shape";
      if (!kPositive.count(a.name())) continue;
      if (a.type() == AttributeProto::INT && a.i() <= 0) return false;
      for (int64_t v : a.ints())
        if (v <= 0) return false;
    }
    static const std::map<std::string, int> kConvWeight{
        {"Conv", 1}, {"ConvInteger", 1}, {"ConvTranspose", 1}, {"QLinearConv", 3}};
    auto conv = kConvWeight.find(n.op_type());
    if (!n.domain().empty() || conv == kConvWeight.end() || has_kernel_shape) return true;
    if (n.input_size() <= conv->second) return true;  // ONNX's own checks report the missing weight
    const TypeProto* w = known(n.input(conv->second));
    if (w == nullptr || !w->has_tensor_type() || !w->tensor_type().has_shape()) return false;
    const auto& dims = w->tensor_type().shape().dim();
    if (dims.size() < 2) return false;
    AttributeProto* k = n.add_attribute();
    k->set_name("kernel_shape");
    k->set_type(AttributeProto::INTS);
    for (int d = 2; d < dims.size(); ++d) {
      if (!dims[d].has_dim_value() || dims[d].dim_value() <= 0) return false;
      k->add_ints(dims[d].dim_value());
    }
    return true;
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
    std::vector<bool> is_output(nf, false);
    for (const auto& n : fp.node())
      for (const auto& in : n.input()) {
        auto it = fn.formal_index.find(in);
        if (it != fn.formal_index.end()) ++uses[it->second];
      }
    for (const auto& out : fp.output()) {
      auto it = fn.formal_index.find(out);
      if (it != fn.formal_index.end()) is_output[it->second] = true;
    }

    fn.implicit.assign(nf, false);
    bool all_main = !fn.calls.empty() &&
                    std::all_of(fn.calls.begin(), fn.calls.end(), [](const CallSite& c) { return c.in_main; });
    if (options_.implicit_function_weights && !fn.sites.empty()) {
      for (int i = 0; i < nf; ++i) {
        if (uses[i] != 1 || is_output[i]) continue;
        bool ok = true;
        const Weight* first = nullptr;
        for (const auto& site : fn.sites) {
          const Weight* w = weight_at_site(fn, site, i);
          if (w == nullptr || (first && (w->dtype != first->dtype || w->dims.size() != first->dims.size()))) {
            ok = false;
            break;
          }
          if (!first) first = w;
        }
        fn.implicit[i] = ok;
      }
    }
    // Candidates whose shape cannot be written in the variables of the listed formals' patterns turn
    // listed, one at a time: the one that leaves the fewest others unwritable (its pattern may declare
    // the variables they need; e.g. a depthwise weight [C,1,K,K] declares C for the next 1x1 [E,C,1,1]).
    auto failing = [&]() {
      compute_vars(fn);
      const auto vals = var_values_at_sites(fn);
      std::vector<int> out;
      for (int i = 0; i < nf; ++i)
        if (fn.implicit[i] && !implicit_weight_dims(fn, i, vals)) out.push_back(i);
      return out;
    };
    for (auto fails = failing(); !fails.empty(); fails = failing()) {
      int best = fails[0];
      size_t best_left = SIZE_MAX;
      for (int i : fails) {
        fn.implicit[i] = false;
        size_t left = failing().size();
        fn.implicit[i] = true;
        if (left < best_left) {
          best = i;
          best_left = left;
        }
      }
      fn.implicit[best] = false;
    }
    compute_vars(fn);
    const auto vals = var_values_at_sites(fn);
    fn.weight_dims.assign(nf, {});
    fn.weight_text.assign(nf, "");
    for (int i = 0; i < nf; ++i) {
      if (!fn.implicit[i]) continue;
      fn.weight_dims[i] = *implicit_weight_dims(fn, i, vals);
      fn.weight_text[i] = dtype_prefix(weight_at_site(fn, fn.sites[0], i)->dtype) + "[" +
                          join(fn.weight_dims[i], expr_text) + "]";
    }

    // Attribute parameters that every call sets to an int that is a literal or a dim expression (calls
    // in the main graph only, where the sites are the calls).
    fn.implied_attrs.clear();
    if (!options_.implied_function_attributes || !all_main) return;
    for (const auto& name : fp.attribute()) {
      std::vector<Dim> u;
      for (const auto& c : fn.calls) {
        const AttributeProto* found = nullptr;
        int count = 0;
        for (const auto& a : c.node->attribute())
          if (a.name() == name) {
            found = &a;
            ++count;
          }
        if (count != 1 || !found->ref_attr_name().empty() || found->type() != AttributeProto::INT) break;
        u.push_back(Dim{Dim::kInt, found->i(), ""});
      }
      if (u.size() != fn.calls.size()) continue;
      if (auto e = express(u, vals)) fn.implied_attrs[name] = *e;
    }
  }

  // Dim variables over the listed (non-implicit) formals and their shape patterns.
  void compute_vars(Function& fn) {
    const int nf = fn.proto->input_size();
    fn.vars.clear();
    fn.pattern.assign(nf, "");
    fn.pattern_rank.assign(nf, -1);
    fn.pattern_vars.assign(nf, {});
    fn.pattern_exprs.assign(nf, {});
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
          fn.pattern_exprs[i].push_back(Expr{Expr::kLit, u[0].value, 0});
        } else if (std::any_of(u.begin(), u.end(), [](const Dim& x) { return x.kind == Dim::kUnknown; })) {
          parts.push_back("?");
          fn.pattern_exprs[i].push_back(Expr{});
        } else {
          size_t j = std::find(var_values.begin(), var_values.end(), u) - var_values.begin();
          if (j == var_values.size()) {
            var_values.push_back(u);
            fn.vars.push_back({i, static_cast<int>(d)});
          }
          parts.push_back(var_name(j));
          fn.pattern_exprs[i].push_back(Expr{Expr::kVar, 0, j});
          fn.pattern_vars[i].resize(views[0].dims.size(), -1);
          fn.pattern_vars[i][d] = static_cast<int>(j);
        }
      }
      fn.pattern[i] = "[" + join(parts, [](const std::string& s) { return s; }) + "]";
      fn.pattern_rank[i] = static_cast<int>(views[0].dims.size());
    }
  }

  // Values of every dim variable at one call, as the reader binds them: the dim of the call's argument
  // at the variable's first position, unknown if that argument's rank is not its pattern's.
  std::vector<Dim> var_values_at_call(const Function& fn, const NodeProto& call) const {
    std::vector<Dim> out;
    for (const Var& v : fn.vars) {
      const std::string& in = v.formal < call.input_size() ? call.input(v.formal) : std::string();
      auto it = in.empty() ? types_.end() : types_.find(in);
      auto view = view_of(it == types_.end() ? nullptr : &it->second);
      bool fits = view && view->ranked && static_cast<int>(view->dims.size()) == fn.pattern_rank[v.formal];
      out.push_back(fits ? view->dims[v.dim] : Dim());
    }
    return out;
  }

  // Values of every dim variable at a site, as the reader binds them: at a main-graph call from the
  // arguments' types; at a call in a caller's body from the arguments' types there (SymType: a formal's
  // shape pattern or a written symbolic type) evaluated at the caller's site.
  std::vector<Dim> var_values_at_site(const Function& fn, const Site& site) const {
    if (site.caller < 0) return var_values_at_call(fn, *site.call);
    const Function& g = fns_[site.caller];
    const std::vector<Dim>& at = g.site_vars[site.caller_site];
    std::vector<Dim> out;
    for (const Var& v : fn.vars) {
      const std::string& in = v.formal < site.call->input_size() ? site.call->input(v.formal) : std::string();
      auto it = in.empty() ? g.body_sym.end() : g.body_sym.find(in);
      Dim d;
      if (it != g.body_sym.end()) {
        const SymType& t = it->second;
        if (t.kind == SymType::kFormal && g.pattern_rank[t.formal] == fn.pattern_rank[v.formal])
          d = evaluate(g.pattern_exprs[t.formal][v.dim], at);
        else if (t.kind == SymType::kTensor && t.ranked &&
                 static_cast<int>(t.dims.size()) == fn.pattern_rank[v.formal])
          d = evaluate(t.dims[v.dim], at);
      }
      out.push_back(d);
    }
    return out;
  }

  // Values of every dim variable at every site: [variable][site].
  std::vector<std::vector<Dim>> var_values_at_sites(const Function& fn) const {
    std::vector<std::vector<Dim>> out(fn.vars.size());
    for (const auto& site : fn.sites) {
      auto at = var_values_at_site(fn, site);
      for (size_t j = 0; j < at.size(); ++j) out[j].push_back(at[j]);
    }
    return out;
  }

  // The initializer that formal `formal` is at a site: a fresh inline weight of the main-graph call, or,
  // through a caller's implicit formal, the one at the caller's site; nullptr otherwise.
  const Weight* weight_at_site(const Function& fn, const Site& site, int formal) const {
    const std::string& in = formal < site.call->input_size() ? site.call->input(formal) : std::string();
    if (in.empty()) return nullptr;
    if (site.caller < 0) {
      auto it = weights_.find(in);
      return it != weights_.end() && it->second.inline_use() ? &it->second : nullptr;
    }
    const Function& g = fns_[site.caller];
    auto it = g.formal_index.find(in);
    if (it == g.formal_index.end() || !g.implicit[it->second]) return nullptr;
    return weight_at_site(g, g.sites[site.caller_site], it->second);
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

  // The symbolic shape of implicit weight formal `formal`, e.g. [A*2,A,3,3]; nullopt if a dim has no
  // such form. `vals[j][c]`: value of variable j at site c.
  std::optional<std::vector<Expr>> implicit_weight_dims(const Function& fn, int formal,
                                                         const std::vector<std::vector<Dim>>& vals) const {
    std::vector<const Weight*> ws;
    for (const auto& site : fn.sites) ws.push_back(weight_at_site(fn, site, formal));
    std::vector<Expr> dims;
    for (size_t d = 0; d < ws[0]->dims.size(); ++d) {
      std::vector<Dim> u;
      for (const Weight* w : ws) u.push_back(Dim{Dim::kInt, w->dims[d], ""});
      auto e = express(u, vals);
      if (!e) return std::nullopt;
      dims.push_back(*e);
    }
    return dims;
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

  // One argument of a node line: a value of the scope (printed by name or `^`) or literal text (`_`, a
  // weight); inline weights collapse into `[16]*4` runs.
  struct Arg {
    bool is_value = false;
    std::string text;  // the value's proto name, or the literal text
    bool weight = false;
  };
  // A node line before value naming.
  struct Line {
    std::vector<std::string> outs;  // proto names, "" for an omitted output
    std::string head;               // op and attributes
    std::vector<Arg> args;
    std::string types;              // " TYPES" or ""
  };

  // The node lines of a scope (function body or main graph). `names` holds the names of the scope's
  // formals / inputs and receives those of the node outputs; values are `<prefix><k>` (see serializer.h:
  // anonymous values, `~`, `^` and `k*` repeats when options_.anonymous_values).
  std::string scope_text(const std::vector<Line>& lines, const std::vector<std::string>& scope_outputs,
                         std::unordered_map<std::string, std::string>& names, char prefix) const {
    std::unordered_map<std::string, int> uses;
    for (const auto& l : lines)
      for (const auto& a : l.args)
        if (a.is_value) ++uses[a.text];
    for (const auto& o : scope_outputs) ++uses[o];
    auto used_by = [&](size_t i, const std::string& v) {
      return i < lines.size() && std::any_of(lines[i].args.begin(), lines[i].args.end(),
                                             [&](const Arg& a) { return a.is_value && a.text == v; });
    };
    const bool compact = options_.anonymous_values;
    std::vector<bool> anon(lines.size(), false);
    for (size_t i = 0; compact && i < lines.size(); ++i) {
      const auto& outs = lines[i].outs;
      if (outs.size() != 1 || outs[0].empty()) continue;
      int u = uses[outs[0]];
      anon[i] = u == 0 || (u == 1 && used_by(i + 1, outs[0]));
    }
    std::string out, previous;
    int counter = 0, repeat = 0;
    auto flush = [&]() {
      if (repeat > 1) out += fmt::format("{}*", repeat);
      if (repeat > 0) out += previous + "\n";
      repeat = 0;
    };
    for (size_t i = 0; i < lines.size(); ++i) {
      const Line& l = lines[i];
      std::string text;
      if (!anon[i]) {
        std::vector<std::string> outs;
        for (const auto& o : l.outs) {
          if (o.empty()) {
            outs.push_back("_");
          } else if (compact && l.outs.size() > 1 && uses[o] == 0) {
            outs.push_back("~");
          } else {
            names[o] = fmt::format("{}{}", prefix, counter++);
            outs.push_back(names[o]);
          }
        }
        text = join(outs, [](const std::string& s) { return s; }) + "=";
      }
      std::vector<std::pair<std::string, bool>> args;
      for (const auto& a : l.args) {
        if (!a.is_value)
          args.emplace_back(a.text, a.weight);
        else if (i > 0 && anon[i - 1] && lines[i - 1].outs[0] == a.text)
          args.emplace_back("^", false);
        else
          args.emplace_back(names.at(a.text), false);
      }
      text += l.head + args_text(args) + l.types;
      if (anon[i] && repeat > 0 && text == previous) {
        ++repeat;
        continue;
      }
      flush();
      if (anon[i]) {
        previous = std::move(text);
        repeat = 1;
      } else {
        out += text + "\n";
      }
    }
    flush();
    return out;
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

  // The body's printed types and the SymType of every formal and body value (what the reader will
  // know; callees' sites and the main graph's derived call types use them).
  void plan_body(Function& fn) {
    const FunctionProto& fp = *fn.proto;
    fn.body_sym.clear();
    for (int i = 0; i < fp.input_size(); ++i) {
      if (!fn.implicit[i])
        fn.body_sym[fp.input(i)] = SymType{SymType::kFormal, i, 0, false, {}};
      else
        fn.body_sym[fp.input(i)] =
            SymType{SymType::kTensor, -1, weight_at_site(fn, fn.sites[0], i)->dtype, true, fn.weight_dims[i]};
    }
    // Body types are informative (a FunctionProto has no types). Unless options_.all_body_types, only
    // those the reader needs to derive the function's output types are printed: walking back from each
    // output through nodes whose type is elided (= their first input's), up to the first written one.
    // A function called only from other functions' bodies has no derived types: none are printed.
    std::vector<bool> keep_types(fp.node_size(), options_.all_body_types);
    const bool main_calls =
        std::any_of(fn.calls.begin(), fn.calls.end(), [](const CallSite& c) { return c.in_main; });
    if (!options_.all_body_types && main_calls) {
      std::unordered_map<std::string, int> producer;
      for (int k = 0; k < fp.node_size(); ++k)
        for (const auto& o : fp.node(k).output())
          if (!o.empty()) producer[o] = k;
      for (const auto& o : fp.output()) {
        for (auto it = producer.find(o); it != producer.end();) {
          const NodeProto& n = fp.node(it->second);
          std::vector<SymType> unused;
          if (!body_types_text(fn, n, &unused).empty()) {
            keep_types[it->second] = true;
            break;
          }
          it = n.input_size() > 0 ? producer.find(n.input(0)) : producer.end();
        }
      }
    }
    fn.node_types.assign(fp.node_size(), "");
    for (int k = 0; k < fp.node_size(); ++k) {
      const NodeProto& n = fp.node(k);
      SymType first;
      if (n.input_size() > 0 && !n.input(0).empty()) first = fn.body_sym.at(n.input(0));
      std::vector<SymType> types;
      if (keep_types[k]) fn.node_types[k] = body_types_text(fn, n, &types);
      size_t t = 0;
      for (const auto& o : n.output())
        if (!o.empty()) fn.body_sym[o] = fn.node_types[k].empty() ? first : types[t++];
    }
    fn.out_types.clear();
    for (const auto& o : fp.output()) fn.out_types.push_back(fn.body_sym.at(o));
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
    if (fp.attribute_size() > 0)
      out += "<" + join(fp.attribute(), [&](const std::string& a) {
               auto it = fn.implied_attrs.find(a);
               return name_text(a) + (it == fn.implied_attrs.end() ? "" : "=" + expr_text(it->second));
             }) + ">";
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

    std::vector<Line> lines;
    for (int k = 0; k < fp.node_size(); ++k) {
      const NodeProto& n = fp.node(k);
      const int callee = local_call(n);
      Line line;
      line.head = op_text(n) + attrs_text(n, node_desc(n, k, fn.desc));
      for (int s = 0; s < n.input_size(); ++s) {
        if (callee >= 0 && s < static_cast<int>(fns_[callee].implicit.size()) && fns_[callee].implicit[s])
          continue;  // the callee's implicit weight: the reader makes it one of this function's
        const std::string& in = n.input(s);
        Arg arg;
        auto f = fn.formal_index.find(in);
        if (in.empty()) {
          arg.text = "_";
        } else if (f != fn.formal_index.end() && fn.implicit[f->second]) {
          arg.text = fn.weight_text[f->second];
          arg.weight = true;
        } else {
          arg.is_value = true;
          arg.text = in;
        }
        line.args.push_back(std::move(arg));
      }
      line.outs.assign(n.output().begin(), n.output().end());
      line.types = fn.node_types[k];
      lines.push_back(std::move(line));
    }
    std::vector<std::string> outputs(fp.output().begin(), fp.output().end());
    out += scope_text(lines, outputs, names, 't');
    return out + "ret" + (fp.output_size() ? " " : "") +
           join(fp.output(), [&](const std::string& o) { return names.at(o); }) + "\n";
  }

  // Output types of a body node, symbolic over the function's instances; "" when elided. `types`
  // receives the printed types of the named outputs.
  std::string body_types_text(const Function& fn, const NodeProto& n, std::vector<SymType>* types) const {
    if (fn.instances.empty()) return "";
    bool elide = options_.elide_types;
    for (size_t c = 0; elide && c < fn.instances.size(); ++c) {
      const Instance& inst = fn.instances[c];
      std::string ref = n.input_size() > 0 ? type_text(instance_type(fn, inst, n.input(0))) : "?";
      for (const auto& o : n.output())
        if (!o.empty() && type_text(instance_type(fn, inst, o)) != ref) elide = false;
    }
    if (elide) return "";
    auto vals = var_values_at_instances(fn);
    std::vector<std::string> parts;
    for (const auto& o : n.output()) {
      if (o.empty()) continue;
      std::vector<std::optional<TensorView>> views;
      for (const auto& inst : fn.instances) views.push_back(view_of(instance_type(fn, inst, o)));
      types->push_back(symbolic_type(views, vals));
      parts.push_back(sym_text(types->back()));
    }
    return " " + types_join(parts);
  }

  static SymType symbolic_type(const std::vector<std::optional<TensorView>>& views,
                               const std::vector<std::vector<Dim>>& vals) {
    for (const auto& v : views)
      if (!v || v->dtype != views[0]->dtype || v->ranked != views[0]->ranked ||
          v->dims.size() != views[0]->dims.size())
        return SymType{};
    SymType t{SymType::kTensor, -1, views[0]->dtype, views[0]->ranked, {}};
    for (size_t d = 0; t.ranked && d < views[0]->dims.size(); ++d) {
      std::vector<Dim> u;
      for (const auto& v : views) u.push_back(v->dims[d]);
      t.dims.push_back(express(u, vals).value_or(Expr{}));
    }
    return t;
  }

  // An explicit weight argument of a main-graph call, `[208,C,1,1]`: where the formal's shape pattern
  // has a variable that an earlier formal declares, the dim is that variable's name (its value here).
  std::string call_weight_text(const Function& fn, const NodeProto& call, int formal, const Weight& w) const {
    if (formal >= static_cast<int>(fn.pattern_vars.size()) || fn.pattern_vars[formal].size() != w.dims.size())
      return w.text;
    const auto at = var_values_at_call(fn, call);
    std::vector<std::string> parts;
    for (size_t d = 0; d < w.dims.size(); ++d) {
      int j = fn.pattern_vars[formal][d];
      bool named = j >= 0 && fn.vars[j].formal < formal && at[j].kind == Dim::kInt && at[j].value == w.dims[d];
      parts.push_back(named ? var_name(j) : std::to_string(w.dims[d]));
    }
    return dtype_prefix(w.dtype) + "[" + join(parts, [](const std::string& x) { return x; }) + "]";
  }

  // The function's output type at this call, as the reader computes it from the text. `*known` is
  // cleared unless it is a tensor type with every dim known (an integer or a symbolic dim).
  std::string derived_call_type(const Function& fn, const NodeProto& call, int output, bool* known) const {
    if (output >= static_cast<int>(fn.out_types.size()) || fn.out_types[output].kind == SymType::kUnknown) {
      *known = false;
      return "?";
    }
    const SymType& t = fn.out_types[output];
    std::optional<TensorView> v;
    if (t.kind == SymType::kFormal) {
      const std::string& in = t.formal < call.input_size() ? call.input(t.formal) : std::string();
      auto it = in.empty() ? types_.end() : types_.find(in);
      v = view_of(it == types_.end() ? nullptr : &it->second);
    } else {
      v = TensorView{t.dtype, t.ranked, {}};
      auto at = var_values_at_call(fn, call);
      for (const Expr& e : t.dims) v->dims.push_back(evaluate(e, at));
    }
    if (!v || !v->ranked ||
        std::any_of(v->dims.begin(), v->dims.end(), [](const Dim& d) { return d.kind == Dim::kUnknown; }))
      *known = false;
    return type_text(v);
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
    int weight_counter = 0;
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
    std::vector<Line> lines;
    for (int k = 0; k < g.node_size(); ++k) {
      const NodeProto& n = g.node(k);
      std::string desc = node_desc(n, k, "main graph");
      int callee = local_call(n);
      const Function* fn = callee >= 0 ? &fns_[callee] : nullptr;
      Line line;
      std::set<std::string> implied;
      if (fn)
        for (const auto& [name, e] : fn->implied_attrs) implied.insert(name);
      line.head = op_text(n) + attrs_text(n, desc, implied);
      for (int s = 0; s < n.input_size(); ++s) {
        const std::string& in = n.input(s);
        if (fn && fn->implicit[s]) continue;  // re-created by the reader from the def
        Arg arg;
        auto w = weights_.find(in);
        if (in.empty()) {
          arg.text = "_";
        } else if (w == weights_.end()) {
          arg.is_value = true;
          arg.text = in;
        } else if (w->second.inline_use()) {
          arg.text = fn ? call_weight_text(*fn, n, s, w->second) : w->second.text;
          arg.weight = true;
        } else {
          arg.text = weight_ref(in);
        }
        line.args.push_back(std::move(arg));
      }
      // The reader's default: a call's derived output types when they are all fully known, else (and for
      // other ops) the first input's type.
      std::string ref = n.input_size() > 0 && !n.input(0).empty() ? type_text(main_type(n.input(0))) : "?";
      std::vector<std::string> defaults;
      bool all_known = true;
      for (int o = 0; o < n.output_size(); ++o)
        if (!n.output(o).empty()) defaults.push_back(fn ? derived_call_type(*fn, n, o, &all_known) : ref);
      if (fn && !all_known) std::fill(defaults.begin(), defaults.end(), ref);
      std::vector<std::string> types;
      bool elide = options_.elide_types;
      for (int o = 0; o < n.output_size(); ++o) {
        if (n.output(o).empty()) continue;
        types.push_back(type_text(main_type(n.output(o))));
        if (types.back() != defaults[types.size() - 1]) elide = false;
      }
      line.outs.assign(n.output().begin(), n.output().end());
      line.types = elide ? "" : " " + types_join(types);
      lines.push_back(std::move(line));
    }
    std::vector<std::string> outputs;
    for (const auto& vi : g.output())
      if (!weights_.count(vi.name())) outputs.push_back(vi.name());
    out += scope_text(lines, outputs, names, 'v');
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
