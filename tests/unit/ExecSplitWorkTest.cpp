// Kernels and row operations split over the threads oneDNN's products run
// on (runtime/exec/SplitWork.h): the ranges, and the executor's results
// split against the same run on one thread and the interpreter.
#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "ExecTestUtil.h"
#include "runtime/exec/GemmDnnl.h"
#include "runtime/exec/SplitWork.h"

namespace cairn::exectest {
namespace {

TEST(SplitWorkTest, RangesCoverEveryElementOnceOnAlignedBoundaries) {
  for (int64_t n : {0, 1, 15, 16, 17, 100, 8192, 16384, 100003})
    for (int parts = 1; parts <= 5; ++parts)
      for (int64_t align : {1, 16, 64}) {
        SCOPED_TRACE(fmt::format("n {} parts {} align {}", n, parts, align));
        int64_t at = 0;
        for (int p = 0; p < parts; ++p) {
          auto [begin, end] = exec::splitRange(n, p, parts, align);
          EXPECT_EQ(begin, at);
          EXPECT_LE(begin, end);
          if (p + 1 < parts) EXPECT_TRUE(end % align == 0 || end == n) << end;
          at = end;
        }
        EXPECT_EQ(at, n);
      }
}

TEST(SplitWorkTest, SplitsOnlyWhenEachPartGetsAGrain) {
  EXPECT_EQ(exec::splitParts(2, 16383, 8192), 1);
  EXPECT_EQ(exec::splitParts(2, 16384, 8192), 2);
  EXPECT_EQ(exec::splitParts(4, 3 * 8192, 8192), 3);
  EXPECT_EQ(exec::splitParts(1, 1 << 20, 8192), 1);
  EXPECT_EQ(exec::splitParts(8, 1 << 20, 0), 1);
}

TEST(SplitWorkTest, EveryElementRunsOnceWhateverTheThreads) {
  const int64_t n = 100003;
  std::vector<std::atomic<int>> seen(static_cast<size_t>(n));
  std::atomic<int> parts{0};
  exec::splitWork(2, n, 8192, 16, [&](int, int64_t begin, int64_t end) {
    parts.fetch_add(1);
    for (int64_t i = begin; i < end; ++i)
      seen[static_cast<size_t>(i)].fetch_add(1);
  });
  for (int64_t i = 0; i < n; ++i)
    ASSERT_EQ(seen[static_cast<size_t>(i)].load(), 1) << i;
  // Two parts when oneDNN (and its threads) are there, else one here.
  EXPECT_EQ(parts.load(), exec::dnnl::enabled() ? 2 : 1);
}

// A fused kernel of 64,000 outputs, a gather of 64 rows of 3 KiB and an
// argmax over a [64, 1000] vocabulary: each splits in two on two threads.
constexpr const char* kDecoderStep = R"(
func @f(%x: tensor<64x1000xf32>, %table: tensor<1000x768xf32>, %idx: tensor<64xi32>) -> (tensor<64x1000xf32>, tensor<64x768xf32>, tensor<64xi64>) {
  %s = add %x, %x : tensor<64x1000xf32>
  %y = tanh %s : tensor<64x1000xf32>
  %g = gather %table, %idx {axis = 0} : tensor<64x768xf32>
  %k = argmax %y {axis = 1} : tensor<64xi64>
  return %y, %g, %k
}
)";

/// oneDNN's thread count for a test, restored after.
struct ProductThreads {
  explicit ProductThreads(int n) { exec::dnnl::setThreads(n); }
  ~ProductThreads() { exec::dnnl::setThreads(0); }
};

std::vector<Tensor> stepInputs() {
  Tensor x = inputOf(TensorType(DType::F32, {64, 1000}), 1);
  for (int64_t i = 0; i < x.numElements(); ++i) // a distinct maximum per row
    x.setDouble(i, std::sin(0.37 * static_cast<double>(i)));
  Tensor idx(TensorType(DType::I32, {64}));
  for (int64_t i = 0; i < 64; ++i)
    idx.setInt(i, (i * 389) % 1000);
  return {x, inputOf(TensorType(DType::F32, {1000, 768}), 2), idx};
}

/// The decoder step compiled, on two product threads.
class ExecSplitWorkTest : public ::testing::Test {
protected:
  void SetUp() override {
    if (!codegen::cpu::cpuJitAvailable()) GTEST_SKIP() << "no LLVM JIT on this host";
    m_ = parseOk(kDecoderStep);
    ASSERT_TRUE(m_);
    exe_ = compileOk(*m_);
    ASSERT_TRUE(exe_);
  }
  ProductThreads two_{2};
  std::unique_ptr<Module> m_;
  std::unique_ptr<exec::Executable> exe_;
};

TEST_F(ExecSplitWorkTest, SplitResultsAreTheOneThreadRunsBitForBit) {
  std::vector<Tensor> in = stepInputs();
  exec::ExecutionContext ctx;
  auto split = exe_->run("f", in, ctx);
  ASSERT_TRUE(split.isOk()) << split.status().message();
  EXPECT_EQ(ctx.stats().splitCalls, exec::dnnl::enabled() ? 3 : 0) << exe_->describe();
  exec::ExecOptions one;
  one.parallel = false;
  exec::ExecutionContext oneCtx;
  auto serial = exe_->run("f", in, oneCtx, one);
  ASSERT_TRUE(serial.isOk()) << serial.status().message();
  EXPECT_EQ(oneCtx.stats().splitCalls, 0);
  ASSERT_EQ(split->size(), 3u);
  for (size_t i = 0; i < 3; ++i)
    EXPECT_EQ((*split)[i], (*serial)[i]) << "result #" << i;
  expectMatches(*m_, *exe_, "f", in);
}

TEST_F(ExecSplitWorkTest, AnIndexOutOfRangeIsNamedAsUnsplit) {
  // planGather checks every index before the rows split.
  std::vector<Tensor> in = stepInputs();
  in[2].setInt(50, 1000);
  auto out = exe_->run("f", in);
  ASSERT_FALSE(out.isOk());
  EXPECT_NE(out.status().message().find("index 1000 at position [50]"), std::string::npos)
      << out.status().message();
}

TEST(ExecSplitSubnormalsTest, EveryPartFlushesSubnormalsAsTheCallerDoes) {
  CAIRN_REQUIRE_JIT();
  // 1e-20 * 1e-20 is subnormal in f32: flushed to zero on every thread, or
  // kept on every thread.
  auto m = parseOk(R"(
func @f(%x: tensor<64x1000xf32>) -> tensor<64x1000xf32> {
  %y = mul %x, %x : tensor<64x1000xf32>
  %z = add %y, %y : tensor<64x1000xf32>
  return %z
}
)");
  ASSERT_TRUE(m);
  auto exe = compileOk(*m);
  ASSERT_TRUE(exe);
  ProductThreads two(2);
  Tensor x(TensorType(DType::F32, {64, 1000}));
  for (int64_t i = 0; i < x.numElements(); ++i)
    x.setDouble(i, 1e-20);
  for (bool flush : {true, false}) {
    SCOPED_TRACE(flush ? "flushed" : "gradual underflow");
    exec::ExecOptions o;
    o.flushDenormals = flush;
    exec::ExecutionContext ctx;
    auto out = exe->run("f", {x}, ctx, o);
    ASSERT_TRUE(out.isOk()) << out.status().message();
    EXPECT_EQ(ctx.stats().splitCalls, exec::dnnl::enabled() ? 1 : 0);
    const float* z = (*out)[0].data<float>();
    for (int64_t i = 0; i < x.numElements(); ++i)
      if (flush ? z[i] != 0.0f : z[i] == 0.0f) FAIL() << "element " << i << " is " << z[i];
  }
}

} // namespace
} // namespace cairn::exectest
