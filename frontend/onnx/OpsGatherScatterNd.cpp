// ONNX GatherND, ScatterND, ReverseSequence and TopK on Cairn's gather,
// scatter and argmax.
//
// GatherND/ScatterND address the first k dims of the data with index
// tuples; flattening those k dims into one turns each tuple into one linear
// index (sum of index * stride), so a plain gather (batch_dims 1 over the
// flattened batch dims) or scatter along one axis does the work.
// ReverseSequence is a gather along time of a per-row index ramp.
#include <cmath>

#include "frontend/onnx/OnnxInternal.h"

namespace cairn::onnx_import {
namespace {

int64_t product(const Shape& s, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to; ++i)
    p *= s[i];
  return p;
}

/// Linear indices [rows, m] of index tuples idx [rows, m, k] into dims `inner`
/// (negative entries count from the end).
Val linearIndex(const Val& idx, const Shape& inner) {
  int64_t k = static_cast<int64_t>(inner.size());
  Val lin;
  int64_t stride = 1;
  for (int64_t j = k - 1; j >= 0; --j) {
    Val e = reshape(sliceAxis(idx, 2, j, j + 1), {idx.shape()[0], idx.shape()[1]});
    e = select(lt(e, 0), e + static_cast<double>(inner[j]), e);
    Val term = stride == 1 ? e : e * static_cast<double>(stride);
    lin = lin.valid() ? lin + term : term;
    stride *= inner[j];
  }
  return lin;
}

ValueList gatherNd(NodeContext& c) {
  Val data = c.input(0), idx = cast(c.input(1), DType::I64);
  int64_t b = c.attrInt("batch_dims", 0);
  if (!data.type().hasStaticShape() || !idx.type().hasStaticShape())
    throw Unsupported("GatherND of dynamic shapes");
  if (idx.rank() < 1 || data.rank() < 1) throw InvalidModel("data and indices need rank 1 or more");
  const Shape& ds = data.shape();
  const Shape& is = idx.shape();
  int64_t q = idx.rank(), k = is.back();
  if (b < 0 || b >= q || k < 1 || b + k > data.rank())
    throw InvalidModel("bad batch_dims or index length");
  for (int64_t d = 0; d < b; ++d)
    if (ds[d] != is[d]) throw InvalidModel("batch dims of data and indices differ");
  int64_t rows = product(ds, 0, b), m = product(is, b, q - 1);
  Shape inner(ds.begin() + b, ds.begin() + b + k), rest(ds.begin() + b + k, ds.end());
  Sizes flat{rows, product(ds, b, b + k)};
  for (int64_t r : rest)
    flat.emplace_back(r);
  Val lin = linearIndex(reshape(idx, {rows, m, k}), inner);
  Val g = gather(reshape(data, flat), lin, 1, 1); // [rows, m, rest...]
  Sizes out;
  for (int64_t d = 0; d < q - 1; ++d)
    out.emplace_back(is[d]);
  for (int64_t r : rest)
    out.emplace_back(r);
  return {reshape(g, out)};
}

ValueList scatterNd(NodeContext& c) {
  Val data = c.input(0), idx = cast(c.input(1), DType::I64), upd = c.input(2);
  std::string reduction = c.attrString("reduction", "none");
  if (reduction != "none" && reduction != "add")
    throw Unsupported(fmt::format("ScatterND with reduction '{}'", reduction));
  if (!data.type().hasStaticShape() || !idx.type().hasStaticShape())
    throw Unsupported("ScatterND of dynamic shapes");
  if (idx.rank() < 1 || data.rank() < 1) throw InvalidModel("data and indices need rank 1 or more");
  const Shape& ds = data.shape();
  const Shape& is = idx.shape();
  int64_t q = idx.rank(), k = is.back();
  if (k < 1 || k > data.rank()) throw InvalidModel("bad index length");
  int64_t m = product(is, 0, q - 1);
  Shape inner(ds.begin(), ds.begin() + k), rest(ds.begin() + k, ds.end());
  Sizes flat{product(ds, 0, k)}, rows{m};
  for (int64_t r : rest) {
    flat.emplace_back(r);
    rows.emplace_back(r);
  }
  Val lin = reshape(linearIndex(reshape(idx, {1, m, k}), inner), {m});
  Val f = reshape(data, flat), u = reshape(upd, rows);
  Val r = reduction == "add" ? scatterAdd(f, lin, u, 0) : scatter(f, lin, u, 0);
  return {reshape(r, sizesOf(data))};
}

ValueList reverseSequence(NodeContext& c) {
  Val x = c.input(0);
  Val lens = cast(c.input(1), DType::I64);
  int64_t batch = normalizeAxis(c.attrInt("batch_axis", 1), x.rank());
  int64_t time = normalizeAxis(c.attrInt("time_axis", 0), x.rank());
  if (batch == time) throw InvalidModel("batch_axis and time_axis are the same");
  std::vector<int64_t> perm{batch, time};
  for (int64_t d = 0; d < x.rank(); ++d)
    if (d != batch && d != time) perm.push_back(d);
  std::vector<int64_t> inverse(perm.size());
  for (size_t i = 0; i < perm.size(); ++i)
    inverse[perm[i]] = static_cast<int64_t>(i);
  Val xt = transpose(x, perm); // [B, T, ...]
  Sizes bt{sizeOf(xt, 0), sizeOf(xt, 1)};
  Val j = c.b.iota(DType::I64, bt, 1);
  Val len = broadcastInDim(lens, bt, {0});
  Val idx = select(lt(j, len), (len - 1.0) - j, j);
  return {transpose(gather(xt, idx, 1, 1), inverse)};
}

} // namespace

void registerGatherScatterNdOps(ConverterTable& t) {
  t["GatherND"] = gatherNd;
  t["ScatterND"] = scatterNd;
  t["ReverseSequence"] = reverseSequence;
}

} // namespace cairn::onnx_import

namespace cairn::onnx_import {
namespace {

/// TopK as k rounds of argmax: each round takes the first maximum (so equal
/// values come out lower index first, as ONNX wants), records it, and masks
/// it with the lowest value. The sort axis moves last and the other dims
/// flatten into rows; k may be a run-time value (a dynamic dim).
ValueList topK(NodeContext& c) {
  Val x = c.input(0);
  FunctionBuilder& b = c.b;
  int64_t axis = normalizeAxis(c.attrInt("axis", -1), x.rank());
  bool largest = c.attrInt("largest", 1) != 0;
  if (!isFloat(x.dtype())) throw Unsupported("TopK of integers");
  IntOrVal k = 0;
  if (std::optional<Tensor> kt = c.constInput(1))
    k = oneElement(*kt, "k").getInt(0);
  else
    k = IntOrVal(toScalar(c.input(1), DType::I64));
  int64_t last = x.rank() - 1;
  Val xt = moveAxis(x, axis, last);
  Sizes outer = sizesOf(xt);
  outer.pop_back();
  IntOrVal rows = productOf(b, outer);
  Val flat = reshape(xt, {rows, sizeOf(xt, last)});
  Val work = largest ? flat : neg(flat);
  Val kVal = b.intValue(k, DType::I64);
  Val vals0 = broadcastTo(b.scalar(0, x.dtype()), {rows, k});
  Val idx0 = broadcastTo(b.scalar(0, DType::I64), {rows, k});
  Val lowest = broadcastTo(b.scalar(-INFINITY, x.dtype()), {rows, IntOrVal(1)});
  ValueList r = b.whileLoop(
      {b.scalar(0, DType::I64), work, vals0, idx0},
      [&](const ValueList& a) { return lt(a[0], kVal); },
      [&](const ValueList& a) {
        Val am = argmax(a[1], 1, DType::I64);       // [rows]
        Val v = gather(a[1], am, 1, 1);             // [rows]
        Val col = reshape(am, {rows, IntOrVal(1)}); // [rows, 1]
        Val masked = scatter(a[1], col, lowest, 1, 1);
        return ValueList{a[0] + 1.0, masked, updateAt(a[2], a[0], v, 1),
                         updateAt(a[3], a[0], am, 1)};
      },
      sizeOf(xt, last)); // k past the axis' length: a run-time error, not masked picks
  Val values = largest ? r[2] : neg(r[2]);
  Sizes shaped = outer;
  shaped.push_back(k);
  return {moveAxis(reshape(values, shaped), last, axis),
          moveAxis(reshape(r[3], shaped), last, axis)};
}

} // namespace

void registerTopKOps(ConverterTable& t) {
  t["TopK"] = topK;
}

} // namespace cairn::onnx_import
