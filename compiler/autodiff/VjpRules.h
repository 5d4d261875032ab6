// The vector-Jacobian rules: given an op and the adjoints of its results,
// the adjoints of its operands. Internal to compiler/autodiff.
#pragma once

#include <vector>

#include "compiler/autodiff/GradientContext.h"

namespace cairn::autodiff {

/// Returns one entry per operand of `op`: its adjoint contribution, or an
/// invalid Val for none. `dResults` has one entry per result (invalid = the
/// result's adjoint is zero). Control-flow rules also add the adjoints of
/// values their regions capture to `adj`. Throws BuildError when the op
/// cannot be differentiated as used.
using VjpFn = std::vector<Val> (*)(GradientContext& ctx, Op& op, const std::vector<Val>& dResults,
                                   AdjointMap& adj);

/// The rule for `kind`, or nullptr when the op has none (non-differentiable
/// ops: their results are never active).
VjpFn findVjpRule(OpKind kind);

/// `while` (WhileGradient.cpp) and `if` (IfGradient.cpp).
std::vector<Val> whileVjp(GradientContext& ctx, Op& op, const std::vector<Val>& dResults,
                          AdjointMap& adj);
std::vector<Val> ifVjp(GradientContext& ctx, Op& op, const std::vector<Val>& dResults,
                       AdjointMap& adj);

} // namespace cairn::autodiff
