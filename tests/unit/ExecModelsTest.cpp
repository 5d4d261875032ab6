// The real models through the compiled executor against the reference
// interpreter, to 1e-5 relative (the golden tests' measure): SPINN with
// given transitions (tracker on and off) and predicted ones, the TreeLSTM,
// BiLSTM and BiGRU classifiers and taggers on real SNLI/SST batches
// (tests/golden/GoldenCases.h; skipped without ../shared/data), and the
// Elman RNN on random inputs. Also: the SPINN stack is updated in place;
// and every golden model through the CUDA backend on the emulated device.
#include "CudaTestUtil.h"
#include "ExecTestUtil.h"
#include "compiler/codegen/cuda/CompileForDevice.h"
#include "frontend/models/ElmanRnn.h"
#include "tests/golden/GoldenCases.h"

namespace cairn::exectest {
namespace {

class ExecGoldenModels : public ::testing::TestWithParam<std::string> {};

TEST_P(ExecGoldenModels, CompiledMatchesInterpreter) {
  CAIRN_REQUIRE_JIT();
  const std::string dataDir = golden::defaultDataDir(CAIRN_SOURCE_DIR);
  if (!golden::haveData(dataDir)) GTEST_SKIP() << "no SNLI/SST data under " << dataDir;
  auto c = golden::makeCase(GetParam(), dataDir);
  ASSERT_TRUE(c.isOk()) << c.status().message();
  codegen::cpu::CompileReport report;
  auto exe = compileOk(*c->module, {}, &report);
  ASSERT_TRUE(exe);
  EXPECT_GT(report.kernelsStatic + report.kernelsDynamic, 0);
  EXPECT_GT(report.gemms, 0);
  std::vector<Tensor> args = c->inputs;
  args.insert(args.end(), c->paramValues.begin(), c->paramValues.end());
  exec::ExecutionContext ctx;
  expectMatches(*c->module, *exe, c->function->name, args, golden::kRelTolerance, &ctx);
  // A second run in the same context (warm pool, cached kernels) agrees too.
  expectMatches(*c->module, *exe, c->function->name, args, golden::kRelTolerance, &ctx);
  const exec::ExecStats& s = ctx.stats();
  EXPECT_GT(s.kernelCalls, 0);
  EXPECT_GT(s.gemmCalls, 0);
  if (GetParam().rfind("spinn", 0) == 0) {
    // Every stack/buffer update of the thin stack is in place: the only
    // copies are of values still live elsewhere, never one per transition.
    EXPECT_GE(s.inPlaceUpdates, s.whileIterations) << exe->describe();
    EXPECT_LT(s.copies, s.whileIterations) << exe->describe();
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, ExecGoldenModels, ::testing::ValuesIn(golden::caseNames()),
                         [](const auto& info) { return info.param; });

// The same models through the CUDA backend on the emulated device.
class DeviceGoldenModels : public ::testing::TestWithParam<std::string> {};

TEST_P(DeviceGoldenModels, EmulatedDeviceMatchesInterpreter) {
  CAIRN_REQUIRE_JIT();
  const std::string dataDir = golden::defaultDataDir(CAIRN_SOURCE_DIR);
  if (!golden::haveData(dataDir)) GTEST_SKIP() << "no SNLI/SST data under " << dataDir;
  auto c = golden::makeCase(GetParam(), dataDir);
  ASSERT_TRUE(c.isOk()) << c.status().message();
  codegen::cuda::DeviceCompileOptions options;
  options.alwaysEmitPtx = true; // every kernel of the model must assemble for the GPUs
  codegen::cuda::DeviceCompileReport report;
  auto exe =
      codegen::cuda::compileForDevice(*c->module, cudatest::testDevice(), options, &report);
  ASSERT_TRUE(exe.isOk()) << exe.status().message();
  for (const auto& [arch, ptx] : report.ptx)
    EXPECT_TRUE(cudatest::assemblesWithPtxas(ptx, arch)) << GetParam();
  std::vector<Tensor> args = c->inputs;
  args.insert(args.end(), c->paramValues.begin(), c->paramValues.end());
  auto want = interpret(*c->module, c->function->name, args);
  ASSERT_TRUE(want.isOk()) << want.status().message();
  // Loops recorded as device graphs (the default), then host-synchronized.
  for (bool graphs : {true, false}) {
    SCOPED_TRACE(graphs ? "recorded loops" : "host-synchronized loops");
    device::DeviceRunOptions o;
    o.loopGraphs = graphs;
    device::DeviceContext ctx;
    for (int run = 0; run < 2; ++run) { // the second in a warm context
      auto got = (*exe)->run(c->function->name, args, ctx, o);
      ASSERT_TRUE(got.isOk()) << got.status().message();
      ASSERT_EQ(got->size(), want->size());
      for (size_t i = 0; i < want->size(); ++i)
        EXPECT_LE(relDiff((*got)[i], (*want)[i]), golden::kRelTolerance) << "result #" << i;
    }
    const device::DeviceStats& s = ctx.stats();
    EXPECT_GT(s.kernelLaunches, 0);
    EXPECT_GT(s.gemmCalls, 0);
    EXPECT_GT(s.gemmEpilogues, 0) << "each model has a Linear with a bias (GemmEpilogue.h)";
    EXPECT_GT(s.whileIterations, 0);
    if (graphs) {
      // Every golden model's loops have device forms: no host decision.
      EXPECT_GT(s.loopRecordings, 0);
      EXPECT_EQ(s.conditionReads, 0);
      EXPECT_TRUE(s.hostLoops.empty()) << s.hostLoops.begin()->first;
      std::cout << "  " << s.loopRecordings << " loop(s) recorded, " << s.graphLaunches
                << " graph launches for " << s.whileIterations << " iterations; "
                << s.gemmEpilogues << " of " << s.gemmCalls << " GEMMs with an epilogue\n";
    } else {
      EXPECT_EQ(s.graphLaunches, 0);
      EXPECT_GT(s.conditionReads, s.whileIterations);
      for (const auto& [name, calls] : s.hostOpsByName)
        std::cout << "  on the host: " << name << " x" << calls << "\n";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, DeviceGoldenModels, ::testing::ValuesIn(golden::caseNames()),
                         [](const auto& info) { return info.param; });

TEST(ExecElmanRnnTest, CompiledMatchesInterpreter) {
  CAIRN_REQUIRE_JIT();
  Module m;
  buildElmanRnn(m, 4, 6, 8);
  auto exe = compileOk(m);
  ASSERT_TRUE(exe);
  auto random = [](TensorType t, uint64_t seed) {
    Tensor x(t);
    uint64_t s = seed;
    for (int64_t i = 0; i < x.numElements(); ++i) {
      s = s * 6364136223846793005ULL + 1442695040888963407ULL;
      x.setDouble(i, static_cast<double>(s >> 40) / double(1 << 24) - 0.5);
    }
    return x;
  };
  for (int64_t steps : {0, 1, 9}) {
    std::vector<Tensor> in = {random(TensorType(DType::F32, {steps, 4, 6}), 1),
                              random(TensorType(DType::F32, {4, 8}), 2),
                              random(TensorType(DType::F32, {6, 8}), 3),
                              random(TensorType(DType::F32, {8, 8}), 4),
                              random(TensorType(DType::F32, {8}), 5)};
    expectMatches(m, *exe, "elman_rnn", in);
  }
}

} // namespace
} // namespace cairn::exectest
