// The executor packs a loop-invariant weight once per loop execution for
// oneDNN (Executable::hasLoopInvariantWeight, GemmReuse): results equal the
// interpreter's, a weight the loop changes is never packed, and a packed
// weight never outlives its loop's execution (a new weight at the same
// address, a nested loop's weight that changes with the outer iteration).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "ExecTestUtil.h"
#include "runtime/exec/Gemm.h"

namespace cairn {
namespace {

using exectest::compileOk;
using exectest::expectMatches;
using exectest::inputOf;
using exectest::parseOk;

/// Whether this build and machine send a [64, 256] x [256, 256] product to
/// oneDNN (what packs); without it no weight is packed.
bool packs() {
  return std::string(exec::gemmLibraryFor(DType::F32, {1, 64, 256, 256}, false, false)) ==
         "oneDNN";
}

Tensor i32(int v) { return Tensor::fromInts(TensorType(DType::I32, {}), {v}); }

/// h <- tanh(h . w + c) for n steps; `weightOf` is the loop's w: %w itself
/// (invariant) or a value the body recomputes.
std::string stepLoop(bool weightChanges) {
  std::string body = weightChanges ? "    %w2 = mul %v, %half : tensor<256x256xf32>\n"
                                     "    %p = dot %h, %w2 : tensor<64x256xf32>\n"
                                   : "    %w2 = add %v, %zw : tensor<256x256xf32>\n"
                                     "    %p = dot %h, %w : tensor<64x256xf32>\n";
  return "func @f(%h0: tensor<64x256xf32>, %w: tensor<256x256xf32>, %c: tensor<64x256xf32>, "
         "%n: tensor<i32>) -> tensor<64x256xf32> {\n"
         "  %z = constant 0 : tensor<i32>\n"
         "  %half = constant 0.5 : tensor<256x256xf32>\n"
         "  %zw = constant 0.0 : tensor<256x256xf32>\n"
         "  %r:3 = while (%i = %z, %h = %h0, %v = %w) : (tensor<i32>, tensor<64x256xf32>, "
         "tensor<256x256xf32>) cond {\n"
         "    %go = lt %i, %n : tensor<i1>\n    yield %go\n"
         "  } body {\n" +
         body +
         "    %s = add %p, %c : tensor<64x256xf32>\n"
         "    %t = tanh %s : tensor<64x256xf32>\n"
         "    %one = constant 1 : tensor<i32>\n    %i1 = add %i, %one : tensor<i32>\n"
         "    yield %i1, %t, %w2\n  }\n"
         "  return %r#1\n}\n";
}

std::vector<Tensor> stepInputs(int steps) {
  return {inputOf(TensorType(DType::F32, {64, 256}), 1),
          inputOf(TensorType(DType::F32, {256, 256}), 2),
          inputOf(TensorType(DType::F32, {64, 256}), 3), i32(steps)};
}

TEST(ExecPackedWeightTest, LoopInvariantWeightIsPackedOncePerRun) {
  CAIRN_REQUIRE_JIT();
  auto m = parseOk(stepLoop(false));
  ASSERT_TRUE(m);
  auto exe = compileOk(*m);
  ASSERT_TRUE(exe);
  std::vector<Tensor> in = stepInputs(6);
  exec::ExecutionContext ctx;
  expectMatches(*m, *exe, "f", in, 1e-5, &ctx);
  EXPECT_EQ(ctx.stats().packedWeights, packs() ? 1 : 0) << exe->describe();
  // The same weight tensor, its contents changed in place (the same
  // address): the next run packs it again and computes with the new values.
  float* w = in[1].data<float>();
  for (int64_t i = 0; i < in[1].numElements(); ++i)
    w[i] = -0.5f * w[i] + 0.001f * static_cast<float>(i % 7);
  expectMatches(*m, *exe, "f", in, 1e-5, &ctx);
  EXPECT_EQ(ctx.stats().packedWeights, packs() ? 2 : 0);
  // One step: nothing to pack for (packing pays from the second call on).
  exec::ExecutionContext once;
  expectMatches(*m, *exe, "f", stepInputs(1), 1e-5, &once);
  EXPECT_EQ(once.stats().packedWeights, 0);
}

TEST(ExecPackedWeightTest, AWeightTheLoopChangesIsNeverPacked) {
  CAIRN_REQUIRE_JIT();
  auto m = parseOk(stepLoop(true));
  ASSERT_TRUE(m);
  auto exe = compileOk(*m);
  ASSERT_TRUE(exe);
  exec::ExecutionContext ctx;
  expectMatches(*m, *exe, "f", stepInputs(6), 1e-5, &ctx);
  EXPECT_EQ(ctx.stats().packedWeights, 0) << exe->describe();
}

TEST(ExecPackedWeightTest, NestedLoopRepacksPerOuterIteration) {
  CAIRN_REQUIRE_JIT();
  // The inner loop's weight is the outer loop's carried value: invariant
  // for each inner execution, different in each.
  auto m = parseOk(
      "func @f(%h0: tensor<64x256xf32>, %w0: tensor<256x256xf32>, %n: tensor<i32>) -> "
      "tensor<64x256xf32> {\n"
      "  %z = constant 0 : tensor<i32>\n"
      "  %one = constant 1 : tensor<i32>\n"
      "  %k = constant 0.75 : tensor<256x256xf32>\n"
      "  %o:3 = while (%j = %z, %ho = %h0, %w = %w0) : (tensor<i32>, tensor<64x256xf32>, "
      "tensor<256x256xf32>) cond {\n"
      "    %go = lt %j, %n : tensor<i1>\n    yield %go\n"
      "  } body {\n"
      "    %r:2 = while (%i = %z, %h = %ho) : (tensor<i32>, tensor<64x256xf32>) cond {\n"
      "      %go2 = lt %i, %n : tensor<i1>\n      yield %go2\n"
      "    } body {\n"
      "      %p = dot %h, %w : tensor<64x256xf32>\n"
      "      %t = tanh %p : tensor<64x256xf32>\n"
      "      %i1 = add %i, %one : tensor<i32>\n"
      "      yield %i1, %t\n    }\n"
      "    %wn = mul %w, %k : tensor<256x256xf32>\n"
      "    %j1 = add %j, %one : tensor<i32>\n"
      "    yield %j1, %r#1, %wn\n  }\n"
      "  return %o#1\n}\n");
  ASSERT_TRUE(m);
  auto exe = compileOk(*m);
  ASSERT_TRUE(exe);
  exec::ExecutionContext ctx;
  expectMatches(*m, *exe, "f",
                {inputOf(TensorType(DType::F32, {64, 256}), 4),
                 inputOf(TensorType(DType::F32, {256, 256}), 5), i32(4)},
                1e-5, &ctx);
  EXPECT_EQ(ctx.stats().packedWeights, packs() ? 4 : 0) << exe->describe();
}

/// y = x . W with W a constant [32, 64] (or [64, 32] contracted on its
/// second dim), of distinct values so that a wrong layout shows.
std::string constantWeight(bool transposed) {
  std::string values;
  for (int i = 0; i < (transposed ? 64 : 32); ++i) {
    values += i ? ", [" : "[";
    for (int j = 0; j < (transposed ? 32 : 64); ++j)
      values += fmt::format("{}{}", j ? ", " : "", ((i * 37 + j * 11) % 97) / 97.0 - 0.5);
    values += "]";
  }
  return fmt::format("func @f(%x: tensor<?x32xf32>) -> tensor<?x64xf32> {{\n"
                     "  %w = constant [{}] : tensor<{}xf32>\n"
                     "  %y = dot %x, %w {{lhs_contract = [1], rhs_contract = [{}]}} : "
                     "tensor<?x64xf32>\n"
                     "  return %y\n}}\n",
                     values, transposed ? "64x32" : "32x64", transposed ? 1 : 0);
}

TEST(ExecPackedWeightTest, ConstantWeightIsPackedOnceAcrossRuns) {
  CAIRN_REQUIRE_JIT();
  for (bool transposed : {false, true}) {
    SCOPED_TRACE(transposed ? "W contracted on its second dim" : "W contracted on its first");
    auto m = parseOk(constantWeight(transposed));
    ASSERT_TRUE(m);
    auto exe = compileOk(*m);
    ASSERT_TRUE(exe);
    bool packing =
        std::string(exec::gemmLibraryFor(DType::F32, {1, 3, 64, 32}, false, transposed)) ==
        "oneDNN";
    // One row stays with OpenBLAS's gemv (by a [64, 32] weight, through its
    // [32, 64] copy: ConstantNKWeightIsCopiedOnceForOneRow); 7 and 300 rows
    // pack.
    exec::ExecutionContext ctx;
    // One row (a gemv otherwise), then other row counts: one packing serves them all.
    for (int64_t rows : {1, 1, 7, 300, 1}) {
      SCOPED_TRACE(rows);
      expectMatches(*m, *exe, "f", {inputOf(TensorType(DType::F32, {rows, 32}), rows)}, 1e-6,
                    &ctx);
    }
    EXPECT_EQ(ctx.stats().packedWeights, packing ? 1 : 0);
    EXPECT_EQ(ctx.stats().gemmCalls, 5);
    // Another Executable of the same module in the same context packs its own.
    auto again = compileOk(*m);
    ASSERT_TRUE(again);
    expectMatches(*m, *again, "f", {inputOf(TensorType(DType::F32, {4, 32}), 9)}, 1e-6, &ctx);
    EXPECT_EQ(ctx.stats().packedWeights, packing ? 2 : 0);
  }
}

TEST(ExecPackedWeightTest, ConstantNKWeightIsCopiedOnceForOneRow) {
  // One row by a constant [N, K] weight (ONNX's and the rnn op's layout)
  // reads a [K, N] copy made at the first such product, with OpenBLAS's
  // gemv; a [K, N] weight is read as it is; other row counts in between
  // neither copy again nor lose the packing.
  CAIRN_REQUIRE_JIT();
  bool blas = std::string(exec::gemmLibraryFor(DType::F32, {1, 1, 64, 32}, false, false)) ==
              "OpenBLAS";
  for (bool transposed : {false, true}) {
    SCOPED_TRACE(transposed ? "W [64, 32]" : "W [32, 64]");
    auto m = parseOk(constantWeight(transposed));
    ASSERT_TRUE(m);
    auto exe = compileOk(*m);
    ASSERT_TRUE(exe);
    exec::ExecutionContext ctx;
    for (int64_t rows : {1, 1, 2, 7, 1, 0, 1}) {
      SCOPED_TRACE(rows);
      expectMatches(*m, *exe, "f", {inputOf(TensorType(DType::F32, {rows, 32}), rows + 3)}, 1e-6,
                    &ctx);
    }
    EXPECT_EQ(ctx.stats().transposedWeights, transposed && blas ? 1 : 0);
    bool packing =
        std::string(exec::gemmLibraryFor(DType::F32, {1, 3, 64, 32}, false, transposed)) ==
        "oneDNN";
    EXPECT_EQ(ctx.stats().packedWeights, packing ? 1 : 0);
  }
}

} // namespace
} // namespace cairn
