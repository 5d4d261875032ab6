// pair-independent-loops: the scheduling pass that puts independent `while`
// loops next to each other, where the executor runs them at the same time.
//
// A bidirectional RNN's forward and backward directions, or any two loops
// neither of which reads what the other computes, are independent; the
// frontend emits them with other ops in between (the reversed input, the
// second direction's projections). This pass finds, for each loop, the next
// loop and the ops between them that the later loop needs (its input
// projection, its initial values); when none of those reads anything the
// earlier loop or the other ops in between define, they move before the
// earlier loop and the later loop right after it. Moving ops above ops they
// do not depend on keeps every value defined before its uses and the ops
// are pure, so every result is what it was; what can change is which of two
// failing ops fails first (a hoisted projection with a bad shape now fails
// before the earlier loop runs), as XLA and TVM do not promise an order of
// errors either. If both loops fail, the executor reports the earlier one's.
// The later loop now also runs before the ops between the two that it does
// not need: if one of those fails, the loop has run first (and a loop that
// never ends, without max_trip, hangs there instead of the error).
//
// The executor (compiler/lowering/LowerFunctions.h) then runs two adjacent
// loops that do not read each other's results as one `parallel`
// instruction, one loop per thread. Peak memory grows by what the moved
// loop holds while the earlier one runs; loops are paired only two by two.
#pragma once

#include <memory>

#include "compiler/Pass.h"

namespace cairn {

/// Pairs independent loops in every region of `m`; returns whether any loop moved.
StatusOr<bool> pairIndependentLoops(Module& m, int64_t* numPaired = nullptr);

std::unique_ptr<Pass> createPairIndependentLoopsPass();

} // namespace cairn
