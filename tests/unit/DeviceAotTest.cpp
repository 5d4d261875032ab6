// Models compiled ahead of time for CUDA (cairn-compile --target cuda) and
// run through the C API, as a C program linked with the runtime alone runs
// them: on the emulated device (CAIRN_DEVICE=emulated, the object's host
// entries) against the reference interpreter; without a GPU and without
// that setting the load says why; corrupt device tables are named; and the
// SPINN encoder (a `while` over gathers and scatters) compiled to a shared
// object and loaded from the file. With a GPU (scripts/gpu-check.sh) the
// plain load runs on it and is checked the same way.
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "CApiTestUtil.h"
#include "ExecTestUtil.h"
#include "SpinnTestReference.h"
#include "compiler/codegen/Subprocess.h"
#include "compiler/codegen/cuda/CompileAotDevice.h"
#include "runtime/capi/cairn.h"
#include "runtime/device/OpenDevice.h"
#include "runtime/reference/Interpreter.h"

// tests/CMakeLists.txt: examples/aot's modules through cairn-compile --target cuda.
extern "C" const cairn_aot_model classifier_cuda_aot;
extern "C" const cairn_aot_model elman_cuda_aot;

namespace cairn {
namespace {

using capitest::loadCode;

namespace fs = std::filesystem;
using exectest::inputOf;
using exectest::relDiff;

/// Sets CAIRN_DEVICE for one scope (unset for null), restoring it after.
class DeviceEnv {
public:
  explicit DeviceEnv(const char* value) {
    const char* old = std::getenv("CAIRN_DEVICE");
    if (old) old_ = old;
    had_ = old != nullptr;
    if (value)
      ::setenv("CAIRN_DEVICE", value, 1);
    else
      ::unsetenv("CAIRN_DEVICE");
  }
  ~DeviceEnv() {
    if (had_)
      ::setenv("CAIRN_DEVICE", old_.c_str(), 1);
    else
      ::unsetenv("CAIRN_DEVICE");
  }

private:
  std::string old_;
  bool had_ = false;
};


cairn_tensor view(const Tensor& t) {
  static const cairn_dtype kDtypes[] = {CAIRN_F32, CAIRN_F64, CAIRN_I32, CAIRN_I64, CAIRN_I1};
  const DType kTypes[] = {DType::F32, DType::F64, DType::I32, DType::I64, DType::I1};
  cairn_tensor c{};
  for (size_t j = 0; j < 5; ++j)
    if (kTypes[j] == t.dtype()) c.dtype = kDtypes[j];
  c.rank = static_cast<int32_t>(t.rank());
  c.dims = const_cast<int64_t*>(t.shape().data());
  c.data = const_cast<std::byte*>(t.rawData());
  return c;
}

/// A copy of a C result.
Tensor tensorOf(const cairn_tensor& c, DType d) {
  Tensor t(TensorType(d, Shape(c.dims, c.dims + c.rank)));
  if (t.byteSize()) std::memcpy(t.rawData(), c.data, t.byteSize());
  return t;
}

/// Runs `fn` of `model` on `inputs` and checks each result against the
/// interpreter's on `module` to `tolerance`.
void expectMatchesInterpreter(cairn_model* model, const Module& module, const std::string& fn,
                              const std::vector<Tensor>& inputs, double tolerance = 1e-5) {
  auto want = interpret(module, fn, inputs);
  ASSERT_TRUE(want.isOk()) << want.status().message();
  std::vector<cairn_tensor> in;
  for (const Tensor& t : inputs)
    in.push_back(view(t));
  std::vector<cairn_tensor> out(want->size());
  cairn_context* ctx = cairn_context_new();
  for (int run = 0; run < 2; ++run) { // the second in a warm context (recorded loops)
    cairn_status* s =
        cairn_run(model, ctx, fn.c_str(), in.data(), in.size(), out.data(), out.size());
    ASSERT_EQ(s, nullptr) << cairn_status_message(s);
    for (size_t i = 0; i < want->size(); ++i)
      EXPECT_LE(relDiff(tensorOf(out[i], (*want)[i].dtype()), (*want)[i]), tolerance)
          << fn << " result #" << i << ", run " << run;
  }
  cairn_context_free(ctx);
}

std::unique_ptr<Module> parseExample(const std::string& path) {
  std::ifstream in(fs::path(CAIRN_SOURCE_DIR) / path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return exectest::parseOk(text);
}

std::vector<Tensor> inputsFor(const Module& m, const std::string& fn) {
  std::vector<Tensor> in;
  int salt = 1;
  for (const Value* a : m.lookup(fn)->body().arguments())
    in.push_back(inputOf(a->type, salt++));
  return in;
}

/// Loads `aot` on the device CAIRN_DEVICE names and checks its examples.
void expectExamplesRun(const cairn_aot_model& classifier, const cairn_aot_model& elman,
                       const std::string& wantDevice) {
  auto cm = parseExample("examples/aot/classifier.cairn");
  auto em = parseExample("examples/elman_rnn.cairn");
  ASSERT_TRUE(cm && em);
  for (auto [aot, module, fn] :
       {std::tuple{&classifier, cm.get(), "classify"}, std::tuple{&elman, em.get(), "elman_rnn"}}) {
    cairn_model* m = nullptr;
    cairn_status* s = cairn_model_load_aot(aot, &m);
    ASSERT_EQ(s, nullptr) << cairn_status_message(s);
    if (wantDevice.empty())
      EXPECT_STRNE(cairn_model_device(m), "emulated");
    else
      EXPECT_STREQ(cairn_model_device(m), wantDevice.c_str());
    EXPECT_STRNE(cairn_model_device(m), "cpu");
    expectMatchesInterpreter(m, *module, fn, inputsFor(*module, fn));
    cairn_model_free(m);
  }
}

TEST(DeviceAot, CudaObjectsRunOnTheEmulatedDevice) {
  DeviceEnv env("emulated");
  expectExamplesRun(classifier_cuda_aot, elman_cuda_aot, "emulated");
}

// One context alternating between models, one of them freed and loaded
// again (perhaps at the same address): each run gets its own model's answer.
TEST(DeviceAot, AContextServesOneModelAfterAnother) {
  DeviceEnv env("emulated");
  auto cm = parseExample("examples/aot/classifier.cairn");
  auto em = parseExample("examples/elman_rnn.cairn");
  ASSERT_TRUE(cm && em);
  std::vector<Tensor> cin = inputsFor(*cm, "classify"), ein = inputsFor(*em, "elman_rnn");
  auto cwant = interpret(*cm, "classify", cin);
  auto ewant = interpret(*em, "elman_rnn", ein);
  ASSERT_TRUE(cwant.isOk() && ewant.isOk());
  std::vector<cairn_tensor> cv, ev;
  for (const Tensor& t : cin)
    cv.push_back(view(t));
  for (const Tensor& t : ein)
    ev.push_back(view(t));
  cairn_context* ctx = cairn_context_new();
  for (int round = 0; round < 3; ++round) {
    cairn_model *c = nullptr, *e = nullptr;
    ASSERT_EQ(cairn_model_load_aot(&classifier_cuda_aot, &c), nullptr);
    ASSERT_EQ(cairn_model_load_aot(&elman_cuda_aot, &e), nullptr);
    for (int i = 0; i < 2; ++i) {
      cairn_tensor cout[2], eout[1];
      ASSERT_EQ(cairn_run(c, ctx, "classify", cv.data(), cv.size(), cout, 2), nullptr);
      EXPECT_LE(relDiff(tensorOf(cout[0], DType::F32), (*cwant)[0]), 1e-5);
      ASSERT_EQ(cairn_run(e, ctx, "elman_rnn", ev.data(), ev.size(), eout, 1), nullptr);
      EXPECT_LE(relDiff(tensorOf(eout[0], DType::F32), (*ewant)[0]), 1e-5);
    }
    cairn_model_free(c);
    cairn_model_free(e);
  }
  cairn_context_free(ctx);
}

TEST(DeviceAot, WithoutAGpuTheLoadSaysWhyAndHowToEmulate) {
  DeviceEnv env(nullptr);
  StatusOr<std::shared_ptr<device::Device>> gpu = device::openCudaDevice(0);
  if (gpu.isOk()) { // scripts/gpu-check.sh: the same objects on the GPU
    expectExamplesRun(classifier_cuda_aot, elman_cuda_aot, "");
    return;
  }
  std::string msg;
  EXPECT_EQ(loadCode(classifier_cuda_aot, &msg), CAIRN_UNSUPPORTED_HOST);
  EXPECT_NE(msg.find("compiled for CUDA"), std::string::npos) << msg;
  EXPECT_NE(msg.find(gpu.status().message()), std::string::npos) << msg;
  EXPECT_NE(msg.find("CAIRN_DEVICE=emulated"), std::string::npos) << msg;
  DeviceEnv bad("tpu");
  EXPECT_EQ(loadCode(classifier_cuda_aot, &msg), CAIRN_UNSUPPORTED_HOST);
  EXPECT_NE(msg.find("unknown device 'tpu'"), std::string::npos) << msg;
}

TEST(DeviceAot, ObjectsCarryPtxAndCubinsForEveryArchitecture) {
  const cairn_aot_device& d = *classifier_cuda_aot.device;
  ASSERT_EQ(d.num_archs, 2u);
  EXPECT_EQ(classifier_cuda_aot.kernels, nullptr);
  EXPECT_GT(classifier_cuda_aot.num_kernels, 0u);
  for (uint64_t j = 0; j < d.num_archs; ++j) {
    for (const cairn_aot_device_code* c : {&d.kernels[j], &d.row_kernels[j]}) {
      EXPECT_EQ(std::string(c->arch), j == 0 ? "sm_80" : "sm_90");
      std::string ptx(c->ptx, c->ptx_size);
      EXPECT_NE(ptx.find(".target " + std::string(c->arch)), std::string::npos);
#ifdef CAIRN_PTXAS // cairn-compile found ptxas: the cubins are there
      EXPECT_GT(c->cubin_size, 0u);
      EXPECT_EQ(std::memcmp(c->cubin,
                            "\x7f"
                            "ELF",
                            4),
                0);
#endif
    }
    EXPECT_NE(std::string(d.kernels[j].ptx).find(".entry cairn_kernel_0"), std::string::npos);
  }
}

TEST(DeviceAot, CorruptDeviceTablesAreNamed) {
  DeviceEnv env("emulated");
  ASSERT_EQ(loadCode(elman_cuda_aot), CAIRN_OK);
  const cairn_aot_device& good = *elman_cuda_aot.device;
  std::string msg;
  auto expectCorrupt = [&](const cairn_aot_device& d, const std::string& says) {
    cairn_aot_model bad = elman_cuda_aot;
    bad.device = &d;
    EXPECT_EQ(loadCode(bad, &msg), CAIRN_CORRUPT_MODEL) << says;
    EXPECT_NE(msg.find(says), std::string::npos) << msg;
  };
  cairn_aot_device d = good;
  d.num_row_kernels += 1;
  expectCorrupt(d, "row kernels, this runtime");
  d = good;
  d.num_archs = 0;
  expectCorrupt(d, "names 0 GPU architectures");
  d = good;
  d.emulated_kernels = nullptr;
  expectCorrupt(d, "lacks the emulated device's kernels");
  d = good;
  d.row_kernels = nullptr;
  expectCorrupt(d, "row kernels table is missing");
  // PTX that does not end where its size says (cuModuleLoadData reads to NUL).
  std::vector<cairn_aot_device_code> codes(good.kernels, good.kernels + good.num_archs);
  codes[0].ptx_size -= 1;
  d = good;
  d.kernels = codes.data();
  expectCorrupt(d, "PTX for sm_80 is not terminated");
  ASSERT_GT(good.num_op_kernels, 0u) << "the Elman RNN's bias broadcast runs as a kernel";
  std::vector<int64_t> ops(good.op_kernels, good.op_kernels + 2 * good.num_op_kernels);
  ops[1] = static_cast<int64_t>(elman_cuda_aot.num_kernels); // past the kernel table
  d = good;
  d.op_kernels = ops.data();
  expectCorrupt(d, "is out of range");
  ops.assign(good.op_kernels, good.op_kernels + 2 * good.num_op_kernels);
  ops[0] = 0; // the first op of the module, not a broadcast
  d.op_kernels = ops.data();
  expectCorrupt(d, "not a broadcast");
  // A CPU object's table in a device model is never called.
  cairn_aot_model noPrints = elman_cuda_aot;
  noPrints.kernel_fingerprints = nullptr;
  EXPECT_EQ(loadCode(noPrints, &msg), CAIRN_CORRUPT_MODEL);
}

TEST(DeviceAot, LimitsAndThreadsHoldOnTheDevice) {
  DeviceEnv env("emulated");
  auto em = parseExample("examples/elman_rnn.cairn");
  ASSERT_TRUE(em);
  cairn_model* m = nullptr;
  ASSERT_EQ(cairn_model_load_aot(&elman_cuda_aot, &m), nullptr);
  std::vector<Tensor> inputs = inputsFor(*em, "elman_rnn"); // 3 time steps
  std::vector<cairn_tensor> in;
  for (const Tensor& t : inputs)
    in.push_back(view(t));
  cairn_context* ctx = cairn_context_new();
  cairn_tensor out[1];
  // The run's limits reach the device executor: a cancelled run stops with
  // its code, and the context stays usable.
  cairn_cancel_token* token = cairn_cancel_token_new();
  cairn_cancel(token);
  cairn_run_options o{};
  o.struct_size = sizeof o;
  o.cancel = token;
  cairn_status* s = cairn_run_with_options(m, ctx, "elman_rnn", in.data(), in.size(), out, 1, &o);
  EXPECT_EQ(cairn_status_code(s), CAIRN_CANCELLED) << cairn_status_message(s);
  cairn_status_free(s);
  cairn_cancel_token_free(token);
  s = cairn_run(m, ctx, "elman_rnn", in.data(), in.size(), out, 1);
  EXPECT_EQ(s, nullptr) << cairn_status_message(s);
  // A wrong shape is the caller's error, before the device sees it.
  Tensor wrong(TensorType(DType::F32, {4, 4}));
  in[1] = view(wrong);
  s = cairn_run(m, ctx, "elman_rnn", in.data(), in.size(), out, 1);
  EXPECT_EQ(cairn_status_code(s), CAIRN_INVALID_ARGUMENT) << cairn_status_message(s);
  cairn_status_free(s);
  cairn_context_free(ctx);
  in[1] = view(inputs[1]);

  // Four threads, a context each, take turns on the one device: every run
  // gives the first run's bits.
  auto want = interpret(*em, "elman_rnn", inputs);
  ASSERT_TRUE(want.isOk());
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0}, failures{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      cairn_context* c = cairn_context_new();
      for (int r = 0; r < 25; ++r) {
        cairn_tensor y[1];
        cairn_status* st = cairn_run(m, c, "elman_rnn", in.data(), in.size(), y, 1);
        if (st) {
          ++failures;
          cairn_status_free(st);
          continue;
        }
        if (relDiff(tensorOf(y[0], DType::F32), (*want)[0]) > 1e-5) ++mismatches;
      }
      cairn_context_free(c);
    });
  for (std::thread& t : threads)
    t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
  cairn_model_free(m);
}

TEST(DeviceAot, SpinnSharedObjectMatchesTheInterpreter) {
  CAIRN_REQUIRE_JIT(); // the interpreter needs none, but cc and LLVM's host target are the same
                       // test
  using namespace spinnref;
  SpinnConfig cfg;
  cfg.vocab = 11;
  cfg.embed = 5;
  cfg.hidden = 4;
  cfg.trackerSize = 3;
  cfg.mlpHidden = 6;
  cfg.mlpLayers = 1;
  Module module;
  ParamStore ps;
  Function* f = buildSpinnEncoder(module, ps, cfg);
  std::vector<Tensor> values = ps.initialize(7);
  StatusOr<codegen::TempDir> dir = codegen::TempDir::create("cairn-device-aot-test");
  ASSERT_TRUE(dir.isOk()) << dir.status().message();
  std::string object = dir->path() + "/spinn.o", so = dir->path() + "/spinn.so";
  codegen::cuda::DeviceAotOptions o;
  o.aot.prefix = "spinn";
  o.aot.sharedEntry = true;
  o.ptxas.clear(); // PTX only: ptxas's time is the examples' (above)
  codegen::cuda::DeviceAotReport report;
  auto header = codegen::cuda::compileAotForDevice(module, o, object, &report);
  ASSERT_TRUE(header.isOk()) << header.status().message();
  EXPECT_GT(report.kernels, 0);
  EXPECT_EQ(report.cubins, 0);
  Status linked = codegen::runCommand({"cc", "-shared", "-o", so, object});
  // The GPU machines scripts/gpu-check.sh runs on may have no C toolchain.
  if (!linked.isOk() && linked.message().find("cannot run 'cc'") != std::string::npos)
    GTEST_SKIP() << "no C compiler to link the shared object: " << linked.message();
  ASSERT_TRUE(linked.isOk()) << linked.message();

  DeviceEnv env("emulated");
  cairn_model* m = nullptr;
  cairn_status* s = cairn_model_load_file(so.c_str(), &m);
  ASSERT_EQ(s, nullptr) << cairn_status_message(s);
  EXPECT_STREQ(cairn_model_device(m), "emulated");
  Batch b = makeBatch({{{3, 4, 5, 6}, {1, 1, 2, 1, 1, 2, 2}},
                       {{7}, {1}},
                       {{2, 9, 10}, rightBranching(3)},
                       {{1, 8, 3, 4, 5}, leftBranching(5)}});
  std::vector<Tensor> inputs = {b.tokens, b.transitions, b.lengths};
  inputs.insert(inputs.end(), values.begin(), values.end());
  expectMatchesInterpreter(m, module, f->name, inputs);
  cairn_model_free(m);
  // A bare file name is the file in the current directory (dlopen alone
  // would search the library paths for it).
  fs::path cwd = fs::current_path();
  fs::current_path(dir->path());
  s = cairn_model_load_file("spinn.so", &m);
  fs::current_path(cwd);
  EXPECT_EQ(s, nullptr) << cairn_status_message(s);
  cairn_status_free(s);
  cairn_model_free(m);
}

} // namespace
} // namespace cairn
