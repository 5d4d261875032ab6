// Unit tests of inline and licm: what each must and must not move, on small
// programs, each also checked against the interpreter; and the run-time
// failure facts (mayFailAtRunTime) that decide what licm may hoist.
#include "PassesTestUtil.h"
#include "compiler/PassRegistry.h"
#include "compiler/RewriteUtils.h"
#include "compiler/passes/Inline.h"
#include "compiler/passes/LICM.h"

namespace cairn {
namespace {

using passtest::countOps;
using passtest::expectPreservesResults;
using passtest::parseOk;

//===--- inline --------------------------------------------------------------===//

const char* kCalls = R"(
func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = call @sq(%x) : tensor<4xf32>
  %b = call @twice(%a) : tensor<4xf32>
  return %b
}
func @twice(%v: tensor<4xf32>) -> tensor<4xf32> {
  %s = call @sq(%v) : tensor<4xf32>
  %t = call @sq(%s) : tensor<4xf32>
  return %t
}
func @sq(%v: tensor<4xf32>) -> tensor<4xf32> {
  %m = mul %v, %v : tensor<4xf32>
  return %m
}
)";

TEST(InlineTest, InlinesCallChainsAndKeepsEveryFunction) {
  auto m = parseOk(kCalls);
  ASSERT_TRUE(m);
  int64_t n = 0;
  auto changed = inlineCalls(*m, &n);
  ASSERT_TRUE(changed.isOk());
  EXPECT_TRUE(*changed);
  EXPECT_EQ(countOps(*m, OpKind::Call), 0);
  EXPECT_EQ(m->functions().size(), 3u);
  // @f: one mul from @sq and two from the copy of @twice; @twice: two.
  int fMuls = 0;
  walk(*m->lookup("f"), [&](Op& op) { fMuls += op.kind() == OpKind::Mul; });
  EXPECT_EQ(fMuls, 3);
  EXPECT_TRUE(verify(*m).isOk());
  EXPECT_GE(n, 4);
}

TEST(InlineTest, PreservesResults) {
  expectPreservesResults(kCalls, {"inline"});
}

TEST(InlineTest, LeavesSelfAndMutualRecursionAlone) {
  const char* text = R"(
func @f(%n: tensor<i32>) -> (tensor<i32>, tensor<i32>) {
  %a = call @self(%n) : tensor<i32>
  %b = call @ping(%n) : tensor<i32>
  return %a, %b
}
func @self(%n: tensor<i32>) -> tensor<i32> {
  %z = constant 0 : tensor<i32>
  %done = le %n, %z : tensor<i1>
  %r = if %done -> (tensor<i32>) {
    yield %z
  } else {
    %one = constant 1 : tensor<i32>
    %m = sub %n, %one : tensor<i32>
    %c = call @self(%m) : tensor<i32>
    %c1 = add %c, %one : tensor<i32>
    yield %c1
  }
  return %r
}
func @ping(%n: tensor<i32>) -> tensor<i32> {
  %z = constant 0 : tensor<i32>
  %done = le %n, %z : tensor<i1>
  %r = if %done -> (tensor<i32>) {
    yield %n
  } else {
    %c = call @pong(%n) : tensor<i32>
    yield %c
  }
  return %r
}
func @pong(%n: tensor<i32>) -> tensor<i32> {
  %one = constant 1 : tensor<i32>
  %m = sub %n, %one : tensor<i32>
  %c = call @ping(%m) : tensor<i32>
  return %c
}
)";
  auto m = parseOk(text);
  ASSERT_TRUE(m);
  int before = countOps(*m, OpKind::Call);
  auto changed = inlineCalls(*m);
  ASSERT_TRUE(changed.isOk());
  EXPECT_FALSE(*changed);
  EXPECT_EQ(countOps(*m, OpKind::Call), before);
  expectPreservesResults(text, {"inline"});
}

TEST(InlineTest, InlinesIntoLoopBodiesAndBranches) {
  const char* text = R"(
func @f(%x: tensor<3xf32>, %p: tensor<i1>, %n: tensor<i32>) -> tensor<3xf32> {
  %z = constant 0 : tensor<i32>
  %r:2 = while (%i = %z, %h = %x) : (tensor<i32>, tensor<3xf32>) cond {
    %go = lt %i, %n : tensor<i1>
    yield %go
  } body {
    %b = if %p -> (tensor<3xf32>) {
      %c = call @g(%h) : tensor<3xf32>
      yield %c
    } else {
      yield %h
    }
    %one = constant 1 : tensor<i32>
    %i1 = add %i, %one : tensor<i32>
    yield %i1, %b
  }
  return %r#1
}
func @g(%v: tensor<3xf32>) -> tensor<3xf32> {
  %t = tanh %v : tensor<3xf32>
  return %t
}
)";
  auto m = parseOk(text);
  ASSERT_TRUE(m);
  ASSERT_TRUE(inlineCalls(*m).isOk());
  EXPECT_EQ(countOps(*m, OpKind::Call), 0);
  int tanhInF = 0;
  walk(*m->lookup("f"), [&](Op& op) {
    if (op.kind() == OpKind::Tanh) {
      ++tanhInF;
      EXPECT_EQ(op.parentOp()->kind(), OpKind::If);
    }
  });
  EXPECT_EQ(tanhInF, 1);
  expectPreservesResults(text, {"inline"});
}

TEST(InlineTest, StaticArgumentsMeetDynamicParametersThroughAReshape) {
  const char* text = R"(
func @f(%x: tensor<?x3xf32>) -> tensor<?x?xf32> {
  %r = call @g(%x) : tensor<?x?xf32>
  return %r
}
func @g(%v: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %e = exp %v : tensor<?x?xf32>
  return %e
}
)";
  auto m = parseOk(text);
  ASSERT_TRUE(m);
  ASSERT_TRUE(inlineCalls(*m).isOk());
  EXPECT_TRUE(verify(*m).isOk()) << verify(*m).message();
  Function* f = m->lookup("f");
  int reshapes = 0, dims = 0;
  walk(*f, [&](Op& op) {
    reshapes += op.kind() == OpKind::Reshape;
    dims += op.kind() == OpKind::Dim;
  });
  EXPECT_EQ(reshapes, 1);
  EXPECT_EQ(dims, 1); // the argument's `?` dim; its static dim is a constant
  expectPreservesResults(text, {"inline"});
}

//===--- licm ----------------------------------------------------------------===//

TEST(LICMTest, HoistsChainsAndCountsEachMove) {
  auto m =
      parseOk(R"(func @f(%w: tensor<3x3xf32>, %x: tensor<3xf32>, %p: tensor<i1>) -> tensor<3xf32> {
  %r = while (%h = %x) : (tensor<3xf32>) cond {
    yield %p
  } body {
    %wt = transpose %w {perm = [1, 0]} : tensor<3x3xf32>
    %we = exp %wt : tensor<3x3xf32>
    %a = dot %we, %h : tensor<3xf32>
    yield %a
  }
  return %r
})");
  ASSERT_TRUE(m);
  int64_t n = 0;
  ASSERT_TRUE(hoistLoopInvariants(*m, &n).isOk());
  EXPECT_EQ(n, 2);
  Op* loop = nullptr;
  walk(*m->lookup("f"), [&](Op& op) {
    if (op.kind() == OpKind::While) loop = &op;
  });
  ASSERT_TRUE(loop);
  EXPECT_EQ(loop->region(1).ops().size(), 2u); // the dot and the yield
  EXPECT_TRUE(verify(*m).isOk());
}

TEST(LICMTest, NestedLoopsHoistToTheOutermostLevel) {
  const char* text = R"(func @f(%x: tensor<2xf32>, %n: tensor<i32>) -> tensor<2xf32> {
  %z = constant 0 : tensor<i32>
  %r:2 = while (%i = %z, %a = %x) : (tensor<i32>, tensor<2xf32>) cond {
    %go = lt %i, %n : tensor<i1>
    yield %go
  } body {
    %in:2 = while (%j = %z, %b = %a) : (tensor<i32>, tensor<2xf32>) cond {
      %go2 = lt %j, %n : tensor<i1>
      yield %go2
    } body {
      %e = exp %x : tensor<2xf32>
      %s = add %b, %e : tensor<2xf32>
      %one = constant 1 : tensor<i32>
      %j1 = add %j, %one : tensor<i32>
      yield %j1, %s
    }
    %one2 = constant 1 : tensor<i32>
    %i1 = add %i, %one2 : tensor<i32>
    yield %i1, %in#1
  }
  return %r#1
})";
  auto m = parseOk(text);
  ASSERT_TRUE(m);
  int64_t n = 0;
  ASSERT_TRUE(hoistLoopInvariants(*m, &n).isOk());
  Op* exp = nullptr;
  walk(*m->lookup("f"), [&](Op& op) {
    if (op.kind() == OpKind::Exp) exp = &op;
  });
  ASSERT_TRUE(exp);
  EXPECT_EQ(exp->parentOp(), nullptr) << printModule(*m); // at function level
  // exp climbs twice, the inner constant twice, the outer constant once.
  EXPECT_EQ(n, 5);
  expectPreservesResults(text, {"licm"});
}

TEST(LICMTest, NeverHoistsWhatMayFailOutOfALoopThatMayNotRun) {
  // The loop runs zero times when %n <= 0: hoisting the division would turn
  // a result into an error when %d is 0.
  const char* text = R"(func @f(%x: tensor<i32>, %d: tensor<i32>, %n: tensor<i32>) -> tensor<i32> {
  %z = constant 0 : tensor<i32>
  %r = while (%i = %z) : (tensor<i32>) cond {
    %go = lt %i, %n : tensor<i1>
    yield %go
  } body {
    %q = div %x, %d : tensor<i32>
    %i1 = add %i, %q : tensor<i32>
    %one = constant 1 : tensor<i32>
    %i2 = add %i1, %one : tensor<i32>
    yield %i2
  }
  return %r
})";
  auto m = parseOk(text);
  ASSERT_TRUE(m);
  ASSERT_TRUE(hoistLoopInvariants(*m).isOk());
  Op* div = nullptr;
  walk(*m->lookup("f"), [&](Op& op) {
    if (op.kind() == OpKind::Div) div = &op;
  });
  ASSERT_TRUE(div);
  EXPECT_EQ(div->parentOp()->kind(), OpKind::While);
  // And the results agree, error or not, with zero trips and a zero divisor.
  std::vector<std::string> before = passtest::runAll(*parseOk(text));
  EXPECT_EQ(passtest::runAll(*m), before);
  Tensor x(TensorType(DType::I32, {})), zero(TensorType(DType::I32, {}));
  x.setInt(0, 7);
  auto r = interpret(*m, "f", {x, zero, zero});
  ASSERT_TRUE(r.isOk()) << r.status().message();
}

TEST(LICMTest, MayFailAtRunTimeFacts) {
  auto m = parseOk(
      R"(func @f(%i: tensor<3xi32>, %x: tensor<3xf32>, %d: tensor<?xf32>, %k: tensor<i32>, %e: tensor<0x2xf32>) -> tensor<3xf32> {
  %a = div %i, %i : tensor<3xi32>
  %b = div %x, %x : tensor<3xf32>
  %c = add %d, %d : tensor<?xf32>
  %n = neg %d : tensor<?xf32>
  %s = dynamic_slice %x, %k {sizes = [1]} : tensor<1xf32>
  %m = dim %d {axis = 0} : tensor<i64>
  %am = argmax %x {axis = 0} : tensor<i64>
  %ae = argmax %e {axis = 0} : tensor<2xi64>
  %r = reduce_sum %d {dims = [0]} : tensor<f32>
  return %b
})");
  ASSERT_TRUE(m);
  std::map<std::string, bool> fails;
  walk(*m->lookup("f"), [&](Op& op) {
    if (op.numResults()) fails[op.result()->name] = mayFailAtRunTime(op);
  });
  EXPECT_TRUE(fails["a"]);  // integer division by zero
  EXPECT_FALSE(fails["b"]); // float division is IEEE
  EXPECT_TRUE(fails["c"]);  // `?` operands checked at run time
  EXPECT_FALSE(fails["n"]); // the result shape is the operand's
  EXPECT_TRUE(fails["s"]);  // index checks
  EXPECT_FALSE(fails["m"]);
  EXPECT_FALSE(fails["am"]);
  EXPECT_TRUE(fails["ae"]); // argmax over an empty dim
  EXPECT_FALSE(fails["r"]);
}

TEST(LICMTest, IfMovesWholeOnlyWhenItCannotFail) {
  const char* text = R"(func @f(%x: tensor<i32>, %p: tensor<i1>, %q: tensor<i1>) -> tensor<i32> {
  %r = while (%h = %x) : (tensor<i32>) cond {
    yield %q
  } body {
    %safe = if %p -> (tensor<i32>) {
      %n = neg %x : tensor<i32>
      yield %n
    } else {
      yield %x
    }
    %risky = if %p -> (tensor<i32>) {
      %d = div %x, %x : tensor<i32>
      yield %d
    } else {
      yield %x
    }
    %s = add %safe, %risky : tensor<i32>
    yield %s
  }
  return %r
})";
  auto m = parseOk(text);
  ASSERT_TRUE(m);
  int64_t n = 0;
  ASSERT_TRUE(hoistLoopInvariants(*m, &n).isOk());
  EXPECT_EQ(n, 1);
  int ifsAtTop = 0;
  for (auto& op : m->lookup("f")->body().ops())
    ifsAtTop += op->kind() == OpKind::If;
  EXPECT_EQ(ifsAtTop, 1);
  expectPreservesResults(text, {"licm"});
}

TEST(PassRegistryTest, RegistersTheOptimizePassesAndPipeline) {
  for (const char* name : {"inline", "licm", "hoist-input-projection", "fuse-elementwise",
                           "pair-independent-loops"}) {
    auto pass = PassRegistry::global().create(name);
    ASSERT_TRUE(pass.isOk()) << name;
    EXPECT_EQ((*pass)->name(), name);
  }
  auto optimize = lookupPipeline("optimize");
  ASSERT_TRUE(optimize.isOk());
  EXPECT_EQ(*optimize, optimizePipeline());
  EXPECT_EQ(optimizePipeline().back(), "pair-independent-loops");
}

} // namespace
} // namespace cairn
