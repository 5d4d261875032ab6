// Fast kernels for the data-movement ops the compiled executor runs outside
// fused kernels: concat and broadcast, as memcpy of contiguous runs into a
// caller-provided result. They report no errors of their own: the executor
// checks the shapes first (isValidConcat/isValidBroadcast) and sends an
// invalid op to the reference kernel, whose message is the one users see.
#pragma once

#include <vector>

#include "ir/Tensor.h"

namespace cairn::kernels::cpu {

/// Whether concat(xs, axis) is well formed and `out` has its type.
bool isValidConcat(const std::vector<const Tensor*>& xs, int64_t axis, const TensorType& out);
void concatInto(const std::vector<const Tensor*>& xs, int64_t axis, Tensor& out);

/// Whether broadcast(x, dims) to `out`'s shape is well formed (dims strictly
/// increasing, each operand dim equal to its result dim or 1).
bool isValidBroadcast(const Tensor& x, const std::vector<int64_t>& dims, const TensorType& out);
void broadcastInto(const Tensor& x, const std::vector<int64_t>& dims, Tensor& out);

/// Whether `perm` is a permutation of x's dims and `out` has x transposed by it.
bool isValidTranspose(const Tensor& x, const std::vector<int64_t>& perm, const TensorType& out);
/// out[i_perm[0], ..., i_perm[r-1]] = x[i_0, ..., i_{r-1}]: the output written
/// in order (as broadcastInto, with x's strides permuted), rows of x's
/// innermost dim with memcpy when it stays innermost (a batch-major /
/// time-major swap of [B, T, E]), else a typed strided copy per row.
void transposeInto(const Tensor& x, const std::vector<int64_t>& perm, Tensor& out);

} // namespace cairn::kernels::cpu
