#pragma once

#include <onnx/onnx_pb.h>

namespace nas::onnx_text {

// Depth of a network in weighted layers: over all paths from a graph input (not an initializer) to
// the first graph output, the largest and smallest number of Conv / ConvTranspose / Gemm / MatMul
// nodes passed. The smallest is small when residual or skip paths bypass the convolutions. Local
// functions are expanded first (inline.h). Used as label-free pretraining targets of the predictor.
// Values that cannot depend on the input carry no path: initializers and constants, and Sub(x, x)
// (zero for finite x; NB201 writes its zero nodes so). A network whose output depends on no input
// (e.g. an NB201 cell cut off by `none` edges) has reachable = false and depth 0 / 0.
// Example: the NB201 network whose cell has a 3x3 conv on all six edges gives longest = stem 1 + 15
// cells x 3 + 2 reduction blocks x 2 + classifier 1 = 51 and shortest = 1 + 15 x 1 + 2 x 1 + 1 = 19.
struct GraphDepth {
  int longest = 0;
  int shortest = 0;
  bool reachable = true;
};

// Throws nas::OnnxTextError if the graph has no output or a node uses a value defined later (the ONNX
// graph must be topologically sorted, as the spec requires).
GraphDepth graph_depth(const onnx::ModelProto& model);

}  // namespace nas::onnx_text
