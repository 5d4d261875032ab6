// Sink accumulated products: a sum of per-iteration products becomes one
// product after the loop.
//
// A backward loop accumulates each weight's gradient one step at a time:
//
//   while (..., %acc = %init, ...) body {
//     %a = gather %X, %k {axis = 0}         // row k of a value from outside
//     %d = dot %a, %g {...}                 // %g: computed in the body
//     %acc_next = add %acc, %d              // %acc's only use
//     yield ..., %acc_next, ...
//   }
//
// (%a may be either operand of the dot.) This becomes
//
//   %G0 = broadcast 0 : [rows of X, ...shape of %g]
//   while (..., %acc = %init, ..., %G = %G0) body {
//     %G_next = scatter_add %G, %k, %g {axis = 0}     // in place
//     yield ..., %acc, ..., %G_next
//   }
//   %sum = dot %X, %G {contracting dim 0 of both, and the old contracting dims}
//   %acc_final = add %loop#acc, %sum
//
//
// Why: the per-step weight gradient of a recurrent cell is a skinny GEMM
// whose contracting dim is the batch ([H, B] x [B, 4H], B = 64), followed by
// a weight-sized add, every step; collected, it is one GEMM contracting
// steps x batch rows that a BLAS runs near peak, and the adds are gone.
//
// Exactness: in real arithmetic the two are equal whatever order or
// multiplicity the loop visits rows k in, because %a depends on k alone
// (%X is loop-invariant) and scatter_add accumulates repeated visits. In
// floating point the sum is reassociated (as XLA's and cuDNN's batched
// weight gradients are); rows of %X the loop never visits meet zero rows of
// %G, so they contribute nothing unless they hold an infinity or a NaN
// (for autodiff's tapes those rows are zeros). Every dim of %g must be
// static or contracted against a dim of %a (its size is then X's), so %G
// can be allocated before the loop. The carried %acc becomes invariant;
// canonicalize and dce drop it.
#pragma once

#include <memory>

#include "compiler/Pass.h"

namespace cairn {

/// Rewrites every matching accumulation of every `while` of `m`; returns
/// whether any changed. `numSunk`, when given, receives how many moved.
StatusOr<bool> sinkAccumulatedProducts(Module& m, int64_t* numSunk = nullptr);

std::unique_ptr<Pass> createSinkAccumulatedProductsPass();

} // namespace cairn
