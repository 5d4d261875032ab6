// Fuse elementwise: groups chains of elementwise ops into `fusion` ops of
// kind "elementwise", each a future kernel of one loop over one element count.
//
// In every region (a fusion's own aside), ops are grouped when connected by
// data edges: unary, binary, compare, `select` and `cast` ops, plus
// `broadcast` (it brings a smaller operand into the iteration space; its
// dynamic size operands become inputs) and `reshape` with static types (it
// keeps the row-major order, so it is an index map), and a block `gather`
// (constant indices [s, s+1, ...] along a static axis: a slice, read at an
// offset; ir/Fusion.h isBlockGather), so that a cell's gate split is no
// copy of its own but the kernel's reads of the gates. All members of a group
// have one result element count or, with `?` dims, one result shape; the
// data edges then force one run-time shape, or the program fails with the
// same shape error it always had. Any member's result may be used outside
// the group: it becomes one of the fusion's results (multi-output fusion),
// so no op is ever computed twice, with one exception: a group of at most
// four cheap ops (compares, logic, select, add/sub/mul/min/max, casts) of a
// smaller iteration space that only a broadcast into a group reads joins
// that group and is recomputed per element (an RNN step's [B] mask in its
// [B, H] cell: one kernel launch per step less). Splat constants the members read are
// copied into the region (they cost nothing), as are a block gather's
// indices (the kernel never reads them); every other outside value
// becomes an operand. A group is kept only when it has at least `minOps`
// members, one of them arithmetic (not broadcast or reshape).
// Not fused: integer `div` (it fails on a zero divisor; a fused kernel never
// fails on values), scalars (rank 0: loop bookkeeping, cheapest left alone),
// ops in different regions.
// Grouping never creates a cycle: a group is rejected when a path leaves
// it and comes back through an op outside it, and the fusion op takes the
// place of the group's last member, with the ops in between that read the
// group moved after it.
// Why: each elementwise op otherwise reads and writes a whole tensor; fused,
// a chain like tanh(x*W + h*U + b) touches memory once, and codegen gets one
// kernel per group (DESIGN.md, "Compiler pipeline": fusion).
#pragma once

#include <memory>

#include "compiler/Pass.h"

namespace cairn {

struct FuseElementwiseOptions {
  /// Groups with fewer member ops (constants not counted) stay unfused.
  int minOps = 2;
};

/// Fuses every function of `m`; returns whether any fusion was made.
/// `numFusions`, when given, receives how many fusion ops were created.
StatusOr<bool> fuseElementwise(Module& m, const FuseElementwiseOptions& options = {},
                               int64_t* numFusions = nullptr);

std::unique_ptr<Pass> createFuseElementwisePass();

} // namespace cairn
