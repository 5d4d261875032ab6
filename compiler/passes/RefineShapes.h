// RefineShapes: narrows `?` dims that constants decide.
//
// An op's result type is re-inferred from its operands' types (ir/
// TypeInference.h), and a broadcast, reshape or iota whose size operand is a
// constant takes that size into its type (the operand dropped); where the
// result comes out more static than declared, it is narrowed. Folding runs
// between rounds (canonicalize), since a narrowed iota or broadcast of
// constants becomes a constant and its dims constants, which narrow more.
// Region arguments and the results of ops with regions (while, if, fusion,
// call) keep their declared types: a static value flows into a `?` slot,
// which the verifier accepts, so nothing outside an op has to change.
// Why: exporters compute sizes at run time that are compile-time constants
// (an ONNX Split's gate width from Shape arithmetic, then Range, then
// Gather); once static, the gathers' indices fold into constants, and the
// gate blocks become offset reads in the fused cell instead of row copies
// each step (the exported greedy decoder: 7 row gathers per step).
#pragma once

#include <memory>

#include "compiler/Pass.h"

namespace cairn {

/// Narrows result types of `m`'s ops as above, folding in between; returns
/// whether anything changed (a type, or a fold). `numRefined`, when given,
/// receives the number of types narrowed.
StatusOr<bool> refineShapes(Module& m, int64_t* numRefined = nullptr);

std::unique_ptr<Pass> createRefineShapesPass();

} // namespace cairn
