#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <onnx/onnx_pb.h>

namespace nas::onnx_text {

// The compact "predictor text" of an ONNX model: what the regression language model reads. It is a
// complete, deterministic and structure-lossless description of the graph (from_text() in
// onnx_text/reader.h parses it back), written to be short in BPE tokens, digits above all (every digit
// is one token for the predictor's tokenizer).
//
// Example (NB201 cell |nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|,
// tests/data/onnx_text/nb201_cifar10.txt, abridged):
//   def cell(a[1,A,B,B])
//   Relu(a)
//   Conv{pads=[1]*4}(^,[A,A,3,3])
//   t0=BatchNormalization(^,[A]*4)
//   t1=AveragePool{kernel_shape=[3,3],pads=[1]*4}(t0)
//   ...
//   t3=Sum(a,t2,^)
//   ret t3
//   def resblock(a[1,A,B,B])
//   Relu(a)
//   Conv{pads=[1]*4,strides=[2,2]}(^,[A*2,A,3,3]) [1,A*2,B/2,B/2]
//   ...
//   ret t1
//   in x [1,3,32,32]
//   Conv{pads=[1]*4}(x,[16,3,3,3]) [1,16,32,32]
//   BatchNormalization(^,[16]*4)
//   5*cell(^)
//   resblock(^)
//   ...
//   Flatten(^) [1,64]
//   v0=Gemm{transB=1}(^,[10,64],[10]) [1,10]
//   out v0
//
// The dialect, line by line (one item per line, no indentation, no comments):
//  * Header, only when not the defaults: `ir 7` (IR version, default 8) and `opset 13,nas:1,ai.onnx.ml:2`
//    (the model's opset imports; default domain first as a bare version, then "domain:version" sorted by
//    domain). Default: opset 15 for the default domain, plus nas:1 when some function is in domain "nas".
//  * Model-local functions, callees before callers (then in proto order): a `def NAME(FORMALS)` line,
//    optionally followed by `<attr,...>` (attribute parameters, see "Implied attributes") and ` opset LIST`
//    (only when the function's imports differ from the default: the model's version of the default
//    domain and of every other domain its body uses), then the body's node lines, then `ret OUTPUTS`,
//    which ends it. NAME is bare for domain "nas", else `domain.name` (`.name` for the empty domain).
//  * The main graph: `in NAME TYPE` per graph input (initializers that are also listed as inputs, as
//    IR < 4 exporters write them, are weights, not inputs), node lines, then `out NAMES`.
//  * Node line: `OUTS=OP{ATTRS}(ARGS) TYPES`. OUTS are the output names, `_` for an omitted optional
//    output, `~` for an output nothing uses (of a node with several outputs), nothing before `=` for a
//    node with no outputs. OP is the op type, `domain.Op` outside the default domain (`.Op` for the
//    default domain when a "nas" function of the same name exists), or a local function's name. ATTRS
//    are only the attributes present in the proto, sorted by name.
//  * Anonymous values: a node with one output that nothing uses, or that only the next node line uses
//    (once, and it is not a graph / function output), has no `OUTS=`; the next line names it `^`. So a
//    chain reads `Relu(a)` / `Conv(^,[A,A,1,1])` / `t0=BatchNormalization(^,[A]*4)`.
//  * Repeats: `k*LINE` stands for k copies of an anonymous node line, each copy's `^` being the previous
//    copy's output (`5*cell(^)`: five cells in a row). Equal consecutive anonymous lines are always
//    written this way.
//  * Value names are numbered in order of definition, counting named values only, and are independent
//    of the proto's names: graph inputs `x` (`x0`, `x1`, ... when there are several), named node outputs
//    `v0`, `v1`, ...; in a function, formals `a`, `b`, ... and named body values `t0`, `t1`, ...
//  * Weights (initializers) never show values, only dtype and shape. One used by a single node input
//    (and not a graph output) is written inline where it is used: `[16,3,3,3]` (float) or `i64[2]`.
//    Several identical inline weights in a row are `[16]*4` (BatchNormalization's four parameters).
//    Any other initializer is named at first use, `w0=[16]`, and referred to as `w0` after; one not
//    used by any node (unused, or only a graph output) gets a `w0=[16]` line of its own before `out`.
//  * Implicit weight formals: a function formal that every call binds to a fresh initializer used by
//    that call only, that the body uses exactly once, and whose shape at every call can be written in
//    terms of the call's other arguments, is not listed in the signature. It appears inline in the
//    body with a symbolic shape, e.g. `[A*2,A,3,3]`, where each dim is a literal (the same at every
//    call), a dim variable, or a variable times / divided by a constant. Dim variables are declared by
//    the signature's shape patterns `a[1,A,B,B]`: position by position, a literal (same at every call),
//    a variable (uppercase, one per distinct sequence of values over the calls; a repeated variable
//    means equal dims) or `?`. The reader binds each variable at its first position to the call's
//    actual shape and creates one zero-filled initializer per call; it appends the implicit formals
//    after the listed ones, in order of use (their positions among the formals are not printed: a
//    call binds each by name, so this is no structure). A formal that does not fit all this stays
//    listed and is passed explicitly. Nested calls: a call in a function body may bind a formal to an
//    implicit formal of the calling function (used by that call only); then the callee's formal is
//    implicit too when its shape fits at every instantiation, with the callee's variables taken from the
//    arguments' symbolic types (a formal's pattern, a written body type) at the caller's calls, and the
//    caller's formal appears nowhere in the caller's text (the reader makes it an implicit formal of
//    the caller, sized at the caller's calls). E.g. a cell `normal` calling `sep_conv_3x3(b,t1,t2)`.
//  * Implied attributes: an attribute parameter that every call (all in the main graph) sets to an int
//    which is a literal or a dim expression of the call (`group` = the channel count) is written
//    `<group=A>` in the def and left out of the calls; the reader sets it at each call.
//  * TYPES: the output types, left out when they equal the reader's default: for a call of a local
//    function in the main graph, the function's output types at the call (below) when these are fully
//    known; otherwise, and for every other node, the type of the node's first input. Equal consecutive
//    types are `T*k` (`[1,A,B/2,B/2]*4` for a four-way Split). A type is `?` (unknown), or dtype prefix +
//    `[dims]` (`[*]` when the rank is unknown). Dtype prefixes: none for float32, else f16 bf16 f64 i8
//    i16 i32 i64 u8 u16 u32 u64 bool str c64 c128. A dim is an integer, a symbolic dim (dim_param) as
//    identifier or quoted string, or `?`.
//  * Types inside a function are symbolic in the signature's variables (`[1,A*2,B/2,B/2]`, `?` where a
//    dim has no such form) and describe every call; ONNX function bodies carry no types, so they are
//    informative, and only those the reader needs are printed (TextOptions::all_body_types prints all
//    that change): a value's symbolic type is its written type, or its first input's (a formal's type
//    is "the call's argument"); a function output's type at a main-graph call is that symbolic type
//    with the call's dim variables put in (e.g. `resblock(^)` then has type [1,32,16,16]). Hence only
//    the types on the first-input chain back from each `ret` value to the first written one are printed,
//    and none in functions that the main graph does not call.
//  * Attribute values: int `3`; float always with '.' or exponent (`1.0`, `1e-05`, `inf`, `nan`);
//    string `"s"` (C escapes); tensor dtype + shape, dtype always written (`f32[]`, `i64[2]`); lists
//    `[1,2]`, `[0.5,1.0]`, `["a"]`, `[f32[2]]`, and `[v]*n` for an int / float list of n >= 3 equal
//    elements (`pads=[1]*4`); empty lists `ints[]`, `floats[]`, `strings[]`, `tensors[]`; a reference to
//    a function attribute `@name` (`@name:type` when the proto sets a type).
//  * Names that are not identifiers ([A-Za-z_][A-Za-z0-9_]*) are written as quoted strings.
//
// Not printed (not structure): producer, doc strings, node names, metadata, graph name, the order of
// initializers in the proto, the positions of implicit formals among a function's formals, and values
// of initializers and tensor attributes (Constant values, as required). Non-tensor types (sequences,
// maps, optionals) print as `?`. Not supported (OnnxTextError): graph-valued attributes (If / Loop / Scan
// bodies), sparse-tensor and type-proto attributes. Where ONNX shape inference cannot tell a shape (custom
// ops, data-dependent shapes) the text says `?`; graphs with a node ONNX 1.12's inference would crash on
// (a stride, dilation, kernel, group or blocksize <= 0, a convolution whose kernel_shape would come from
// a weight of unknown or mismatched rank) are not inferred at all and keep the proto's own shapes.
//
// Design choices and their reason (token counts: experiments/text_length_report.cc): digits cost one
// token each and the punctuation between two digits another, while runs of letters and punctuation
// merge into few BPE tokens, so the dialect spends its digits on what differs between networks. Value
// names carry digits, hence anonymous values (most values feed only the next node) and numbering of the
// named ones only; `ret` closes a function (no braces); shape patterns name each dim once (`A` instead of
// a formal's dim at every use: no digit, one token), and `A*2` / `B/2` keep a reduction block's weights
// implicit too; `[16]*4`, `[1]*4`, `T*4` and `k*LINE` remove repeated digits; types are printed in the
// main graph wherever the reader could not tell them (the predictor sees every shape there without
// running inference), inside functions only where the main graph's types are derived from them.
// Options of to_text().
struct TextOptions {
  // Omit a node's output types when they equal its first input's type (the reader restores them).
  bool elide_types = true;
  // Write implicit weight formals of functions inline (see above); false lists every formal and passes
  // every weight explicitly at each call.
  bool implicit_function_weights = true;
  // Leave out call attributes that the function's dim variables imply (`def f(a[1,A,B,B])<g=A>`).
  bool implied_function_attributes = true;
  // Anonymous values (`^`), `~` for unused outputs and `k*` runs of equal lines; false names every value.
  bool anonymous_values = true;
  // Print every changed type in function bodies; false prints only those that the calls' output types
  // are derived from (see above).
  bool all_body_types = false;
};

// Defaults of the dialect's header (the NB201 emitter's IR / opset, spaces/onnx_builder.h).
inline constexpr int64_t kDefaultIrVersion = 8;
inline constexpr int64_t kDefaultOpset = 15;
inline constexpr const char* kLocalDomain = "nas";
inline constexpr int64_t kLocalDomainVersion = 1;

// The predictor text of `model` (dialect above). Runs ONNX shape inference (ONNX 1.12,
// onnx::shape_inference::InferShapes, non-strict) on the main graph, in segments between calls of local
// functions, and once on the body of each distinct call (function, argument types, attributes), again
// in segments between nested calls, which gives the call's output types and the shapes inside the body
// (ONNX never expands a local function itself); shapes already in the main graph's proto are kept
// (merged by ONNX; a segment whose inference fails keeps the proto's). Deterministic: the same model
// gives the same text, and models that differ in structure (nodes, attributes, topology, shapes, weight
// shapes) give different texts.
// Throws nas::OnnxTextError with a one-line message naming the node / function / value for a
// malformed model: no graph, a node input with no producer (not a graph input, initializer or earlier
// node output), a value defined twice, an unknown model-local function (a call in a domain that has
// local functions, or in "nas", that names no function and no registered op), a call with more
// arguments than formals, a recursive function, an attribute with an undefined or unsupported type, a
// duplicate attribute, a tensor with an undefined data type or a negative dim.
// Cost: about 1-2 ms for an NB201 network (one shape inference per distinct call, 5 for NB201).
// Thread-safety: a pure function; may be called concurrently (ONNX's schema registry is only read).
std::string to_text(const onnx::ModelProto& model, const TextOptions& options = {});

// Reads an ONNX model file (binary protobuf). Throws nas::OnnxTextError("PATH: cannot open file for
// reading") for an unreadable file and nas::OnnxTextError("PATH: not an ONNX model (...)") for bytes that
// do not parse as a ModelProto or parse to a model without a graph.
onnx::ModelProto load_onnx_file(const std::string& path);
// The same from bytes in memory; `source` names them in error messages.
onnx::ModelProto parse_onnx_bytes(const std::string& bytes, const std::string& source = "ONNX bytes");

// The dialect's dtype name of an ONNX TensorProto data type ("f32", "i64", ...); nullptr for UNDEFINED
// and unknown values.
const char* dtype_name(int32_t data_type);
// The inverse: the TensorProto data type of a dtype name, 0 (UNDEFINED) for an unknown name.
int32_t dtype_from_name(std::string_view name);
// Size in bytes of one element of `data_type`; 0 for STRING and unknown types.
int64_t dtype_size(int32_t data_type);

}  // namespace nas::onnx_text
