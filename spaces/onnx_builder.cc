#include "spaces/onnx_builder.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

#include "core/error.h"

namespace nas::spaces {
namespace {

onnx::TypeProto tensor_type(onnx::TensorProto_DataType type, const std::vector<int64_t>& dims) {
  onnx::TypeProto t;
  auto* tensor = t.mutable_tensor_type();
  tensor->set_elem_type(type);
  auto* shape = tensor->mutable_shape();
  for (int64_t d : dims) shape->add_dim()->set_dim_value(d);
  return t;
}

void fill_node(onnx::NodeProto* n, std::string op_type, std::vector<std::string> inputs,
               std::vector<std::string> outputs, std::vector<onnx::AttributeProto> attrs, std::string domain) {
  n->set_op_type(std::move(op_type));
  if (!domain.empty()) n->set_domain(std::move(domain));
  for (auto& i : inputs) n->add_input(std::move(i));
  for (auto& o : outputs) n->add_output(std::move(o));
  for (auto& a : attrs) *n->add_attribute() = std::move(a);
}

}  // namespace

onnx::AttributeProto attr(const std::string& name, int64_t value) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::INT);
  a.set_i(value);
  return a;
}

onnx::AttributeProto attr(const std::string& name, int value) { return attr(name, static_cast<int64_t>(value)); }

onnx::AttributeProto attr(const std::string& name, float value) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::FLOAT);
  a.set_f(value);
  return a;
}

onnx::AttributeProto attr(const std::string& name, const std::string& value) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::STRING);
  a.set_s(value);
  return a;
}

onnx::AttributeProto attr(const std::string& name, const char* value) { return attr(name, std::string(value)); }

onnx::AttributeProto attr(const std::string& name, std::vector<int64_t> values) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::INTS);
  for (int64_t v : values) a.add_ints(v);
  return a;
}

onnx::AttributeProto attr(const std::string& name, std::initializer_list<int64_t> values) {
  return attr(name, std::vector<int64_t>(values));
}

onnx::AttributeProto attr_floats(const std::string& name, std::vector<float> values) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::FLOATS);
  for (float v : values) a.add_floats(v);
  return a;
}

FunctionBuilder::FunctionBuilder(std::string name, std::string domain) {
  fn_.set_name(std::move(name));
  fn_.set_domain(std::move(domain));
}

FunctionBuilder& FunctionBuilder::input(std::string name) {
  fn_.add_input(std::move(name));
  return *this;
}

FunctionBuilder& FunctionBuilder::output(std::string name) {
  fn_.add_output(std::move(name));
  return *this;
}

FunctionBuilder& FunctionBuilder::node(std::string op_type, std::vector<std::string> inputs,
                                       std::vector<std::string> outputs, std::vector<onnx::AttributeProto> attrs,
                                       std::string domain) {
  fill_node(fn_.add_node(), std::move(op_type), std::move(inputs), std::move(outputs), std::move(attrs),
            std::move(domain));
  return *this;
}

onnx::FunctionProto FunctionBuilder::build(int64_t opset) const {
  onnx::FunctionProto fn = fn_;
  auto* imp = fn.add_opset_import();
  imp->set_domain("");
  imp->set_version(opset);
  std::vector<std::string> domains;  // of nested calls, e.g. "nas"
  for (const auto& n : fn_.node())
    if (!n.domain().empty() && std::find(domains.begin(), domains.end(), n.domain()) == domains.end())
      domains.push_back(n.domain());
  for (const auto& d : domains) {
    auto* other = fn.add_opset_import();
    other->set_domain(d);
    other->set_version(1);
  }
  return fn;
}

GraphBuilder::GraphBuilder(std::string graph_name, WeightFill fill, uint64_t seed) : fill_(fill), rng_(seed) {
  model_.mutable_graph()->set_name(std::move(graph_name));
}

GraphBuilder& GraphBuilder::input(std::string name, onnx::TensorProto_DataType type,
                                  const std::vector<int64_t>& dims) {
  auto* v = model_.mutable_graph()->add_input();
  v->set_name(std::move(name));
  *v->mutable_type() = tensor_type(type, dims);
  return *this;
}

GraphBuilder& GraphBuilder::output(std::string name, onnx::TensorProto_DataType type,
                                   const std::vector<int64_t>& dims) {
  auto* v = model_.mutable_graph()->add_output();
  v->set_name(std::move(name));
  *v->mutable_type() = tensor_type(type, dims);
  return *this;
}

GraphBuilder& GraphBuilder::node(std::string op_type, std::vector<std::string> inputs,
                                 std::vector<std::string> outputs, std::vector<onnx::AttributeProto> attrs,
                                 std::string domain) {
  fill_node(model_.mutable_graph()->add_node(), std::move(op_type), std::move(inputs), std::move(outputs),
            std::move(attrs), std::move(domain));
  return *this;
}

GraphBuilder& GraphBuilder::initializer(std::string name, const std::vector<int64_t>& dims, ParamRole role) {
  auto* t = model_.mutable_graph()->add_initializer();
  t->set_name(std::move(name));
  t->set_data_type(onnx::TensorProto::FLOAT);
  int64_t numel = 1;
  for (int64_t d : dims) {
    NAS_CHECK(d >= 0, "initializer '{}' has a negative dimension", t->name());
    t->add_dims(d);
    numel *= d;
  }
  if (fill_ == WeightFill::kZeros) {
    t->mutable_raw_data()->assign(static_cast<size_t>(numel) * sizeof(float), '\0');
    return *this;
  }
  auto* data = t->mutable_float_data();
  data->Reserve(static_cast<int>(numel));
  switch (role) {
    case ParamRole::kWeight: {
      int64_t fan_in = 1;
      for (size_t i = 1; i < dims.size(); ++i) fan_in *= dims[i];
      double stddev = std::sqrt(2.0 / static_cast<double>(std::max<int64_t>(fan_in, 1)));
      for (int64_t i = 0; i < numel; ++i) data->AddAlreadyReserved(static_cast<float>(rng_.normal(0.0, stddev)));
      break;
    }
    case ParamRole::kOnes:
      for (int64_t i = 0; i < numel; ++i) data->AddAlreadyReserved(1.0f);
      break;
    case ParamRole::kZeros:
      for (int64_t i = 0; i < numel; ++i) data->AddAlreadyReserved(0.0f);
      break;
  }
  return *this;
}

GraphBuilder& GraphBuilder::function(onnx::FunctionProto fn) {
  for (const auto& f : functions_) NAS_CHECK(f.name() != fn.name(), "function '{}' registered twice", fn.name());
  functions_.push_back(std::move(fn));
  called_.push_back(false);
  return *this;
}

GraphBuilder& GraphBuilder::set_inline_calls(bool inline_calls) {
  inline_calls_ = inline_calls;
  return *this;
}

GraphBuilder& GraphBuilder::call(const std::string& name, std::vector<std::string> inputs,
                                 std::vector<std::string> outputs, const std::string& prefix) {
  size_t index = 0;
  while (index < functions_.size() && functions_[index].name() != name) ++index;
  NAS_CHECK(index < functions_.size(), "call of unregistered function '{}'", name);
  const onnx::FunctionProto& fn = functions_[index];
  NAS_CHECK(static_cast<int>(inputs.size()) == fn.input_size() && static_cast<int>(outputs.size()) == fn.output_size(),
            "call of '{}' binds {} inputs / {} outputs; the function has {} / {}", name, inputs.size(),
            outputs.size(), fn.input_size(), fn.output_size());
  if (!inline_calls_) {
    called_[index] = true;
    return node(name, std::move(inputs), std::move(outputs), {}, fn.domain());
  }
  // Expand the body in place: formals -> actuals, every other value -> prefix_value.
  std::unordered_map<std::string, std::string> rename;
  for (int i = 0; i < fn.input_size(); ++i) rename[fn.input(i)] = std::move(inputs[i]);
  for (int i = 0; i < fn.output_size(); ++i) rename[fn.output(i)] = std::move(outputs[i]);
  auto mapped = [&](const std::string& v) -> std::string {
    if (v.empty()) return v;
    auto it = rename.find(v);
    return it != rename.end() ? it->second : prefix + "_" + v;
  };
  for (const auto& body_node : fn.node()) {
    NAS_CHECK(body_node.domain() != fn.domain() || body_node.domain().empty(),
              "function '{}' calls another local function; GraphBuilder does not inline nested calls", name);
    auto* n = model_.mutable_graph()->add_node();
    *n = body_node;
    for (auto& i : *n->mutable_input()) i = mapped(i);
    for (auto& o : *n->mutable_output()) o = mapped(o);
  }
  return *this;
}

onnx::ModelProto GraphBuilder::build(int64_t ir_version, int64_t opset) && {
  model_.set_ir_version(ir_version);
  model_.set_producer_name("nas");
  auto* imp = model_.add_opset_import();
  imp->set_domain("");
  imp->set_version(opset);
  bool any_call = false;
  for (size_t i = 0; i < functions_.size(); ++i) {
    if (!called_[i]) continue;
    any_call = true;
    *model_.add_functions() = std::move(functions_[i]);
  }
  if (any_call) {
    auto* nas = model_.add_opset_import();
    nas->set_domain(kNasDomain);
    nas->set_version(1);
  }
  return std::move(model_);
}

std::vector<std::string> bn_inputs(const std::string& x, const std::string& prefix) {
  return {x, prefix + "_scale", prefix + "_bias", prefix + "_mean", prefix + "_var"};
}

void add_bn_params(GraphBuilder& b, const std::string& prefix, int64_t channels) {
  b.initializer(prefix + "_scale", {channels}, ParamRole::kOnes)
      .initializer(prefix + "_bias", {channels}, ParamRole::kZeros)
      .initializer(prefix + "_mean", {channels}, ParamRole::kZeros)
      .initializer(prefix + "_var", {channels}, ParamRole::kOnes);
}

}  // namespace nas::spaces
