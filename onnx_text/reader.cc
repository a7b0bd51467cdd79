#include "onnx_text/reader.h"

#include <cerrno>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "onnx_text/serializer.h"

namespace nas::onnx_text {
namespace {

using onnx::AttributeProto;
using onnx::FunctionProto;
using onnx::GraphProto;
using onnx::ModelProto;
using onnx::NodeProto;
using onnx::TensorProto;
using onnx::TypeProto;

constexpr int64_t kMaxTensorBytes = int64_t{1} << 31;
constexpr int64_t kMaxRepeat = 100000;

bool ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool ident_char(char c) { return ident_start(c) || (c >= '0' && c <= '9'); }
bool digit(char c) { return c >= '0' && c <= '9'; }

struct Pos {
  int line = 1;
  int column = 1;
};

// A dim of a weight shape or signature pattern: literal, variable, variable * k, variable / k, `?`.
struct DimExpr {
  enum Kind { kInt, kVar, kMul, kDiv, kUnknown };
  Kind kind = kUnknown;
  int64_t value = 0;
  std::string var;
};

// The type of a function-body value as the text tells it (serializer.cc has the same): unknown, that of
// listed formal `formal` at the call, or a tensor type over the dim variables.
struct SymType {
  enum Kind { kUnknown, kFormal, kTensor };
  Kind kind = kUnknown;
  size_t formal = 0;
  int32_t dtype = TensorProto::FLOAT;
  bool ranked = false;
  std::vector<DimExpr> dims;
};

// The value of a dim variable at one call: unknown, an integer or a symbolic dim (dim_param).
struct Bound {
  enum Kind { kUnknown, kInt, kParam };
  Kind kind = kUnknown;
  int64_t value = 0;
  std::string param;
};

// The value of `d` where the variables have the values `bound`; unknown where the serializer's
// evaluate() gives unknown (a product or quotient of a non-integer, an overflow, a remainder).
Bound evaluate(const DimExpr& d, const std::map<std::string, Bound>& bound) {
  Bound out;
  if (d.kind == DimExpr::kInt) {
    out.kind = Bound::kInt;
    out.value = d.value;
    return out;
  }
  if (d.kind == DimExpr::kUnknown) return out;
  auto it = bound.find(d.var);
  if (it == bound.end()) return out;
  const Bound& v = it->second;
  if (d.kind == DimExpr::kVar) return v;
  if (v.kind != Bound::kInt || d.value < 1) return out;
  if (d.kind == DimExpr::kMul) {
    if (v.value != 0 && (v.value > INT64_MAX / d.value || v.value < -(INT64_MAX / d.value))) return out;
    out.kind = Bound::kInt;
    out.value = v.value * d.value;
  } else if (v.value % d.value == 0) {
    out.kind = Bound::kInt;
    out.value = v.value / d.value;
  }
  return out;
}

// A weight shape over dim variables. An implicit formal that a nested call brings (`callee` >= 0) is
// instead the callee's implicit formal `callee_index`, whose variables are `binding`'s expressions in
// this function's variables.
struct WeightSpec {
  int32_t dtype = TensorProto::FLOAT;
  std::vector<DimExpr> dims;
  Pos pos;
  int callee = -1;
  size_t callee_index = 0;
  std::map<std::string, DimExpr> binding;
};

struct Formal {
  std::string name;
  bool has_pattern = false;
  std::vector<DimExpr> pattern;
};

// A parsed `def`.
struct FnDef {
  std::string domain, name;
  std::vector<Formal> formals;
  std::vector<WeightSpec> implicit;                       // implicit weight formals in order of use
  std::map<std::string, std::pair<size_t, size_t>> vars;  // variable -> first (formal, dim)
  std::vector<std::pair<std::string, DimExpr>> implied;   // attribute parameters set from the variables
  std::vector<SymType> out_types;                         // per output, for the calls' default types
  bool has_opset = false;
  std::vector<std::pair<std::string, int64_t>> opsets;
  FunctionProto proto;
};

// A value visible in the current scope.
struct Value {
  std::string proto_name;
  std::optional<TypeProto> type;  // main graph
  SymType sym;                    // function body
};

TypeProto tensor_type(int32_t dtype, const std::vector<int64_t>& dims) {
  TypeProto t;
  auto* tt = t.mutable_tensor_type();
  tt->set_elem_type(dtype);
  auto* shape = tt->mutable_shape();
  for (int64_t d : dims) shape->add_dim()->set_dim_value(d);
  return t;
}

int attr_type_from_code(const std::string& code) {
  static const std::map<std::string, int> codes{{"float", AttributeProto::FLOAT},
                                                {"int", AttributeProto::INT},
                                                {"string", AttributeProto::STRING},
                                                {"tensor", AttributeProto::TENSOR},
                                                {"graph", AttributeProto::GRAPH},
                                                {"sparse_tensor", AttributeProto::SPARSE_TENSOR},
                                                {"type_proto", AttributeProto::TYPE_PROTO},
                                                {"floats", AttributeProto::FLOATS},
                                                {"ints", AttributeProto::INTS},
                                                {"strings", AttributeProto::STRINGS},
                                                {"tensors", AttributeProto::TENSORS},
                                                {"graphs", AttributeProto::GRAPHS},
                                                {"sparse_tensors", AttributeProto::SPARSE_TENSORS},
                                                {"type_protos", AttributeProto::TYPE_PROTOS}};
  auto it = codes.find(code);
  return it == codes.end() ? -1 : it->second;
}

class Reader {
 public:
  explicit Reader(const std::string& text) : s_(text) {}

  ModelProto read() {
    skip_blank_lines();
    while (true) {
      std::string w = peek_word();
      if (w == "ir") {
        take_word();
        model_.set_ir_version(integer("IR version"));
        has_ir_ = true;
      } else if (w == "opset") {
        take_word();
        opsets_ = opset_list();
        has_opset_ = true;
      } else {
        break;
      }
      end_line();
      skip_blank_lines();
    }
    while (peek_word() == "def") {
      parse_def();
      skip_blank_lines();
    }
    finish_opsets();

    GraphProto* g = model_.mutable_graph();
    g->set_name("main");
    Scope main;
    main.is_main = true;
    while (peek_word() == "in") {
      take_word();
      Pos p = pos();
      std::string name = ident("graph input name");
      auto type = parse_type(/*symbolic=*/false);
      end_line();
      define(main, name, p, name, type);
      auto* vi = g->add_input();
      vi->set_name(name);
      if (type) *vi->mutable_type() = *type;
      skip_blank_lines();
    }
    while (true) {
      if (at_end()) fail("expected an 'out' line ending the main graph, found end of text");
      std::string w = peek_word();
      if (w == "out") break;
      if (w == "in" || w == "def" || w == "ret" || w == "ir" || w == "opset")
        fail(fmt::format("'{}' is not allowed here (main graph node line expected)", w));
      parse_line(main);
      skip_blank_lines();
    }
    take_word();
    skip_spaces();
    std::set<std::string> outputs;
    if (!at_line_end()) {
      do {
        skip_spaces();
        Pos p = pos();
        std::string name = ident("graph output name");
        const Value& v = lookup(main, name, p);
        outputs.insert(v.proto_name);
        auto* vi = g->add_output();
        vi->set_name(v.proto_name);
        if (v.type) *vi->mutable_type() = *v.type;
        skip_spaces();
      } while (accept(','));
    }
    end_line();
    skip_blank_lines();
    if (!at_end()) fail(fmt::format("unexpected text after the 'out' line: {}", found()));
    for (const auto& name : main.order) {
      const Value& v = main.values.at(name);
      if (!v.type || outputs.count(v.proto_name)) continue;
      auto* vi = g->add_value_info();
      vi->set_name(v.proto_name);
      *vi->mutable_type() = *v.type;
    }
    if (!has_ir_) model_.set_ir_version(kDefaultIrVersion);
    for (auto& d : defs_) *model_.add_functions() = std::move(d.proto);
    return std::move(model_);
  }

 private:
  struct Scope {
    bool is_main = false;
    FnDef* fn = nullptr;
    std::unordered_map<std::string, Value> values;
    std::vector<std::string> order;  // node outputs in definition order
    std::optional<Value> previous;   // the previous node line's anonymous output, what `^` names
  };

  // ---- Lexing.
  char peek(size_t ahead = 0) const { return pos_ + ahead < s_.size() ? s_[pos_ + ahead] : '\0'; }
  bool at_end() const { return pos_ >= s_.size(); }
  bool at_line_end() const { return at_end() || peek() == '\n'; }
  Pos pos() const { return {line_, static_cast<int>(pos_ - line_start_) + 1}; }
  void advance() {
    if (s_[pos_] == '\n') {
      ++line_;
      line_start_ = pos_ + 1;
    }
    ++pos_;
  }

  [[noreturn]] void fail_at(const Pos& p, const std::string& message) const {
    throw OnnxTextError(fmt::format("onnx text line {}, column {}: {}", p.line, p.column, message));
  }
  [[noreturn]] void fail(const std::string& message) const { fail_at(pos(), message); }

  // The token at the current position, for error messages.
  std::string found() const {
    if (at_end()) return "end of text";
    if (peek() == '\n') return "end of line";
    size_t end = pos_ + 1;
    if (ident_char(peek()))
      while (end < s_.size() && ident_char(s_[end])) ++end;
    return "'" + s_.substr(pos_, end - pos_) + "'";
  }

  void skip_spaces() {
    while (peek() == ' ' || peek() == '\t' || peek() == '\r') advance();
  }
  // Skips empty lines and the leading spaces of the next non-empty line.
  void skip_blank_lines() {
    while (true) {
      skip_spaces();
      if (peek() != '\n') return;
      advance();
    }
  }
  void end_line() {
    skip_spaces();
    if (at_end()) return;
    if (peek() != '\n') fail(fmt::format("expected end of line, found {}", found()));
    advance();
  }
  bool accept(char c) {
    skip_spaces();
    if (peek() != c) return false;
    advance();
    return true;
  }
  void expect(char c, const std::string& context) {
    if (!accept(c)) fail(fmt::format("expected '{}' {}, found {}", c, context, found()));
  }

  std::string peek_word() const {
    size_t end = pos_;
    while (end < s_.size() && ident_char(s_[end])) ++end;
    if (end == pos_ || !ident_start(s_[pos_])) return "";
    return s_.substr(pos_, end - pos_);
  }
  void take_word() {
    while (ident_char(peek())) advance();
    skip_spaces();
  }
  std::string ident(const std::string& what) {
    skip_spaces();
    if (!ident_start(peek())) fail(fmt::format("expected {} (an identifier), found {}", what, found()));
    std::string out;
    while (ident_char(peek())) {
      out += peek();
      advance();
    }
    return out;
  }
  std::string quoted() {
    Pos start = pos();
    advance();  // opening quote
    std::string out;
    while (true) {
      if (at_line_end()) fail_at(start, "unterminated string");
      char c = peek();
      advance();
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      char e = peek();
      if (at_line_end()) fail_at(start, "unterminated string");
      advance();
      if (e == 'n') {
        out += '\n';
      } else if (e == 't') {
        out += '\t';
      } else if (e == '"' || e == '\\') {
        out += e;
      } else if (e == 'x') {
        auto hex = [&](char h) -> int {
          if (digit(h)) return h - '0';
          if (h >= 'a' && h <= 'f') return h - 'a' + 10;
          if (h >= 'A' && h <= 'F') return h - 'A' + 10;
          fail("expected two hex digits after '\\x'");
        };
        int hi = hex(peek());
        advance();
        int lo = hex(peek());
        advance();
        out += static_cast<char>(hi * 16 + lo);
      } else {
        fail(fmt::format("unknown escape '\\{}'", e));
      }
    }
  }
  // An identifier or a quoted string.
  std::string name(const std::string& what) {
    skip_spaces();
    if (peek() == '"') return quoted();
    return ident(what);
  }
  int64_t integer(const std::string& what) {
    skip_spaces();
    Pos p = pos();
    std::string text;
    if (peek() == '-') {
      text += '-';
      advance();
    }
    if (!digit(peek())) fail_at(p, fmt::format("expected {} (an integer), found {}", what, found()));
    while (digit(peek())) {
      text += peek();
      advance();
    }
    errno = 0;
    long long v = std::strtoll(text.c_str(), nullptr, 10);
    if (errno == ERANGE) fail_at(p, fmt::format("integer {} is out of range", text));
    return v;
  }

  // ---- Names, scopes.
  void define(Scope& scope, const std::string& text_name, const Pos& p, const std::string& proto_name,
              std::optional<TypeProto> type, SymType sym = {}) {
    if (text_name == "_") fail_at(p, "'_' (an omitted value) cannot be defined");
    if (!scope.values.emplace(text_name, Value{proto_name, std::move(type), std::move(sym)}).second)
      fail_at(p, fmt::format("value '{}' is defined twice", text_name));
  }
  const Value& lookup(const Scope& scope, const std::string& text_name, const Pos& p) const {
    auto it = scope.values.find(text_name);
    if (it == scope.values.end())
      fail_at(p, fmt::format("unknown value '{}' (not defined before this use)", text_name));
    return it->second;
  }

  // A dotted, possibly quoted name: `Conv`, `.Conv`, `com.microsoft.Foo`, `"my-dom".Op`.
  struct DottedName {
    std::vector<std::string> parts;
    bool leading_dot = false;
    Pos pos;
  };
  DottedName dotted_name(const std::string& what) {
    skip_spaces();
    DottedName d;
    d.pos = pos();
    if (peek() == '.') {
      d.leading_dot = true;
      advance();
    }
    while (true) {
      d.parts.push_back(name(what));
      if (peek() == '.' && (ident_start(peek(1)) || peek(1) == '"')) {
        advance();
        continue;
      }
      return d;
    }
  }
  static std::string join_domain(const DottedName& d) {
    std::string domain;
    for (size_t i = 0; i + 1 < d.parts.size(); ++i) domain += (i ? "." : "") + d.parts[i];
    return domain;
  }

  // `15,nas:1,ai.onnx.ml:2`; empty at the end of the line.
  std::vector<std::pair<std::string, int64_t>> opset_list() {
    std::vector<std::pair<std::string, int64_t>> out;
    skip_spaces();
    if (at_line_end()) return out;
    do {
      skip_spaces();
      if (digit(peek())) {
        out.emplace_back("", integer("opset version"));
        continue;
      }
      DottedName d = dotted_name("opset domain");
      if (d.leading_dot) fail_at(d.pos, "an opset domain cannot start with '.'");
      std::string domain = join_domain(d);
      domain += (domain.empty() ? "" : ".") + d.parts.back();
      expect(':', "between an opset domain and its version");
      out.emplace_back(domain, integer("opset version"));
    } while (accept(','));
    return out;
  }

  void finish_opsets() {
    if (!has_opset_) {
      opsets_ = {{"", kDefaultOpset}};
      for (const auto& d : defs_)
        if (d.domain == kLocalDomain) {
          opsets_.emplace_back(kLocalDomain, kLocalDomainVersion);
          break;
        }
    }
    for (const auto& [domain, version] : opsets_) {
      auto* op = model_.add_opset_import();
      op->set_domain(domain);
      op->set_version(version);
    }
    for (auto& d : defs_) {
      std::vector<std::pair<std::string, int64_t>> opsets = d.opsets;
      if (!d.has_opset) {
        std::set<std::string> used{""};
        for (const auto& n : d.proto.node()) used.insert(n.domain());
        opsets.clear();
        for (const auto& op : opsets_)
          if (used.count(op.first)) opsets.push_back(op);
      }
      for (const auto& [domain, version] : opsets) {
        auto* op = d.proto.add_opset_import();
        op->set_domain(domain);
        op->set_version(version);
      }
    }
  }

  // ---- Types, weights.
  std::optional<TypeProto> parse_type(bool symbolic) {
    skip_spaces();
    if (accept('?')) return std::nullopt;
    int32_t dtype = TensorProto::FLOAT;
    if (ident_start(peek())) {
      Pos p = pos();
      std::string w = ident("dtype");
      dtype = dtype_from_name(w);
      if (dtype == 0) fail_at(p, fmt::format("unknown dtype '{}'", w));
    }
    expect('[', "opening a shape");
    TypeProto t;
    t.mutable_tensor_type()->set_elem_type(dtype);
    if (accept('*')) {
      expect(']', "after '[*' (unknown rank)");
      return t;
    }
    auto* shape = t.mutable_tensor_type()->mutable_shape();
    if (accept(']')) return t;
    do {
      skip_spaces();
      auto* dim = shape->add_dim();
      if (accept('?')) continue;
      if (peek() == '-' || digit(peek())) {
        dim->set_dim_value(integer("dim"));
      } else if (peek() == '"') {
        dim->set_dim_param(quoted());
      } else {
        std::string w = ident("dim");
        if (symbolic) {
          if (accept('*') || accept('/')) integer("dim factor");
        } else {
          dim->set_dim_param(w);
        }
      }
    } while (accept(','));
    expect(']', "closing a shape");
    return t;
  }

  // `call_vars`: in an argument of a main-graph call, the callee's dim variables that earlier arguments
  // bound (`[208,C,1,1]`); a dim written as one of them is its integer value.
  WeightSpec parse_weight(const Scope& scope, const std::map<std::string, Bound>* call_vars = nullptr) {
    skip_spaces();
    WeightSpec w;
    w.pos = pos();
    if (ident_start(peek())) {
      std::string name = ident("dtype");
      w.dtype = dtype_from_name(name);
      if (w.dtype == 0) fail_at(w.pos, fmt::format("unknown dtype '{}'", name));
    }
    expect('[', "opening a weight shape");
    if (accept(']')) return w;
    do {
      skip_spaces();
      Pos p = pos();
      DimExpr d;
      if (peek() == '-' || digit(peek())) {
        d.kind = DimExpr::kInt;
        d.value = integer("weight dim");
        if (d.value < 0) fail_at(p, "weight dims must be >= 0");
      } else if (scope.fn != nullptr && ident_start(peek())) {
        parse_var_dim(*scope.fn, p, "dim variable", &d);
      } else if (call_vars != nullptr && ident_start(peek())) {
        d.var = ident("dim variable");
        auto it = call_vars->find(d.var);
        if (it == call_vars->end() || it->second.kind != Bound::kInt)
          fail_at(p, fmt::format("dim variable '{}' is not an integer bound by an earlier argument", d.var));
        d.kind = DimExpr::kInt;
        d.value = it->second.value;
        if (d.value < 0) fail_at(p, "weight dims must be >= 0");
      } else {
        fail(fmt::format("expected a weight dim (an integer{}), found {}",
                         scope.fn || call_vars ? " or a dim variable" : "", found()));
      }
      w.dims.push_back(std::move(d));
    } while (accept(','));
    expect(']', "closing a weight shape");
    return w;
  }

  // True when the text at the current position starts a weight: `[` or `dtype[`.
  bool at_weight() const {
    if (peek() == '[') return true;
    std::string w = peek_word();
    return !w.empty() && peek(w.size()) == '[' && dtype_from_name(w) != 0;
  }

  // A zero-filled tensor of `dtype` and `dims`.
  TensorProto zero_tensor(int32_t dtype, const std::vector<int64_t>& dims, const Pos& p) {
    TensorProto t;
    t.set_data_type(dtype);
    int64_t n = 1;
    for (int64_t d : dims) {
      if (d < 0) fail_at(p, "tensor dims must be >= 0");
      if (d > 0 && n > kMaxTensorBytes / d) fail_at(p, "tensor is too large to materialize (over 2 GiB)");
      n *= d;
      t.add_dims(d);
    }
    if (dtype == TensorProto::STRING) {
      if (n > (int64_t{1} << 24)) fail_at(p, "string tensor is too large to materialize");
      total_bytes_ += n;
      if (total_bytes_ > kMaxTensorBytes) fail_at(p, "weights are too large to materialize (over 2 GiB in all)");
      for (int64_t i = 0; i < n; ++i) t.add_string_data("");
      return t;
    }
    int64_t bytes = n * dtype_size(dtype);
    if (bytes > kMaxTensorBytes) fail_at(p, "tensor is too large to materialize (over 2 GiB)");
    total_bytes_ += bytes;
    if (total_bytes_ > kMaxTensorBytes) fail_at(p, "weights are too large to materialize (over 2 GiB in all)");
    t.set_raw_data(std::string(static_cast<size_t>(bytes), '\0'));
    return t;
  }

  std::string add_initializer(const std::string& name, int32_t dtype, const std::vector<int64_t>& dims,
                              const Pos& p) {
    TensorProto t = zero_tensor(dtype, dims, p);
    t.set_name(name);
    *model_.mutable_graph()->add_initializer() = std::move(t);
    return name;
  }

  std::string fresh_weight_name() { return fmt::format("w.{}", weight_counter_++); }

  // ---- Attributes.
  AttributeProto parse_attr_value() {
    skip_spaces();
    AttributeProto a;
    Pos p = pos();
    if (peek() == '@') {
      advance();
      a.set_ref_attr_name(name("referenced attribute name"));
      if (accept(':')) {
        Pos cp = pos();
        std::string code = ident("attribute type");
        int type = attr_type_from_code(code);
        if (type < 0) fail_at(cp, fmt::format("unknown attribute type '{}'", code));
        a.set_type(static_cast<AttributeProto::AttributeType>(type));
      }
      return a;
    }
    if (peek() == '[') {
      advance();
      skip_spaces();
      if (peek() == ']') fail("an empty list needs its type: ints[], floats[], strings[] or tensors[]");
      int type = AttributeProto::UNDEFINED;
      do {
        AttributeProto e = parse_scalar_attr();
        int list_type = e.type() == AttributeProto::INT      ? AttributeProto::INTS
                        : e.type() == AttributeProto::FLOAT  ? AttributeProto::FLOATS
                        : e.type() == AttributeProto::STRING ? AttributeProto::STRINGS
                                                             : AttributeProto::TENSORS;
        if (type != AttributeProto::UNDEFINED && type != list_type)
          fail_at(p, "list elements must all have the same type (ints, floats with '.', strings or tensors)");
        type = list_type;
        if (type == AttributeProto::INTS)
          a.add_ints(e.i());
        else if (type == AttributeProto::FLOATS)
          a.add_floats(e.f());
        else if (type == AttributeProto::STRINGS)
          a.add_strings(e.s());
        else
          *a.add_tensors() = e.t();
      } while (accept(','));
      expect(']', "closing an attribute list");
      a.set_type(static_cast<AttributeProto::AttributeType>(type));
      if (accept('*')) {  // `[v]*n`: n copies of a one-element list
        Pos rp = pos();
        int64_t n = integer("list repeat count");
        if (n < 1 || n > kMaxRepeat) fail_at(rp, fmt::format("a repeat count must be in [1, {}]", kMaxRepeat));
        if (a.ints_size() + a.floats_size() != 1)
          fail_at(rp, "only a one-element int or float list can be repeated ([v]*n)");
        for (int64_t r = 1; r < n; ++r) {
          if (a.ints_size()) a.add_ints(a.ints(0));
          if (a.floats_size()) a.add_floats(a.floats(0));
        }
      }
      return a;
    }
    std::string w = peek_word();
    static const std::map<std::string, int> empty_lists{{"ints", AttributeProto::INTS},
                                                        {"floats", AttributeProto::FLOATS},
                                                        {"strings", AttributeProto::STRINGS},
                                                        {"tensors", AttributeProto::TENSORS}};
    auto empty = empty_lists.find(w);
    if (empty != empty_lists.end()) {
      take_word();
      expect('[', fmt::format("after '{}'", w));
      expect(']', fmt::format("after '{}[' (only empty typed lists are written this way)", w));
      a.set_type(static_cast<AttributeProto::AttributeType>(empty->second));
      return a;
    }
    return parse_scalar_attr();
  }

  // int, float, string or tensor.
  AttributeProto parse_scalar_attr() {
    skip_spaces();
    AttributeProto a;
    Pos p = pos();
    if (peek() == '"') {
      a.set_type(AttributeProto::STRING);
      a.set_s(quoted());
      return a;
    }
    std::string w = peek_word();
    if (w == "inf" || w == "nan") {
      take_word();
      a.set_type(AttributeProto::FLOAT);
      a.set_f(w == "inf" ? std::numeric_limits<float>::infinity() : std::numeric_limits<float>::quiet_NaN());
      return a;
    }
    if (!w.empty()) {
      int32_t dtype = dtype_from_name(w);
      if (dtype == 0) fail_at(p, fmt::format("expected an attribute value, found '{}'", w));
      take_word();
      expect('[', "opening a tensor shape");
      std::vector<int64_t> dims;
      skip_spaces();
      if (peek() != ']') {
        do dims.push_back(integer("tensor dim"));
        while (accept(','));
      }
      expect(']', "closing a tensor shape");
      a.set_type(AttributeProto::TENSOR);
      *a.mutable_t() = zero_tensor(dtype, dims, p);
      return a;
    }
    // A number: float if it has '.' or an exponent.
    std::string text;
    if (peek() == '-') {
      text += '-';
      advance();
      if (peek_word() == "inf") {
        take_word();
        a.set_type(AttributeProto::FLOAT);
        a.set_f(-std::numeric_limits<float>::infinity());
        return a;
      }
    }
    bool is_float = false;
    while (digit(peek())) {
      text += peek();
      advance();
    }
    if (peek() == '.') {
      is_float = true;
      text += '.';
      advance();
      while (digit(peek())) {
        text += peek();
        advance();
      }
    }
    if (peek() == 'e' || peek() == 'E') {
      is_float = true;
      text += 'e';
      advance();
      if (peek() == '+' || peek() == '-') {
        text += peek();
        advance();
      }
      if (!digit(peek())) fail("expected the exponent's digits");
      while (digit(peek())) {
        text += peek();
        advance();
      }
    }
    if (text.empty() || text == "-" || text == "." || text == "-.")
      fail_at(p, fmt::format("expected an attribute value, found {}", found()));
    errno = 0;
    if (is_float) {
      a.set_type(AttributeProto::FLOAT);
      a.set_f(std::strtof(text.c_str(), nullptr));
    } else {
      a.set_type(AttributeProto::INT);
      a.set_i(std::strtoll(text.c_str(), nullptr, 10));
      if (errno == ERANGE) fail_at(p, fmt::format("integer {} is out of range", text));
    }
    return a;
  }

  void parse_attrs(NodeProto& node) {
    expect('{', "opening attributes");
    std::set<std::string> seen;
    do {
      skip_spaces();
      Pos p = pos();
      std::string n = name("attribute name");
      if (!seen.insert(n).second) fail_at(p, fmt::format("duplicate attribute '{}'", n));
      expect('=', fmt::format("after attribute name '{}'", n));
      AttributeProto a = parse_attr_value();
      a.set_name(n);
      *node.add_attribute() = std::move(a);
    } while (accept(','));
    expect('}', "closing attributes");
  }

  // ---- Functions.
  void parse_def() {
    take_word();
    FnDef def;
    DottedName dn = dotted_name("function name");
    def.name = dn.parts.back();
    def.domain = dn.leading_dot ? "" : dn.parts.size() == 1 ? std::string(kLocalDomain) : join_domain(dn);
    if (dn.leading_dot && dn.parts.size() != 1) fail_at(dn.pos, "'.name' is only for the empty domain");
    std::string id = def.domain + ":" + def.name;
    if (def_index_.count(id)) fail_at(dn.pos, fmt::format("function '{}' is defined twice", def.name));
    expect('(', "opening the formal inputs");
    std::set<std::string> formal_names;
    skip_spaces();
    if (peek() != ')') {
      do {
        skip_spaces();
        Pos p = pos();
        Formal f;
        f.name = ident("formal input name");
        if (f.name == "_" || !formal_names.insert(f.name).second)
          fail_at(p, fmt::format("formal input '{}' is listed twice or invalid", f.name));
        if (peek() == '[') {
          advance();
          f.has_pattern = true;
          skip_spaces();
          if (peek() != ']') {
            do {
              skip_spaces();
              DimExpr d;
              if (accept('?')) {
                d.kind = DimExpr::kUnknown;
              } else if (peek() == '-' || digit(peek())) {
                d.kind = DimExpr::kInt;
                d.value = integer("pattern dim");
              } else {
                d.kind = DimExpr::kVar;
                d.var = ident("pattern dim");
                def.vars.emplace(d.var, std::make_pair(def.formals.size(), f.pattern.size()));
              }
              f.pattern.push_back(std::move(d));
            } while (accept(','));
          }
          expect(']', "closing a shape pattern");
        }
        def.formals.push_back(std::move(f));
      } while (accept(','));
    }
    expect(')', "closing the formal inputs");
    if (accept('<')) {
      do {
        std::string a = name("attribute parameter");
        def.proto.add_attribute(a);
        if (accept('=')) def.implied.emplace_back(a, parse_dim_expr(def, "attribute value"));
      } while (accept(','));
      expect('>', "closing the attribute parameters");
    }
    skip_spaces();
    if (peek_word() == "opset") {
      take_word();
      def.opsets = opset_list();
      def.has_opset = true;
    }
    end_line();

    defs_.push_back(std::move(def));
    FnDef& fn = defs_.back();
    Scope scope;
    scope.fn = &fn;
    for (size_t k = 0; k < fn.formals.size(); ++k)
      scope.values[fn.formals[k].name] = Value{fn.formals[k].name, std::nullopt, SymType{SymType::kFormal, k}};
    while (true) {
      skip_blank_lines();
      if (at_end()) fail(fmt::format("function '{}' has no 'ret' line", fn.name));
      std::string w = peek_word();
      if (w == "ret") break;
      if (w == "def" || w == "in" || w == "out" || w == "ir" || w == "opset")
        fail(fmt::format("'{}' inside function '{}' (its body ends with a 'ret' line)", w, fn.name));
      parse_line(scope);
    }
    take_word();
    if (!at_line_end()) {
      do {
        skip_spaces();
        Pos p = pos();
        std::string n = ident("function output name");
        const Value& v = lookup(scope, n, p);
        fn.proto.add_output(v.proto_name);
        fn.out_types.push_back(v.sym);
      } while (accept(','));
    }
    end_line();
    fn.proto.set_name(fn.name);
    fn.proto.set_domain(fn.domain);
    for (const auto& f : fn.formals) fn.proto.add_input(f.name);
    for (size_t k = 0; k < fn.implicit.size(); ++k) fn.proto.add_input(fmt::format("w.{}", k));
    def_index_[id] = defs_.size() - 1;
  }

  // ---- Node lines.
  struct Arg {
    std::string proto_name;  // "" for `_`
    std::optional<TypeProto> type;
    SymType sym;
  };

  // A node line, possibly `k*LINE` (k copies of the line, each reading the previous copy's `^`).
  void parse_line(Scope& scope) {
    skip_spaces();
    if (!digit(peek())) {
      parse_node(scope);
      return;
    }
    Pos p = pos();
    int64_t repeat = integer("repeat count");
    if (repeat < 1 || repeat > kMaxRepeat) fail_at(p, fmt::format("a repeat count must be in [1, {}]", kMaxRepeat));
    expect('*', "after a repeat count");
    const size_t start = pos_;
    const int line = line_;
    const size_t line_start = line_start_;
    for (int64_t r = 0; r < repeat; ++r) {
      pos_ = start;
      line_ = line;
      line_start_ = line_start;
      parse_node(scope);
    }
  }

  // True when the line at the current position starts with output names (`v0=`, `v1,~=`, `=`).
  bool at_outputs() {
    skip_spaces();
    if (peek() == '=' || peek() == '~') return true;
    if (!ident_start(peek())) return false;
    size_t end = pos_;
    while (end < s_.size() && ident_char(s_[end])) ++end;
    while (end < s_.size() && (s_[end] == ' ' || s_[end] == '\t' || s_[end] == '\r')) ++end;
    return end < s_.size() && (s_[end] == '=' || s_[end] == ',');
  }

  std::string anonymous_name() { return fmt::format("^{}", anonymous_counter_++); }

  void parse_node(Scope& scope) {
    std::optional<Value> previous = std::move(scope.previous);
    scope.previous.reset();
    skip_spaces();
    // Outputs: (text name or "~" / "_", position); none written = one anonymous output.
    std::vector<std::pair<std::string, Pos>> outs;
    bool anonymous = false;
    if (!at_outputs()) {
      anonymous = true;
      outs.emplace_back("", pos());
    } else if (peek() == '=') {
      advance();
    } else {
      do {
        skip_spaces();
        Pos p = pos();
        if (accept('~'))
          outs.emplace_back("~", p);
        else
          outs.emplace_back(ident("output name"), p);
      } while (accept(','));
      expect('=', "after the output names");
    }
    skip_spaces();
    if (scope.is_main && !anonymous && at_weight()) {
      if (outs.size() != 1 || outs[0].first == "_" || outs[0].first == "~")
        fail_at(outs.empty() ? pos() : outs[0].second, "a weight declaration names exactly one weight");
      WeightSpec w = parse_weight(scope);
      std::vector<int64_t> dims;
      for (const auto& d : w.dims) dims.push_back(d.value);
      add_initializer(outs[0].first, w.dtype, dims, w.pos);
      define(scope, outs[0].first, outs[0].second, outs[0].first, tensor_type(w.dtype, dims));
      end_line();
      return;
    }
    DottedName op = dotted_name("op type");
    NodeProto node;
    int callee = -1;
    if (op.leading_dot) {
      if (op.parts.size() != 1) fail_at(op.pos, "'.Op' is only for the empty (default) domain");
      node.set_op_type(op.parts[0]);
    } else if (op.parts.size() == 1) {
      node.set_op_type(op.parts[0]);
      if (def_index_.count(std::string(kLocalDomain) + ":" + op.parts[0])) node.set_domain(kLocalDomain);
    } else {
      node.set_domain(join_domain(op));
      node.set_op_type(op.parts.back());
    }
    auto def = def_index_.find(node.domain() + ":" + node.op_type());
    if (def != def_index_.end()) callee = static_cast<int>(def->second);
    skip_spaces();
    if (peek() == '{') parse_attrs(node);
    expect('(', "opening the arguments");
    std::vector<Arg> args;
    skip_spaces();
    if (peek() != ')') {
      const FnDef* target = callee >= 0 ? &defs_[callee] : nullptr;
      do parse_arg(scope, args, previous, target);
      while (accept(','));
    }
    expect(')', "closing the arguments");

    std::map<std::string, Bound> bound;
    const FnDef* fn = callee >= 0 ? &defs_[callee] : nullptr;
    if (fn) {
      bound = bind_vars(*fn, args);
      add_call_weights(scope, callee, args, bound, op.pos);
      add_implied_attributes(scope, *fn, node, bound, op.pos);
    }
    for (const auto& a : args) node.add_input(a.proto_name);

    size_t typed_outs = 0;
    for (const auto& o : outs) typed_outs += o.first != "_";
    skip_spaces();
    std::vector<std::optional<TypeProto>> types;
    std::vector<SymType> syms;
    bool annotated = !at_line_end();
    if (annotated) {
      Pos p = pos();
      do {
        std::optional<TypeProto> type;
        SymType sym;
        if (scope.is_main)
          type = parse_type(/*symbolic=*/false);
        else
          sym = parse_sym_type(*scope.fn);
        int64_t repeat = 1;
        if (accept('*')) {
          Pos rp = pos();
          repeat = integer("repeat count");
          if (repeat < 1 || static_cast<size_t>(repeat) > typed_outs)
            fail_at(rp, fmt::format("a type repeat count must be in [1, {}]", typed_outs));
        }
        for (int64_t r = 0; r < repeat; ++r) {
          types.push_back(type);
          syms.push_back(sym);
        }
      } while (accept(','));
      if (types.size() != typed_outs)
        fail_at(p, fmt::format("{} output types for {} outputs", types.size(), typed_outs));
    }
    end_line();
    const bool first_given = !args.empty() && !args[0].proto_name.empty();
    std::optional<TypeProto> first_type = first_given ? args[0].type : std::nullopt;
    SymType first_sym = first_given ? args[0].sym : SymType{};
    // Main graph defaults: a call's derived output types if all are fully known, else the first input's.
    std::vector<std::optional<TypeProto>> defaults;
    if (scope.is_main && !annotated) {
      bool all_known = true;
      for (size_t slot = 0; slot < outs.size(); ++slot) {
        if (outs[slot].first == "_") continue;
        defaults.push_back(fn ? derived_type(*fn, slot, args, bound) : first_type);
        all_known = all_known && fully_known(defaults.back());
      }
      if (fn && !all_known) std::fill(defaults.begin(), defaults.end(), first_type);
    }
    size_t t = 0;
    for (size_t slot = 0; slot < outs.size(); ++slot) {
      const auto& [name, p] = outs[slot];
      if (name == "_") {
        node.add_output("");
        continue;
      }
      Value v;
      if (scope.is_main) {
        v.type = annotated ? types[t] : defaults[t];
      } else {
        v.sym = annotated ? syms[t] : first_sym;
      }
      ++t;
      v.proto_name = name.empty() || name == "~" ? anonymous_name() : name;
      define(scope, name.empty() || name == "~" ? v.proto_name : name, p, v.proto_name, v.type, v.sym);
      scope.order.push_back(v.proto_name);
      node.add_output(v.proto_name);
      if (anonymous) scope.previous = std::move(v);
    }
    NodeProto* dst = scope.is_main ? model_.mutable_graph()->add_node() : scope.fn->proto.add_node();
    *dst = std::move(node);
  }

  void parse_arg(Scope& scope, std::vector<Arg>& args, const std::optional<Value>& previous, const FnDef* callee) {
    skip_spaces();
    Pos p = pos();
    if (accept('^')) {
      if (!previous) fail_at(p, "'^' names the previous line's unnamed output, but that line has none");
      args.push_back({previous->proto_name, previous->type, previous->sym});
      return;
    }
    if (!at_weight()) {
      std::string n = ident("argument (a value name, '^', '_' or a weight)");
      if (n == "_") {
        args.push_back({"", std::nullopt, {}});
        return;
      }
      if (!accept('=')) {
        const Value& v = lookup(scope, n, p);
        args.push_back({v.proto_name, v.type, v.sym});
        return;
      }
      if (!scope.is_main) fail_at(p, "named weights are only allowed in the main graph");
      WeightSpec w = parse_weight(scope);
      std::vector<int64_t> dims;
      for (const auto& d : w.dims) dims.push_back(d.value);
      add_initializer(n, w.dtype, dims, w.pos);
      define(scope, n, p, n, tensor_type(w.dtype, dims));
      args.push_back({n, scope.values.at(n).type, {}});
      return;
    }
    std::map<std::string, Bound> call_vars;
    if (scope.is_main && callee != nullptr) call_vars = bind_vars(*callee, args);
    WeightSpec w = parse_weight(scope, scope.is_main && callee != nullptr ? &call_vars : nullptr);
    int64_t repeat = 1;
    if (accept('*')) {
      Pos rp = pos();
      repeat = integer("repeat count");
      if (repeat < 1 || repeat > kMaxRepeat)
        fail_at(rp, fmt::format("a repeat count must be in [1, {}]", kMaxRepeat));
    }
    for (int64_t r = 0; r < repeat; ++r) {
      if (scope.is_main) {
        std::vector<int64_t> dims;
        for (const auto& d : w.dims) dims.push_back(d.value);
        std::string name = add_initializer(fresh_weight_name(), w.dtype, dims, w.pos);
        args.push_back({name, tensor_type(w.dtype, dims), {}});
      } else {
        std::string name = fmt::format("w.{}", scope.fn->implicit.size());
        scope.fn->implicit.push_back(w);
        args.push_back({name, std::nullopt, SymType{SymType::kTensor, 0, w.dtype, true, w.dims}});
      }
    }
  }

  // A dim of an implied attribute: integer, V, V*k or V/k over the function's dim variables.
  DimExpr parse_dim_expr(const FnDef& fn, const std::string& what) {
    skip_spaces();
    Pos p = pos();
    DimExpr d;
    if (peek() == '-' || digit(peek())) {
      d.kind = DimExpr::kInt;
      d.value = integer(what);
      return d;
    }
    parse_var_dim(fn, p, what, &d);
    return d;
  }

  // V, V*k or V/k over the dim variables of `fn` (p = where the dim starts, for errors).
  void parse_var_dim(const FnDef& fn, const Pos& p, const std::string& what, DimExpr* d) {
    d->var = ident(what);
    if (!fn.vars.count(d->var))
      fail_at(p, fmt::format("unknown dim variable '{}' (not in the signature's shape patterns)", d->var));
    d->kind = DimExpr::kVar;
    skip_spaces();
    if (peek() == '*' || peek() == '/') {
      d->kind = peek() == '*' ? DimExpr::kMul : DimExpr::kDiv;
      advance();
      d->value = integer("dim factor");
      if (d->value < 1) fail_at(p, "a dim factor must be >= 1");
    }
  }

  // A type inside a function body: `?`, dtype + `[*]`, or dtype + `[dims]` over the dim variables
  // (a name that is not a variable, or a quoted symbolic dim, reads as an unknown dim).
  SymType parse_sym_type(const FnDef& fn) {
    skip_spaces();
    SymType t;
    if (accept('?')) return t;
    t.kind = SymType::kTensor;
    if (ident_start(peek())) {
      Pos p = pos();
      std::string w = ident("dtype");
      t.dtype = dtype_from_name(w);
      if (t.dtype == 0) fail_at(p, fmt::format("unknown dtype '{}'", w));
    }
    expect('[', "opening a shape");
    if (accept('*')) {
      expect(']', "after '[*' (unknown rank)");
      return t;
    }
    t.ranked = true;
    if (accept(']')) return t;
    do {
      skip_spaces();
      Pos p = pos();
      DimExpr d;
      if (accept('?')) {
      } else if (peek() == '-' || digit(peek())) {
        d.kind = DimExpr::kInt;
        d.value = integer("dim");
      } else if (peek() == '"') {
        quoted();
      } else {
        d.var = ident("dim");
        d.kind = fn.vars.count(d.var) ? DimExpr::kVar : DimExpr::kUnknown;
        skip_spaces();
        if (peek() == '*' || peek() == '/') {
          bool mul = peek() == '*';
          advance();
          d.value = integer("dim factor");
          if (d.value < 1) fail_at(p, "a dim factor must be >= 1");
          if (d.kind == DimExpr::kVar) d.kind = mul ? DimExpr::kMul : DimExpr::kDiv;
        }
      }
      t.dims.push_back(std::move(d));
    } while (accept(','));
    expect(']', "closing a shape");
    return t;
  }

  // The dim variables of `fn` at a call with (listed) arguments `args`.
  std::map<std::string, Bound> bind_vars(const FnDef& fn, const std::vector<Arg>& args) const {
    std::map<std::string, Bound> bound;
    for (const auto& [var, at] : fn.vars) {
      Bound value;
      const auto* type = at.first < args.size() && args[at.first].type ? &*args[at.first].type : nullptr;
      if (type && type->has_tensor_type() && type->tensor_type().has_shape() &&
          type->tensor_type().shape().dim_size() == static_cast<int>(fn.formals[at.first].pattern.size())) {
        const auto& dim = type->tensor_type().shape().dim(static_cast<int>(at.second));
        if (dim.has_dim_value()) {
          value.kind = Bound::kInt;
          value.value = dim.dim_value();
        } else if (dim.has_dim_param() && !dim.dim_param().empty()) {
          value.kind = Bound::kParam;
          value.param = dim.dim_param();
        }
      }
      bound[var] = value;
    }
    return bound;
  }

  // A tensor type of a known dtype with every dim an integer or a symbolic dim.
  static bool fully_known(const std::optional<TypeProto>& t) {
    if (!t || !t->has_tensor_type() || dtype_name(t->tensor_type().elem_type()) == nullptr ||
        !t->tensor_type().has_shape())
      return false;
    for (const auto& d : t->tensor_type().shape().dim())
      if (!d.has_dim_value() && (!d.has_dim_param() || d.dim_param().empty())) return false;
    return true;
  }

  // The default type of output `slot` of a call of `fn`: the function's output type at this call.
  std::optional<TypeProto> derived_type(const FnDef& fn, size_t slot, const std::vector<Arg>& args,
                                        const std::map<std::string, Bound>& bound) const {
    if (slot >= fn.out_types.size()) return std::nullopt;
    const SymType& t = fn.out_types[slot];
    if (t.kind == SymType::kUnknown) return std::nullopt;
    if (t.kind == SymType::kFormal) return t.formal < args.size() ? args[t.formal].type : std::nullopt;
    TypeProto out;
    out.mutable_tensor_type()->set_elem_type(t.dtype);
    if (!t.ranked) return out;
    auto* shape = out.mutable_tensor_type()->mutable_shape();
    for (const DimExpr& d : t.dims) {
      auto* dim = shape->add_dim();
      Bound b = evaluate(d, bound);
      if (b.kind == Bound::kInt)
        dim->set_dim_value(b.value);
      else if (b.kind == Bound::kParam)
        dim->set_dim_param(b.param);
    }
    return out;
  }

  // Appends the implicit weights of a call of function `callee`: in the main graph fresh initializers
  // sized from the call's argument shapes; in a function body new implicit formals of that function
  // (sized at its own calls).
  void add_call_weights(const Scope& scope, int callee, std::vector<Arg>& args,
                        const std::map<std::string, Bound>& bound, const Pos& p) {
    const FnDef& fn = defs_[static_cast<size_t>(callee)];
    if (args.size() > fn.formals.size())
      fail_at(p, fmt::format("{} arguments but function '{}' lists {} formal inputs", args.size(), fn.name,
                             fn.formals.size()));
    if (fn.implicit.empty()) return;
    if (args.size() != fn.formals.size())
      fail_at(p, fmt::format("{} arguments but function '{}' takes {}", args.size(), fn.name, fn.formals.size()));
    if (scope.is_main) {
      for (size_t k = 0; k < fn.implicit.size(); ++k) {
        std::vector<int64_t> dims = implicit_dims(fn, k, bound, p);
        std::string name = add_initializer(fresh_weight_name(), fn.implicit[k].dtype, dims, p);
        args.push_back({name, tensor_type(fn.implicit[k].dtype, dims), {}});
      }
      return;
    }
    // The callee's variables in this function's: from the arguments' symbolic types.
    std::map<std::string, DimExpr> binding;
    for (const auto& [var, at] : fn.vars) {
      const SymType& t = args[at.first].sym;
      const size_t rank = fn.formals[at.first].pattern.size();
      DimExpr d;
      if (t.kind == SymType::kFormal) {
        const Formal& f = scope.fn->formals[t.formal];
        if (f.has_pattern && f.pattern.size() == rank) d = f.pattern[at.second];
      } else if (t.kind == SymType::kTensor && t.ranked && t.dims.size() == rank) {
        d = t.dims[at.second];
      }
      binding[var] = d;
    }
    for (size_t k = 0; k < fn.implicit.size(); ++k) {
      WeightSpec w;
      w.dtype = fn.implicit[k].dtype;
      w.pos = p;
      w.callee = callee;
      w.callee_index = k;
      w.binding = binding;
      std::string name = fmt::format("w.{}", scope.fn->implicit.size());
      scope.fn->implicit.push_back(std::move(w));
      args.push_back({name, std::nullopt, {}});
    }
  }

  // The dims of implicit formal `k` of `fn` at a main-graph call where `fn`'s variables are `bound`.
  std::vector<int64_t> implicit_dims(const FnDef& fn, size_t k, const std::map<std::string, Bound>& bound,
                                     const Pos& p) const {
    const WeightSpec& w = fn.implicit[k];
    if (w.callee >= 0) {
      std::map<std::string, Bound> inner;
      for (const auto& [var, d] : w.binding) inner[var] = evaluate(d, bound);
      return implicit_dims(defs_[static_cast<size_t>(w.callee)], w.callee_index, inner, p);
    }
    std::vector<int64_t> dims;
    for (const DimExpr& d : w.dims) dims.push_back(call_int(fn, d, bound, "size a weight", p));
    return dims;
  }

  // Sets the attributes that `fn` implies from its dim variables (`<g=C>`) on a call.
  void add_implied_attributes(const Scope& scope, const FnDef& fn, NodeProto& node,
                              const std::map<std::string, Bound>& bound, const Pos& p) {
    if (fn.implied.empty()) return;
    if (!scope.is_main)
      fail_at(p, fmt::format("function '{}' has implied attributes, so it can only be called from the main graph",
                             fn.name));
    for (const auto& [name, d] : fn.implied) {
      for (const auto& a : node.attribute())
        if (a.name() == name)
          fail_at(p, fmt::format("attribute '{}' is implied by function '{}' and cannot be passed", name, fn.name));
      AttributeProto* a = node.add_attribute();
      a->set_name(name);
      a->set_type(AttributeProto::INT);
      a->set_i(call_int(fn, d, bound, fmt::format("set attribute '{}'", name), p));
    }
  }

  // An integer dim expression at a call; throws if the variables do not give one.
  int64_t call_int(const FnDef& fn, const DimExpr& d, const std::map<std::string, Bound>& bound,
                   const std::string& what, const Pos& p) const {
    Bound b = evaluate(d, bound);
    if (b.kind == Bound::kInt) return b.value;
    auto it = bound.find(d.var);
    if (it == bound.end() || it->second.kind != Bound::kInt)
      fail_at(p, fmt::format("cannot {} of function '{}': dim variable '{}' is not a known integer at this call", what,
                             fn.name, d.var));
    fail_at(p, fmt::format("cannot {} of function '{}': {}={} {} {}", what, fn.name, d.var, it->second.value,
                           d.kind == DimExpr::kDiv ? "is not divisible by" : "overflows when multiplied by", d.value));
  }

  const std::string& s_;
  size_t pos_ = 0;
  int line_ = 1;
  size_t line_start_ = 0;
  ModelProto model_;
  bool has_ir_ = false, has_opset_ = false;
  std::vector<std::pair<std::string, int64_t>> opsets_;
  std::vector<FnDef> defs_;
  std::map<std::string, size_t> def_index_;
  int weight_counter_ = 0;
  int anonymous_counter_ = 0;
  int64_t total_bytes_ = 0;  // of all zero-filled tensors so far
};

}  // namespace

onnx::ModelProto from_text(const std::string& text) { return Reader(text).read(); }

}  // namespace nas::onnx_text
