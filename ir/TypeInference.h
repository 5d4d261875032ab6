// Result-type inference: the per-family type rules of the op table.
//
// One function serves the builder (which infers result types) and the
// verifier (which checks declared result types against it), so the rules
// live in one place. It also validates attributes (presence, kind, range):
// after it succeeds, Op::getInt/getInts on the op's attributes cannot fail.
#pragma once

#include <vector>

#include "ir/IR.h"
#include "ir/Status.h"

namespace cairn {

/// Infers the result types of an op of `kind` with operands of
/// `operandTypes` and attributes `attrs`. `declared` holds the result types
/// the op states (from the text form or the builder); ops whose results
/// cannot be derived from their operands (constant, cast, broadcast, reshape,
/// iota, dim, argmax, rng_*, call, while, if, fusion) take them from
/// `declared` and check them. Region signatures (while/if/fusion bodies) and
/// callee signatures are checked by the verifier, not here. The error message names what is wrong
/// but not the op or location; callers add those.
StatusOr<std::vector<TensorType>> inferResultTypes(OpKind kind,
                                                   const std::vector<TensorType>& operandTypes,
                                                   const AttrMap& attrs,
                                                   const std::vector<TensorType>& declared);

} // namespace cairn
