// DCE: dead code elimination.
//
// Removes every op whose results are all unused, terminators excepted, in
// every region (a loop body's dead ops included); removing an op can make
// its operands' producers dead, so each region is swept back to front.
// Ops with regions (`while`, `if`) go like any other when all their results
// are unused (a `while` without carried values included): Cairn ops have no
// side effects, so a dead op that would fail at run time (a division by
// zero, a loop past its max_trip) goes too, as in XLA.
// It also drops dead loop-carried values of a `while`: carried value i goes
// when its result is unused after the loop, the cond does not read it, and
// no live carried value's next value depends on it inside the body (the
// analysis follows data flow within the body to a fixed point). The loop is
// rebuilt with fewer carried values; its trip count cannot change, since the
// cond reads only live values. Functions are all kept: any may be called.
// Why: canonicalization and CSE leave dead ops behind, autodiff emits
// forward values nobody needs, and every dead carried value is a buffer
// copied on every iteration.
#pragma once

#include <memory>

#include "compiler/Pass.h"

namespace cairn {

struct DCEStats {
  int64_t opsRemoved = 0;
  int64_t carriedValuesRemoved = 0;
};

/// Runs DCE on every function of `m`; returns whether anything was removed.
StatusOr<bool> eliminateDeadCode(Module& m, DCEStats* stats = nullptr);

std::unique_ptr<Pass> createDCEPass();

} // namespace cairn
