// Reference kernels for reductions: reduce_sum, reduce_max, reduce_min and
// argmax.
//
// Accumulation: a float reduce_sum accumulates in double, in row-major order
// of the reduced elements, and rounds once to the storage type (so an f32 or
// f16 sum is at least as accurate as any sequential f32 sum; compiled code may
// differ in the last bits). Integer sums wrap (two's complement).
#pragma once

#include <vector>

#include "ir/OpKind.h"
#include "ir/Status.h"
#include "ir/Tensor.h"

namespace cairn::kernels {

/// Reduces over `dims` (distinct, sorted), which are removed from the shape.
/// kind is ReduceSum, ReduceMax or ReduceMin. The reduction of nothing is 0,
/// -inf / lowest integer (max), +inf / highest integer (min). max/min return
/// NaN when any reduced element is NaN. On i1, max is `or` and min is `and`;
/// sum is rejected.
StatusOr<Tensor> reduce(OpKind kind, const Tensor& x, const std::vector<int64_t>& dims);

/// Index of the maximum along `axis` (removed from the shape), as indexType
/// (i32 or i64). Ties give the first index; NaN counts as above every number,
/// so the first NaN wins (as numpy.argmax). An empty axis is an error.
StatusOr<Tensor> argmax(const Tensor& x, int64_t axis, DType indexType);

/// The indices (increasing) of the nonzero elements of rank-1 `m`, as `indexType`.
StatusOr<Tensor> nonzero(const Tensor& m, DType indexType);

} // namespace cairn::kernels
