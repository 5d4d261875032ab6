// ONNX products and normalizations: MatMul, Gemm, Softmax, LogSoftmax,
// Hardmax, CumSum, BatchNormalization (inference), LayerNormalization,
// InstanceNormalization.
//
// MatMul follows numpy: 1-D operands gain and lose a unit dim, batch dims
// broadcast. CumSum is a product with a triangular 0/1 matrix along the
// summed axis: one `dot`, which the compiler already turns into a GEMM.
#include "frontend/layers/Layers.h"
#include "frontend/onnx/OnnxInternal.h"

namespace cairn::onnx_import {
namespace {

ValueList matmulOp(NodeContext& c) {
  Val a = c.input(0), b = c.input(1);
  if (a.rank() == 0 || b.rank() == 0) throw InvalidModel("MatMul of a scalar");
  if (b.rank() <= 2) return {dot(a, b)};
  bool aVector = a.rank() == 1;
  if (aVector) a = reshape(a, {1, sizeOf(a, 0)});
  // Broadcast the batch dims of both to their common shape.
  int64_t ab = a.rank() - 2, bb = b.rank() - 2;
  int64_t batch = std::max(ab, bb);
  Sizes aBatch, bBatch;
  for (int64_t d = 0; d < ab; ++d)
    aBatch.push_back(sizeOf(a, d));
  for (int64_t d = 0; d < bb; ++d)
    bBatch.push_back(sizeOf(b, d));
  Sizes common;
  for (int64_t i = 0; i < batch; ++i) {
    int64_t ai = i - (batch - ab), bi = i - (batch - bb);
    IntOrVal x = ai >= 0 ? aBatch[ai] : IntOrVal(1);
    IntOrVal y = bi >= 0 ? bBatch[bi] : IntOrVal(1);
    if (x.isStatic() && x.staticValue() == 1)
      common.push_back(y);
    else
      common.push_back(x);
  }
  Sizes aTarget = common, bTarget = common;
  aTarget.push_back(sizeOf(a, ab));
  aTarget.push_back(sizeOf(a, ab + 1));
  bTarget.push_back(sizeOf(b, bb));
  bTarget.push_back(sizeOf(b, bb + 1));
  Val r = matmul(broadcastTo(a, aTarget), broadcastTo(b, bTarget));
  if (aVector) {
    Sizes s = sizesOf(r);
    s.erase(s.end() - 2);
    r = reshape(r, s);
  }
  return {r};
}

ValueList gemm(NodeContext& c) {
  Val a = c.input(0), b = c.input(1);
  if (a.rank() != 2 || b.rank() != 2) throw InvalidModel("Gemm operands must be matrices");
  if (c.attrInt("transA", 0)) a = transpose(a, {1, 0});
  if (c.attrInt("transB", 0)) b = transpose(b, {1, 0});
  double alpha = c.attrFloat("alpha", 1.0f), beta = c.attrFloat("beta", 1.0f);
  Val y = dot(a, b);
  if (alpha != 1.0) y = y * alpha;
  if (c.hasInput(2)) {
    Val cc = c.input(2);
    y = beta == 1.0 ? y + cc : y + cc * beta;
  }
  return {y};
}

/// Before opset 13, Softmax-like ops flatten the input to 2-D at `axis`
/// (default 1) and normalize each row; from 13 on they use one axis (-1).
template <Val (*F)(Val, int64_t)> ValueList softmaxLike(NodeContext& c) {
  Val x = c.input(0);
  if (c.opset() >= 13) return {F(x, normalizeAxis(c.attrInt("axis", -1), x.rank()))};
  int64_t axis = c.attrInt("axis", 1);
  if (axis < 0) axis += x.rank();
  Sizes all = sizesOf(x);
  Sizes lo(all.begin(), all.begin() + axis), hi(all.begin() + axis, all.end());
  Val flat = reshape(x, {productOf(c.b, lo), productOf(c.b, hi)});
  return {reshape(F(flat, 1), all)};
}

Val hardmaxAxis(Val x, int64_t axis) {
  Val am = argmax(x, axis, DType::I64);
  Sizes kept = sizesOf(x);
  kept[axis] = 1;
  Val ramp = x.builder().iota(DType::I64, sizesOf(x), axis);
  return cast(eq(ramp, broadcastTo(reshape(am, kept), sizesOf(x))), x.dtype());
}

Val cumsumAlong(NodeContext& c, const Val& x, int64_t axis, bool exclusive, bool reverse) {
  int64_t n = x.shape()[axis];
  if (n == kDynamic) throw Unsupported("CumSum along a dynamic dim");
  // out[j] = sum_i x[i] * m[i, j]
  if (n > 4096) throw Unsupported(fmt::format("CumSum along a dim of {} (over 4096)", n));
  Tensor m(TensorType(x.dtype(), {n, n}));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      bool in = reverse ? (exclusive ? i > j : i >= j) : (exclusive ? i < j : i <= j);
      m.setDouble(i * n + j, in ? 1.0 : 0.0);
    }
  int64_t last = x.rank() - 1;
  Val r = dot(moveAxis(x, axis, last), c.b.constant(m));
  return moveAxis(r, last, axis);
}

ValueList cumsum(NodeContext& c) {
  Val x = c.input(0);
  bool exclusive = c.attrInt("exclusive", 0) != 0, reverse = c.attrInt("reverse", 0) != 0;
  if (std::optional<Tensor> a = c.constInput(1)) {
    if (a->numElements() != 1) throw InvalidModel("axis must hold one value");
    return {cumsumAlong(c, x, normalizeAxis(a->getInt(0), x.rank()), exclusive, reverse)};
  }
  // The axis is known only at run time but does not change the shape:
  // compute the sums along every axis and select the one asked for. An axis
  // out of range matches none and gives zeros (ONNX leaves it undefined).
  Val axis = toScalar(c.input(1), DType::I64);
  axis = select(lt(axis, 0), axis + static_cast<double>(x.rank()), axis);
  Val r = x - x;
  for (int64_t d = x.rank() - 1; d >= 0; --d)
    r = select(eq(axis, static_cast<double>(d)), cumsumAlong(c, x, d, exclusive, reverse), r);
  return {r};
}

/// LRN: x / (bias + alpha / size * (sum of squares over `size` neighbouring
/// channels)) ^ beta.
ValueList lrn(NodeContext& c) {
  Val x = c.input(0);
  if (!x.type().hasStaticShape() || x.rank() < 3) throw Unsupported("LRN of a dynamic shape");
  int64_t size = c.attrInt("size", 0);
  if (size <= 0 || size > 4096) throw InvalidModel("size must be in [1, 4096]");
  double alpha = c.attrFloat("alpha", 1e-4f), beta = c.attrFloat("beta", 0.75f),
         bias = c.attrFloat("bias", 1.0f);
  int64_t before = (size - 1) / 2, after = size - 1 - before, ch = x.shape()[1];
  Val sq = x * x;
  auto zeros = [&](int64_t n) {
    Shape s = x.shape();
    s[1] = n;
    return c.b.constant(0.0, TensorType(x.dtype(), s));
  };
  ValueList parts;
  if (before) parts.push_back(zeros(before));
  parts.push_back(sq);
  if (after) parts.push_back(zeros(after));
  Val padded = concat(parts, 1);
  Val sum;
  for (int64_t k = 0; k < size; ++k) {
    Val s = sliceAxis(padded, 1, k, k + ch);
    sum = sum.valid() ? sum + s : s;
  }
  return {x / pow(sum * (alpha / static_cast<double>(size)) + bias, beta)};
}

/// [C] parameters shaped to broadcast along dim 1 of a rank-`rank` input.
Val perChannel(const Val& p, int64_t rank) {
  Sizes s{sizeOf(p, 0)};
  for (int64_t d = 2; d < rank; ++d)
    s.emplace_back(1);
  return reshape(p, s);
}

ValueList batchNorm(NodeContext& c) {
  if (c.attrInt("training_mode", 0) != 0 || c.numOutputs() > 1)
    throw Unsupported("BatchNormalization in training mode");
  Val x = c.input(0);
  double eps = c.attrFloat("epsilon", 1e-5f);
  int64_t r = x.rank();
  Val scale = perChannel(c.input(1), r), bias = perChannel(c.input(2), r);
  Val mean = perChannel(c.input(3), r), var = perChannel(c.input(4), r);
  return {(x - mean) * rsqrt(var + eps) * scale + bias};
}

ValueList layerNorm(NodeContext& c) {
  Val x = c.input(0);
  int64_t axis = normalizeAxis(c.attrInt("axis", -1), x.rank());
  double eps = c.attrFloat("epsilon", 1e-5f);
  std::vector<int64_t> dims;
  for (int64_t d = axis; d < x.rank(); ++d)
    dims.push_back(d);
  Sizes all = sizesOf(x);
  Sizes normSizes(all.begin() + axis, all.end());
  Val count = cast(c.b.intValue(productOf(c.b, normSizes)), x.dtype());
  Val mean = reduceSum(x, dims, true) / count;
  Val centered = x - mean;
  Val var = reduceSum(centered * centered, dims, true) / count;
  Val inv = rsqrt(var + eps);
  Val y = centered * inv * c.input(1);
  if (c.hasInput(2)) y = y + c.input(2);
  return {y, mean, inv};
}

ValueList instanceNorm(NodeContext& c) {
  Val x = c.input(0);
  double eps = c.attrFloat("epsilon", 1e-5f);
  std::vector<int64_t> dims;
  Sizes spatial;
  for (int64_t d = 2; d < x.rank(); ++d) {
    dims.push_back(d);
    spatial.push_back(sizeOf(x, d));
  }
  Val count = cast(c.b.intValue(productOf(c.b, spatial)), x.dtype());
  Val mean = reduceSum(x, dims, true) / count;
  Val centered = x - mean;
  Val var = reduceSum(centered * centered, dims, true) / count;
  int64_t r = x.rank();
  return {centered * rsqrt(var + eps) * perChannel(c.input(1), r) + perChannel(c.input(2), r)};
}

} // namespace

void registerMathOps(ConverterTable& t) {
  t["MatMul"] = matmulOp;
  t["Gemm"] = gemm;
  t["Softmax"] = softmaxLike<softmax>;
  t["LogSoftmax"] = softmaxLike<logSoftmax>;
  t["Hardmax"] = softmaxLike<hardmaxAxis>;
  t["CumSum"] = cumsum;
  t["LRN"] = lrn;
  t["BatchNormalization"] = batchNorm;
  t["LayerNormalization"] = layerNorm;
  t["InstanceNormalization"] = instanceNorm;
}

} // namespace cairn::onnx_import
