// Interpreter tests of the data-movement ops (broadcast, reshape, transpose,
// concat, slice, iota, dim, constant, stop_gradient) and of dynamic dims.
#include "tests/unit/InterpreterTestUtil.h"

namespace cairn::testing {
namespace {

TEST(InterpreterShape, BroadcastNewDims) {
  const char* ir = R"(func @f(%a: tensor<3xf32>) -> tensor<2x3xf32> {
  %r = broadcast %a {dims = [1]} : tensor<2x3xf32>
  return %r
}
)";
  EXPECT_TRUE(
      sameTensor(run1(ir, {T("tensor<3xf32>", {1, 2, 3})}), "tensor<2x3xf32>", {1, 2, 3, 1, 2, 3}));
}

TEST(InterpreterShape, BroadcastColumn) {
  const char* ir = R"(func @f(%a: tensor<2xi32>) -> tensor<2x3xi32> {
  %r = broadcast %a {dims = [0]} : tensor<2x3xi32>
  return %r
}
)";
  EXPECT_EQ(run1(ir, {TI("tensor<2xi32>", {7, -8})}).toInts(),
            (std::vector<int64_t>{7, 7, 7, -8, -8, -8}));
}

TEST(InterpreterShape, BroadcastSizeOneExpansion) {
  const char* ir =
      R"(func @f(%a: tensor<1x3xf32>, %b: tensor<2x1xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>) {
  %x = broadcast %a {dims = [0, 1]} : tensor<2x3xf32>
  %y = broadcast %b {dims = [0, 1]} : tensor<2x3xf32>
  return %x, %y
}
)";
  auto r = runOk(ir, {T("tensor<1x3xf32>", {1, 2, 3}), T("tensor<2x1xf32>", {10, 20})});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_TRUE(sameTensor(r[0], "tensor<2x3xf32>", {1, 2, 3, 1, 2, 3}));
  EXPECT_TRUE(sameTensor(r[1], "tensor<2x3xf32>", {10, 10, 10, 20, 20, 20}));
}

TEST(InterpreterShape, BroadcastScalarToRank3) {
  const char* ir = R"(func @f(%a: tensor<f64>) -> tensor<2x1x2xf64> {
  %r = broadcast %a {dims = []} : tensor<2x1x2xf64>
  return %r
}
)";
  EXPECT_TRUE(sameTensor(run1(ir, {T("tensor<f64>", {-2.5})}), "tensor<2x1x2xf64>",
                         {-2.5, -2.5, -2.5, -2.5}));
}

TEST(InterpreterShape, BroadcastDynamicSizeOperand) {
  const char* ir = R"(func @f(%a: tensor<3xf32>, %n: tensor<i32>) -> tensor<?x3xf32> {
  %r = broadcast %a, %n {dims = [1]} : tensor<?x3xf32>
  return %r
}
)";
  EXPECT_TRUE(sameTensor(run1(ir, {T("tensor<3xf32>", {1, 2, 3}), TI("tensor<i32>", {2})}),
                         "tensor<2x3xf32>", {1, 2, 3, 1, 2, 3}));
  EXPECT_TRUE(sameTensor(run1(ir, {T("tensor<3xf32>", {1, 2, 3}), TI("tensor<i32>", {0})}),
                         "tensor<0x3xf32>", {}));
}

TEST(InterpreterShape, BroadcastNegativeDynamicSizeIsAnError) {
  const char* ir = R"(func @f(%a: tensor<3xf32>, %n: tensor<i64>) -> tensor<?x3xf32> {
  %r = broadcast %a, %n {dims = [1]} : tensor<?x3xf32>
  return %r
}
)";
  EXPECT_TRUE(contains(runError(ir, {T("tensor<3xf32>", {1, 2, 3}), TI("tensor<i64>", {-1})}),
                       "'broadcast' op dynamic size operand #1 (for result dim 0) is -1"));
}

TEST(InterpreterShape, BroadcastDynamicOperandMismatch) {
  // The operand's run-time size 2 is neither 1 nor the result's 3.
  const char* ir = R"(func @f(%a: tensor<?xf32>) -> tensor<2x3xf32> {
  %r = broadcast %a {dims = [1]} : tensor<2x3xf32>
  return %r
}
)";
  EXPECT_TRUE(contains(runError(ir, {T("tensor<2xf32>", {1, 2})}),
                       "operand dim 0 has size 2, which is neither 1 nor the size 3"));
}

TEST(InterpreterShape, Reshape) {
  const char* ir = R"(func @f(%a: tensor<2x3xi64>) -> tensor<3x2xi64> {
  %r = reshape %a : tensor<3x2xi64>
  return %r
}
)";
  Tensor r = run1(ir, {TI("tensor<2x3xi64>", {1, 2, 3, 4, 5, 6})});
  EXPECT_EQ(r.type().toString(), "tensor<3x2xi64>");
  EXPECT_EQ(r.toInts(), (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
}

TEST(InterpreterShape, ReshapeToAndFromScalar) {
  const char* ir = R"(func @f(%a: tensor<1x1xf32>) -> tensor<1xf32> {
  %s = reshape %a : tensor<f32>
  %r = reshape %s : tensor<1xf32>
  return %r
}
)";
  EXPECT_TRUE(sameTensor(run1(ir, {T("tensor<1x1xf32>", {4.5})}), "tensor<1xf32>", {4.5}));
}

TEST(InterpreterShape, ReshapeDynamicCountMismatchIsAnError) {
  const char* ir = R"(func @f(%a: tensor<?xf32>, %n: tensor<i32>) -> tensor<?x2xf32> {
  %r = reshape %a, %n : tensor<?x2xf32>
  return %r
}
)";
  EXPECT_TRUE(sameTensor(run1(ir, {T("tensor<4xf32>", {1, 2, 3, 4}), TI("tensor<i32>", {2})}),
                         "tensor<2x2xf32>", {1, 2, 3, 4}));
  std::string msg = runError(ir, {T("tensor<5xf32>", {1, 2, 3, 4, 5}), TI("tensor<i32>", {2})});
  EXPECT_TRUE(contains(msg, "'reshape' op cannot reshape [5] (5 elements) to [2, 2] (4 elements)"));
}

TEST(InterpreterShape, Transpose2D) {
  const char* ir = R"(func @f(%a: tensor<2x3xf32>) -> tensor<3x2xf32> {
  %t = transpose %a {perm = [1, 0]} : tensor<3x2xf32>
  return %t
}
)";
  EXPECT_TRUE(sameTensor(run1(ir, {T("tensor<2x3xf32>", {1, 2, 3, 4, 5, 6})}), "tensor<3x2xf32>",
                         {1, 4, 2, 5, 3, 6}));
}

TEST(InterpreterShape, Transpose3D) {
  // result[i][j][k] = a[j][k][i] with perm = [2, 0, 1].
  const char* ir = R"(func @f(%a: tensor<2x1x3xi32>) -> tensor<3x2x1xi32> {
  %t = transpose %a {perm = [2, 0, 1]} : tensor<3x2x1xi32>
  return %t
}
)";
  EXPECT_EQ(run1(ir, {TI("tensor<2x1x3xi32>", {1, 2, 3, 4, 5, 6})}).toInts(),
            (std::vector<int64_t>{1, 4, 2, 5, 3, 6}));
}

TEST(InterpreterShape, ConcatAxis0And1) {
  const char* ir =
      R"(func @f(%a: tensor<1x2xf32>, %b: tensor<2x2xf32>, %c: tensor<2x1xf32>) -> (tensor<3x2xf32>, tensor<2x3xf32>) {
  %x = concat %a, %b {axis = 0} : tensor<3x2xf32>
  %y = concat %b, %c {axis = 1} : tensor<2x3xf32>
  return %x, %y
}
)";
  auto r = runOk(ir, {T("tensor<1x2xf32>", {1, 2}), T("tensor<2x2xf32>", {3, 4, 5, 6}),
                      T("tensor<2x1xf32>", {7, 8})});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_TRUE(sameTensor(r[0], "tensor<3x2xf32>", {1, 2, 3, 4, 5, 6}));
  EXPECT_TRUE(sameTensor(r[1], "tensor<2x3xf32>", {3, 4, 7, 5, 6, 8}));
}

TEST(InterpreterShape, ConcatSingleAndEmptyOperands) {
  const char* ir = R"(func @f(%a: tensor<0xi1>, %b: tensor<2xi1>) -> tensor<2xi1> {
  %x = concat %a, %b {axis = 0} : tensor<2xi1>
  %y = concat %x {axis = 0} : tensor<2xi1>
  return %y
}
)";
  EXPECT_EQ(run1(ir, {TI("tensor<0xi1>", {}), TI("tensor<2xi1>", {1, 0})}).toInts(),
            (std::vector<int64_t>{1, 0}));
}

TEST(InterpreterShape, ConcatDynamicMismatchIsAnError) {
  const char* ir = R"(func @f(%a: tensor<?x2xf32>, %b: tensor<1x?xf32>) -> tensor<?x2xf32> {
  %x = concat %a, %b {axis = 0} : tensor<?x2xf32>
  return %x
}
)";
  std::string msg = runError(ir, {T("tensor<1x2xf32>", {1, 2}), T("tensor<1x3xf32>", {1, 2, 3})});
  EXPECT_TRUE(contains(msg, "'concat' op operand #1 has shape [1, 3]"));
}

TEST(InterpreterShape, SliceWithStride) {
  const char* ir = R"(func @f(%a: tensor<3x4xi32>) -> tensor<2x2xi32> {
  %s = slice %a {start = [0, 1], limit = [3, 4], stride = [2, 2]} : tensor<2x2xi32>
  return %s
}
)";
  EXPECT_EQ(run1(ir, {TI("tensor<3x4xi32>", {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})}).toInts(),
            (std::vector<int64_t>{1, 3, 9, 11}));
}

TEST(InterpreterShape, SliceDefaultStrideAndEmpty) {
  const char* ir = R"(func @f(%a: tensor<4xf32>) -> (tensor<2xf32>, tensor<0xf32>) {
  %s = slice %a {start = [1], limit = [3]} : tensor<2xf32>
  %e = slice %a {start = [2], limit = [2]} : tensor<0xf32>
  return %s, %e
}
)";
  auto r = runOk(ir, {T("tensor<4xf32>", {1, 2, 3, 4})});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_TRUE(sameTensor(r[0], "tensor<2xf32>", {2, 3}));
  EXPECT_TRUE(sameTensor(r[1], "tensor<0xf32>", {}));
}

TEST(InterpreterShape, SliceOutOfDynamicBoundsIsAnError) {
  const char* ir = R"(func @f(%a: tensor<?xf32>) -> tensor<2xf32> {
  %s = slice %a {start = [1], limit = [3]} : tensor<2xf32>
  return %s
}
)";
  EXPECT_TRUE(contains(runError(ir, {T("tensor<2xf32>", {1, 2})}),
                       "'slice' op slice [1, 3) of dim 0 is out of bounds for size 2"));
}

TEST(InterpreterShape, Iota) {
  const char* ir = R"(func @f() -> (tensor<2x3xi32>, tensor<2x3xf32>) {
  %a = iota {axis = 0} : tensor<2x3xi32>
  %b = iota {axis = 1} : tensor<2x3xf32>
  return %a, %b
}
)";
  auto r = runOk(ir);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].toInts(), (std::vector<int64_t>{0, 0, 0, 1, 1, 1}));
  EXPECT_TRUE(sameTensor(r[1], "tensor<2x3xf32>", {0, 1, 2, 0, 1, 2}));
}

TEST(InterpreterShape, IotaDynamic) {
  const char* ir = R"(func @f(%n: tensor<i64>) -> tensor<?xi64> {
  %a = iota %n {axis = 0} : tensor<?xi64>
  return %a
}
)";
  Tensor r = run1(ir, {TI("tensor<i64>", {4})});
  EXPECT_EQ(r.type().toString(), "tensor<4xi64>");
  EXPECT_EQ(r.toInts(), (std::vector<int64_t>{0, 1, 2, 3}));
}

TEST(InterpreterShape, DimOfDynamicArgument) {
  const char* ir = R"(func @f(%a: tensor<?x3x?xf32>) -> (tensor<i32>, tensor<i64>, tensor<i32>) {
  %d0 = dim %a {axis = 0} : tensor<i32>
  %d1 = dim %a {axis = 1} : tensor<i64>
  %d2 = dim %a {axis = 2} : tensor<i32>
  return %d0, %d1, %d2
}
)";
  auto r = runOk(ir, {T("tensor<5x3x0xf32>", {})});
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].toInts(), std::vector<int64_t>{5});
  EXPECT_EQ(r[1].type().toString(), "tensor<i64>");
  EXPECT_EQ(r[1].toInts(), std::vector<int64_t>{3});
  EXPECT_EQ(r[2].toInts(), std::vector<int64_t>{0});
}

TEST(InterpreterShape, DynamicDimsFlowThroughToResults) {
  // Elementwise ops on `?` dims keep the argument's run-time size; the
  // function's `?` result accepts any size.
  const char* ir = R"(func @f(%a: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %b = add %a, %a : tensor<?x2xf32>
  %c = tanh %b : tensor<?x2xf32>
  return %c
}
)";
  Tensor r = run1(ir, {T("tensor<3x2xf32>", {0, 0, 0, 0, 0, 0})});
  EXPECT_EQ(r.type().toString(), "tensor<3x2xf32>");
}

TEST(InterpreterShape, ConstantSplatAndList) {
  const char* ir = R"(func @f() -> (tensor<2x2xf32>, tensor<2x2xi32>, tensor<i1>, tensor<3xbf16>) {
  %a = constant 1.5 : tensor<2x2xf32>
  %b = constant [[1, 2], [3, -4]] : tensor<2x2xi32>
  %c = constant true : tensor<i1>
  %d = constant [0.5, -2, 3] : tensor<3xbf16>
  return %a, %b, %c, %d
}
)";
  auto r = runOk(ir);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_TRUE(sameTensor(r[0], "tensor<2x2xf32>", {1.5, 1.5, 1.5, 1.5}));
  EXPECT_EQ(r[1].toInts(), (std::vector<int64_t>{1, 2, 3, -4}));
  EXPECT_EQ(r[2].toInts(), std::vector<int64_t>{1});
  EXPECT_TRUE(sameTensor(r[3], "tensor<3xbf16>", {0.5, -2, 3}));
}

TEST(InterpreterShape, StopGradientIsIdentity) {
  const char* ir = R"(func @f(%a: tensor<2xf64>) -> tensor<2xf64> {
  %r = stop_gradient %a : tensor<2xf64>
  return %r
}
)";
  EXPECT_TRUE(sameTensor(run1(ir, {T("tensor<2xf64>", {1, -1})}), "tensor<2xf64>", {1, -1}));
}

} // namespace
} // namespace cairn::testing
