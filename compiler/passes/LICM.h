// LICM: loop-invariant code motion out of `while` loops.
//
// An op in a loop's `cond` or `body` region moves to just before the loop
// when everything it reads is defined outside the loop or by an op already
// moved: its operands and, for an op with regions (an `if`, a `fusion`),
// every value its nested ops capture. Constants move too (CSE then merges
// them with their twins outside). Loops are visited innermost first, so an
// op invariant in several nested loops climbs out of all of them, one level
// per enclosing loop, to the outermost loop it does not depend on.
// What never moves: an op that may fail at run time (integer `div`, the
// index-checking `dynamic_slice`, `dynamic_update_slice`, `gather`,
// `scatter*`, shape checks on `?` dims, `rng_categorical`, `argmax` over a
// possibly empty dim, `call`, `while`; see mayFailAtRunTime), because the
// body may run zero times and the program must not fail where it would not
// have. The rule is applied to the `cond` region too, though it always runs
// once: an earlier op of the cond might fail first, and which error is
// reported (or whether the program hangs) must not change. Ops nested in an
// `if` inside the loop move only with their `if`, never alone: they run
// conditionally. A `while` nested in the loop never moves (it may not
// terminate); its invariant contents do.
// Why: a recurrent model's loop body recomputes weight-only values on every
// step (transposes, broadcasts of biases, the frontend's duplicates); moved
// out they run once, and the hoisted values become visible to the
// input-projection hoisting and fusion that follow.
#pragma once

#include <memory>

#include "compiler/Pass.h"

namespace cairn {

/// Hoists loop-invariant ops out of every `while` of `m`; returns whether
/// any op moved. `numHoisted`, when given, receives the number of moves (an
/// op climbing out of two loops counts twice).
StatusOr<bool> hoistLoopInvariants(Module& m, int64_t* numHoisted = nullptr);

std::unique_ptr<Pass> createLICMPass();

} // namespace cairn
