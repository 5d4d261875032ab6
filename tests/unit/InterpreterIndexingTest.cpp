// Interpreter tests of the indexed ops: dynamic_slice, dynamic_update_slice,
// gather, scatter, scatter_add, with their out-of-range errors.
#include "tests/unit/InterpreterTestUtil.h"

namespace cairn::testing {
namespace {

const char* kDynSlice =
    R"(func @f(%a: tensor<3x4xi32>, %i: tensor<i32>, %j: tensor<i64>) -> tensor<2x2xi32> {
  %s = dynamic_slice %a, %i, %j {sizes = [2, 2]} : tensor<2x2xi32>
  return %s
}
)";

Tensor grid() {
  return TI("tensor<3x4xi32>", {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
}

TEST(InterpreterIndexing, DynamicSlice) {
  EXPECT_EQ(run1(kDynSlice, {grid(), TI("tensor<i32>", {1}), TI("tensor<i64>", {2})}).toInts(),
            (std::vector<int64_t>{6, 7, 10, 11}));
  EXPECT_EQ(run1(kDynSlice, {grid(), TI("tensor<i32>", {0}), TI("tensor<i64>", {0})}).toInts(),
            (std::vector<int64_t>{0, 1, 4, 5}));
}

TEST(InterpreterIndexing, DynamicSliceOutOfRangeIsAnError) {
  std::string msg = runError(kDynSlice, {grid(), TI("tensor<i32>", {2}), TI("tensor<i64>", {0})});
  EXPECT_TRUE(contains(msg, "test.cairn:2:3: error: 'dynamic_slice' op start index 2 (dim 0) is "
                            "out of range [0, 1] for a block of size 2 in a dim of size 3"));
  msg = runError(kDynSlice, {grid(), TI("tensor<i32>", {0}), TI("tensor<i64>", {-1})});
  EXPECT_TRUE(contains(msg, "start index -1 (dim 1) is out of range [0, 2]"));
}

TEST(InterpreterIndexing, DynamicSliceOfDynamicOperand) {
  // The rnn sketch's step: one row of a [?, 2] sequence.
  const char* ir = R"(func @f(%xs: tensor<?x2xf32>, %t: tensor<i32>) -> tensor<1x2xf32> {
  %z = constant 0 : tensor<i32>
  %x = dynamic_slice %xs, %t, %z {sizes = [1, 2]} : tensor<1x2xf32>
  return %x
}
)";
  Tensor xs = T("tensor<3x2xf32>", {1, 2, 3, 4, 5, 6});
  EXPECT_TRUE(sameTensor(run1(ir, {xs, TI("tensor<i32>", {2})}), "tensor<1x2xf32>", {5, 6}));
  EXPECT_TRUE(contains(runError(ir, {xs, TI("tensor<i32>", {3})}), "start index 3 (dim 0)"));
}

const char* kDus =
    R"(func @f(%a: tensor<3x3xf32>, %u: tensor<2x1xf32>, %i: tensor<i32>, %j: tensor<i32>) -> tensor<3x3xf32> {
  %r = dynamic_update_slice %a, %u, %i, %j : tensor<3x3xf32>
  return %r
}
)";

TEST(InterpreterIndexing, DynamicUpdateSlice) {
  Tensor a = T("tensor<3x3xf32>", {0, 0, 0, 0, 0, 0, 0, 0, 0});
  Tensor u = T("tensor<2x1xf32>", {7, 8});
  EXPECT_TRUE(sameTensor(run1(kDus, {a, u, TI("tensor<i32>", {1}), TI("tensor<i32>", {2})}),
                         "tensor<3x3xf32>", {0, 0, 0, 0, 0, 7, 0, 0, 8}));
}

TEST(InterpreterIndexing, DynamicUpdateSliceOutOfRangeIsAnError) {
  Tensor a = T("tensor<3x3xf32>", {0, 0, 0, 0, 0, 0, 0, 0, 0});
  Tensor u = T("tensor<2x1xf32>", {7, 8});
  std::string msg = runError(kDus, {a, u, TI("tensor<i32>", {2}), TI("tensor<i32>", {0})});
  EXPECT_TRUE(contains(msg, "'dynamic_update_slice' op start index 2 (dim 0) is out of range "
                            "[0, 1]"));
}

TEST(InterpreterIndexing, GatherRows) {
  const char* ir = R"(func @f(%e: tensor<3x2xf32>, %i: tensor<4xi32>) -> tensor<4x2xf32> {
  %g = gather %e, %i {axis = 0} : tensor<4x2xf32>
  return %g
}
)";
  EXPECT_TRUE(sameTensor(
      run1(ir, {T("tensor<3x2xf32>", {1, 2, 3, 4, 5, 6}), TI("tensor<4xi32>", {2, 0, 2, 1})}),
      "tensor<4x2xf32>", {5, 6, 1, 2, 5, 6, 3, 4}));
}

TEST(InterpreterIndexing, GatherAxis1WithMatrixIndices) {
  // result[p, q0, q1] = x[p, idx[q0, q1]]
  const char* ir = R"(func @f(%x: tensor<2x3xi64>, %i: tensor<2x2xi64>) -> tensor<2x2x2xi64> {
  %g = gather %x, %i {axis = 1} : tensor<2x2x2xi64>
  return %g
}
)";
  EXPECT_EQ(run1(ir, {TI("tensor<2x3xi64>", {10, 11, 12, 20, 21, 22}),
                      TI("tensor<2x2xi64>", {0, 2, 1, 1})})
                .toInts(),
            (std::vector<int64_t>{10, 12, 11, 11, 20, 22, 21, 21}));
}

TEST(InterpreterIndexing, GatherWithBatchDims) {
  // Per-row pick (SPINN's "top of stack"): result[b] = x[b, idx[b]].
  const char* ir = R"(func @f(%x: tensor<2x3xf32>, %i: tensor<2xi32>) -> tensor<2xf32> {
  %g = gather %x, %i {axis = 1, batch_dims = 1} : tensor<2xf32>
  return %g
}
)";
  EXPECT_TRUE(
      sameTensor(run1(ir, {T("tensor<2x3xf32>", {1, 2, 3, 4, 5, 6}), TI("tensor<2xi32>", {2, 0})}),
                 "tensor<2xf32>", {3, 4}));
}

TEST(InterpreterIndexing, GatherScalarIndex) {
  const char* ir = R"(func @f(%x: tensor<3x2xf32>, %i: tensor<i32>) -> tensor<2xf32> {
  %g = gather %x, %i {axis = 0} : tensor<2xf32>
  return %g
}
)";
  EXPECT_TRUE(
      sameTensor(run1(ir, {T("tensor<3x2xf32>", {1, 2, 3, 4, 5, 6}), TI("tensor<i32>", {1})}),
                 "tensor<2xf32>", {3, 4}));
}

TEST(InterpreterIndexing, GatherOutOfRangeIsAnError) {
  const char* ir = R"(func @f(%e: tensor<3x2xf32>, %i: tensor<2xi32>) -> tensor<2x2xf32> {
  %g = gather %e, %i {axis = 0} : tensor<2x2xf32>
  return %g
}
)";
  Tensor e = T("tensor<3x2xf32>", {1, 2, 3, 4, 5, 6});
  EXPECT_TRUE(contains(runError(ir, {e, TI("tensor<2xi32>", {0, 3})}),
                       "'gather' op index 3 at position [1] of the indices is out of range [0, 3) "
                       "for axis 0"));
  EXPECT_TRUE(
      contains(runError(ir, {e, TI("tensor<2xi32>", {-1, 0})}), "index -1 at position [0]"));
}

TEST(InterpreterIndexing, ScatterOverwriteLastWins) {
  const char* ir =
      R"(func @f(%x: tensor<4xf32>, %i: tensor<3xi32>, %u: tensor<3xf32>) -> tensor<4xf32> {
  %s = scatter %x, %i, %u {axis = 0} : tensor<4xf32>
  return %s
}
)";
  EXPECT_TRUE(sameTensor(run1(ir, {T("tensor<4xf32>", {0, 0, 0, 0}), TI("tensor<3xi32>", {1, 3, 1}),
                                   T("tensor<3xf32>", {5, 6, 7})}),
                         "tensor<4xf32>", {0, 7, 0, 6}));
}

TEST(InterpreterIndexing, ScatterAddAccumulatesRepeats) {
  const char* ir =
      R"(func @f(%x: tensor<3x2xf32>, %i: tensor<3xi64>, %u: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %s = scatter_add %x, %i, %u {axis = 0} : tensor<3x2xf32>
  return %s
}
)";
  EXPECT_TRUE(
      sameTensor(run1(ir, {T("tensor<3x2xf32>", {1, 1, 1, 1, 1, 1}), TI("tensor<3xi64>", {2, 0, 2}),
                           T("tensor<3x2xf32>", {1, 2, 3, 4, 5, 6})}),
                 "tensor<3x2xf32>", {4, 5, 1, 1, 7, 9}));
}

TEST(InterpreterIndexing, ScatterWithBatchDimsIsPerRowPush) {
  // SPINN's push: stack[b, sp[b]] = value[b].
  const char* ir =
      R"(func @f(%st: tensor<2x3xi32>, %sp: tensor<2xi32>, %v: tensor<2xi32>) -> tensor<2x3xi32> {
  %s = scatter %st, %sp, %v {axis = 1, batch_dims = 1} : tensor<2x3xi32>
  return %s
}
)";
  EXPECT_EQ(run1(ir, {TI("tensor<2x3xi32>", {0, 0, 0, 0, 0, 0}), TI("tensor<2xi32>", {1, 2}),
                      TI("tensor<2xi32>", {8, 9})})
                .toInts(),
            (std::vector<int64_t>{0, 8, 0, 0, 0, 9}));
}

TEST(InterpreterIndexing, ScatterAddIntegerWraps) {
  const char* ir =
      R"(func @f(%x: tensor<1xi32>, %i: tensor<2xi32>, %u: tensor<2xi32>) -> tensor<1xi32> {
  %s = scatter_add %x, %i, %u {axis = 0} : tensor<1xi32>
  return %s
}
)";
  EXPECT_EQ(run1(ir, {TI("tensor<1xi32>", {INT32_MAX}), TI("tensor<2xi32>", {0, 0}),
                      TI("tensor<2xi32>", {1, 1})})
                .toInts(),
            (std::vector<int64_t>{INT32_MIN + 1}));
}

TEST(InterpreterIndexing, ScatterOutOfRangeIsAnError) {
  const char* ir =
      R"(func @f(%x: tensor<4xf32>, %i: tensor<2xi32>, %u: tensor<2xf32>) -> tensor<4xf32> {
  %s = scatter_add %x, %i, %u {axis = 0} : tensor<4xf32>
  return %s
}
)";
  std::string msg = runError(ir, {T("tensor<4xf32>", {0, 0, 0, 0}), TI("tensor<2xi32>", {0, 4}),
                                  T("tensor<2xf32>", {1, 1})});
  EXPECT_TRUE(contains(msg, "'scatter_add' op index 4 at position [1] of the indices is out of "
                            "range [0, 4)"));
}

TEST(InterpreterIndexing, GatherEmptyIndices) {
  const char* ir = R"(func @f(%x: tensor<3xf32>, %i: tensor<0xi32>) -> tensor<0xf32> {
  %g = gather %x, %i {axis = 0} : tensor<0xf32>
  return %g
}
)";
  EXPECT_TRUE(sameTensor(run1(ir, {T("tensor<3xf32>", {1, 2, 3}), TI("tensor<0xi32>", {})}),
                         "tensor<0xf32>", {}));
}

} // namespace
} // namespace cairn::testing
