// Verifier rules, one test each: build a small bad function with Op::create
// directly (the builder would refuse to) and check the diagnostic's text.
#include <gtest/gtest.h>

#include "frontend/models/ElmanRnn.h"
#include "ir/Verifier.h"

namespace cairn {
namespace {

const TensorType kF4(DType::F32, {4});
const TensorType kF3(DType::F32, {3});
const TensorType kFDyn(DType::F32, {kDynamic});
const TensorType kI1(DType::I1);
const TensorType kI64(DType::I64);

class VerifierTest : public ::testing::Test {
protected:
  Function* func(const std::string& name, std::vector<TensorType> args,
                 std::vector<TensorType> results) {
    Function* f = m.addFunction(name);
    for (const TensorType& t : args)
      f->body().addArgument(t);
    f->resultTypes = std::move(results);
    return f;
  }
  static Op* append(Region& r, OpKind k, std::vector<Value*> operands,
                    std::vector<TensorType> types = {}, AttrMap attrs = {}, int regions = 0) {
    return r.append(Op::create(k, std::move(operands), types, std::move(attrs), regions));
  }
  static Op* ret(Region& r, std::vector<Value*> values) {
    return append(r, OpKind::Return, std::move(values));
  }
  static Op* yield(Region& r, std::vector<Value*> values) {
    return append(r, OpKind::Yield, std::move(values));
  }
  /// A while carrying one value of `type` whose cond and body the test fills.
  static Op* whileOp(Region& r, std::vector<Value*> operands, TensorType type) {
    return append(r, OpKind::While, std::move(operands), {type}, {}, 2);
  }

  /// Verifies the module and checks the first error contains `substring`.
  void expectError(const std::string& substring) {
    diags.clear();
    Status s = verify(m, &diags);
    ASSERT_FALSE(s.isOk()) << "expected an error containing: " << substring;
    EXPECT_NE(s.message().find(substring), std::string::npos) << s.message();
  }
  void expectOk() {
    Status s = verify(m);
    EXPECT_TRUE(s.isOk()) << s.message();
  }

  Module m;
  std::vector<Diagnostic> diags;
};

TEST_F(VerifierTest, AcceptsAValidFunction) {
  Function* f = func("f", {kF4, kF4}, {kF4});
  Op* a = append(f->body(), OpKind::Add, {f->body().argument(0), f->body().argument(1)}, {kF4});
  ret(f->body(), {a->result()});
  expectOk();
}

TEST_F(VerifierTest, OperandCount) {
  Function* f = func("f", {kF4}, {kF4});
  Op* a = append(f->body(), OpKind::Add, {f->body().argument(0)}, {kF4});
  ret(f->body(), {a->result()});
  expectError("'add' op expects 2 operands but has 1");
}

TEST_F(VerifierTest, ResultCount) {
  Function* f = func("f", {kF4}, {kF4});
  Op* a = append(f->body(), OpKind::Neg, {f->body().argument(0)}, {kF4, kF4});
  ret(f->body(), {a->result()});
  expectError("'neg' op expects 1 result but has 2");
}

TEST_F(VerifierTest, RegionCount) {
  Function* f = func("f", {kF4}, {kF4});
  Op* a = append(f->body(), OpKind::Neg, {f->body().argument(0)}, {kF4}, {}, 1);
  yield(a->region(0), {});
  ret(f->body(), {a->result()});
  expectError("'neg' op expects 0 regions but has 1");
}

TEST_F(VerifierTest, NullOperand) {
  Function* f = func("f", {kF4}, {kF4});
  Op* a = append(f->body(), OpKind::Neg, {nullptr}, {kF4});
  ret(f->body(), {a->result()});
  expectError("'neg' op operand #0 is null");
}

TEST_F(VerifierTest, FunctionBodyMustEndInReturn) {
  Function* f = func("f", {kF4}, {kF4});
  append(f->body(), OpKind::Neg, {f->body().argument(0)}, {kF4});
  expectError("'func' op @f body must end in 'return'");
}

TEST_F(VerifierTest, EmptyFunctionBody) {
  func("f", {}, {});
  expectError("@f body must end in 'return'");
}

TEST_F(VerifierTest, TerminatorMustBeLast) {
  Function* f = func("f", {kF4}, {kF4});
  ret(f->body(), {f->body().argument(0)});
  ret(f->body(), {f->body().argument(0)});
  expectError("'return' op must be the last op in its region");
}

TEST_F(VerifierTest, YieldCannotEndAFunction) {
  Function* f = func("f", {kF4}, {kF4});
  yield(f->body(), {f->body().argument(0)});
  expectError("'yield' op cannot terminate a function body; expected 'return'");
}

TEST_F(VerifierTest, ReturnCannotEndAWhileRegion) {
  Function* f = func("f", {kI1}, {kI1});
  Op* w = whileOp(f->body(), {f->body().argument(0)}, kI1);
  yield(w->region(0), {w->region(0).addArgument(kI1)});
  ret(w->region(1), {w->region(1).addArgument(kI1)});
  ret(f->body(), {w->result()});
  expectError("'return' op cannot terminate a 'while' region; expected 'yield'");
}

TEST_F(VerifierTest, RegionMustEndInYield) {
  Function* f = func("f", {kI1}, {kI1});
  Op* w = whileOp(f->body(), {f->body().argument(0)}, kI1);
  yield(w->region(0), {w->region(0).addArgument(kI1)});
  w->region(1).addArgument(kI1);
  ret(f->body(), {w->result()});
  expectError("'while' op body region must end in 'yield'");
}

TEST_F(VerifierTest, ReturnCount) {
  Function* f = func("f", {kF4}, {kF4});
  ret(f->body(), {f->body().argument(0), f->body().argument(0)});
  expectError("'return' op has 2 operands but function @f returns 1 value");
}

TEST_F(VerifierTest, ReturnType) {
  Function* f = func("f", {kF3}, {kF4});
  ret(f->body(), {f->body().argument(0)});
  expectError("'return' op operand #0 has type tensor<3xf32> but function @f returns "
              "tensor<4xf32>");
}

TEST_F(VerifierTest, DynamicResultTypeAcceptsStaticReturn) {
  Function* f = func("f", {kF3}, {kFDyn});
  ret(f->body(), {f->body().argument(0)});
  expectOk();
}

/// A valid counting loop: while (%i = %arg) cond { lt %i, %arg } body { %i }.
class WhileTest : public VerifierTest {
protected:
  void SetUp() override {
    f = func("f", {kI64}, {kI64});
    n = f->body().argument(0);
  }
  void fillCond(Op* w, TensorType argType = kI64) {
    Value* i = w->region(0).addArgument(argType);
    Op* lt = append(w->region(0), OpKind::Lt, {i, n}, {kI1});
    yield(w->region(0), {lt->result()});
  }
  void fillBody(Op* w, TensorType argType = kI64) {
    Value* i = w->region(1).addArgument(argType);
    yield(w->region(1), {i});
  }
  Function* f = nullptr;
  Value* n = nullptr;
};

TEST_F(WhileTest, ValidLoopWithMaxTrip) {
  Op* w = whileOp(f->body(), {n, n}, kI64);
  fillCond(w);
  fillBody(w);
  ret(f->body(), {w->result()});
  expectOk();
}

TEST_F(WhileTest, CondArgumentCount) {
  Op* w = whileOp(f->body(), {n}, kI64);
  Op* c =
      append(w->region(0), OpKind::Constant, {}, {kI1}, {{"value", Tensor::scalar(DType::I1, 0)}});
  yield(w->region(0), {c->result()});
  fillBody(w);
  ret(f->body(), {w->result()});
  expectError("'while' op cond region has 0 arguments but 1 carried value");
}

TEST_F(WhileTest, BodyArgumentType) {
  Op* w = whileOp(f->body(), {n}, kI64);
  fillCond(w);
  fillBody(w, TensorType(DType::I32));
  ret(f->body(), {w->result()});
  expectError("'while' op body region argument #0 has type tensor<i32> but the carried type is "
              "tensor<i64>");
}

TEST_F(WhileTest, CondMustYieldOneI1) {
  Op* w = whileOp(f->body(), {n}, kI64);
  yield(w->region(0), {w->region(0).addArgument(kI64)});
  fillBody(w);
  ret(f->body(), {w->result()});
  expectError("'while' op cond region must yield one tensor<i1>, not (tensor<i64>)");
}

TEST_F(WhileTest, CondYieldsTwoValues) {
  Op* w = whileOp(f->body(), {n}, kI64);
  Value* i = w->region(0).addArgument(kI64);
  Op* lt = append(w->region(0), OpKind::Lt, {i, n}, {kI1});
  yield(w->region(0), {lt->result(), lt->result()});
  fillBody(w);
  ret(f->body(), {w->result()});
  expectError("cond region must yield one tensor<i1>, not (tensor<i1>, tensor<i1>)");
}

TEST_F(WhileTest, BodyYieldType) {
  Op* w = whileOp(f->body(), {n}, kI64);
  fillCond(w);
  w->region(1).addArgument(kI64);
  Op* c = append(w->region(1), OpKind::Constant, {}, {TensorType(DType::I32)},
                 {{"value", Tensor::scalar(DType::I32, 1)}});
  yield(w->region(1), {c->result()});
  ret(f->body(), {w->result()});
  expectError("'while' op body region yields tensor<i32> as value #0 but tensor<i64> is expected");
}

TEST_F(WhileTest, BodyYieldCount) {
  Op* w = whileOp(f->body(), {n}, kI64);
  fillCond(w);
  yield(w->region(1), {});
  w->region(1).addArgument(kI64);
  ret(f->body(), {w->result()});
  expectError("'while' op body region yields 0 values but 1 expected");
}

TEST_F(WhileTest, InitType) {
  Function* g = func("g", {TensorType(DType::I32)}, {kI64});
  Op* w = whileOp(g->body(), {g->body().argument(0)}, kI64);
  n = w->result(); // any i64 visible value would do; the error comes first
  Value* i = w->region(0).addArgument(kI64);
  Op* lt = append(w->region(0), OpKind::Lt, {i, i}, {kI1});
  yield(w->region(0), {lt->result()});
  fillBody(w);
  ret(g->body(), {w->result()});
  f->body().append(Op::create(OpKind::Return, {f->body().argument(0)}, {}));
  expectError("'while' op initial value #0 has type tensor<i32> but the carried type is "
              "tensor<i64>");
}

TEST_F(WhileTest, MaxTripMustBeIntegerScalar) {
  Function* g = func("g", {kI64, kF4}, {kI64});
  n = g->body().argument(0);
  Op* w = whileOp(g->body(), {n, g->body().argument(1)}, kI64);
  fillCond(w);
  fillBody(w);
  ret(g->body(), {w->result()});
  ret(f->body(), {f->body().argument(0)});
  expectError("'while' op max_trip must be an i32 or i64 scalar, not tensor<4xf32>");
}

TEST_F(WhileTest, TooManyOperands) {
  Op* w = whileOp(f->body(), {n, n, n}, kI64);
  fillCond(w);
  fillBody(w);
  ret(f->body(), {w->result()});
  expectError("'while' op has 3 operands but 1 carried value (plus an optional max_trip)");
}

TEST_F(WhileTest, BodyMayCaptureOuterValues) {
  Op* one =
      append(f->body(), OpKind::Constant, {}, {kI64}, {{"value", Tensor::scalar(DType::I64, 1)}});
  Op* w = whileOp(f->body(), {n}, kI64);
  fillCond(w);
  Value* i = w->region(1).addArgument(kI64);
  Op* inc = append(w->region(1), OpKind::Add, {i, one->result()}, {kI64});
  yield(w->region(1), {inc->result()});
  ret(f->body(), {w->result()});
  expectOk();
}

TEST_F(WhileTest, RegionValuesAreNotVisibleAfterTheLoop) {
  Op* w = whileOp(f->body(), {n}, kI64);
  fillCond(w);
  Value* i = w->region(1).addArgument(kI64);
  Op* inc = append(w->region(1), OpKind::Add, {i, i}, {kI64});
  yield(w->region(1), {inc->result()});
  ret(f->body(), {inc->result()});
  expectError("'return' op operand #0 is defined inside a region that does not enclose this use");
}

TEST_F(WhileTest, RegionArgumentsAreNotVisibleInTheOtherRegion) {
  Op* w = whileOp(f->body(), {n}, kI64);
  fillCond(w);
  w->region(1).addArgument(kI64);
  yield(w->region(1), {w->region(0).argument(0)});
  ret(f->body(), {w->result()});
  expectError("'yield' op operand #0 is defined inside a region that does not enclose this use");
}

TEST_F(VerifierTest, IfPredicateMustBeI1Scalar) {
  Function* f = func("f", {TensorType(DType::I1, {2}), kF4}, {kF4});
  Op* i = append(f->body(), OpKind::If, {f->body().argument(0)}, {kF4}, {}, 2);
  yield(i->region(0), {f->body().argument(1)});
  yield(i->region(1), {f->body().argument(1)});
  ret(f->body(), {i->result()});
  expectError("'if' op predicate must be a tensor<i1> scalar, not tensor<2xi1>");
}

TEST_F(VerifierTest, IfRegionsTakeNoArguments) {
  Function* f = func("f", {kI1, kF4}, {kF4});
  Op* i = append(f->body(), OpKind::If, {f->body().argument(0)}, {kF4}, {}, 2);
  i->region(0).addArgument(kF4);
  yield(i->region(0), {f->body().argument(1)});
  yield(i->region(1), {f->body().argument(1)});
  ret(f->body(), {i->result()});
  expectError("'if' op then region must take no arguments but has 1");
}

TEST_F(VerifierTest, IfBranchYieldsResultTypes) {
  Function* f = func("f", {kI1, kF4, kF3}, {kF4});
  Op* i = append(f->body(), OpKind::If, {f->body().argument(0)}, {kF4}, {}, 2);
  yield(i->region(0), {f->body().argument(1)});
  yield(i->region(1), {f->body().argument(2)});
  ret(f->body(), {i->result()});
  expectError("'if' op else region yields tensor<3xf32> as value #0 but tensor<4xf32> is expected");
}

TEST_F(VerifierTest, IfBranchYieldCount) {
  Function* f = func("f", {kI1, kF4}, {kF4});
  Op* i = append(f->body(), OpKind::If, {f->body().argument(0)}, {kF4}, {}, 2);
  yield(i->region(0), {});
  yield(i->region(1), {f->body().argument(1)});
  ret(f->body(), {i->result()});
  expectError("'if' op then region yields 0 values but 1 expected");
}

class CallTest : public VerifierTest {
protected:
  void SetUp() override {
    g = func("g", {kFDyn}, {kF4});
    Op* c = append(g->body(), OpKind::Constant, {}, {kF4}, {{"value", Tensor(kF4)}});
    ret(g->body(), {c->result()});
    f = func("f", {kF3, kF4}, {kF4});
  }
  void call(std::vector<Value*> args, std::vector<TensorType> results, AttrMap attrs) {
    Op* c = append(f->body(), OpKind::Call, std::move(args), std::move(results), std::move(attrs));
    ret(f->body(), {c->numResults() ? c->result() : f->body().argument(1)});
  }
  AttrMap callee(const std::string& name) { return {{"callee", SymbolRef{name}}}; }
  Function* g = nullptr;
  Function* f = nullptr;
};

TEST_F(CallTest, DynamicParameterAcceptsAnySize) {
  call({f->body().argument(0)}, {kF4}, callee("g"));
  expectOk();
}

TEST_F(CallTest, UnknownCallee) {
  call({f->body().argument(0)}, {kF4}, callee("nope"));
  expectError("'call' op callee @nope does not exist in the module");
}

TEST_F(CallTest, MissingCalleeAttribute) {
  call({f->body().argument(0)}, {kF4}, {});
  expectError("'call' op requires a 'callee' symbol attribute");
}

TEST_F(CallTest, ArgumentCount) {
  call({f->body().argument(0), f->body().argument(1)}, {kF4}, callee("g"));
  expectError("'call' op passes 2 arguments but @g takes 1");
}

TEST_F(CallTest, ArgumentType) {
  Function* h = func("h", {kF4}, {kF4});
  ret(h->body(), {h->body().argument(0)});
  call({f->body().argument(0)}, {kF4}, callee("h"));
  expectError("'call' op argument #0 has type tensor<3xf32> but @h takes tensor<4xf32>");
}

TEST_F(CallTest, ResultTypes) {
  call({f->body().argument(0)}, {kF3}, callee("g"));
  expectError("'call' op result types (tensor<3xf32>) do not match @g's (tensor<4xf32>)");
}

TEST_F(VerifierTest, UseBeforeDefinition) {
  Function* f = func("f", {kF4}, {kF4});
  Op* a = append(f->body(), OpKind::Neg, {f->body().argument(0)}, {kF4});
  Op* b = append(f->body(), OpKind::Neg, {f->body().argument(0)}, {kF4});
  a->operands[0] = b->result();
  ret(f->body(), {a->result()});
  expectError("'neg' op operand #0 is used before its definition");
}

TEST_F(VerifierTest, OpCannotUseItsOwnResult) {
  Function* f = func("f", {kF4}, {kF4});
  Op* a = append(f->body(), OpKind::Neg, {f->body().argument(0)}, {kF4});
  a->operands[0] = a->result();
  ret(f->body(), {a->result()});
  expectError("'neg' op operand #0 is used before its definition");
}

TEST_F(VerifierTest, ValueFromAnotherFunction) {
  Function* g = func("g", {kF4}, {kF4});
  ret(g->body(), {g->body().argument(0)});
  Function* f = func("f", {kF4}, {kF4});
  ret(f->body(), {g->body().argument(0)});
  expectError("'return' op operand #0 is defined in another function (@g)");
}

TEST_F(VerifierTest, TypeRuleErrorNamesTheOp) {
  Function* f = func("f", {kF4, kF3}, {kF4});
  Op* a = append(f->body(), OpKind::Add, {f->body().argument(0), f->body().argument(1)}, {kF4});
  ret(f->body(), {a->result()});
  expectError("'add' op operands must have the same type, got tensor<4xf32> and tensor<3xf32>");
}

TEST_F(VerifierTest, DeclaredResultTypeMustMatchInferred) {
  Function* f = func("f", {kF4}, {kF3});
  Op* a = append(f->body(), OpKind::Neg, {f->body().argument(0)}, {kF3});
  ret(f->body(), {a->result()});
  expectError("'neg' op result #0 has type tensor<3xf32> but tensor<4xf32> was inferred");
}

TEST_F(VerifierTest, AttributeErrorsComeFromTheTypeRule) {
  Function* f = func("f", {kF4}, {kF4});
  Op* t = append(f->body(), OpKind::Transpose, {f->body().argument(0)}, {kF4});
  ret(f->body(), {t->result()});
  expectError("'transpose' op requires integer list attribute 'perm'");
}

TEST_F(VerifierTest, CollectsEveryErrorAndReturnsTheFirst) {
  Function* f = func("f", {kF4, kF3}, {kF4});
  Op* a = append(f->body(), OpKind::Add, {f->body().argument(0), f->body().argument(1)}, {kF4});
  Op* b = append(f->body(), OpKind::Exp, {a->result()}, {kF3});
  ret(f->body(), {b->result()});
  Status s = verify(m, &diags);
  ASSERT_FALSE(s.isOk());
  ASSERT_EQ(diags.size(), 3u) << s.message();
  EXPECT_NE(diags[0].message.find("'add' op"), std::string::npos);
  EXPECT_NE(diags[1].message.find("'exp' op result #0"), std::string::npos);
  EXPECT_NE(diags[2].message.find("'return' op operand #0"), std::string::npos);
  EXPECT_EQ(s.message(), diags[0].toString());
}

TEST_F(VerifierTest, ReportsErrorsInEveryFunction) {
  func("f", {}, {});
  func("g", {}, {});
  Status s = verify(m, &diags);
  ASSERT_EQ(diags.size(), 2u);
  EXPECT_NE(diags[1].message.find("@g"), std::string::npos);
}

TEST_F(VerifierTest, MessageCarriesTheLocation) {
  Function* f = func("f", {kF4}, {kF4});
  auto op =
      Op::create(OpKind::Add, {f->body().argument(0)}, {kF4}, {}, 0, Location{"model.cairn", 3, 5});
  Op* a = f->body().append(std::move(op));
  ret(f->body(), {a->result()});
  Status s = verify(*f, &diags);
  EXPECT_EQ(s.message(), "model.cairn:3:5: error: 'add' op expects 2 operands but has 1");
  EXPECT_EQ(diags[0].loc.line, 3);
}

TEST_F(VerifierTest, DuplicateFunctionNames) {
  Function* f = func("f", {}, {});
  ret(f->body(), {});
  Function* g = func("f", {}, {});
  ret(g->body(), {});
  expectError("'func' op @f is defined more than once");
}

TEST_F(VerifierTest, BuiltModelsVerify) {
  buildElmanRnn(m, 2, 3, 4);
  expectOk();
}

} // namespace
} // namespace cairn
