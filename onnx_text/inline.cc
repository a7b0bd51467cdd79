#include "onnx_text/inline.h"

#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"

namespace nas::onnx_text {
namespace {

// ONNX's own FunctionExpandHelper (onnx/defs/function.h) is not used: it expands one call without
// recursing into nested calls, and names internal values by plain concatenation ("Func_" + node
// name + value name, no separator, no check against existing names), which can collide.

using FunctionKey = std::pair<std::string, std::string>;  // (domain, name)

class Inliner {
 public:
  explicit Inliner(const onnx::ModelProto& model) {
    for (const auto& f : model.functions()) {
      if (!functions_.emplace(FunctionKey{f.domain(), f.name()}, &f).second)
        throw OnnxTextError(fmt::format("model defines local function '{}.{}' twice", f.domain(), f.name()));
    }
    const auto& g = model.graph();
    for (const auto& v : g.input()) used_.insert(v.name());
    for (const auto& v : g.output()) used_.insert(v.name());
    for (const auto& v : g.value_info()) used_.insert(v.name());
    for (const auto& t : g.initializer()) used_.insert(t.name());
    for (const auto& t : g.sparse_initializer()) used_.insert(t.values().name());
    for (const auto& n : g.node()) {
      if (!n.name().empty()) used_.insert(n.name());
      for (const auto& i : n.input()) used_.insert(i);
      for (const auto& o : n.output()) used_.insert(o);
    }
  }

  bool is_call(const onnx::NodeProto& n) const { return functions_.count({n.domain(), n.op_type()}) > 0; }

  // Appends `node` to `out`, expanded if it calls a local function.
  // `parent` is the site of the call whose body `node` belongs to ("" at the top level).
  void expand(const onnx::NodeProto& node, google::protobuf::RepeatedPtrField<onnx::NodeProto>* out,
              const std::string& parent = "") {
    auto it = functions_.find({node.domain(), node.op_type()});
    if (it == functions_.end()) {
      check_no_calls_in_subgraphs(node);
      *out->Add() = node;
      return;
    }
    const onnx::FunctionProto& fn = *it->second;
    std::string fn_id = fn.domain().empty() ? fn.name() : fn.domain() + "." + fn.name();
    std::string site = node.name();
    if (site.empty()) {
      site = fmt::format("{}{}", fn.name(), unnamed_calls_[fn_id]++);
      if (!parent.empty()) site = parent + "_" + site;
    }
    if (active_.count(fn_id))
      throw OnnxTextError(fmt::format("local function '{}' calls itself (via node '{}'); cannot inline", fn_id, site));
    if (node.input_size() > fn.input_size() || node.output_size() > fn.output_size())
      throw OnnxTextError(fmt::format("node '{}' calls '{}' with {} inputs / {} outputs; it has {} / {}", site,
                                      fn_id, node.input_size(), node.output_size(), fn.input_size(),
                                      fn.output_size()));
    std::unordered_map<std::string, std::string> rename;
    for (int i = 0; i < fn.input_size(); ++i) rename[fn.input(i)] = i < node.input_size() ? node.input(i) : "";
    for (int i = 0; i < node.output_size(); ++i)
      if (!node.output(i).empty()) rename[fn.output(i)] = node.output(i);
    auto mapped = [&](const std::string& v) -> std::string {
      if (v.empty()) return v;
      auto r = rename.find(v);
      if (r != rename.end()) return r->second;
      return rename[v] = fresh(site + "_" + v);
    };
    std::unordered_map<std::string, const onnx::AttributeProto*> call_attrs;
    for (const auto& a : node.attribute()) call_attrs[a.name()] = &a;

    active_.insert(fn_id);
    for (const auto& body : fn.node()) {
      onnx::NodeProto n;
      n.set_op_type(body.op_type());
      if (!body.domain().empty()) n.set_domain(body.domain());
      if (!body.name().empty()) n.set_name(fresh(site + "_" + body.name()));
      if (!body.doc_string().empty()) n.set_doc_string(body.doc_string());
      for (const auto& i : body.input()) n.add_input(mapped(i));
      for (const auto& o : body.output()) n.add_output(mapped(o));
      for (const auto& a : body.attribute()) {
        if (a.type() == onnx::AttributeProto::GRAPH || a.type() == onnx::AttributeProto::GRAPHS || a.has_g() ||
            a.graphs_size() > 0)
          throw OnnxTextError(fmt::format("local function '{}': node '{}' ({}) has a graph attribute '{}'; "
                                          "inlining control flow inside functions is not supported",
                                          fn_id, body.name(), body.op_type(), a.name()));
        if (a.ref_attr_name().empty()) {
          *n.add_attribute() = a;
          continue;
        }
        auto c = call_attrs.find(a.ref_attr_name());
        if (c == call_attrs.end()) continue;  // not given at the call: the op's default applies
        auto* resolved = n.add_attribute();
        *resolved = *c->second;
        resolved->set_name(a.name());
      }
      expand(n, out, site);
    }
    active_.erase(fn_id);
  }

 private:
  std::string fresh(const std::string& base) {
    if (used_.insert(base).second) return base;
    for (int k = 1;; ++k) {
      std::string candidate = fmt::format("{}_{}", base, k);
      if (used_.insert(candidate).second) return candidate;
    }
  }

  void check_no_calls_in_subgraphs(const onnx::NodeProto& node) const {
    auto check_graph = [&](const onnx::GraphProto& g) {
      for (const auto& n : g.node()) {
        if (is_call(n))
          throw OnnxTextError(fmt::format("node '{}' ({}) has a subgraph calling local function '{}'; inlining "
                                          "inside control-flow subgraphs is not supported",
                                          node.name(), node.op_type(), n.op_type()));
        check_no_calls_in_subgraphs(n);
      }
    };
    for (const auto& a : node.attribute()) {
      if (a.has_g()) check_graph(a.g());
      for (const auto& g : a.graphs()) check_graph(g);
    }
  }

  std::map<FunctionKey, const onnx::FunctionProto*> functions_;
  std::unordered_set<std::string> used_;
  std::unordered_map<std::string, int> unnamed_calls_;
  std::set<std::string> active_;
};

}  // namespace

onnx::ModelProto inline_functions(const onnx::ModelProto& model) {
  Inliner inliner(model);
  onnx::ModelProto out;
  // Everything but the graph's nodes and the functions, field by field (no full copy first).
  out.set_ir_version(model.ir_version());
  out.set_producer_name(model.producer_name());
  out.set_producer_version(model.producer_version());
  out.set_domain(model.domain());
  out.set_model_version(model.model_version());
  out.set_doc_string(model.doc_string());
  *out.mutable_metadata_props() = model.metadata_props();
  *out.mutable_training_info() = model.training_info();
  const auto& g = model.graph();
  auto* og = out.mutable_graph();
  og->set_name(g.name());
  og->set_doc_string(g.doc_string());
  *og->mutable_input() = g.input();
  *og->mutable_output() = g.output();
  *og->mutable_value_info() = g.value_info();
  *og->mutable_initializer() = g.initializer();
  *og->mutable_sparse_initializer() = g.sparse_initializer();
  *og->mutable_quantization_annotation() = g.quantization_annotation();
  for (const auto& n : g.node()) inliner.expand(n, og->mutable_node());

  // Opset imports, in the model's order: drop domains used only by the inlined calls, then append
  // imports the function bodies need that the model lacks.
  std::set<std::string> function_domains, used_domains;
  for (const auto& f : model.functions()) function_domains.insert(f.domain());
  for (const auto& n : og->node()) used_domains.insert(n.domain() == "ai.onnx" ? "" : n.domain());
  auto needed = [&](const std::string& domain) { return !function_domains.count(domain) || used_domains.count(domain); };
  std::map<std::string, int64_t> versions;
  for (const auto& imp : model.opset_import()) {
    versions[imp.domain()] = imp.version();
    if (needed(imp.domain())) *out.add_opset_import() = imp;
  }
  for (const auto& f : model.functions()) {
    for (const auto& imp : f.opset_import()) {
      auto [it, inserted] = versions.emplace(imp.domain(), imp.version());
      if (!inserted && it->second != imp.version())
        throw OnnxTextError(fmt::format("local function '{}' imports opset {} of domain '{}' but the model imports {}",
                                        f.name(), imp.version(), imp.domain(), it->second));
      if (inserted && needed(imp.domain())) *out.add_opset_import() = imp;
    }
  }
  return out;
}

}  // namespace nas::onnx_text
