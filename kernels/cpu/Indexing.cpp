// Row-wise indexed kernels. Every op here is a walk over blocks of contiguous
// elements (the innermost dim of a slice, the trailing dims after a gather
// axis), so each block is one memcpy (or one add loop for scatter_add).
#include "kernels/cpu/Indexing.h"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "kernels/reference/Indexing.h"
#include "kernels/reference/KernelUtil.h"

namespace cairn::kernels::cpu {
namespace {

int64_t product(const Shape& s, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t d = from; d < to; ++d)
    p *= s[d];
  return p;
}

/// Calls copy(xByteOffset, blockByteOffset, rowBytes) for each innermost row
/// of the block of shape `sizes` at `starts` in x.
template <typename F>
void forEachBlockRow(const Tensor& x, const std::vector<int64_t>& starts, const Shape& sizes,
                     F&& copy) {
  size_t es = static_cast<size_t>(dtypeSize(x.dtype()));
  if (numElements(sizes) == 0) return;
  size_t rank = sizes.size();
  if (rank == 0) return copy(size_t{0}, size_t{0}, es);
  std::vector<int64_t> stride = x.strides();
  size_t rowBytes = static_cast<size_t>(sizes[rank - 1]) * es;
  int64_t rows = product(sizes, 0, rank - 1);
  std::vector<int64_t> idx(rank - 1, 0);
  int64_t base = 0;
  for (size_t d = 0; d < rank; ++d)
    base += starts[d] * stride[d];
  int64_t offset = base;
  for (int64_t r = 0; r < rows; ++r) {
    copy(static_cast<size_t>(offset) * es, static_cast<size_t>(r) * rowBytes, rowBytes);
    for (size_t d = rank - 1; d-- > 0;) { // odometer over the outer dims
      offset += stride[d];
      if (++idx[d] < sizes[d]) break;
      offset -= sizes[d] * stride[d];
      idx[d] = 0;
    }
  }
}

StatusOr<GatherPlan> checkGather(const Tensor& x, const Tensor& indices, int64_t axis,
                                 int64_t batchDims, const Shape& resultShape) {
  CAIRN_ASSIGN_OR_RETURN(Shape shape, gatherShape(x.shape(), indices.shape(), axis, batchDims));
  if (shape != resultShape)
    return errorf("result shape {} differs from the gathered shape {}", shapeStr(resultShape),
                  shapeStr(shape));
  if (!isInteger(indices.dtype()))
    return errorf("indices must be i32 or i64, got {}", dtypeName(indices.dtype()));
  GatherPlan w;
  w.axisSize = x.shape()[axis];
  // The range check first as a min/max over the raw indices (it vectorizes;
  // a gate split's 256 constant indices per call, checked through getInt,
  // were 10% of a batch-1 BiLSTM forward), then the culprit for the message.
  const int64_t n = indices.numElements();
  auto outOfRange = [&](const auto* p) {
    using T = std::remove_cv_t<std::remove_pointer_t<decltype(p)>>;
    T lo = 0, hi = 0;
    if (n > 0) lo = hi = p[0];
    for (int64_t i = 1; i < n; ++i) {
      lo = std::min(lo, p[i]);
      hi = std::max(hi, p[i]);
    }
    return n > 0 && (lo < 0 || static_cast<int64_t>(hi) >= w.axisSize);
  };
  bool bad = indices.dtype() == DType::I64   ? outOfRange(indices.data<int64_t>())
             : indices.dtype() == DType::I32 ? outOfRange(indices.data<int32_t>())
                                             : true; // another integer type: index by index
  for (int64_t i = 0; bad && i < n; ++i) {
    int64_t v = indices.getInt(i);
    if (v < 0 || v >= w.axisSize)
      return errorf("index {} at position {} of the indices is out of range [0, {}) for axis {}", v,
                    shapeStr(unravel(i, indices.shape())), w.axisSize, axis);
  }
  size_t b = static_cast<size_t>(batchDims), a = static_cast<size_t>(axis);
  w.batch = product(x.shape(), 0, b);
  w.mid = product(x.shape(), b, a);
  w.q = product(indices.shape(), b, indices.shape().size());
  w.inner = product(x.shape(), a + 1, x.shape().size());
  return w;
}

/// Calls fn(resultRow, sourceRow, n) for runs of n rows of `inner` elements
/// that are consecutive in both the result and the source (indices k, k+1,
/// ...), in the result's row-major order, for result rows [begin, end). Why
/// runs: a gather of a range along a minor axis (an LSTM's gate split, [B,
/// 4H] -> [B, H] along axis 1) has rows of one element; one memcpy per run
/// instead of per element. Result row r is (b * mid + m) * q + j, taking
/// index b * q + j from source block b * mid + m.
template <typename F>
void walkGather(const GatherPlan& w, const Tensor& indices, int64_t begin, int64_t end, F&& fn) {
  bool i64 = indices.dtype() == DType::I64;
  const int64_t* i64s = indices.data<int64_t>();
  const int32_t* i32s = indices.data<int32_t>();
  auto indexAt = [&](int64_t at) -> int64_t { return i64 ? i64s[at] : i32s[at]; };
  for (int64_t row = begin; row < end;) {
    int64_t block = row / w.q, j = row % w.q, b = block / w.mid;
    int64_t first = indexAt(b * w.q + j);
    int64_t n = 1;
    while (j + n < w.q && row + n < end && indexAt(b * w.q + j + n) == first + n)
      ++n;
    fn(row, block * w.axisSize + first, n);
    row += n;
  }
}

template <typename F> void walkGather(const GatherPlan& w, const Tensor& indices, F&& fn) {
  walkGather(w, indices, 0, w.rows(), fn);
}

} // namespace

Status dynamicSliceInto(const Tensor& x, const std::vector<int64_t>& starts, Tensor& out) {
  CAIRN_RETURN_IF_ERROR(kernels::checkBlockStarts(x, starts, out.shape()));
  if (out.dtype() != x.dtype())
    return errorf("result dtype {} differs from operand dtype {}", dtypeName(out.dtype()),
                  dtypeName(x.dtype()));
  const std::byte* src = x.rawData();
  std::byte* dst = out.rawData();
  forEachBlockRow(x, starts, out.shape(),
                  [&](size_t xo, size_t bo, size_t n) { std::memcpy(dst + bo, src + xo, n); });
  return Status::ok();
}

Status dynamicUpdateSliceInPlace(Tensor& x, const Tensor& update,
                                 const std::vector<int64_t>& starts) {
  if (update.dtype() != x.dtype())
    return errorf("update dtype {} differs from operand dtype {}", dtypeName(update.dtype()),
                  dtypeName(x.dtype()));
  CAIRN_RETURN_IF_ERROR(kernels::checkBlockStarts(x, starts, update.shape()));
  const std::byte* src = update.rawData();
  std::byte* dst = x.rawData();
  forEachBlockRow(x, starts, update.shape(),
                  [&](size_t xo, size_t bo, size_t n) { std::memcpy(dst + xo, src + bo, n); });
  return Status::ok();
}

StatusOr<GatherPlan> planGather(const Tensor& x, const Tensor& indices, int64_t axis,
                                int64_t batchDims, const Tensor& out) {
  if (out.dtype() != x.dtype())
    return errorf("result dtype {} differs from operand dtype {}", dtypeName(out.dtype()),
                  dtypeName(x.dtype()));
  return checkGather(x, indices, axis, batchDims, out.shape());
}

void gatherRows(const GatherPlan& plan, const Tensor& x, const Tensor& indices, Tensor& out,
                int64_t begin, int64_t end) {
  const std::byte* src = x.rawData();
  std::byte* dst = out.rawData();
  size_t rowBytes = static_cast<size_t>(plan.inner * dtypeSize(x.dtype()));
  walkGather(plan, indices, begin, end, [&](int64_t o, int64_t s, int64_t n) {
    std::memcpy(dst + o * rowBytes, src + s * rowBytes, static_cast<size_t>(n) * rowBytes);
  });
}

Status gatherInto(const Tensor& x, const Tensor& indices, int64_t axis, int64_t batchDims,
                  Tensor& out) {
  CAIRN_ASSIGN_OR_RETURN(GatherPlan plan, planGather(x, indices, axis, batchDims, out));
  gatherRows(plan, x, indices, out, 0, plan.rows());
  return Status::ok();
}

Status scatterInPlace(Tensor& x, const Tensor& indices, const Tensor& updates, int64_t axis,
                      int64_t batchDims, bool accumulate) {
  if (updates.dtype() != x.dtype())
    return errorf("updates dtype {} differs from operand dtype {}", dtypeName(updates.dtype()),
                  dtypeName(x.dtype()));
  CAIRN_ASSIGN_OR_RETURN(Shape shape, gatherShape(x.shape(), indices.shape(), axis, batchDims));
  if (updates.shape() != shape)
    return errorf("updates have shape {}, expected {} (the shape gather would produce)",
                  shapeStr(updates.shape()), shapeStr(shape));
  CAIRN_ASSIGN_OR_RETURN(GatherPlan w, checkGather(x, indices, axis, batchDims, shape));
  int64_t inner = w.inner;
  if (!accumulate) {
    size_t rowBytes = static_cast<size_t>(inner * dtypeSize(x.dtype()));
    const std::byte* src = updates.rawData();
    std::byte* dst = x.rawData();
    walkGather(w, indices, [&](int64_t u, int64_t s, int64_t n) {
      std::memcpy(dst + s * rowBytes, src + u * rowBytes, static_cast<size_t>(n) * rowBytes);
    });
    return Status::ok();
  }
  dispatchDType(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using C = ComputeType<T>;
    T* o = x.data<T>();
    const T* u = updates.data<T>();
    walkGather(w, indices, [&](int64_t ur, int64_t sr, int64_t n) {
      T* dst = o + sr * inner;
      const T* src = u + ur * inner;
      for (int64_t k = 0; k < n * inner; ++k) {
        if constexpr (std::is_same_v<T, bool>) {
          dst[k] = dst[k] || src[k];
        } else if constexpr (std::is_integral_v<T>) {
          using U = std::make_unsigned_t<T>;
          dst[k] = static_cast<T>(static_cast<U>(dst[k]) + static_cast<U>(src[k]));
        } else {
          dst[k] = T(C(dst[k]) + C(src[k]));
        }
      }
    });
  });
  return Status::ok();
}

} // namespace cairn::kernels::cpu
