// A fast reduce_sum for the compiled executor: f32/f64 summed over one
// contiguous block of dims, i.e. x viewed as [A, R, C] summed over R (bias
// gradients over the batch, row sums, totals). Each output element is
// accumulated in double over its inputs in increasing index order, as the
// reference kernel does (kernels/reference/Reduce.cpp), so the results are
// bit for bit the reference's; only the index arithmetic is gone (the
// reference unravels every element's index), and the inner loop over C is
// a contiguous one the compiler vectorizes.
//
// A fast argmax likewise: x viewed as [A, K, C] (outer, axis, inner), the
// first maximum along K, NaN the maximum (the first NaN wins), as the
// reference's; an exported greedy decoder's argmax over its vocabulary each
// step spent 14% of the run in the reference's per-element index unraveling.
#pragma once

#include <vector>

#include "ir/Tensor.h"

namespace cairn::kernels::cpu {

/// Whether reduceSumInto handles x and dims: x f32 or f64, dims strictly
/// increasing, in range and consecutive (empty: nothing reduced).
bool isFastReduceSum(const Tensor& x, const std::vector<int64_t>& dims);

/// The result shape of reducing `x` over `dims` (those dims dropped).
Shape reducedShape(const Shape& x, const std::vector<int64_t>& dims);

/// out = reduce_sum(x, dims); `out` has the reduced shape and x's dtype.
void reduceSumInto(const Tensor& x, const std::vector<int64_t>& dims, Tensor& out);

/// Whether argmaxInto handles x along axis: f32, f64, i32 or i64, axis in
/// range, and a nonempty axis unless the result is empty (the reference
/// gives that error).
bool isFastArgmax(const Tensor& x, int64_t axis);

/// out = argmax(x, axis); `out` is i32 or i64 of x's shape less the axis.
/// With a range: only the results of outer positions [outerBegin,
/// outerEnd), the product of x's dims before the axis (argmaxOuter).
void argmaxInto(const Tensor& x, int64_t axis, Tensor& out, int64_t outerBegin = 0,
                int64_t outerEnd = -1);

/// The product of x's dims before `axis`: the rows argmaxInto can split.
int64_t argmaxOuter(const Tensor& x, int64_t axis);

} // namespace cairn::kernels::cpu
