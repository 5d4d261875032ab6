// Interpreter tests of the elementwise ops (unary, binary, compare, select,
// cast) against hand-computed values, including NaN, integer wrap-around,
// division by zero and the narrow float types.
#include <cmath>
#include <limits>

#include "tests/unit/InterpreterTestUtil.h"

namespace cairn::testing {
namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

/// `func @f(%a: T) -> T { %r = <op> %a : T  return %r }`
std::string unaryIR(const std::string& op, const std::string& type,
                    const std::string& resultType = "") {
  std::string rt = resultType.empty() ? type : resultType;
  return "func @f(%a: " + type + ") -> " + rt + " {\n  %r = " + op + " %a : " + rt +
         "\n  return %r\n}\n";
}

std::string binaryIR(const std::string& op, const std::string& type,
                     const std::string& resultType = "") {
  std::string rt = resultType.empty() ? type : resultType;
  return "func @f(%a: " + type + ", %b: " + type + ") -> " + rt + " {\n  %r = " + op +
         " %a, %b : " + rt + "\n  return %r\n}\n";
}

TEST(InterpreterElementwise, Neg) {
  const char* t = "tensor<3xf32>";
  EXPECT_TRUE(sameTensor(run1(unaryIR("neg", t), {T(t, {1.5, -2, 0})}), t, {-1.5, 2, -0.0}));
}

TEST(InterpreterElementwise, NegIntWraps) {
  const char* t = "tensor<3xi32>";
  Tensor r = run1(unaryIR("neg", t), {TI(t, {5, -7, INT32_MIN})});
  EXPECT_EQ(r.toInts(), (std::vector<int64_t>{-5, 7, INT32_MIN}));
}

TEST(InterpreterElementwise, AbsIntAndFloat) {
  EXPECT_EQ(
      run1(unaryIR("abs", "tensor<3xi64>"), {TI("tensor<3xi64>", {-3, 4, INT64_MIN})}).toInts(),
      (std::vector<int64_t>{3, 4, INT64_MIN}));
  EXPECT_TRUE(sameTensor(run1(unaryIR("abs", "tensor<2xf64>"), {T("tensor<2xf64>", {-2.5, 0})}),
                         "tensor<2xf64>", {2.5, 0}));
}

TEST(InterpreterElementwise, Exp) {
  const char* t = "tensor<3xf64>";
  EXPECT_TRUE(sameTensor(run1(unaryIR("exp", t), {T(t, {0, 1, -kInf})}), t,
                         {1, 2.718281828459045, 0}, 1e-15));
}

TEST(InterpreterElementwise, LogEdgeCases) {
  const char* t = "tensor<4xf32>";
  EXPECT_TRUE(sameTensor(run1(unaryIR("log", t), {T(t, {1, 0, -1, std::exp(2.0)})}), t,
                         {0, -kInf, kNaN, 2}, 1e-6));
}

TEST(InterpreterElementwise, Tanh) {
  const char* t = "tensor<3xf32>";
  EXPECT_TRUE(sameTensor(run1(unaryIR("tanh", t), {T(t, {0, 100, -0.5})}), t,
                         {0, 1, -0.46211715726000974}, 1e-6));
}

TEST(InterpreterElementwise, SigmoidNoOverflow) {
  const char* t = "tensor<5xf32>";
  EXPECT_TRUE(sameTensor(run1(unaryIR("sigmoid", t), {T(t, {0, 1000, -1000, 2, kNaN})}), t,
                         {0.5, 1, 0, 0.8807970779778823, kNaN}, 1e-6));
}

TEST(InterpreterElementwise, ReluKeepsNaN) {
  const char* t = "tensor<4xf32>";
  EXPECT_TRUE(sameTensor(run1(unaryIR("relu", t), {T(t, {-1, 2, kNaN, 0})}), t, {0, 2, kNaN, 0}));
  EXPECT_EQ(run1(unaryIR("relu", "tensor<2xi32>"), {TI("tensor<2xi32>", {-4, 4})}).toInts(),
            (std::vector<int64_t>{0, 4}));
}

TEST(InterpreterElementwise, SqrtAndRsqrt) {
  const char* t = "tensor<3xf32>";
  EXPECT_TRUE(sameTensor(run1(unaryIR("sqrt", t), {T(t, {4, -1, 0})}), t, {2, kNaN, 0}));
  EXPECT_TRUE(sameTensor(run1(unaryIR("rsqrt", t), {T(t, {4, 0, 0.25})}), t, {0.5, kInf, 2}));
}

TEST(InterpreterElementwise, NotLogicalAndBitwise) {
  EXPECT_EQ(run1(unaryIR("not", "tensor<2xi1>"), {TI("tensor<2xi1>", {1, 0})}).toInts(),
            (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(run1(unaryIR("not", "tensor<2xi32>"), {TI("tensor<2xi32>", {0, 5})}).toInts(),
            (std::vector<int64_t>{-1, -6}));
}

TEST(InterpreterElementwise, AddSubMulDivFloat) {
  const char* t = "tensor<2xf32>";
  std::vector<Tensor> in = {T(t, {6, -1.5}), T(t, {4, 0.5})};
  EXPECT_TRUE(sameTensor(run1(binaryIR("add", t), in), t, {10, -1}));
  EXPECT_TRUE(sameTensor(run1(binaryIR("sub", t), in), t, {2, -2}));
  EXPECT_TRUE(sameTensor(run1(binaryIR("mul", t), in), t, {24, -0.75}));
  EXPECT_TRUE(sameTensor(run1(binaryIR("div", t), in), t, {1.5, -3}));
}

TEST(InterpreterElementwise, FloatDivisionByZeroIsIEEE) {
  const char* t = "tensor<3xf32>";
  EXPECT_TRUE(sameTensor(run1(binaryIR("div", t), {T(t, {1, -1, 0}), T(t, {0, 0, 0})}), t,
                         {kInf, -kInf, kNaN}));
}

TEST(InterpreterElementwise, IntegerAddWraps) {
  const char* t = "tensor<2xi32>";
  EXPECT_EQ(run1(binaryIR("add", t), {TI(t, {INT32_MAX, -5}), TI(t, {1, 3})}).toInts(),
            (std::vector<int64_t>{INT32_MIN, -2}));
  const char* t64 = "tensor<1xi64>";
  EXPECT_EQ(run1(binaryIR("mul", t64), {TI(t64, {INT64_MAX}), TI(t64, {2})}).toInts(),
            (std::vector<int64_t>{-2}));
  EXPECT_EQ(run1(binaryIR("sub", t64), {TI(t64, {INT64_MIN}), TI(t64, {1})}).toInts(),
            (std::vector<int64_t>{INT64_MAX}));
}

TEST(InterpreterElementwise, IntegerDivTruncatesTowardZero) {
  const char* t = "tensor<4xi32>";
  EXPECT_EQ(
      run1(binaryIR("div", t), {TI(t, {7, -7, 7, INT32_MIN}), TI(t, {2, 2, -2, -1})}).toInts(),
      (std::vector<int64_t>{3, -3, -3, INT32_MIN}));
}

TEST(InterpreterElementwise, IntegerDivisionByZeroIsAnError) {
  const char* t = "tensor<3xi64>";
  std::string msg = runError(binaryIR("div", t), {TI(t, {1, 2, 3}), TI(t, {1, 0, 1})});
  EXPECT_TRUE(contains(msg, "test.cairn:2:3: error: 'div' op integer division by zero"));
  EXPECT_TRUE(contains(msg, "element 1"));
}

TEST(InterpreterElementwise, MaxMinPropagateNaN) {
  const char* t = "tensor<3xf32>";
  std::vector<Tensor> in = {T(t, {1, kNaN, 3}), T(t, {2, 0, kNaN})};
  EXPECT_TRUE(sameTensor(run1(binaryIR("max", t), in), t, {2, kNaN, kNaN}));
  EXPECT_TRUE(sameTensor(run1(binaryIR("min", t), in), t, {1, kNaN, kNaN}));
}

TEST(InterpreterElementwise, MaxMinSignedZeroAndInts) {
  const char* t = "tensor<2xf64>";
  Tensor mx = run1(binaryIR("max", t), {T(t, {-0.0, 0.0}), T(t, {0.0, -0.0})});
  EXPECT_FALSE(std::signbit(mx.getDouble(0)));
  EXPECT_FALSE(std::signbit(mx.getDouble(1)));
  Tensor mn = run1(binaryIR("min", t), {T(t, {-0.0, 0.0}), T(t, {0.0, -0.0})});
  EXPECT_TRUE(std::signbit(mn.getDouble(0)));
  EXPECT_TRUE(std::signbit(mn.getDouble(1)));
  const char* ti = "tensor<2xi64>";
  EXPECT_EQ(run1(binaryIR("max", ti), {TI(ti, {-3, 9}), TI(ti, {-4, 10})}).toInts(),
            (std::vector<int64_t>{-3, 10}));
}

TEST(InterpreterElementwise, Pow) {
  const char* t = "tensor<3xf64>";
  EXPECT_TRUE(sameTensor(run1(binaryIR("pow", t), {T(t, {2, 9, -8}), T(t, {10, 0.5, 1.0 / 3})}), t,
                         {1024, 3, kNaN}));
}

TEST(InterpreterElementwise, AndOr) {
  const char* b = "tensor<4xi1>";
  std::vector<Tensor> in = {TI(b, {0, 0, 1, 1}), TI(b, {0, 1, 0, 1})};
  EXPECT_EQ(run1(binaryIR("and", b), in).toInts(), (std::vector<int64_t>{0, 0, 0, 1}));
  EXPECT_EQ(run1(binaryIR("or", b), in).toInts(), (std::vector<int64_t>{0, 1, 1, 1}));
  const char* t = "tensor<1xi32>";
  EXPECT_EQ(run1(binaryIR("and", t), {TI(t, {12}), TI(t, {10})}).toInts()[0], 8);
  EXPECT_EQ(run1(binaryIR("or", t), {TI(t, {12}), TI(t, {10})}).toInts()[0], 14);
}

TEST(InterpreterElementwise, CompareWithNaN) {
  const char* t = "tensor<3xf32>";
  const char* r = "tensor<3xi1>";
  std::vector<Tensor> in = {T(t, {1, 2, kNaN}), T(t, {2, 2, kNaN})};
  EXPECT_EQ(run1(binaryIR("eq", t, r), in).toInts(), (std::vector<int64_t>{0, 1, 0}));
  EXPECT_EQ(run1(binaryIR("ne", t, r), in).toInts(), (std::vector<int64_t>{1, 0, 1}));
  EXPECT_EQ(run1(binaryIR("lt", t, r), in).toInts(), (std::vector<int64_t>{1, 0, 0}));
  EXPECT_EQ(run1(binaryIR("le", t, r), in).toInts(), (std::vector<int64_t>{1, 1, 0}));
  EXPECT_EQ(run1(binaryIR("gt", t, r), in).toInts(), (std::vector<int64_t>{0, 0, 0}));
  EXPECT_EQ(run1(binaryIR("ge", t, r), in).toInts(), (std::vector<int64_t>{0, 1, 0}));
}

TEST(InterpreterElementwise, CompareIntegersAndScalars) {
  EXPECT_EQ(run1(binaryIR("lt", "tensor<i64>", "tensor<i1>"),
                 {TI("tensor<i64>", {-5}), TI("tensor<i64>", {3})})
                .toInts(),
            (std::vector<int64_t>{1}));
  EXPECT_EQ(run1(binaryIR("ge", "tensor<2xi32>", "tensor<2xi1>"),
                 {TI("tensor<2xi32>", {-1, 7}), TI("tensor<2xi32>", {0, 7})})
                .toInts(),
            (std::vector<int64_t>{0, 1}));
}

TEST(InterpreterElementwise, SelectElementwiseAndScalarPredicate) {
  const char* ir =
      R"(func @f(%p: tensor<3xi1>, %q: tensor<i1>, %a: tensor<3xf32>, %b: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>) {
  %r = select %p, %a, %b : tensor<3xf32>
  %s = select %q, %a, %b : tensor<3xf32>
  return %r, %s
}
)";
  auto r = runOk(ir, {TI("tensor<3xi1>", {1, 0, 1}), TI("tensor<i1>", {0}),
                      T("tensor<3xf32>", {1, 2, 3}), T("tensor<3xf32>", {-1, -2, -3})});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_TRUE(sameTensor(r[0], "tensor<3xf32>", {1, -2, 3}));
  EXPECT_TRUE(sameTensor(r[1], "tensor<3xf32>", {-1, -2, -3}));
}

TEST(InterpreterElementwise, CastFloatToIntTruncatesAndZeroesInvalid) {
  Tensor r = run1(unaryIR("cast", "tensor<6xf32>", "tensor<6xi32>"),
                  {T("tensor<6xf32>", {2.7, -2.7, kNaN, 3e9, -3e9, -0.5})});
  EXPECT_EQ(r.toInts(), (std::vector<int64_t>{2, -2, 0, 0, 0, 0}));
}

TEST(InterpreterElementwise, CastToAndFromBool) {
  Tensor b = run1(unaryIR("cast", "tensor<4xf32>", "tensor<4xi1>"),
                  {T("tensor<4xf32>", {0, -0.0, 0.1, kNaN})});
  EXPECT_EQ(b.toInts(), (std::vector<int64_t>{0, 0, 1, 1}));
  Tensor f = run1(unaryIR("cast", "tensor<2xi1>", "tensor<2xf64>"), {TI("tensor<2xi1>", {1, 0})});
  EXPECT_TRUE(sameTensor(f, "tensor<2xf64>", {1, 0}));
}

TEST(InterpreterElementwise, CastIntegerNarrowingKeepsLowBits) {
  Tensor r = run1(unaryIR("cast", "tensor<2xi64>", "tensor<2xi32>"),
                  {TI("tensor<2xi64>", {(int64_t(1) << 32) + 5, -1})});
  EXPECT_EQ(r.toInts(), (std::vector<int64_t>{5, -1}));
}

TEST(InterpreterElementwise, CastF64ToF16RoundsOnce) {
  // 1 + 2^-11 + 2^-40 lies just above the tie between the f16 neighbours 1
  // and 1 + 2^-10: correct rounding goes up; rounding to f32 first would drop
  // the 2^-40 and then tie to even (down).
  Tensor r = run1(unaryIR("cast", "tensor<2xf64>", "tensor<2xf16>"),
                  {T("tensor<2xf64>", {1 + std::ldexp(1, -11) + std::ldexp(1, -40), 70000})});
  EXPECT_TRUE(sameTensor(r, "tensor<2xf16>", {1 + std::ldexp(1, -10), kInf}));
}

TEST(InterpreterElementwise, CastToBF16RoundsToNearestEven) {
  // bf16 has 8 significand bits: 1 + 2^-8 is a tie (to even: 1), 1 + 3*2^-8
  // a tie (to even: 1 + 2^-6).
  Tensor r = run1(unaryIR("cast", "tensor<2xf32>", "tensor<2xbf16>"),
                  {T("tensor<2xf32>", {1 + std::ldexp(1, -8), 1 + 3 * std::ldexp(1, -8)})});
  EXPECT_TRUE(sameTensor(r, "tensor<2xbf16>", {1, 1 + std::ldexp(1, -6)}));
}

TEST(InterpreterElementwise, F16ArithmeticRoundsEachResult) {
  // 2048 + 1 is not representable in f16 (spacing 2 there): ties to even 2048.
  const char* t = "tensor<2xf16>";
  EXPECT_TRUE(
      sameTensor(run1(binaryIR("add", t), {T(t, {2048, 0.5}), T(t, {1, 0.25})}), t, {2048, 0.75}));
}

TEST(InterpreterElementwise, BF16Exp) {
  const char* t = "tensor<2xbf16>";
  // exp(1) = 2.71828 -> bf16 2.71875 (nearest with 8 significand bits).
  EXPECT_TRUE(sameTensor(run1(unaryIR("exp", t), {T(t, {1, 0})}), t, {2.71875, 1}));
}

TEST(InterpreterElementwise, EmptyAndScalarTensors) {
  EXPECT_TRUE(sameTensor(run1(binaryIR("add", "tensor<0x3xf32>"),
                              {T("tensor<0x3xf32>", {}), T("tensor<0x3xf32>", {})}),
                         "tensor<0x3xf32>", {}));
  EXPECT_TRUE(sameTensor(
      run1(binaryIR("mul", "tensor<f32>"), {T("tensor<f32>", {3}), T("tensor<f32>", {-2})}),
      "tensor<f32>", {-6}));
}

TEST(InterpreterElementwise, DynamicOperandsOfDifferentRuntimeSizeAreAnError) {
  std::string msg = runError(binaryIR("add", "tensor<?xf32>"),
                             {T("tensor<2xf32>", {1, 2}), T("tensor<3xf32>", {1, 2, 3})});
  EXPECT_TRUE(contains(msg, "'add' op operand shapes differ at run time: [2] vs [3]"));
}

} // namespace
} // namespace cairn::testing
