// Inline: replaces each `call` by a copy of the callee's body.
//
// A call to a function that is not recursive is replaced, wherever it sits
// (a loop body or `if` branch included), by the callee's ops cloned with its
// parameters mapped to the call's arguments; the call's results become the
// cloned `return` operands. Recursive calls are left alone: a call to a
// function on a cycle of the call graph (itself included) would unfold
// forever. Callees are never removed, even when no call to them is left:
// every function is public for now, callable by name from the runtime.
// Where an argument is more static than its parameter (a tensor<4xf32> into a
// tensor<?xf32>), the copy reads it through a shape-erasing `reshape` (its
// sizes are constants, or `dim`s of the argument where that is dynamic too),
// so every cloned op keeps its declared types; the same goes for a returned
// value more static than the call's result.
// Why: a call is a wall for every other pass. Inlined, the callee's ops meet
// CSE, loop-invariant code motion and fusion with their real arguments, and
// codegen need not lower calls in the common, non-recursive case.
#pragma once

#include <memory>

#include "compiler/Pass.h"

namespace cairn {

/// Inlines every non-recursive call in `m`; returns whether any was inlined.
/// `numInlined`, when given, receives the number of calls replaced.
StatusOr<bool> inlineCalls(Module& m, int64_t* numInlined = nullptr);

std::unique_ptr<Pass> createInlinePass();

} // namespace cairn
