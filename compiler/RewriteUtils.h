// Small helpers shared by the rewriting passes: reading and making
// `constant` ops, comparing attributes exactly, and the facts about an op
// that decide whether it may move (what it reads, whether it can fail).
//
// They live apart from ir/ because only passes need them, and the exactness
// rules (doubles and tensors compare by bits, so -0.0 and 0.0 differ and a
// NaN equals itself) are a compiler concern: two ops are interchangeable only
// when they compute bit-identical results.
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "ir/ConstantValue.h"
#include "ir/IR.h"

namespace cairn {

/// A detached `constant` op producing `value` (whose shape is static).
std::unique_ptr<Op> makeConstantOp(Tensor value, Location loc = {});

/// Exact equality: doubles by bit pattern, tensors by type and bytes.
bool attributesEqual(const Attribute& a, const Attribute& b);
bool attributesEqual(const AttrMap& a, const AttrMap& b);

/// Whether `op` or an op nested in its regions uses `v`.
bool opUses(const Op& op, const Value* v);

/// Whether `v` is defined inside `op`: a result or region argument of an op
/// nested (at any depth) in `op`'s regions. `op`'s own results are not.
bool definedWithin(const Value* v, const Op* op);

/// Every value read in `r` (nested regions included) and the ops that read
/// it, in walk order (an op once per operand that reads it).
using Users = std::map<const Value*, std::vector<Op*>>;
Users collectUsers(Region& r);

/// The values `op` reads from outside itself: its operands and the values
/// its nested ops capture from outside `op`, each once, in walk order.
std::vector<Value*> externalUses(const Op& op);

/// Whether running `op` may stop the program with a run-time error (or not
/// terminate): integer `div`, the indexing ops that check their indices
/// (`dynamic_slice`, `dynamic_update_slice`, `gather`, `scatter*`),
/// `rng_categorical`, `argmax` over a dim that may be empty, `call` and
/// `while` (which may fail or loop forever), an op whose shapes are
/// only checked at run time (operands or results with `?` dims, except for
/// ops whose result shape follows from one operand: unary, cast, transpose,
/// reduce, dim, ...), and an op with regions holding any of these. Passes
/// that execute an op where the program might not have (hoisting out of a
/// loop that may run zero times, out of an `if`) leave these alone.
bool mayFailAtRunTime(const Op& op);

/// A deep copy of `m`: same functions, ops, attributes and value names.
std::unique_ptr<Module> cloneModule(const Module& m);

} // namespace cairn
