// Interpreter tests of reductions (reduce_sum/max/min, argmax) and dot.
#include <cmath>
#include <limits>

#include "tests/unit/InterpreterTestUtil.h"

namespace cairn::testing {
namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

std::string reduceIR(const std::string& op, const std::string& in, const std::string& dims,
                     const std::string& out) {
  return "func @f(%a: " + in + ") -> " + out + " {\n  %r = " + op + " %a {dims = " + dims +
         "} : " + out + "\n  return %r\n}\n";
}

Tensor m23() {
  return T("tensor<2x3xf32>", {1, 2, 3, 4, 5, 6});
}

TEST(InterpreterReduce, SumOverEachDimAndAll) {
  EXPECT_TRUE(
      sameTensor(run1(reduceIR("reduce_sum", "tensor<2x3xf32>", "[0]", "tensor<3xf32>"), {m23()}),
                 "tensor<3xf32>", {5, 7, 9}));
  EXPECT_TRUE(
      sameTensor(run1(reduceIR("reduce_sum", "tensor<2x3xf32>", "[1]", "tensor<2xf32>"), {m23()}),
                 "tensor<2xf32>", {6, 15}));
  EXPECT_TRUE(
      sameTensor(run1(reduceIR("reduce_sum", "tensor<2x3xf32>", "[0, 1]", "tensor<f32>"), {m23()}),
                 "tensor<f32>", {21}));
}

TEST(InterpreterReduce, SumOfNothingIsZero) {
  EXPECT_TRUE(sameTensor(run1(reduceIR("reduce_sum", "tensor<2x0xf32>", "[1]", "tensor<2xf32>"),
                              {T("tensor<2x0xf32>", {})}),
                         "tensor<2xf32>", {0, 0}));
}

TEST(InterpreterReduce, SumNoDimsIsIdentity) {
  EXPECT_TRUE(
      sameTensor(run1(reduceIR("reduce_sum", "tensor<2x3xf32>", "[]", "tensor<2x3xf32>"), {m23()}),
                 "tensor<2x3xf32>", {1, 2, 3, 4, 5, 6}));
}

TEST(InterpreterReduce, IntegerSumWraps) {
  Tensor r = run1(reduceIR("reduce_sum", "tensor<3xi32>", "[0]", "tensor<i32>"),
                  {TI("tensor<3xi32>", {INT32_MAX, 1, 1})});
  EXPECT_EQ(r.toInts(), std::vector<int64_t>{INT32_MIN + 1});
}

TEST(InterpreterReduce, F16SumRoundsOnceAtTheEnd) {
  // 2048 + 1 + 1 = 2050 exactly when accumulated wide; a sequential f16 sum
  // would round 2049 down to 2048 twice.
  Tensor r = run1(reduceIR("reduce_sum", "tensor<3xf16>", "[0]", "tensor<f16>"),
                  {T("tensor<3xf16>", {2048, 1, 1})});
  EXPECT_TRUE(sameTensor(r, "tensor<f16>", {2050}));
}

TEST(InterpreterReduce, MaxMinWithNegativesAndNaN) {
  Tensor a = T("tensor<2x3xf32>", {-1, -5, -3, 2, kNaN, 0});
  EXPECT_TRUE(
      sameTensor(run1(reduceIR("reduce_max", "tensor<2x3xf32>", "[1]", "tensor<2xf32>"), {a}),
                 "tensor<2xf32>", {-1, kNaN}));
  EXPECT_TRUE(
      sameTensor(run1(reduceIR("reduce_min", "tensor<2x3xf32>", "[1]", "tensor<2xf32>"), {a}),
                 "tensor<2xf32>", {-5, kNaN}));
  EXPECT_TRUE(
      sameTensor(run1(reduceIR("reduce_min", "tensor<2x3xf32>", "[0]", "tensor<3xf32>"), {a}),
                 "tensor<3xf32>", {-1, kNaN, -3}));
}

TEST(InterpreterReduce, MaxMinOfNothing) {
  EXPECT_TRUE(sameTensor(
      run1(reduceIR("reduce_max", "tensor<0xf32>", "[0]", "tensor<f32>"), {T("tensor<0xf32>", {})}),
      "tensor<f32>", {-kInf}));
  EXPECT_TRUE(sameTensor(
      run1(reduceIR("reduce_min", "tensor<0xf64>", "[0]", "tensor<f64>"), {T("tensor<0xf64>", {})}),
      "tensor<f64>", {kInf}));
  EXPECT_EQ(
      run1(reduceIR("reduce_max", "tensor<0xi32>", "[0]", "tensor<i32>"), {TI("tensor<0xi32>", {})})
          .toInts(),
      std::vector<int64_t>{INT32_MIN});
  EXPECT_EQ(
      run1(reduceIR("reduce_min", "tensor<0xi64>", "[0]", "tensor<i64>"), {TI("tensor<0xi64>", {})})
          .toInts(),
      std::vector<int64_t>{INT64_MAX});
}

TEST(InterpreterReduce, MaxOfIntegers) {
  EXPECT_EQ(run1(reduceIR("reduce_max", "tensor<2x2xi64>", "[0]", "tensor<2xi64>"),
                 {TI("tensor<2x2xi64>", {-7, 3, -2, -9})})
                .toInts(),
            (std::vector<int64_t>{-2, 3}));
}

std::string argmaxIR(const std::string& in, int axis, const std::string& out) {
  return "func @f(%a: " + in + ") -> " + out +
         " {\n  %r = argmax %a {axis = " + std::to_string(axis) + "} : " + out +
         "\n  return %r\n}\n";
}

TEST(InterpreterReduce, ArgmaxFirstOfTies) {
  Tensor r = run1(argmaxIR("tensor<2x3xf32>", 1, "tensor<2xi32>"),
                  {T("tensor<2x3xf32>", {1, 3, 3, -2, -1, -5})});
  EXPECT_EQ(r.toInts(), (std::vector<int64_t>{1, 1}));
  Tensor c = run1(argmaxIR("tensor<2x3xf32>", 0, "tensor<3xi64>"),
                  {T("tensor<2x3xf32>", {1, 3, 3, -2, 4, 3})});
  EXPECT_EQ(c.type().toString(), "tensor<3xi64>");
  EXPECT_EQ(c.toInts(), (std::vector<int64_t>{0, 1, 0}));
}

TEST(InterpreterReduce, ArgmaxNaNWins) {
  Tensor r =
      run1(argmaxIR("tensor<4xf32>", 0, "tensor<i32>"), {T("tensor<4xf32>", {1, kNaN, 5, kNaN})});
  EXPECT_EQ(r.toInts(), std::vector<int64_t>{1});
}

TEST(InterpreterReduce, ArgmaxOfEmptyAxisIsAnError) {
  const char* ir = R"(func @f(%a: tensor<2x?xf32>) -> tensor<2xi32> {
  %r = argmax %a {axis = 1} : tensor<2xi32>
  return %r
}
)";
  EXPECT_TRUE(contains(runError(ir, {T("tensor<2x0xf32>", {})}),
                       "'argmax' op argmax along axis 1 of size 0 is undefined"));
}

TEST(InterpreterDot, MatrixProduct) {
  const char* ir = R"(func @f(%a: tensor<2x3xf32>, %b: tensor<3x2xf32>) -> tensor<2x2xf32> {
  %r = dot %a, %b : tensor<2x2xf32>
  return %r
}
)";
  EXPECT_TRUE(sameTensor(run1(ir, {m23(), T("tensor<3x2xf32>", {7, 8, 9, 10, 11, 12})}),
                         "tensor<2x2xf32>", {58, 64, 139, 154}));
}

TEST(InterpreterDot, VectorDotAndMatVec) {
  const char* ir =
      R"(func @f(%a: tensor<3xf64>, %b: tensor<3xf64>, %m: tensor<2x3xf64>) -> (tensor<f64>, tensor<2xf64>) {
  %r = dot %a, %b : tensor<f64>
  %s = dot %m, %b : tensor<2xf64>
  return %r, %s
}
)";
  auto r = runOk(ir, {T("tensor<3xf64>", {1, 2, 3}), T("tensor<3xf64>", {4, -5, 6}),
                      T("tensor<2x3xf64>", {1, 0, 0, 0, 1, 1})});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_TRUE(sameTensor(r[0], "tensor<f64>", {12}));
  EXPECT_TRUE(sameTensor(r[1], "tensor<2xf64>", {4, 1}));
}

TEST(InterpreterDot, BatchedWithExplicitDims) {
  // [B=2, M=1, K=2] x [B=2, K=2, N=1]
  const char* ir = R"(func @f(%a: tensor<2x1x2xf32>, %b: tensor<2x2x1xf32>) -> tensor<2x1x1xf32> {
  %r = dot %a, %b {lhs_batch = [0], rhs_batch = [0], lhs_contract = [2], rhs_contract = [1]} : tensor<2x1x1xf32>
  return %r
}
)";
  EXPECT_TRUE(sameTensor(
      run1(ir, {T("tensor<2x1x2xf32>", {1, 2, 3, 4}), T("tensor<2x2x1xf32>", {5, 6, 7, 8})}),
      "tensor<2x1x1xf32>", {17, 53}));
}

TEST(InterpreterDot, ContractFirstDimsGivesATransposedProduct) {
  // a^T b with a [2, 3], b [2, 2]: result [3, 2].
  const char* ir = R"(func @f(%a: tensor<2x3xf32>, %b: tensor<2x2xf32>) -> tensor<3x2xf32> {
  %r = dot %a, %b {lhs_contract = [0], rhs_contract = [0]} : tensor<3x2xf32>
  return %r
}
)";
  EXPECT_TRUE(sameTensor(run1(ir, {m23(), T("tensor<2x2xf32>", {1, 0, 0, 1})}), "tensor<3x2xf32>",
                         {1, 4, 2, 5, 3, 6}));
}

TEST(InterpreterDot, IntegerAndEmptyContraction) {
  const char* ir =
      R"(func @f(%a: tensor<2x0xi32>, %b: tensor<0x2xi32>, %c: tensor<1x2xi64>, %d: tensor<2x1xi64>) -> (tensor<2x2xi32>, tensor<1x1xi64>) {
  %r = dot %a, %b : tensor<2x2xi32>
  %s = dot %c, %d : tensor<1x1xi64>
  return %r, %s
}
)";
  auto r = runOk(ir, {TI("tensor<2x0xi32>", {}), TI("tensor<0x2xi32>", {}),
                      TI("tensor<1x2xi64>", {-3, 4}), TI("tensor<2x1xi64>", {5, 6})});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].toInts(), (std::vector<int64_t>{0, 0, 0, 0}));
  EXPECT_EQ(r[1].toInts(), std::vector<int64_t>{9});
}

TEST(InterpreterDot, DynamicContractingMismatchIsAnError) {
  const char* ir = R"(func @f(%a: tensor<2x?xf32>, %b: tensor<?x2xf32>) -> tensor<2x2xf32> {
  %r = dot %a, %b : tensor<2x2xf32>
  return %r
}
)";
  std::string msg =
      runError(ir, {T("tensor<2x3xf32>", {1, 2, 3, 4, 5, 6}), T("tensor<2x2xf32>", {1, 2, 3, 4})});
  EXPECT_TRUE(
      contains(msg, "'dot' op contracting dim sizes differ: lhs dim 1 is 3, rhs dim 0 is 2"));
}

TEST(InterpreterDot, BF16ProductRoundsOnce) {
  const char* ir = R"(func @f(%a: tensor<1x2xbf16>, %b: tensor<2x1xbf16>) -> tensor<1x1xbf16> {
  %r = dot %a, %b : tensor<1x1xbf16>
  return %r
}
)";
  // 256 + 1 = 257 needs 9 bits: ties to even 256 in bf16.
  EXPECT_TRUE(sameTensor(run1(ir, {T("tensor<1x2xbf16>", {16, 1}), T("tensor<2x1xbf16>", {16, 1})}),
                         "tensor<1x1xbf16>", {256}));
}

} // namespace
} // namespace cairn::testing
