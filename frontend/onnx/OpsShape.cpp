// ONNX shape ops: Reshape, Flatten, Transpose, Squeeze/Unsqueeze, Shape,
// Size, Concat, Expand, ConstantOfShape, Tile, Split, Range.
//
// ONNX passes shapes as tensors, Cairn types carry them. When a shape tensor
// is known at import time (an initializer, a Constant, Shape of a static
// value, or anything folded from those) the result gets static dims. When it
// is computed at run time, each of its elements becomes the size operand of
// a `?` dim: the rank is known (the shape tensor's length is), the sizes are
// not, which is what Cairn's dynamic dims express.
#include <algorithm>
#include <cmath>

#include "frontend/onnx/OnnxInternal.h"

namespace cairn::onnx_import {
namespace {

/// The elements of a rank-1 integer shape tensor as Sizes: static when the
/// tensor is known at import time, else scalar i64 Vals.
Sizes shapeOperand(NodeContext& c, size_t i) {
  Val s = c.input(i);
  if (s.rank() != 1 || s.shape()[0] == kDynamic)
    throw InvalidModel(fmt::format("shape input must be a 1-D tensor of known length, got {}",
                                   s.type().toString()));
  checkRank(s.shape()[0], "a shape");
  Sizes out;
  if (std::optional<Tensor> t = c.constInput(i)) {
    for (int64_t v : t->toInts())
      out.emplace_back(v);
    return out;
  }
  Val s64 = cast(s, DType::I64);
  for (int64_t k = 0; k < s.shape()[0]; ++k)
    out.emplace_back(elementAt(s64, k));
  return out;
}

Val asVal(FunctionBuilder& b, const IntOrVal& v) {
  return b.intValue(v, DType::I64);
}

ValueList reshapeOp(NodeContext& c) {
  Val x = c.input(0);
  bool allowZero = c.attrInt("allowzero", 0) != 0;
  Sizes s;
  if (c.opset() < 5) {
    for (int64_t v : c.attrInts("shape"))
      s.emplace_back(v);
  } else {
    s = shapeOperand(c, 1);
  }
  bool allStatic = std::all_of(s.begin(), s.end(), [](const IntOrVal& v) { return v.isStatic(); });
  if (allStatic) {
    Sizes out;
    int inferred = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      int64_t v = s[i].staticValue();
      if (v == 0 && !allowZero) {
        if (static_cast<int64_t>(i) >= x.rank())
          throw InvalidModel(
              fmt::format("shape entry {} copies dim {} of a rank-{} input", i, i, x.rank()));
        out.push_back(sizeOf(x, static_cast<int64_t>(i)));
      } else if (v == -1) {
        ++inferred;
        out.emplace_back(kDynamic); // the builder infers it
      } else if (v < 0) {
        throw InvalidModel(fmt::format("shape entry {} is {}", i, v));
      } else {
        out.emplace_back(v);
      }
    }
    if (inferred > 1) throw InvalidModel("more than one shape entry is -1");
    return {reshape(x, out)};
  }
  // Run-time shape: copy (0) and infer (-1) entries computed in IR.
  FunctionBuilder& b = c.b;
  Val total = asVal(b, productOf(b, sizesOf(x)));
  ValueList e;
  for (size_t i = 0; i < s.size(); ++i) {
    Val v = asVal(b, s[i]);
    if (!allowZero && static_cast<int64_t>(i) < x.rank())
      v = select(eq(v, 0), asVal(b, sizeOf(x, static_cast<int64_t>(i))), v);
    e.push_back(v);
  }
  Val prod = b.scalar(1, DType::I64);
  for (const Val& v : e)
    prod = prod * v;
  // With one -1 the product is negative and -prod is the product of the
  // others; the select keeps a zero product from dividing by zero.
  Val inferred = div(total, select(le(prod, 0), select(eq(prod, 0), Arg(1.0), neg(prod)), prod));
  Sizes out;
  for (const Val& v : e)
    out.emplace_back(select(eq(v, -1), inferred, v));
  return {reshape(x, out)};
}

ValueList flatten(NodeContext& c) {
  Val x = c.input(0);
  int64_t axis = c.attrInt("axis", 1);
  if (axis < 0) axis += x.rank();
  if (axis < 0 || axis > x.rank()) throw InvalidModel(fmt::format("axis {} out of range", axis));
  Sizes all = sizesOf(x);
  Sizes lo(all.begin(), all.begin() + axis), hi(all.begin() + axis, all.end());
  return {reshape(x, {productOf(c.b, lo), productOf(c.b, hi)})};
}

ValueList transposeOp(NodeContext& c) {
  Val x = c.input(0);
  std::vector<int64_t> perm = c.attrInts("perm");
  if (perm.empty())
    for (int64_t d = x.rank() - 1; d >= 0; --d)
      perm.push_back(d);
  return {transpose(x, perm)};
}

std::vector<int64_t> axesOf(NodeContext& c, size_t inputIndex, int firstOpsetAsInput) {
  if (c.opset() < firstOpsetAsInput) return c.attrInts("axes");
  if (!c.hasInput(inputIndex)) return {};
  return c.constInts(inputIndex, "axes");
}

ValueList squeeze(NodeContext& c) {
  Val x = c.input(0);
  std::vector<int64_t> axes = axesOf(c, 1, 13);
  std::vector<bool> drop(static_cast<size_t>(x.rank()), false);
  if (axes.empty()) {
    for (int64_t d = 0; d < x.rank(); ++d) {
      if (x.shape()[d] == kDynamic)
        throw Unsupported("Squeeze without axes of a value with dynamic dims");
      drop[d] = x.shape()[d] == 1;
    }
  }
  for (int64_t a : axes) {
    int64_t d = normalizeAxis(a, x.rank());
    if (x.shape()[d] != 1 && x.shape()[d] != kDynamic)
      throw InvalidModel(fmt::format("cannot squeeze dim {} of size {}", d, x.shape()[d]));
    drop[d] = true;
  }
  Sizes out;
  for (int64_t d = 0; d < x.rank(); ++d)
    if (!drop[d]) out.push_back(sizeOf(x, d));
  return {reshape(x, out)};
}

ValueList unsqueeze(NodeContext& c) {
  Val x = c.input(0);
  std::vector<int64_t> axes = axesOf(c, 1, 13);
  int64_t rank = x.rank() + static_cast<int64_t>(axes.size());
  checkRank(rank, "the result of Unsqueeze");
  std::vector<bool> added(static_cast<size_t>(rank), false);
  for (int64_t a : axes) {
    int64_t d = normalizeAxis(a, rank);
    if (added[d]) throw InvalidModel(fmt::format("axis {} repeated", a));
    added[d] = true;
  }
  Sizes out;
  int64_t src = 0;
  for (int64_t d = 0; d < rank; ++d)
    out.push_back(added[d] ? IntOrVal(1) : sizeOf(x, src++));
  return {reshape(x, out)};
}

ValueList shapeOp(NodeContext& c) {
  Val x = c.input(0);
  int64_t r = x.rank();
  int64_t start = c.attrInt("start", 0), end = c.attrInt("end", r);
  if (start < 0) start += r;
  if (end < 0) end += r;
  start = std::clamp<int64_t>(start, 0, r);
  end = std::clamp<int64_t>(end, start, r);
  bool allStatic = true;
  for (int64_t d = start; d < end; ++d)
    allStatic &= x.shape()[d] != kDynamic;
  if (allStatic) {
    Tensor t(TensorType(DType::I64, {end - start}));
    for (int64_t d = start; d < end; ++d)
      t.setInt(d - start, x.shape()[d]);
    return {c.b.constant(t)};
  }
  ValueList parts;
  for (int64_t d = start; d < end; ++d)
    parts.push_back(reshape(asVal(c.b, sizeOf(x, d)), {1}));
  return {concat(parts, 0)};
}

ValueList sizeOp(NodeContext& c) {
  Val x = c.input(0);
  return {asVal(c.b, productOf(c.b, sizesOf(x)))};
}

ValueList concatOp(NodeContext& c) {
  ValueList xs;
  for (size_t i = 0; i < c.numInputs(); ++i)
    xs.push_back(c.input(i));
  int64_t axis = normalizeAxis(c.attrInt("axis", 0), xs[0].rank());
  return {concat(xs, axis)};
}

ValueList expand(NodeContext& c) {
  Val x = c.input(0);
  Sizes s = shapeOperand(c, 1);
  int64_t rank = std::max<int64_t>(x.rank(), static_cast<int64_t>(s.size()));
  Sizes out;
  for (int64_t i = 0; i < rank; ++i) {
    int64_t xd = i - (rank - x.rank());
    int64_t sd = i - (rank - static_cast<int64_t>(s.size()));
    IntOrVal xs = xd >= 0 ? sizeOf(x, xd) : IntOrVal(1);
    IntOrVal ss = sd >= 0 ? s[sd] : IntOrVal(1);
    if (ss.isStatic() && ss.staticValue() == 1)
      out.push_back(xs);
    else if (xs.isStatic() && xs.staticValue() == 1)
      out.push_back(ss);
    else if (xs.isStatic() && ss.isStatic()) {
      if (xs.staticValue() != ss.staticValue())
        throw InvalidModel(
            fmt::format("cannot expand dim of size {} to {}", xs.staticValue(), ss.staticValue()));
      out.push_back(xs);
    } else {
      Val a = asVal(c.b, xs), b = asVal(c.b, ss);
      out.emplace_back(select(eq(b, 1), a, b));
    }
  }
  return {broadcastTo(x, out)};
}

ValueList constantOfShape(NodeContext& c) {
  Tensor value = c.hasAttr("value") ? c.attrTensor("value")
                                    : Tensor::fromDoubles(TensorType(DType::F32, {1}), {0.0});
  if (value.numElements() != 1) throw InvalidModel("value must hold one element");
  Sizes s = shapeOperand(c, 0);
  bool allStatic = std::all_of(s.begin(), s.end(), [](const IntOrVal& v) { return v.isStatic(); });
  if (allStatic) {
    Shape shape;
    int64_t count = 1;
    for (const IntOrVal& v : s) {
      if (v.staticValue() < 0) throw InvalidModel(fmt::format("shape entry {}", v.staticValue()));
      shape.push_back(v.staticValue());
      count = v.staticValue() > (1 << 16) ? (1 << 17)
                                          : std::min<int64_t>(count * v.staticValue(), 1 << 17);
    }
    if (count <= (1 << 16)) {
      Tensor t(TensorType(value.dtype(), shape));
      for (int64_t i = 0; i < t.numElements(); ++i)
        t.setDouble(i, value.getDouble(0));
      if (isInteger(value.dtype()))
        for (int64_t i = 0; i < t.numElements(); ++i)
          t.setInt(i, value.getInt(0));
      return {c.b.constant(t)};
    }
  }
  Val scalar = c.b.constant(Tensor::fromBytes(
      TensorType(value.dtype(), {}),
      std::vector<std::byte>(value.rawData(), value.rawData() + value.byteSize())));
  return {broadcastTo(scalar, s)};
}

ValueList tile(NodeContext& c) {
  Val x = c.input(0);
  // Repeats known at run time only make the tiled dims dynamic.
  Sizes reps = shapeOperand(c, 1);
  if (static_cast<int64_t>(reps.size()) != x.rank())
    throw InvalidModel(fmt::format("{} repeats for rank {}", reps.size(), x.rank()));
  // [d0, d1] tiled [r0, r1] = broadcast to [r0, d0, r1, d1], then merge pairs.
  Sizes wide, merged;
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < x.rank(); ++d) {
    if (reps[d].isStatic() && reps[d].staticValue() < 0) throw InvalidModel("negative repeat");
    wide.push_back(reps[d]);
    wide.push_back(sizeOf(x, d));
    dims.push_back(2 * d + 1);
    merged.push_back(productOf(c.b, {reps[d], sizeOf(x, d)}));
  }
  return {reshape(broadcastInDim(x, wide, dims), merged)};
}

ValueList splitOp(NodeContext& c) {
  Val x = c.input(0);
  int64_t axis = normalizeAxis(c.attrInt("axis", 0), x.rank());
  std::vector<int64_t> parts;
  if (c.opset() < 13) {
    parts = c.attrInts("split");
  } else if (c.hasInput(1) && !c.constInput(1)) {
    // Sizes known at run time: each output gathers its index range, a
    // dynamic dim (the gathers' range checks stop sizes that overrun the
    // dim; sizes adding up to less than it are not detected).
    Sizes sizes = shapeOperand(c, 1);
    ValueList out;
    Val start = c.b.scalar(0, DType::I64);
    for (const IntOrVal& p : sizes) {
      Val n = c.b.intValue(p, DType::I64);
      out.push_back(gather(x, start + c.b.iota(DType::I64, {IntOrVal(n)}, 0), axis));
      start = start + n;
    }
    return out;
  } else if (c.hasInput(1)) {
    parts = c.constInts(1, "split");
  }
  int64_t size = x.shape()[axis];
  if (parts.empty()) {
    if (size == kDynamic) throw Unsupported("Split of a dynamic dim into equal parts");
    int64_t n = static_cast<int64_t>(c.numOutputs());
    int64_t chunk = (size + n - 1) / n;
    for (int64_t k = 0; k < n; ++k)
      parts.push_back(std::max<int64_t>(0, std::min(chunk, size - k * chunk)));
  }
  ValueList out;
  int64_t start = 0;
  for (int64_t p : parts) {
    if (p < 0) throw InvalidModel("negative split size");
    out.push_back(sliceAxis(x, axis, start, start + p));
    start += p;
  }
  if (size != kDynamic && start != size)
    throw InvalidModel(fmt::format("split sizes add up to {}, the dim is {}", start, size));
  return out;
}

ValueList range(NodeContext& c) {
  Val start = c.input(0), limit = c.input(1), delta = c.input(2);
  DType dt = start.dtype();
  auto s = c.constInput(0), l = c.constInput(1), d = c.constInput(2);
  if (s && l && d) {
    double a = oneElement(*s, "start").getDouble(0), b = oneElement(*l, "limit").getDouble(0),
           st = oneElement(*d, "delta").getDouble(0);
    if (st == 0) throw InvalidModel("delta is 0");
    int64_t n = std::max<int64_t>(0, static_cast<int64_t>(std::ceil((b - a) / st)));
    if (n > (int64_t(1) << 26)) throw Unsupported("Range of more than 2^26 elements");
    Tensor t(TensorType(dt, {n}));
    for (int64_t i = 0; i < n; ++i) {
      if (isFloat(dt))
        t.setDouble(i, a + static_cast<double>(i) * st);
      else
        t.setInt(i, s->getInt(0) + i * d->getInt(0));
    }
    return {c.b.constant(t)};
  }
  // n = max(ceil((limit - start) / delta), 0), computed in f64.
  Val q = (cast(limit, DType::F64) - cast(start, DType::F64)) / cast(delta, DType::F64);
  Val t = cast(cast(q, DType::I64), DType::F64);
  Val ceilQ = select(lt(t, q), t + 1.0, t);
  Val n = max(cast(ceilQ, DType::I64), 0);
  Val ramp = c.b.iota(dt, {n}, 0);
  return {toScalar(start, dt) + ramp * toScalar(delta, dt)};
}

} // namespace

void registerShapeOps(ConverterTable& t) {
  t["Reshape"] = reshapeOp;
  t["Flatten"] = flatten;
  t["Transpose"] = transposeOp;
  t["Squeeze"] = squeeze;
  t["Unsqueeze"] = unsqueeze;
  t["Shape"] = shapeOp;
  t["Size"] = sizeOp;
  t["Concat"] = concatOp;
  t["Expand"] = expand;
  t["ConstantOfShape"] = constantOfShape;
  t["Tile"] = tile;
  t["Split"] = splitOp;
  t["Range"] = range;
}

} // namespace cairn::onnx_import
