// Hoist input projection: one matrix product over all time steps instead of
// one per step.
//
// A recurrent loop multiplies each step's input by the same weights:
//
//   body { %x = dynamic_slice %xs, %t, %z, ... {sizes = [1, B, D]}
//          %xr = reshape %x : tensor<BxD...>          (optional)
//          %p = dot %xr, %w : tensor<BxH...> ... }
//
// With %xs and %w defined outside the loop and %t a loop counter (a carried
// value the body advances by a constant +1 or -1), this becomes
//
//   %P = dot %xs, %w : tensor<TxBxH...>               (before the loop)
//   body { %p0 = dynamic_slice %P, %t, %z, ... {sizes = [1, B, H...]}
//          %p = reshape %p0 : tensor<BxH...>  ... }
//
// The row may also be read as `gather %xs, %t {axis = 0}` (a scalar index:
// the row without the leading 1, dynamic dims allowed), and is then read
// from P the same way; and some of its rows may be picked first
// (`gather %row, %rows {axis = 0}`, a rank-1 index: a compacted step's live
// rows), which then picks the same rows of P's row. The matched dot has no batch dims and contracts the
// row's last dim (with any one dim of %w); a dynamic_slice's other starts
// are constant zeros and it takes whole rows (sizes [1, xs.shape[1:]],
// static); a reshape must be static and keep the last dim. The rewrite is exact: row t
// of dot(xs, w) is computed from the same products summed in the same order
// as dot(xs[t], w) (the reference kernel accumulates each element in double
// and rounds once), so results are bit-identical for every dtype, and an
// out-of-range %t fails in the new slice or gather exactly where it failed in
// the old one (P's first dim is xs's). Exactness needs neither the counter nor the
// loop's bounds; the counter is the profitability test: a loop that walks
// the rows one by one reads (nearly) every row of P, so the product is not
// wasted work. P is computed even when the loop runs zero times; it then
// has no rows. P goes just before the loop; licm can lift it further out of
// enclosing loops.
// Why: the per-step product is a skinny GEMM ([B, D] x [D, H]) repeated T
// times on the critical path; hoisted, it is one large GEMM ([T*B, D] x
// [D, H]) that a BLAS runs near peak, and the loop keeps only the recurrent
// product h * Wh (DESIGN.md, "Compiler pipeline").
#pragma once

#include <memory>

#include "compiler/Pass.h"

namespace cairn {

/// Hoists the input projections of every `while` of `m`; returns whether
/// any was hoisted. `numHoisted`, when given, receives how many dots moved.
StatusOr<bool> hoistInputProjections(Module& m, int64_t* numHoisted = nullptr);

std::unique_ptr<Pass> createHoistInputProjectionPass();

} // namespace cairn
