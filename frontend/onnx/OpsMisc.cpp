// ONNX ops the conformance suite showed cheap to add, each written with core
// Cairn ops: Mod, OneHot, EyeLike, Shrink, DepthToSpace, SpaceToDepth,
// MeanVarianceNormalization, Compress, ScatterElements (and the old
// Scatter), Pad.
#include <algorithm>

#include "frontend/onnx/OnnxInternal.h"

namespace cairn::onnx_import {
namespace {

/// Mod: fmod = 1 is C's fmod (the sign of the dividend), fmod = 0 Python's %
/// (the sign of the divisor, integers only).
ValueList mod(NodeContext& c) {
  ValueList v = broadcastTogether({c.input(0), c.input(1)});
  Val a = v[0], b = v[1];
  bool fmod = c.attrInt("fmod", 0) != 0;
  if (isFloat(a.dtype())) {
    if (!fmod) throw InvalidModel("Mod of floats needs fmod = 1");
    Val q = a / b;
    Val t = cast(cast(q, DType::I64), a.dtype());
    // Quotients too large for i64 have no fraction: they truncate to themselves.
    t = select(lt(abs(q), 4503599627370496.0), t, q);
    return {a - b * t};
  }
  Val r = a - b * div(a, b); // integer division truncates toward zero
  if (fmod) return {r};
  Val fix = logicalAnd(ne(r, 0), ne(lt(r, 0), lt(b, 0)));
  return {select(fix, r + b, r)};
}

ValueList oneHot(NodeContext& c) {
  Val idx = cast(c.input(0), DType::I64);
  // A run-time depth makes the new dim dynamic; its rank is known anyway.
  IntOrVal depth = 0;
  if (std::optional<Tensor> depthT = c.constInput(1)) {
    double d = oneElement(*depthT, "depth").getDouble(0);
    if (!(d >= 1 && d <= double(int64_t(1) << 40))) // NaN too
      throw InvalidModel(fmt::format("depth must be a positive count, got {}", d));
    depth = static_cast<int64_t>(d);
  } else {
    depth = IntOrVal(toScalar(cast(c.input(1), DType::I64), DType::I64));
  }
  Val values = c.input(2);
  if (values.rank() != 1 || values.shape()[0] != 2)
    throw InvalidModel("values must hold 2 entries");
  int64_t rank = idx.rank() + 1;
  int64_t axis = normalizeAxis(c.attrInt("axis", -1), rank);
  idx = select(lt(idx, 0), idx + c.b.intValue(depth, DType::I64), idx);
  Sizes out = sizesOf(idx);
  out.insert(out.begin() + axis, depth);
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis) dims.push_back(d);
  Val spread = broadcastInDim(idx, out, dims);
  Val ramp = c.b.iota(DType::I64, out, axis);
  Val on = broadcastTo(elementAt(values, 1), out), off = broadcastTo(elementAt(values, 0), out);
  return {select(eq(ramp, spread), on, off)};
}

ValueList eyeLike(NodeContext& c) {
  Val x = c.input(0);
  if (x.rank() != 2 || !x.type().hasStaticShape()) throw Unsupported("EyeLike of a dynamic shape");
  DType dt = x.dtype();
  if (c.hasAttr("dtype")) {
    StatusOr<DType> d = dtypeFromOnnx(static_cast<int32_t>(c.attrInt("dtype", 1)));
    if (!d.isOk()) throw Unsupported(d.status().message());
    dt = *d;
  }
  int64_t k = c.attrInt("k", 0), rows = x.shape()[0], cols = x.shape()[1];
  checkHostTable(rows > 0 && cols > (int64_t(1) << 26) / rows ? -1 : rows * cols, "EyeLike");
  Tensor t(TensorType(dt, {rows, cols}));
  for (int64_t i = 0; i < rows; ++i)
    if (i + k >= 0 && i + k < cols) t.setDouble(i * cols + i + k, 1.0);
  return {c.b.constant(t)};
}

ValueList shrink(NodeContext& c) {
  Val x = c.input(0);
  double bias = c.attrFloat("bias", 0.0f), lambd = c.attrFloat("lambd", 0.5f);
  if (!isFloat(x.dtype())) {
    Val xf = cast(x, DType::F64);
    return {
        cast(select(lt(xf, -lambd), xf + bias, select(gt(xf, lambd), xf - bias, 0)), x.dtype())};
  }
  return {select(lt(x, -lambd), x + bias, select(gt(x, lambd), x - bias, 0))};
}

ValueList depthToSpace(NodeContext& c) {
  Val x = c.input(0);
  int64_t b = c.attrInt("blocksize", 0);
  if (x.rank() != 4 || !x.type().hasStaticShape() || b <= 0 || x.shape()[1] % (b * b) != 0)
    throw Unsupported("DepthToSpace needs a static [N, C, H, W] input with C divisible by b^2");
  int64_t n = x.shape()[0], ch = x.shape()[1], h = x.shape()[2], w = x.shape()[3];
  bool crd = c.attrString("mode", "DCR") == "CRD";
  Val t = crd ? transpose(reshape(x, {n, ch / (b * b), b, b, h, w}), {0, 1, 4, 2, 5, 3})
              : transpose(reshape(x, {n, b, b, ch / (b * b), h, w}), {0, 3, 4, 1, 5, 2});
  return {reshape(t, {n, ch / (b * b), h * b, w * b})};
}

ValueList spaceToDepth(NodeContext& c) {
  Val x = c.input(0);
  int64_t b = c.attrInt("blocksize", 0);
  if (x.rank() != 4 || !x.type().hasStaticShape() || b <= 0 || x.shape()[2] % b != 0 ||
      x.shape()[3] % b != 0)
    throw Unsupported("SpaceToDepth needs a static [N, C, H, W] input with H, W divisible by b");
  int64_t n = x.shape()[0], ch = x.shape()[1], h = x.shape()[2], w = x.shape()[3];
  Val t = transpose(reshape(x, {n, ch, h / b, b, w / b, b}), {0, 3, 5, 1, 2, 4});
  return {reshape(t, {n, ch * b * b, h / b, w / b})};
}

ValueList meanVarianceNorm(NodeContext& c) {
  Val x = c.input(0);
  std::vector<int64_t> axes =
      c.hasAttr("axes") ? c.attrInts("axes") : std::vector<int64_t>{0, 2, 3};
  Sizes counted;
  for (int64_t& a : axes) {
    a = normalizeAxis(a, x.rank());
    counted.push_back(sizeOf(x, a));
  }
  Val n = cast(c.b.intValue(productOf(c.b, counted)), x.dtype());
  Val mean = reduceSum(x, axes, true) / n;
  Val meanSq = reduceSum(x * x, axes, true) / n;
  return {(x - mean) / (sqrt(meanSq - mean * mean) + 1e-9)};
}

ValueList compress(NodeContext& c) {
  Val x = c.input(0), cond = c.input(1);
  if (cond.rank() != 1) throw InvalidModel("condition must be 1-D");
  if (!c.hasAttr("axis")) x = reshape(x, {productOf(c.b, sizesOf(x))});
  int64_t axis = c.hasAttr("axis") ? normalizeAxis(c.attrInt("axis", 0), x.rank()) : 0;
  return {gather(x, nonzero(cast(cond, DType::I1), DType::I64), axis)};
}

/// ScatterElements: the inverse of GatherElements, with the same move of
/// the axis last and flattening of the other dims into one batch dim.
ValueList scatterElements(NodeContext& c) {
  Val x = c.input(0), idx = cast(c.input(1), DType::I64), upd = c.input(2);
  int64_t axis = normalizeAxis(c.attrInt("axis", 0), x.rank());
  std::string reduction = c.attrString("reduction", "none");
  if (reduction != "none" && reduction != "add")
    throw Unsupported(fmt::format("ScatterElements with reduction '{}'", reduction));
  if (idx.rank() != x.rank() || upd.type().shape != idx.type().shape)
    throw InvalidModel("indices and updates must have the data's rank and one shape");
  for (int64_t d = 0; d < x.rank(); ++d)
    if (d != axis && (x.shape()[d] != idx.shape()[d] || x.shape()[d] == kDynamic))
      throw Unsupported(
          "ScatterElements with indices smaller than the data in a non-scattered dim");
  IntOrVal n = sizeOf(x, axis);
  idx = select(lt(idx, 0), idx + cast(c.b.intValue(n), DType::I64), idx);
  int64_t last = x.rank() - 1, batch = 1;
  Val xt = moveAxis(x, axis, last), it = moveAxis(idx, axis, last), ut = moveAxis(upd, axis, last);
  for (int64_t d = 0; d < last; ++d)
    batch *= xt.shape()[d];
  IntOrVal m = sizeOf(it, last);
  Val flatX = reshape(xt, {batch, sizeOf(xt, last)});
  Val flatI = reshape(it, {batch, m}), flatU = reshape(ut, {batch, m});
  Val r = reduction == "add" ? scatterAdd(flatX, flatI, flatU, 1, 1)
                             : scatter(flatX, flatI, flatU, 1, 1);
  return {moveAxis(reshape(r, sizesOf(xt)), last, axis)};
}

/// Pad with pads known only at run time (they must not be negative): every
/// padded dim becomes dynamic; edge and reflect gather a computed index ramp.
ValueList padAtRunTime(NodeContext& c, const std::string& mode) {
  Val x = c.input(0);
  FunctionBuilder& b = c.b;
  Val pads = cast(c.input(1), DType::I64);
  if (pads.rank() != 1 || pads.shape()[0] != 2 * x.rank())
    throw InvalidModel("pads must hold 2 * rank values");
  Val value = c.hasInput(2) ? toScalar(c.input(2), x.dtype()) : b.scalar(0, x.dtype());
  Val r = x;
  for (int64_t d = 0; d < x.rank(); ++d) {
    Val before = elementAt(pads, d), after = elementAt(pads, d + x.rank());
    Val n = b.intValue(sizeOf(r, d), DType::I64);
    if (mode == "constant") {
      auto block = [&](Val size) {
        Sizes s = sizesOf(r);
        s[d] = size;
        return broadcastTo(value, s);
      };
      r = concat({block(before), r, block(after)}, d);
      continue;
    }
    if (mode != "edge" && mode != "reflect") throw Unsupported(fmt::format("Pad mode '{}'", mode));
    Val j = b.iota(DType::I64, {IntOrVal(before + n + after)}, 0) - before;
    if (mode == "edge")
      j = min(max(j, 0), n - 1.0);
    else
      j = select(lt(j, 0), neg(j), select(ge(j, n), (n - 1.0) * 2.0 - j, j));
    r = gather(r, j, d);
  }
  return {r};
}

ValueList pad(NodeContext& c) {
  Val x = c.input(0);
  std::string mode = c.attrString("mode", "constant");
  if (c.opset() >= 11 && !c.constInput(1)) return padAtRunTime(c, mode);
  std::vector<int64_t> pads = c.opset() < 11 ? c.attrInts("pads") : c.constInts(1, "pads");
  if (static_cast<int64_t>(pads.size()) != 2 * x.rank())
    throw InvalidModel("pads must hold 2 * rank values");
  Val value = c.b.scalar(0, x.dtype());
  if (c.opset() < 11)
    value = c.b.scalar(c.attrFloat("value", 0), x.dtype());
  else if (c.hasInput(2))
    value = toScalar(c.input(2), x.dtype());
  Val r = x;
  for (int64_t d = 0; d < x.rank(); ++d) {
    int64_t before = pads[d], after = pads[d + x.rank()];
    if (before == 0 && after == 0) continue;
    int64_t n = r.shape()[d];
    if (n == kDynamic) throw Unsupported("Pad of a dynamic dim");
    if (mode == "constant") {
      if (before < 0 || after < 0) { // negative pads crop
        r = sliceAxis(r, d, std::max<int64_t>(0, -before), n - std::max<int64_t>(0, -after));
        before = std::max<int64_t>(before, 0);
        after = std::max<int64_t>(after, 0);
      }
      ValueList parts;
      auto block = [&](int64_t size) {
        Sizes s = sizesOf(r);
        s[d] = size;
        return broadcastTo(value, s);
      };
      if (before) parts.push_back(block(before));
      parts.push_back(r);
      if (after) parts.push_back(block(after));
      r = concat(parts, d);
      continue;
    }
    if (mode != "edge" && mode != "reflect") throw Unsupported(fmt::format("Pad mode '{}'", mode));
    if (before < 0 || after < 0) throw Unsupported("negative pads with edge or reflect");
    if (mode == "reflect" && (before >= n || after >= n))
      throw InvalidModel("reflect pad wider than the dim");
    checkHostTable(before > (1 << 26) || after > (1 << 26) ? -1 : before + n + after, "a Pad");
    Tensor idx(TensorType(DType::I64, {before + n + after}));
    for (int64_t i = 0; i < before + n + after; ++i) {
      int64_t j = i - before;
      if (mode == "edge")
        j = std::clamp<int64_t>(j, 0, n - 1);
      else
        j = j < 0 ? -j : (j >= n ? 2 * (n - 1) - j : j);
      idx.setInt(i, j);
    }
    r = gather(r, c.b.constant(idx), d);
  }
  return {r};
}

} // namespace

void registerMiscOps(ConverterTable& t) {
  t["Mod"] = mod;
  t["OneHot"] = oneHot;
  t["EyeLike"] = eyeLike;
  t["Shrink"] = shrink;
  t["DepthToSpace"] = depthToSpace;
  t["SpaceToDepth"] = spaceToDepth;
  t["MeanVarianceNormalization"] = meanVarianceNorm;
  t["Compress"] = compress;
  t["ScatterElements"] = scatterElements;
  t["Scatter"] = scatterElements;
  t["Pad"] = pad;
}

} // namespace cairn::onnx_import
