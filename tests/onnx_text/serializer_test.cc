#include "onnx_text/serializer.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <typeinfo>
#include <unordered_map>
#include <vector>

#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <onnx/defs/parser.h>

#include "core/error.h"
#include "core/io.h"
#include "core/rng.h"
#include "onnx_text/inline.h"
#include "onnx_text/reader.h"
#include "spaces/search_space.h"

namespace nas::onnx_text {
namespace {

const char* kGoldenArch =
    "|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|";

std::string data_file(const std::string& name) { return std::string(NAS_TEST_DATA_DIR) + "/onnx_text/" + name; }

onnx::ModelProto parse_onnx(const std::string& text) {
  onnx::ModelProto m;
  auto status = onnx::OnnxParser::Parse(m, text.c_str());
  if (!status.IsOK()) throw std::runtime_error(status.ErrorMessage());
  return m;
}

// The feature model of tests/data/onnx_text/features.onnxtxt; inputs "init_*" become zero-filled
// initializers, "both_*" initializers that stay listed as inputs (as in reader_test.cc).
onnx::ModelProto feature_model() {
  onnx::ModelProto m = parse_onnx(read_file(data_file("features.onnxtxt")));
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

// Compares `text` with the golden file; NAS_UPDATE_GOLDEN=1 rewrites the file instead.
void expect_golden(const std::string& text, const std::string& file) {
  std::string path = data_file(file);
  if (std::getenv("NAS_UPDATE_GOLDEN") != nullptr) write_file_atomic(path, text);
  std::string golden = read_file(path);
  EXPECT_EQ(text, golden) << "predictor text drifted from " << path
                          << " (rerun with NAS_UPDATE_GOLDEN=1 if the change is intended)";
}

TEST(SerializerTest, Nb201CellMatchesGoldenFile) {
  auto space = spaces::make_space("nb201");
  std::string text = to_text(space->build_model(space->parse(kGoldenArch), {}));
  expect_golden(text, "nb201_cifar10.txt");
  // The golden text itself reads back to the same text.
  EXPECT_EQ(to_text(from_text(read_file(data_file("nb201_cifar10.txt")))),
            read_file(data_file("nb201_cifar10.txt")));
}

TEST(SerializerTest, FeatureModelMatchesGoldenFile) { expect_golden(to_text(feature_model()), "features.txt"); }

// One fixed network per other space (the first row of its benchmark table), its text checked in.
struct SpaceGolden {
  const char* space;
  const char* arch;
  const char* file;
};

const SpaceGolden kSpaceGoldens[] = {
    {"nb101",
     "0111101000001100000010000110000001100000000000000|input maxpool3x3 maxpool3x3 conv3x3-bn-relu "
     "conv3x3-bn-relu conv3x3-bn-relu output",
     "nb101_cifar10.txt"},
    {"fbnet",
     "k5_e6 skip k3_e1_g2 skip k5_e1 skip skip skip k5_e6 k5_e1 k3_e1_g2 k5_e1 k5_e6 k3_e6 k3_e3 k5_e6 k3_e6 "
     "k3_e3 k5_e1 k3_e3 k5_e1 k5_e1_g2",
     "fbnet_cifar100.txt"},
    {"ofa_mbv3",
     "ks=7 5 5 5 7 7 5 7 5 7 3 7 5 3 7 3 5 3 5 3|e=6 4 4 6 6 3 4 3 3 6 3 3 3 6 3 4 6 4 3 6|d=2 2 2 2 3|r=204",
     "ofa_mbv3_imagenet.txt"},
    {"darts",
     "[[(0, 0), (1, 5), (1, 1), (0, 1), (1, 3), (0, 3), (1, 3), (3, 2)], "
     "[(1, 0), (0, 2), (1, 3), (0, 3), (3, 0), (0, 1), (2, 0), (3, 6)]]",
     "darts_cifar10.txt"},
};

TEST(SerializerTest, EverySpaceMatchesItsGoldenFile) {
  for (const auto& golden : kSpaceGoldens) {
    SCOPED_TRACE(golden.space);
    auto space = spaces::make_space(golden.space);
    std::string text = to_text(space->build_model(space->parse(golden.arch), {}));
    expect_golden(text, golden.file);
    EXPECT_EQ(to_text(from_text(read_file(data_file(golden.file)))), read_file(data_file(golden.file)));
  }
}

TEST(SerializerTest, Nb201TextShape) {
  auto space = spaces::make_space("nb201");
  std::string text = to_text(space->build_model(space->parse(kGoldenArch), {}));
  // The cell body once, its 15 calls as three runs of five, weights by shape only, values by `^`.
  EXPECT_EQ(text.rfind("def cell(a[1,A,B,B])\nRelu(a)\nConv{pads=[1]*4}(^,[A,A,3,3])\n", 0), 0u) << text;
  size_t runs = 0;
  for (size_t p = text.find("\n5*cell(^)\n"); p != std::string::npos; p = text.find("\n5*cell(^)\n", p + 1)) ++runs;
  EXPECT_EQ(runs, 3u) << text;
  // The residual block's output type ([1,32,16,16], [1,64,8,8]) is derived from its body's.
  EXPECT_NE(text.find("\n5*cell(^)\nresblock(^)\n5*cell(^)\nresblock(^)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("(^,[A*2,A,3,3]) [1,A*2,B/2,B/2]\n"), std::string::npos) << text;
  EXPECT_NE(text.find("in x [1,3,32,32]\n"), std::string::npos);
  EXPECT_EQ(text.find("stem"), std::string::npos) << "proto names leaked into the text";
  // Without functions the same network is written out in full, and is much longer.
  spaces::BuildOptions flat;
  flat.use_functions = false;
  std::string flat_text = to_text(space->build_model(space->parse(kGoldenArch), flat));
  EXPECT_EQ(flat_text.find("def "), std::string::npos);
  EXPECT_GT(flat_text.size(), 3 * text.size());
}

TEST(SerializerTest, ImpliedAttributesAndDerivedCallTypes) {
  // FBNet's blocks: the depthwise group is the expanded channel count C, so the calls leave it out.
  auto space = spaces::make_space("fbnet");
  std::string text = to_text(space->build_model(space->parse(kSpaceGoldens[1].arch), {}));
  EXPECT_NE(text.find("def mb(a[1,A,B,B],b[C,1,D,D])<g=C>\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("{g="), std::string::npos) << text;
  // Every option off: the long form, which reads back to the same model and so to the short text.
  TextOptions verbose;
  verbose.anonymous_values = false;
  verbose.implied_function_attributes = false;
  verbose.all_body_types = true;
  std::string long_text = to_text(space->build_model(space->parse(kSpaceGoldens[1].arch), {}), verbose);
  EXPECT_NE(long_text.find("=mb{g="), std::string::npos) << long_text;
  EXPECT_EQ(long_text.find('^'), std::string::npos);
  EXPECT_EQ(to_text(from_text(long_text)), text);
}

TEST(SerializerTest, RepeatedEqualListsAndLines) {
  onnx::ModelProto m = parse_onnx(R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[1,2,8,8] x) => (float[1,2,2,2] y) {
  a = MaxPool<kernel_shape=[2,2], pads=[0,0,0,0], strides=[2,2]>(x)
  b = MaxPool<kernel_shape=[2,2], pads=[0,0,0,0], strides=[2,2]>(a)
  c = Relu(b)
  d = Relu(c)
  y = Relu(d)
}
)");
  EXPECT_EQ(to_text(m),
            "in x [1,2,8,8]\n"
            "MaxPool{kernel_shape=[2,2],pads=[0]*4,strides=[2,2]}(x) [1,2,4,4]\n"
            "MaxPool{kernel_shape=[2,2],pads=[0]*4,strides=[2,2]}(^) [1,2,2,2]\n"
            "2*Relu(^)\n"
            "v0=Relu(^)\n"
            "out v0\n");
}

// Renames every value, initializer and formal, reorders initializers, sets names / doc strings.
onnx::ModelProto renamed(const onnx::ModelProto& m) {
  onnx::ModelProto out = m;
  auto rename = [](std::string* s) {
    if (!s->empty()) *s = "renamed/" + std::string(s->rbegin(), s->rend());
  };
  auto* g = out.mutable_graph();
  g->set_name("other_name");
  g->set_doc_string("doc");
  for (auto& vi : *g->mutable_input()) rename(vi.mutable_name());
  for (auto& vi : *g->mutable_output()) rename(vi.mutable_name());
  for (auto& vi : *g->mutable_value_info()) rename(vi.mutable_name());
  for (auto& t : *g->mutable_initializer()) rename(t.mutable_name());
  std::reverse(g->mutable_initializer()->begin(), g->mutable_initializer()->end());
  for (auto& n : *g->mutable_node()) {
    n.set_name("node_name");
    for (auto& s : *n.mutable_input()) rename(&s);
    for (auto& s : *n.mutable_output()) rename(&s);
  }
  for (auto& f : *out.mutable_functions()) {
    for (auto& s : *f.mutable_input()) rename(&s);
    for (auto& s : *f.mutable_output()) rename(&s);
    for (auto& n : *f.mutable_node()) {
      for (auto& s : *n.mutable_input()) rename(&s);
      for (auto& s : *n.mutable_output()) rename(&s);
    }
  }
  out.set_producer_name("someone else");
  return out;
}

TEST(SerializerTest, TextIsIndependentOfProtoNamesAndDeterministic) {
  auto space = spaces::make_space("nb201");
  onnx::ModelProto m = space->build_model(space->parse(kGoldenArch), {});
  std::string text = to_text(m);
  EXPECT_EQ(to_text(m), text);
  EXPECT_EQ(to_text(renamed(m)), text);
  onnx::ModelProto f = feature_model();
  EXPECT_EQ(to_text(renamed(f)), to_text(f));
}

// Identifies an NB201 network's graph without looking at its text. All NB201 networks share the
// skeleton (stem, 15 calls of "cell", 2 of "resblock", head) and the resblock, so the graph is determined
// by the cell function's body: its nodes with every value renamed by order of definition (formal i ->
// "f<i>", node outputs "v<k>").
std::string nb201_graph_key(const onnx::ModelProto& model) {
  for (const auto& f : model.functions()) {
    if (f.name() != "cell") continue;
    std::unordered_map<std::string, std::string> names;
    for (int i = 0; i < f.input_size(); ++i) names[f.input(i)] = fmt::format("f{}", i);
    onnx::FunctionProto body;
    for (auto n : f.node()) {
      for (auto& s : *n.mutable_input()) s = names.at(s);
      for (auto& s : *n.mutable_output()) s = names[s] = fmt::format("v{}", names.size());
      *body.add_node() = std::move(n);
    }
    for (const auto& o : f.output()) body.add_output(names.at(o));
    return body.SerializeAsString();
  }
  ADD_FAILURE() << "no cell function";
  return "";
}

TEST(SerializerTest, DistinctNb201GraphsGiveDistinctTexts) {
  // 3,000 cells drawn without replacement from the 15,625: the text map must be a bijection onto graphs.
  auto space = spaces::make_space("nb201");
  std::vector<uint64_t> indices(*space->size());
  for (size_t i = 0; i < indices.size(); ++i) indices[i] = i;
  Rng rng(11);
  rng.shuffle(indices);
  indices.resize(3000);
  std::map<std::string, std::string> text_of_graph, graph_of_text;
  for (uint64_t index : indices) {
    spaces::Genotype g = space->at(index);
    onnx::ModelProto m = space->build_model(g, {});
    std::string key = nb201_graph_key(m), text = to_text(m);
    auto [t, new_graph] = text_of_graph.emplace(key, text);
    auto [k, new_text] = graph_of_text.emplace(text, key);
    EXPECT_EQ(t->second, text) << "one graph, two texts: " << space->format(g);
    EXPECT_EQ(k->second, key) << "two graphs, one text: " << space->format(g) << "\n" << text;
    EXPECT_EQ(new_graph, new_text);
  }
  // Some NB201 cells build the same graph (e.g. a skip edge into a node that only forwards its input),
  // but most are distinct.
  EXPECT_GT(text_of_graph.size(), 2700u);
  EXPECT_EQ(text_of_graph.size(), graph_of_text.size());
}

TEST(SerializerTest, ConcurrentCallsGiveTheSameTexts) {
  auto space = spaces::make_space("nb201");
  std::vector<onnx::ModelProto> models;
  for (uint64_t i = 0; i < 24; ++i) models.push_back(space->build_model(space->at(i * 601), {}));
  std::vector<std::string> sequential, parallel(models.size());
  for (const auto& m : models) sequential.push_back(to_text(m));
  std::vector<std::thread> threads;
  for (size_t t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      for (size_t i = t; i < models.size(); i += 2) parallel[i] = to_text(models[i]);
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(parallel, sequential);
}

TEST(SerializerTest, StructuralChangesChangeTheText) {
  const onnx::ModelProto base = feature_model();
  std::vector<std::pair<std::string, onnx::ModelProto>> variants;
  auto add = [&](const std::string& what, auto&& edit) {
    onnx::ModelProto m = base;
    edit(m);
    variants.emplace_back(what, std::move(m));
  };
  auto node = [](onnx::ModelProto& m, const std::string& output) -> onnx::NodeProto& {
    for (auto& n : *m.mutable_graph()->mutable_node())
      if (n.output(0) == output) return n;
    throw std::runtime_error("no node " + output);
  };
  add("attribute value", [&](auto& m) { node(m, "c0").mutable_attribute(1)->set_ints(0, 0); });
  add("attribute removed", [&](auto& m) { node(m, "c0").mutable_attribute()->RemoveLast(); });
  add("float attribute", [&](auto& m) { node(m, "r1").mutable_attribute(0)->set_f(0.25f); });
  add("input order", [&](auto& m) { node(m, "m2").mutable_input()->SwapElements(0, 1); });
  add("op type", [&](auto& m) { node(m, "zo").set_op_type("Neg"); });
  add("domain", [&](auto& m) { node(m, "zo").set_domain("com.custom"); });
  add("weight shape", [&](auto& m) { m.mutable_graph()->mutable_initializer(0)->set_dims(0, 5); });
  add("weight dtype",
      [&](auto& m) { m.mutable_graph()->mutable_initializer(0)->set_data_type(onnx::TensorProto::FLOAT16); });
  add("input shape", [&](auto& m) {
    m.mutable_graph()
        ->mutable_input(0)
        ->mutable_type()
        ->mutable_tensor_type()
        ->mutable_shape()
        ->mutable_dim(2)
        ->set_dim_value(16);
  });
  add("output dropped", [&](auto& m) { m.mutable_graph()->mutable_output()->RemoveLast(); });
  add("optional input omitted", [&](auto& m) { node(m, "cl").set_input(2, ""); });
  add("shared weight split", [&](auto& m) {
    onnx::TensorProto t;
    for (const auto& init : m.graph().initializer())
      if (init.name() == "init_shared") t = init;
    ASSERT_EQ(t.name(), "init_shared");
    t.set_name("init_shared_copy");
    *m.mutable_graph()->add_initializer() = t;
    node(m, "m2").set_input(1, "init_shared_copy");
  });
  add("function body", [&](auto& m) { m.mutable_functions(1)->mutable_node(0)->set_op_type("Div"); });
  add("function opset", [&](auto& m) { m.mutable_functions(1)->mutable_opset_import(0)->set_version(14); });
  add("model opset", [&](auto& m) { m.mutable_opset_import(0)->set_version(14); });
  add("ir version", [&](auto& m) { m.set_ir_version(8); });
  std::set<std::string> texts{to_text(base)};
  for (const auto& [what, m] : variants) EXPECT_TRUE(texts.insert(to_text(m)).second) << what;
}

// Malformed ONNX models: clear OnnxTextError messages, never a crash.
void expect_onnx_error(const onnx::ModelProto& m, const std::string& what) {
  try {
    to_text(m);
    FAIL() << "no error, expected: " << what;
  } catch (const OnnxTextError& e) {
    EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
  }
}

onnx::ModelProto small_model() {
  return parse_onnx(R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[1,4] x) => (float[1,4] y) {
  r = Relu(x)
  y = Neg(r)
}
)");
}

TEST(SerializerTest, MalformedModelsThrowClearErrors) {
  onnx::ModelProto m = small_model();
  m.mutable_graph()->mutable_node(1)->set_input(0, "nowhere");
  expect_onnx_error(m, "main graph node 1 (Neg): input 'nowhere' has no producer");

  m = small_model();
  m.mutable_graph()->mutable_node(1)->set_output(0, "r");
  expect_onnx_error(m, "output 'r' is defined twice");

  m = small_model();
  m.mutable_graph()->mutable_node(1)->set_domain("nas");
  m.mutable_graph()->mutable_node(1)->set_op_type("cell");
  expect_onnx_error(m, "unknown function 'nas.cell'");

  m = small_model();
  auto* a = m.mutable_graph()->mutable_node(0)->add_attribute();
  a->set_name("alpha");
  a->set_i(3);  // value without a type
  expect_onnx_error(m, "attribute 'alpha': attribute has an undefined or unknown type (0)");

  m = small_model();
  a = m.mutable_graph()->mutable_node(0)->add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  a->mutable_t()->add_dims(2);
  expect_onnx_error(m, "tensor has an undefined data type");

  m = small_model();
  a = m.mutable_graph()->mutable_node(0)->add_attribute();
  a->set_name("then_branch");
  a->set_type(onnx::AttributeProto::GRAPH);
  expect_onnx_error(m, "graph-valued attributes");

  m = small_model();
  m.mutable_graph()->mutable_output(0)->set_name("absent");
  expect_onnx_error(m, "output 'absent' has no producer");

  m = parse_onnx(R"(
<ir_version: 8, opset_import: ["" : 15, "nas" : 1]>
g (float[1,4] x) => (float[1,4] y) {
  y = nas.f(x)
}
<domain: "nas", opset_import: ["" : 15, "nas" : 1]>
f (a) => (b) {
  b = nas.f(a)
}
)");
  expect_onnx_error(m, "function nas.f is recursive");

  onnx::ModelProto no_graph;
  expect_onnx_error(no_graph, "no graph");
}

// Random damage to valid models, at the proto level and in the serialized bytes: to_text() either works
// or throws OnnxTextError; nothing else (ONNX's own shape inference runs only on validated graphs).
TEST(SerializerTest, DamagedModelsNeverCrash) {
  auto space = spaces::make_space("nb201");
  const std::vector<onnx::ModelProto> models{feature_model(), space->build_model(space->parse(kGoldenArch), {}),
                                             [&] {
                                               spaces::BuildOptions flat;
                                               flat.use_functions = false;
                                               return space->build_model(space->parse(kGoldenArch), flat);
                                             }()};
  Rng rng(3);
  auto pick = [&](auto& field) -> decltype(field.Mutable(0)) {
    return field.empty() ? nullptr : field.Mutable(static_cast<int>(rng.index(field.size())));
  };
  int printed = 0;
  for (int trial = 0; trial < 600; ++trial) {
    onnx::ModelProto m = models[trial % models.size()];
    if (trial % 3 == 2) {  // flip bytes of the serialized model
      std::string bytes = m.SerializeAsString();
      for (int k = 0; k < 3; ++k) bytes[rng.index(bytes.size())] = static_cast<char>(rng.index(256));
      try {
        m = parse_onnx_bytes(bytes);
      } catch (const OnnxTextError&) {
        continue;
      }
    } else {
      auto* g = m.mutable_graph();
      onnx::NodeProto* n = pick(*g->mutable_node());
      auto* f = pick(*m.mutable_functions());
      onnx::NodeProto* fn = f ? pick(*f->mutable_node()) : nullptr;
      size_t what = rng.index(8);
      if (what == 0 && n && n->input_size()) {
        n->set_input(static_cast<int>(rng.index(n->input_size())), fmt::format("v{}", rng.index(9)));
      } else if (what == 1 && n) {
        n->mutable_output()->Clear();
      } else if (what == 2 && fn && fn->input_size()) {
        fn->mutable_input()->SwapElements(0, fn->input_size() - 1);
      } else if (what == 3 && f) {
        f->mutable_input()->RemoveLast();
      } else if (what == 4 && n && n->attribute_size()) {
        n->mutable_attribute(0)->set_type(onnx::AttributeProto::TENSOR);
      } else if (what == 5 && g->node_size() > 1) {
        g->mutable_node()->SwapElements(0, g->node_size() - 1);
      } else if (what == 6 && g->initializer_size()) {
        g->mutable_initializer(0)->add_dims(-1);
      } else if (what == 7 && n && f) {  // call a function with the wrong arguments
        n->set_op_type(f->name());
        n->set_domain(f->domain());
      }
    }
    try {
      to_text(m);
      ++printed;
    } catch (const OnnxTextError&) {
    } catch (const std::exception& e) {
      ADD_FAILURE() << "trial " << trial << ": unexpected " << typeid(e).name() << ": " << e.what();
    }
  }
  EXPECT_GT(printed, 0);
}

TEST(SerializerTest, LoadOnnxFileRejectsUnreadableAndUnparseableFiles) {
  std::string dir =
      (std::filesystem::temp_directory_path() / fmt::format("nas_onnx_text_{}", ::getpid())).string();
  make_dirs(dir);
  onnx::ModelProto m = small_model();
  write_file_atomic(dir + "/ok.onnx", m.SerializeAsString());
  EXPECT_EQ(to_text(load_onnx_file(dir + "/ok.onnx")), to_text(m));

  write_file_atomic(dir + "/garbage.onnx", std::string("\xff\xff\xff\xff not a protobuf", 20));
  try {
    load_onnx_file(dir + "/garbage.onnx");
    FAIL();
  } catch (const OnnxTextError& e) {
    EXPECT_NE(std::string(e.what()).find("garbage.onnx: not an ONNX model"), std::string::npos) << e.what();
  }
  write_file_atomic(dir + "/empty.onnx", "");
  EXPECT_THROW(load_onnx_file(dir + "/empty.onnx"), OnnxTextError);  // parses, but has no graph
  try {
    load_onnx_file(dir + "/missing.onnx");
    FAIL();
  } catch (const OnnxTextError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.onnx: cannot open file for reading"), std::string::npos);
  }
  EXPECT_THROW(parse_onnx_bytes("\x0a\x05\x08", "bytes"), OnnxTextError);
  std::filesystem::remove_all(dir);
}

TEST(SerializerTest, DtypeNamesRoundTrip) {
  int named = 0;
  for (int32_t t = 0; t <= 20; ++t) {
    const char* name = dtype_name(t);
    if (name == nullptr) continue;
    ++named;
    EXPECT_EQ(dtype_from_name(name), t) << name;
  }
  EXPECT_EQ(named, 16);
  EXPECT_EQ(dtype_name(0), nullptr);
  EXPECT_EQ(dtype_from_name("float"), 0);
  EXPECT_EQ(dtype_size(onnx::TensorProto::BFLOAT16), 2);
}

// Size of the NB201 predictor text over sampled cells, with a token estimate for a BPE whose digits
// are single tokens: each digit and punctuation mark one token, each letter run one token per 4 letters.
TEST(SerializerTest, Nb201TextSize) {
  auto space = spaces::make_space("nb201");
  Rng rng(7);
  std::vector<size_t> chars, tokens, digits;
  for (int i = 0; i < 200; ++i) {
    std::string text = to_text(space->build_model(space->sample(rng), {}));
    size_t t = 0, d = 0;
    for (size_t p = 0; p < text.size();) {
      unsigned char c = text[p];
      if (std::isalpha(c) || c == '_') {
        size_t q = p;
        while (q < text.size() && (std::isalpha(static_cast<unsigned char>(text[q])) || text[q] == '_')) ++q;
        t += (q - p + 3) / 4;
        p = q;
      } else {
        d += std::isdigit(c) != 0;
        ++t;
        ++p;
      }
    }
    chars.push_back(text.size());
    tokens.push_back(t);
    digits.push_back(d);
  }
  auto median = [](std::vector<size_t> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  size_t max_chars = *std::max_element(chars.begin(), chars.end());
  std::printf(
      "nb201 text over 200 cells: chars median %zu max %zu; digits median %zu; est. tokens median %zu max %zu\n",
      median(chars), max_chars, median(digits), median(tokens), *std::max_element(tokens.begin(), tokens.end()));
  // Guards against a silent blow-up of the dialect (the explicit form is about twice as long).
  EXPECT_LT(max_chars, 1700u);
}

}  // namespace
}  // namespace nas::onnx_text
