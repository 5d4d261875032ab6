// Small helpers shared by the rewriting passes: reading and making
// `constant` ops, and comparing attributes exactly.
//
// They live apart from ir/ because only passes need them, and the exactness
// rules (doubles and tensors compare by bits, so -0.0 and 0.0 differ and a
// NaN equals itself) are a compiler concern: two ops are interchangeable only
// when they compute bit-identical results.
#pragma once

#include <memory>

#include "ir/IR.h"

namespace cairn {

/// The attribute holding a `constant` op's tensor.
inline constexpr const char* kConstantValueAttr = "value";

/// The tensor of the `constant` op defining `v`, or nullptr when `v` is not
/// a constant result.
const Tensor* constantValue(const Value* v);

/// A detached `constant` op producing `value` (whose shape is static).
std::unique_ptr<Op> makeConstantOp(Tensor value, Location loc = {});

/// Exact equality: doubles by bit pattern, tensors by type and bytes.
bool attributesEqual(const Attribute& a, const Attribute& b);
bool attributesEqual(const AttrMap& a, const AttrMap& b);

/// Whether `op` or an op nested in its regions uses `v`.
bool opUses(const Op& op, const Value* v);

} // namespace cairn
