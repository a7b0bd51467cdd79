#include "predictor/onnx_executor.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <queue>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <c10/core/InferenceMode.h>
#include <torch/cuda.h>
#include <torch/types.h>

#include <fmt/format.h>

#include "core/rng.h"
#include "onnx_text/inline.h"
#include "predictor/rlm.h"

namespace nas::predictor {
namespace {

// One op's computation on its inputs (absent optional inputs are undefined tensors): its outputs
// (Kernel), or its only output (Op1).
using Kernel = std::function<std::vector<torch::Tensor>(const std::vector<torch::Tensor>&)>;
using Op1 = std::function<torch::Tensor(const std::vector<torch::Tensor>&)>;

// "node 'stem_conv' (Conv)", or the first output's name when the node has no name.
std::string describe(const onnx::NodeProto& node) {
  if (!node.name().empty()) return fmt::format("node '{}' ({})", node.name(), node.op_type());
  return fmt::format("node with output '{}' ({})", node.output_size() ? node.output(0) : "", node.op_type());
}

[[noreturn]] void unsupported(const onnx::NodeProto& node, const std::string& what) {
  throw UnsupportedOpError(
      fmt::format("onnx executor: op '{}' ({}): {}", node.op_type(), describe(node), what));
}

// Typed access to a node's attributes, with the op's defaults; rejects attributes the op does not list.
class Attrs {
 public:
  Attrs(const onnx::NodeProto& node, std::initializer_list<const char*> allowed) : node_(node) {
    for (const auto& a : node.attribute()) {
      if (std::none_of(allowed.begin(), allowed.end(), [&](const char* n) { return a.name() == n; }))
        unsupported(node, fmt::format("attribute '{}' is not supported", a.name()));
      by_name_[a.name()] = &a;
    }
  }
  bool has(const std::string& name) const { return by_name_.count(name) > 0; }
  int64_t i(const std::string& name, int64_t def) const {
    const auto* a = get(name, onnx::AttributeProto::INT);
    return a ? a->i() : def;
  }
  float f(const std::string& name, float def) const {
    const auto* a = get(name, onnx::AttributeProto::FLOAT);
    return a ? a->f() : def;
  }
  std::string s(const std::string& name, const std::string& def) const {
    const auto* a = get(name, onnx::AttributeProto::STRING);
    return a ? a->s() : def;
  }
  std::vector<int64_t> ints(const std::string& name, std::vector<int64_t> def) const {
    const auto* a = get(name, onnx::AttributeProto::INTS);
    return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : def;
  }

 private:
  const onnx::AttributeProto* get(const std::string& name, onnx::AttributeProto::AttributeType type) const {
    auto it = by_name_.find(name);
    if (it == by_name_.end()) return nullptr;
    if (it->second->type() != type)
      unsupported(node_, fmt::format("attribute '{}' has type {}, expected {}", name,
                                     onnx::AttributeProto::AttributeType_Name(it->second->type()),
                                     onnx::AttributeProto::AttributeType_Name(type)));
    return it->second;
  }
  const onnx::NodeProto& node_;
  std::map<std::string, const onnx::AttributeProto*> by_name_;
};

// What the planner knows about a node's inputs at plan time.
struct NodeContext {
  const onnx::NodeProto& node;
  // For each input: the initializer tensor when it is one (on the device), else undefined.
  std::vector<torch::Tensor> constants;
  torch::Device device;
};

// Checks the input count, and that only the first output is used (BatchNormalization's training outputs
// and MaxPool's Indices must be omitted).
void require_inputs(const onnx::NodeProto& node, int lo, int hi) {
  if (node.input_size() < lo || node.input_size() > hi)
    unsupported(node, fmt::format("{} inputs, expected {}{}", node.input_size(), lo,
                                  hi == lo    ? std::string()
                                  : hi > 1000 ? " or more"
                                              : fmt::format(" to {}", hi)));
  if (node.output_size() < 1) unsupported(node, "no output");
  for (int k = 1; k < node.output_size(); ++k)
    if (!node.output(k).empty())
      unsupported(node, fmt::format("output {} ('{}') is not supported", k, node.output(k)));
}

void require_notset_auto_pad(const onnx::NodeProto& node, const Attrs& a) {
  std::string auto_pad = a.s("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET")
    unsupported(node, fmt::format("auto_pad '{}' (only NOTSET, with explicit pads)", auto_pad));
}

// Spatial rank of a convolution / pooling node from its attributes (and its weight, when constant).
size_t spatial_rank(const NodeContext& ctx, const Attrs& a, bool has_weight) {
  if (a.has("kernel_shape")) return a.ints("kernel_shape", {}).size();
  if (has_weight && ctx.constants.size() > 1 && ctx.constants[1].defined()) return ctx.constants[1].dim() - 2;
  unsupported(ctx.node, "kernel_shape is required (its weight is not an initializer)");
}

std::vector<int64_t> sized(const onnx::NodeProto& node, const Attrs& a, const std::string& name, size_t n,
                           int64_t def) {
  auto v = a.ints(name, std::vector<int64_t>(n, def));
  if (v.size() != n)
    unsupported(node, fmt::format("attribute '{}' has {} values, expected {}", name, v.size(), n));
  return v;
}

// ONNX pads [b_1..b_n, e_1..e_n] as LibTorch's symmetric padding, or an explicit constant_pad_nd
// argument (last axis first: [b_n, e_n, ..., b_1, e_1]) when some axis is asymmetric.
struct Padding {
  std::vector<int64_t> symmetric;
  std::vector<int64_t> explicit_pad;  // empty when symmetric
};
Padding resolve_pads(const onnx::NodeProto& node, const Attrs& a, size_t rank) {
  auto pads = sized(node, a, "pads", 2 * rank, 0);
  Padding p;
  bool symmetric = true;
  for (size_t d = 0; d < rank; ++d) {
    if (pads[d] < 0 || pads[d + rank] < 0) unsupported(node, "negative pads");
    symmetric = symmetric && pads[d] == pads[d + rank];
  }
  if (symmetric) {
    p.symmetric.assign(pads.begin(), pads.begin() + static_cast<std::ptrdiff_t>(rank));
    return p;
  }
  p.symmetric.assign(rank, 0);
  for (size_t d = rank; d-- > 0;) {
    p.explicit_pad.push_back(pads[d]);
    p.explicit_pad.push_back(pads[d + rank]);
  }
  return p;
}

// ONNX auto_pad SAME_UPPER / SAME_LOWER for input `x` and weight `w`: output size ceil(in / stride), the
// total padding of each axis split evenly, the odd pixel at the end (UPPER) or the beginning (LOWER).
// Returns constant_pad_nd's argument (last axis first).
std::vector<int64_t> same_pads(const torch::Tensor& x, const torch::Tensor& w,
                               const std::vector<int64_t>& strides, const std::vector<int64_t>& dilations,
                               bool upper) {
  const size_t rank = strides.size();
  std::vector<int64_t> pad(2 * rank);
  for (size_t d = 0; d < rank; ++d) {
    int64_t in = x.size(static_cast<int64_t>(d) + 2), k = w.size(static_cast<int64_t>(d) + 2);
    int64_t out = (in + strides[d] - 1) / strides[d];
    int64_t total = std::max<int64_t>(0, (out - 1) * strides[d] + (k - 1) * dilations[d] + 1 - in);
    int64_t begin = upper ? total / 2 : total - total / 2;
    pad[2 * (rank - 1 - d)] = begin;
    pad[2 * (rank - 1 - d) + 1] = total - begin;
  }
  return pad;
}

Op1 plan_conv(const NodeContext& ctx) {
  const auto& node = ctx.node;
  require_inputs(node, 2, 3);
  Attrs a(node, {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"});
  const std::string auto_pad = a.s("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "VALID" && auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER")
    unsupported(node, fmt::format("auto_pad '{}'", auto_pad));
  if (auto_pad != "NOTSET" && a.has("pads"))
    unsupported(node, fmt::format("pads together with auto_pad '{}'", auto_pad));
  size_t rank = spatial_rank(ctx, a, /*has_weight=*/true);
  if (rank < 1 || rank > 3)
    unsupported(node, fmt::format("{}-D convolution (1-D to 3-D are supported)", rank));
  const torch::Tensor& w = ctx.constants[1];
  if (w.defined() && a.has("kernel_shape")) {
    auto ks = a.ints("kernel_shape", {});
    if (static_cast<size_t>(w.dim()) != rank + 2 || !std::equal(ks.begin(), ks.end(), w.sizes().begin() + 2))
      unsupported(node, fmt::format("kernel_shape {} does not match the weight's shape {}",
                                    fmt::join(ks, "x"), fmt::join(w.sizes(), "x")));
  }
  auto strides = sized(node, a, "strides", rank, 1);
  auto dilations = sized(node, a, "dilations", rank, 1);
  int64_t group = a.i("group", 1);
  if (group < 1) unsupported(node, fmt::format("group {}", group));
  Padding pads = resolve_pads(node, a, rank);
  std::vector<int64_t> output_padding(rank, 0);
  const bool same = auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER", upper = auto_pad == "SAME_UPPER";
  return [=](const std::vector<torch::Tensor>& in) {
    torch::Tensor bias = in.size() > 2 ? in[2] : torch::Tensor();
    if (same) {
      std::vector<int64_t> pad = same_pads(in[0], in[1], strides, dilations, upper);
      std::vector<int64_t> symmetric(rank);
      bool is_symmetric = true;
      for (size_t d = 0; d < rank; ++d) {
        symmetric[d] = pad[2 * (rank - 1 - d)];
        is_symmetric = is_symmetric && pad[2 * d] == pad[2 * d + 1];
      }
      if (is_symmetric)
        return at::convolution(in[0], in[1], bias, strides, symmetric, dilations, false, output_padding,
                               group);
      return at::convolution(at::constant_pad_nd(in[0], pad, 0), in[1], bias, strides,
                             std::vector<int64_t>(rank, 0), dilations, false, output_padding, group);
    }
    torch::Tensor x = pads.explicit_pad.empty() ? in[0] : at::constant_pad_nd(in[0], pads.explicit_pad, 0);
    return at::convolution(x, in[1], bias, strides, pads.symmetric, dilations, /*transposed=*/false,
                           output_padding, group);
  };
}

Op1 plan_batch_norm(const NodeContext& ctx) {
  const auto& node = ctx.node;
  require_inputs(node, 5, 5);
  Attrs a(node, {"epsilon", "momentum", "training_mode"});
  if (a.i("training_mode", 0) != 0) unsupported(node, "training_mode 1 (only inference)");
  double eps = a.f("epsilon", 1e-5f);
  return [=](const std::vector<torch::Tensor>& in) {
    return at::batch_norm(in[0], in[1], in[2], in[3], in[4], /*training=*/false, /*momentum=*/0.0, eps,
                          /*cudnn_enabled=*/true);
  };
}

Op1 plan_pool(const NodeContext& ctx, bool max) {
  const auto& node = ctx.node;
  require_inputs(node, 1, 1);
  Attrs a =
      max ? Attrs(node,
                  {"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"})
          : Attrs(node, {"auto_pad", "ceil_mode", "count_include_pad", "kernel_shape", "pads", "strides"});
  require_notset_auto_pad(node, a);
  if (!a.has("kernel_shape")) unsupported(node, "kernel_shape is required");
  auto kernel = a.ints("kernel_shape", {});
  if (kernel.size() != 2)
    unsupported(node, fmt::format("{}-D pooling (only 2-D is supported)", kernel.size()));
  auto strides = sized(node, a, "strides", 2, 1);
  Padding pads = resolve_pads(node, a, 2);
  if (!pads.explicit_pad.empty()) unsupported(node, "asymmetric pads");
  for (size_t d = 0; d < 2; ++d)
    if (pads.symmetric[d] > kernel[d] / 2)
      unsupported(node, fmt::format("pad {} larger than half the kernel {}", pads.symmetric[d], kernel[d]));
  bool ceil_mode = a.i("ceil_mode", 0) != 0;
  if (max) {
    if (a.i("storage_order", 0) != 0) unsupported(node, "storage_order 1");
    auto dilations = sized(node, a, "dilations", 2, 1);
    return [=](const std::vector<torch::Tensor>& in) {
      return at::max_pool2d(in[0], kernel, strides, pads.symmetric, dilations, ceil_mode);
    };
  }
  bool count_include_pad = a.i("count_include_pad", 0) != 0;
  return [=](const std::vector<torch::Tensor>& in) {
    return at::avg_pool2d(in[0], kernel, strides, pads.symmetric, ceil_mode, count_include_pad);
  };
}

Op1 plan_gemm(const NodeContext& ctx) {
  const auto& node = ctx.node;
  require_inputs(node, 2, 3);
  Attrs a(node, {"alpha", "beta", "transA", "transB"});
  double alpha = a.f("alpha", 1.0f), beta = a.f("beta", 1.0f);
  bool trans_a = a.i("transA", 0) != 0, trans_b = a.i("transB", 0) != 0;
  return [=](const std::vector<torch::Tensor>& in) {
    torch::Tensor x = trans_a ? in[0].t() : in[0];
    torch::Tensor w = trans_b ? in[1].t() : in[1];
    if (in.size() < 3 || !in[2].defined()) return alpha == 1.0 ? at::mm(x, w) : at::mm(x, w) * alpha;
    return at::addmm(in[2], x, w, beta, alpha);
  };
}

Op1 plan_reshape(const NodeContext& ctx) {
  const auto& node = ctx.node;
  require_inputs(node, 2, 2);
  Attrs a(node, {"allowzero"});
  if (a.i("allowzero", 0) != 0) unsupported(node, "allowzero 1");
  return [](const std::vector<torch::Tensor>& in) {
    torch::Tensor s = in[1].to(torch::kCPU, torch::kLong).contiguous();
    std::vector<int64_t> shape(s.data_ptr<int64_t>(), s.data_ptr<int64_t>() + s.numel());
    for (size_t d = 0; d < shape.size(); ++d)
      if (shape[d] == 0) shape[d] = in[0].size(static_cast<int64_t>(d));
    return in[0].reshape(shape);
  };
}

Op1 plan_gather(const NodeContext& ctx) {
  const auto& node = ctx.node;
  require_inputs(node, 2, 2);
  Attrs a(node, {"axis"});
  int64_t axis = a.i("axis", 0);
  // Constant indices without negative entries (the spaces' channel permutations) skip the wrap-around.
  bool wrap = !ctx.constants[1].defined() || ctx.constants[1].lt(0).any().item<bool>();
  return [=](const std::vector<torch::Tensor>& in) {
    const torch::Tensor& x = in[0];
    int64_t ax = axis < 0 ? axis + x.dim() : axis;
    torch::Tensor idx = in[1];
    if (wrap) idx = at::where(idx < 0, idx + x.size(ax), idx);
    if (idx.dim() == 0) return x.select(ax, idx.item<int64_t>());
    torch::Tensor out = at::index_select(x, ax, idx.reshape({-1}));
    if (idx.dim() == 1) return out;
    std::vector<int64_t> shape(x.sizes().begin(), x.sizes().begin() + ax);
    shape.insert(shape.end(), idx.sizes().begin(), idx.sizes().end());
    shape.insert(shape.end(), x.sizes().begin() + ax + 1, x.sizes().end());
    return out.reshape(shape);
  };
}

Op1 plan_flatten(const NodeContext& ctx) {
  require_inputs(ctx.node, 1, 1);
  Attrs a(ctx.node, {"axis"});
  int64_t axis = a.i("axis", 1);
  return [=](const std::vector<torch::Tensor>& in) {
    int64_t ax = axis < 0 ? axis + in[0].dim() : axis;
    int64_t outer = 1;
    for (int64_t d = 0; d < ax; ++d) outer *= in[0].size(d);
    return in[0].reshape({outer, -1});
  };
}

Op1 plan_hard_sigmoid(const NodeContext& ctx) {
  require_inputs(ctx.node, 1, 1);
  Attrs a(ctx.node, {"alpha", "beta"});
  double alpha = a.f("alpha", 0.2f), beta = a.f("beta", 0.5f);
  if (std::abs(alpha - 1.0 / 6.0) < 1e-7 && beta == 0.5)
    return [](const std::vector<torch::Tensor>& in) { return at::hardsigmoid(in[0]); };
  return [=](const std::vector<torch::Tensor>& in) { return at::hardtanh(in[0] * alpha + beta, 0.0, 1.0); };
}

// ONNX Shape (start, end): the dims of the input as an int64 tensor, on the CPU (shapes are metadata:
// the ops that read them, ConstantOfShape and Reshape, need them there).
Op1 plan_shape(const NodeContext& ctx) {
  require_inputs(ctx.node, 1, 1);
  Attrs a(ctx.node, {"end", "start"});
  int64_t start = a.i("start", 0), end = a.i("end", std::numeric_limits<int64_t>::max());
  return [=](const std::vector<torch::Tensor>& in) {
    const int64_t rank = in[0].dim();
    auto clamp = [&](int64_t v) { return std::clamp(v < 0 ? v + rank : v, int64_t{0}, rank); };
    std::vector<int64_t> dims(in[0].sizes().begin() + clamp(start),
                              in[0].sizes().begin() + std::max(clamp(start), clamp(end)));
    return torch::from_blob(dims.data(), {static_cast<int64_t>(dims.size())}, torch::kLong).clone();
  };
}

// ONNX ConstantOfShape: a float32 tensor of the shape given by the (CPU, int64) input, every element the
// `value` attribute (default 0), on the executor's device.
Op1 plan_constant_of_shape(const NodeContext& ctx) {
  const auto& node = ctx.node;
  require_inputs(node, 1, 1);
  Attrs(node, {"value"});
  float value = 0.0f;
  for (const auto& a : node.attribute()) {
    const auto& t = a.t();
    int64_t n = 1;
    for (auto d : t.dims()) n *= d;
    if (a.type() != onnx::AttributeProto::TENSOR || t.data_type() != onnx::TensorProto::FLOAT || n != 1)
      unsupported(node, "attribute 'value' must be a one-element float32 tensor");
    if (t.has_raw_data() && t.raw_data().size() == sizeof(float))
      std::memcpy(&value, t.raw_data().data(), sizeof(float));
    else if (t.float_data_size() == 1)
      value = t.float_data(0);
    else
      unsupported(node, "attribute 'value' holds no value");
  }
  const torch::Device device = ctx.device;
  return [=](const std::vector<torch::Tensor>& in) {
    torch::Tensor s = in[0].to(torch::kCPU, torch::kLong).contiguous();
    std::vector<int64_t> shape(s.data_ptr<int64_t>(), s.data_ptr<int64_t>() + s.numel());
    return torch::full(shape, value, torch::TensorOptions().dtype(torch::kFloat).device(device));
  };
}

// ONNX SpaceToDepth (blocksize b): [N, C, H, W] -> [N, C * b * b, H / b, W / b], the channel index
// being (i * b + j) * C + c for the pixel (i, j) of each b x b block (the spec's reshape-transpose-reshape).
Op1 plan_space_to_depth(const NodeContext& ctx) {
  require_inputs(ctx.node, 1, 1);
  Attrs a(ctx.node, {"blocksize"});
  if (!a.has("blocksize") || a.i("blocksize", 0) < 1)
    unsupported(ctx.node, "attribute 'blocksize' >= 1 is required");
  int64_t b = a.i("blocksize", 1);
  return [=](const std::vector<torch::Tensor>& in) {
    const torch::Tensor& x = in[0];
    int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    return x.reshape({n, c, h / b, b, w / b, b})
        .permute({0, 3, 5, 1, 2, 4})
        .reshape({n, c * b * b, h / b, w / b});
  };
}

// ONNX Split along `axis`: sizes from the optional second input (opset 13+) or the `split` attribute
// (opset < 13), else equal parts, one per output.
Kernel plan_split(const NodeContext& ctx) {
  const auto& node = ctx.node;
  if (node.input_size() < 1 || node.input_size() > 2)
    unsupported(node, fmt::format("{} inputs", node.input_size()));
  Attrs a(node, {"axis", "split"});
  int64_t axis = a.i("axis", 0);
  std::vector<int64_t> sizes = a.ints("split", {});
  const int64_t parts = node.output_size();
  for (const auto& o : node.output())
    if (o.empty()) unsupported(node, "an omitted output");
  return [=](const std::vector<torch::Tensor>& in) {
    std::vector<int64_t> split = sizes;
    if (in.size() > 1 && in[1].defined()) {
      torch::Tensor s = in[1].to(torch::kCPU, torch::kLong).contiguous();
      split.assign(s.data_ptr<int64_t>(), s.data_ptr<int64_t>() + s.numel());
    }
    if (split.empty()) {
      int64_t dim = in[0].size(axis);
      TORCH_CHECK(dim % parts == 0, "Split: dim ", dim, " of axis ", axis, " is not divisible into ", parts,
                  " parts");
      split.assign(static_cast<size_t>(parts), dim / parts);
    }
    TORCH_CHECK(static_cast<int64_t>(split.size()) == parts, "Split: ", split.size(), " sizes for ", parts,
                " outputs");
    return at::split_with_sizes(in[0], split, axis);
  };
}

// An op with no attributes and exactly `n` inputs computed by `f`.
Op1 plain(const NodeContext& ctx, int n, Op1 f) {
  require_inputs(ctx.node, n, n);
  Attrs(ctx.node, {});  // rejects any attribute
  return f;
}

using Planner = std::function<Kernel(const NodeContext&)>;

// A planner of a one-output op.
Planner one(std::function<Op1(const NodeContext&)> plan) {
  return [plan](const NodeContext& c) -> Kernel {
    Op1 f = plan(c);
    return [f](const std::vector<torch::Tensor>& in) { return std::vector<torch::Tensor>{f(in)}; };
  };
}

const std::map<std::string, Planner>& planners() {
  static const std::map<std::string, Planner> table = {
      {"Add", one([](const NodeContext& c) {
         return plain(c, 2, [](const auto& in) { return at::add(in[0], in[1]); });
       })},
      {"AveragePool", one([](const NodeContext& c) { return plan_pool(c, /*max=*/false); })},
      {"BatchNormalization", one(plan_batch_norm)},
      {"Concat", one([](const NodeContext& c) -> Op1 {
         require_inputs(c.node, 1, 1 << 20);
         Attrs a(c.node, {"axis"});
         if (!a.has("axis")) unsupported(c.node, "attribute 'axis' is required");
         int64_t axis = a.i("axis", 0);
         return [axis](const std::vector<torch::Tensor>& in) { return at::cat(in, axis); };
       })},
      {"ConstantOfShape", one(plan_constant_of_shape)},
      {"Conv", one(plan_conv)},
      {"Flatten", one(plan_flatten)},
      {"Gather", one(plan_gather)},
      {"Gemm", one(plan_gemm)},
      {"GlobalAveragePool", one([](const NodeContext& c) {
         return plain(c, 1, [](const auto& in) {
           std::vector<int64_t> dims;
           for (int64_t d = 2; d < in[0].dim(); ++d) dims.push_back(d);
           return at::mean(in[0], dims, /*keepdim=*/true);
         });
       })},
      {"HardSigmoid", one(plan_hard_sigmoid)},
      {"HardSwish", one([](const NodeContext& c) {
         return plain(c, 1, [](const auto& in) { return at::hardswish(in[0]); });
       })},
      {"Identity",
       one([](const NodeContext& c) { return plain(c, 1, [](const auto& in) { return in[0]; }); })},
      {"MatMul", one([](const NodeContext& c) {
         return plain(c, 2, [](const auto& in) { return at::matmul(in[0], in[1]); });
       })},
      {"MaxPool", one([](const NodeContext& c) { return plan_pool(c, /*max=*/true); })},
      {"Mul", one([](const NodeContext& c) {
         return plain(c, 2, [](const auto& in) { return at::mul(in[0], in[1]); });
       })},
      {"Relu",
       one([](const NodeContext& c) { return plain(c, 1, [](const auto& in) { return at::relu(in[0]); }); })},
      {"Reshape", one(plan_reshape)},
      {"Shape", one(plan_shape)},
      {"Sigmoid", one([](const NodeContext& c) {
         return plain(c, 1, [](const auto& in) { return at::sigmoid(in[0]); });
       })},
      {"SpaceToDepth", one(plan_space_to_depth)},
      {"Split", plan_split},
      {"Sub", one([](const NodeContext& c) {
         return plain(c, 2, [](const auto& in) { return at::sub(in[0], in[1]); });
       })},
      {"Sum", one([](const NodeContext& c) -> Op1 {
         require_inputs(c.node, 1, 1 << 20);
         Attrs(c.node, {});
         return [](const std::vector<torch::Tensor>& in) {
           torch::Tensor acc = in[0];
           for (size_t k = 1; k < in.size(); ++k) acc = k == 1 ? at::add(acc, in[k]) : acc.add_(in[k]);
           return acc;
         };
       })},
  };
  return table;
}

int64_t numel(const onnx::TensorProto& t) {
  int64_t n = 1;
  for (auto d : t.dims()) {
    if (d < 0)
      throw OnnxTextError(fmt::format("onnx executor: initializer '{}' has a negative dim", t.name()));
    n *= d;
  }
  return n;
}

// The initializer as a CPU tensor. Float tensors stored without data are filled as ExecutorOptions::seed
// documents; integer ones must carry data.
torch::Tensor initializer_tensor(const onnx::TensorProto& t, Rng& rng) {
  std::vector<int64_t> dims(t.dims().begin(), t.dims().end());
  const int64_t n = numel(t);
  if (t.data_location() == onnx::TensorProto::EXTERNAL)
    throw OnnxTextError(
        fmt::format("onnx executor: initializer '{}': external data is not supported", t.name()));
  auto bad_size = [&](size_t got, const char* field) {
    return OnnxTextError(
        fmt::format("onnx executor: initializer '{}': {} holds {} values, its shape [{}] needs {}", t.name(),
                    field, got, fmt::join(dims, ","), n));
  };
  if (t.data_type() == onnx::TensorProto::FLOAT) {
    torch::Tensor out = torch::empty(dims, torch::kFloat);
    float* p = out.data_ptr<float>();
    if (t.has_raw_data()) {
      if (t.raw_data().size() != static_cast<size_t>(n) * sizeof(float))
        throw bad_size(t.raw_data().size() / 4, "raw_data");
      std::memcpy(p, t.raw_data().data(), t.raw_data().size());
    } else if (t.float_data_size() > 0) {
      if (t.float_data_size() != n) throw bad_size(static_cast<size_t>(t.float_data_size()), "float_data");
      std::copy(t.float_data().begin(), t.float_data().end(), p);
    } else if (dims.size() >= 2) {
      const double fan_in = static_cast<double>(n / std::max<int64_t>(dims[0], 1));
      const double bound = std::sqrt(3.0 / std::max(fan_in, 1.0));
      for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>((2.0 * rng.uniform() - 1.0) * bound);
    } else {
      for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(0.5 + rng.uniform());
    }
    return out;
  }
  if (t.data_type() == onnx::TensorProto::INT64) {
    torch::Tensor out = torch::empty(dims, torch::kLong);
    int64_t* p = out.data_ptr<int64_t>();
    if (t.has_raw_data()) {
      if (t.raw_data().size() != static_cast<size_t>(n) * sizeof(int64_t))
        throw bad_size(t.raw_data().size() / 8, "raw_data");
      std::memcpy(p, t.raw_data().data(), t.raw_data().size());
    } else {
      if (t.int64_data_size() != n) throw bad_size(static_cast<size_t>(t.int64_data_size()), "int64_data");
      std::copy(t.int64_data().begin(), t.int64_data().end(), p);
    }
    return out;
  }
  throw OnnxTextError(
      fmt::format("onnx executor: initializer '{}': dtype {} is not supported (float32, int64)", t.name(),
                  onnx::TensorProto::DataType_Name(t.data_type())));
}

torch::Device parse_device(const std::string& name) {
  torch::Device device(torch::kCPU);
  try {
    device = torch::Device(name);
  } catch (const c10::Error&) {
    throw ConfigError(fmt::format("device '{}': expected cpu, cuda or cuda:N", name));
  }
  if (device.is_cuda()) {
    if (!torch::cuda::is_available())
      throw ConfigError(fmt::format("device '{}': CUDA is not available", name));
    if (device.has_index() && device.index() >= static_cast<int64_t>(torch::cuda::device_count()))
      throw ConfigError(
          fmt::format("device '{}': only {} CUDA device(s)", name, torch::cuda::device_count()));
  } else if (!device.is_cpu()) {
    throw ConfigError(fmt::format("device '{}': expected cpu, cuda or cuda:N", name));
  }
  return device;
}

}  // namespace

struct OnnxExecutor::Impl {
  struct Step {
    std::string op_type, where;  // where: describe(node), for run-time errors
    Kernel kernel;
    std::vector<int> inputs;   // slot ids; -1 = absent optional input
    std::vector<int> outputs;  // slot ids
    std::vector<int> release;  // slots whose last reader is this step
  };

  torch::Device device{torch::kCPU};
  std::vector<torch::Tensor> slots;  // values by slot id; initializers stay, the rest live during a run
  std::vector<Step> steps;
  int input_slot = -1;
  std::vector<int64_t> input_shape;
  std::vector<int> output_slots;
  torch::Tensor seeded_input;  // on the device

  std::vector<torch::Tensor> forward(const torch::Tensor& input) {
    c10::InferenceMode guard;
    slots[static_cast<size_t>(input_slot)] = input;
    std::vector<torch::Tensor> args;
    for (const auto& step : steps) {
      args.clear();
      for (int s : step.inputs) args.push_back(s < 0 ? torch::Tensor() : slots[static_cast<size_t>(s)]);
      try {
        std::vector<torch::Tensor> out = step.kernel(args);
        for (size_t k = 0; k < step.outputs.size(); ++k)
          slots[static_cast<size_t>(step.outputs[k])] = std::move(out[k]);
      } catch (const c10::Error& e) {
        throw Error(fmt::format("onnx executor: {}: {}", step.where, e.what_without_backtrace()));
      }
      for (int s : step.release) slots[static_cast<size_t>(s)] = torch::Tensor();
    }
    // Graph outputs stay in their slots until the next run overwrites them.
    std::vector<torch::Tensor> out;
    for (int s : output_slots) out.push_back(slots[static_cast<size_t>(s)]);
    return out;
  }
};

OnnxExecutor::OnnxExecutor(const onnx::ModelProto& model_in, const ExecutorOptions& options)
    : impl_(std::make_unique<Impl>()) {
  if (options.batch_size < 1)
    throw ConfigError(fmt::format("batch size {}: must be >= 1", options.batch_size));
  impl_->device = parse_device(options.device);
  const onnx::ModelProto model =
      model_in.functions_size() > 0 ? onnx_text::inline_functions(model_in) : model_in;
  const auto& graph = model.graph();
  auto& slots = impl_->slots;
  std::unordered_map<std::string, int> slot_of;
  auto new_slot = [&](const std::string& name) {
    slot_of[name] = static_cast<int>(slots.size());
    slots.emplace_back();
    return slot_of[name];
  };

  // Initializers, uploaded once.
  std::unordered_set<int> constant_slots;
  Rng fill_rng(derive_seed(options.seed, 1));
  for (const auto& t : graph.initializer()) {
    int s = new_slot(t.name());
    slots[static_cast<size_t>(s)] = initializer_tensor(t, fill_rng).to(impl_->device);
    constant_slots.insert(s);
  }
  // The data input: the first graph input that is not an initializer.
  for (const auto& in : graph.input()) {
    if (slot_of.count(in.name())) continue;
    if (impl_->input_slot >= 0)
      throw OnnxTextError(fmt::format("onnx executor: graph has more than one data input ('{}')", in.name()));
    if (!in.type().has_tensor_type() || in.type().tensor_type().elem_type() != onnx::TensorProto::FLOAT)
      throw OnnxTextError(fmt::format("onnx executor: graph input '{}' is not a float32 tensor", in.name()));
    const auto& shape = in.type().tensor_type().shape();
    for (int d = 0; d < shape.dim_size(); ++d) {
      if (d == 0) {
        impl_->input_shape.push_back(options.batch_size);
      } else if (shape.dim(d).has_dim_value()) {
        impl_->input_shape.push_back(shape.dim(d).dim_value());
      } else {
        throw OnnxTextError(
            fmt::format("onnx executor: graph input '{}': dim {} is not static", in.name(), d));
      }
    }
    impl_->input_slot = new_slot(in.name());
  }
  if (impl_->input_slot < 0) throw OnnxTextError("onnx executor: graph has no data input");

  // Topological order, stable: among ready nodes the earliest in the proto goes first.
  const int n = graph.node_size();
  std::unordered_map<std::string, int> producer;
  for (int i = 0; i < n; ++i)
    for (const auto& o : graph.node(i).output())
      if (!o.empty()) {
        if (slot_of.count(o) || !producer.emplace(o, i).second)
          throw OnnxTextError(fmt::format("onnx executor: value '{}' is defined twice", o));
      }
  std::vector<int> pending(static_cast<size_t>(n), 0);
  std::vector<std::vector<int>> consumers(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    for (const auto& name : graph.node(i).input()) {
      if (name.empty() || slot_of.count(name)) continue;
      auto it = producer.find(name);
      if (it == producer.end())
        throw OnnxTextError(
            fmt::format("onnx executor: {} reads undefined value '{}'", describe(graph.node(i)), name));
      ++pending[static_cast<size_t>(i)];
      consumers[static_cast<size_t>(it->second)].push_back(i);
    }
  }
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int i = 0; i < n; ++i)
    if (pending[static_cast<size_t>(i)] == 0) ready.push(i);
  std::vector<int> order;
  while (!ready.empty()) {
    int i = ready.top();
    ready.pop();
    order.push_back(i);
    for (int c : consumers[static_cast<size_t>(i)])
      if (--pending[static_cast<size_t>(c)] == 0) ready.push(c);
  }
  if (static_cast<int>(order.size()) != n) throw OnnxTextError("onnx executor: the graph has a cycle");

  // Steps with resolved attributes.
  std::vector<int> last_reader;  // by slot: index of the last step reading it, -1 = none
  for (int i : order) {
    const auto& node = graph.node(i);
    if (!node.domain().empty() && node.domain() != "ai.onnx")
      throw UnsupportedOpError(fmt::format("onnx executor: op '{}.{}' ({}): unsupported domain '{}'",
                                           node.domain(), node.op_type(), describe(node), node.domain()));
    auto planner = planners().find(node.op_type());
    if (planner == planners().end())
      throw UnsupportedOpError(fmt::format("onnx executor: unsupported op '{}' ({}); supported: {}",
                                           node.op_type(), describe(node), fmt::join(supported_ops(), ", ")));
    NodeContext ctx{node, {}, impl_->device};
    Impl::Step step;
    step.op_type = node.op_type();
    step.where = describe(node);
    for (const auto& name : node.input()) {
      int s = name.empty() ? -1 : slot_of.at(name);
      step.inputs.push_back(s);
      ctx.constants.push_back(s >= 0 && constant_slots.count(s) ? slots[static_cast<size_t>(s)]
                                                                : torch::Tensor());
    }
    step.kernel = planner->second(ctx);
    for (int k = 0; k < node.output_size(); ++k)
      if (k == 0 || !node.output(k).empty()) step.outputs.push_back(new_slot(node.output(k)));
    impl_->steps.push_back(std::move(step));
  }
  for (const auto& o : graph.output()) {
    auto it = slot_of.find(o.name());
    if (it == slot_of.end())
      throw OnnxTextError(fmt::format("onnx executor: graph output '{}' is never defined", o.name()));
    impl_->output_slots.push_back(it->second);
  }
  if (impl_->output_slots.empty()) throw OnnxTextError("onnx executor: graph has no output");

  // Free every intermediate value after its last reader (graph outputs and initializers are kept).
  last_reader.assign(slots.size(), -1);
  for (size_t k = 0; k < impl_->steps.size(); ++k)
    for (int s : impl_->steps[k].inputs)
      if (s >= 0) last_reader[static_cast<size_t>(s)] = static_cast<int>(k);
  std::unordered_set<int> kept(constant_slots.begin(), constant_slots.end());
  kept.insert(impl_->output_slots.begin(), impl_->output_slots.end());
  for (auto& step : impl_->steps)
    for (int out : step.outputs)
      if (!kept.count(out) && last_reader[static_cast<size_t>(out)] < 0) step.release.push_back(out);
  for (size_t s = 0; s < slots.size(); ++s)
    if (last_reader[s] >= 0 && !kept.count(static_cast<int>(s)))
      impl_->steps[static_cast<size_t>(last_reader[s])].release.push_back(static_cast<int>(s));

  // The seeded standard-normal input.
  Rng input_rng(derive_seed(options.seed, 2));
  torch::Tensor x = torch::empty(impl_->input_shape, torch::kFloat);
  float* p = x.data_ptr<float>();
  for (int64_t i = 0; i < x.numel(); ++i) p[i] = static_cast<float>(input_rng.normal());
  impl_->seeded_input = x.to(impl_->device);
}

OnnxExecutor::~OnnxExecutor() = default;
OnnxExecutor::OnnxExecutor(OnnxExecutor&&) noexcept = default;
OnnxExecutor& OnnxExecutor::operator=(OnnxExecutor&&) noexcept = default;

const std::vector<int64_t>& OnnxExecutor::input_shape() const { return impl_->input_shape; }

std::vector<std::string> OnnxExecutor::op_types() const {
  std::vector<std::string> out;
  for (const auto& s : impl_->steps) out.push_back(s.op_type);
  return out;
}

std::vector<HostTensor> OnnxExecutor::run(const HostTensor* input) {
  torch::Tensor x = impl_->seeded_input;
  if (input) {
    if (input->shape != impl_->input_shape)
      throw ConfigError(fmt::format("onnx executor: input shape [{}], the model takes [{}]",
                                    fmt::join(input->shape, ","), fmt::join(impl_->input_shape, ",")));
    x = torch::from_blob(const_cast<float*>(input->data.data()), input->shape, torch::kFloat)
            .to(impl_->device);
  }
  std::vector<HostTensor> out;
  for (const auto& t : impl_->forward(x)) {
    torch::Tensor c = t.to(torch::kCPU, torch::kFloat).contiguous();
    HostTensor h;
    h.shape.assign(c.sizes().begin(), c.sizes().end());
    h.data.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
    out.push_back(std::move(h));
  }
  return out;
}

Latency OnnxExecutor::time(const TimingOptions& timing) {
  if (timing.repeats < 1 || timing.warmup < 0)
    throw ConfigError(fmt::format("timing: warmup {} / repeats {}: need warmup >= 0 and repeats >= 1",
                                  timing.warmup, timing.repeats));
  const bool cuda = impl_->device.is_cuda();
  auto sync = [&] {
    if (cuda) torch::cuda::synchronize(impl_->device.has_index() ? impl_->device.index() : -1);
  };
  for (int i = 0; i < timing.warmup; ++i) impl_->forward(impl_->seeded_input);
  Latency lat;
  for (int i = 0; i < timing.repeats; ++i) {
    sync();
    auto start = std::chrono::steady_clock::now();
    auto out = impl_->forward(impl_->seeded_input);
    sync();
    lat.runs_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  lat.median_ms = quantile(lat.runs_ms, 0.5);
  return lat;
}

std::vector<std::string> OnnxExecutor::supported_ops() {
  std::vector<std::string> out;
  for (const auto& [name, planner] : planners()) out.push_back(name);
  return out;
}

}  // namespace nas::predictor
