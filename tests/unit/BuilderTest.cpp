// The C++ builder: inferred shapes, numpy-style broadcasting made explicit
// (static and dynamic), number promotion, control-flow lambdas, calls, and
// the BuildErrors that misuse raises. Functions that compute are also run
// with the reference interpreter.
#include <gtest/gtest.h>

#include "frontend/Builder.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "runtime/reference/Interpreter.h"

namespace cairn {
namespace {

TensorType f32(Shape s) {
  return TensorType(DType::F32, std::move(s));
}
const int64_t Q = kDynamic;

/// Ops of `kind` in `f` (nested regions included).
int countOps(const Function& f, OpKind kind) {
  int n = 0;
  walk(f, [&](Op& op) { n += op.kind() == kind; });
  return n;
}

/// Runs `code`, expecting a BuildError whose message contains `substring`.
template <typename F> void expectBuildError(F&& code, const std::string& substring) {
  try {
    code();
    ADD_FAILURE() << "expected a BuildError containing: " << substring;
  } catch (const BuildError& e) {
    EXPECT_NE(std::string(e.what()).find(substring), std::string::npos) << e.what();
  }
}

std::vector<double> run(const Module& m, const std::string& f, const std::vector<Tensor>& in) {
  auto out = interpret(m, f, in);
  EXPECT_TRUE(out.isOk()) << out.status().message();
  return out.isOk() ? (*out)[0].toDoubles() : std::vector<double>{};
}

TEST(BuilderTest, SameShapeBinaryNeedsNoBroadcast) {
  Module m;
  FunctionBuilder fb(m, "f", {f32({2, 3}), f32({2, 3})});
  Val y = fb.arg(0) + fb.arg(1);
  EXPECT_EQ(y.type(), f32({2, 3}));
  fb.ret({y});
  EXPECT_EQ(countOps(fb.function(), OpKind::Broadcast), 0);
}

TEST(BuilderTest, BroadcastsAcrossRanks) {
  Module m;
  FunctionBuilder fb(m, "f", {f32({2, 3}), f32({3})});
  Val y = fb.arg(0) * fb.arg(1);
  EXPECT_EQ(y.type(), f32({2, 3}));
  Op* b = y.value()->definingOp()->operand(1)->definingOp();
  ASSERT_EQ(b->kind(), OpKind::Broadcast);
  EXPECT_EQ(b->getInts("dims"), std::vector<int64_t>({1}));
  fb.ret({y});
  Tensor a = Tensor::fromDoubles(f32({2, 3}), {1, 2, 3, 4, 5, 6});
  Tensor v = Tensor::fromDoubles(f32({3}), {1, 10, 100});
  EXPECT_EQ(run(m, "f", {a, v}), std::vector<double>({1, 20, 300, 4, 50, 600}));
}

TEST(BuilderTest, BroadcastsSizeOneDimsBothWays) {
  Module m;
  FunctionBuilder fb(m, "f", {f32({2, 1}), f32({1, 3})});
  Val y = fb.arg(0) + fb.arg(1);
  EXPECT_EQ(y.type(), f32({2, 3}));
  fb.ret({y});
  EXPECT_EQ(countOps(fb.function(), OpKind::Broadcast), 2);
  Tensor a = Tensor::fromDoubles(f32({2, 1}), {10, 20});
  Tensor b = Tensor::fromDoubles(f32({1, 3}), {1, 2, 3});
  EXPECT_EQ(run(m, "f", {a, b}), std::vector<double>({11, 12, 13, 21, 22, 23}));
}

TEST(BuilderTest, BroadcastsIntoADynamicDimWithDimOps) {
  Module m;
  FunctionBuilder fb(m, "f", {f32({Q, 4}), f32({4})});
  Val y = fb.arg(0) + fb.arg(1);
  EXPECT_EQ(y.type(), f32({Q, 4}));
  Op* b = y.value()->definingOp()->operand(1)->definingOp();
  ASSERT_EQ(b->kind(), OpKind::Broadcast);
  ASSERT_EQ(b->numOperands(), 2u);
  Op* d = b->operand(1)->definingOp();
  ASSERT_EQ(d->kind(), OpKind::Dim);
  EXPECT_EQ(d->operand(0), fb.arg(0).value());
  fb.ret({y});
  Tensor a = Tensor::fromDoubles(f32({2, 4}), {0, 0, 0, 0, 1, 1, 1, 1});
  Tensor v = Tensor::fromDoubles(f32({4}), {1, 2, 3, 4});
  EXPECT_EQ(run(m, "f", {a, v}), std::vector<double>({1, 2, 3, 4, 2, 3, 4, 5}));
}

TEST(BuilderTest, DynamicSizeOneAgainstStatic) {
  Module m;
  FunctionBuilder fb(m, "f", {f32({Q, 1}), f32({1, 5})});
  Val y = fb.arg(0) - fb.arg(1);
  EXPECT_EQ(y.type(), f32({Q, 5}));
  fb.ret({y});
  EXPECT_TRUE(verify(m).isOk());
}

TEST(BuilderTest, DynamicAgainstStaticTakesTheStaticSize) {
  Module m;
  FunctionBuilder fb(m, "f", {f32({Q}), f32({3})});
  Val y = fb.arg(0) + fb.arg(1);
  EXPECT_EQ(y.type(), f32({3}));
  fb.ret({y});
  EXPECT_EQ(countOps(fb.function(), OpKind::Broadcast), 0);
}

TEST(BuilderTest, IncompatibleShapesThrow) {
  Module m;
  FunctionBuilder fb(m, "f", {f32({4}), f32({3})});
  expectBuildError([&] { fb.arg(0) + fb.arg(1); },
                   "'add' op: shapes tensor<4xf32> and tensor<3xf32> do not broadcast");
}

TEST(BuilderTest, MixedDTypesThrow) {
  Module m;
  FunctionBuilder fb(m, "f", {f32({4}), TensorType(DType::F64, {4})});
  expectBuildError([&] { mul(fb.arg(0), fb.arg(1)); }, "'mul' op: operands have different dtypes");
}

TEST(BuilderTest, TypeRuleErrorsNameTheOpAndOperands) {
  Module m;
  FunctionBuilder fb(m, "f", {TensorType(DType::I32, {4})});
  expectBuildError([&] { tanh(fb.arg(0)); },
                   "'tanh' op requires a float dtype, got i32 (operand types: tensor<4xi32>)");
}

TEST(BuilderTest, NumbersBecomeConstantsOfTheOperandsDType) {
  Module m;
  FunctionBuilder fb(m, "f", {f32({2})});
  Val y = 1.0 - fb.arg(0) * 0.5;
  fb.ret({y});
  Op* sub = y.value()->definingOp();
  Op* c = sub->operand(0)->definingOp();
  ASSERT_EQ(c->kind(), OpKind::Constant);
  EXPECT_EQ(c->result()->type, f32({2}));
  Tensor x = Tensor::fromDoubles(f32({2}), {2, 4});
  EXPECT_EQ(run(m, "f", {x}), std::vector<double>({0, -1}));
}

TEST(BuilderTest, NumbersOnDynamicShapesAreBroadcastScalars) {
  Module m;
  FunctionBuilder fb(m, "f", {f32({Q})});
  Val y = fb.arg(0) + 1;
  EXPECT_EQ(y.type(), f32({Q}));
  fb.ret({y});
  EXPECT_EQ(countOps(fb.function(), OpKind::Broadcast), 1);
  Tensor x = Tensor::fromDoubles(f32({3}), {1, 2, 3});
  EXPECT_EQ(run(m, "f", {x}), std::vector<double>({2, 3, 4}));
}

TEST(BuilderTest, FractionsDoNotMixWithIntegers) {
  Module m;
  FunctionBuilder fb(m, "f", {TensorType(DType::I32, {2})});
  Val ok = fb.arg(0) * 2;
  EXPECT_EQ(ok.dtype(), DType::I32);
  expectBuildError([&] { fb.arg(0) * 0.5; }, "0.5 cannot be used with a tensor<2xi32> operand");
  expectBuildError([&] { add(1, 2); }, "at least one operand must be a Val");
}

TEST(BuilderTest, UnaryAndCompare) {
  Module m;
  FunctionBuilder fb(m, "f", {f32({3})});
  Val x = fb.arg(0);
  Val pos = gt(x, 0.0);
  EXPECT_EQ(pos.type(), TensorType(DType::I1, {3}));
  Val y = select(pos, relu(x), -abs(x));
  fb.ret({y});
  Tensor in = Tensor::fromDoubles(f32({3}), {-2, 0, 3});
  EXPECT_EQ(run(m, "f", {in}), std::vector<double>({-2, 0, 3}));
}

TEST(BuilderTest, SelectBroadcastsValuesAndPredicate) {
  Module m;
  FunctionBuilder fb(m, "f", {TensorType(DType::I1, {2, 1}), f32({3})});
  Val y = select(fb.arg(0), fb.arg(1), 0.0);
  EXPECT_EQ(y.type(), f32({2, 3}));
  fb.ret({y});
  Tensor p = Tensor::fromInts(TensorType(DType::I1, {2, 1}), {1, 0});
  Tensor v = Tensor::fromDoubles(f32({3}), {1, 2, 3});
  EXPECT_EQ(run(m, "f", {p, v}), std::vector<double>({1, 2, 3, 0, 0, 0}));
}

TEST(BuilderTest, SelectWithScalarPredicateKeepsIt) {
  Module m;
  FunctionBuilder fb(m, "f", {TensorType(DType::I1), f32({3}), f32({3})});
  Val y = select(fb.arg(0), fb.arg(1), fb.arg(2));
  EXPECT_TRUE(y.value()->definingOp()->operand(0)->type.isScalar());
}

TEST(BuilderTest, CastIsANoOpForTheSameDType) {
  Module m;
  FunctionBuilder fb(m, "f", {f32({3})});
  EXPECT_EQ(cast(fb.arg(0), DType::F32).value(), fb.arg(0).value());
  Val i = cast(fb.arg(0), DType::I32);
  EXPECT_EQ(i.type(), TensorType(DType::I32, {3}));
}

TEST(BuilderTest, ReshapeInfersOneDimStatically) {
  Module m;
  FunctionBuilder fb(m, "f", {f32({2, 3, 4})});
  EXPECT_EQ(reshape(fb.arg(0), {Q, 4}).type(), f32({6, 4}));
  expectBuildError([&] { reshape(fb.arg(0), {Q, 5}); }, "cannot infer a dim");
  expectBuildError([&] { reshape(fb.arg(0), {Q, Q}); }, "at most one dim can be inferred");
}

TEST(BuilderTest, ReshapeInfersADynamicDimAtRunTime) {
  Module m;
  FunctionBuilder fb(m, "f", {f32({Q, 2, 3})});
  Val y = reshape(fb.arg(0), {Q, 3});
  EXPECT_EQ(y.type(), f32({Q, 3}));
  Val s = reduceSum(y, {1});
  fb.ret({s});
  Tensor x = Tensor::fromDoubles(f32({2, 2, 3}), {1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4});
  EXPECT_EQ(run(m, "f", {x}), std::vector<double>({3, 6, 9, 12}));
}

TEST(BuilderTest, ReshapeWithARunTimeSize) {
  Module m;
  FunctionBuilder fb(m, "f", {f32({Q, 4})});
  Val n = dim(fb.arg(0), 0);
  Val y = reshape(fb.arg(0), {n, 2, 2});
  EXPECT_EQ(y.type(), f32({Q, 2, 2}));
  EXPECT_EQ(y.value()->definingOp()->operand(1), n.value());
}

TEST(BuilderTest, TransposeConcatSlice) {
  Module m;
  FunctionBuilder fb(m, "f", {f32({2, 3}), f32({2, 5})});
  EXPECT_EQ(transpose(fb.arg(0), {1, 0}).type(), f32({3, 2}));
  EXPECT_EQ(concat({fb.arg(0), fb.arg(1)}, -1).type(), f32({2, 8}));
  EXPECT_EQ(slice(fb.arg(1), {0, 1}, {2, 5}, {1, 2}).type(), f32({2, 2}));
  expectBuildError([&] { concat({}, 0); }, "needs at least one operand");
  expectBuildError([&] { concat({fb.arg(0)}, 2); }, "axis 2 out of range for rank 2");
}

TEST(BuilderTest, SliceAtAndUpdateAt) {
  Module m;
  FunctionBuilder fb(m, "f", {f32({3, 2}), TensorType(DType::I64)});
  Val row = sliceAt(fb.arg(0), fb.arg(1));
  EXPECT_EQ(row.type(), f32({2}));
  Val y = updateAt(fb.arg(0), 0, row * 10.0);
  EXPECT_EQ(y.type(), f32({3, 2}));
  fb.ret({y});
  Tensor x = Tensor::fromDoubles(f32({3, 2}), {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(run(m, "f", {x, Tensor::scalar(DType::I64, 2)}),
            std::vector<double>({50, 60, 3, 4, 5, 6}));
}

TEST(BuilderTest, DynamicSliceTypes) {
  Module m;
  FunctionBuilder fb(m, "f", {f32({Q, 4}), TensorType(DType::I32)});
  Val s = dynamicSlice(fb.arg(0), {fb.arg(1), 1}, {1, 2});
  EXPECT_EQ(s.type(), f32({1, 2}));
  // The static start took the dtype of the run-time one.
  EXPECT_EQ(s.value()->definingOp()->operand(2)->type, TensorType(DType::I32));
  // With a dynamic dim elsewhere, sliceAt gathers with a scalar index.
  Val col = sliceAt(fb.arg(0), 1, 1);
  EXPECT_EQ(col.type(), f32({Q}));
  EXPECT_EQ(col.value()->definingOp()->kind(), OpKind::Gather);
}

TEST(BuilderTest, SplitStaticAndDynamicBatch) {
  Module m;
  FunctionBuilder fb(m, "f", {f32({2, 6}), f32({Q, 6})});
  ValueList s = split(fb.arg(0), 3, 1);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[2].type(), f32({2, 2}));
  EXPECT_EQ(s[2].value()->definingOp()->kind(), OpKind::Slice);
  ValueList gates = split(fb.arg(1), 2, -1);
  EXPECT_EQ(gates[1].type(), f32({Q, 3}));
  expectBuildError([&] { split(fb.arg(1), 4, 1); }, "cannot split dim 1");
  expectBuildError([&] { sliceAxis(fb.arg(0), 1, 4, 8); }, "bounds [4, 8) invalid");
  fb.ret({reduceSum(gates[1], {1}) + sliceAt(fb.arg(1), 0, 1)});
  Tensor b = Tensor::fromDoubles(f32({2, 6}), {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  EXPECT_EQ(run(m, "f", {b, b}), std::vector<double>({16, 40}));
}

TEST(BuilderTest, GatherAndScatter) {
  Module m;
  FunctionBuilder fb(m, "f", {f32({5, 3}), TensorType(DType::I64, {2})});
  Val g = gather(fb.arg(0), fb.arg(1), 0);
  EXPECT_EQ(g.type(), f32({2, 3}));
  Val s = scatterAdd(fb.arg(0), fb.arg(1), g, 0);
  EXPECT_EQ(s.type(), f32({5, 3}));
  EXPECT_EQ(scatter(fb.arg(0), fb.arg(1), g, -2).type(), f32({5, 3}));
}

TEST(BuilderTest, ReductionsKeepDimsAndNegativeAxes) {
  Module m;
  FunctionBuilder fb(m, "f", {f32({Q, 3})});
  EXPECT_EQ(reduceSum(fb.arg(0), {-1}).type(), f32({Q}));
  EXPECT_EQ(reduceMax(fb.arg(0), {1}, true).type(), f32({Q, 1}));
  EXPECT_EQ(reduceMin(fb.arg(0), {0, 1}).type(), f32({}));
  Val centered = fb.arg(0) - reduceMax(fb.arg(0), {1}, true);
  EXPECT_EQ(centered.type(), f32({Q, 3}));
  fb.ret({centered});
  Tensor x = Tensor::fromDoubles(f32({2, 3}), {1, 5, 2, 7, 0, 7});
  EXPECT_EQ(run(m, "f", {x}), std::vector<double>({-4, 0, -3, 0, -7, 0}));
}

TEST(BuilderTest, ArgmaxAndDim) {
  Module m;
  FunctionBuilder fb(m, "f", {f32({2, Q})});
  EXPECT_EQ(argmax(fb.arg(0), 1).type(), TensorType(DType::I64, {2}));
  EXPECT_EQ(argmax(fb.arg(0), 0, DType::I32).type(), TensorType(DType::I32, {Q}));
  EXPECT_EQ(dim(fb.arg(0), -1, DType::I32).type(), TensorType(DType::I32));
}

TEST(BuilderTest, MatmulPlainAndBatched) {
  Module m;
  FunctionBuilder fb(m, "f", {f32({Q, 3}), f32({3, 4}), f32({5, 2, 3}), f32({5, 3, 7})});
  EXPECT_EQ(matmul(fb.arg(0), fb.arg(1)).type(), f32({Q, 4}));
  EXPECT_EQ(matmul(fb.arg(2), fb.arg(1)).type(), f32({5, 2, 4}));
  EXPECT_EQ(matmul(fb.arg(2), fb.arg(3)).type(), f32({5, 2, 7}));
  DotDims d{{}, {}, {0}, {0}};
  EXPECT_EQ(dot(fb.arg(0), fb.arg(0), d).type(), f32({3, 3}));
  expectBuildError([&] { matmul(fb.arg(1), fb.arg(1)); }, "contracting dims differ");
  expectBuildError([&] { matmul(fb.arg(1), fb.arg(2)); }, "not a plain or batched matrix product");
}

TEST(BuilderTest, IotaAndRng) {
  Module m;
  FunctionBuilder fb(m, "f", {TensorType(DType::I64, {2}), f32({Q, 6})});
  Val n = dim(fb.arg(1), 0);
  EXPECT_EQ(fb.iota(DType::I32, {n, 3}, 1).type(), TensorType(DType::I32, {Q, 3}));
  RngResult u = fb.rngUniform(fb.arg(0), DType::F32, {n, 2});
  EXPECT_EQ(u.value.type(), f32({Q, 2}));
  EXPECT_EQ(u.state.type(), TensorType(DType::I64, {2}));
  RngResult k = rngCategorical(u.state, fb.arg(1));
  EXPECT_EQ(k.value.type(), TensorType(DType::I64, {Q}));
  EXPECT_EQ(stopGradient(fb.arg(1)).type(), fb.arg(1).type());
  fb.ret({k.value});
}

TEST(BuilderTest, ConstantsFromTensorsAndSplats) {
  Module m;
  FunctionBuilder fb(m, "f", {});
  Tensor t = Tensor::fromDoubles(f32({2}), {1.5, 2.5});
  Val c = fb.constant(t);
  EXPECT_EQ(c.type(), f32({2}));
  Val s = fb.constant(3, TensorType(DType::I32, {2, 2}));
  EXPECT_EQ(s.type(), TensorType(DType::I32, {2, 2}));
  expectBuildError([&] { fb.constant(1, f32({Q})); }, "must have a static shape");
  fb.ret({c + 1.0});
  EXPECT_EQ(run(m, "f", {}), std::vector<double>({2.5, 3.5}));
}

TEST(BuilderTest, WhileLoopSumsACounter) {
  Module m;
  FunctionBuilder fb(m, "triangle", {TensorType(DType::I64)});
  Val n = fb.arg(0);
  ValueList r = fb.whileLoop(
      {fb.scalar(0, DType::I64), fb.scalar(0, DType::I64)},
      [&](const ValueList& c) { return lt(c[0], n); },
      [&](const ValueList& c) {
        return ValueList{c[0] + 1, c[1] + c[0]};
      },
      n);
  EXPECT_EQ(r.size(), 2u);
  fb.ret({r[1]});
  EXPECT_EQ(run(m, "triangle", {Tensor::scalar(DType::I64, 5)}), std::vector<double>({10}));
  EXPECT_EQ(run(m, "triangle", {Tensor::scalar(DType::I64, 0)}), std::vector<double>({0}));
}

TEST(BuilderTest, WhileCondMustReturnI1AndBuilderStaysUsable) {
  Module m;
  FunctionBuilder fb(m, "f", {TensorType(DType::I64)});
  Val n = fb.arg(0);
  expectBuildError(
      [&] {
        fb.whileLoop(
            {n}, [&](const ValueList& c) { return c[0]; }, [&](const ValueList& c) { return c; });
      },
      "'while' op: cond must return a tensor<i1> scalar, got tensor<i64>");
  EXPECT_EQ(countOps(fb.function(), OpKind::While), 0);
  fb.ret({n + 1});
  EXPECT_TRUE(verify(m).isOk());
}

TEST(BuilderTest, WhileBodyMustReturnTheCarriedTypes) {
  Module m;
  FunctionBuilder fb(m, "f", {TensorType(DType::I64), f32({2})});
  expectBuildError(
      [&] {
        fb.whileLoop(
            {fb.arg(0)}, [&](const ValueList& c) { return lt(c[0], 3); },
            [&](const ValueList&) { return ValueList{fb.arg(1)}; });
      },
      "body returned tensor<2xf32> for carried value #0 of type tensor<i64>");
  expectBuildError(
      [&] {
        fb.whileLoop(
            {fb.arg(0)}, [&](const ValueList& c) { return lt(c[0], 3); },
            [&](const ValueList& c) {
              return ValueList{c[0], c[0]};
            });
      },
      "body returned 2 values for 1 carried values");
}

TEST(BuilderTest, IfElseTakesBothBranches) {
  Module m;
  FunctionBuilder fb(m, "f", {f32({2})});
  Val x = fb.arg(0);
  ValueList r = fb.ifElse(
      gt(reduceSum(x, {0}), 0.0), [&] { return ValueList{x * 2.0}; },
      [&] { return ValueList{-x}; });
  ASSERT_EQ(r.size(), 1u);
  fb.ret({r[0]});
  EXPECT_EQ(run(m, "f", {Tensor::fromDoubles(f32({2}), {1, 2})}), std::vector<double>({2, 4}));
  EXPECT_EQ(run(m, "f", {Tensor::fromDoubles(f32({2}), {-1, -2})}), std::vector<double>({1, 2}));
}

TEST(BuilderTest, IfElseBranchesMustAgree) {
  Module m;
  FunctionBuilder fb(m, "f", {TensorType(DType::I1), f32({2}), f32({3})});
  expectBuildError(
      [&] {
        fb.ifElse(
            fb.arg(0), [&] { return ValueList{fb.arg(1)}; }, [&] { return ValueList{fb.arg(2)}; });
      },
      "else-branch returns (tensor<3xf32>) but the then-branch returns (tensor<2xf32>)");
  expectBuildError(
      [&] {
        fb.ifElse(
            fb.arg(1), [&] { return ValueList{}; }, [&] { return ValueList{}; });
      },
      "predicate must be a tensor<i1> scalar");
}

TEST(BuilderTest, NestedControlFlow) {
  Module m;
  FunctionBuilder fb(m, "f", {TensorType(DType::I64)});
  Val n = fb.arg(0);
  // Sum of the even numbers below n: an if inside a while body.
  ValueList r = fb.whileLoop(
      {fb.scalar(0, DType::I64), fb.scalar(0, DType::I64)},
      [&](const ValueList& c) { return lt(c[0], n); },
      [&](const ValueList& c) {
        Val isOdd = eq(logicalAnd(c[0], 1), 1);
        ValueList s = fb.ifElse(
            isOdd, [&] { return ValueList{c[1]}; }, [&] { return ValueList{c[1] + c[0]}; });
        return ValueList{c[0] + 1, s[0]};
      });
  fb.ret({r[1]});
  EXPECT_EQ(run(m, "f", {Tensor::scalar(DType::I64, 7)}), std::vector<double>({12}));
}

TEST(BuilderTest, CallsAnotherFunction) {
  Module m;
  {
    FunctionBuilder g(m, "square", {f32({Q})});
    g.ret({g.arg(0) * g.arg(0)});
  }
  FunctionBuilder fb(m, "f", {f32({2})});
  ValueList r = fb.call("square", {fb.arg(0)});
  EXPECT_EQ(r[0].type(), f32({Q}));
  expectBuildError([&] { fb.call("nope", {}); }, "no function @nope");
  expectBuildError([&] { fb.call("square", {}); }, "@square takes 1 arguments, got 0");
  fb.ret({r[0]});
  EXPECT_EQ(run(m, "f", {Tensor::fromDoubles(f32({2}), {3, 4})}), std::vector<double>({9, 16}));
}

TEST(BuilderTest, CallArgumentsMustMatch) {
  Module m;
  {
    FunctionBuilder g(m, "g", {f32({4})});
    g.ret({g.arg(0)});
  }
  FunctionBuilder fb(m, "f", {f32({3})});
  expectBuildError([&] { fb.call("g", {fb.arg(0)}); },
                   "argument #0 of @g has type tensor<3xf32>, expected tensor<4xf32>");
}

TEST(BuilderTest, RetVerifiesTheFunction) {
  Module m;
  FunctionBuilder fb(m, "f", {TensorType(DType::I64)});
  Val inner;
  fb.whileLoop(
      {fb.arg(0)}, [&](const ValueList& c) { return lt(c[0], 3); },
      [&](const ValueList& c) {
        inner = c[0] + 1;
        return ValueList{inner};
      });
  expectBuildError([&] { fb.ret({inner}); },
                   "defined inside a region that does not enclose this use");
  expectBuildError([&] { fb.arg(0) + 1; }, "is finished");
}

TEST(BuilderTest, NameHintsReachThePrintedIR) {
  Module m;
  FunctionBuilder fb(m, "f", {f32({2})}, {"x"});
  Val y = tanh(fb.arg(0)).named("activation");
  fb.ret({y});
  std::string text = printModule(m);
  EXPECT_NE(text.find("%x: tensor<2xf32>"), std::string::npos) << text;
  EXPECT_NE(text.find("%activation = tanh %x"), std::string::npos) << text;
}

TEST(BuilderTest, ValsOfAnotherBuilderAreRejected) {
  Module m;
  FunctionBuilder g(m, "g", {f32({2})});
  FunctionBuilder f(m, "f", {f32({2})});
  expectBuildError(
      [&] {
        f.create1(OpKind::Add, {f.arg(0), g.arg(0)});
      },
      "operand #1 belongs to another function's builder");
  expectBuildError([&] { f.arg(3); }, "has 1 arguments; no argument #3");
  expectBuildError([&] { FunctionBuilder again(m, "f", {}); }, "@f already exists");
}

TEST(BuilderTest, BroadcastToNumpyStyle) {
  Module m;
  FunctionBuilder fb(m, "f", {f32({3}), f32({Q, 3})});
  Val n = dim(fb.arg(1), 0);
  EXPECT_EQ(broadcastTo(fb.arg(0), {n, 3}).type(), f32({Q, 3}));
  EXPECT_EQ(broadcastTo(fb.arg(0), {2, 3}).type(), f32({2, 3}));
  EXPECT_EQ(broadcastTo(fb.arg(1), {4, Q, 3}).type(), f32({4, Q, 3}));
  expectBuildError([&] { broadcastTo(fb.arg(0), {2, 4}); }, "cannot broadcast to result dim");
  expectBuildError([&] { broadcastTo(fb.arg(1), {3}); },
                   "cannot broadcast tensor<?x3xf32> to rank 1");
}

} // namespace
} // namespace cairn
