// ONNX reductions (ReduceSum/Mean/Max/Min/L1/L2/SumSquare/LogSum/LogSumExp)
// and ArgMax/ArgMin, on Cairn's reduce_sum / reduce_max / reduce_min and
// argmax.
//
// Axes are an attribute before opset 13 and an input of ReduceSum from 13 on
// (the other reductions move them to an input at opset 18, past what we
// import). No axes means every axis, unless noop_with_empty_axes says the
// reduction is the identity.
#include <algorithm>

#include "frontend/onnx/OnnxInternal.h"

namespace cairn::onnx_import {
namespace {

enum class Kind { Sum, Mean, Max, Min, L1, L2, SumSquare, LogSum, LogSumExp, Prod };

struct Reduction {
  Val x;
  std::vector<int64_t> dims; // empty with noop: identity
  bool keep = true;
  bool noop = false;
};

Reduction prepare(NodeContext& c, bool axesAsInput) {
  Reduction r;
  r.x = c.input(0);
  r.keep = c.attrInt("keepdims", 1) != 0;
  std::vector<int64_t> axes;
  if (axesAsInput) {
    if (c.hasInput(1)) axes = c.constInts(1, "axes");
  } else {
    axes = c.attrInts("axes");
  }
  if (axes.empty()) {
    if (c.attrInt("noop_with_empty_axes", 0) != 0) {
      r.noop = true;
      return r;
    }
    for (int64_t d = 0; d < r.x.rank(); ++d)
      r.dims.push_back(d);
  }
  for (int64_t a : axes)
    r.dims.push_back(normalizeAxis(a, r.x.rank()));
  std::sort(r.dims.begin(), r.dims.end());
  r.dims.erase(std::unique(r.dims.begin(), r.dims.end()), r.dims.end());
  return r;
}

template <Kind K> ValueList reduceOp(NodeContext& c) {
  bool axesAsInput = K == Kind::Sum && c.opset() >= 13;
  Reduction r = prepare(c, axesAsInput);
  if (r.noop) return {r.x};
  Val x = r.x;
  switch (K) {
  case Kind::Sum:
    return {reduceSum(x, r.dims, r.keep)};
  case Kind::Max:
    return {reduceMax(x, r.dims, r.keep)};
  case Kind::Min:
    return {reduceMin(x, r.dims, r.keep)};
  case Kind::L1:
    return {reduceSum(abs(x), r.dims, r.keep)};
  case Kind::SumSquare:
    return {reduceSum(x * x, r.dims, r.keep)};
  case Kind::L2: {
    if (!isFloat(x.dtype())) {
      Val s = reduceSum(cast(x * x, DType::F64), r.dims, r.keep);
      return {cast(sqrt(s), x.dtype())};
    }
    return {sqrt(reduceSum(x * x, r.dims, r.keep))};
  }
  case Kind::LogSum:
    return {log(reduceSum(x, r.dims, r.keep))};
  case Kind::LogSumExp: {
    Val m = reduceMax(x, r.dims, true);
    // An all -inf slice would give -inf - -inf = NaN: shift by 0 there.
    Val shift = select(eq(m, -INFINITY), 0, m);
    Val s = log(reduceSum(exp(x - shift), r.dims, true)) + shift;
    if (r.keep) return {s};
    return {reduceSum(s, r.dims, false)}; // drops the unit dims
  }
  case Kind::Mean: {
    Sizes counted;
    for (int64_t d : r.dims)
      counted.push_back(sizeOf(x, d));
    Val n = cast(c.b.intValue(productOf(c.b, counted)), x.dtype());
    return {reduceSum(x, r.dims, r.keep) / n};
  }
  case Kind::Prod:
    break;
  }
  // Cairn has no product reduction: a loop multiplies the reduced slices in
  // order (the reduced dims moved first and flattened into one).
  std::vector<int64_t> perm = r.dims, kept;
  for (int64_t d = 0; d < x.rank(); ++d)
    if (!std::binary_search(r.dims.begin(), r.dims.end(), d)) kept.push_back(d);
  perm.insert(perm.end(), kept.begin(), kept.end());
  Val xt = transpose(x, perm);
  Sizes counted, keptSizes;
  for (int64_t d : r.dims)
    counted.push_back(sizeOf(x, d));
  for (int64_t d : kept)
    keptSizes.push_back(sizeOf(x, d));
  IntOrVal n = productOf(c.b, counted);
  Sizes flat{n};
  flat.insert(flat.end(), keptSizes.begin(), keptSizes.end());
  Val rows = reshape(xt, flat);
  Val nVal = c.b.intValue(n, DType::I64);
  Val one = broadcastTo(c.b.scalar(1, x.dtype()), keptSizes);
  ValueList out = c.b.whileLoop(
      {c.b.scalar(0, DType::I64), one}, [&](const ValueList& a) { return lt(a[0], nVal); },
      [&](const ValueList& a) {
        return ValueList{a[0] + 1.0, a[1] * sliceAt(rows, a[0], 0)};
      });
  if (!r.keep) return {out[1]};
  Sizes keptShape = sizesOf(x);
  for (int64_t d : r.dims)
    keptShape[d] = 1;
  return {reshape(out[1], keptShape)};
}

template <bool Min> ValueList argOp(NodeContext& c) {
  Val x = c.input(0);
  int64_t axis = normalizeAxis(c.attrInt("axis", 0), x.rank());
  bool keep = c.attrInt("keepdims", 1) != 0;
  bool last = c.attrInt("select_last_index", 0) != 0;
  Val v = x;
  if (Min) {
    if (!isFloat(x.dtype()) && !isInteger(x.dtype())) throw Unsupported("ArgMin of booleans");
    v = neg(x);
  }
  if (last) v = reverseAxis(v, axis);
  Val idx = argmax(v, axis, DType::I64);
  if (last) idx = (c.b.intValue(sizeOf(x, axis)) - 1.0) - idx;
  if (keep) {
    Sizes s = sizesOf(x);
    s[axis] = 1;
    idx = reshape(idx, s);
  }
  return {idx};
}

/// GlobalAveragePool / GlobalMaxPool: over every dim after N and C, kept.
template <bool Avg> ValueList globalPool(NodeContext& c) {
  Val x = c.input(0);
  std::vector<int64_t> dims;
  Sizes spatial;
  for (int64_t d = 2; d < x.rank(); ++d) {
    dims.push_back(d);
    spatial.push_back(sizeOf(x, d));
  }
  if (!Avg) return {reduceMax(x, dims, true)};
  Val n = cast(c.b.intValue(productOf(c.b, spatial)), x.dtype());
  return {reduceSum(x, dims, true) / n};
}

} // namespace

void registerReduceOps(ConverterTable& t) {
  t["ReduceSum"] = reduceOp<Kind::Sum>;
  t["ReduceMean"] = reduceOp<Kind::Mean>;
  t["ReduceMax"] = reduceOp<Kind::Max>;
  t["ReduceMin"] = reduceOp<Kind::Min>;
  t["ReduceL1"] = reduceOp<Kind::L1>;
  t["ReduceL2"] = reduceOp<Kind::L2>;
  t["ReduceSumSquare"] = reduceOp<Kind::SumSquare>;
  t["ReduceLogSum"] = reduceOp<Kind::LogSum>;
  t["ReduceLogSumExp"] = reduceOp<Kind::LogSumExp>;
  t["ReduceProd"] = reduceOp<Kind::Prod>;
  t["GlobalAveragePool"] = globalPool<true>;
  t["GlobalMaxPool"] = globalPool<false>;
  t["ArgMax"] = argOp<false>;
  t["ArgMin"] = argOp<true>;
}

} // namespace cairn::onnx_import
