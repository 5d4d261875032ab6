// Reverse-mode automatic differentiation as a graph-to-graph transform.
//
// buildGradient(m, f, {.wrt = {...}}) adds to `m` a function that takes f's
// arguments and returns f's results followed by d(result #lossResult)/d(arg)
// for each argument in `wrt`. The loss must be a float scalar. Everything is
// IR: the gradient function is verified, optimized and compiled like any
// other, so a training step is one compiled function.
//
// How (docs/autodiff.md has the whole story):
//  * Each differentiable op has a vector-Jacobian rule in VjpRules.cpp (the
//    one table of rules). Ops whose results are not float, or not derived
//    from a `wrt` argument, get no gradient; `stop_gradient` blocks it.
//  * `while`: the forward loop is augmented with tapes, one per value the
//    backward rules read, indexed by iteration ([max_trip, ...shape], written
//    with `scatter`), plus a trip counter; the backward loop runs the
//    iterations in reverse, reading the tapes. Only what the rules need is
//    taped (for SPINN's thin stack: the gathered rows and indices, never the
//    stack), and sizes of dynamic dims are traced to loop-invariant values
//    when possible rather than taped. A loop without max_trip is first run
//    once more, uninstrumented, to count its trips (the tape's bound); give
//    max_trip to avoid that cost. Running past max_trip is the forward loop's
//    usual run-time error.
//  * `if`: the gradient is an `if` on the same predicate whose branches
//    recompute the forward branch and run its backward sweep (nothing is
//    stored across the branch).
//  * `call`s are inlined first.
//
// Errors (as Status): a loss that is not a float scalar, a `wrt` argument
// that is not float, an op with a float result derived from `wrt` but no
// gradient rule (named with its location), `fusion` ops (differentiate
// before fusing).
//
// Thread-safety: as for Module (one thread transforms a module).
#pragma once

#include <string>
#include <vector>

#include "ir/IR.h"
#include "ir/Status.h"

namespace cairn {

struct GradOptions {
  /// Arguments of f to differentiate with respect to (float dtypes).
  std::vector<size_t> wrt;
  /// Which result of f is the loss (a float scalar).
  size_t lossResult = 0;
  /// Name of the new function; "" = "<f>_grad".
  std::string name;
  /// Run canonicalize, CSE and DCE on the new function.
  bool simplify = true;
  /// Before differentiating, move loop-invariant work out of the loops
  /// (`licm`) and project every step's input at once
  /// (`hoist-input-projection`). Why: the backward pass mirrors the forward's
  /// structure, so a projection hoisted first gets its weight and input
  /// gradients as two large GEMMs after the backward loop (its per-step
  /// gradient is scattered into one [T, ...] adjoint) instead of two skinny
  /// GEMMs, a weight-sized add and a tape of the inputs per step; an
  /// invariant value (a constant index, a broadcast weight) is captured
  /// instead of taped.
  bool prepare = true;
  /// Checkpointing for long loops: 0 tapes every iteration; k > 0 splits
  /// each loop into segments of k iterations, tapes only the carried values
  /// at segment starts, and recomputes one segment at a time in the backward
  /// pass (O(n/k + k) tape rows instead of O(n), one extra forward pass).
  int64_t loopCheckpointEvery = 0;
  /// Keep each `rnn` op whole: the prepare pipeline does not run expand-rnn
  /// and its gradient is one `rnn_grad` op (VjpRules.cpp), which a device can
  /// run as a fused backward (cuDNN's RNN backward, docs/gpu.md). Off: `rnn`
  /// is expanded into its `while` loop first and differentiated as a loop,
  /// tapes and all.
  bool keepRnnOps = false;
};

/// Adds the gradient function of `f` to `m` (see the file comment).
StatusOr<Function*> buildGradient(Module& m, const Function& f, const GradOptions& opts);

} // namespace cairn
