// A product of an all-zero A by a finite constant B is written as zeros
// without the GEMM (runtime/exec/Gemm.cpp, zeroByConstant): a recurrent
// layer's first step from a zero state. Results equal the interpreter's, and
// a B with an inf or a NaN still gives NaN where the product would.
#include <cmath>

#include <gtest/gtest.h>

#include "ExecTestUtil.h"
#include "runtime/exec/Gemm.h"

namespace cairn {
namespace {

using exectest::compileOk;
using exectest::expectMatches;
using exectest::parseOk;

// h <- tanh(h . w + 0.25) for n steps from h = 0, w a constant.
constexpr const char* kFromZero = R"(
func @f(%n: tensor<i32>) -> tensor<1x128xf32> {
  %z = constant 0 : tensor<i32>
  %h0 = constant 0.0 : tensor<1x128xf32>
  %w = constant 0.5 : tensor<128x128xf32>
  %c = constant 0.25 : tensor<1x128xf32>
  %r:2 = while (%i = %z, %h = %h0) : (tensor<i32>, tensor<1x128xf32>) cond {
    %go = lt %i, %n : tensor<i1>
    yield %go
  } body {
    %p = dot %h, %w : tensor<1x128xf32>
    %s = add %p, %c : tensor<1x128xf32>
    %t = tanh %s : tensor<1x128xf32>
    %one = constant 1 : tensor<i32>
    %i1 = add %i, %one : tensor<i32>
    yield %i1, %t
  }
  return %r#1
}
)";

TEST(ExecZeroProductTest, TheFirstStepFromAZeroStateSkipsItsProduct) {
  CAIRN_REQUIRE_JIT();
  auto m = parseOk(kFromZero);
  ASSERT_TRUE(m);
  codegen::cpu::CompileOptions o;
  o.passes = std::vector<std::string>{}; // keep the loop's product a product
  auto exe = compileOk(*m, o);
  ASSERT_TRUE(exe);
  for (int steps : {1, 3}) {
    exec::ExecutionContext ctx;
    Tensor n = Tensor::fromInts(TensorType(DType::I32, {}), {steps});
    expectMatches(*m, *exe, "f", {n}, 1e-5, &ctx);
    EXPECT_EQ(ctx.stats().zeroProducts, 1) << steps << " steps: only the first is zero";
    EXPECT_EQ(ctx.stats().gemmCalls, steps - 1) << exe->describe();
  }
}

TEST(ExecZeroProductTest, ANonFiniteWeightStillMakesNaN) {
  exec::GemmShape g;
  Tensor a(TensorType(DType::F32, {1, 4})); // zeros
  for (double bad : {INFINITY, NAN}) {
    Tensor b = Tensor::fromDoubles(TensorType(DType::F32, {4, 3}),
                                   {1, 2, 3, 4, bad, 6, 7, 8, 9, 10, 11, 12});
    exec::GemmReuse state;
    int64_t zeros = 0;
    exec::GemmReuseKey key{&state, 0, true, nullptr, nullptr, &zeros};
    Tensor out(TensorType(DType::F32, {1, 3}));
    ASSERT_TRUE(exec::runGemm(g, a, b, out, nullptr, nullptr, true, key).isOk());
    EXPECT_EQ(zeros, 0);
    EXPECT_EQ(out.getDouble(0), 0.0);
    EXPECT_TRUE(std::isnan(out.getDouble(1))) << "0 * " << bad << " is NaN";
    EXPECT_EQ(out.getDouble(2), 0.0);
  }
  // Finite: zeros, no product; the same state answers again without a scan.
  Tensor b = Tensor::fromDoubles(TensorType(DType::F32, {4, 3}),
                                 {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  exec::GemmReuse state;
  int64_t zeros = 0, calls = 0;
  exec::GemmReuseKey key{&state, 0, true, nullptr, nullptr, &zeros};
  for (int i = 0; i < 2; ++i) {
    Tensor out = Tensor::fromDoubles(TensorType(DType::F32, {1, 3}), {7, 7, 7});
    ASSERT_TRUE(exec::runGemm(g, a, b, out, &calls, nullptr, true, key).isOk());
    for (int64_t j = 0; j < 3; ++j) {
      EXPECT_EQ(out.getDouble(j), 0.0);
      EXPECT_FALSE(std::signbit(out.getDouble(j)));
    }
  }
  EXPECT_EQ(zeros, 2);
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(state.finite, 1);
  // Not a constant (a weight the caller may change): the product runs.
  exec::GemmReuseKey notConstant{&state, 0, false, nullptr, nullptr, &zeros};
  Tensor out(TensorType(DType::F32, {1, 3}));
  ASSERT_TRUE(exec::runGemm(g, a, b, out, &calls, nullptr, true, notConstant).isOk());
  EXPECT_EQ(zeros, 2);
  EXPECT_EQ(calls, 1);
}

} // namespace
} // namespace cairn
