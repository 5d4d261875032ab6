// Indexed-access reference kernels. gather and scatter share one walk over
// gather's result index space (p, q, r) so that scatter is gather's inverse by
// construction.
#include "kernels/reference/Indexing.h"

#include <functional>

#include "kernels/reference/KernelUtil.h"

namespace cairn::kernels {

Status checkBlockStarts(const Tensor& x, const std::vector<int64_t>& starts, const Shape& sizes) {
  if (static_cast<int64_t>(starts.size()) != x.rank())
    return errorf("needs {} start indices (one per dim), got {}", x.rank(), starts.size());
  if (static_cast<int64_t>(sizes.size()) != x.rank())
    return errorf("block rank {} differs from operand rank {}", sizes.size(), x.rank());
  for (int64_t d = 0; d < x.rank(); ++d) {
    if (sizes[d] < 0 || sizes[d] > x.shape()[d])
      return errorf("block size {} of dim {} does not fit in the operand's size {}", sizes[d], d,
                    x.shape()[d]);
    int64_t maxStart = x.shape()[d] - sizes[d];
    if (starts[d] < 0 || starts[d] > maxStart)
      return errorf("start index {} (dim {}) is out of range [0, {}] for a block of size {} in "
                    "a dim of size {}",
                    starts[d], d, maxStart, sizes[d], x.shape()[d]);
  }
  return Status::ok();
}

StatusOr<Tensor> dynamicSlice(const Tensor& x, const std::vector<int64_t>& starts,
                              const Shape& sizes) {
  CAIRN_RETURN_IF_ERROR(checkBlockStarts(x, starts, sizes));
  Tensor out(TensorType(x.dtype(), sizes));
  std::vector<int64_t> src(sizes.size());
  for (int64_t i = 0; i < out.numElements(); ++i) {
    std::vector<int64_t> idx = unravel(i, sizes);
    for (size_t d = 0; d < sizes.size(); ++d)
      src[d] = starts[d] + idx[d];
    copyElement(out, i, x, ravel(src, x.shape()));
  }
  return out;
}

StatusOr<Tensor> dynamicUpdateSlice(const Tensor& x, const Tensor& update,
                                    const std::vector<int64_t>& starts) {
  if (update.dtype() != x.dtype())
    return errorf("update dtype {} differs from operand dtype {}", dtypeName(update.dtype()),
                  dtypeName(x.dtype()));
  CAIRN_RETURN_IF_ERROR(checkBlockStarts(x, starts, update.shape()));
  Tensor out = x;
  std::vector<int64_t> dst(starts.size());
  for (int64_t i = 0; i < update.numElements(); ++i) {
    std::vector<int64_t> idx = unravel(i, update.shape());
    for (size_t d = 0; d < starts.size(); ++d)
      dst[d] = starts[d] + idx[d];
    copyElement(out, ravel(dst, x.shape()), update, i);
  }
  return out;
}

StatusOr<Shape> gatherShape(const Shape& x, const Shape& indices, int64_t axis, int64_t batchDims) {
  int64_t xr = static_cast<int64_t>(x.size()), ir = static_cast<int64_t>(indices.size());
  if (axis < 0 || axis >= xr) return errorf("axis {} is out of range for rank {}", axis, xr);
  if (batchDims < 0 || batchDims > axis || batchDims > ir)
    return errorf("batch_dims {} must lie in [0, min(axis {}, indices rank {})]", batchDims, axis,
                  ir);
  for (int64_t d = 0; d < batchDims; ++d)
    if (x[d] != indices[d])
      return errorf("batch dim {} has size {} in the operand but {} in the indices", d, x[d],
                    indices[d]);
  Shape out(x.begin(), x.begin() + axis);
  out.insert(out.end(), indices.begin() + batchDims, indices.end());
  out.insert(out.end(), x.begin() + axis + 1, x.end());
  return out;
}

/// Calls fn(resultLinear, xLinear) for every element of gather's result,
/// after checking every index. `op` names the op in messages.
static Status forEachGathered(const Tensor& x, const Tensor& indices, int64_t axis,
                              int64_t batchDims, const Shape& resultShape,
                              const std::function<void(int64_t, int64_t)>& fn) {
  if (!isInteger(indices.dtype()))
    return errorf("indices must be i32 or i64, got {}", dtypeName(indices.dtype()));
  int64_t limit = x.shape()[axis];
  for (int64_t i = 0; i < indices.numElements(); ++i) {
    int64_t v = indices.getInt(i);
    if (v < 0 || v >= limit)
      return errorf("index {} at position {} of the indices is out of range [0, {}) for axis {}", v,
                    shapeStr(unravel(i, indices.shape())), limit, axis);
  }
  int64_t qRank = indices.rank() - batchDims;
  std::vector<int64_t> src(x.rank()), idxPos(indices.rank());
  for (int64_t i = 0; i < numElements(resultShape); ++i) {
    std::vector<int64_t> res = unravel(i, resultShape);
    // res = p (axis dims) ++ q (qRank dims) ++ r (the rest).
    for (int64_t d = 0; d < batchDims; ++d)
      idxPos[d] = res[d];
    for (int64_t d = 0; d < qRank; ++d)
      idxPos[batchDims + d] = res[axis + d];
    for (int64_t d = 0; d < axis; ++d)
      src[d] = res[d];
    src[axis] = indices.getInt(ravel(idxPos, indices.shape()));
    for (int64_t d = axis + 1; d < x.rank(); ++d)
      src[d] = res[d - 1 + qRank];
    fn(i, ravel(src, x.shape()));
  }
  return Status::ok();
}

StatusOr<Tensor> gather(const Tensor& x, const Tensor& indices, int64_t axis, int64_t batchDims) {
  CAIRN_ASSIGN_OR_RETURN(Shape shape, gatherShape(x.shape(), indices.shape(), axis, batchDims));
  Tensor out(TensorType(x.dtype(), shape));
  CAIRN_RETURN_IF_ERROR(forEachGathered(x, indices, axis, batchDims, shape,
                                        [&](int64_t o, int64_t s) { copyElement(out, o, x, s); }));
  return out;
}

StatusOr<Tensor> scatter(const Tensor& x, const Tensor& indices, const Tensor& updates,
                         int64_t axis, int64_t batchDims, bool accumulate) {
  CAIRN_ASSIGN_OR_RETURN(Shape shape, gatherShape(x.shape(), indices.shape(), axis, batchDims));
  if (updates.dtype() != x.dtype())
    return errorf("updates dtype {} differs from operand dtype {}", dtypeName(updates.dtype()),
                  dtypeName(x.dtype()));
  if (updates.shape() != shape)
    return errorf("updates have shape {}, expected {} (the shape gather would produce)",
                  shapeStr(updates.shape()), shapeStr(shape));
  Tensor out = x;
  Status st = dispatchDType(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using C = ComputeType<T>;
    T* o = out.data<T>();
    const T* u = updates.data<T>();
    return forEachGathered(x, indices, axis, batchDims, shape, [&](int64_t ui, int64_t xi) {
      if (!accumulate) {
        o[xi] = u[ui];
      } else if constexpr (std::is_same_v<T, bool>) {
        o[xi] = o[xi] || u[ui];
      } else if constexpr (std::is_integral_v<T>) {
        using U = std::make_unsigned_t<T>;
        o[xi] = static_cast<T>(static_cast<U>(o[xi]) + static_cast<U>(u[ui]));
      } else {
        o[xi] = T(C(o[xi]) + C(u[ui]));
      }
    });
  });
  CAIRN_RETURN_IF_ERROR(st);
  return out;
}

} // namespace cairn::kernels
