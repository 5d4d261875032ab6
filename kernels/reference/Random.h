// Reference kernels for the explicit-state random ops, rng_uniform and
// rng_categorical, on Philox-4x32-10 (Salmon et al., "Parallel Random
// Numbers: As Easy as 1, 2, 3", SC'11), implemented here from the paper.
//
// Bit layout (compiled code must match it bit for bit):
//  * The state is tensor<2xi64> = [key, counter].
//  * The 64-bit key splits into two 32-bit key words, low word first:
//    k = (key & 0xffffffff, key >> 32).
//  * Block b (b = 0, 1, ...) is Philox4x32-10 of the 128-bit counter
//    (c & 0xffffffff, c >> 32, 0, 0) with c = counter + b (mod 2^64); it
//    yields 4 uint32 words, used in order, then block b+1's.
//  * f32 (and f16, bf16): one word u per number, value (u >> 8) * 2^-24.
//    f16 and bf16 round that f32 value toward zero so 1.0 never appears.
//  * f64: two words per number, a first and b second:
//    ((a >> 5) * 2^26 + (b >> 6)) * 2^-53, 53 random bits.
//  * Numbers fill the result in row-major order from the word stream.
//  * The new state is [key, counter + blocks used], where blocks used =
//    ceil(words used / 4); words left over in the last block are dropped.
//  * rng_categorical draws one f64 uniform u per row (row-major over the
//    logits' leading dims, so 2 words per row) and picks the first k with
//    cumsum(softmax(logits))[k] > u, computed in double as
//    cumsum(exp(l - max))[k] > u * sum(exp(l - max)).
#pragma once

#include <array>
#include <cstdint>

#include "ir/Status.h"
#include "ir/Tensor.h"

namespace cairn::kernels {

/// One Philox-4x32-10 block: 10 rounds of the published round function with
/// multipliers 0xD2511F53, 0xCD9E8D57 and key increments 0x9E3779B9,
/// 0xBB67AE85.
std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key);

/// A random op's two results: the advanced state and the values.
struct RngResult {
  Tensor state;
  Tensor values;
};

/// Uniform numbers in [0, 1) of `type` (static shape, float dtype).
StatusOr<RngResult> rngUniform(const Tensor& state, const TensorType& type);

/// One sample per row of `logits` [..., K] (float); the samples have shape
/// [...] and dtype `indexType` (i32 or i64). Errors: K = 0, a row with a NaN
/// logit, or a row whose logits are all -inf. Logits of +inf share the row's
/// probability equally; -inf logits are never picked.
StatusOr<RngResult> rngCategorical(const Tensor& state, const Tensor& logits, DType indexType);

} // namespace cairn::kernels
