// GEMM epilogues (runtime/device/GemmEpilogue.h: a product and the bias add
// and relu after it as one cuBLASLt call) and the staging buffer of the
// boundary copies, on the emulated device (or the GPU under
// scripts/gpu-check.sh: the suite is DeviceExecutor, in its filter) against
// the reference interpreter. The counters say the fused path was taken, and
// that it was not where the kernel after the product is not a bias add over
// its rows with at most a relu.
#include "DeviceTestUtil.h"
#include "runtime/device/GemmEpilogue.h"

namespace cairn::exectest {
namespace {

std::vector<Tensor> inputsOf(const Module& m, const std::string& fn) {
  std::vector<Tensor> in;
  int salt = 0;
  for (const TensorType& t : m.lookup(fn)->argumentTypes())
    in.push_back(inputOf(t, salt++));
  return in;
}

/// Linear layers: x . w + b, with relu, with the bias first, with w
/// transposed (contracting its last dim, as a PyTorch Linear's weight), on
/// rank 3 inputs, on a dynamic batch (the bias broadcast to a `dim` of the
/// product, as the frontend's Linear does, or of the input before the
/// product), and with a matrix added (cuBLASLt's C) instead of a bias.
constexpr const char* kLinear = R"(
func @relu(%x: tensor<6x8xf32>, %w: tensor<8x5xf32>, %b: tensor<5xf32>) -> (tensor<6x5xf32>) {
  %y = dot %x, %w : tensor<6x5xf32>
  %bb = broadcast %b {dims = [1]} : tensor<6x5xf32>
  %z = add %y, %bb : tensor<6x5xf32>
  %r = relu %z : tensor<6x5xf32>
  return %r
}
func @bias(%x: tensor<6x8xf32>, %w: tensor<8x5xf32>, %b: tensor<5xf32>) -> (tensor<6x5xf32>) {
  %y = dot %x, %w : tensor<6x5xf32>
  %bb = broadcast %b {dims = [1]} : tensor<6x5xf32>
  %z = add %bb, %y : tensor<6x5xf32>
  return %z
}
func @wt(%x: tensor<6x8xf32>, %w: tensor<5x8xf32>, %b: tensor<5xf32>) -> (tensor<6x5xf32>) {
  %y = dot %x, %w {lhs_contract = [1], rhs_contract = [1]} : tensor<6x5xf32>
  %bb = broadcast %b {dims = [1]} : tensor<6x5xf32>
  %z = add %y, %bb : tensor<6x5xf32>
  %r = relu %z : tensor<6x5xf32>
  return %r
}
func @rank3(%x: tensor<2x3x8xf32>, %w: tensor<8x5xf32>, %b: tensor<5xf32>) -> (tensor<2x3x5xf32>) {
  %y = dot %x, %w : tensor<2x3x5xf32>
  %bb = broadcast %b {dims = [2]} : tensor<2x3x5xf32>
  %z = add %y, %bb : tensor<2x3x5xf32>
  %r = relu %z : tensor<2x3x5xf32>
  return %r
}
func @dynamic(%x: tensor<?x8xf32>, %w: tensor<8x5xf32>, %b: tensor<5xf32>) -> (tensor<?x5xf32>) {
  %y = dot %x, %w : tensor<?x5xf32>
  %n = dim %y {axis = 0} : tensor<i64>
  %bb = broadcast %b, %n {dims = [1]} : tensor<?x5xf32>
  %z = add %y, %bb : tensor<?x5xf32>
  %r = relu %z : tensor<?x5xf32>
  return %r
}
func @dimfirst(%x: tensor<?x8xf32>, %w: tensor<8x5xf32>, %b: tensor<5xf32>) -> (tensor<?x5xf32>) {
  %n = dim %x {axis = 0} : tensor<i64>
  %y = dot %x, %w : tensor<?x5xf32>
  %bb = broadcast %b, %n {dims = [1]} : tensor<?x5xf32>
  %z = add %y, %bb : tensor<?x5xf32>
  return %z
}
func @matrix(%x: tensor<6x8xf32>, %w: tensor<8x5xf32>, %b: tensor<6x5xf32>) -> (tensor<6x5xf32>) {
  %y = dot %x, %w : tensor<6x5xf32>
  %z = add %y, %b : tensor<6x5xf32>
  %r = relu %z : tensor<6x5xf32>
  return %r
}
)";

TEST(DeviceExecutor, LinearWithBiasAndReluIsOneGemmWithAnEpilogue) {
  CAIRN_REQUIRE_EMULATOR();
  auto m = parseOk(kLinear);
  ASSERT_TRUE(m);
  auto exe = compileForDeviceOk(*m);
  ASSERT_TRUE(exe);
  for (const char* fn : {"relu", "bias", "wt", "rank3", "dynamic", "dimfirst", "matrix"}) {
    SCOPED_TRACE(fn);
    device::DeviceContext ctx;
    std::vector<Tensor> in = inputsOf(*m, fn); // negative sums too: relu matters
    expectDeviceMatches(*m, *exe, fn, in, 1e-5, &ctx);
    EXPECT_EQ(ctx.stats().gemmEpilogues, 1);
    EXPECT_EQ(ctx.stats().gemmCalls, 1);
    EXPECT_EQ(ctx.stats().kernelLaunches, 0) << "the bias and relu ran in the GEMM";
    EXPECT_EQ(ctx.stats().hostOps, 0);
  }
}

// NaN through the relu epilogue stays NaN, as the reference's relu: on a GPU
// this checks cuBLASLt's RELU_BIAS on NaN (it runs in scripts/gpu-check.sh).
TEST(DeviceExecutor, GemmReluEpilogueKeepsNaN) {
  CAIRN_REQUIRE_EMULATOR();
  auto m = parseOk(kLinear);
  ASSERT_TRUE(m);
  auto exe = compileForDeviceOk(*m);
  ASSERT_TRUE(exe);
  std::vector<Tensor> in = inputsOf(*m, "relu");
  in[0].setDouble(3, NAN);   // row 0 of the product is NaN
  in[2].setDouble(1, -1e30); // and column 1 a large negative sum
  device::DeviceContext ctx;
  expectDeviceMatches(*m, *exe, "relu", in, 1e-5, &ctx);
  EXPECT_EQ(ctx.stats().gemmEpilogues, 1);
}

/// The emulated device without epilogues (as a GPU whose cuBLASLt is
/// missing would be): the executor runs the GEMM and the kernel apart.
class NoEpilogueDevice final : public device::Device {
public:
  std::string name() const override { return "emulated, no epilogues"; }
  bool isEmulated() const override { return true; }
  StatusOr<void*> allocate(size_t n) override { return d_->allocate(n); }
  void release(void* p) override { d_->release(p); }
  Status copyToDevice(void* dst, const void* src, size_t n) override {
    return d_->copyToDevice(dst, src, n);
  }
  Status copyToHost(void* dst, const void* src, size_t n) override {
    return d_->copyToHost(dst, src, n);
  }
  Status copyOnDevice(void* dst, const void* src, size_t n) override {
    return d_->copyOnDevice(dst, src, n);
  }
  Status copyOnDevice2D(void* dst, size_t dp, const void* src, size_t sp, size_t w,
                        size_t rows) override {
    return d_->copyOnDevice2D(dst, dp, src, sp, w, rows);
  }
  Status fillZero(void* dst, size_t n) override { return d_->fillZero(dst, n); }
  StatusOr<device::KernelHandle> load(const device::KernelImage& k) override { return d_->load(k); }
  Status launch(device::KernelHandle k, device::LaunchConfig c, void** p, size_t n) override {
    return d_->launch(k, c, p, n);
  }
  Status gemm(const device::GemmArgs& g) override { return d_->gemm(g); }
  Status synchronize() override { return d_->synchronize(); }

private:
  std::unique_ptr<device::Device> d_ = device::makeEmulatedDevice();
};

TEST(DeviceExecutor, WithoutEpiloguesTheGemmAndTheKernelRunApart) {
  CAIRN_REQUIRE_EMULATOR();
  auto m = parseOk(kLinear);
  ASSERT_TRUE(m);
  auto exe = codegen::cuda::compileForDevice(*m, std::make_shared<NoEpilogueDevice>());
  ASSERT_TRUE(exe.isOk()) << exe.status().message();
  for (const char* fn : {"relu", "dynamic", "matrix"}) {
    SCOPED_TRACE(fn);
    device::DeviceContext ctx;
    expectDeviceMatches(*m, **exe, fn, inputsOf(*m, fn), 1e-5, &ctx);
    EXPECT_EQ(ctx.stats().gemmEpilogues, 0);
    EXPECT_EQ(ctx.stats().gemmCalls, 1);
    EXPECT_EQ(ctx.stats().kernelLaunches, 1);
  }
}

// What does not fit an epilogue: tanh (no such epilogue), a bias along the
// rows' axis, a product read again after the kernel, a batched product, f64,
// a bias broadcast to a size made after the product (not provably its own),
// a scale instead of a bias. Each runs as the GEMM
// and a kernel.
constexpr const char* kNotFused = R"(
func @tanh(%x: tensor<6x8xf32>, %w: tensor<8x5xf32>, %b: tensor<5xf32>) -> (tensor<6x5xf32>) {
  %y = dot %x, %w : tensor<6x5xf32>
  %bb = broadcast %b {dims = [1]} : tensor<6x5xf32>
  %z = add %y, %bb : tensor<6x5xf32>
  %r = tanh %z : tensor<6x5xf32>
  return %r
}
func @rows(%x: tensor<6x8xf32>, %w: tensor<8x5xf32>, %b: tensor<6xf32>) -> (tensor<6x5xf32>) {
  %y = dot %x, %w : tensor<6x5xf32>
  %bb = broadcast %b {dims = [0]} : tensor<6x5xf32>
  %z = add %y, %bb : tensor<6x5xf32>
  %r = relu %z : tensor<6x5xf32>
  return %r
}
func @reused(%x: tensor<6x8xf32>, %w: tensor<8x5xf32>, %b: tensor<5xf32>) -> (tensor<6x5xf32>, tensor<6x5xf32>) {
  %y = dot %x, %w : tensor<6x5xf32>
  %bb = broadcast %b {dims = [1]} : tensor<6x5xf32>
  %z = add %y, %bb : tensor<6x5xf32>
  return %z, %y
}
func @batched(%x: tensor<2x6x8xf32>, %w: tensor<2x8x5xf32>, %b: tensor<5xf32>) -> (tensor<2x6x5xf32>) {
  %y = dot %x, %w {lhs_batch = [0], rhs_batch = [0], lhs_contract = [2], rhs_contract = [1]} : tensor<2x6x5xf32>
  %bb = broadcast %b {dims = [2]} : tensor<2x6x5xf32>
  %z = add %y, %bb : tensor<2x6x5xf32>
  return %z
}
func @f64(%x: tensor<6x8xf64>, %w: tensor<8x5xf64>, %b: tensor<5xf64>) -> (tensor<6x5xf64>) {
  %y = dot %x, %w : tensor<6x5xf64>
  %bb = broadcast %b {dims = [1]} : tensor<6x5xf64>
  %z = add %y, %bb : tensor<6x5xf64>
  return %z
}
func @dimafter(%x: tensor<?x8xf32>, %w: tensor<8x5xf32>, %b: tensor<5xf32>) -> (tensor<?x5xf32>) {
  %y = dot %x, %w : tensor<?x5xf32>
  %n = dim %x {axis = 0} : tensor<i64>
  %bb = broadcast %b, %n {dims = [1]} : tensor<?x5xf32>
  %z = add %y, %bb : tensor<?x5xf32>
  return %z
}
func @scale(%x: tensor<6x8xf32>, %w: tensor<8x5xf32>, %b: tensor<5xf32>) -> (tensor<6x5xf32>) {
  %y = dot %x, %w : tensor<6x5xf32>
  %bb = broadcast %b {dims = [1]} : tensor<6x5xf32>
  %z = mul %y, %bb : tensor<6x5xf32>
  return %z
}
)";

TEST(DeviceExecutor, GemmEpilogueIsNotTakenWhereItDoesNotFit) {
  CAIRN_REQUIRE_EMULATOR();
  auto m = parseOk(kNotFused);
  ASSERT_TRUE(m);
  auto exe = compileForDeviceOk(*m);
  ASSERT_TRUE(exe);
  for (const char* fn : {"tanh", "rows", "reused", "batched", "f64", "dimafter", "scale"}) {
    SCOPED_TRACE(fn);
    device::DeviceContext ctx;
    expectDeviceMatches(*m, *exe, fn, inputsOf(*m, fn), 1e-5, &ctx);
    EXPECT_EQ(ctx.stats().gemmEpilogues, 0);
    EXPECT_EQ(ctx.stats().gemmCalls, 1);
    EXPECT_GE(ctx.stats().kernelLaunches, 1);
  }
}

// A Linear+relu inside a loop recorded as a device graph: licm hoists the
// bias's broadcast out of the loop, so the body adds a matrix (the matrix
// form); the epilogue is recorded with the rest and replays each launch.
constexpr const char* kLoop = R"(
func @f(%h0: tensor<4x8xf32>, %w: tensor<8x8xf32>, %b: tensor<8xf32>, %n: tensor<i64>) -> (tensor<4x8xf32>) {
  %zero = constant 0 : tensor<i64>
  %one = constant 1 : tensor<i64>
  %r:2 = while (%i = %zero, %h = %h0) : (tensor<i64>, tensor<4x8xf32>) cond {
    %c = lt %i, %n : tensor<i1>
    yield %c
  } body {
    %hw = dot %h, %w : tensor<4x8xf32>
    %bb = broadcast %b {dims = [1]} : tensor<4x8xf32>
    %z = add %hw, %bb : tensor<4x8xf32>
    %t = relu %z : tensor<4x8xf32>
    %j = add %i, %one : tensor<i64>
    yield %j, %t
  }
  return %r#1
}
)";

TEST(DeviceExecutor, GemmEpilogueInARecordedLoop) {
  CAIRN_REQUIRE_EMULATOR();
  auto m = parseOk(kLoop);
  ASSERT_TRUE(m);
  auto exe = compileForDeviceOk(*m);
  ASSERT_TRUE(exe);
  std::vector<Tensor> in = inputsOf(*m, "f");
  for (int64_t i = 0; i < in[1].numElements(); ++i)
    in[1].setDouble(i, in[1].getDouble(i) * 0.3);
  device::DeviceContext ctx;
  for (double trips : {5.0, 3.0}) {
    in[3] = Tensor::scalar(DType::I64, trips);
    expectDeviceMatches(*m, *exe, "f", in, 1e-5, &ctx);
  }
  const device::DeviceStats& s = ctx.stats();
  if (exe->device().supportsLoopGraphs()) {
    EXPECT_EQ(s.loopRecordings, 1);
    EXPECT_EQ(s.graphLaunches, 2);
    EXPECT_EQ(s.gemmEpilogues, 1) << "recorded once";
  } else {
    EXPECT_EQ(s.gemmEpilogues, 8);
  }
  EXPECT_EQ(s.hostOps, 0);
}

// The recognition itself, on the programs: one epilogue per Linear above,
// none in the cases that do not fit.
TEST(DeviceExecutor, GemmEpiloguePlan) {
  CAIRN_REQUIRE_EMULATOR();
  for (auto [text, want] : {std::pair{kLinear, size_t{7}}, std::pair{kNotFused, size_t{0}}}) {
    auto m = parseOk(text);
    ASSERT_TRUE(m);
    codegen::cuda::DeviceCompileReport r;
    auto lowered = codegen::cuda::lowerForDevice(*m, {}, r);
    ASSERT_TRUE(lowered.isOk()) << lowered.status().message();
    EXPECT_EQ(device::planGemmEpilogues(lowered->programs).size(), want);
  }
}

// The boundary copies go through the context's staging buffer: made on the
// first run, reused by the next ones of the same size, grown once for larger
// values; results left on the device are not staged.
constexpr const char* kStaging = R"(
func @small(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>) {
  %y = tanh %x : tensor<4x8xf32>
  return %y
}
func @large(%x: tensor<256x128xf32>) -> (tensor<256x128xf32>) {
  %y = tanh %x : tensor<256x128xf32>
  return %y
}
)";

TEST(DeviceExecutor, BoundaryCopiesGoThroughOneReusedStagingBuffer) {
  CAIRN_REQUIRE_EMULATOR();
  auto m = parseOk(kStaging);
  ASSERT_TRUE(m);
  auto exe = compileForDeviceOk(*m);
  ASSERT_TRUE(exe);
  device::DeviceContext ctx;
  std::vector<Tensor> small = inputsOf(*m, "small");
  expectDeviceMatches(*m, *exe, "small", small, 1e-5, &ctx);
  EXPECT_EQ(ctx.stats().stagingAllocations, 1);
  EXPECT_EQ(ctx.stats().stagedBytes, 2 * 4 * 8 * 4);
  expectDeviceMatches(*m, *exe, "small", small, 1e-5, &ctx);
  EXPECT_EQ(ctx.stats().stagingAllocations, 1) << "the second run reuses the buffer";
  EXPECT_EQ(ctx.stats().stagedBytes, 4 * 4 * 8 * 4);
  EXPECT_EQ(ctx.stats().bytesToDevice + ctx.stats().bytesToHost, ctx.stats().stagedBytes)
      << "every boundary copy was staged";
  // 128 KiB each way: the 64 KiB buffer grows once, then serves again.
  std::vector<Tensor> large = inputsOf(*m, "large");
  expectDeviceMatches(*m, *exe, "large", large, 1e-5, &ctx);
  expectDeviceMatches(*m, *exe, "large", large, 1e-5, &ctx);
  expectDeviceMatches(*m, *exe, "small", small, 1e-5, &ctx);
  EXPECT_EQ(ctx.stats().stagingAllocations, 2);
  EXPECT_EQ(ctx.stats().stagedBytes, 4 * 4 * 8 * 4 + 4 * 256 * 128 * 4 + 2 * 4 * 8 * 4);
  // Results kept on the device: only the argument is staged.
  ctx.resetStats();
  auto kept = exe->runOnDevice("small", {small[0]}, ctx);
  ASSERT_TRUE(kept.isOk()) << kept.status().message();
  EXPECT_EQ(ctx.stats().stagedBytes, 4 * 8 * 4);
  EXPECT_EQ(ctx.stats().stagingAllocations, 0);
  auto back = (*kept)[0].download();
  ASSERT_TRUE(back.isOk()) << back.status().message();
  auto want = interpret(*m, "small", small);
  ASSERT_TRUE(want.isOk());
  EXPECT_LE(relDiff(*back, (*want)[0]), 1e-5);
  // A run after it writes the buffer again (waiting for the staged upload).
  expectDeviceMatches(*m, *exe, "small", small, 1e-5, &ctx);
  EXPECT_EQ(ctx.stats().stagingAllocations, 0);
}

} // namespace
} // namespace cairn::exectest
