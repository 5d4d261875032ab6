// Fast kernels for the indexed ops (dynamic_slice, dynamic_update_slice,
// gather, scatter, scatter_add) as the compiled executor runs them: they move
// contiguous rows with memcpy instead of one element at a time, write into a
// caller-provided result, and the update ops work in place on their operand.
//
// Semantics and error messages are those of kernels/reference/Indexing.h
// (the executor's tests compare the two): indices are never clamped; an
// out-of-range index is an error naming it, and nothing is written when an
// index is out of range (every index is checked before the first write).
#pragma once

#include <vector>

#include "ir/Status.h"
#include "ir/Tensor.h"

namespace cairn::kernels::cpu {

/// Writes the block of x at `starts` into `out` (whose shape is the block's).
Status dynamicSliceInto(const Tensor& x, const std::vector<int64_t>& starts, Tensor& out);

/// Overwrites the block of x at `starts` with `update`, in place.
Status dynamicUpdateSliceInPlace(Tensor& x, const Tensor& update,
                                 const std::vector<int64_t>& starts);

/// gather(x, indices, axis, batchDims) into `out`, which has gather's shape.
Status gatherInto(const Tensor& x, const Tensor& indices, int64_t axis, int64_t batchDims,
                  Tensor& out);

/// A gather checked (every index in range, the shapes and dtypes agreed):
/// the result as [batch, mid, q, inner], row (b, m, j) from source row
/// (b * mid + m) * axisSize + index[b, j]. gatherRows copies any range of
/// its rows() (the executor splits them over threads); scatters walk the
/// same rows.
struct GatherPlan {
  int64_t batch = 1, mid = 1, q = 1, inner = 1, axisSize = 0;
  int64_t rows() const { return batch * mid * q; }
};

/// The plan of gatherInto(x, indices, axis, batchDims, out), or its error.
StatusOr<GatherPlan> planGather(const Tensor& x, const Tensor& indices, int64_t axis,
                                int64_t batchDims, const Tensor& out);

/// Rows [begin, end) of a planned gather into `out`.
void gatherRows(const GatherPlan& plan, const Tensor& x, const Tensor& indices, Tensor& out,
                int64_t begin, int64_t end);

/// scatter / scatter_add into x, in place (updates in row-major order, so
/// the last repeat wins or all repeats add up in that order).
Status scatterInPlace(Tensor& x, const Tensor& indices, const Tensor& updates, int64_t axis,
                      int64_t batchDims, bool accumulate);

} // namespace cairn::kernels::cpu
