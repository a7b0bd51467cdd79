#include "onnx_text/reader.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <map>
#include <ostream>
#include <string>
#include <typeinfo>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <onnx/checker.h>
#include <onnx/defs/parser.h>
#include <onnx/shape_inference/implementation.h>

#include "core/error.h"
#include "core/io.h"
#include "core/rng.h"
#include "onnx_text/inline.h"
#include "onnx_text/serializer.h"
#include "spaces/search_space.h"

namespace nas::onnx_text {
namespace {

// ---- Structural description of a model, independent of value names and weight values: the
// comparator of the round-trip tests. Functions are inlined (onnx_text/inline.h) and ONNX shape
// inference is run, so a model and its text re-read must agree on every op type, domain, attribute,
// producer (node and output slot, graph input, or initializer by order of first use), value type,
// initializer dtype and shape, graph input / output, IR version and opset import.

std::string type_key(const onnx::TypeProto* t) {
  if (t == nullptr || !t->has_tensor_type()) return "none";
  const auto& tt = t->tensor_type();
  std::string s = "t" + std::to_string(tt.elem_type());
  if (!tt.has_shape()) return s + "[*]";
  s += "[";
  for (const auto& d : tt.shape().dim())
    s += (d.has_dim_value() ? std::to_string(d.dim_value()) : d.has_dim_param() ? d.dim_param() : "?") + ",";
  return s + "]";
}

std::string tensor_key(const onnx::TensorProto& t) {
  std::string s = "t" + std::to_string(t.data_type()) + "[";
  for (int64_t d : t.dims()) s += std::to_string(d) + ",";
  return s + "]";
}

std::string float_bits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return fmt::format("{:08x}", bits);
}

std::string attr_key(const onnx::AttributeProto& a) {
  std::string s = a.name() + ":" + std::to_string(a.type()) + ":";
  if (!a.ref_attr_name().empty()) return s + "@" + a.ref_attr_name();
  s += std::to_string(a.i()) + "/" + float_bits(a.f()) + "/" + a.s() + "/";
  if (a.has_t()) s += tensor_key(a.t());
  for (int64_t v : a.ints()) s += std::to_string(v) + ",";
  for (float v : a.floats()) s += float_bits(v) + ",";
  for (const auto& v : a.strings()) s += v + ",";
  for (const auto& t : a.tensors()) s += tensor_key(t) + ",";
  return s;
}

std::vector<std::string> structure(const onnx::ModelProto& model) {
  onnx::ModelProto m = inline_functions(model);
  try {
    onnx::shape_inference::InferShapes(m, onnx::OpSchemaRegistry::Instance(), {false, 0, false});
  } catch (const std::exception&) {
    // Keep the proto's own types.
  }
  const auto& g = m.graph();
  std::map<std::string, const onnx::TypeProto*> types;
  for (const auto& vi : g.value_info()) types[vi.name()] = &vi.type();
  for (const auto& vi : g.output()) types[vi.name()] = &vi.type();
  for (const auto& vi : g.input()) types[vi.name()] = &vi.type();
  auto type_of = [&](const std::string& name) {
    auto it = types.find(name);
    return type_key(it == types.end() ? nullptr : it->second);
  };
  std::map<std::string, const onnx::TensorProto*> inits;
  for (const auto& t : g.initializer()) inits[t.name()] = &t;

  std::vector<std::string> lines{fmt::format("ir {}", m.ir_version())};
  std::vector<std::string> opsets;
  for (const auto& op : m.opset_import()) opsets.push_back(op.domain() + ":" + std::to_string(op.version()));
  std::sort(opsets.begin(), opsets.end());
  for (const auto& op : opsets) lines.push_back("opset " + op);

  std::map<std::string, std::string> source;
  int input_index = 0;
  for (const auto& vi : g.input()) {
    if (inits.count(vi.name())) continue;  // an initializer listed as input is a weight
    source[vi.name()] = fmt::format("in{}", input_index++);
    lines.push_back("input " + type_of(vi.name()));
  }
  int init_index = 0;
  std::map<std::string, bool> init_used;
  auto source_of = [&](const std::string& name) -> std::string {
    if (name.empty()) return "_";
    auto s = source.find(name);
    if (s != source.end()) return s->second;
    auto t = inits.find(name);
    if (t == inits.end()) return "undefined:" + name;
    init_used[name] = true;
    return source[name] = fmt::format("w{}:{}", init_index++, tensor_key(*t->second));
  };
  for (int k = 0; k < g.node_size(); ++k) {
    const auto& n = g.node(k);
    std::vector<std::string> attrs;
    for (const auto& a : n.attribute()) attrs.push_back(attr_key(a));
    std::sort(attrs.begin(), attrs.end());
    std::string line = n.domain() + "." + n.op_type() + " {";
    for (const auto& a : attrs) line += a + ";";
    line += "} (";
    for (const auto& in : n.input()) line += source_of(in) + ",";
    line += ") ->";
    for (int o = 0; o < n.output_size(); ++o) {
      if (n.output(o).empty()) {
        line += " _";
        continue;
      }
      source[n.output(o)] = fmt::format("n{}.{}", k, o);
      line += " " + type_of(n.output(o));
    }
    lines.push_back(line);
  }
  for (const auto& vi : g.output())  // an initializer's type is its tensor's, already in its source
    lines.push_back("output " + source_of(vi.name()) + " " + (inits.count(vi.name()) ? "" : type_of(vi.name())));
  std::vector<std::string> unused;  // a multiset: their order in the proto is not structure
  for (const auto& t : g.initializer())
    if (!init_used.count(t.name())) unused.push_back("unused " + tensor_key(t));
  std::sort(unused.begin(), unused.end());
  lines.insert(lines.end(), unused.begin(), unused.end());
  return lines;
}

// ---- Test models.

// Parses ONNX textual syntax (onnx::OnnxParser, ONNX 1.12). Graph inputs named "init_*" become
// zero-filled initializers; "both_*" become initializers that stay listed as inputs (IR < 4 style).
onnx::ModelProto parse_onnx(const std::string& text) {
  onnx::ModelProto m;
  auto status = onnx::OnnxParser::Parse(m, text.c_str());
  if (!status.IsOK()) throw std::runtime_error(status.ErrorMessage());
  auto* g = m.mutable_graph();
  for (int i = g->input_size() - 1; i >= 0; --i) {
    const auto& in = g->input(i);
    bool init = in.name().rfind("init_", 0) == 0, both = in.name().rfind("both_", 0) == 0;
    if (!init && !both) continue;
    onnx::TensorProto t;
    t.set_name(in.name());
    t.set_data_type(in.type().tensor_type().elem_type());
    int64_t n = 1;
    for (const auto& d : in.type().tensor_type().shape().dim()) {
      t.add_dims(d.dim_value());
      n *= d.dim_value();
    }
    t.set_raw_data(std::string(static_cast<size_t>(n * dtype_size(t.data_type())), '\0'));
    g->mutable_initializer()->Add(std::move(t));
    if (init) g->mutable_input()->DeleteSubrange(i, 1);
  }
  return m;
}

onnx::ModelProto feature_model() {
  return parse_onnx(read_file(std::string(NAS_TEST_DATA_DIR) + "/onnx_text/features.onnxtxt"));
}

void expect_round_trip(const onnx::ModelProto& m, const std::string& what) {
  std::string text = to_text(m);
  onnx::ModelProto back = from_text(text);
  EXPECT_EQ(to_text(back), text) << what;
  std::vector<std::string> expected = structure(m), actual = structure(back);
  EXPECT_EQ(actual.size(), expected.size()) << what;
  for (size_t i = 0; i < std::min(actual.size(), expected.size()); ++i)
    if (actual[i] != expected[i]) {
      ADD_FAILURE() << what << ": structure line " << i << " differs\n  read back: " << actual[i]
                    << "\n  original:  " << expected[i] << "\n"
                    << text;
      break;
    }
  // Every other spelling of the same model reads back to the same model.
  TextOptions verbose;
  verbose.elide_types = false;
  verbose.implicit_function_weights = false;
  verbose.implied_function_attributes = false;
  verbose.anonymous_values = false;
  verbose.all_body_types = true;
  std::string explicit_text = to_text(m, verbose);
  EXPECT_NE(explicit_text, text) << what;
  EXPECT_EQ(to_text(from_text(explicit_text)), text) << what;
}

TEST(ReaderTest, RoundTripsHandMadeFeatureModel) {
  // Covers: several graph inputs, a non-float input, dynamic dim "N", a shared initializer, an
  // initializer that is a graph output, an unused one, one also listed as input, an int64 weight,
  // multi-output nodes with differing dtypes, an omitted optional input, a Constant, a custom-domain op
  // with unknown output type, attributes of every printed kind, nested function calls, function
  // attribute references, functions in two domains, an explicit weight formal, IR 7 / opset 13.
  expect_round_trip(feature_model(), "features");
}

TEST(ReaderTest, RoundTripsSampledNb201Models) {
  auto space = spaces::make_space("nb201");
  Rng rng(2024);
  for (int i = 0; i < 100; ++i) {
    spaces::Genotype g = space->sample(rng);
    spaces::BuildOptions options;
    options.dataset = space->datasets()[i % 3];
    options.use_functions = i % 4 != 3;  // every 4th without functions
    options.batch_size = i % 5 == 4 ? 8 : 1;
    expect_round_trip(space->build_model(g, options), space->format(g));
  }
}

TEST(ReaderTest, RoundTripsSampledModelsOfEverySpace) {
  for (const auto& name : spaces::space_names()) {
    auto space = spaces::make_space(name);
    Rng rng(77);
    for (int i = 0; i < 12; ++i) {
      spaces::Genotype g = space->sample(rng);
      spaces::BuildOptions options;
      options.dataset = space->datasets()[i % space->datasets().size()];
      options.use_functions = i % 6 != 5;
      options.batch_size = i % 4 == 3 ? 2 : 1;
      expect_round_trip(space->build_model(g, options), name + " " + space->format(g));
    }
  }
}

TEST(ReaderTest, ReconstructedNb201ModelPassesTheOnnxChecker) {
  auto space = spaces::make_space("nb201");
  auto g = space->parse("|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|");
  onnx::ModelProto m = from_text(to_text(space->build_model(g, {})));
  EXPECT_NO_THROW(onnx::checker::check_model(m));
  // One fresh initializer per call for every implicit weight: as many as the emitter wrote.
  EXPECT_EQ(m.graph().initializer_size(), space->build_model(g, {}).graph().initializer_size());
  for (const auto& t : m.graph().initializer()) {
    int64_t n = 1;
    for (int64_t d : t.dims()) n *= d;
    ASSERT_EQ(static_cast<int64_t>(t.raw_data().size()), 4 * n) << t.name();
    EXPECT_EQ(t.raw_data().find_first_not_of('\0'), std::string::npos) << t.name() << " is not zero-filled";
  }
}

TEST(ReaderTest, RestoresElidedTypesAndSizesImplicitWeightsPerCall) {
  onnx::ModelProto m = from_text(
      "def f(a[1,A,B,B])\n"
      "t0=Conv{kernel_shape=[1,1]}(a,[A*2,A,1,1]) [1,A*2,B,B]\n"
      "t1=BatchNormalization(t0,[A*2]*4)\n"
      "ret t1\n"
      "in x [1,3,8,8]\n"
      "v0=f(x) [1,6,8,8]\n"
      "v1=Relu(v0)\n"
      "v2=f(v1) [1,12,8,8]\n"
      "out v2\n");
  ASSERT_EQ(m.functions_size(), 1);
  EXPECT_EQ(m.functions(0).domain(), "nas");
  EXPECT_EQ(m.functions(0).input_size(), 6);  // a + 5 implicit weights, in order of use
  ASSERT_EQ(m.opset_import_size(), 2);
  EXPECT_EQ(m.ir_version(), 8);
  const auto& g = m.graph();
  ASSERT_EQ(g.node_size(), 3);
  EXPECT_EQ(g.node(0).input_size(), 6);
  std::map<std::string, std::vector<int64_t>> dims;
  for (const auto& t : g.initializer()) dims[t.name()] = {t.dims().begin(), t.dims().end()};
  EXPECT_EQ(dims.at(g.node(0).input(1)), (std::vector<int64_t>{6, 3, 1, 1}));
  EXPECT_EQ(dims.at(g.node(0).input(5)), (std::vector<int64_t>{6}));
  EXPECT_EQ(dims.at(g.node(2).input(1)), (std::vector<int64_t>{12, 6, 1, 1}));
  // v1 = Relu(v0): its type is v0's.
  ASSERT_EQ(g.value_info_size(), 2);
  EXPECT_EQ(g.value_info(1).name(), "v1");
  EXPECT_EQ(type_key(&g.value_info(1).type()), "t1[1,6,8,8,]");
  EXPECT_EQ(type_key(&g.output(0).type()), "t1[1,12,8,8,]");
}

TEST(ReaderTest, ExpandsRepeatsAnonymousValuesImpliedAttributesAndDerivedTypes) {
  onnx::ModelProto m = from_text(
      "def f(a[1,A,B,B])<g=A>\n"
      "Conv{group=@g:int}(a,[A,1,3,3])\n"
      "t0=Conv{strides=[2]*2}(^,[A*2,A,1,1]) [1,A*2,B/2,B/2]\n"
      "ret t0\n"
      "in x [1,4,8,8]\n"
      "Relu(x)\n"
      "2*f(^)\n"
      "v0,~=Split{axis=1}(^) [1,8,2,2]*2\n"
      "out v0\n");
  const auto& g = m.graph();
  ASSERT_EQ(g.node_size(), 4);
  EXPECT_EQ(g.node(1).input(0), g.node(0).output(0));  // `^`
  EXPECT_EQ(g.node(2).input(0), g.node(1).output(0));  // the second copy reads the first
  std::map<std::string, std::vector<int64_t>> dims;
  for (const auto& t : g.initializer()) dims[t.name()] = {t.dims().begin(), t.dims().end()};
  EXPECT_EQ(dims.at(g.node(1).input(1)), (std::vector<int64_t>{4, 1, 3, 3}));
  EXPECT_EQ(dims.at(g.node(2).input(2)), (std::vector<int64_t>{16, 8, 1, 1}));
  for (int k : {1, 2}) {
    ASSERT_EQ(g.node(k).attribute_size(), 1);
    EXPECT_EQ(g.node(k).attribute(0).name(), "g");
    EXPECT_EQ(g.node(k).attribute(0).i(), k == 1 ? 4 : 8);  // A at each call
  }
  EXPECT_EQ(g.node(3).output_size(), 2);
  std::map<std::string, std::string> types;
  for (const auto& vi : g.value_info()) types[vi.name()] = type_key(&vi.type());
  EXPECT_EQ(types.at(g.node(1).output(0)), "t1[1,8,4,4,]");  // derived from f's `ret` type
  EXPECT_EQ(types.at(g.node(2).output(0)), "t1[1,16,2,2,]");
  EXPECT_EQ(types.at(g.node(3).output(1)), "t1[1,8,2,2,]");
  EXPECT_EQ(m.functions(0).input_size(), 3);
  EXPECT_EQ(m.functions(0).attribute_size(), 1);
}

TEST(ReaderTest, NestedCallsBringTheirImplicitWeightsToTheCaller) {
  // inner's weight [A*2,A,1,1] becomes an implicit formal of outer, sized at outer's calls through the
  // argument's symbolic type there ([1,A,B/2,B/2]: inner's A is outer's A).
  onnx::ModelProto m = from_text(
      "def inner(a[1,A,B,B])\n"
      "t0=Conv(a,[A*2,A,1,1]) [1,A*2,B,B]\n"
      "ret t0\n"
      "def outer(a[1,A,B,B])\n"
      "MaxPool{kernel_shape=[2,2],strides=[2,2]}(a) [1,A,B/2,B/2]\n"
      "t0=inner(^)\n"
      "ret t0\n"
      "in x [1,4,8,8]\n"
      "outer(x) [1,8,4,4]\n"
      "v0=outer(^) [1,16,2,2]\n"
      "out v0\n");
  ASSERT_EQ(m.functions_size(), 2);
  EXPECT_EQ(m.functions(0).input_size(), 2);  // a, the weight
  EXPECT_EQ(m.functions(1).input_size(), 2);  // a, inner's weight passed through
  EXPECT_EQ(m.functions(1).node(1).input(1), m.functions(1).input(1));
  std::map<std::string, std::vector<int64_t>> dims;
  for (const auto& t : m.graph().initializer()) dims[t.name()] = {t.dims().begin(), t.dims().end()};
  EXPECT_EQ(dims.at(m.graph().node(0).input(1)), (std::vector<int64_t>{8, 4, 1, 1}));
  EXPECT_EQ(dims.at(m.graph().node(1).input(1)), (std::vector<int64_t>{16, 8, 1, 1}));
  // And the serializer writes it the same way: no weight in outer's text, none at the calls.
  std::string text = to_text(m);
  EXPECT_NE(text.find("t0=inner(^) [1,A*2,B/2,B/2]\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nouter(x)"), std::string::npos) << text;
  EXPECT_EQ(to_text(from_text(text)), text);
}

TEST(ReaderTest, FloatAndStringAttributesRoundTripExactly) {
  const std::vector<float> floats{0.1f,   1e-5f,      -0.0f, 1.0f / 3.0f, 3.4028235e38f, 1.17549435e-38f,
                                  1e-45f, 123456.79f, -2.5f, 0.0f,        1e10f,         7.0f};
  const std::vector<std::string> strings{"",         "plain",        "with \"quotes\" and \\", "new\nline\ttab",
                                         "\x01\x7f", "utf8 \xc3\xa9"};
  onnx::ModelProto m = from_text("in x [2]\nv0=Identity(x)\nout v0\n");
  auto* n = m.mutable_graph()->mutable_node(0);
  for (size_t i = 0; i < floats.size(); ++i) {
    auto* a = n->add_attribute();
    a->set_name(fmt::format("f{:02}", i));
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(floats[i]);
  }
  auto* list = n->add_attribute();
  list->set_name("list");
  list->set_type(onnx::AttributeProto::STRINGS);
  for (const auto& s : strings) list->add_strings(s);
  auto* empty = n->add_attribute();
  empty->set_name("no_ints");
  empty->set_type(onnx::AttributeProto::INTS);
  auto* nan = n->add_attribute();
  nan->set_name("nan");
  nan->set_type(onnx::AttributeProto::FLOATS);
  nan->add_floats(std::nanf(""));
  nan->add_floats(-INFINITY);

  onnx::ModelProto back = from_text(to_text(m));
  std::map<std::string, const onnx::AttributeProto*> attrs;
  for (const auto& a : back.graph().node(0).attribute()) attrs[a.name()] = &a;
  for (size_t i = 0; i < floats.size(); ++i) {
    const auto* a = attrs.at(fmt::format("f{:02}", i));
    EXPECT_EQ(a->type(), onnx::AttributeProto::FLOAT);
    EXPECT_EQ(float_bits(a->f()), float_bits(floats[i])) << floats[i];
  }
  ASSERT_EQ(attrs.at("list")->strings_size(), static_cast<int>(strings.size()));
  for (size_t i = 0; i < strings.size(); ++i) EXPECT_EQ(attrs.at("list")->strings(i), strings[i]);
  EXPECT_EQ(attrs.at("no_ints")->type(), onnx::AttributeProto::INTS);
  EXPECT_EQ(attrs.at("no_ints")->ints_size(), 0);
  EXPECT_TRUE(std::isnan(attrs.at("nan")->floats(0)));
  EXPECT_EQ(attrs.at("nan")->floats(1), -INFINITY);
}

TEST(ReaderTest, ToleratesBlankLinesAndSpaces) {
  std::string compact = to_text(from_text("in x [1,3]\nv0=Relu(x)\nout v0\n"));
  EXPECT_EQ(to_text(from_text("\n  in x  [1, 3]\n\nv0 = Relu( x )  \n out v0\n\n")), compact);
  EXPECT_EQ(to_text(from_text("in x [1,3]\nv0=Relu(x)\nout v0")), compact);  // no final newline
}

// Random one-character edits of valid texts: from_text() either reads the result or throws
// OnnxTextError, and to_text() of what it read either works or throws OnnxTextError; nothing else.
TEST(ReaderTest, CorruptedTextNeverCrashes) {
  auto space = spaces::make_space("nb201");
  std::vector<std::string> texts{
      to_text(feature_model()),
      to_text(space->build_model(space->parse("|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|"
                                              "+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|"),
                                 {}))};
  for (const char* name : {"nb101", "fbnet", "ofa_mbv3", "darts"}) {
    auto other = spaces::make_space(name);
    Rng sample_rng(3);
    texts.push_back(to_text(other->build_model(other->sample(sample_rng), {})));
  }
  const std::string alphabet = "[](){}=,*/_?@.:\"\n 0129Aavtwx-eif<>";
  Rng rng(5);
  int read = 0;
  for (int trial = 0; trial < 1500; ++trial) {
    std::string text = texts[trial % texts.size()];
    for (int edits = 1 + static_cast<int>(rng.index(2)); edits > 0; --edits) {
      size_t at = rng.index(text.size());
      char c = alphabet[rng.index(alphabet.size())];
      switch (rng.index(3)) {
        case 0:
          text.erase(at, 1);
          break;
        case 1:
          text.insert(at, 1, c);
          break;
        default:
          text[at] = c;
      }
    }
    try {
      onnx::ModelProto m = from_text(text);
      ++read;
      to_text(m);
    } catch (const OnnxTextError&) {
    } catch (const std::exception& e) {
      ADD_FAILURE() << "unexpected " << typeid(e).name() << ": " << e.what() << "\n" << text;
    }
  }
  EXPECT_GT(read, 0);  // some edits stay inside the dialect (e.g. a changed dim)
}

// Malformed text: the message names line and column.
struct BadText {
  const char* text;
  const char* where;  // "line L, column C"
  const char* what;
};

// Printed (and so named by ctest) as the expected message with non-alphanumerics replaced by '_'.
std::ostream& operator<<(std::ostream& os, const BadText& bad) {
  std::string name = bad.what;
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return os << name;
}

class ReaderErrorTest : public ::testing::TestWithParam<BadText> {};

TEST_P(ReaderErrorTest, ThrowsWithLineAndColumn) {
  const BadText& bad = GetParam();
  try {
    from_text(bad.text);
    FAIL() << "no error for:\n" << bad.text;
  } catch (const OnnxTextError& e) {
    std::string message = e.what();
    EXPECT_NE(message.find(bad.where), std::string::npos) << message;
    EXPECT_NE(message.find(bad.what), std::string::npos) << message;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Dialect, ReaderErrorTest,
    ::testing::Values(
        BadText{"in x [1,3]\nv0=Relu(y)\nout v0\n", "line 2, column 9", "unknown value 'y'"},
        BadText{"in x [1,3]\nv0=Relu(x\nout v0\n", "line 2, column 10", "expected ')'"},
        BadText{"in x q32[1]\nout x\n", "line 1, column 6", "unknown dtype 'q32'"},
        BadText{"in x [1,3]\nv0=Relu(x)\nv0=Relu(x)\nout v0\n", "line 3, column 1", "defined twice"},
        BadText{"in x [1,3]\nv0=Relu(x)\n", "line 3, column 1", "expected an 'out' line"},
        BadText{"def f(a[A])\nt0=Relu(a)\n", "line 3, column 1", "no 'ret' line"},
        BadText{"def f(a[A])\nt0=Mul(a,[B])\nret t0\nin x [2]\nout x\n", "line 2, column 11",
                "unknown dim variable 'B'"},
        BadText{"in x [1]\nv0=Foo{a=1,a=2}(x)\nout v0\n", "line 2, column 12", "duplicate attribute 'a'"},
        BadText{"in x [1]\nv0=Foo{a=[1,2.5]}(x)\nout v0\n", "line 2, column 10", "same type"},
        BadText{"in x [1]\nv0=Foo{a=99999999999999999999}(x)\nout v0\n", "line 2, column 10", "out of range"},
        BadText{"in x [1]\nv0=Foo{a=[]}(x)\nout v0\n", "line 2, column 11", "needs its type"},
        BadText{"in x [4]\nv0,v1=Split(x) [2]\nout v0\n", "line 2, column 16", "1 output types for 2 outputs"},
        BadText{"in x [1]\nout x\nv0=Relu(x)\n", "line 3, column 1", "after the 'out' line"},
        BadText{"in x [1]\nv0=Add(x,[100000,100000,100000])\nout v0\n", "line 2, column 10", "too large"},
        BadText{"def f(a[A])\nt0=Mul(a,[A])\nret t0\nin x ?\nv0=f(x)\nout v0\n", "line 5, column 4",
                "dim variable 'A' is not a known integer"},
        BadText{"def f(a[A])\nt0=Mul(a,[A])\nret t0\nin x [2]\nv0=f(x,x)\nout v0\n", "line 5, column 4",
                "2 arguments"},
        BadText{"in x [1]\nv0=Foo{s=\"abc}(x)\nout v0\n", "line 2, column 10", "unterminated string"},
        BadText{"in x [1]\nv0=Relu(x) [1,A*2]\nout v0\n", "line 2, column 16", "expected ']'"},
        BadText{"def f(a)\nt0=Relu(a)\nin x [1]\n", "line 3, column 1", "'in' inside function 'f'"},
        BadText{"in x [1]\nv0=Relu(x)\nout v0,v9\n", "line 3, column 8", "unknown value 'v9'"},
        BadText{"opset 15,:1\nin x [1]\nout x\n", "line 1, column 10", "expected opset domain"},
        BadText{"in x [1]\nv0=Relu(x)\nNeg(^)\nout v0\n", "line 3, column 5", "'^' names the previous line"},
        BadText{"in x [1]\n0*Relu(x)\nout x\n", "line 2, column 1", "a repeat count must be in"},
        BadText{"in x [1]\n2*v0=Relu(x)\nout x\n", "line 2, column 3", "defined twice"},
        BadText{"in x [1]\nv0=Foo{a=[1,2]*3}(x)\nout v0\n", "line 2, column 16", "only a one-element"},
        BadText{"def f(a[A])<g=A>\nt0=Relu(a)\nret t0\nin x [2]\nv0=f{g=2}(x)\nout v0\n", "line 5, column 4",
                "attribute 'g' is implied"},
        BadText{"def f(a[A])<g=B>\nt0=Relu(a)\nret t0\nin x [2]\nout x\n", "line 1, column 15",
                "unknown dim variable 'B'"}));

}  // namespace
}  // namespace nas::onnx_text
