// Every differentiable op's gradient rule against central finite
// differences, in float64 on random shapes and values.
#include "tests/unit/GradCheckUtil.h"

namespace cairn {
namespace {

using testing::checkExpressionGradient;
using testing::GradCheckOptions;
using testing::randomTensor;

TensorType F64(Shape s) { return TensorType(DType::F64, std::move(s)); }
TensorType kI64Scalar() { return TensorType(DType::I64, {}); }

/// y = fn(x) for one f64 tensor of `shape` with values in [lo, hi).
void unary(const std::function<Val(Val)>& fn, Shape shape, double lo, double hi, uint64_t seed) {
  TensorType t = F64(shape);
  checkExpressionGradient({t}, [&](const ValueList& a) { return fn(a[0]); },
                          {randomTensor(t, seed, lo, hi)}, {0});
}

TEST(AutodiffOps, Unary) {
  unary([](Val x) { return -x; }, {3, 4}, -1, 1, 1);
  unary([](Val x) { return abs(x); }, {7}, 0.1, 1, 2);
  unary([](Val x) { return abs(x); }, {7}, -1, -0.1, 3);
  unary([](Val x) { return exp(x); }, {2, 3}, -2, 2, 4);
  unary([](Val x) { return log(x); }, {5}, 0.2, 3, 5);
  unary([](Val x) { return tanh(x); }, {2, 2, 3}, -2, 2, 6);
  unary([](Val x) { return sigmoid(x); }, {6}, -4, 4, 7);
  unary([](Val x) { return erf(x); }, {2, 5}, -2.5, 2.5, 12);
  unary([](Val x) { return sin(x); }, {6}, -3, 3, 13);
  unary([](Val x) { return cos(x); }, {6}, -3, 3, 14);
  unary([](Val x) { return tan(x); }, {6}, -1.2, 1.2, 15);
  unary([](Val x) { return asin(x); }, {6}, -0.9, 0.9, 16);
  unary([](Val x) { return acos(x); }, {6}, -0.9, 0.9, 17);
  unary([](Val x) { return atan(x); }, {6}, -4, 4, 18);
  unary([](Val x) { return sinh(x); }, {6}, -2, 2, 19);
  unary([](Val x) { return cosh(x); }, {6}, -2, 2, 20);
  unary([](Val x) { return asinh(x); }, {6}, -4, 4, 21);
  unary([](Val x) { return acosh(x); }, {6}, 1.2, 4, 22);
  unary([](Val x) { return atanh(x); }, {6}, -0.9, 0.9, 23);
  unary([](Val x) { return relu(x); }, {8}, 0.05, 1, 8);
  unary([](Val x) { return relu(x); }, {8}, -1, -0.05, 9);
  unary([](Val x) { return sqrt(x); }, {4}, 0.3, 2, 10);
  unary([](Val x) { return rsqrt(x); }, {4}, 0.3, 2, 11);
}

TEST(AutodiffOps, StopGradientBlocks) {
  // d/dx sum(stop_gradient(x) * x * v) = x * v: finite differences cannot
  // see the block, so compare with the formula.
  Module m;
  TensorType t = F64({3});
  FunctionBuilder fb(m, "f", {t, t});
  Val x = fb.arg(0), v = fb.arg(1);
  Function* f = fb.ret({reduceSum(stopGradient(x) * x * v, {0})});
  GradOptions go;
  go.wrt = {0};
  auto g = buildGradient(m, *f, go);
  ASSERT_TRUE(g.isOk()) << g.status().message();
  Tensor xs = randomTensor(t, 1), vs = randomTensor(t, 2);
  auto out = interpret(**g, {xs, vs});
  ASSERT_TRUE(out.isOk()) << out.status().message();
  for (int64_t i = 0; i < 3; ++i)
    EXPECT_DOUBLE_EQ((*out)[1].getDouble(i), xs.getDouble(i) * vs.getDouble(i));
}

void binary(const std::function<Val(Val, Val)>& fn, Shape shape, double lo, double hi,
            uint64_t seed) {
  TensorType t = F64(shape);
  checkExpressionGradient({t, t}, [&](const ValueList& a) { return fn(a[0], a[1]); },
                          {randomTensor(t, seed, lo, hi), randomTensor(t, seed + 100, lo, hi)},
                          {0, 1});
}

TEST(AutodiffOps, Binary) {
  binary([](Val a, Val b) { return a + b; }, {3, 2}, -1, 1, 1);
  binary([](Val a, Val b) { return a - b; }, {3, 2}, -1, 1, 2);
  binary([](Val a, Val b) { return a * b; }, {5}, -1, 1, 3);
  binary([](Val a, Val b) { return a / b; }, {5}, 0.5, 2, 4);
  binary([](Val a, Val b) { return max(a, b); }, {9}, -1, 1, 5);
  binary([](Val a, Val b) { return min(a, b); }, {9}, -1, 1, 6);
  binary([](Val a, Val b) { return pow(a, b); }, {4}, 0.5, 2, 7);
  // The same value on both sides: adjoints accumulate.
  unary([](Val x) { return x * x + x / (x + 3.0); }, {4}, 0.5, 2, 8);
}

TEST(AutodiffOps, Select) {
  TensorType t = F64({6});
  checkExpressionGradient(
      {t, t, t}, [](const ValueList& a) { return select(gt(a[2], 0.0), a[0], a[1]); },
      {randomTensor(t, 1), randomTensor(t, 2), randomTensor(t, 3)}, {0, 1});
  // A scalar predicate chooses the whole tensor.
  checkExpressionGradient(
      {t, t}, [](const ValueList& a) { return select(gt(reduceSum(a[1], {0}), 0.0), a[0], a[1]); },
      {randomTensor(t, 4), randomTensor(t, 5)}, {0, 1});
}

TEST(AutodiffOps, Cast) {
  TensorType t = F64({5});
  // f64 -> f32 -> f64 loses precision: a coarser step and tolerance.
  GradCheckOptions o;
  o.h = 1e-3;
  o.rtol = 1e-4;
  checkExpressionGradient({t}, [](const ValueList& a) { return cast(cast(a[0], DType::F32), DType::F64) * 2.0; },
                          {randomTensor(t, 1)}, {0}, o);
}

TEST(AutodiffOps, BroadcastReshapeTranspose) {
  TensorType row = F64({1, 4}), col = F64({3});
  checkExpressionGradient({row}, [](const ValueList& a) { return broadcastTo(a[0], {2, 3, 4}); },
                          {randomTensor(row, 1)}, {0});
  checkExpressionGradient({col}, [](const ValueList& a) { return broadcastInDim(a[0], {3, 5}, {0}); },
                          {randomTensor(col, 2)}, {0});
  TensorType m = F64({2, 3, 4});
  checkExpressionGradient({m}, [](const ValueList& a) { return reshape(a[0], {6, 4}); },
                          {randomTensor(m, 3)}, {0});
  checkExpressionGradient({m}, [](const ValueList& a) { return transpose(a[0], {2, 0, 1}); },
                          {randomTensor(m, 4)}, {0});
}

TEST(AutodiffOps, ConcatSlice) {
  TensorType a = F64({2, 3}), b = F64({2, 2});
  checkExpressionGradient({a, b}, [](const ValueList& v) { return concat({v[0], v[1], v[0]}, 1); },
                          {randomTensor(a, 1), randomTensor(b, 2)}, {0, 1});
  TensorType m = F64({4, 5});
  checkExpressionGradient({m}, [](const ValueList& v) { return slice(v[0], {1, 0}, {3, 4}); },
                          {randomTensor(m, 3)}, {0});
}

TEST(AutodiffOps, DynamicSliceAndUpdate) {
  TensorType m = F64({4, 5}), u = F64({2, 2});
  TensorType i64 = TensorType(DType::I64, {});
  Tensor one = Tensor::scalar(DType::I64, 1), two = Tensor::scalar(DType::I64, 2);
  checkExpressionGradient(
      {m, i64, i64}, [](const ValueList& v) { return dynamicSlice(v[0], {v[1], v[2]}, {2, 3}); },
      {randomTensor(m, 1), one, two}, {0});
  checkExpressionGradient(
      {m, u, i64, i64},
      [](const ValueList& v) { return dynamicUpdateSlice(v[0], v[1], {v[2], v[3]}); },
      {randomTensor(m, 2), randomTensor(u, 3), two, one}, {0, 1});
}

TEST(AutodiffOps, GatherScatter) {
  TensorType x = F64({5, 3});
  TensorType idx = TensorType(DType::I64, {4});
  Tensor dup = Tensor::fromInts(idx, {4, 0, 4, 2}); // repeats accumulate in the gradient
  checkExpressionGradient({x, idx}, [](const ValueList& v) { return gather(v[0], v[1], 0); },
                          {randomTensor(x, 1), dup}, {0});
  // Batched gather (the SPINN stack read): x [B, N, H], idx [B].
  TensorType stack = F64({3, 4, 2});
  TensorType bidx = TensorType(DType::I64, {3});
  checkExpressionGradient({stack, bidx}, [](const ValueList& v) { return gather(v[0], v[1], 1, 1); },
                          {randomTensor(stack, 2), Tensor::fromInts(bidx, {3, 0, 1})}, {0});
  TensorType upd = F64({4, 3});
  Tensor unique = Tensor::fromInts(idx, {4, 0, 3, 2});
  checkExpressionGradient(
      {x, idx, upd}, [](const ValueList& v) { return scatter(v[0], v[1], v[2], 0); },
      {randomTensor(x, 3), unique, randomTensor(upd, 4)}, {0, 2});
  checkExpressionGradient(
      {x, idx, upd}, [](const ValueList& v) { return scatterAdd(v[0], v[1], v[2], 0); },
      {randomTensor(x, 5), dup, randomTensor(upd, 6)}, {0, 2});
  TensorType row = F64({3, 2});
  checkExpressionGradient(
      {stack, bidx, row}, [](const ValueList& v) { return scatter(v[0], v[1], v[2], 1, 1); },
      {randomTensor(stack, 7), Tensor::fromInts(bidx, {2, 2, 0}), randomTensor(row, 8)}, {0, 2});
}

TEST(AutodiffOps, Reductions) {
  TensorType m = F64({3, 4, 2});
  checkExpressionGradient({m}, [](const ValueList& v) { return reduceSum(v[0], {0, 2}); },
                          {randomTensor(m, 1)}, {0});
  checkExpressionGradient({m}, [](const ValueList& v) { return reduceMax(v[0], {1}); },
                          {randomTensor(m, 2)}, {0});
  checkExpressionGradient({m}, [](const ValueList& v) { return reduceMin(v[0], {0, 1, 2}); },
                          {randomTensor(m, 3)}, {0});
}

TEST(AutodiffOps, Dot) {
  TensorType a = F64({3, 4}), b = F64({4, 5});
  checkExpressionGradient({a, b}, [](const ValueList& v) { return matmul(v[0], v[1]); },
                          {randomTensor(a, 1), randomTensor(b, 2)}, {0, 1});
  TensorType ba = F64({2, 3, 4}), bb = F64({2, 4, 5});
  checkExpressionGradient({ba, bb}, [](const ValueList& v) { return matmul(v[0], v[1]); },
                          {randomTensor(ba, 3), randomTensor(bb, 4)}, {0, 1});
  // Contracting middle dims, batch dims not leading, free dims on both sides.
  TensorType ga = F64({4, 2, 3}), gb = F64({3, 5, 2});
  checkExpressionGradient(
      {ga, gb},
      [](const ValueList& v) { return dot(v[0], v[1], DotDims{{1}, {2}, {2}, {0}}); },
      {randomTensor(ga, 5), randomTensor(gb, 6)}, {0, 1});
  // Vector . matrix.
  TensorType vec = F64({4});
  checkExpressionGradient({vec, b}, [](const ValueList& v) { return dot(v[0], v[1]); },
                          {randomTensor(vec, 7), randomTensor(b, 8)}, {0, 1});
}

TEST(AutodiffOps, DynamicShapes) {
  TensorType x = F64({kDynamic, 3}), w = F64({3, 2});
  checkExpressionGradient(
      {x, w},
      [](const ValueList& v) {
        Val h = tanh(matmul(v[0], v[1]));
        return reduceMax(h, {1}) + reduceSum(h, {1});
      },
      {randomTensor(F64({5, 3}), 1), randomTensor(w, 2)}, {0, 1});
  // A row of dynamic width written into a time-major buffer (the BiRNN
  // output buffer): the update's adjoint is cut out with gathers.
  TensorType buf = F64({4, kDynamic, 2}), row = F64({kDynamic, 2});
  checkExpressionGradient(
      {buf, row, kI64Scalar()},
      [](const ValueList& v) { return updateAt(v[0], v[2], tanh(v[1])); },
      {randomTensor(F64({4, 3, 2}), 3), randomTensor(F64({3, 2}), 4), Tensor::scalar(DType::I64, 2)},
      {0, 1});
}

} // namespace
} // namespace cairn
