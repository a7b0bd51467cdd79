#pragma once

#include <onnx/onnx_pb.h>

namespace nas::onnx_text {

// Expands every call of a model-local function (ModelProto.functions, matched by (domain, name)) into
// plain graph nodes, recursively (a function body may call other local functions). Returns a copy of
// `model` with no `functions`; everything else (initializers, inputs, outputs, value_info, metadata)
// is kept. Opset imports that only the expanded calls used (e.g. "nas") are dropped, and the
// functions' own opset imports are merged in.
//
// Naming: in the call of function f made by node n, formal inputs / outputs become the call's actual
// names; every other value v of the body becomes "<site>_<v>", where <site> is n's name if it has one,
// else "<f><k>" for the k-th (0-based) unnamed call of f, prefixed with "<site of the caller>_" when
// the call sits in another function's body; a name already taken in the graph gets a "_1", "_2", ...
// suffix, so the result has unique value names and depends only on the input model.
// Body node names are renamed the same way. Missing optional actuals ("" or absent trailing ones) bind
// the formal to "" (absent); call outputs left out become internal values. Attributes that reference
// a function attribute (ref_attr_name) take the call's value, or are dropped if the call has none
// (the op's default applies).
//
// Example: a call `y = nas.relu_conv(x, w)` of relu_conv(x, w) => (y) { r = Relu(x); y = Conv(r, w) }
// becomes `relu_conv0_r = Relu(x); y = Conv(relu_conv0_r, w)`.
//
// Errors: throws nas::OnnxTextError naming the function and node for a call with more actuals than
// formals, recursive calls, and function bodies with graph-valued attributes (If / Loop / Scan inside a
// function are not supported), and for calls of local functions inside control-flow subgraphs of the
// main graph. Conflicting opset versions between the model and a function also throw.
// Thread-safety: pure function.
onnx::ModelProto inline_functions(const onnx::ModelProto& model);

}  // namespace nas::onnx_text
