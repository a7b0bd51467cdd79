#pragma once

#include <string>

#include <onnx/onnx_pb.h>

namespace nas::onnx_text {

// Parses predictor text (the dialect documented in onnx_text/serializer.h) back into an ONNX model with
// the same nodes (op types, domains, attributes), topology, functions and value types as the model it
// was printed from. What differs: value names are the text's names (`x`, `v3`, `t0`, `w0`; anonymous
// values and `~` outputs get generated names "^<k>", inline weights "w.<k>"), initializers are
// zero-filled at the printed dtype and shape (one fresh initializer per call for a function's implicit
// weight formals, sized from the call's argument shapes through the signature's dim variables, which
// also give the implied attributes), implicit formals follow the listed ones, tensor attributes are
// zero-filled, and metadata / doc strings / node names are absent. The main graph's value types go to
// graph inputs / outputs / value_info (left-out types are the reader's defaults: a call's types derived
// from its function's `ret` types, else the node's first input's); types written inside function
// bodies serve only that derivation, as FunctionProto (ONNX 1.12) has no place for them.
// Hence to_text(from_text(to_text(m))) == to_text(m).
//
// Example:
//   in x [1,3,8,8]
//   Conv{pads=[1]*4}(x,[4,3,3,3]) [1,4,8,8]
//   v0=Relu(^)
//   out v0
// gives graph input x: float[1,3,8,8], initializer "w.0": float[4,3,3,3] of zeros, nodes Conv(x, w.0) ->
// ^0 and Relu(^0) -> v0 (pads [1,1,1,1]), value_info ^0: float[1,4,8,8], graph output v0:
// float[1,4,8,8].
//
// Errors: throws nas::OnnxTextError("onnx text line L, column C: <what was expected>, found <token>")
// for any text outside the dialect: unknown dtype, undefined or redefined value name, unknown dim
// variable, implicit weights or implied attributes that cannot be sized at a call, wrong argument or
// type-annotation counts, duplicate attributes, mixed-type attribute lists, integers out of range, a `^`
// after a line without an anonymous output, a repeat count outside [1, 100000], weights over 2 GiB in
// all, a missing `ret` / `out` line, or trailing text.
// Thread-safety: pure function.
onnx::ModelProto from_text(const std::string& text);

}  // namespace nas::onnx_text
