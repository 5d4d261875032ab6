// The `rnn` op on the device (runtime/device/RnnOnDevice.h, Device::rnn):
// compiled for the test device, f32 ops stay whole and run as one
// Device::rnn call each (the reference kernel on the emulated device, cuDNN
// on a GPU), a reverse op's rows reordered around it; everything else (f64
// ops, rows of length 0, a device without rnn) takes the expanded loop or
// the host, with the same results as the interpreter and errors that name
// the op.
#include <random>

#include <gtest/gtest.h>

#include "DeviceTestUtil.h"
#include "frontend/models/BiRnn.h"
#include "runtime/device/RnnOnDevice.h"
#include "tests/unit/RnnTestUtil.h"

namespace cairn::exectest {
namespace {

using rnntest::RnnCase;

int64_t rnnOpsIn(const device::DeviceExecutable& exe) {
  int64_t n = 0;
  for (const auto& f : exe.module().functions())
    walk(*f, [&](Op& op) { n += op.kind() == OpKind::Rnn; });
  return n;
}

/// `c`'s operands with every length in [1, T] (T and 1 present).
std::vector<Tensor> inputsWithoutEmptyRows(const RnnCase& c, std::mt19937& gen) {
  std::vector<Tensor> in = rnntest::randomInputs(c, gen);
  std::uniform_int_distribution<int64_t> len(1, c.T);
  std::vector<int64_t> lengths(c.B);
  for (int64_t b = 0; b < c.B; ++b)
    lengths[b] = b == 0 ? c.T : b == 1 ? 1 : len(gen);
  in[1] = Tensor::fromInts(TensorType(c.lengthType, {c.B}), lengths);
  return in;
}

TEST(RnnOnDevice, ReverseStepsPermutationReversesEachRowsSteps) {
  // T = 3, B = 3, lengths 3, 1, 2: row r = t*B + b.
  std::vector<int32_t> p = device::reverseStepsPermutation({3, 1, 2}, 3);
  // t = 0 reads t = 2, 0, 1; t = 1 reads 1, (pad) 1, 0; t = 2 reads 0, 2, 2 (pads).
  EXPECT_EQ(p, (std::vector<int32_t>{6, 1, 5, 3, 4, 2, 0, 7, 8}));
  for (size_t r = 0; r < p.size(); ++r)
    EXPECT_EQ(p[static_cast<size_t>(p[r])], static_cast<int32_t>(r)) << "not its own inverse";
}

// Random f32 ops (LSTM and GRU, both directions, dynamic T and B, i32 and
// i64 lengths): one Device::rnn call each, nothing on the host, the
// interpreter's results within f32 rounding (the emulated device computes
// as cuDNN does: BLAS products, f32 gates).
TEST(DeviceRnn, F32OpsRunAsOneDeviceCall) {
  CAIRN_REQUIRE_EMULATOR();
  std::mt19937 gen(21);
  std::uniform_int_distribution<int64_t> small(1, 4), steps(1, 6);
  for (int i = 0; i < 16; ++i) {
    RnnCase c;
    c.lstm = i % 2 == 0;
    c.reverse = (i / 2) % 2 == 1;
    c.lengthType = (i / 4) % 2 ? DType::I64 : DType::I32;
    c.dynamicT = (i / 3) % 2 == 0;
    c.dynamicB = (i / 5) % 2 == 1;
    c.T = steps(gen), c.B = small(gen) + 1, c.I = small(gen), c.H = small(gen);
    SCOPED_TRACE(rnntest::describe(c));
    Module m;
    rnntest::buildRnnFunction(m, c);
    auto exe = compileForDeviceOk(m);
    ASSERT_TRUE(exe);
    EXPECT_EQ(rnnOpsIn(*exe), 1) << "the f32 op was expanded";
    std::vector<Tensor> in = inputsWithoutEmptyRows(c, gen);
    device::DeviceContext ctx;
    expectDeviceMatches(m, *exe, "f", in, 1e-5, &ctx);
    EXPECT_EQ(ctx.stats().rnnCalls, 1);
    EXPECT_EQ(ctx.stats().hostOps, 0);
    EXPECT_EQ(ctx.stats().rowLaunches, c.reverse ? 2 : 0); // x's rows in, ys' rows out
  }
}

// cuDNN takes no empty sequence: a batch with a row of length 0 runs the
// op on the host (counted), with the interpreter's results.
TEST(DeviceRnn, RowsOfLengthZeroRunOnTheHost) {
  CAIRN_REQUIRE_EMULATOR();
  for (bool reverse : {false, true}) {
    RnnCase c;
    c.reverse = reverse;
    c.T = 4, c.B = 3;
    Module m;
    rnntest::buildRnnFunction(m, c);
    auto exe = compileForDeviceOk(m);
    ASSERT_TRUE(exe);
    std::mt19937 gen(5);
    std::vector<Tensor> in = rnntest::randomInputs(c, gen); // row 1 has length 0
    device::DeviceContext ctx;
    expectDeviceMatches(m, *exe, "f", in, 1e-6, &ctx);
    EXPECT_EQ(ctx.stats().rnnCalls, 0);
    EXPECT_EQ(ctx.stats().hostOpsByName.count("rnn"), 1u);
  }
}

// A length outside [0, T] is the reference's error, naming the op, on the
// device as on the host.
TEST(DeviceRnn, LengthOutsideZeroToTIsAnErrorNamingTheOp) {
  CAIRN_REQUIRE_EMULATOR();
  RnnCase c;
  Module m;
  rnntest::buildRnnFunction(m, c);
  auto exe = compileForDeviceOk(m);
  ASSERT_TRUE(exe);
  std::mt19937 gen(3);
  std::vector<Tensor> in = rnntest::randomInputs(c, gen);
  in[1] = Tensor::fromInts(TensorType(DType::I32, {2}), {1, 7});
  auto r = exe->run("f", in);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("'rnn' op length 7 of row 1 is outside [0, 3]"),
            std::string::npos)
      << r.status().message();
}

// f64 ops (cuDNN's path here is f32) and compiles with rnnOnDevice off are
// expanded into loops: no rnn op left, no Device::rnn call.
TEST(DeviceRnn, F64OpsAndRnnOnDeviceOffAreExpanded) {
  CAIRN_REQUIRE_EMULATOR();
  for (bool f64 : {true, false}) {
    RnnCase c;
    c.dtype = f64 ? DType::F64 : DType::F32;
    Module m;
    rnntest::buildRnnFunction(m, c);
    codegen::cuda::DeviceCompileOptions o;
    o.rnnOnDevice = f64; // the f32 case: off
    auto exe = compileForDeviceOk(m, o);
    ASSERT_TRUE(exe);
    EXPECT_EQ(rnnOpsIn(*exe), 0);
    std::mt19937 gen(8);
    device::DeviceContext ctx;
    expectDeviceMatches(m, *exe, "f", inputsWithoutEmptyRows(c, gen), f64 ? 1e-12 : 1e-5, &ctx);
    EXPECT_EQ(ctx.stats().rnnCalls, 0);
  }
}

// The BiLSTM/BiGRU classifier built with rnn ops: four Device::rnn calls (2
// layers x 2 directions) per run, the interpreter's logits.
TEST(DeviceRnn, BiRnnClassifierRunsItsLayersThroughDeviceRnn) {
  CAIRN_REQUIRE_EMULATOR();
  for (auto cell : {BiRnnConfig::Lstm, BiRnnConfig::Gru}) {
    SCOPED_TRACE(cell == BiRnnConfig::Lstm ? "BiLSTM" : "BiGRU");
    BiRnnConfig cfg{cell, 13, 4, 5, 2, 3};
    cfg.useRnnOp = true;
    Module m;
    ParamStore ps;
    buildBiRnnClassifier(m, ps, cfg);
    std::vector<Tensor> in{Tensor::fromInts(TensorType(DType::I32, {3, 5}),
                                            {1, 2, 3, 4, 5, 6, 7, 0, 0, 0, 8, 9, 10, 11, 12}),
                           Tensor::fromInts(TensorType(DType::I32, {3}), {5, 2, 4})};
    for (Tensor& t : ps.initialize(7))
      in.push_back(std::move(t));
    auto exe = compileForDeviceOk(m);
    ASSERT_TRUE(exe);
    device::DeviceContext ctx;
    expectDeviceMatches(m, *exe, "birnn_classify", in, 1e-5, &ctx);
    EXPECT_EQ(ctx.stats().rnnCalls, 4);
    EXPECT_EQ(ctx.stats().hostOpsByName.count("rnn"), 0u);
  }
}

} // namespace
} // namespace cairn::exectest
