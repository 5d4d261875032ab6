// Reference kernels for the elementwise families of ir/Ops.def: unary,
// binary, compare, select and cast.
//
// Each kernel is templated over the storage type (via dispatchDType). f16 and
// bf16 compute through float and round the result once; f32 computes in
// float and f64 in double, so a result is what one IEEE operation in the
// storage type's precision gives (libm's accuracy for exp/log/tanh/pow).
// Integer add/sub/mul/neg/abs wrap (two's complement); so does INT_MIN / -1.
//
// Errors (returned, never aborted on) carry the "<what>" part of a message;
// the interpreter prefixes the op and its location.
#pragma once

#include "ir/OpKind.h"
#include "ir/Status.h"
#include "ir/Tensor.h"

namespace cairn::kernels {

/// neg, abs, exp, log, tanh, sigmoid, relu, sqrt, rsqrt, not. The result has
/// x's type. Fails for a dtype the op does not accept (e.g. exp on i32).
StatusOr<Tensor> unary(OpKind kind, const Tensor& x);

/// add, sub, mul, div, max, min, pow, and, or on two tensors of one type.
/// Fails on mismatched types, integer division by zero, or a dtype the op
/// does not accept. max/min return NaN when either operand is NaN and order
/// -0 below +0.
StatusOr<Tensor> binary(OpKind kind, const Tensor& a, const Tensor& b);

/// eq, ne, lt, le, gt, ge on two tensors of one type; an i1 result of the same
/// shape. Every comparison with NaN is false except ne.
StatusOr<Tensor> compare(OpKind kind, const Tensor& a, const Tensor& b);

/// a where pred else b. pred is i1, of a's shape or a scalar.
StatusOr<Tensor> select(const Tensor& pred, const Tensor& a, const Tensor& b);

/// Converts every element to `to`. Float to integer truncates toward zero
/// (NaN and out-of-range give 0); to i1 is `!= 0` (so NaN gives true); from
/// i1 is 0 or 1; integer narrowing (i64 -> i32) keeps the low 32 bits; every
/// conversion to a float type is correctly rounded to nearest even (one
/// rounding, also for f64/i64 -> f16/bf16).
StatusOr<Tensor> cast(const Tensor& x, DType to);

} // namespace cairn::kernels
