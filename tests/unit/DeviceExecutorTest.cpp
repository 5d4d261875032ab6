// The CUDA backend's executor (runtime/device/DeviceExecutable.h) on the
// emulated device against the reference interpreter: every op's worked
// example (ir/OpExamples.def) with and without the optimize pipeline, loops
// and branches decided on the host, errors that name the op, and the
// counters that say what ran where. Training steps and the golden models on
// the device are in ExecTrainingTest and ExecModelsTest.
#include "DeviceTestUtil.h"
#include "frontend/Builder.h"
#include "ir/OpKind.h"
#include "runtime/device/OpenDevice.h"

namespace cairn::exectest {
namespace {

/// Loops recorded as device graphs, or decided by the host each iteration.
device::DeviceRunOptions loops(bool graphs) {
  device::DeviceRunOptions o;
  o.loopGraphs = graphs;
  return o;
}

class DeviceOpExamples : public ::testing::TestWithParam<size_t> {};

TEST_P(DeviceOpExamples, EmulatedDeviceMatchesInterpreter) {
  CAIRN_REQUIRE_EMULATOR();
  const OpExample& ex = kOpExamples[GetParam()];
  auto m = parseOk(std::string(ex.text));
  ASSERT_TRUE(m);
  const Function& f = *m->functions().front();
  std::vector<Tensor> inputs;
  int salt = 0;
  for (const TensorType& t : f.argumentTypes())
    inputs.push_back(inputOf(t, salt++));
  for (bool optimize : {false, true}) {
    codegen::cuda::DeviceCompileOptions o;
    if (!optimize) o.passes = std::vector<std::string>{};
    auto exe = compileForDeviceOk(*m, o);
    ASSERT_TRUE(exe);
    SCOPED_TRACE(optimize ? "optimize" : "no passes");
    expectDeviceMatches(*m, *exe, f.name, inputs);
  }
}

INSTANTIATE_TEST_SUITE_P(AllOps, DeviceOpExamples,
                         ::testing::Range(size_t{0}, std::size(kOpExamples)),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           return std::string(opName(kOpExamples[info.param].kind));
                         });

// A loop whose body is a kernel and a GEMM: the values stay on the device,
// the host reads one byte per iteration.
constexpr const char* kLoop = R"(
func @f(%h0: tensor<4x8xf32>, %w: tensor<8x8xf32>, %n: tensor<i64>) -> (tensor<4x8xf32>) {
  %zero = constant 0 : tensor<i64>
  %one = constant 1 : tensor<i64>
  %r:2 = while (%i = %zero, %h = %h0) : (tensor<i64>, tensor<4x8xf32>) cond {
    %c = lt %i, %n : tensor<i1>
    yield %c
  } body {
    %hw = dot %h, %w : tensor<4x8xf32>
    %t = tanh %hw : tensor<4x8xf32>
    %j = add %i, %one : tensor<i64>
    yield %j, %t
  }
  return %r#1
}
)";

TEST(DeviceExecutor, LoopOfKernelsAndGemmsStaysOnTheDevice) {
  CAIRN_REQUIRE_EMULATOR();
  auto m = parseOk(kLoop);
  ASSERT_TRUE(m);
  codegen::cuda::DeviceCompileReport report;
  auto exe = compileForDeviceOk(*m, {}, &report);
  ASSERT_TRUE(exe);
  EXPECT_GT(report.kernels, 0);
  EXPECT_GT(report.gemms, 0);
  std::vector<Tensor> in = {inputOf(TensorType(DType::F32, {4, 8}), 1),
                            inputOf(TensorType(DType::F32, {8, 8}), 2),
                            Tensor::scalar(DType::I64, 5.0)};
  for (size_t k = 0; k < 2; ++k)
    for (int64_t i = 0; i < in[k].numElements(); ++i)
      in[k].setDouble(i, in[k].getDouble(i) * 0.3);
  device::DeviceContext ctx;
  expectDeviceMatches(*m, *exe, "f", in, 1e-5, &ctx, loops(false));
  const device::DeviceStats& s = ctx.stats();
  EXPECT_EQ(s.whileIterations, 5);
  EXPECT_EQ(s.conditionReads, 6); // five trips and the exit
  EXPECT_EQ(s.gemmCalls, 5);
  EXPECT_GE(s.kernelLaunches, 5);
  EXPECT_EQ(s.hostOps, 0) << "everything in this loop has a device form";
  EXPECT_EQ(s.graphLaunches, 0);
  // Inputs go up once, the result comes down once, plus the conditions.
  EXPECT_EQ(s.bytesToHost, 4 * 8 * 4 + 6);
}

// The same loop recorded as a device graph: recorded once (one GEMM and the
// kernels issued once), launched once per run, no host decision; the trip
// count is the one read back.
TEST(DeviceExecutor, LoopRecordedAsAGraphRunsWithoutHostDecisions) {
  CAIRN_REQUIRE_EMULATOR();
  auto m = parseOk(kLoop);
  ASSERT_TRUE(m);
  auto exe = compileForDeviceOk(*m);
  ASSERT_TRUE(exe);
  auto inputs = [](uint64_t salt, double n) {
    std::vector<Tensor> in = {inputOf(TensorType(DType::F32, {4, 8}), salt),
                              inputOf(TensorType(DType::F32, {8, 8}), salt + 1),
                              Tensor::scalar(DType::I64, n)};
    for (size_t k = 0; k < 2; ++k)
      for (int64_t i = 0; i < in[k].numElements(); ++i)
        in[k].setDouble(i, in[k].getDouble(i) * 0.3);
    return in;
  };
  device::DeviceContext ctx;
  expectDeviceMatches(*m, *exe, "f", inputs(1, 5), 1e-5, &ctx);
  {
    const device::DeviceStats& s = ctx.stats();
    EXPECT_EQ(s.loopRecordings, 1);
    EXPECT_EQ(s.graphLaunches, 1);
    EXPECT_EQ(s.whileIterations, 5);
    EXPECT_EQ(s.conditionReads, 0);
    EXPECT_EQ(s.gemmCalls, 1) << "the body's GEMM is recorded once";
    EXPECT_TRUE(s.hostLoops.empty());
    EXPECT_EQ(s.bytesToHost, 4 * 8 * 4 + 16); // the result and the trip count
  }
  // Other inputs (other buffers, another trip count): the same recording,
  // the new values copied into the buffers it reads.
  expectDeviceMatches(*m, *exe, "f", inputs(7, 3), 1e-5, &ctx);
  expectDeviceMatches(*m, *exe, "f", inputs(9, 0), 1e-5, &ctx);
  EXPECT_EQ(ctx.stats().loopRecordings, 1);
  EXPECT_EQ(ctx.stats().graphLaunches, 3);
  EXPECT_EQ(ctx.stats().whileIterations, 5 + 3 + 0);
  EXPECT_EQ(ctx.stats().conditionReads, 0);
}

// A loop with an op that has no device form inside stays host-synchronized,
// and says why.
TEST(DeviceExecutor, LoopThatNeedsTheHostIsNotRecorded) {
  CAIRN_REQUIRE_EMULATOR();
  auto m = parseOk(R"(
func @f(%h0: tensor<4x4xf32>, %n: tensor<i64>) -> (tensor<4x4xf32>) {
  %zero = constant 0 : tensor<i64>
  %one = constant 1 : tensor<i64>
  %two = constant 2 : tensor<i64>
  %r:2 = while (%i = %zero, %h = %h0) : (tensor<i64>, tensor<4x4xf32>) cond {
    %c = lt %i, %n : tensor<i1>
    yield %c
  } body {
    %t = tanh %h : tensor<4x4xf32>
    %j = add %i, %one : tensor<i64>
    %d = mul %j, %two : tensor<i64>
    %k = div %d, %two : tensor<i64>
    yield %k, %t
  }
  return %r#1
}
)");
  ASSERT_TRUE(m);
  auto exe = compileForDeviceOk(*m);
  ASSERT_TRUE(exe);
  device::DeviceContext ctx;
  std::vector<Tensor> in = {inputOf(TensorType(DType::F32, {4, 4}), 1),
                            Tensor::scalar(DType::I64, 3)};
  expectDeviceMatches(*m, *exe, "f", in, 1e-5, &ctx);
  expectDeviceMatches(*m, *exe, "f", in, 1e-5, &ctx);
  const device::DeviceStats& s = ctx.stats();
  EXPECT_EQ(s.loopRecordings, 0);
  EXPECT_EQ(s.graphLaunches, 0);
  EXPECT_EQ(s.conditionReads, 2 * 4);
  ASSERT_EQ(s.hostLoops.size(), 1u);
  EXPECT_EQ(s.hostLoops.begin()->first, "'div' runs on the host"); // integer div: no kernel yet
  EXPECT_EQ(s.hostLoops.begin()->second, 1) << "tried once per context";
}

// A loop nested in another: the outer one needs the host (the inner loop's
// launch and trip count), the inner one is recorded and launched on every
// outer trip; an `if` inside a loop is recorded with it (two IF nodes); a
// body that yields one carried value as another keeps its loop on the host
// (a swap: copying the yields into the carried buffers one by one would
// clobber one of them).
TEST(DeviceExecutor, NestedLoopsBranchesAndSwapsInRecordedLoops) {
  CAIRN_REQUIRE_EMULATOR();
  auto m = parseOk(R"(
func @nested(%x0: tensor<3xf32>, %n: tensor<i64>) -> (tensor<3xf32>) {
  %zero = constant 0 : tensor<i64>
  %one = constant 1 : tensor<i64>
  %r:2 = while (%i = %zero, %x = %x0) : (tensor<i64>, tensor<3xf32>) cond {
    %c = lt %i, %n : tensor<i1>
    yield %c
  } body {
    %s:2 = while (%j = %zero, %y = %x) : (tensor<i64>, tensor<3xf32>) cond {
      %d = lt %j, %i : tensor<i1>
      yield %d
    } body {
      %y2 = mul %y, %y : tensor<3xf32>
      %h = tanh %y2 : tensor<3xf32>
      %j2 = add %j, %one : tensor<i64>
      yield %j2, %h
    }
    %i2 = add %i, %one : tensor<i64>
    yield %i2, %s#1
  }
  return %r#1
}
func @branchy(%x0: tensor<3xf32>, %n: tensor<i64>) -> (tensor<3xf32>) {
  %zero = constant 0 : tensor<i64>
  %one = constant 1 : tensor<i64>
  %two = constant 2 : tensor<i64>
  %r:2 = while (%i = %zero, %x = %x0) : (tensor<i64>, tensor<3xf32>) cond {
    %c = lt %i, %n : tensor<i1>
    yield %c
  } body {
    %p = lt %i, %two : tensor<i1>
    %y = if %p -> (tensor<3xf32>) {
      %t = tanh %x : tensor<3xf32>
      yield %t
    } else {
      %u = neg %x : tensor<3xf32>
      yield %u
    }
    %i2 = add %i, %one : tensor<i64>
    yield %i2, %y
  }
  return %r#1
}
func @swap(%a0: tensor<3xf32>, %b0: tensor<3xf32>, %n: tensor<i64>) -> (tensor<3xf32>, tensor<3xf32>) {
  %zero = constant 0 : tensor<i64>
  %one = constant 1 : tensor<i64>
  %r:3 = while (%i = %zero, %a = %a0, %b = %b0) : (tensor<i64>, tensor<3xf32>, tensor<3xf32>) cond {
    %c = lt %i, %n : tensor<i1>
    yield %c
  } body {
    %i2 = add %i, %one : tensor<i64>
    %a2 = add %a, %a : tensor<3xf32>
    yield %i2, %b, %a2
  }
  return %r#1, %r#2
}
)");
  ASSERT_TRUE(m);
  auto exe = compileForDeviceOk(*m);
  ASSERT_TRUE(exe);
  Tensor x = inputOf(TensorType(DType::F32, {3}), 4);
  {
    device::DeviceContext ctx;
    expectDeviceMatches(*m, *exe, "nested", {x, Tensor::scalar(DType::I64, 4)}, 1e-5, &ctx);
    const device::DeviceStats& s = ctx.stats();
    // The inner loop reads the outer counter %i, which the host knows (size
    // arithmetic on the host): each value is baked into its own recording.
    EXPECT_EQ(s.loopRecordings, 4) << "the inner loop, once per value of %i";
    EXPECT_EQ(s.graphLaunches, 4) << "once per outer trip";
    EXPECT_EQ(s.whileIterations, 4 + (0 + 1 + 2 + 3));
    ASSERT_EQ(s.hostLoops.size(), 1u);
    EXPECT_EQ(s.hostLoops.begin()->first, "a loop inside the loop");
  }
  {
    // 40 values of %i: recorded 32 times, then host-synchronized.
    device::DeviceContext ctx;
    expectDeviceMatches(*m, *exe, "nested", {x, Tensor::scalar(DType::I64, 40)}, 1e-5, &ctx);
    EXPECT_EQ(ctx.stats().loopRecordings, 32);
    EXPECT_EQ(ctx.stats().hostLoops.count(
                  "recorded too often: its sizes or host-known values keep changing"),
              1u);
  }
  {
    device::DeviceContext ctx;
    // Both branches run (i < 2: tanh; then neg), from one recording.
    for (double n : {4.0, 1.0, 0.0, 6.0})
      expectDeviceMatches(*m, *exe, "branchy", {x, Tensor::scalar(DType::I64, n)}, 1e-5, &ctx);
    const device::DeviceStats& s = ctx.stats();
    EXPECT_EQ(s.loopRecordings, 1);
    EXPECT_EQ(s.recordedIfs, 1);
    EXPECT_EQ(s.graphLaunches, 4);
    EXPECT_EQ(s.conditionReads, 0);
    EXPECT_TRUE(s.hostLoops.empty()) << s.hostLoops.begin()->first;
  }
  {
    device::DeviceContext ctx;
    Tensor y = inputOf(TensorType(DType::F32, {3}), 5);
    for (double n : {0.0, 1.0, 2.0, 5.0})
      expectDeviceMatches(*m, *exe, "swap", {x, y, Tensor::scalar(DType::I64, n)}, 0, &ctx);
    EXPECT_EQ(ctx.stats().loopRecordings, 0);
    ASSERT_EQ(ctx.stats().hostLoops.size(), 1u);
    EXPECT_EQ(ctx.stats().hostLoops.begin()->first, "the body yields one carried value as another");
  }
}

// `if`s in a recorded loop: a branch that updates a carried stack in place
// while the other yields it as it is, a nested `if`, a branch with a GEMM,
// and an `if` whose branches yield different shapes (that loop stays on the
// host, saying why). Every answer against the interpreter, over trip counts
// that take every path, with and without recorded loops.
TEST(DeviceExecutor, BranchesInRecordedLoopsAreIfNodes) {
  CAIRN_REQUIRE_EMULATOR();
  auto m = parseOk(R"(
func @stack(%s0: tensor<4x3xf32>, %v: tensor<1x3xf32>, %w: tensor<3x3xf32>, %n: tensor<i32>) -> (tensor<4x3xf32>) {
  %zero = constant 0 : tensor<i32>
  %one = constant 1 : tensor<i32>
  %two = constant 2 : tensor<i32>
  %three = constant 3 : tensor<i32>
  %r:2 = while (%i = %zero, %s = %s0) : (tensor<i32>, tensor<4x3xf32>) cond {
    %c = lt %i, %n : tensor<i1>
    yield %c
  } body {
    %p = lt %i, %three : tensor<i1>
    %s2 = if %p -> (tensor<4x3xf32>) {
      %q = lt %i, %one : tensor<i1>
      %u = if %q -> (tensor<1x3xf32>) {
        yield %v
      } else {
        %vw = dot %v, %w : tensor<1x3xf32>
        %t = tanh %vw : tensor<1x3xf32>
        yield %t
      }
      %upd = dynamic_update_slice %s, %u, %i, %zero : tensor<4x3xf32>
      yield %upd
    } else {
      %neg = neg %s : tensor<4x3xf32>
      yield %neg
    }
    %i2 = add %i, %one : tensor<i32>
    yield %i2, %s2
  }
  return %r#1
}
func @shapes(%x: tensor<4xf32>, %a: tensor<2xf32>, %n: tensor<i64>) -> (tensor<i64>) {
  %zero = constant 0 : tensor<i64>
  %one = constant 1 : tensor<i64>
  %two = constant 2 : tensor<i64>
  %r:2 = while (%i = %zero, %acc = %zero) : (tensor<i64>, tensor<i64>) cond {
    %c = lt %i, %n : tensor<i1>
    yield %c
  } body {
    %p = lt %i, %two : tensor<i1>
    %y = if %p -> (tensor<?xf32>) {
      %ad = reshape %a, %two : tensor<?xf32>
      yield %ad
    } else {
      %four = constant 4 : tensor<i64>
      %xd = reshape %x, %four : tensor<?xf32>
      yield %xd
    }
    %d = dim %y {axis = 0} : tensor<i64>
    %acc2 = add %acc, %d : tensor<i64>
    %i2 = add %i, %one : tensor<i64>
    yield %i2, %acc2
  }
  return %r#1
}
)");
  ASSERT_TRUE(m);
  auto exe = compileForDeviceOk(*m);
  ASSERT_TRUE(exe);
  Tensor s0 = inputOf(TensorType(DType::F32, {4, 3}), 1);
  Tensor v = inputOf(TensorType(DType::F32, {1, 3}), 2);
  Tensor w = inputOf(TensorType(DType::F32, {3, 3}), 3);
  for (bool graphs : {true, false}) {
    SCOPED_TRACE(graphs ? "recorded" : "host-synchronized");
    device::DeviceRunOptions o;
    o.loopGraphs = graphs;
    device::DeviceContext ctx;
    for (double n : {0.0, 1.0, 2.0, 3.0, 4.0, 3.0, 1.0})
      expectDeviceMatches(*m, *exe, "stack", {s0, v, w, Tensor::scalar(DType::I32, n)}, 1e-5,
                          &ctx, o);
    const device::DeviceStats& s = ctx.stats();
    if (graphs) {
      EXPECT_EQ(s.loopRecordings, 1);
      EXPECT_EQ(s.recordedIfs, 2) << "the outer `if` and the nested one";
      EXPECT_EQ(s.conditionReads, 0);
      EXPECT_TRUE(s.hostLoops.empty()) << s.hostLoops.begin()->first;
    } else {
      EXPECT_EQ(s.recordedIfs, 0);
      EXPECT_GT(s.conditionReads, 0);
    }
  }
  device::DeviceContext ctx;
  for (double n : {1.0, 4.0})
    expectDeviceMatches(*m, *exe, "shapes", {inputOf(TensorType(DType::F32, {4}), 1),
                                             inputOf(TensorType(DType::F32, {2}), 2),
                                             Tensor::scalar(DType::I64, n)},
                        0, &ctx);
  EXPECT_EQ(ctx.stats().loopRecordings, 0);
  ASSERT_EQ(ctx.stats().hostLoops.size(), 1u);
  EXPECT_EQ(ctx.stats().hostLoops.begin()->first,
            "the branches of an `if` yield #0 of different shapes");
}

// A loop with no trip bound in a run that has a deadline stays on the host,
// which checks the deadline between iterations.
TEST(DeviceExecutor, UnboundedLoopUnderADeadlineIsHostSynchronized) {
  CAIRN_REQUIRE_EMULATOR();
  auto m = parseOk(kLoop);
  ASSERT_TRUE(m);
  auto exe = compileForDeviceOk(*m);
  ASSERT_TRUE(exe);
  device::DeviceRunOptions o;
  o.limits.deadline = RunLimits::Clock::now() + std::chrono::hours(1);
  device::DeviceContext ctx;
  std::vector<Tensor> in = {inputOf(TensorType(DType::F32, {4, 8}), 1),
                            inputOf(TensorType(DType::F32, {8, 8}), 2),
                            Tensor::scalar(DType::I64, 2.0)};
  expectDeviceMatches(*m, *exe, "f", in, 1e-4, &ctx, o);
  EXPECT_EQ(ctx.stats().graphLaunches, 0);
  EXPECT_EQ(ctx.stats().conditionReads, 3);
}

TEST(DeviceExecutor, ErrorsNameTheOp) {
  CAIRN_REQUIRE_EMULATOR();
  auto m = parseOk(R"(
func @f(%h0: tensor<4x8xf32>, %w: tensor<8x8xf32>, %n: tensor<i64>) -> (tensor<4x8xf32>) {
  %zero = constant 0 : tensor<i64>
  %one = constant 1 : tensor<i64>
  %max = constant 3 : tensor<i64>
  %r:2 = while (%i = %zero, %h = %h0) : (tensor<i64>, tensor<4x8xf32>) max_trip %max cond {
    %c = lt %i, %n : tensor<i1>
    yield %c
  } body {
    %hw = dot %h, %w : tensor<4x8xf32>
    %j = add %i, %one : tensor<i64>
    yield %j, %hw
  }
  return %r#1
}
)");
  ASSERT_TRUE(m);
  auto exe = compileForDeviceOk(*m);
  ASSERT_TRUE(exe);
  Tensor h(TensorType(DType::F32, {4, 8})), w(TensorType(DType::F32, {8, 8}));
  auto past = exe->run("f", {h, w, Tensor::scalar(DType::I64, 10.0)});
  ASSERT_FALSE(past.isOk());
  EXPECT_NE(past.status().message().find("exceeded its max trip count 3"), std::string::npos)
      << past.status().message();
  EXPECT_NE(past.status().message().find("'while' op"), std::string::npos);
  auto badShape =
      exe->run("f", {Tensor(TensorType(DType::F32, {5, 8})), w, Tensor::scalar(DType::I64, 1.0)});
  ASSERT_FALSE(badShape.isOk());
  EXPECT_NE(badShape.status().message().find("argument #0"), std::string::npos)
      << badShape.status().message();
  EXPECT_FALSE(exe->run("nope", {}).isOk());
  auto fine = exe->run("f", {h, w, Tensor::scalar(DType::I64, 2.0)});
  EXPECT_TRUE(fine.isOk()) << fine.status().message();
}

TEST(DeviceExecutor, PtxOfAProgramForEveryArchitecture) {
  CAIRN_REQUIRE_EMULATOR();
  auto m = parseOk(kLoop);
  ASSERT_TRUE(m);
  codegen::cuda::DeviceCompileOptions o;
  o.alwaysEmitPtx = true;
  codegen::cuda::DeviceCompileReport report;
  auto exe = compileForDeviceOk(*m, o, &report);
  ASSERT_TRUE(exe);
  ASSERT_EQ(report.ptx.size(), 2u);
  EXPECT_EQ(report.ptx[0].first, "sm_80");
  EXPECT_NE(report.ptx[1].second.find(".target sm_90"), std::string::npos);
  EXPECT_NE(report.ptx[0].second.find(".visible .entry cairn_kernel_0("), std::string::npos);
}

} // namespace
} // namespace cairn::exectest

namespace cairn::exectest {
namespace {

// Without a GPU (CI, this machine) the real device layer says why and Auto
// falls back to the emulator; with one, both open the GPU.
TEST(DeviceExecutor, OpenDeviceFallsBackToTheEmulatorWithAReason) {
  auto gpu = device::openCudaDevice(0);
  std::string note;
  auto any = device::openDevice(device::DeviceChoice::Auto, &note);
  ASSERT_TRUE(any.isOk()) << any.status().message();
  if (gpu.isOk()) {
    EXPECT_FALSE((*any)->isEmulated());
    GTEST_SKIP() << "a GPU is present: " << (*gpu)->name();
  }
  EXPECT_FALSE(gpu.status().message().empty());
  EXPECT_TRUE((*any)->isEmulated());
  EXPECT_NE(note.find("using the emulated device"), std::string::npos) << note;
  auto strict = device::openDevice(device::DeviceChoice::Gpu);
  EXPECT_FALSE(strict.isOk());
  EXPECT_TRUE(device::openDevice(device::DeviceChoice::Emulated).isOk());
  EXPECT_FALSE(device::parseDeviceChoice("tpu").isOk());
}

} // namespace
} // namespace cairn::exectest

namespace cairn::exectest {
namespace {

// A thin-stack-like loop: gather rows by index, scatter_add them back and
// overwrite one row, all on the device; the scatter's operand dies there,
// so it is updated in place.
constexpr const char* kRows = R"(
func @f(%x: tensor<6x5xf32>, %idx: tensor<4xi32>, %n: tensor<i64>) -> (tensor<6x5xf32>, tensor<4x5xf32>) {
  %zero = constant 0 : tensor<i64>
  %one = constant 1 : tensor<i64>
  %r:2 = while (%i = %zero, %s = %x) : (tensor<i64>, tensor<6x5xf32>) cond {
    %c = lt %i, %n : tensor<i1>
    yield %c
  } body {
    %g = gather %s, %idx {axis = 0} : tensor<4x5xf32>
    %h = tanh %g : tensor<4x5xf32>
    %t = scatter_add %s, %idx, %h {axis = 0} : tensor<6x5xf32>
    %u = scatter %t, %idx, %g {axis = 0} : tensor<6x5xf32>
    %j = add %i, %one : tensor<i64>
    yield %j, %u
  }
  %last = gather %r#1, %idx {axis = 0} : tensor<4x5xf32>
  return %r#1, %last
}
)";

TEST(DeviceExecutor, GathersAndScattersRunOnTheDevice) {
  CAIRN_REQUIRE_EMULATOR();
  auto m = parseOk(kRows);
  ASSERT_TRUE(m);
  auto exe = compileForDeviceOk(*m);
  ASSERT_TRUE(exe);
  // Index 4 twice: scatter_add accumulates both rows.
  Tensor idx = Tensor::fromInts(TensorType(DType::I32, {4}), {4, 0, 2, 5});
  Tensor x = inputOf(TensorType(DType::F32, {6, 5}), 3);
  for (bool graphs : {false, true}) {
    SCOPED_TRACE(graphs ? "recorded loop" : "host-synchronized loop");
    device::DeviceContext ctx;
    expectDeviceMatches(*m, *exe, "f", {x, idx, Tensor::scalar(DType::I64, 3.0)}, 1e-5, &ctx,
                        loops(graphs));
    const device::DeviceStats& s = ctx.stats();
    // Recorded, the body's three row launches are issued once.
    EXPECT_EQ(s.rowLaunches, graphs ? 3 + 1 : 3 * 3 + 1);
    EXPECT_EQ(s.hostOps, 0);
    EXPECT_GE(s.inPlaceUpdates, graphs ? 1 : 3) << "the scatter of the dying scatter_add result";

    // An index out of range is skipped on the device, and the run fails
    // naming the op at the next synchronization (a recorded loop's: after it).
    Tensor bad = Tensor::fromInts(TensorType(DType::I32, {4}), {4, 0, 9, 5});
    auto r = exe->run("f", {x, bad, Tensor::scalar(DType::I64, 3.0)}, ctx, loops(graphs));
    ASSERT_FALSE(r.isOk());
    EXPECT_NE(r.status().message().find("index 9 is out of range"), std::string::npos)
        << r.status().message();
    EXPECT_NE(r.status().message().find("'gather' op"), std::string::npos) << r.status().message();
    // The context is usable again after the error.
    expectDeviceMatches(*m, *exe, "f", {x, idx, Tensor::scalar(DType::I64, 2.0)}, 1e-5, &ctx,
                        loops(graphs));
  }
}

TEST(DeviceExecutor, RowKernelsAssembleForEveryArchitecture) {
  for (const std::string& arch : codegen::cuda::defaultArchitectures()) {
    auto ptx = codegen::cuda::emitRowKernelsPtx(arch);
    ASSERT_TRUE(ptx.isOk()) << ptx.status().message();
    for (const device::RowKernelDesc& k : device::allRowKernels())
      EXPECT_NE(ptx->find(".entry " + device::rowKernelName(k) + "("), std::string::npos)
          << device::rowKernelName(k);
    EXPECT_NE(ptx->find("atom.global.add.f32"), std::string::npos) << "scatter_add's atomics";
    EXPECT_TRUE(cudatest::assemblesWithPtxas(*ptx, arch));
  }
  if (!cudatest::havePtxas()) GTEST_SKIP() << cudatest::kNoPtxas;
}

TEST(DeviceExecutor, RowKernelChoice) {
  device::RowKernelDesc k;
  ASSERT_TRUE(device::rowKernelFor(device::RowKernelKind::Gather, DType::F32, DType::I64, &k));
  EXPECT_EQ(device::rowKernelName(k), "cairn_rows_gather_b4_i64");
  ASSERT_TRUE(device::rowKernelFor(device::RowKernelKind::ScatterAdd, DType::F64, DType::I32, &k));
  EXPECT_EQ(device::rowKernelName(k), "cairn_rows_scatter_add_f64_i32");
  EXPECT_FALSE(device::rowKernelFor(device::RowKernelKind::ScatterAdd, DType::I1, DType::I32, &k));
  EXPECT_FALSE(device::rowKernelFor(device::RowKernelKind::Gather, DType::F32, DType::F32, &k));
}

} // namespace
} // namespace cairn::exectest

namespace cairn::exectest {
namespace {

// A tape read and written one step at a time (a training loop's tape, SPINN's
// transitions): dynamic_slice and dynamic_update_slice on the device, their
// starts read there too; the update in place.
constexpr const char* kTape = R"(
func @f(%tape0: tensor<5x3x4xf32>, %x: tensor<3x4xf32>, %n: tensor<i32>) -> (tensor<5x3x4xf32>) {
  %zero = constant 0 : tensor<i32>
  %one = constant 1 : tensor<i32>
  %r:2 = while (%i = %zero, %tape = %tape0) : (tensor<i32>, tensor<5x3x4xf32>) cond {
    %c = lt %i, %n : tensor<i1>
    yield %c
  } body {
    %row = dynamic_slice %tape, %i, %zero, %zero {sizes = [1, 3, 4]} : tensor<1x3x4xf32>
    %r2 = reshape %row : tensor<3x4xf32>
    %y = add %r2, %x : tensor<3x4xf32>
    %y3 = reshape %y : tensor<1x3x4xf32>
    %next = dynamic_update_slice %tape, %y3, %i, %zero, %zero : tensor<5x3x4xf32>
    %j = add %i, %one : tensor<i32>
    yield %j, %next
  }
  return %r#1
}
)";

TEST(DeviceExecutor, DynamicSlicesRunOnTheDevice) {
  CAIRN_REQUIRE_EMULATOR();
  auto m = parseOk(kTape);
  ASSERT_TRUE(m);
  auto exe = compileForDeviceOk(*m);
  ASSERT_TRUE(exe);
  Tensor tape = inputOf(TensorType(DType::F32, {5, 3, 4}), 1);
  Tensor x = inputOf(TensorType(DType::F32, {3, 4}), 2);
  for (bool graphs : {false, true}) {
    SCOPED_TRACE(graphs ? "recorded loop" : "host-synchronized loop");
    device::DeviceContext ctx;
    expectDeviceMatches(*m, *exe, "f", {tape, x, Tensor::scalar(DType::I32, 5.0)}, 1e-6, &ctx,
                        loops(graphs));
    const device::DeviceStats& s = ctx.stats();
    EXPECT_EQ(s.hostOps, 0);
    EXPECT_EQ(s.rowLaunches, graphs ? 2 : 2 * 5);
    // Recorded, the tape is carried in the recording's own buffer: in place always.
    EXPECT_GE(s.inPlaceUpdates, graphs ? 1 : 4) << "the tape is updated in place";
    // Step 6 reads row 5 of 5: out of range, reported by the slice.
    auto r = exe->run("f", {tape, x, Tensor::scalar(DType::I32, 6.0)}, ctx, loops(graphs));
    ASSERT_FALSE(r.isOk());
    EXPECT_NE(r.status().message().find("'dynamic_slice' op start index 5 is out of range"),
              std::string::npos)
        << r.status().message();
  }
}

} // namespace
} // namespace cairn::exectest

namespace cairn::exectest {
namespace {

// A lone broadcast of static shape (a row op on the CPU) is an elementwise
// kernel of one load on the device.
TEST(DeviceExecutor, StaticBroadcastIsADeviceKernel) {
  CAIRN_REQUIRE_EMULATOR();
  auto m = parseOk(R"(
func @f(%x: tensor<3xf32>) -> (tensor<4x3xf32>) {
  %b = broadcast %x {dims = [1]} : tensor<4x3xf32>
  return %b
}
)");
  ASSERT_TRUE(m);
  codegen::cuda::DeviceCompileOptions o;
  o.passes = std::vector<std::string>{};
  auto exe = compileForDeviceOk(*m, o);
  ASSERT_TRUE(exe);
  device::DeviceContext ctx;
  expectDeviceMatches(*m, *exe, "f", {inputOf(TensorType(DType::F32, {3}), 1)}, 0, &ctx);
  EXPECT_EQ(ctx.stats().hostOps, 0);
  EXPECT_EQ(ctx.stats().kernelLaunches, 1);
}

} // namespace
} // namespace cairn::exectest

namespace cairn::exectest {
namespace {

// Reductions on the device in the reference's order and precision: bit for
// bit, ties and NaNs included (argmax: the first maximum, a NaN the
// maximum); a non-contiguous reduce_sum goes to the host.
TEST(DeviceExecutor, ReductionsMatchTheReferenceBitForBit) {
  CAIRN_REQUIRE_EMULATOR();
  auto m = parseOk(R"(
func @f(%x: tensor<3x5x4xf32>) -> (tensor<3x4xi64>, tensor<5x4xi32>, tensor<3xf32>, tensor<4xf32>, tensor<5xf32>) {
  %a = argmax %x {axis = 1} : tensor<3x4xi64>
  %b = argmax %x {axis = 0} : tensor<5x4xi32>
  %s = reduce_sum %x {dims = [1, 2]} : tensor<3xf32>
  %t = reduce_sum %x {dims = [0, 1]} : tensor<4xf32>
  %u = reduce_sum %x {dims = [0, 2]} : tensor<5xf32>
  return %a, %b, %s, %t, %u
}
)");
  ASSERT_TRUE(m);
  codegen::cuda::DeviceCompileOptions o;
  o.passes = std::vector<std::string>{};
  auto exe = compileForDeviceOk(*m, o);
  ASSERT_TRUE(exe);
  Tensor x(TensorType(DType::F32, {3, 5, 4}));
  for (int64_t i = 0; i < x.numElements(); ++i)
    x.setDouble(i, std::sin(static_cast<double>(i) * 1.7) * 1e3 + (i % 7 == 0 ? 1e-4 : 0.0));
  x.setDouble(2, 1e9); // a tie below
  x.setDouble(6, 1e9);
  x.setDouble(9, NAN);  // a NaN wins its column
  x.setDouble(13, NAN); // and the first NaN stays
  x.setDouble(44, NAN); // NaN in a first element
  device::DeviceContext ctx;
  expectDeviceMatches(*m, *exe, "f", {x}, 0, &ctx);
  EXPECT_EQ(ctx.stats().hostOpsByName.count("argmax"), 0u);
  EXPECT_EQ(ctx.stats().hostOpsByName.count("reduce_sum"), 1u) << "dims [0, 2] are not contiguous";
}

// Transposes, broadcasts (sizes the host knows from dims) and iotas are
// strided-copy and iota kernels on the device, bit for bit.
TEST(DeviceExecutor, TransposeBroadcastAndIotaRunOnTheDevice) {
  CAIRN_REQUIRE_EMULATOR();
  auto m = parseOk(R"(
func @f(%x: tensor<?x3x4xf32>, %row: tensor<4xi64>, %col: tensor<?x1xf16>) -> (tensor<4x?x3xf32>, tensor<?x5x4xi64>, tensor<?x5xf16>, tensor<?x2xf64>, tensor<3x?xi32>) {
  %n = dim %x {axis = 0} : tensor<i64>
  %t = transpose %x {perm = [2, 0, 1]} : tensor<4x?x3xf32>
  %b = broadcast %row, %n {dims = [2]} : tensor<?x5x4xi64>
  %c = broadcast %col, %n {dims = [0, 1]} : tensor<?x5xf16>
  %i = iota %n {axis = 0} : tensor<?x2xf64>
  %j = iota %n {axis = 1} : tensor<3x?xi32>
  return %t, %b, %c, %i, %j
}
)");
  ASSERT_TRUE(m);
  auto exe = compileForDeviceOk(*m);
  ASSERT_TRUE(exe);
  for (int64_t n : {int64_t{2}, int64_t{0}, int64_t{7}}) {
    SCOPED_TRACE(n);
    device::DeviceContext ctx;
    expectDeviceMatches(*m, *exe, "f",
                        {inputOf(TensorType(DType::F32, {n, 3, 4}), 1),
                         inputOf(TensorType(DType::I64, {4}), 2),
                         inputOf(TensorType(DType::F16, {n, 1}), 3)},
                        0, &ctx);
    EXPECT_EQ(ctx.stats().hostOps, 0);
  }
}

// Values kept on the device across runs: uploaded once, results fed to the
// next run without a round trip, errors for foreign or mistyped tensors,
// and a DeviceTensor that outlives its context keeps its memory.
TEST(DeviceExecutor, DeviceTensorsStayOnTheDeviceAcrossRuns) {
  CAIRN_REQUIRE_EMULATOR();
  auto m = parseOk(kLoop);
  ASSERT_TRUE(m);
  auto exe = compileForDeviceOk(*m);
  ASSERT_TRUE(exe);
  Tensor h0 = inputOf(TensorType(DType::F32, {4, 8}), 1),
         w = inputOf(TensorType(DType::F32, {8, 8}), 2);
  for (int64_t i = 0; i < w.numElements(); ++i)
    w.setDouble(i, w.getDouble(i) * 0.3);
  Tensor n = Tensor::scalar(DType::I64, 3.0);
  // Host runs: h1 = f(h0), h2 = f(h1).
  auto h1 = exe->run("f", {h0, w, n});
  ASSERT_TRUE(h1.isOk()) << h1.status().message();
  auto h2 = exe->run("f", {(*h1)[0], w, n});
  ASSERT_TRUE(h2.isOk());

  device::DeviceTensor kept;
  {
    device::DeviceContext ctx;
    auto dw = exe->upload(w, ctx);
    ASSERT_TRUE(dw.isOk()) << dw.status().message();
    EXPECT_EQ(dw->type(), w.type());
    auto r1 = exe->runOnDevice("f", {h0, *dw, n}, ctx);
    ASSERT_TRUE(r1.isOk()) << r1.status().message();
    int64_t up = ctx.stats().bytesToDevice;
    auto r2 = exe->runOnDevice("f", {(*r1)[0], *dw, n}, ctx);
    ASSERT_TRUE(r2.isOk()) << r2.status().message();
    EXPECT_EQ(ctx.stats().bytesToDevice - up, 8) << "only n goes up: h1 and w are on the device";
    auto got = (*r2)[0].download();
    ASSERT_TRUE(got.isOk());
    EXPECT_EQ(relDiff(*got, (*h2)[0]), 0.0);

    device::DeviceContext other;
    auto foreign = exe->runOnDevice("f", {h0, *dw, n}, other);
    ASSERT_FALSE(foreign.isOk());
    EXPECT_NE(foreign.status().message().find("another context"), std::string::npos);
    auto mistyped = exe->runOnDevice("f", {*dw, *dw, n}, ctx);
    ASSERT_FALSE(mistyped.isOk());
    EXPECT_NE(mistyped.status().message().find("argument #0"), std::string::npos)
        << mistyped.status().message();
    EXPECT_FALSE(exe->runOnDevice("f", {h0, device::DeviceTensor(), n}, ctx).isOk());
    EXPECT_FALSE(exe->runOnDevice("f", {h0, w}, ctx).isOk());
    kept = (*r2)[0];
  }
  auto late = kept.download(); // the context is gone; its memory is not
  ASSERT_TRUE(late.isOk());
  EXPECT_EQ(relDiff(*late, (*h2)[0]), 0.0);
  EXPECT_FALSE(device::DeviceTensor().download().isOk());
}

/// @f(x [?], n): a tape [4, ?] that starts empty ([4, 0]) and is allocated
/// in iteration 0 by an `if`, as autodiff's dynamic tapes are; row k gets
/// x * k. Optionally bounded by max_trip.
void buildSettlingTape(Module& m, std::optional<int64_t> maxTrip) {
  FunctionBuilder fb(m, "f", {TensorType(DType::F32, {kDynamic}), TensorType(DType::I64, {})});
  Val x = fb.arg(0), n = fb.arg(1);
  Val empty = broadcastTo(fb.scalar(0.0, DType::F32), {IntOrVal(4), IntOrVal(fb.intValue(0))});
  ValueList out = fb.whileLoop(
      {fb.scalar(0, DType::I64), empty}, [&](const ValueList& a) { return lt(a[0], n); },
      [&](const ValueList& a) {
        Val k = a[0];
        ValueList tape = fb.ifElse(
            eq(k, 0.0),
            [&] {
              return ValueList{
                  broadcastTo(fb.scalar(0.0, DType::F32), {IntOrVal(4), IntOrVal(dim(x, 0))})};
            },
            [&] { return ValueList{a[1]}; });
        return ValueList{k + 1.0, updateAt(tape[0], k, x * cast(k, DType::F32), 0)};
      },
      maxTrip ? std::optional<IntOrVal>(IntOrVal(*maxTrip)) : std::nullopt);
  fb.ret({out[1]});
}

// A carried value whose type settles in the first iteration (the empty tape
// an `if` allocates at k = 0): that iteration runs on the host, the rest as
// a recorded loop, every run (the recording is reused); the interpreter's
// results. Past its max_trip, the error names the op's bound, not the
// recorded rest's.
TEST(DeviceExecutor, LoopWhoseCarriedTypeSettlesInItsFirstIterationIsRecordedFromTheSecond) {
  CAIRN_REQUIRE_EMULATOR();
  Module m;
  buildSettlingTape(m, std::nullopt);
  auto exe = compileForDeviceOk(m);
  ASSERT_TRUE(exe);
  device::DeviceContext ctx;
  std::vector<Tensor> in = {inputOf(TensorType(DType::F32, {3}), 1), Tensor::scalar(DType::I64, 4)};
  expectDeviceMatches(m, *exe, "f", in, 1e-6, &ctx);
  expectDeviceMatches(m, *exe, "f", in, 1e-6, &ctx);
  const device::DeviceStats& s = ctx.stats();
  EXPECT_EQ(s.peeledIterations, 2);
  EXPECT_EQ(s.loopRecordings, 1);
  EXPECT_EQ(s.graphLaunches, 2);
  EXPECT_EQ(s.whileIterations, 2 * 4);
  EXPECT_EQ(s.recordedIfs, 1);
  EXPECT_TRUE(s.hostLoops.empty()) << s.hostLoops.begin()->first;

  Module bounded;
  buildSettlingTape(bounded, 3);
  auto exe3 = compileForDeviceOk(bounded);
  ASSERT_TRUE(exe3);
  device::DeviceContext ctx3;
  auto r = (*exe3).run("f", in, ctx3);
  ASSERT_FALSE(r.isOk());
  auto want = interpret(bounded, "f", in);
  ASSERT_FALSE(want.isOk());
  EXPECT_NE(r.status().message().find("exceeded its max trip count 3"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(ctx3.stats().peeledIterations, 1);
  EXPECT_EQ(ctx3.stats().graphLaunches, 1);
  std::cout << "  device: " << r.status().message() << "\n  interpreter: "
            << want.status().message() << "\n";
}

} // namespace
} // namespace cairn::exectest
