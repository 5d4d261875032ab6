// Reference kernels that move elements without computing on them:
// broadcast, reshape, transpose, concat, slice and iota. They work on any
// dtype by copying element bytes.
//
// Shapes passed in are the concrete run-time shapes (no `?`); the interpreter
// resolves dynamic dims from the op's dynamic size operands first.
#pragma once

#include <vector>

#include "ir/Status.h"
#include "ir/Tensor.h"

namespace cairn::kernels {

/// Operand dim i maps to result dim dims[i] (strictly increasing) and must
/// equal it or be 1 (then it repeats); the other result dims are new.
StatusOr<Tensor> broadcast(const Tensor& x, const std::vector<int64_t>& dims,
                           const Shape& resultShape);

/// Same elements, row-major, new shape; element counts must agree.
StatusOr<Tensor> reshape(const Tensor& x, const Shape& shape);

/// Result dim i is operand dim perm[i].
StatusOr<Tensor> transpose(const Tensor& x, const std::vector<int64_t>& perm);

/// Joins one or more tensors of one dtype and rank along `axis`; the other
/// dims must agree.
StatusOr<Tensor> concat(const std::vector<Tensor>& xs, int64_t axis);

/// Elements start[i], start[i] + stride[i], ... below limit[i] per dim. An
/// empty `stride` means all 1. Needs 0 <= start <= limit <= dim, stride >= 1.
StatusOr<Tensor> slice(const Tensor& x, const std::vector<int64_t>& start,
                       const std::vector<int64_t>& limit, const std::vector<int64_t>& stride);

/// A tensor of `type` (static shape) whose element at index i is i[axis].
StatusOr<Tensor> iota(const TensorType& type, int64_t axis);

/// The value of `constant` with literal `literal` and result type `type`: the
/// literal itself when the types agree, the literal's single element repeated
/// (a splat) when it has one element, converted as `cast` does when only the
/// dtype differs. Anything else is an error.
StatusOr<Tensor> materializeConstant(const Tensor& literal, const TensorType& type);

} // namespace cairn::kernels
