// Ahead-of-time compilation end to end: the C example (examples/aot/main.c,
// linked with cairn-compile's objects and the runtime library alone) against
// the JIT and the reference interpreter on the same inputs; the C API's
// loading checks on corrupted descriptors; and threads sharing one loaded
// model.
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include <gtest/gtest.h>

#include "CApiTestUtil.h"
#include "ExecTestUtil.h"
#include "runtime/Npy.h"
#include "runtime/capi/cairn.h"
#include "runtime/exec/IsaFeatures.h"
#include "runtime/exec/ProgramFormat.h"

#include <llvm/ADT/SmallVector.h>
#include <llvm/TargetParser/Host.h>
#include <llvm/TargetParser/X86TargetParser.h>

extern "C" const cairn_aot_model classifier_aot; // examples/aot, built by cairn-compile

namespace cairn {
namespace {

using capitest::loadCode;

namespace fs = std::filesystem;
using exectest::relDiff;

const fs::path kExample = fs::path(CAIRN_BINARY_DIR) / "bin" / "aot_example";
const fs::path kExamples = fs::path(CAIRN_SOURCE_DIR) / "examples";

std::unique_ptr<Module> parseFile(const fs::path& p) {
  std::ifstream in(p);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return exectest::parseOk(text);
}

/// Reads <dir>/<model>_<kind><i>.npy for i = 0 .. n-1.
std::vector<Tensor> readAll(const fs::path& dir, const std::string& model, const std::string& kind,
                            int n) {
  std::vector<Tensor> out;
  for (int i = 0; i < n; ++i) {
    auto t = readNpy((dir / fmt::format("{}_{}{}.npy", model, kind, i)).string());
    EXPECT_TRUE(t.isOk()) << t.status().message();
    if (t.isOk()) out.push_back(std::move(t).value());
  }
  return out;
}

/// The example's outputs against the JIT's and the interpreter's on its inputs.
void expectSameAsJit(const fs::path& dir, const std::string& model, const fs::path& source,
                     const std::string& fn, int numOutputs) {
  auto m = parseFile(source);
  ASSERT_TRUE(m);
  std::vector<Tensor> inputs = readAll(dir, model, "in", 5);
  std::vector<Tensor> aot = readAll(dir, model, "out", numOutputs);
  ASSERT_EQ(aot.size(), static_cast<size_t>(numOutputs));
  auto jit = codegen::cpu::compileExecutable(*m);
  ASSERT_TRUE(jit.isOk()) << jit.status().message();
  auto jitOut = (*jit)->run(fn, inputs);
  ASSERT_TRUE(jitOut.isOk()) << jitOut.status().message();
  auto ref = interpret(*m, fn, inputs);
  ASSERT_TRUE(ref.isOk()) << ref.status().message();
  for (int i = 0; i < numOutputs; ++i) {
    EXPECT_LE(relDiff(aot[i], (*jitOut)[i]), 1e-6) << model << " output " << i;
    EXPECT_LE(relDiff(aot[i], (*ref)[i]), 1e-5) << model << " output " << i;
  }
}

TEST(AotTest, CExampleMatchesJitAndInterpreter) {
  ASSERT_TRUE(fs::exists(kExample)) << kExample;
  // Batch 1 and 128, and loops of 0, 1, 5 and 40 steps.
  for (auto [batch, steps] : {std::pair{4, 5}, {1, 0}, {128, 1}, {3, 40}}) {
    fs::path dir = fs::temp_directory_path() / fmt::format("cairn-aot-{}-{}-{}", ::getpid(), batch, steps);
    fs::create_directories(dir);
    std::string cmd = fmt::format("{} {} {} {} > {}/stdout.txt 2>&1", kExample.string(), dir.string(),
                                  batch, steps, dir.string());
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    expectSameAsJit(dir, "classify", kExamples / "aot" / "classifier.cairn", "classify", 2);
    expectSameAsJit(dir, "elman", kExamples / "elman_rnn.cairn", "elman_rnn", 1);
    fs::remove_all(dir);
  }
}

TEST(AotTest, ExampleLinksNoLlvm) {
  if (std::system("command -v ldd > /dev/null 2>&1") != 0) GTEST_SKIP() << "no ldd on this host";
  std::string cmd = fmt::format("ldd {} | grep -qi llvm", kExample.string());
  EXPECT_NE(std::system(cmd.c_str()), 0) << "aot_example links LLVM";
}


TEST(AotTest, ExampleLinksNoCompiler) {
  // The runtime stands alone: an AOT model is read, never lowered, so no
  // compiler code (program building, passes, autodiff) is in the binary.
  if (std::system("command -v nm > /dev/null 2>&1") != 0) GTEST_SKIP() << "no nm on this host";
  std::string cmd = fmt::format("nm -C {} | grep -c -E 'cairn::codegen::|cairn::passes::|"
                                "lowerFunctions|buildGradient' > /dev/null",
                                kExample.string());
  EXPECT_NE(std::system(cmd.c_str()), 0) << "compiler symbols in " << kExample;
}

TEST(AotTest, CorruptDescriptorsAreErrors) {
  ASSERT_EQ(loadCode(classifier_aot), CAIRN_OK);
  std::string msg;
  cairn_aot_model bad = classifier_aot;
  bad.abi_version = 99;
  EXPECT_EQ(loadCode(bad, &msg), CAIRN_CORRUPT_MODEL);
  EXPECT_NE(msg.find("ABI version 99"), std::string::npos) << msg;

  bad = classifier_aot;
  std::string garbage = "func @classify(%x: tensor<?x8xf32>) -> tensor<";
  bad.module_text = garbage.c_str();
  bad.module_size = garbage.size();
  EXPECT_EQ(loadCode(bad, &msg), CAIRN_CORRUPT_MODEL);
  EXPECT_NE(msg.find("does not parse"), std::string::npos) << msg;

  // Program data that is cut short, or not program data, or of another
  // format version: named, never run.
  bad = classifier_aot;
  bad.program_size -= 1;
  EXPECT_EQ(loadCode(bad, &msg), CAIRN_CORRUPT_MODEL);
  EXPECT_NE(msg.find("checksum"), std::string::npos) << msg;
  std::string programs(classifier_aot.program_data, classifier_aot.program_size);
  programs[40] ^= 0x10; // one bit anywhere
  bad.program_data = programs.data();
  EXPECT_EQ(loadCode(bad, &msg), CAIRN_CORRUPT_MODEL);
  EXPECT_NE(msg.find("checksum"), std::string::npos) << msg;
  programs[40] ^= 0x10;
  programs.resize(programs.size() - 9); // cut inside the last program, resealed: the structure says so
  programs.resize(programs.size() + 8);
  exec::resealPrograms(programs);
  bad.program_size = programs.size();
  EXPECT_EQ(loadCode(bad, &msg), CAIRN_CORRUPT_MODEL);
  EXPECT_NE(msg.find("model object's programs: program data, byte"), std::string::npos) << msg;
  programs.assign(classifier_aot.program_data, classifier_aot.program_size);
  programs[4] = 9;
  bad.program_data = programs.data();
  bad.program_size = programs.size();
  EXPECT_EQ(loadCode(bad, &msg), CAIRN_CORRUPT_MODEL);
  EXPECT_NE(msg.find("format version 9"), std::string::npos) << msg;
  bad.program_data = "not programs at all";
  bad.program_size = 19;
  EXPECT_EQ(loadCode(bad, &msg), CAIRN_CORRUPT_MODEL);
  EXPECT_NE(msg.find("magic"), std::string::npos) << msg;
  // Programs paired with another module: their ops do not match.
  bad = classifier_aot;
  std::string other = "func @classify(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {\n  return %x\n}\n";
  bad.module_text = other.c_str();
  bad.module_size = other.size();
  EXPECT_EQ(loadCode(bad, &msg), CAIRN_CORRUPT_MODEL);
  EXPECT_NE(msg.find("model object's programs"), std::string::npos) << msg;

  bad = classifier_aot;
  bad.kernels = nullptr;
  EXPECT_EQ(loadCode(bad, &msg), CAIRN_CORRUPT_MODEL);

  bad = classifier_aot;
  bad.target_features = "+avx512f,+avx512bw,+avx512vl,+fma,+avx2";
  bad.target_cpu = "x86-64-v4";
  cairn_code code = loadCode(bad, &msg);
  if (__builtin_cpu_supports("avx512f"))
    EXPECT_EQ(code, CAIRN_OK);
  else
    EXPECT_EQ(code, CAIRN_UNSUPPORTED_HOST) << msg;
}

TEST(AotTest, LoaderKnowsEveryFeatureLlvmGivesACpu) {
  // What cairn-compile records for a named CPU comes from this table; a
  // name the loader cannot check would refuse the object everywhere.
  for (const char* cpu : {"x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4", "haswell",
                          "skylake-avx512", "icelake-server", "sapphirerapids", "graniterapids",
                          "emeraldrapids", "alderlake", "arrowlake", "znver2", "znver3", "znver4",
                          "znver5"}) {
    llvm::SmallVector<llvm::StringRef, 64> features;
    llvm::X86::getFeaturesForCPU(cpu, features);
    for (llvm::StringRef f : features)
      EXPECT_NE(exec::hostIsaSupport(f.str()), exec::IsaSupport::kUnknown) << cpu << ": " << f.str();
  }
  // The host's own features are all present: an object for --cpu host loads here.
  std::string host;
  for (const auto& f : llvm::sys::getHostCPUFeatures())
    if (f.second) host += "+" + f.first().str() + ",";
  EXPECT_EQ(exec::missingIsaFeatures(host), "");
  EXPECT_EQ(exec::missingIsaFeatures("-avx512f,+mwaitx,+wbnoinvd,,+sse2"), "");
  std::string unknown = exec::missingIsaFeatures("+sse2,+frobnicate");
  EXPECT_NE(unknown.find("cannot check (frobnicate)"), std::string::npos) << unknown;
  if (!__builtin_cpu_supports("avx512f")) {
    EXPECT_NE(exec::missingIsaFeatures("+avx512f").find("avx512f"), std::string::npos);
  }
}

TEST(AotTest, EightThreadsTwoThousandRunsEachAreBitIdentical) {
  cairn_model* m = nullptr;
  ASSERT_EQ(cairn_model_load_aot(&classifier_aot, &m), nullptr);
  // Weights with some structure, so that different batches give different logits.
  auto ramp = [](size_t n, float scale) {
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i)
      v[i] = scale * static_cast<float>((i * 37) % 17) / 17.0f - scale / 2;
    return v;
  };
  std::vector<float> w1 = ramp(8 * 16, 0.8f), b1 = ramp(16, 0.1f), w2 = ramp(16 * 3, 1.2f),
                     b2 = ramp(3, 0.1f);
  int64_t w1d[] = {8, 16}, b1d[] = {16}, w2d[] = {16, 3}, b2d[] = {3};
  auto runOnce = [&](cairn_context* c, int batch, std::vector<float>& probs) {
    std::vector<float> x = ramp(static_cast<size_t>(8 * batch), 1.0f + 0.1f * batch);
    int64_t xd[] = {batch, 8};
    cairn_tensor in[] = {{CAIRN_F32, 2, xd, x.data()},
                         {CAIRN_F32, 2, w1d, w1.data()},
                         {CAIRN_F32, 1, b1d, b1.data()},
                         {CAIRN_F32, 2, w2d, w2.data()},
                         {CAIRN_F32, 1, b2d, b2.data()}};
    cairn_tensor out[2];
    cairn_status* s = cairn_run(m, c, "classify", in, 5, out, 2);
    if (s) {
      cairn_status_free(s);
      return false;
    }
    const float* p = static_cast<const float*>(out[0].data);
    probs.assign(p, p + 3 * batch);
    return true;
  };
  // The single-threaded answers for batches 1..8.
  std::vector<std::vector<float>> want(9);
  cairn_context* c0 = cairn_context_new();
  for (int b = 1; b <= 8; ++b)
    ASSERT_TRUE(runOnce(c0, b, want[static_cast<size_t>(b)]));
  cairn_context_free(c0);
  std::vector<int> mismatches(8, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      cairn_context* c = cairn_context_new();
      std::vector<float> got;
      for (int rep = 0; rep < 2000; ++rep) {
        int batch = 1 + (rep + t) % 8;
        if (!runOnce(c, batch, got) ||
            std::memcmp(got.data(), want[static_cast<size_t>(batch)].data(),
                        got.size() * sizeof(float)) != 0)
          ++mismatches[static_cast<size_t>(t)];
      }
      cairn_context_free(c);
    });
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(mismatches, std::vector<int>(8, 0));
  cairn_model_free(m);
}

TEST(AotTest, RunErrorsAndThreads) {
  cairn_model* m = nullptr;
  ASSERT_EQ(cairn_model_load_aot(&classifier_aot, &m), nullptr);
  ASSERT_EQ(cairn_model_num_functions(m), 1u);
  EXPECT_STREQ(cairn_model_function_name(m, 0), "classify");

  std::vector<float> w1(8 * 16, 0.1f), b1(16, 0.f), w2(16 * 3, 0.2f), b2(3, 0.f);
  int64_t w1d[] = {8, 16}, b1d[] = {16}, w2d[] = {16, 3}, b2d[] = {3};
  auto inputs = [&](std::vector<float>& x, std::vector<int64_t>& xd) {
    return std::vector<cairn_tensor>{{CAIRN_F32, 2, xd.data(), x.data()},
                                     {CAIRN_F32, 2, w1d, w1.data()},
                                     {CAIRN_F32, 1, b1d, b1.data()},
                                     {CAIRN_F32, 2, w2d, w2.data()},
                                     {CAIRN_F32, 1, b2d, b2.data()}};
  };
  cairn_context* ctx = cairn_context_new();
  cairn_tensor out[2];
  std::vector<float> x(16, 0.5f);
  std::vector<int64_t> xd = {2, 8};
  auto in = inputs(x, xd);
  cairn_status* notFound = cairn_run(m, ctx, "nope", in.data(), 5, out, 2);
  EXPECT_EQ(cairn_status_code(notFound), CAIRN_NOT_FOUND);
  cairn_status_free(notFound); // it leaked
  cairn_status* s = cairn_run(m, ctx, "classify", in.data(), 4, out, 2);
  EXPECT_EQ(cairn_status_code(s), CAIRN_INVALID_ARGUMENT);
  cairn_status_free(s);
  in[1].dtype = CAIRN_I32;
  s = cairn_run(m, ctx, "classify", in.data(), 5, out, 2);
  EXPECT_EQ(cairn_status_code(s), CAIRN_INVALID_ARGUMENT);
  cairn_status_free(s);
  in[1].dtype = CAIRN_F32;
  ASSERT_EQ(cairn_run(m, ctx, "classify", in.data(), 5, out, 2), nullptr);
  ASSERT_EQ(out[0].rank, 2);
  EXPECT_EQ(out[0].dims[0], 2);
  EXPECT_NEAR(static_cast<float*>(out[0].data)[0], 1.0f / 3, 1e-6); // equal logits
  cairn_context_free(ctx);

  // Four threads, each with its own context and batch size, one model.
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      cairn_context* c = cairn_context_new();
      std::vector<float> xs(static_cast<size_t>(8 * (t + 1)), 0.25f * static_cast<float>(t));
      std::vector<int64_t> dims = {t + 1, 8};
      auto ins = inputs(xs, dims);
      for (int rep = 0; rep < 50; ++rep) {
        cairn_tensor o[2];
        cairn_status* st = cairn_run(m, c, "classify", ins.data(), 5, o, 2);
        if (st || o[0].dims[0] != t + 1) ++failures[static_cast<size_t>(t)];
        cairn_status_free(st);
      }
      cairn_context_free(c);
    });
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(failures, std::vector<int>(4, 0));
  cairn_model_free(m);
}

} // namespace
} // namespace cairn
