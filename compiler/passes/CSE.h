// CSE: common subexpression elimination, scoped by region.
//
// Two ops are merged when they have the same kind, the same operands (the
// same SSA values, in order), exactly equal attributes (constants compare by
// their tensor's bytes, doubles by bits) and the same result types, and
// neither has regions. The later op's results are replaced by the earlier
// op's, which must be visible from it: defined earlier in the same region or
// in an enclosing one. Scopes never leak outward or sideways: a value made
// inside a `while` body (or an `if` branch, or the cond region) is not
// available after the loop, nor in the other region of the same op. A
// `fusion` region is isolated: nothing from outside it is reused inside.
// Every op but the terminators is pure in Cairn's IR; `rng_*` ops take and
// return their generator state explicitly, so the same state in gives the
// same numbers out and they merge like anything else. `call` merges too:
// functions have no side effects.
// Why: the frontend and autodiff emit duplicates freely (the same broadcast,
// the same transpose of a weight per use); merging them saves work and lets
// fusion and buffer assignment see the real data flow.
#pragma once

#include <memory>

#include "compiler/Pass.h"

namespace cairn {

/// Runs CSE on every function of `m`; returns whether anything was merged.
/// `numMerged`, when given, receives the number of ops removed.
StatusOr<bool> eliminateCommonSubexpressions(Module& m, int64_t* numMerged = nullptr);

std::unique_ptr<Pass> createCSEPass();

} // namespace cairn
