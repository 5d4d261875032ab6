// ONNX indexing ops: Gather, GatherElements, Slice.
//
// ONNX lets indices be negative (counting from the end); Cairn's gather
// takes them in [0, n) and stops on anything else. Indices known at import
// time are wrapped (and range-checked) then; run-time indices get the
// wrap as a select. Out-of-range indices stay a run-time error, as in Cairn.
#include <algorithm>
#include <climits>

#include "frontend/onnx/OnnxInternal.h"

namespace cairn::onnx_import {
namespace {

/// Indices of input `i` wrapped into [0, n) along x's `axis`.
Val wrappedIndices(NodeContext& c, size_t i, const Val& x, int64_t axis) {
  Val idx = c.input(i);
  if (!isInteger(idx.dtype()))
    throw InvalidModel(fmt::format("indices must be int32/int64, got {}", idx.type().toString()));
  int64_t n = x.shape()[axis];
  if (std::optional<Tensor> t = c.constInput(i); t && n != kDynamic) {
    Tensor w = *t;
    for (int64_t k = 0; k < w.numElements(); ++k) {
      int64_t v = w.getInt(k);
      if (v < -n || v >= n)
        throw InvalidModel(fmt::format("index {} is out of range for a dim of size {}", v, n));
      w.setInt(k, v < 0 ? v + n : v);
    }
    return c.b.constant(w);
  }
  Val size = cast(c.b.intValue(sizeOf(x, axis)), idx.dtype());
  return select(lt(idx, 0), idx + size, idx);
}

ValueList gatherOp(NodeContext& c) {
  Val x = c.input(0);
  int64_t axis = normalizeAxis(c.attrInt("axis", 0), x.rank());
  return {gather(x, wrappedIndices(c, 1, x, axis), axis)};
}

/// out[i..., j, k...] = x[i..., idx[i..., j, k...], k...]: move the axis last,
/// flatten the others into one batch dim, gather with batch_dims = 1.
ValueList gatherElements(NodeContext& c) {
  Val x = c.input(0);
  int64_t axis = normalizeAxis(c.attrInt("axis", 0), x.rank());
  Val idx = wrappedIndices(c, 1, x, axis);
  if (idx.rank() != x.rank()) throw InvalidModel("indices must have the data's rank");
  for (int64_t d = 0; d < x.rank(); ++d)
    if (d != axis && (x.shape()[d] != idx.shape()[d] || x.shape()[d] == kDynamic))
      throw Unsupported("GatherElements with indices smaller than the data, or dynamic, in a "
                        "non-gathered dim");
  int64_t last = x.rank() - 1;
  Val xt = moveAxis(x, axis, last), it = moveAxis(idx, axis, last);
  int64_t batch = 1;
  for (int64_t d = 0; d < last; ++d)
    batch *= xt.shape()[d];
  IntOrVal n = sizeOf(xt, last), m = sizeOf(it, last);
  Val g = gather(reshape(xt, {batch, n}), reshape(it, {batch, m}), 1, 1);
  Val back = reshape(g, sizesOf(it));
  return {moveAxis(back, last, axis)};
}

/// Slice with run-time starts or ends: per axis, the clamped bounds and the
/// length are computed in IR (ONNX's rules), then a gather of
/// start + step * iota(length) along the axis.
ValueList dynamicSliceOp(NodeContext& c, std::vector<int64_t> axes, std::vector<int64_t> steps) {
  Val x = c.input(0);
  FunctionBuilder& b = c.b;
  int64_t count = c.input(1).rank() == 1 ? c.input(1).shape()[0] : kDynamic;
  if (count == kDynamic || c.input(2).rank() != 1 || c.input(2).shape()[0] != count)
    throw InvalidModel("starts and ends must be 1-D of one known length");
  checkRank(count, "starts");
  if (axes.empty())
    for (int64_t i = 0; i < count; ++i)
      axes.push_back(i);
  if (steps.empty()) steps.assign(static_cast<size_t>(count), 1);
  if (static_cast<int64_t>(axes.size()) != count || static_cast<int64_t>(steps.size()) != count)
    throw InvalidModel("starts, ends, axes and steps differ in length");
  Val starts = cast(c.input(1), DType::I64), ends = cast(c.input(2), DType::I64);
  Val r = x;
  for (int64_t k = 0; k < count; ++k) {
    int64_t a = normalizeAxis(axes[k], x.rank());
    int64_t step = steps[k];
    if (step == 0) throw InvalidModel("a step is 0");
    Val n = b.intValue(sizeOf(r, a), DType::I64);
    Val s = elementAt(starts, k), e = elementAt(ends, k);
    s = select(lt(s, 0), s + n, s);
    // e + n would overflow for the INT64_MIN "to the start" idiom: clamp first.
    e = select(lt(e, 0), max(e, neg(n) - 1.0) + n, e);
    auto clamp = [](Val v, Val lo, Val hi) { return min(max(v, lo), hi); };
    Val zero = b.scalar(0, DType::I64);
    Val len;
    if (step > 0) {
      s = clamp(s, zero, n);
      e = clamp(e, zero, n);
      len = max(div(e - s + static_cast<double>(step - 1),
                    b.scalar(static_cast<double>(step), DType::I64)),
                0);
    } else {
      s = clamp(s, zero, n - 1.0);
      e = clamp(e, b.scalar(-1, DType::I64), n - 1.0);
      len = max(div(s - e + static_cast<double>(-step - 1),
                    b.scalar(static_cast<double>(-step), DType::I64)),
                0);
    }
    Val idx = s + b.iota(DType::I64, {IntOrVal(len)}, 0) * static_cast<double>(step);
    r = gather(r, idx, a);
  }
  return {r};
}

/// Slice whose axes or steps are known only at run time: every dim of the
/// data may be sliced, so each gets its bounds selected from the entries
/// that name it (the whole dim when none does), its length computed by
/// ONNX's clamping rules for either sign of the step, and a gather.
ValueList runTimeAxesSliceOp(NodeContext& c) {
  Val x = c.input(0);
  FunctionBuilder& b = c.b;
  int64_t count = c.input(1).rank() == 1 ? c.input(1).shape()[0] : kDynamic;
  if (count == kDynamic) throw InvalidModel("starts must be 1-D of a known length");
  checkRank(count, "starts");
  Val starts = cast(c.input(1), DType::I64), ends = cast(c.input(2), DType::I64);
  Val axes = c.hasInput(3) ? cast(c.input(3), DType::I64) : b.iota(DType::I64, {count}, 0);
  Val steps =
      c.hasInput(4) ? cast(c.input(4), DType::I64) : broadcastTo(b.scalar(1, DType::I64), {count});
  Val r = x;
  for (int64_t d = 0; d < x.rank(); ++d) {
    Val n = b.intValue(sizeOf(r, d), DType::I64);
    Val s = b.scalar(0, DType::I64), e = n, step = b.scalar(1, DType::I64);
    for (int64_t k = 0; k < count; ++k) {
      Val a = elementAt(axes, k);
      Val mine = eq(select(lt(a, 0), a + static_cast<double>(x.rank()), a), static_cast<double>(d));
      s = select(mine, elementAt(starts, k), s);
      e = select(mine, elementAt(ends, k), e);
      step = select(mine, elementAt(steps, k), step);
    }
    s = select(lt(s, 0), s + n, s);
    e = select(lt(e, 0), max(e, neg(n) - 1.0) + n, e);
    auto clamp = [](Val v, Arg lo, Arg hi) { return min(max(v, lo), hi); };
    Val up = gt(step, 0);
    Val sc = select(up, clamp(s, 0, n), clamp(s, 0, n - 1.0));
    Val ec = select(up, clamp(e, 0, n), clamp(e, -1, n - 1.0));
    Val absStep = abs(step);
    Val span = select(up, ec - sc, sc - ec);
    Val len = max(div(span + absStep - 1.0, absStep), 0);
    r = gather(r, sc + b.iota(DType::I64, {IntOrVal(len)}, 0) * step, d);
  }
  return {r};
}

ValueList sliceOp(NodeContext& c) {
  Val x = c.input(0);
  std::vector<int64_t> starts, ends, axes, steps;
  if (c.opset() < 10) {
    starts = c.attrInts("starts");
    ends = c.attrInts("ends");
    axes = c.attrInts("axes");
  } else {
    if ((c.hasInput(3) && !c.constInput(3)) || (c.hasInput(4) && !c.constInput(4)))
      return runTimeAxesSliceOp(c);
    if (c.hasInput(3)) axes = c.constInts(3, "axes");
    if (c.hasInput(4)) steps = c.constInts(4, "steps");
    if (!c.constInput(1) || !c.constInput(2)) return dynamicSliceOp(c, axes, steps);
    starts = c.constInts(1, "starts");
    ends = c.constInts(2, "ends");
  }
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i)
      axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    throw InvalidModel("starts, ends, axes and steps differ in length");

  Val r = x;
  for (size_t k = 0; k < axes.size(); ++k) {
    int64_t a = normalizeAxis(axes[k], x.rank());
    int64_t step = steps[k];
    if (step == 0) throw InvalidModel("a step is 0");
    int64_t n = r.shape()[a];
    if (n == kDynamic) {
      // A slice that keeps the whole of a dynamic dim needs no size.
      if (step == 1 && (starts[k] == 0 || starts[k] <= -LLONG_MAX) && ends[k] >= INT32_MAX)
        continue;
      if (c.opset() >= 10) return dynamicSliceOp(c, axes, steps);
      throw Unsupported("Slice of a dynamic dim");
    }
    int64_t s = starts[k], e = ends[k];
    if (s < 0) s += n;
    if (e < 0 && e > LLONG_MIN + n)
      e += n;
    else if (e < 0)
      e = -1;
    if (step > 0) {
      s = std::clamp<int64_t>(s, 0, n);
      e = std::clamp<int64_t>(e, 0, n);
    } else {
      s = std::clamp<int64_t>(s, 0, n - 1);
      e = std::clamp<int64_t>(e, -1, n - 1);
    }
    checkHostTable(n, "a strided slice");
    std::vector<int64_t> idx;
    for (int64_t i = s; step > 0 ? i < e : i > e; i += step)
      idx.push_back(i);
    if (step == 1 && isStatic(r.shape())) {
      std::vector<int64_t> lo(static_cast<size_t>(r.rank()), 0), hi = r.shape();
      lo[a] = s;
      hi[a] = std::max(s, e);
      r = slice(r, lo, hi);
      continue;
    }
    Tensor t(TensorType(DType::I64, {static_cast<int64_t>(idx.size())}));
    for (size_t i = 0; i < idx.size(); ++i)
      t.setInt(static_cast<int64_t>(i), idx[i]);
    r = gather(r, c.b.constant(t), a);
  }
  return {r};
}

} // namespace

void registerIndexingOps(ConverterTable& t) {
  t["Gather"] = gatherOp;
  t["GatherElements"] = gatherElements;
  t["Slice"] = sliceOp;
}

} // namespace cairn::onnx_import
