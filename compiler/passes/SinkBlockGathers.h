// Sink block gathers: gather(f(x, y), block) -> f(gather(x, block), gather(y, block))
// for an elementwise op or a broadcast f whose every use is a block gather
// (ir/Fusion.h isBlockGather) along one axis, together reading no more than
// f's extent there.
//
// Why: a recurrent cell computes its gate pre-activations as one tensor
// (x_t W + h W' + b, [B, 4H]) and splits it into blocks. The split's
// gathers read a value that the fuser must materialize, because a kernel
// reads a gathered input at an offset but cannot compute a producer at
// gathered indices; so the pre-activations were one kernel writing [B, 4H]
// and the cell another reading it back. With the gathers moved to the
// leaves (the hoisted projection's row, the recurrent product, the bias,
// which folds to constants), the whole cell is one kernel that reads each
// input once. The blocks are disjoint, so no work is repeated.
#pragma once

#include <memory>

#include "compiler/Pass.h"

namespace cairn {

/// Runs the rewrite on every function of `m` to a fixed point; returns
/// whether anything changed and adds the ops sunk to `*numSunk`.
StatusOr<bool> sinkBlockGathers(Module& m, int64_t* numSunk = nullptr);

std::unique_ptr<Pass> createSinkBlockGathersPass();

} // namespace cairn
