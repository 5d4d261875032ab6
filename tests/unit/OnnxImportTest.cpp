// The ONNX importer (frontend/onnx) on models built here as ModelProtos:
// control flow interpreted and compiled against hand-computed values,
// run-time shapes, external data, and malformed input (every truncation and
// byte corruption of a model is an error or a valid module, never a crash).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <unistd.h>

#include <onnx/onnx_pb.h>

#include "GradCheckUtil.h"
#include "compiler/codegen/cpu/CompileExecutable.h"
#include "frontend/onnx/OnnxImport.h"
#include "ir/Verifier.h"
#include "runtime/reference/Interpreter.h"

using namespace cairn;
namespace fs = std::filesystem;

namespace {

void setType(onnx::ValueInfoProto* vi, const std::string& name, int elemType,
             const std::vector<int64_t>& dims) {
  vi->set_name(name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elemType);
  auto* shape = tt->mutable_shape();
  for (int64_t d : dims) {
    auto* dim = shape->add_dim();
    if (d < 0)
      dim->set_dim_param("n"); // symbolic
    else
      dim->set_dim_value(d);
  }
}

onnx::NodeProto* addNode(onnx::GraphProto* g, const std::string& op,
                         const std::vector<std::string>& ins, const std::vector<std::string>& outs,
                         const std::string& name = "") {
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(name.empty() ? op + "_" + std::to_string(g->node_size()) : name);
  for (const auto& i : ins)
    n->add_input(i);
  for (const auto& o : outs)
    n->add_output(o);
  return n;
}

onnx::ModelProto newModel(int opset = 13) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(opset);
  m.mutable_graph()->set_name("g");
  return m;
}

std::unique_ptr<Module> importOk(const onnx::ModelProto& m, const std::string& baseDir = "") {
  StatusOr<std::unique_ptr<Module>> r = importOnnxBytes(m.SerializeAsString(), baseDir, "test");
  EXPECT_TRUE(r.isOk()) << r.status().message();
  if (!r.isOk()) return nullptr;
  EXPECT_TRUE(verify(**r).isOk());
  return std::move(*r);
}

/// Runs @main interpreted and compiled; expects both to agree with `want`.
void expectRuns(const Module& m, const std::vector<Tensor>& inputs,
                const std::vector<std::vector<double>>& want) {
  StatusOr<std::vector<Tensor>> got = interpret(m, "main", inputs);
  ASSERT_TRUE(got.isOk()) << got.status().message();
  auto exe = codegen::cpu::compileExecutable(m);
  ASSERT_TRUE(exe.isOk()) << exe.status().message();
  StatusOr<std::vector<Tensor>> compiled = (*exe)->run("main", inputs);
  ASSERT_TRUE(compiled.isOk()) << compiled.status().message();
  ASSERT_EQ(got->size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ((*got)[i].toDoubles(), want[i]) << "interpreted output " << i;
    EXPECT_EQ((*compiled)[i].toDoubles(), want[i]) << "compiled output " << i;
  }
}

/// Loop(M, cond, s) whose body adds i to s, emits s, and continues while
/// i + 1 < stop: trip count and condition both bound it.
onnx::ModelProto loopModel(int64_t constantTrips = -1) {
  onnx::ModelProto m = newModel();
  auto* g = m.mutable_graph();
  if (constantTrips < 0) {
    setType(g->add_input(), "m", onnx::TensorProto::INT64, {});
  } else { // known at import: the scan output is preallocated
    auto* t = g->add_initializer();
    t->set_name("m");
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_int64_data(constantTrips);
  }
  setType(g->add_input(), "stop", onnx::TensorProto::INT64, {});
  setType(g->add_input(), "s0", onnx::TensorProto::FLOAT, {2});
  addNode(g, "Constant", {}, {"yes"})->add_attribute()->CopyFrom([] {
    onnx::AttributeProto a;
    a.set_name("value");
    a.set_type(onnx::AttributeProto::TENSOR);
    a.mutable_t()->set_data_type(onnx::TensorProto::BOOL);
    a.mutable_t()->add_int32_data(1);
    return a;
  }());
  auto* loop = addNode(g, "Loop", {"m", "yes", "s0"}, {"s", "rows"}, "the_loop");
  auto* attr = loop->add_attribute();
  attr->set_name("body");
  attr->set_type(onnx::AttributeProto::GRAPH);
  auto* body = attr->mutable_g();
  body->set_name("body");
  setType(body->add_input(), "i", onnx::TensorProto::INT64, {});
  setType(body->add_input(), "c", onnx::TensorProto::BOOL, {});
  setType(body->add_input(), "s_in", onnx::TensorProto::FLOAT, {2});
  auto* cast = addNode(body, "Cast", {"i"}, {"fi"});
  auto* to = cast->add_attribute();
  to->set_name("to");
  to->set_type(onnx::AttributeProto::INT);
  to->set_i(onnx::TensorProto::FLOAT);
  addNode(body, "Add", {"s_in", "fi"}, {"s_out"});
  addNode(body, "Constant", {}, {"one"})->add_attribute()->CopyFrom([] {
    onnx::AttributeProto a;
    a.set_name("value");
    a.set_type(onnx::AttributeProto::TENSOR);
    a.mutable_t()->set_data_type(onnx::TensorProto::INT64);
    a.mutable_t()->add_int64_data(1);
    return a;
  }());
  addNode(body, "Add", {"i", "one"}, {"next"});
  addNode(body, "Less", {"next", "stop"}, {"c_out"}); // `stop` is an outer value
  setType(body->add_output(), "c_out", onnx::TensorProto::BOOL, {});
  addNode(body, "Identity", {"s_out"}, {"row"});
  setType(body->add_output(), "s_out", onnx::TensorProto::FLOAT, {2});
  setType(body->add_output(), "row", onnx::TensorProto::FLOAT, {2});
  setType(g->add_output(), "s", onnx::TensorProto::FLOAT, {2});
  setType(g->add_output(), "rows", onnx::TensorProto::FLOAT, {-1, 2});
  return m;
}

Tensor i64(int64_t v) {
  return Tensor::fromInts(TensorType(DType::I64, {}), {v});
}

} // namespace

TEST(OnnxImport, LoopHonoursTripCountAndCondition) {
  auto m = importOk(loopModel());
  ASSERT_TRUE(m);
  Tensor s0 = Tensor::fromDoubles(TensorType(DType::F32, {2}), {10, 20});
  // The trip count stops it: 3 iterations (i = 0, 1, 2).
  expectRuns(*m, {i64(3), i64(100), s0}, {{13, 23}, {10, 20, 11, 21, 13, 23}});
  // The condition stops it: i + 1 < 2 fails after i = 1.
  expectRuns(*m, {i64(100), i64(2), s0}, {{11, 21}, {10, 20, 11, 21}});
  // Zero iterations: the initial value and an empty stack.
  expectRuns(*m, {i64(0), i64(100), s0}, {{10, 20}, {}});
}

TEST(OnnxImport, LoopWithConstantTripCountStopsEarly) {
  Tensor s0 = Tensor::fromDoubles(TensorType(DType::F32, {2}), {10, 20});
  auto m = importOk(loopModel(5));
  ASSERT_TRUE(m);
  expectRuns(*m, {i64(100), s0}, {{20, 30}, {10, 20, 11, 21, 13, 23, 16, 26, 20, 30}});
  // The condition stops it after 2 of the 5 preallocated rows.
  expectRuns(*m, {i64(2), s0}, {{11, 21}, {10, 20, 11, 21}});
  auto none = importOk(loopModel(0));
  ASSERT_TRUE(none);
  expectRuns(*none, {i64(100), s0}, {{10, 20}, {}});
}

TEST(OnnxImport, RunTimeReshapeBecomesDynamicDims) {
  onnx::ModelProto model = newModel();
  auto* g = model.mutable_graph();
  setType(g->add_input(), "x", onnx::TensorProto::FLOAT, {2, 3});
  setType(g->add_input(), "shape", onnx::TensorProto::INT64, {2});
  addNode(g, "Reshape", {"x", "shape"}, {"y"});
  setType(g->add_output(), "y", onnx::TensorProto::FLOAT, {-1, -1});
  auto m = importOk(model);
  ASSERT_TRUE(m);
  Tensor x = Tensor::fromDoubles(TensorType(DType::F32, {2, 3}), {1, 2, 3, 4, 5, 6});
  StatusOr<std::vector<Tensor>> r =
      interpret(*m, "main", {x, Tensor::fromInts(TensorType(DType::I64, {2}), {-1, 2})});
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ((*r)[0].shape(), (Shape{3, 2}));
  r = interpret(*m, "main", {x, Tensor::fromInts(TensorType(DType::I64, {2}), {0, -1})});
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ((*r)[0].shape(), (Shape{2, 3})); // 0 copies the input's dim
}

// Found by the fuzz smoke in CI (session 14): a OneHot whose constant depth
// held no element read past its end. A depth, trip count, axis or Range
// bound read as one value must hold one; a depth must be a positive count.
TEST(OnnxImport, OneValueInputsHoldOneValue) {
  auto message = [](int depthElements, float depth) {
    onnx::ModelProto model = newModel(11);
    auto* g = model.mutable_graph();
    setType(g->add_input(), "i", onnx::TensorProto::INT64, {3});
    auto* d = g->add_initializer();
    d->set_name("depth");
    d->set_data_type(onnx::TensorProto::FLOAT);
    d->add_dims(depthElements);
    for (int k = 0; k < depthElements; ++k)
      d->add_float_data(depth);
    auto* v = g->add_initializer();
    v->set_name("values");
    v->set_data_type(onnx::TensorProto::FLOAT);
    v->add_dims(2);
    v->add_float_data(0);
    v->add_float_data(1);
    addNode(g, "OneHot", {"i", "depth", "values"}, {"y"}, "onehot");
    setType(g->add_output(), "y", onnx::TensorProto::FLOAT, {3, -1});
    StatusOr<std::unique_ptr<Module>> r = importOnnxBytes(model.SerializeAsString(), "", "m");
    return r.isOk() ? std::string("ok") : r.status().message();
  };
  EXPECT_EQ(message(1, 4), "ok");
  std::string m = message(0, 4);
  EXPECT_NE(m.find("node 'onehot' (op OneHot)"), std::string::npos) << m;
  EXPECT_NE(m.find("depth must hold one value, got tensor<0xf32>"), std::string::npos) << m;
  m = message(2, 4);
  EXPECT_NE(m.find("depth must hold one value"), std::string::npos) << m;
  for (float bad : {0.0f, -3.0f, NAN, 1e30f}) {
    m = message(1, bad);
    EXPECT_NE(m.find("depth must be a positive count"), std::string::npos) << bad << ": " << m;
  }
}

// Found by cairn-onnx-fuzzer: a Reshape to a constant shape whose entries
// multiply past int64 aborted in type inference (numElements); types past
// kMaxTypeElements, which the parser refuses, are now build errors.
TEST(OnnxImport, TypesPastTheElementLimitAreErrors) {
  auto message = [](const onnx::ModelProto& m) {
    StatusOr<std::unique_ptr<Module>> r = importOnnxBytes(m.SerializeAsString(), "", "m");
    return r.isOk() ? std::string("ok") : r.status().message();
  };
  onnx::ModelProto model = newModel();
  auto* g = model.mutable_graph();
  setType(g->add_input(), "x", onnx::TensorProto::FLOAT, {-1, 3});
  auto* shape = g->add_initializer();
  shape->set_name("s");
  shape->set_data_type(onnx::TensorProto::INT64);
  shape->add_dims(2);
  shape->add_int64_data(int64_t(1) << 40);
  shape->add_int64_data(int64_t(1) << 40);
  addNode(g, "Reshape", {"x", "s"}, {"y"}, "reshape");
  setType(g->add_output(), "y", onnx::TensorProto::FLOAT, {-1, -1});
  std::string m = message(model);
  EXPECT_NE(m.find("node 'reshape' (op Reshape)"), std::string::npos) << m;
  EXPECT_NE(m.find("tensor<1099511627776x1099511627776xf32> has a negative dim or more than 2^48 "
                   "elements"),
            std::string::npos)
      << m;

  onnx::ModelProto wide = newModel();
  setType(wide.mutable_graph()->add_input(), "x", onnx::TensorProto::FLOAT,
          {int64_t(1) << 30, int64_t(1) << 30});
  m = message(wide);
  EXPECT_NE(m.find("more than 2^48 elements"), std::string::npos) << m;
}

TEST(OnnxImport, UnsupportedNodeIsNamed) {
  onnx::ModelProto model = newModel();
  auto* g = model.mutable_graph();
  setType(g->add_input(), "x", onnx::TensorProto::FLOAT, {4});
  addNode(g, "Relu", {"x"}, {"r"});
  addNode(g, "Det", {"r"}, {"y"}, "the_det");
  setType(g->add_output(), "y", onnx::TensorProto::FLOAT, {4});
  StatusOr<std::unique_ptr<Module>> r = importOnnxBytes(model.SerializeAsString(), "", "m.onnx");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().message(),
            "m.onnx: node 'the_det' (op Det): unsupported: no converter for this op");
}

TEST(OnnxImport, BadModelsAreErrors) {
  auto message = [](const onnx::ModelProto& m) {
    StatusOr<std::unique_ptr<Module>> r = importOnnxBytes(m.SerializeAsString(), "", "m");
    return r.isOk() ? std::string("ok") : r.status().message();
  };
  onnx::ModelProto tooNew = newModel(99);
  EXPECT_NE(message(tooNew).find("opset 99 is not supported"), std::string::npos);

  onnx::ModelProto badRaw = newModel();
  auto* init = badRaw.mutable_graph()->add_initializer();
  init->set_name("w");
  init->set_data_type(onnx::TensorProto::FLOAT);
  init->add_dims(4);
  init->set_raw_data(std::string(7, '\0'));
  EXPECT_NE(message(badRaw).find("tensor 'w': raw data has 7 bytes, the dims and dtype need 16"),
            std::string::npos);

  // Dims claiming 2^33 floats with 4 bytes of data: an error before any
  // allocation, not an out-of-memory crash.
  onnx::ModelProto huge = newModel();
  auto* big = huge.mutable_graph()->add_initializer();
  big->set_name("big");
  big->set_data_type(onnx::TensorProto::FLOAT);
  big->add_dims(int64_t(1) << 33);
  big->set_raw_data(std::string(4, '\0'));
  EXPECT_NE(message(huge).find("tensor 'big': raw data has 4 bytes"), std::string::npos);
  big->clear_raw_data();
  big->add_float_data(1.0f);
  EXPECT_NE(message(huge).find("tensor 'big': holds 1 values"), std::string::npos);

  onnx::ModelProto undefined = newModel();
  addNode(undefined.mutable_graph(), "Relu", {"nowhere"}, {"y"}, "r");
  EXPECT_NE(message(undefined).find("node 'r' (op Relu): invalid: input 'nowhere' is not defined"),
            std::string::npos);

  onnx::ModelProto escape = newModel();
  auto* ext = escape.mutable_graph()->add_initializer();
  ext->set_name("w");
  ext->set_data_type(onnx::TensorProto::FLOAT);
  ext->add_dims(1);
  ext->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* kv = ext->add_external_data();
  kv->set_key("location");
  kv->set_value("../../etc/passwd");
  StatusOr<std::unique_ptr<Module>> r = importOnnxBytes(escape.SerializeAsString(), "/tmp", "m");
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("leaves the model's folder"), std::string::npos);
}

TEST(OnnxImport, ExternalDataIsRead) {
  fs::path dir = fs::temp_directory_path() / ("cairn_onnx_ext_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  float values[3] = {1.5f, -2.0f, 4.0f};
  {
    std::ofstream out(dir / "weights.bin", std::ios::binary);
    out << "pad!"; // an offset of 4
    out.write(reinterpret_cast<const char*>(values), sizeof values);
  }
  onnx::ModelProto model = newModel();
  auto* g = model.mutable_graph();
  auto* w = g->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(3);
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  for (auto [k, v] : {std::pair<const char*, const char*>{"location", "weights.bin"},
                      {"offset", "4"},
                      {"length", "12"}}) {
    auto* kv = w->add_external_data();
    kv->set_key(k);
    kv->set_value(v);
  }
  setType(g->add_input(), "x", onnx::TensorProto::FLOAT, {3});
  addNode(g, "Mul", {"x", "w"}, {"y"});
  setType(g->add_output(), "y", onnx::TensorProto::FLOAT, {3});
  auto m = importOk(model, dir.string());
  ASSERT_TRUE(m);
  expectRuns(*m, {Tensor::fromDoubles(TensorType(DType::F32, {3}), {2, 2, 2})}, {{3, -4, 8}});
  fs::remove_all(dir);
}

// The loader's fuzz check, exhaustive on a small model: every prefix and
// every single-byte corruption of a serialized Loop model imports to an
// error or to a module that verifies. Never a crash (the process would die).
TEST(OnnxImport, TruncatedAndCorruptModelsNeverCrash) {
  std::string bytes = loopModel().SerializeAsString();
  int errors = 0, modules = 0;
  auto check = [&](const std::string& b) {
    StatusOr<std::unique_ptr<Module>> r = importOnnxBytes(b, "", "fuzz");
    if (!r.isOk()) {
      EXPECT_FALSE(r.status().message().empty());
      ++errors;
      return;
    }
    EXPECT_TRUE(verify(**r).isOk());
    ++modules;
  };
  for (size_t n = 0; n < bytes.size(); ++n)
    check(bytes.substr(0, n));
  for (size_t i = 0; i < bytes.size(); ++i)
    for (unsigned char flip : {0x01, 0x80, 0xff}) {
      std::string b = bytes;
      b[i] = static_cast<char>(static_cast<unsigned char>(b[i]) ^ flip);
      check(b);
    }
  EXPECT_GT(errors, 0);
  EXPECT_GT(modules, 0);
}

// The same on ONNX's own control-flow and recurrent node tests (Loop with
// Slice, If, Scan, LSTM with peepholes, Range as a Loop): corruption inside
// subgraphs and attributes.
TEST(OnnxImport, CorruptNodeTestModelsNeverCrash) {
  for (const char* name : {"test_loop11", "test_if", "test_scan9_sum", "test_lstm_with_peepholes",
                           "test_range_float_type_positive_delta_expanded"}) {
    std::ifstream in(std::string(CAIRN_ONNX_NODE_TESTS) + "/" + name + "/model.onnx",
                     std::ios::binary);
    ASSERT_TRUE(in) << name;
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_TRUE(importOnnxBytes(bytes, "", name).isOk()) << name;
    for (size_t i = 0; i < bytes.size(); ++i)
      for (unsigned char flip : {0x01, 0x80, 0xff}) {
        std::string b = bytes;
        b[i] = static_cast<char>(static_cast<unsigned char>(b[i]) ^ flip);
        StatusOr<std::unique_ptr<Module>> r = importOnnxBytes(b, "", name);
        if (r.isOk()) {
          EXPECT_TRUE(verify(**r).isOk()) << name << " byte " << i;
        }
      }
  }
}

// The same over every model of the node tests, one flip per byte: about
// 300,000 imports, seconds; opt-in (CAIRN_ONNX_FUZZ_ALL=1, or the byte mask
// to flip, e.g. 128), not CI.
TEST(OnnxImport, CorruptAllNodeTestModelsNeverCrash) {
  const char* env = std::getenv("CAIRN_ONNX_FUZZ_ALL");
  if (!env) GTEST_SKIP() << "set CAIRN_ONNX_FUZZ_ALL=1 (or a byte mask to flip) to run";
  int mask = std::atoi(env) > 1 ? std::atoi(env) & 0xff : 0xff;
  for (const auto& e : fs::directory_iterator(CAIRN_ONNX_NODE_TESTS)) {
    std::ifstream in(e.path() / "model.onnx", std::ios::binary);
    if (!in) continue;
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::string name = e.path().filename().string();
    if (std::getenv("CAIRN_ONNX_FUZZ_VERBOSE")) fprintf(stderr, "%s\n", name.c_str());
    for (size_t i = 0; i < bytes.size(); ++i) {
      std::string b = bytes;
      b[i] = static_cast<char>(static_cast<unsigned char>(b[i]) ^ mask);
      StatusOr<std::unique_ptr<Module>> r = importOnnxBytes(b, "", name);
      if (r.isOk()) {
        EXPECT_TRUE(verify(**r).isOk()) << name << " byte " << i;
      }
    }
  }
}

TEST(OnnxImport, TensorFilesAreRead) {
  fs::path p = fs::temp_directory_path() / ("cairn_onnx_t_" + std::to_string(::getpid()) + ".pb");
  onnx::TensorProto t;
  t.set_data_type(onnx::TensorProto::INT64);
  t.add_dims(2);
  t.add_int64_data(7);
  t.add_int64_data(-3);
  std::ofstream(p, std::ios::binary) << t.SerializeAsString();
  StatusOr<Tensor> r = readOnnxTensorFile(p.string());
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->toInts(), (std::vector<int64_t>{7, -3}));
  std::ofstream(p, std::ios::binary) << "\x08\x02\x08"; // dims then a truncated field
  EXPECT_FALSE(readOnnxTensorFile(p.string()).isOk());
  fs::remove(p);
}

namespace {

void addInitializer(onnx::GraphProto* g, const std::string& name, const std::vector<int64_t>& dims,
                    double seed) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  int64_t n = 1;
  for (int64_t d : dims) {
    t->add_dims(d);
    n *= d;
  }
  for (int64_t i = 0; i < n; ++i)
    t->add_float_data(static_cast<float>(0.5 * std::sin(seed + 0.7 * static_cast<double>(i))));
}

/// A one-layer `op` (LSTM or GRU) over X [T=4, B=2, I=3] with H = 2, its
/// weights taken from direction(s) `dirs` of one fixed set of two.
onnx::ModelProto recurrentModel(const std::string& op, const std::string& direction,
                                const std::vector<int>& dirs, bool symbolic = false) {
  const int64_t gates = op == "LSTM" ? 4 : 3, h = 2, in = 3;
  onnx::ModelProto m = newModel(14);
  auto* g = m.mutable_graph();
  // Symbolic: time and batch are dim_params, as torch.onnx.export's
  // dynamic_axes make them.
  setType(g->add_input(), "x", onnx::TensorProto::FLOAT,
          symbolic ? std::vector<int64_t>{-1, -1, in} : std::vector<int64_t>{4, 2, in});
  // Both directions' weights, then a Gather picks the ones this model uses.
  addInitializer(g, "w_all", {2, gates * h, in}, 0.3);
  addInitializer(g, "r_all", {2, gates * h, h}, 1.1);
  addInitializer(g, "b_all", {2, 2 * gates * h}, 2.3);
  auto* idx = g->add_initializer();
  idx->set_name("dirs");
  idx->set_data_type(onnx::TensorProto::INT64);
  idx->add_dims(static_cast<int64_t>(dirs.size()));
  for (int d : dirs)
    idx->add_int64_data(d);
  addNode(g, "Gather", {"w_all", "dirs"}, {"w"});
  addNode(g, "Gather", {"r_all", "dirs"}, {"r"});
  addNode(g, "Gather", {"b_all", "dirs"}, {"b"});
  auto* n = addNode(g, op, {"x", "w", "r", "b"}, {"y", "y_h"}, "rnn");
  auto* a = n->add_attribute();
  a->set_name("hidden_size");
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(h);
  a = n->add_attribute();
  a->set_name("direction");
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(direction);
  setType(g->add_output(), "y", onnx::TensorProto::FLOAT,
          {4, static_cast<int64_t>(dirs.size()), 2, h});
  setType(g->add_output(), "y_h", onnx::TensorProto::FLOAT,
          {static_cast<int64_t>(dirs.size()), 2, h});
  return m;
}

std::vector<Tensor> run(const onnx::ModelProto& model, const Tensor& x) {
  auto m = importOk(model);
  if (!m) return {};
  StatusOr<std::vector<Tensor>> r = interpret(*m, "main", {x});
  EXPECT_TRUE(r.isOk()) << r.status().message();
  return r.isOk() ? *r : std::vector<Tensor>{};
}

} // namespace

// The forward cases are checked against ONNX's own outputs by the
// conformance suite; the reverse and bidirectional ones are checked here by
// their definition: a bidirectional layer's second direction is the forward
// layer run on the time-reversed input, its outputs reversed back.
TEST(OnnxImport, BidirectionalRecurrentLayersReverseTime) {
  std::vector<double> xs(24), xr(24);
  for (size_t i = 0; i < xs.size(); ++i)
    xs[i] = std::cos(0.37 * static_cast<double>(i));
  for (int t = 0; t < 4; ++t) // reverse along T (rows of 6)
    for (int k = 0; k < 6; ++k)
      xr[t * 6 + k] = xs[(3 - t) * 6 + k];
  Tensor x = Tensor::fromDoubles(TensorType(DType::F32, {4, 2, 3}), xs);
  Tensor xRev = Tensor::fromDoubles(TensorType(DType::F32, {4, 2, 3}), xr);
  for (const std::string op : {"LSTM", "GRU"}) {
    SCOPED_TRACE(op);
    std::vector<Tensor> bidi = run(recurrentModel(op, "bidirectional", {0, 1}), x);
    std::vector<Tensor> fwd = run(recurrentModel(op, "forward", {0}), x);
    std::vector<Tensor> bwdOnReversed = run(recurrentModel(op, "forward", {1}), xRev);
    std::vector<Tensor> reverse = run(recurrentModel(op, "reverse", {1}), x);
    ASSERT_EQ(bidi.size(), 2u);
    ASSERT_EQ(fwd.size(), 2u);
    ASSERT_EQ(bwdOnReversed.size(), 2u);
    ASSERT_EQ(reverse.size(), 2u);
    // Y [T, dirs, B, H] with B * H = 4 values per (t, dir).
    for (int t = 0; t < 4; ++t)
      for (int k = 0; k < 4; ++k) {
        EXPECT_NEAR(bidi[0].getDouble((t * 2 + 0) * 4 + k), fwd[0].getDouble(t * 4 + k), 1e-6);
        double back = bwdOnReversed[0].getDouble((3 - t) * 4 + k);
        EXPECT_NEAR(bidi[0].getDouble((t * 2 + 1) * 4 + k), back, 1e-6);
        EXPECT_NEAR(reverse[0].getDouble(t * 4 + k), back, 1e-6);
      }
    for (int k = 0; k < 4; ++k) {
      EXPECT_NEAR(bidi[1].getDouble(k), fwd[1].getDouble(k), 1e-6);
      EXPECT_NEAR(bidi[1].getDouble(4 + k), bwdOnReversed[1].getDouble(k), 1e-6);
    }
  }
}

namespace {

/// A one-layer LSTM or GRU in PyTorch's form (GRU: linear_before_reset = 1)
/// over X [T, B, I=3], H = 2, all weights and biases given, and optionally
/// sequence_lens (an input) and a `clip` (which keeps the importer's loop).
struct PyTorchForm {
  std::string op = "LSTM", direction = "bidirectional";
  int64_t T = 4, B = 3;
  bool lens = false;
  std::optional<float> clip;
  /// initial_h as an input whose batch and hidden dims are symbolic (as an
  /// exporter's ConstantOfShape of a Shape types it).
  bool symbolicInitialH = false;
  /// x typed [?, ?, ?] (as a Reshape with computed sizes types it: the
  /// second layer of an exported stack reads the first one's output so).
  bool symbolicInput = false;
};

onnx::ModelProto pytorchFormModel(const PyTorchForm& f) {
  const int64_t gates = f.op == "LSTM" ? 4 : 3, h = 2, in = 3;
  const int64_t dirs = f.direction == "bidirectional" ? 2 : 1;
  onnx::ModelProto m = newModel(14);
  auto* g = m.mutable_graph();
  if (f.symbolicInput)
    setType(g->add_input(), "x", onnx::TensorProto::FLOAT, {-1, -1, -1});
  else
    setType(g->add_input(), "x", onnx::TensorProto::FLOAT, {f.T, f.B, in});
  if (f.lens) setType(g->add_input(), "lens", onnx::TensorProto::INT32, {f.B});
  addInitializer(g, "w", {dirs, gates * h, in}, 0.3);
  addInitializer(g, "r", {dirs, gates * h, h}, 1.1);
  addInitializer(g, "b", {dirs, 2 * gates * h}, 2.3);
  if (f.symbolicInitialH) setType(g->add_input(), "h0", onnx::TensorProto::FLOAT, {dirs, -1, -1});
  std::vector<std::string> inputs{"x", "w", "r", "b", f.lens ? "lens" : ""};
  if (f.symbolicInitialH) inputs.push_back("h0");
  auto* n = addNode(g, f.op, inputs, {"y", "y_h"}, "rnn");
  auto attr = [&](const char* name) {
    auto* a = n->add_attribute();
    a->set_name(name);
    return a;
  };
  auto* a = attr("hidden_size");
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(h);
  a = attr("direction");
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(f.direction);
  if (f.op == "GRU") {
    a = attr("linear_before_reset");
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(1);
  }
  if (f.clip) {
    a = attr("clip");
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(*f.clip);
  }
  setType(g->add_output(), "y", onnx::TensorProto::FLOAT, {f.T, dirs, f.B, h});
  setType(g->add_output(), "y_h", onnx::TensorProto::FLOAT, {dirs, f.B, h});
  return m;
}

int64_t rnnOpsOf(const Module& m) {
  int64_t n = 0;
  for (const auto& fn : m.functions())
    walk(*fn, [&](Op& op) { n += op.kind() == OpKind::Rnn; });
  return n;
}

Tensor waveInput(int64_t T, int64_t B) {
  std::vector<double> xs(static_cast<size_t>(T * B * 3));
  for (size_t i = 0; i < xs.size(); ++i)
    xs[i] = std::cos(0.37 * static_cast<double>(i));
  return Tensor::fromDoubles(TensorType(DType::F32, {T, B, 3}), xs);
}

} // namespace

// An LSTM, or a GRU with linear_before_reset = 1, with the default
// activations is PyTorch's and cuDNN's layer: each direction is imported as
// one `rnn` op (gates reordered), which the device runs through cuDNN. The
// results are those of the importer's own loop (kept by a clip too large to
// bite).
TEST(OnnxImport, PyTorchFormLayersBecomeRnnOps) {
  Tensor x = waveInput(4, 3);
  for (const std::string op : {"LSTM", "GRU"})
    for (const std::string direction : {"forward", "reverse", "bidirectional"}) {
      SCOPED_TRACE(op + " " + direction);
      PyTorchForm f{op, direction};
      auto asOps = importOk(pytorchFormModel(f));
      f.clip = 1e30f;
      auto asLoop = importOk(pytorchFormModel(f));
      ASSERT_TRUE(asOps && asLoop);
      EXPECT_EQ(rnnOpsOf(*asOps), direction == "bidirectional" ? 2 : 1);
      EXPECT_EQ(rnnOpsOf(*asLoop), 0);
      auto want = interpret(*asLoop, "main", {x});
      auto got = interpret(*asOps, "main", {x});
      ASSERT_TRUE(want.isOk() && got.isOk());
      for (size_t i = 0; i < 2; ++i)
        for (int64_t k = 0; k < want->at(i).numElements(); ++k)
          EXPECT_NEAR(got->at(i).getDouble(k), want->at(i).getDouble(k), 1e-6) << "output " << i;
    }
}

/// The model of `f` with `symbolic` set: still two rnn ops, and with `args`
/// the plain form's results for `x` bit for bit. Returns it (or nullptr).
std::unique_ptr<Module> expectLikePlainForm(PyTorchForm f, bool PyTorchForm::*symbolic,
                                            const Tensor& x, const std::vector<Tensor>& args) {
  auto plain = importOk(pytorchFormModel(f));
  f.*symbolic = true;
  auto m = importOk(pytorchFormModel(f));
  if (!plain || !m) {
    ADD_FAILURE() << "import failed";
    return nullptr;
  }
  EXPECT_EQ(rnnOpsOf(*m), 2);
  auto want = interpret(*plain, "main", {x});
  auto got = interpret(*m, "main", args);
  EXPECT_TRUE(want.isOk() && got.isOk()) << (got.isOk() ? "" : got.status().message());
  if (want.isOk() && got.isOk())
    for (size_t i = 0; i < 2; ++i)
      EXPECT_TRUE(got->at(i) == want->at(i)) << "output " << i;
  return m;
}

// An initial state typed [dirs, ?, ?] still makes rnn ops (the importer
// gives it its static H): zeros give the results of no initial state.
TEST(OnnxImport, SymbolicInitialStateStillMakesRnnOps) {
  Tensor x = waveInput(4, 3);
  Tensor zeros(TensorType(DType::F32, {2, 3, 2}));
  for (const std::string op : {"LSTM", "GRU"}) {
    SCOPED_TRACE(op);
    expectLikePlainForm(PyTorchForm{op}, &PyTorchForm::symbolicInitialH, x, {x, zeros});
  }
}

// An input whose feature size is symbolic still makes rnn ops (the importer
// takes it from W, and the reshape checks it at run time): exported stacks
// typed their second layer so, and it ran as the slower loop with its input
// projection in every step. Another feature size is an error, not garbage.
TEST(OnnxImport, SymbolicInputSizeStillMakesRnnOps) {
  Tensor x = waveInput(4, 3);
  for (const std::string op : {"LSTM", "GRU"}) {
    SCOPED_TRACE(op);
    auto symbolic = expectLikePlainForm(PyTorchForm{op}, &PyTorchForm::symbolicInput, x, {x});
    ASSERT_TRUE(symbolic);
    auto wrong = interpret(*symbolic, "main", {Tensor(TensorType(DType::F32, {4, 3, 2}))});
    ASSERT_FALSE(wrong.isOk());
    EXPECT_NE(wrong.status().message().find("reshape"), std::string::npos)
        << wrong.status().message();
  }
}

// With sequence_lens, a reverse direction reverses each row's own first
// length steps (ONNX Runtime's and PyTorch's packed sequences' meaning), and
// steps past a row's length are zero: each row of a batch with lengths 4, 1
// and 3 is that row alone, unpadded.
TEST(OnnxImport, SequenceLensReverseEachRowsOwnSteps) {
  const std::vector<int64_t> lens{4, 1, 3};
  Tensor x = waveInput(4, 3);
  for (const std::string op : {"LSTM", "GRU"}) {
    SCOPED_TRACE(op);
    auto batched = importOk(pytorchFormModel({op, "bidirectional", 4, 3, /*lens=*/true}));
    ASSERT_TRUE(batched);
    auto all = interpret(*batched, "main", {x, Tensor::fromInts(TensorType(DType::I32, {3}), lens)});
    ASSERT_TRUE(all.isOk()) << all.status().message();
    for (int64_t b = 0; b < 3; ++b) {
      const int64_t L = lens[static_cast<size_t>(b)];
      Tensor row(TensorType(DType::F32, {L, 1, 3}));
      for (int64_t t = 0; t < L; ++t)
        for (int64_t k = 0; k < 3; ++k)
          row.setDouble(t * 3 + k, x.getDouble((t * 3 + b) * 3 + k));
      auto alone = importOk(pytorchFormModel({op, "bidirectional", L, 1}));
      ASSERT_TRUE(alone);
      auto one = interpret(*alone, "main", {row});
      ASSERT_TRUE(one.isOk()) << one.status().message();
      // y [T, 2, B, 2]; y_h [2, B, 2].
      for (int64_t t = 0; t < 4; ++t)
        for (int64_t d = 0; d < 2; ++d)
          for (int64_t j = 0; j < 2; ++j) {
            double got = all->at(0).getDouble(((t * 2 + d) * 3 + b) * 2 + j);
            double want = t < L ? one->at(0).getDouble((t * 2 + d) * 2 + j) : 0.0;
            EXPECT_NEAR(got, want, 1e-6) << "row " << b << " t " << t << " direction " << d;
          }
      for (int64_t d = 0; d < 2; ++d)
        for (int64_t j = 0; j < 2; ++j)
          EXPECT_NEAR(all->at(1).getDouble((d * 3 + b) * 2 + j), one->at(1).getDouble(d * 2 + j),
                      1e-6);
    }
  }
}

// Grouped convolution (no case in ONNX's 1.12 node tests): each group of
// output channels sees only its group of input channels. Checked against a
// direct loop.
TEST(OnnxImport, GroupedConvolutionMatchesDirectLoop) {
  onnx::ModelProto model = newModel(13);
  auto* g = model.mutable_graph();
  setType(g->add_input(), "x", onnx::TensorProto::FLOAT, {1, 4, 4, 5});
  addInitializer(g, "w", {6, 2, 2, 3}, 0.9); // 2 groups: 3 filters of 2 channels each
  addInitializer(g, "b", {6}, 1.7);
  auto* n = addNode(g, "Conv", {"x", "w", "b"}, {"y"}, "conv");
  auto* a = n->add_attribute();
  a->set_name("group");
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(2);
  a = n->add_attribute();
  a->set_name("pads");
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t p : {1, 0, 0, 1})
    a->add_ints(p);
  setType(g->add_output(), "y", onnx::TensorProto::FLOAT, {1, 6, 4, 4});
  auto m = importOk(model);
  ASSERT_TRUE(m);
  std::vector<double> xs(80);
  for (size_t i = 0; i < xs.size(); ++i)
    xs[i] = std::cos(0.21 * static_cast<double>(i));
  Tensor x = Tensor::fromDoubles(TensorType(DType::F32, {1, 4, 4, 5}), xs);
  StatusOr<std::vector<Tensor>> r = interpret(*m, "main", {x});
  ASSERT_TRUE(r.isOk()) << r.status().message();
  const Tensor& y = (*r)[0];
  ASSERT_EQ(y.shape(), (Shape{1, 6, 4, 4}));
  auto w = [](int64_t i) {
    return static_cast<float>(0.5 * std::sin(0.9 + 0.7 * static_cast<double>(i)));
  };
  auto b = [](int64_t i) {
    return static_cast<float>(0.5 * std::sin(1.7 + 0.7 * static_cast<double>(i)));
  };
  for (int64_t oc = 0; oc < 6; ++oc)
    for (int64_t oh = 0; oh < 4; ++oh)
      for (int64_t ow = 0; ow < 4; ++ow) {
        double sum = b(oc);
        for (int64_t ic = 0; ic < 2; ++ic)
          for (int64_t kh = 0; kh < 2; ++kh)
            for (int64_t kw = 0; kw < 3; ++kw) {
              int64_t ih = oh - 1 + kh, iw = ow + kw, c = (oc / 3) * 2 + ic;
              if (ih < 0 || ih >= 4 || iw >= 5) continue;
              sum += w(((oc * 2 + ic) * 2 + kh) * 3 + kw) *
                     static_cast<float>(xs[(c * 4 + ih) * 5 + iw]);
            }
        EXPECT_NEAR(y.getDouble((oc * 4 + oh) * 4 + ow), sum, 1e-5) << oc << " " << oh << " " << ow;
      }
}

namespace {

onnx::AttributeProto intAttr(const std::string& name, int64_t v) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::INT);
  a.set_i(v);
  return a;
}

/// loss = sum(Y^2) + sum(Y_h) over an imported recurrent layer or loop: the
/// function autodiff sees.
void addSquaredLoss(onnx::GraphProto* g, const std::string& y, const std::string& yh) {
  addNode(g, "Mul", {y, y}, {"y2"});
  addNode(g, "ReduceSum", {"y2"}, {"l1"})->add_attribute()->CopyFrom(intAttr("keepdims", 0));
  addNode(g, "ReduceSum", {yh}, {"l2"})->add_attribute()->CopyFrom(intAttr("keepdims", 0));
  addNode(g, "Add", {"l1", "l2"}, {"loss"});
  setType(g->add_output(), "loss", onnx::TensorProto::DOUBLE, {});
}

Tensor wave(Shape shape, double phase) {
  TensorType t(DType::F64, std::move(shape));
  std::vector<double> v(static_cast<size_t>(t.numElements()));
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = 0.6 * std::sin(phase + 0.83 * static_cast<double>(i));
  return Tensor::fromDoubles(t, v);
}

} // namespace

// Issue 14's "beyond the peers": an imported ONNX Loop (and an LSTM) is
// differentiated by Cairn's autodiff like any other loop, checked against
// finite differences.
TEST(OnnxImport, GradientsThroughImportedLoopMatchFiniteDifferences) {
  onnx::ModelProto model = newModel(13);
  auto* g = model.mutable_graph();
  setType(g->add_input(), "x", onnx::TensorProto::DOUBLE, {4, 3});
  setType(g->add_input(), "w", onnx::TensorProto::DOUBLE, {3, 3});
  setType(g->add_input(), "h0", onnx::TensorProto::DOUBLE, {3});
  auto* trips = addNode(g, "Constant", {}, {"m"});
  auto* v = trips->add_attribute();
  v->set_name("value");
  v->set_type(onnx::AttributeProto::TENSOR);
  v->mutable_t()->set_data_type(onnx::TensorProto::INT64);
  v->mutable_t()->add_int64_data(4);
  auto* loop = addNode(g, "Loop", {"m", "", "h0"}, {"h", "hs"}, "rnn_loop");
  auto* attr = loop->add_attribute();
  attr->set_name("body");
  attr->set_type(onnx::AttributeProto::GRAPH);
  auto* body = attr->mutable_g();
  setType(body->add_input(), "i", onnx::TensorProto::INT64, {});
  setType(body->add_input(), "c", onnx::TensorProto::BOOL, {});
  setType(body->add_input(), "h_in", onnx::TensorProto::DOUBLE, {3});
  addNode(body, "Gather", {"x", "i"}, {"xt"}); // x is an outer value
  addNode(body, "MatMul", {"h_in", "w"}, {"hw"});
  addNode(body, "Add", {"hw", "xt"}, {"pre"});
  addNode(body, "Tanh", {"pre"}, {"h_out"});
  addNode(body, "Identity", {"c"}, {"c_out"});
  addNode(body, "Identity", {"h_out"}, {"row"});
  setType(body->add_output(), "c_out", onnx::TensorProto::BOOL, {});
  setType(body->add_output(), "h_out", onnx::TensorProto::DOUBLE, {3});
  setType(body->add_output(), "row", onnx::TensorProto::DOUBLE, {3});
  addSquaredLoss(g, "hs", "h");
  auto m = importOk(model);
  ASSERT_TRUE(m);
  const Function& f = *m->lookup("main");
  cairn::testing::expectGradientsMatchFiniteDifferences(
      *m, f, {wave({4, 3}, 0.1), wave({3, 3}, 1.3), wave({3}, 2.9)}, {0, 1, 2});
}

TEST(OnnxImport, GradientsThroughImportedLstmMatchFiniteDifferences) {
  onnx::ModelProto model = newModel(14);
  auto* g = model.mutable_graph();
  setType(g->add_input(), "x", onnx::TensorProto::DOUBLE, {3, 2, 2});
  setType(g->add_input(), "w", onnx::TensorProto::DOUBLE, {2, 8, 2});
  setType(g->add_input(), "r", onnx::TensorProto::DOUBLE, {2, 8, 2});
  auto* n = addNode(g, "LSTM", {"x", "w", "r"}, {"y", "y_h"}, "lstm");
  n->add_attribute()->CopyFrom(intAttr("hidden_size", 2));
  auto* dir = n->add_attribute();
  dir->set_name("direction");
  dir->set_type(onnx::AttributeProto::STRING);
  dir->set_s("bidirectional");
  addSquaredLoss(g, "y", "y_h");
  auto m = importOk(model);
  ASSERT_TRUE(m);
  const Function& f = *m->lookup("main");
  cairn::testing::expectGradientsMatchFiniteDifferences(
      *m, f, {wave({3, 2, 2}, 0.4), wave({2, 8, 2}, 1.9), wave({2, 8, 2}, 3.1)}, {0, 1, 2});
}

// Exported models have dynamic batch and time axes: the same layers with
// both dims symbolic import to `?` dims, and interpreted and compiled runs
// agree with the static import.
TEST(OnnxImport, RecurrentLayersWithSymbolicBatchAndTime) {
  std::vector<double> xs(24);
  for (size_t i = 0; i < xs.size(); ++i)
    xs[i] = std::cos(0.37 * static_cast<double>(i));
  Tensor x = Tensor::fromDoubles(TensorType(DType::F32, {4, 2, 3}), xs);
  for (const std::string op : {"LSTM", "GRU"}) {
    SCOPED_TRACE(op);
    std::vector<Tensor> fixed = run(recurrentModel(op, "bidirectional", {0, 1}), x);
    auto m = importOk(recurrentModel(op, "bidirectional", {0, 1}, /*symbolic=*/true));
    ASSERT_TRUE(m);
    EXPECT_EQ(m->lookup("main")->argumentTypes()[0].toString(), "tensor<?x?x3xf32>");
    std::vector<std::vector<double>> want;
    for (const Tensor& t : fixed)
      want.push_back(t.toDoubles());
    ASSERT_EQ(want.size(), 2u);
    StatusOr<std::vector<Tensor>> got = interpret(*m, "main", {x});
    ASSERT_TRUE(got.isOk()) << got.status().message();
    auto exe = codegen::cpu::compileExecutable(*m);
    ASSERT_TRUE(exe.isOk()) << exe.status().message();
    StatusOr<std::vector<Tensor>> compiled = (*exe)->run("main", {x});
    ASSERT_TRUE(compiled.isOk()) << compiled.status().message();
    for (size_t i = 0; i < 2; ++i) {
      EXPECT_EQ((*got)[i].toDoubles(), want[i]) << "interpreted output " << i;
      ASSERT_EQ((*compiled)[i].numElements(), (*got)[i].numElements());
      for (int64_t k = 0; k < (*got)[i].numElements(); ++k)
        EXPECT_NEAR((*compiled)[i].getDouble(k), want[i][k], 1e-5) << "compiled output " << i;
    }
  }
}

namespace {

onnx::GraphProto constantBranch(const std::string& name, const std::vector<float>& values) {
  onnx::GraphProto g;
  g.set_name(name);
  auto* n = addNode(&g, "Constant", {}, {name + "_out"});
  auto* a = n->add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  a->mutable_t()->set_data_type(onnx::TensorProto::FLOAT);
  a->mutable_t()->add_dims(static_cast<int64_t>(values.size()));
  for (float v : values)
    a->mutable_t()->add_float_data(v);
  setType(g.add_output(), name + "_out", onnx::TensorProto::FLOAT,
          {static_cast<int64_t>(values.size())});
  return g;
}

} // namespace

// If whose branches yield different shapes: the result type joins them
// into a dynamic dim, and each branch's value comes out whole.
TEST(OnnxImport, IfBranchesOfDifferentShapesJoin) {
  onnx::ModelProto model = newModel(13);
  auto* g = model.mutable_graph();
  setType(g->add_input(), "p", onnx::TensorProto::BOOL, {});
  auto* n = addNode(g, "If", {"p"}, {"y"}, "branch");
  for (auto [attr, values] : {std::pair<const char*, std::vector<float>>{"then_branch", {1, 2}},
                              {"else_branch", {3, 4, 5}}}) {
    auto* a = n->add_attribute();
    a->set_name(attr);
    a->set_type(onnx::AttributeProto::GRAPH);
    *a->mutable_g() = constantBranch(attr, values);
  }
  setType(g->add_output(), "y", onnx::TensorProto::FLOAT, {-1});
  auto m = importOk(model);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->lookup("main")->resultTypes[0].toString(), "tensor<?xf32>");
  auto bit = [](bool b) { return Tensor::fromInts(TensorType(DType::I1, {}), {b ? 1 : 0}); };
  expectRuns(*m, {bit(true)}, {{1, 2}});
  expectRuns(*m, {bit(false)}, {{3, 4, 5}});
}

// Scan (opset 9+) in reverse over axis 1 with its output stacked on axis 1:
// running sums from the end.
onnx::ModelProto reverseScanModel(int64_t length) {
  onnx::ModelProto model = newModel(11);
  auto* g = model.mutable_graph();
  setType(g->add_input(), "init", onnx::TensorProto::FLOAT, {2});
  setType(g->add_input(), "xs", onnx::TensorProto::FLOAT, {2, length});
  auto* n = addNode(g, "Scan", {"init", "xs"}, {"total", "partial"}, "scan");
  n->add_attribute()->CopyFrom(intAttr("num_scan_inputs", 1));
  for (const char* name : {"scan_input_axes", "scan_input_directions", "scan_output_axes"}) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    a->add_ints(1); // axis 1 in and out; direction 1 = reverse
  }
  auto* body = n->add_attribute();
  body->set_name("body");
  body->set_type(onnx::AttributeProto::GRAPH);
  auto* b = body->mutable_g();
  setType(b->add_input(), "s", onnx::TensorProto::FLOAT, {2});
  setType(b->add_input(), "x", onnx::TensorProto::FLOAT, {2});
  addNode(b, "Add", {"s", "x"}, {"s_next"});
  addNode(b, "Identity", {"s_next"}, {"out"});
  setType(b->add_output(), "s_next", onnx::TensorProto::FLOAT, {2});
  setType(b->add_output(), "out", onnx::TensorProto::FLOAT, {2});
  setType(g->add_output(), "total", onnx::TensorProto::FLOAT, {2});
  setType(g->add_output(), "partial", onnx::TensorProto::FLOAT, {2, length});
  return model;
}

TEST(OnnxImport, ScanReverseAlongAnAxis) {
  onnx::ModelProto model = reverseScanModel(3);
  auto m = importOk(model);
  ASSERT_TRUE(m);
  // xs = [[1, 2, 3], [10, 20, 30]] scanned from the last column: the
  // running sums are 3, 5, 6 and 30, 50, 60, each stored at the column of
  // its step (reverse output direction is 0: step k at column k).
  expectRuns(*m,
             {Tensor::fromDoubles(TensorType(DType::F32, {2}), {0, 0}),
              Tensor::fromDoubles(TensorType(DType::F32, {2, 3}), {1, 2, 3, 10, 20, 30})},
             {{6, 60}, {3, 5, 6, 30, 50, 60}});
}

// A scan over an empty axis (static length 0): the states pass through and
// the stacked output is empty.
TEST(OnnxImport, ScanOverAnEmptyAxis) {
  auto m = importOk(reverseScanModel(0));
  ASSERT_TRUE(m);
  expectRuns(*m,
             {Tensor::fromDoubles(TensorType(DType::F32, {2}), {7, 8}),
              Tensor(TensorType(DType::F32, {2, 0}))},
             {{7, 8}, {}});
}
