// Gradients through `while` (data-dependent trip counts, nesting, dynamic
// shapes, a thin stack) and `if`, against finite differences.
#include "runtime/reference/Interpreter.h"
#include "tests/unit/GradCheckUtil.h"

namespace cairn {
namespace {

using testing::expectGradientsMatchFiniteDifferences;
using testing::randomTensor;

TensorType F64(Shape s) { return TensorType(DType::F64, std::move(s)); }
const TensorType kI64 = TensorType(DType::I64, {});

/// h_{t+1} = tanh(h_t W + x) for t < n (n given at run time), loss = sum(h * v).
Function* buildRnnLoss(Module& m, bool withMaxTrip) {
  FunctionBuilder fb(m, "loss", {F64({2, 3}), F64({3, 3}), F64({2, 3}), kI64},
                     {"x", "w", "v", "n"});
  Val x = fb.arg(0), w = fb.arg(1), v = fb.arg(2), n = fb.arg(3);
  std::optional<IntOrVal> bound;
  if (withMaxTrip) bound = IntOrVal(n + 2.0);
  ValueList out = fb.whileLoop(
      {x, fb.scalar(0, DType::I64)}, [&](const ValueList& c) { return lt(c[1], n); },
      [&](const ValueList& c) { return ValueList{tanh(matmul(c[0], w) + x), c[1] + 1.0}; },
      bound);
  return fb.ret({reduceSum(out[0] * v, {0, 1})});
}

Function* buildNestedLoss(Module& m, bool innerDependsOnOuter);

TEST(AutodiffWhile, DataDependentTripCount) {
  for (bool withMaxTrip : {true, false}) {
    for (int64_t trips : {0, 1, 4}) {
      Module m;
      Function* f = buildRnnLoss(m, withMaxTrip);
      std::vector<Tensor> in = {randomTensor(F64({2, 3}), 1), randomTensor(F64({3, 3}), 2),
                                randomTensor(F64({2, 3}), 3), Tensor::scalar(DType::I64, trips)};
      SCOPED_TRACE(fmt::format("max_trip {}, {} trips", withMaxTrip, trips));
      expectGradientsMatchFiniteDifferences(m, *f, in, {0, 1, 2});
    }
  }
}

TEST(AutodiffWhile, CheckpointedLoopsRecomputeSegments) {
  // Strip-mined into segments of k with recomputation: the same gradients
  // (to rounding) as taping every iteration, for trip counts below, at and
  // across segment boundaries.
  for (bool withMaxTrip : {true, false}) {
    for (int64_t k : {1, 2, 3}) {
      for (int64_t trips : {0, 1, 4, 7}) {
        Module m;
        Function* f = buildRnnLoss(m, withMaxTrip);
        std::vector<Tensor> in = {randomTensor(F64({2, 3}), 1), randomTensor(F64({3, 3}), 2),
                                  randomTensor(F64({2, 3}), 3), Tensor::scalar(DType::I64, trips)};
        SCOPED_TRACE(fmt::format("max_trip {}, k {}, {} trips", withMaxTrip, k, trips));
        GradOptions taped, checkpointed;
        taped.wrt = checkpointed.wrt = {0, 1, 2};
        taped.name = "taped";
        checkpointed.loopCheckpointEvery = k;
        auto g1 = buildGradient(m, *f, taped);
        auto g2 = buildGradient(m, *f, checkpointed);
        ASSERT_TRUE(g1.isOk()) << g1.status().message();
        ASSERT_TRUE(g2.isOk()) << g2.status().message();
        auto a = interpret(**g1, in), b = interpret(**g2, in);
        ASSERT_TRUE(a.isOk()) << a.status().message();
        ASSERT_TRUE(b.isOk()) << b.status().message();
        for (size_t r = 0; r < a->size(); ++r)
          for (int64_t i = 0; i < (*a)[r].numElements(); ++i)
            EXPECT_NEAR((*a)[r].getDouble(i), (*b)[r].getDouble(i), 1e-12) << "result " << r;
      }
    }
  }
}

TEST(AutodiffWhile, CheckpointedNestedAndStackLoopsMatchFiniteDifferences) {
  for (bool dependent : {true, false}) {
    Module m;
    Function* f = buildNestedLoss(m, dependent);
    std::vector<Tensor> in = {randomTensor(F64({4}), 1), randomTensor(F64({4}), 2, 0.2, 0.9),
                              Tensor::scalar(DType::I64, 3)};
    testing::GradCheckOptions o;
    o.loopCheckpointEvery = 2;
    expectGradientsMatchFiniteDifferences(m, *f, in, {0, 1}, o);
  }
}

TEST(AutodiffWhile, PastMaxTripIsTheForwardError) {
  Module m;
  FunctionBuilder fb(m, "loss", {F64({3}), kI64});
  Val x = fb.arg(0), n = fb.arg(1);
  ValueList out = fb.whileLoop(
      {x, fb.scalar(0, DType::I64)}, [&](const ValueList& c) { return lt(c[1], n); },
      [&](const ValueList& c) { return ValueList{tanh(c[0]), c[1] + 1.0}; }, IntOrVal(3));
  Function* f = fb.ret({reduceSum(out[0], {0})});
  for (int64_t k : {0, 2}) {
    GradOptions go;
    go.wrt = {0};
    go.loopCheckpointEvery = k;
    go.name = fmt::format("grad_{}", k);
    auto g = buildGradient(m, *f, go);
    ASSERT_TRUE(g.isOk()) << g.status().message();
    auto ok = interpret(**g, {randomTensor(F64({3}), 1), Tensor::scalar(DType::I64, 3)});
    EXPECT_TRUE(ok.isOk()) << ok.status().message();
    auto bad = interpret(**g, {randomTensor(F64({3}), 1), Tensor::scalar(DType::I64, 4)});
    ASSERT_FALSE(bad.isOk()) << "checkpoint every " << k;
    EXPECT_NE(bad.status().message().find("max"), std::string::npos) << bad.status().message();
  }
}

/// An outer loop of n trips around an inner loop; with `innerDependsOnOuter`
/// the inner loop runs i + 1 times (bounded by max_trip n, which does not
/// change across outer iterations), else twice with no max_trip (its trip
/// count is counted by a first, plain run).
Function* buildNestedLoss(Module& m, bool innerDependsOnOuter) {
  FunctionBuilder fb(m, "loss", {F64({4}), F64({4}), kI64});
  Val x = fb.arg(0), a = fb.arg(1), n = fb.arg(2);
  ValueList outer = fb.whileLoop(
      {x, fb.scalar(0, DType::I64)}, [&](const ValueList& c) { return lt(c[1], n); },
      [&](const ValueList& c) {
        Val i = c[1];
        std::optional<IntOrVal> bound;
        if (innerDependsOnOuter) bound = IntOrVal(n);
        ValueList inner = fb.whileLoop(
            {c[0], fb.scalar(0, DType::I64)},
            [&](const ValueList& d) {
              return innerDependsOnOuter ? le(d[1], i) : lt(d[1], 2.0);
            },
            [&](const ValueList& d) { return ValueList{tanh(d[0] * a + 0.1), d[1] + 1.0}; },
            bound);
        return ValueList{inner[0] * a + c[0] * 0.5, i + 1.0};
      },
      IntOrVal(n));
  return fb.ret({reduceSum(outer[0] * outer[0], {0})});
}

TEST(AutodiffWhile, NestedLoops) {
  for (bool dependent : {true, false}) {
    Module m;
    Function* f = buildNestedLoss(m, dependent);
    std::vector<Tensor> in = {randomTensor(F64({4}), 1), randomTensor(F64({4}), 2, 0.2, 0.9),
                              Tensor::scalar(DType::I64, 3)};
    SCOPED_TRACE(dependent ? "inner trips depend on the outer counter" : "fixed inner trips");
    expectGradientsMatchFiniteDifferences(m, *f, in, {0, 1});
  }
}

TEST(AutodiffWhile, IfInsideWhile) {
  Module m;
  FunctionBuilder fb(m, "loss", {F64({3}), F64({3, 3}), kI64});
  Val x = fb.arg(0), w = fb.arg(1), n = fb.arg(2);
  ValueList out = fb.whileLoop(
      {x, fb.scalar(0, DType::I64)}, [&](const ValueList& c) { return lt(c[1], n); },
      [&](const ValueList& c) {
        Val h = c[0];
        ValueList next = fb.ifElse(
            gt(reduceSum(h, {0}), 0.0), [&] { return ValueList{tanh(dot(h, w))}; },
            [&] { return ValueList{sigmoid(h) * 2.0 - 0.5 + x}; });
        return ValueList{next[0], c[1] + 1.0};
      },
      IntOrVal(n));
  Function* f = fb.ret({reduceSum(out[0] * x, {0})});
  for (uint64_t seed : {1, 2, 3}) {
    std::vector<Tensor> in = {randomTensor(F64({3}), seed), randomTensor(F64({3, 3}), seed + 10),
                              Tensor::scalar(DType::I64, 5)};
    expectGradientsMatchFiniteDifferences(m, *f, in, {0, 1});
    m.eraseFunction(m.lookup("loss_grad"));
  }
}

TEST(AutodiffIf, TopLevelBranchesOnData) {
  // Clip by norm: the branch taken depends on the data.
  Module m;
  FunctionBuilder fb(m, "loss", {F64({4}), F64({4})});
  Val x = fb.arg(0), v = fb.arg(1);
  Val norm = sqrt(reduceSum(x * x, {0}));
  ValueList r = fb.ifElse(gt(norm, 1.0), [&] { return ValueList{x / norm}; },
                          [&] { return ValueList{x}; });
  Function* f = fb.ret({reduceSum(r[0] * v, {0})});
  for (double scale : {0.1, 3.0}) {
    Tensor xs = randomTensor(F64({4}), 1);
    for (int64_t i = 0; i < 4; ++i)
      xs.setDouble(i, xs.getDouble(i) * scale);
    expectGradientsMatchFiniteDifferences(m, *f, {xs, randomTensor(F64({4}), 2)}, {0, 1});
    m.eraseFunction(m.lookup("loss_grad"));
  }
}

TEST(AutodiffWhile, DynamicBatchThinStack) {
  // A miniature SPINN: rows push their input or merge the two stack tops.
  Module m;
  FunctionBuilder fb(m, "loss", {F64({kDynamic, 5, 2}), F64({2, 2}), TensorType(DType::I64, {kDynamic, 5})});
  Val xs = fb.arg(0), w = fb.arg(1), ops = fb.arg(2);
  Val batch = dim(xs, 0);
  Val stack0 = broadcastTo(fb.scalar(0.0, DType::F64), {batch, IntOrVal(6), IntOrVal(2)});
  Val sp0 = broadcastTo(fb.scalar(0, DType::I64), {batch});
  ValueList out = fb.whileLoop(
      {stack0, sp0, fb.scalar(0, DType::I64)},
      [&](const ValueList& c) { return lt(c[2], 5.0); },
      [&](const ValueList& c) {
        Val stack = c[0], sp = c[1], t = c[2];
        Val op = reshape(gather(ops, t, 1), {batch});          // 1 = reduce, 0 = shift
        Val x = gather(xs, t, 1);                               // [B, 2]
        Val top = gather(stack, max(sp - 1.0, 0.0), 1, 1);      // [B, 2]
        Val second = gather(stack, max(sp - 2.0, 0.0), 1, 1);
        Val merged = tanh(matmul(top + second, w));
        Val isReduce = broadcastInDim(eq(op, 1.0), {batch, IntOrVal(2)}, {0});
        Val row = select(isReduce, merged, x);
        Val at = select(eq(op, 1.0), max(sp - 2.0, 0.0), sp);
        Val next = scatter(stack, at, row, 1, 1);
        return ValueList{next, at + 1.0, t + 1.0};
      });
  Val top = gather(out[0], max(out[1] - 1.0, 0.0), 1, 1);
  Function* f = fb.ret({reduceSum(top * top, {0, 1})});
  Tensor opsT = Tensor::fromInts(TensorType(DType::I64, {3, 5}),
                                 {0, 0, 1, 0, 1, 0, 0, 0, 1, 1, 0, 0, 1, 0, 0});
  std::vector<Tensor> in = {randomTensor(F64({3, 5, 2}), 1), randomTensor(F64({2, 2}), 2), opsT};
  Function* g = expectGradientsMatchFiniteDifferences(m, *f, in, {0, 1});
  ASSERT_TRUE(g);
  // Only rows read by the rules are taped: no tape holds the whole stack.
  walk(*g, [&](Op& op) {
    if (op.kind() != OpKind::While) return;
    for (Value* r : op.results())
      EXPECT_LT(r->type.rank(), 4) << "a tape of the whole stack: " << r->type.toString();
  });
}

TEST(AutodiffErrors, NamedProblems) {
  Module m;
  FunctionBuilder fb(m, "f", {F64({3}), TensorType(DType::I64, {3})});
  Val x = fb.arg(0);
  Function* f = fb.ret({reduceSum(x, {0}), x});
  GradOptions go;
  go.wrt = {1};
  auto e1 = buildGradient(m, *f, go);
  ASSERT_FALSE(e1.isOk());
  EXPECT_NE(e1.status().message().find("only float arguments"), std::string::npos);
  go.wrt = {0};
  go.lossResult = 1;
  auto e2 = buildGradient(m, *f, go);
  ASSERT_FALSE(e2.isOk());
  EXPECT_NE(e2.status().message().find("float scalar"), std::string::npos);
}

} // namespace
} // namespace cairn
