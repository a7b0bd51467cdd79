#include "predictor/arch_graph.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <unordered_map>

#include <fmt/format.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>
#include <tbb/parallel_for.h>

#include "core/error.h"
#include "onnx_text/inline.h"

namespace nas::predictor {
namespace {

bool is_windowed(const std::string& op) {
  return op == "Conv" || op == "ConvTranspose" || op == "AveragePool" || op == "MaxPool";
}

// First element of an ints attribute, or `fallback` when the node does not set it.
int64_t first_int(const onnx::NodeProto& node, const std::string& name, int64_t fallback) {
  for (const auto& a : node.attribute())
    if (a.name() == name) {
      if (a.ints_size() > 0) return a.ints(0);
      if (a.has_i()) return a.i();
    }
  return fallback;
}

bool is_float_type(int32_t t) {
  return t == onnx::TensorProto::FLOAT || t == onnx::TensorProto::DOUBLE || t == onnx::TensorProto::FLOAT16 ||
         t == onnx::TensorProto::BFLOAT16;
}

}  // namespace

const std::vector<std::string>& arch_graph_op_types() {
  static const std::vector<std::string> ops = {
      "Conv", "BatchNormalization", "Relu", "HardSwish", "HardSigmoid", "AveragePool", "MaxPool",
      "GlobalAveragePool", "Add", "Sum", "Sub", "Mul", "Concat", "Split", "Gemm", "MatMul", "Flatten",
      "Identity", "SpaceToDepth", "Shape", "Gather", "ConstantOfShape", "other"};
  return ops;
}

const std::vector<std::string>& arch_graph_shape_feature_names() {
  static const std::vector<std::string> names = {"log_channels", "log_spatial", "kernel",    "stride",
                                                 "log_group",    "dilation",    "log_params"};
  return names;
}

int64_t arch_graph_feature_count() {
  return static_cast<int64_t>(arch_graph_op_types().size() + arch_graph_shape_feature_names().size());
}

ArchGraph model_graph(const onnx::ModelProto& input) {
  onnx::ModelProto model = onnx_text::inline_functions(input);
  try {
    onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions{/*check_type=*/false, /*error_mode=*/1,
                                                                   /*enable_data_propagation=*/true});
  } catch (const std::exception& e) {
    throw OnnxTextError(
        fmt::format("arch graph of model '{}': shape inference failed: {}", model.graph().name(), e.what()));
  }
  const auto& g = model.graph();
  std::unordered_map<std::string, const onnx::TypeProto*> types;
  for (const auto& v : g.input()) types[v.name()] = &v.type();
  for (const auto& v : g.value_info()) types[v.name()] = &v.type();
  for (const auto& v : g.output()) types[v.name()] = &v.type();
  std::unordered_map<std::string, const onnx::TensorProto*> inits;
  for (const auto& t : g.initializer()) inits[t.name()] = &t;

  const auto& ops = arch_graph_op_types();
  const int64_t width = arch_graph_feature_count(), n_ops = static_cast<int64_t>(ops.size());
  ArchGraph out;
  out.num_nodes = g.node_size();
  out.features.assign(static_cast<size_t>(out.num_nodes * width), 0.f);
  std::unordered_map<std::string, int32_t> producer;
  for (int32_t i = 0; i < g.node_size(); ++i) {
    const auto& node = g.node(i);
    float* row = out.features.data() + static_cast<int64_t>(i) * width;
    auto op = std::find(ops.begin(), ops.end() - 1, node.op_type());
    row[op - ops.begin()] = 1.f;
    float* shape = row + n_ops;
    // Output shape: [N, C, H, ...] or [N, C].
    if (node.output_size() > 0) {
      auto t = types.find(node.output(0));
      if (t != types.end() && t->second->has_tensor_type() && t->second->tensor_type().has_shape()) {
        const auto& dims = t->second->tensor_type().shape();
        if (dims.dim_size() >= 2 && dims.dim(1).has_dim_value())
          shape[0] = static_cast<float>(std::log1p(static_cast<double>(dims.dim(1).dim_value())));
        if (dims.dim_size() >= 3 && dims.dim(2).has_dim_value())
          shape[1] = static_cast<float>(std::log1p(static_cast<double>(dims.dim(2).dim_value())));
      }
    }
    if (is_windowed(node.op_type())) {
      int64_t kernel = first_int(node, "kernel_shape", 0);
      if (kernel == 0 && node.input_size() > 1) {
        auto w = inits.find(node.input(1));
        if (w != inits.end() && w->second->dims_size() > 2) kernel = w->second->dims(2);
      }
      shape[2] = static_cast<float>(kernel);
      shape[3] = static_cast<float>(first_int(node, "strides", 1));
      if (node.op_type() == "Conv" || node.op_type() == "ConvTranspose")
        shape[4] = static_cast<float>(
            std::log(static_cast<double>(std::max<int64_t>(1, first_int(node, "group", 1)))));
      shape[5] = static_cast<float>(first_int(node, "dilations", 1));
    }
    double params = 0;
    for (const auto& name : node.input()) {
      auto w = inits.find(name);
      if (w == inits.end() || !is_float_type(w->second->data_type())) continue;
      double elements = 1;
      for (int64_t d : w->second->dims()) elements *= static_cast<double>(d);
      params += elements;
    }
    shape[6] = static_cast<float>(std::log1p(params));
    // Edges from the producers of this node's inputs.
    std::vector<int32_t> from;
    for (const auto& name : node.input()) {
      auto p = producer.find(name);
      if (p != producer.end()) from.push_back(p->second);
    }
    std::sort(from.begin(), from.end());
    from.erase(std::unique(from.begin(), from.end()), from.end());
    for (int32_t f : from) out.edges.emplace_back(f, i);
    for (const auto& o : node.output())
      if (!o.empty()) producer[o] = i;
  }
  return out;
}

std::vector<ArchGraph> architecture_graphs(const spaces::SearchSpace& space,
                                           const std::vector<spaces::Genotype>& gs,
                                           const std::string& dataset) {
  std::vector<ArchGraph> out(gs.size());
  spaces::BuildOptions options;
  options.dataset = dataset;
  options.weights = spaces::WeightFill::kZeros;
  tbb::parallel_for(size_t{0}, gs.size(),
                    [&](size_t i) { out[i] = model_graph(space.build_model(gs[i], options)); });
  return out;
}

}  // namespace nas::predictor
