// Shape, data-movement, reduction and product helpers of the builder.
//
// Shapes are given as Sizes: a static entry makes a static dim, a Val entry a
// `?` dim whose size operand is that Val, which is how the IR's "dynamic size
// operands" convention surfaces in C++. Axes may be negative (numpy style);
// the IR always gets them normalized.
#include <algorithm>
#include <map>

#include "frontend/BuilderInternal.h"

namespace cairn {
namespace {

/// Splits `sizes` into a result shape and its dynamic size operands.
std::pair<Shape, ValueList> resolveSizes(std::string_view opName, const Sizes& sizes) {
  Shape shape;
  ValueList operands;
  for (size_t i = 0; i < sizes.size(); ++i) {
    const IntOrVal& s = sizes[i];
    if (s.isStatic()) {
      if (s.staticValue() < 0)
        throw BuildError(
            fmt::format("'{}' op: size {} of dim {} is negative", opName, s.staticValue(), i));
      shape.push_back(s.staticValue());
      continue;
    }
    const Val& v = s.val();
    if (!v.type().isScalar() || !isInteger(v.dtype()))
      throw BuildError(fmt::format("'{}' op: size of dim {} must be an i32/i64 scalar, got {}",
                                   opName, i, v.type().toString()));
    shape.push_back(kDynamic);
    operands.push_back(v);
  }
  return {shape, operands};
}

/// Run-time indices for `starts`: static entries become constants of the
/// dtype of the first Val entry (i64 when all are static).
ValueList indexOperands(FunctionBuilder& b, const std::vector<IntOrVal>& starts) {
  DType dt = DType::I64;
  for (const IntOrVal& s : starts)
    if (!s.isStatic()) {
      dt = s.val().dtype();
      break;
    }
  ValueList out;
  std::map<int64_t, Val> made; // one constant per distinct static start
  for (const IntOrVal& s : starts) {
    if (!s.isStatic()) {
      out.push_back(b.intValue(s, dt));
      continue;
    }
    auto [it, fresh] = made.try_emplace(s.staticValue());
    if (fresh) it->second = b.intValue(s, dt);
    out.push_back(it->second);
  }
  return out;
}

/// The size of x's dim `d` as a static IntOrVal or a `dim` op.
IntOrVal sizeOf(const Val& x, int64_t d) {
  if (x.shape()[d] != kDynamic) return x.shape()[d];
  return dim(x, d);
}

Val reduce(OpKind kind, Val x, std::vector<int64_t> dims, bool keepDims) {
  checkValid(opName(kind), x, "the operand");
  for (int64_t& d : dims)
    d = normalizeAxis(opName(kind), d, x.rank());
  std::sort(dims.begin(), dims.end());
  Val r = x.builder().create1(kind, {x}, {{"dims", dims}});
  if (!keepDims) return r;
  Sizes kept;
  for (int64_t d = 0; d < x.rank(); ++d)
    kept.push_back(std::binary_search(dims.begin(), dims.end(), d) ? IntOrVal(1) : sizeOf(x, d));
  return reshape(r, kept);
}

AttrMap gatherAttrs(std::string_view op, const Val& x, int64_t axis, int64_t batchDims) {
  return {{"axis", normalizeAxis(op, axis, x.rank())}, {"batch_dims", batchDims}};
}

} // namespace

Val broadcastInDim(Val x, const Sizes& shape, const std::vector<int64_t>& dims) {
  checkValid("broadcast", x, "the operand");
  auto [s, sizeOps] = resolveSizes("broadcast", shape);
  ValueList operands{x};
  operands.insert(operands.end(), sizeOps.begin(), sizeOps.end());
  return x.builder().create1(OpKind::Broadcast, operands, {{"dims", dims}},
                             {TensorType(x.dtype(), s)});
}

Val broadcastTo(Val x, const Sizes& shape) {
  checkValid("broadcast", x, "the operand");
  int64_t rank = static_cast<int64_t>(shape.size());
  int64_t offset = rank - x.rank();
  if (offset < 0)
    throw BuildError(
        fmt::format("'broadcast' op: cannot broadcast {} to rank {}", x.type().toString(), rank));
  Sizes sizes = shape;
  for (int64_t d = 0; d < rank; ++d) {
    const IntOrVal& s = shape[d];
    if (!s.isStatic() || s.staticValue() != kDynamic) continue;
    if (d < offset) throw BuildError(fmt::format("'broadcast' op: new dim {} needs a size", d));
    sizes[d] = sizeOf(x, d - offset);
  }
  std::vector<int64_t> dims;
  for (int64_t i = 0; i < x.rank(); ++i)
    dims.push_back(offset + i);
  return broadcastInDim(x, sizes, dims);
}

Val reshape(Val x, const Sizes& shape) {
  checkValid("reshape", x, "the operand");
  FunctionBuilder& b = x.builder();
  Sizes sizes = shape;
  auto inferred = std::find_if(sizes.begin(), sizes.end(), [](const IntOrVal& s) {
    return s.isStatic() && s.staticValue() == kDynamic;
  });
  if (inferred != sizes.end()) {
    if (std::count_if(sizes.begin(), sizes.end(), [](const IntOrVal& s) {
          return s.isStatic() && s.staticValue() == kDynamic;
        }) > 1)
      throw BuildError("'reshape' op: at most one dim can be inferred");
    // Element count of x over the product of the other dims; folded when all
    // of it is static, else computed at run time in i64.
    bool allStatic = x.type().hasStaticShape();
    int64_t known = 1;
    for (const IntOrVal& s : sizes) {
      if (&s == &*inferred) continue;
      if (s.isStatic())
        known *= s.staticValue();
      else
        allStatic = false;
    }
    if (allStatic) {
      if (known == 0 || x.type().numElements() % known != 0)
        throw BuildError(fmt::format("'reshape' op: cannot infer a dim reshaping {} with {} "
                                     "other elements",
                                     x.type().toString(), known));
      *inferred = x.type().numElements() / known;
    } else {
      Val total = b.scalar(1, DType::I64);
      for (int64_t d = 0; d < x.rank(); ++d)
        total = total * cast(b.intValue(sizeOf(x, d)), DType::I64);
      Val other = b.scalar(static_cast<double>(known), DType::I64);
      for (const IntOrVal& s : sizes)
        if (!s.isStatic()) other = other * cast(s.val(), DType::I64);
      *inferred = div(total, other);
    }
  }
  auto [s, sizeOps] = resolveSizes("reshape", sizes);
  TensorType type(x.dtype(), s);
  if (type == x.type() && type.hasStaticShape()) return x;
  ValueList operands{x};
  operands.insert(operands.end(), sizeOps.begin(), sizeOps.end());
  return b.create1(OpKind::Reshape, operands, {}, {type});
}

Val transpose(Val x, const std::vector<int64_t>& perm) {
  checkValid("transpose", x, "the operand");
  return x.builder().create1(OpKind::Transpose, {x}, {{"perm", perm}});
}

Val concat(const ValueList& xs, int64_t axis) {
  if (xs.empty()) throw BuildError("'concat' op: needs at least one operand");
  for (const Val& x : xs)
    checkValid("concat", x, "an operand");
  int64_t a = normalizeAxis("concat", axis, xs[0].rank());
  return xs[0].builder().create1(OpKind::Concat, xs, {{"axis", a}});
}

Val slice(Val x, const std::vector<int64_t>& start, const std::vector<int64_t>& limit,
          const std::vector<int64_t>& stride) {
  checkValid("slice", x, "the operand");
  AttrMap attrs{{"start", start}, {"limit", limit}};
  if (!stride.empty()) attrs["stride"] = stride;
  return x.builder().create1(OpKind::Slice, {x}, std::move(attrs));
}

Val dynamicSlice(Val x, const std::vector<IntOrVal>& starts, const Shape& sizes) {
  checkValid("dynamic_slice", x, "the operand");
  ValueList operands{x};
  for (const Val& v : indexOperands(x.builder(), starts))
    operands.push_back(v);
  return x.builder().create1(OpKind::DynamicSlice, operands, {{"sizes", sizes}});
}

Val dynamicUpdateSlice(Val x, Val update, const std::vector<IntOrVal>& starts) {
  checkValid("dynamic_update_slice", x, "the operand");
  checkValid("dynamic_update_slice", update, "the update");
  ValueList operands{x, update};
  for (const Val& v : indexOperands(x.builder(), starts))
    operands.push_back(v);
  return x.builder().create1(OpKind::DynamicUpdateSlice, operands);
}

Val sliceAt(Val x, IntOrVal i, int64_t axis) {
  checkValid("dynamic_slice", x, "the operand");
  int64_t a = normalizeAxis("dynamic_slice", axis, x.rank());
  Shape sizes = x.shape();
  sizes[a] = 1;
  if (!isStatic(sizes)) {
    // dynamic_slice needs static sizes; a gather with a scalar index removes
    // the axis and keeps the other dims whatever they are.
    return gather(x, x.builder().intValue(i), a);
  }
  std::vector<IntOrVal> starts(static_cast<size_t>(x.rank()), IntOrVal(0));
  starts[a] = i;
  Val block = dynamicSlice(x, starts, sizes);
  sizes.erase(sizes.begin() + a);
  return reshape(block, Sizes(sizes.begin(), sizes.end()));
}

Val sliceAxis(Val x, int64_t axis, int64_t start, int64_t limit) {
  checkValid("slice", x, "the operand");
  int64_t a = normalizeAxis("slice", axis, x.rank());
  if (start < 0 || limit < start || (x.shape()[a] != kDynamic && limit > x.shape()[a]))
    throw BuildError(fmt::format("'slice' op: bounds [{}, {}) invalid for dim {} of {}", start,
                                 limit, a, x.type().toString()));
  bool othersStatic = true;
  for (int64_t d = 0; d < x.rank(); ++d)
    othersStatic &= d == a || x.shape()[d] != kDynamic;
  if (othersStatic) {
    std::vector<int64_t> lo(static_cast<size_t>(x.rank()), 0), hi = x.shape();
    lo[a] = start;
    hi[a] = limit;
    return slice(x, lo, hi);
  }
  // `slice` needs static limits in every dim: gather the index range instead.
  Tensor idx(TensorType(DType::I64, {limit - start}));
  for (int64_t k = 0; k < limit - start; ++k)
    idx.setInt(k, start + k);
  return gather(x, x.builder().constant(idx), a);
}

ValueList split(Val x, int64_t parts, int64_t axis) {
  checkValid("slice", x, "the operand");
  int64_t a = normalizeAxis("slice", axis, x.rank());
  int64_t size = x.shape()[a];
  if (parts <= 0 || size == kDynamic || size % parts != 0)
    throw BuildError(fmt::format("'slice' op: cannot split dim {} of {} into {} equal parts", a,
                                 x.type().toString(), parts));
  ValueList out;
  for (int64_t p = 0; p < parts; ++p)
    out.push_back(sliceAxis(x, a, p * size / parts, (p + 1) * size / parts));
  return out;
}

Val updateAt(Val x, IntOrVal i, Val row, int64_t axis) {
  checkValid("dynamic_update_slice", x, "the operand");
  checkValid("dynamic_update_slice", row, "the row");
  int64_t a = normalizeAxis("dynamic_update_slice", axis, x.rank());
  if (row.rank() + 1 != x.rank())
    throw BuildError(fmt::format("'dynamic_update_slice' op: row {} must have rank {} to update "
                                 "{} along axis {}",
                                 row.type().toString(), x.rank() - 1, x.type().toString(), a));
  Sizes blockShape;
  for (int64_t d = 0; d < row.rank(); ++d)
    blockShape.push_back(sizeOf(row, d));
  blockShape.insert(blockShape.begin() + a, IntOrVal(1));
  std::vector<IntOrVal> starts(static_cast<size_t>(x.rank()), IntOrVal(0));
  starts[a] = i;
  return dynamicUpdateSlice(x, reshape(row, blockShape), starts);
}

Val gather(Val x, Val indices, int64_t axis, int64_t batchDims) {
  checkValid("gather", x, "the operand");
  return x.builder().create1(OpKind::Gather, {x, indices},
                             gatherAttrs("gather", x, axis, batchDims));
}

Val scatter(Val x, Val indices, Val updates, int64_t axis, int64_t batchDims) {
  checkValid("scatter", x, "the operand");
  return x.builder().create1(OpKind::Scatter, {x, indices, updates},
                             gatherAttrs("scatter", x, axis, batchDims));
}

Val scatterAdd(Val x, Val indices, Val updates, int64_t axis, int64_t batchDims) {
  checkValid("scatter_add", x, "the operand");
  return x.builder().create1(OpKind::ScatterAdd, {x, indices, updates},
                             gatherAttrs("scatter_add", x, axis, batchDims));
}

Val reduceSum(Val x, std::vector<int64_t> dims, bool keepDims) {
  return reduce(OpKind::ReduceSum, x, std::move(dims), keepDims);
}
Val reduceMax(Val x, std::vector<int64_t> dims, bool keepDims) {
  return reduce(OpKind::ReduceMax, x, std::move(dims), keepDims);
}
Val reduceMin(Val x, std::vector<int64_t> dims, bool keepDims) {
  return reduce(OpKind::ReduceMin, x, std::move(dims), keepDims);
}

Val argmax(Val x, int64_t axis, DType indexType) {
  checkValid("argmax", x, "the operand");
  int64_t a = normalizeAxis("argmax", axis, x.rank());
  Shape s = x.shape();
  s.erase(s.begin() + a);
  return x.builder().create1(OpKind::Argmax, {x}, {{"axis", a}}, {TensorType(indexType, s)});
}

Val nonzero(Val mask, DType indexType) {
  checkValid("nonzero", mask, "the operand");
  if (mask.rank() != 1)
    throw BuildError(fmt::format("nonzero: the mask must have rank 1, got {}",
                                 mask.type().toString()));
  return mask.builder().create1(OpKind::Nonzero, {mask}, {}, {TensorType(indexType, {kDynamic})});
}

Val dot(Val a, Val b, const DotDims& dims) {
  checkValid("dot", a, "lhs");
  checkValid("dot", b, "rhs");
  AttrMap attrs;
  // Empty lists keep the op's defaults (no batch dims, contract a's last
  // with b's first), which keeps the printed IR of plain products short.
  if (!dims.lhsBatch.empty()) attrs["lhs_batch"] = dims.lhsBatch;
  if (!dims.rhsBatch.empty()) attrs["rhs_batch"] = dims.rhsBatch;
  if (!dims.lhsContract.empty()) attrs["lhs_contract"] = dims.lhsContract;
  if (!dims.rhsContract.empty()) attrs["rhs_contract"] = dims.rhsContract;
  return a.builder().create1(OpKind::Dot, {a, b}, std::move(attrs));
}

Val matmul(Val a, Val b) {
  checkValid("dot", a, "lhs");
  checkValid("dot", b, "rhs");
  if (a.rank() >= 1 && b.rank() >= 1 && b.rank() <= 2) return dot(a, b);
  if (a.rank() == b.rank() && a.rank() >= 3) {
    int64_t r = a.rank();
    DotDims d;
    for (int64_t i = 0; i < r - 2; ++i) {
      d.lhsBatch.push_back(i);
      d.rhsBatch.push_back(i);
    }
    d.lhsContract = {r - 1};
    d.rhsContract = {r - 2};
    return dot(a, b, d);
  }
  throw BuildError(fmt::format("'dot' op: matmul of {} and {} is not a plain or batched matrix "
                               "product; use dot() with DotDims",
                               a.type().toString(), b.type().toString()));
}

Val dim(Val x, int64_t axis, DType dtype) {
  checkValid("dim", x, "the operand");
  int64_t a = normalizeAxis("dim", axis, x.rank());
  return x.builder().create1(OpKind::Dim, {x}, {{"axis", a}}, {TensorType(dtype)});
}

RngResult rngCategorical(Val state, Val logits, DType dtype) {
  checkValid("rng_categorical", state, "the state");
  checkValid("rng_categorical", logits, "the logits");
  Shape rows = logits.shape();
  if (!rows.empty()) rows.pop_back();
  ValueList r = state.builder().create(OpKind::RngCategorical, {state, logits}, {},
                                       {TensorType(DType::I64, {2}), TensorType(dtype, rows)});
  return {r[0], r[1]};
}

Val stopGradient(Val x) {
  checkValid("stop_gradient", x, "the operand");
  return x.builder().create1(OpKind::StopGradient, {x});
}

Val FunctionBuilder::iota(DType dtype, const Sizes& shape, int64_t axis) {
  auto [s, sizeOps] = resolveSizes("iota", shape);
  int64_t a = normalizeAxis("iota", axis, static_cast<int64_t>(s.size()));
  return create1(OpKind::Iota, sizeOps, {{"axis", a}}, {TensorType(dtype, s)});
}

RngResult FunctionBuilder::rngUniform(Val state, DType dtype, const Sizes& shape) {
  checkValid("rng_uniform", state, "the state");
  auto [s, sizeOps] = resolveSizes("rng_uniform", shape);
  ValueList operands{state};
  operands.insert(operands.end(), sizeOps.begin(), sizeOps.end());
  ValueList r =
      create(OpKind::RngUniform, operands, {}, {TensorType(DType::I64, {2}), TensorType(dtype, s)});
  return {r[0], r[1]};
}

} // namespace cairn
