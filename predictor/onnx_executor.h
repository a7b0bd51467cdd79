#pragma once

// Runs the ONNX models the search spaces emit with LibTorch, to measure their latency on the machine at
// hand (`nas measure`). This header is torch-free; the executor lives in onnx_executor.cc.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "core/error.h"

namespace nas::predictor {

// A node the executor cannot run: an op type it does not implement, or an attribute / input it does
// not support. The message names the op type, the node name and what is unsupported, e.g.
// "onnx executor: unsupported op 'Resize' (node 'up0'); supported: Add, AveragePool, ...".
class UnsupportedOpError final : public Error {
 public:
  using Error::Error;
};

// Where and how an OnnxExecutor runs a model.
struct ExecutorOptions {
  std::string device = "cpu";  // "cpu", "cuda" or "cuda:N"
  int64_t batch_size = 1;      // replaces the leading dimension of the graph input
  // Seeds the graph input (standard normal) and the values of initializers stored without data
  // (shape-only models, e.g. read back from predictor text): float tensors of rank >= 2 uniform in
  // +-sqrt(3 / fan_in) (fan_in = product of dims[1:]), rank < 2 uniform in [0.5, 1.5) so that
  // BatchNormalization variances stay positive. Latency does not depend on the values; they only
  // keep activations finite. Integer initializers (Gather indices, Reshape shapes) must carry data.
  uint64_t seed = 0;
};

// Warm-up and repetitions of OnnxExecutor::time().
struct TimingOptions {
  int warmup = 5;    // untimed runs first (allocator, caches, cuDNN algorithm choice)
  int repeats = 20;  // timed runs; the result is their median
};

// Latencies of one model, in milliseconds per forward pass of the whole batch.
struct Latency {
  double median_ms = 0;         // quantile(runs_ms, 0.5) (predictor/rlm.h)
  std::vector<double> runs_ms;  // [repeats] wall time of each timed run, in run order
};

// A dense float32 tensor on the host, row-major; how outputs and custom inputs cross the torch-free API.
struct HostTensor {
  std::vector<int64_t> shape;
  std::vector<float> data;  // product of shape elements
};

// Executes an ONNX model (the opset-15 graphs of spaces::SearchSpace::build_model, with or without
// model-local functions, which are inlined first: onnx_text/inline.h) on a LibTorch device.
//
// Supported ops and attributes (all those the five spaces emit, plus a few neighbours):
//   Conv (1-D to 3-D; kernel_shape, strides, pads incl. asymmetric, dilations, group, auto_pad NOTSET /
//   VALID / SAME_UPPER / SAME_LOWER; optional bias), BatchNormalization (inference; epsilon), Relu,
//   Sigmoid, HardSigmoid (alpha, beta), HardSwish, AveragePool / MaxPool (2-D; kernel_shape, strides,
//   pads symmetric per axis and at most half the kernel, ceil_mode, count_include_pad / dilations),
//   GlobalAveragePool, Add, Sub, Mul (numpy broadcasting), Sum, Concat (axis), Split (axis; sizes from
//   the input, the attribute, or equal parts), Flatten (axis), Gemm (alpha, beta, transA, transB),
//   MatMul, Reshape (0 and -1 entries), Gather (axis), SpaceToDepth (blocksize), Shape (start, end; the
//   result lives on the CPU), ConstantOfShape (float32 value), Identity.
//   Pooling auto_pad other than NOTSET, training-mode BatchNormalization, MaxPool's Indices output and
//   any attribute not listed throw UnsupportedOpError.
//
// Plan: built once in the constructor: functions inlined, nodes put in topological order, attributes
// resolved, initializers uploaded to the device, and each intermediate value freed after its last use.
// Runs use torch::InferenceMode (no autograd).
//
// Example:
//   auto model = space->build_model(g, {.dataset = "cifar10", .weights = spaces::WeightFill::kRandom});
//   OnnxExecutor exec(model, {.device = "cpu", .batch_size = 1});
//   double ms = exec.time({.warmup = 5, .repeats = 20}).median_ms;
//
// Errors: the constructor throws UnsupportedOpError (naming op type and node) for what it cannot run,
// nas::OnnxTextError for a malformed graph (no input, an undefined value, a cycle, an initializer whose
// stored data does not match its shape) and nas::ConfigError for an unknown device, CUDA requested on a
// machine without it, or batch_size < 1. run() throws nas::Error when LibTorch rejects a shape at run
// time (naming the node).
// Thread-safety: one executor runs one pass at a time (run() / time() are not reentrant); distinct
// executors may run concurrently. LibTorch's intra-op threads: predictor/threads.h configure_threads().
// Memory model: holds the initializers on the device for its lifetime; intermediate values live only
// during a run.
class OnnxExecutor {
 public:
  explicit OnnxExecutor(const onnx::ModelProto& model, const ExecutorOptions& options = {});
  ~OnnxExecutor();
  OnnxExecutor(OnnxExecutor&&) noexcept;
  OnnxExecutor& operator=(OnnxExecutor&&) noexcept;

  // Shape fed to the graph input: its declared shape with dim 0 replaced by options.batch_size.
  const std::vector<int64_t>& input_shape() const;
  // Op types the plan runs, in plan order, one entry per node (after inlining).
  std::vector<std::string> op_types() const;

  // One forward pass on `input` (shape input_shape(); throws nas::ConfigError otherwise), or on the
  // seeded standard-normal input when `input` is null. Returns the graph outputs in declaration order,
  // copied to the host.
  std::vector<HostTensor> run(const HostTensor* input = nullptr);
  // timing.warmup untimed then timing.repeats timed forward passes on the seeded input; wall time per
  // pass (CUDA synchronised before the clock is read). Throws nas::ConfigError if repeats < 1 or
  // warmup < 0.
  Latency time(const TimingOptions& timing = {});

  // All op types the executor implements, sorted.
  static std::vector<std::string> supported_ops();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nas::predictor
