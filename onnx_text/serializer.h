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
// Example (NB201 cell |nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_1x1~2|,
// abridged: 15 cell calls and 2 resblock calls in the real text):
//   def cell(a[1,A,B,B])
//   t0=Relu(a)
//   t1=Conv{kernel_shape=[3,3],pads=[1,1,1,1]}(t0,[A,A,3,3])
//   t2=BatchNormalization(t1,[A]*4)
//   t3=AveragePool{kernel_shape=[3,3],pads=[1,1,1,1]}(t2)
//   t4=Relu(t3)
//   t5=Conv{kernel_shape=[1,1]}(t4,[A,A,1,1])
//   t6=BatchNormalization(t5,[A]*4)
//   t7=Sum(a,t6)
//   ret t7
//   def resblock(a[1,A,B,B])
//   t0=Relu(a)
//   t1=Conv{kernel_shape=[3,3],pads=[1,1,1,1],strides=[2,2]}(t0,[A*2,A,3,3]) [1,A*2,B/2,B/2]
//   ...
//   ret t8
//   in x [1,3,32,32]
//   v0=Conv{kernel_shape=[3,3],pads=[1,1,1,1]}(x,[16,3,3,3]) [1,16,32,32]
//   v1=BatchNormalization(v0,[16]*4)
//   v2=cell(v1)
//   ...
//   v6=cell(v5)
//   v7=resblock(v6) [1,32,16,16]
//   ...
//   v21=GlobalAveragePool(v20) [1,64,1,1]
//   v22=Flatten(v21) [1,64]
//   v23=Gemm{transB=1}(v22,[10,64],[10]) [1,10]
//   out v23
//
// The dialect, line by line (one item per line, no indentation, no comments):
//  * Header, only when not the defaults: `ir 7` (IR version, default 8) and `opset 13,nas:1,ai.onnx.ml:2`
//    (the model's opset imports; default domain first as a bare version, then "domain:version" sorted by
//    domain). Default: opset 15 for the default domain, plus nas:1 when some function is in domain "nas".
//  * Model-local functions, callees before callers (then in proto order): a `def NAME(FORMALS)` line,
//    optionally followed by `<attr,...>` (attribute parameters) and ` opset LIST` (only when the
//    function's imports differ from the default: the model's version of the default domain and of every
//    other domain its body uses), then the body's node lines, then `ret OUTPUTS`, which ends it.
//    NAME is bare for domain "nas", else `domain.name` (`.name` for the empty domain).
//  * The main graph: `in NAME TYPE` per graph input (initializers that are also listed as inputs, as
//    IR < 4 exporters write them, are weights, not inputs), node lines, then `out NAMES`.
//  * Node line: `OUTS=OP{ATTRS}(ARGS) TYPES`. OUTS are the output names, `_` for an omitted optional
//    output, nothing before `=` for a node with no outputs. OP is the op type, `domain.Op` outside the
//    default domain (`.Op` for the default domain when a "nas" function of the same name exists), or a
//    local function's name. ATTRS are only the attributes present in the proto, sorted by name.
//  * Value names are numbered in order of definition and independent of the proto's names: graph
//    inputs `x` (`x0`, `x1`, ... when there are several), node outputs `v0`, `v1`, ...; in a function,
//    formals `a`, `b`, ... and body values `t0`, `t1`, ...
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
//    actual shape and creates one zero-filled initializer per call. Implicit formals follow the listed
//    ones, in order of use (the emitters' convention "activations first, then weights in order of
//    use"); a formal that does not fit all this stays listed and is passed explicitly.
//  * TYPES: the output types, omitted when every output has the type of the node's first input (the
//    reader copies it back). A type is `?` (unknown), or dtype prefix + `[dims]` (`[*]` when the rank is
//    unknown). Dtype prefixes: none for float32, else f16 bf16 f64 i8 i16 i32 i64 u8 u16 u32 u64 bool
//    str c64 c128. A dim is an integer, a symbolic dim (dim_param) as identifier or quoted string, or
//    `?`. Inside a function, types are symbolic in the signature's variables (`[1,A*2,B/2,B/2]`, `?`
//    where a dim has no such form), describe every call, and are informative only (ONNX function
//    bodies carry no shapes; the reader re-derives nothing from them).
//  * Attribute values: int `3`; float always with '.' or exponent (`1.0`, `1e-05`, `inf`, `nan`);
//    string `"s"` (C escapes); tensor dtype + shape, dtype always written (`f32[]`, `i64[2]`); lists
//    `[1,2]`, `[0.5,1.0]`, `["a"]`, `[f32[2]]`; empty lists `ints[]`, `floats[]`, `strings[]`,
//    `tensors[]`; a reference to a function attribute `@name` (`@name:type` when the proto sets a type).
//  * Names that are not identifiers ([A-Za-z_][A-Za-z0-9_]*) are written as quoted strings.
//
// Not printed (not structure): producer, doc strings, node names, metadata, graph name, the order of
// initializers in the proto, and values of initializers and tensor attributes (Constant values, as
// required). Non-tensor types (sequences, maps, optionals) print as `?`. Not supported (OnnxTextError):
// graph-valued attributes (If / Loop / Scan bodies), sparse-tensor and type-proto attributes.
// Where ONNX shape inference cannot tell a shape (custom ops, data-dependent shapes) the text says `?`;
// graphs with a node ONNX 1.12's inference would crash on (a stride, dilation, kernel, group or
// blocksize <= 0) are not inferred at all and keep the proto's own shapes.
//
// Design choices and their reason (sizes: tests/onnx_text/serializer_test.cc, Nb201TextSize): `ret`
// closes a function (no braces: fewer tokens per function); shape patterns name each dim once (`A`
// instead of the brief's `a.1` at every use: no digit, one token), and allow `A*2` / `B/2` so that a
// reduction block's weights (channels doubled) stay implicit too; the `*4` repeat and the output-type
// elision remove most digits of a cell; output types are printed wherever they change, so the predictor
// sees every shape without running inference; function-body types cost nothing when unchanged and show
// the block's strides where they change (`[1,A*2,B/2,B/2]`).

// Options of to_text().
struct TextOptions {
  // Omit a node's output types when they equal its first input's type (the reader restores them).
  bool elide_types = true;
  // Write implicit weight formals of functions inline (see above); false lists every formal and passes
  // every weight explicitly at each call.
  bool implicit_function_weights = true;
};

// Defaults of the dialect's header (the NB201 emitter's IR / opset, spaces/onnx_builder.h).
inline constexpr int64_t kDefaultIrVersion = 8;
inline constexpr int64_t kDefaultOpset = 15;
inline constexpr const char* kLocalDomain = "nas";
inline constexpr int64_t kLocalDomainVersion = 1;

// The predictor text of `model` (dialect above). Runs ONNX shape inference (ONNX 1.12,
// onnx::shape_inference::InferShapes, non-strict) on the main graph, in segments between calls of local
// functions, and once on the body of each distinct call (function, argument types, attributes), which
// gives the call's output types and the shapes inside the body; shapes already in the proto are kept
// (merged by ONNX; a segment whose inference fails keeps the proto's). Deterministic: the same model gives the same text, and models that differ in structure
// (nodes, attributes, topology, shapes, weight shapes) give different texts.
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
