#pragma once

// The computation graph of an architecture as a graph neural network reads it (predictor/gin_baseline.h):
// one node per ONNX node after model-local functions are inlined (onnx_text/inline.h), an edge from
// each node to every node that reads one of its outputs, and per node a feature vector of its op
// type (one-hot) and its shapes. Torch-free.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <onnx/onnx_pb.h>

#include "spaces/search_space.h"

namespace nas::predictor {

// One architecture's graph. Nodes are in the ONNX graph's (topological) order.
struct ArchGraph {
  int64_t num_nodes = 0;
  // [num_nodes * arch_graph_feature_count()] row-major: per node the one-hot op type
  // (arch_graph_op_types(), op types outside the list set the last slot, "other"), then the shape
  // features of arch_graph_shape_feature_names() (raw, not standardised).
  std::vector<float> features;
  // (producer, consumer) node pairs, each once even if the consumer reads several of the producer's
  // outputs or one output twice (NB201 writes its zero op as Sub(x, x)). Graph inputs and
  // initializers are not nodes, so reads of them add no edge.
  std::vector<std::pair<int32_t, int32_t>> edges;
};

// The op-type vocabulary of the one-hot part, the ops the five registered spaces emit, then "other".
const std::vector<std::string>& arch_graph_op_types();

// Names of the shape features, in order:
//   log_channels  ln(1 + C) of the node's first output [N, C, ...] (rank 2 [N, C]: C; unknown: 0)
//   log_spatial   ln(1 + H) of that output's first spatial dim (rank < 3 or unknown: 0)
//   kernel        first kernel dim: attribute kernel_shape, else the weight's dims[2] (Conv); 0 for ops
//                 without a window (windowed ops: Conv, ConvTranspose, AveragePool, MaxPool)
//   stride        first entry of `strides` (windowed ops: default 1; others 0)
//   log_group     ln(group) of Conv / ConvTranspose (default group 1 -> 0); 0 for other ops
//   dilation      first entry of `dilations` (windowed ops: default 1; others 0)
//   log_params    ln(1 + elements of the floating-point initializers the node reads)
// Shapes come from ONNX shape inference on the inlined model (ONNX 1.12 InferShapes).
const std::vector<std::string>& arch_graph_shape_feature_names();

// Length of one node's feature row: op types + shape features.
int64_t arch_graph_feature_count();

// The graph of any ONNX model (its local functions inlined first). Throws nas::OnnxTextError for a
// malformed model (as onnx_text::inline_functions), or when shape inference fails (naming the model's
// graph).
ArchGraph model_graph(const onnx::ModelProto& model);

// Graphs of each genotype's network for `dataset` ("" = the space's first), built in parallel (TBB);
// output order = input order. Throws nas::SpaceError for an invalid genotype or dataset.
std::vector<ArchGraph> architecture_graphs(const spaces::SearchSpace& space,
                                           const std::vector<spaces::Genotype>& gs,
                                           const std::string& dataset);

}  // namespace nas::predictor
