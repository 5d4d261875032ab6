// Unit tests of what each pass must and must not do: the inexact float
// identities canonicalize refuses, folding limits, CSE's scoping and exact
// constant comparison, DCE's loop-carried value analysis.
#include "PassesTestUtil.h"
#include "compiler/passes/CSE.h"
#include "compiler/passes/Canonicalize.h"
#include "compiler/passes/DCE.h"

namespace cairn {
namespace {

using passtest::countAllOps;
using passtest::countOps;
using passtest::expectPreservesResults;
using passtest::parseOk;

//===--- Canonicalize -------------------------------------------------------===//

TEST(CanonicalizeTest, FloatPlusPositiveZeroIsKept) {
  // -0.0 + 0.0 is +0.0, so x + 0.0 is not x.
  auto m = parseOk(R"(func @f(%x: tensor<2xf32>) -> tensor<2xf32> {
  %z = constant 0.0 : tensor<2xf32>
  %a = add %x, %z : tensor<2xf32>
  return %a
})");
  ASSERT_TRUE(canonicalize(*m).isOk());
  EXPECT_EQ(countOps(*m, OpKind::Add), 1);
}

TEST(CanonicalizeTest, FloatTimesZeroIsKept) {
  auto m = parseOk(R"(func @f(%x: tensor<2xf64>) -> tensor<2xf64> {
  %z = constant 0.0 : tensor<2xf64>
  %a = mul %z, %x : tensor<2xf64>
  return %a
})");
  ASSERT_TRUE(canonicalize(*m).isOk());
  EXPECT_EQ(countOps(*m, OpKind::Mul), 1);
}

TEST(CanonicalizeTest, FloatMinusNegativeZeroIsKept) {
  // -0.0 - -0.0 is +0.0.
  auto m = parseOk(R"(func @f(%x: tensor<2xf32>) -> tensor<2xf32> {
  %z = constant -0.0 : tensor<2xf32>
  %a = sub %x, %z : tensor<2xf32>
  return %a
})");
  ASSERT_TRUE(canonicalize(*m).isOk());
  EXPECT_EQ(countOps(*m, OpKind::Sub), 1);
}

TEST(CanonicalizeTest, NonSplatConstantsDoNotMatchIdentities) {
  auto m = parseOk(R"(func @f(%x: tensor<2xi32>) -> tensor<2xi32> {
  %c = constant [0, 1] : tensor<2xi32>
  %a = add %x, %c : tensor<2xi32>
  %b = mul %a, %c : tensor<2xi32>
  return %b
})");
  auto changed = canonicalize(*m);
  ASSERT_TRUE(changed.isOk());
  EXPECT_FALSE(*changed);
}

TEST(CanonicalizeTest, FoldingRespectsTheElementLimit) {
  const char* text = R"(func @f() -> tensor<8xf32> {
  %a = constant 2.0 : tensor<8xf32>
  %b = exp %a : tensor<8xf32>
  return %b
})";
  auto m = parseOk(text);
  CanonicalizeOptions small;
  small.maxFoldElements = 4;
  ASSERT_TRUE(canonicalize(*m, small).isOk());
  EXPECT_EQ(countOps(*m, OpKind::Exp), 1);
  CanonicalizeStats stats;
  ASSERT_TRUE(canonicalize(*m, {}, &stats).isOk());
  EXPECT_EQ(countOps(*m, OpKind::Exp), 0);
  EXPECT_EQ(stats.count("fold"), 1);
}

TEST(CanonicalizeTest, FoldingLeavesRunTimeErrorsToRunTime) {
  const char* text = R"(func @f() -> tensor<i64> {
  %a = constant 1 : tensor<i64>
  %z = constant 0 : tensor<i64>
  %q = div %a, %z : tensor<i64>
  return %q
})";
  auto m = parseOk(text);
  auto changed = canonicalize(*m);
  ASSERT_TRUE(changed.isOk());
  EXPECT_FALSE(*changed);
  EXPECT_FALSE(interpret(*m->functions()[0], {}).isOk());
}

TEST(CanonicalizeTest, StopGradientIsNeverFolded) {
  auto m = parseOk(R"(func @f() -> tensor<f32> {
  %a = constant 1.0 : tensor<f32>
  %s = stop_gradient %a : tensor<f32>
  return %s
})");
  ASSERT_TRUE(canonicalize(*m).isOk());
  EXPECT_EQ(countOps(*m, OpKind::StopGradient), 1);
}

TEST(CanonicalizeTest, FoldingCanBeDisabled) {
  auto m = parseOk(R"(func @f() -> tensor<f32> {
  %a = constant 1.0 : tensor<f32>
  %b = exp %a : tensor<f32>
  return %b
})");
  CanonicalizeOptions opts;
  opts.fold = false;
  auto changed = canonicalize(*m, opts);
  ASSERT_TRUE(changed.isOk());
  EXPECT_FALSE(*changed);
}

TEST(CanonicalizeTest, ReachesAFixedPointInOneCall) {
  // Folding feeds patterns feeds folding: (c1 - c1) is folded to 0, which
  // makes x + 0 an identity, whose result then feeds neg(neg).
  auto m = parseOk(R"(func @f(%x: tensor<2xi32>) -> tensor<2xi32> {
  %c = constant 5 : tensor<2xi32>
  %z = sub %c, %c : tensor<2xi32>
  %a = add %x, %z : tensor<2xi32>
  %n = neg %a : tensor<2xi32>
  %m = neg %n : tensor<2xi32>
  return %m
})");
  ASSERT_TRUE(canonicalize(*m).isOk());
  std::string once = printModule(*m);
  auto again = canonicalize(*m);
  ASSERT_TRUE(again.isOk());
  ASSERT_TRUE(eliminateDeadCode(*m).isOk());
  EXPECT_EQ(countAllOps(*m), 1) << printModule(*m); // just the return
  EXPECT_FALSE(*again) << once;
}

TEST(CanonicalizeTest, DynamicReshapeToSameTypeIsKept) {
  // tensor<?x?> to tensor<?x?> may still change the shape (2x6 -> 3x4).
  auto m =
      parseOk(R"(func @f(%x: tensor<?x?xf32>, %a: tensor<i32>, %b: tensor<i32>) -> tensor<?x?xf32> {
  %r = reshape %x, %a, %b : tensor<?x?xf32>
  return %r
})");
  ASSERT_TRUE(canonicalize(*m).isOk());
  EXPECT_EQ(countOps(*m, OpKind::Reshape), 1);
}

//===--- CSE -------------------------------------------------------------------===//

TEST(CSETest, MergesDuplicatesAndCountsThem) {
  auto m = parseOk(R"(func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = tanh %x : tensor<4xf32>
  %b = tanh %x : tensor<4xf32>
  %c = tanh %x : tensor<4xf32>
  %s = add %a, %b : tensor<4xf32>
  %t = add %s, %c : tensor<4xf32>
  return %t
})");
  int64_t merged = 0;
  auto changed = eliminateCommonSubexpressions(*m, &merged);
  ASSERT_TRUE(changed.isOk());
  EXPECT_TRUE(*changed);
  EXPECT_EQ(merged, 2);
  EXPECT_EQ(countOps(*m, OpKind::Tanh), 1);
}

TEST(CSETest, ConstantsCompareByBytes) {
  auto m = parseOk(R"(func @f() -> (tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) {
  %a = constant nan : tensor<2xf32>
  %b = constant nan : tensor<2xf32>
  %c = constant 0.0 : tensor<2xf32>
  %d = constant -0.0 : tensor<2xf32>
  return %a, %b, %c, %d
})");
  ASSERT_TRUE(eliminateCommonSubexpressions(*m).isOk());
  EXPECT_EQ(countOps(*m, OpKind::Constant), 3); // the NaNs merge, the zeros do not
}

TEST(CSETest, LoopBodyValuesDoNotLeakOut) {
  const char* text =
      R"(func @f(%x: tensor<4xf32>, %n: tensor<i32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %z = constant 0 : tensor<i32>
  %r:2 = while (%i = %z, %h = %x) : (tensor<i32>, tensor<4xf32>) cond {
    %go = lt %i, %n : tensor<i1>
    yield %go
  } body {
    %one = constant 1 : tensor<i32>
    %i1 = add %i, %one : tensor<i32>
    %e = exp %x : tensor<4xf32>
    yield %i1, %e
  }
  %e2 = exp %x : tensor<4xf32>
  return %r#1, %e2
})";
  auto m = parseOk(text);
  auto changed = eliminateCommonSubexpressions(*m);
  ASSERT_TRUE(changed.isOk());
  EXPECT_FALSE(*changed);
  EXPECT_EQ(countOps(*m, OpKind::Exp), 2);
  EXPECT_TRUE(verify(*m).isOk());
}

TEST(CSETest, OuterValuesAreReusedInsideRegions) {
  auto m = parseOk(R"(func @f(%p: tensor<i1>, %x: tensor<4xf32>) -> tensor<4xf32> {
  %e = exp %x : tensor<4xf32>
  %r = if %p -> (tensor<4xf32>) {
    %e2 = exp %x : tensor<4xf32>
    yield %e2
  } else {
    %e3 = exp %x : tensor<4xf32>
    yield %e3
  }
  %s = add %r, %e : tensor<4xf32>
  return %s
})");
  ASSERT_TRUE(eliminateCommonSubexpressions(*m).isOk());
  EXPECT_EQ(countOps(*m, OpKind::Exp), 1);
  EXPECT_TRUE(verify(*m).isOk());
}

TEST(CSETest, DifferentResultTypesAreNotMerged) {
  auto m = parseOk(R"(func @f(%x: tensor<2x3xf32>) -> (tensor<i32>, tensor<i64>) {
  %a = dim %x {axis = 0} : tensor<i32>
  %b = dim %x {axis = 0} : tensor<i64>
  return %a, %b
})");
  auto changed = eliminateCommonSubexpressions(*m);
  ASSERT_TRUE(changed.isOk());
  EXPECT_FALSE(*changed);
}

//===--- DCE -------------------------------------------------------------------===//

TEST(DCETest, RemovesDeadChainsInOneSweep) {
  auto m = parseOk(R"(func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = exp %x : tensor<4xf32>
  %b = tanh %a : tensor<4xf32>
  %c = add %b, %a : tensor<4xf32>
  return %x
})");
  DCEStats stats;
  auto changed = eliminateDeadCode(*m, &stats);
  ASSERT_TRUE(changed.isOk());
  EXPECT_TRUE(*changed);
  EXPECT_EQ(stats.opsRemoved, 3);
  EXPECT_EQ(countAllOps(*m), 1);
}

const char* kCarried =
    R"(func @f(%x: tensor<4xf32>, %n: tensor<i32>, %m: tensor<i32>) -> tensor<4xf32> {
  %z = constant 0 : tensor<i32>
  %r:4 = while (%i = %z, %h = %x, %dead = %x, %feeds = %x) : (tensor<i32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) max_trip %m cond {
    %go = lt %i, %n : tensor<i1>
    yield %go
  } body {
    %one = constant 1 : tensor<i32>
    %i1 = add %i, %one : tensor<i32>
    %h1 = add %h, %feeds : tensor<4xf32>
    %d1 = exp %dead : tensor<4xf32>
    %d2 = add %d1, %h : tensor<4xf32>
    %f1 = tanh %feeds : tensor<4xf32>
    yield %i1, %h1, %d2, %f1
  }
  return %r#1
})";

TEST(DCETest, DropsOnlyTheDeadCarriedValue) {
  auto m = parseOk(kCarried);
  DCEStats stats;
  ASSERT_TRUE(eliminateDeadCode(*m, &stats).isOk());
  EXPECT_EQ(stats.carriedValuesRemoved, 1);
  EXPECT_EQ(countOps(*m, OpKind::Exp), 0);
  EXPECT_EQ(countOps(*m, OpKind::Tanh), 1);
  Op* loop = nullptr;
  walk(*m->functions()[0], [&](Op& op) {
    if (op.kind() == OpKind::While) loop = &op;
  });
  ASSERT_TRUE(loop);
  EXPECT_EQ(loop->numResults(), 3u);
  EXPECT_EQ(loop->numOperands(), 4u); // three inits and the max_trip operand
  EXPECT_TRUE(verify(*m).isOk()) << printModule(*m);
}

TEST(DCETest, DroppingCarriedValuesPreservesResults) {
  expectPreservesResults(kCarried, {"dce"});
}

TEST(DCETest, CarriedValueReadByTheCondIsKept) {
  auto m = parseOk(R"(func @f(%n: tensor<i32>) -> tensor<i32> {
  %z = constant 0 : tensor<i32>
  %r:2 = while (%i = %z, %limit = %n) : (tensor<i32>, tensor<i32>) cond {
    %go = lt %i, %limit : tensor<i1>
    yield %go
  } body {
    %one = constant 1 : tensor<i32>
    %i1 = add %i, %one : tensor<i32>
    yield %i1, %limit
  }
  return %r#0
})");
  DCEStats stats;
  ASSERT_TRUE(eliminateDeadCode(*m, &stats).isOk());
  EXPECT_EQ(stats.carriedValuesRemoved, 0);
}

TEST(DCETest, KeepsEveryFunction) {
  auto m = parseOk(R"(func @helper(%x: tensor<f32>) -> tensor<f32> {
  return %x
}
func @main(%x: tensor<f32>) -> tensor<f32> {
  %e = exp %x : tensor<f32>
  return %x
})");
  ASSERT_TRUE(eliminateDeadCode(*m).isOk());
  EXPECT_EQ(m->functions().size(), 2u);
  EXPECT_EQ(countOps(*m, OpKind::Exp), 0);
}

TEST(DCETest, NothingToDoReportsNoChange) {
  auto m = parseOk(R"(func @f(%x: tensor<f32>) -> tensor<f32> {
  %e = exp %x : tensor<f32>
  return %e
})");
  auto changed = eliminateDeadCode(*m);
  ASSERT_TRUE(changed.isOk());
  EXPECT_FALSE(*changed);
}

} // namespace
} // namespace cairn
