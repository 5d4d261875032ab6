// Reference kernels that address elements by run-time indices:
// dynamic_slice, dynamic_update_slice, gather, scatter and scatter_add.
//
// Indices are signed and never clamped or wrapped: an index out of range is an
// error naming the index, its value and the valid range.
#pragma once

#include <vector>

#include "ir/Status.h"
#include "ir/Tensor.h"

namespace cairn::kernels {

/// Checks that a block of shape `sizes` at `starts` (one per dim) lies
/// within `x`; the error names the offending dim and index. Shared with the
/// executor's in-place kernels (kernels/cpu) so both report alike.
Status checkBlockStarts(const Tensor& x, const std::vector<int64_t>& starts, const Shape& sizes);

/// The block of shape `sizes` at `starts` (one per dim). Needs
/// 0 <= starts[d] and starts[d] + sizes[d] <= x.shape[d].
StatusOr<Tensor> dynamicSlice(const Tensor& x, const std::vector<int64_t>& starts,
                              const Shape& sizes);

/// x with the block at `starts` replaced by `update` (same dtype and rank).
StatusOr<Tensor> dynamicUpdateSlice(const Tensor& x, const Tensor& update,
                                    const std::vector<int64_t>& starts);

/// The shape gather(x, indices, axis, batchDims) has:
/// x.shape[:axis] ++ indices.shape[batchDims:] ++ x.shape[axis+1:].
StatusOr<Shape> gatherShape(const Shape& x, const Shape& indices, int64_t axis, int64_t batchDims);

/// result[p, q, r] = x[p, indices[p[:batchDims], q], r] (tf.gather with
/// batch_dims). indices are i32 or i64.
StatusOr<Tensor> gather(const Tensor& x, const Tensor& indices, int64_t axis, int64_t batchDims);

/// The inverse of gather: x with the slices gather would read replaced by
/// (accumulate = false) or incremented by (accumulate = true) `updates`,
/// which has gather's result shape. Updates apply in row-major order, so with
/// repeated indices the last one wins, or all add up in that order (each add
/// rounds to the storage type; integers wrap; i1 adds as `or`).
StatusOr<Tensor> scatter(const Tensor& x, const Tensor& indices, const Tensor& updates,
                         int64_t axis, int64_t batchDims, bool accumulate);

} // namespace cairn::kernels
