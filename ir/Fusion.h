// The rules of the `fusion` op's kinds: which ops a fused region may hold.
//
// A `fusion` is a kernel boundary: its region is isolated (it reads only its
// arguments, which are the op's operands) and its `kind` attribute says what
// the region may contain, which is what codegen relies on to lower it. The
// verifier enforces these rules and the fusion passes use the same
// predicates to decide what they may put in a region, so the two cannot
// drift apart. Later kinds ("gemm_epilogue", "horizontal") add a row to
// kFusionKinds in Fusion.cpp.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ir/IR.h"

namespace cairn {

/// The attribute naming a fusion's kind, and the kind made by fuse-elementwise.
inline constexpr const char* kFusionKindAttr = "kind";
inline constexpr const char* kElementwiseFusion = "elementwise";

/// The kinds the verifier accepts, in table order.
std::vector<std::string_view> fusionKinds();
bool isFusionKind(std::string_view kind);

/// Whether the region of a fusion of `kind` may contain an op of kind `op`
/// (the terminating `yield` aside). For "elementwise": the elementwise
/// families (unary, binary, compare, select, cast) but the trigonometric
/// and hyperbolic functions (no kernel computes them), plus broadcast,
/// reshape, constant, and `gather` when it is a block gather (isBlockGather).
bool fusionKindAllows(std::string_view kind, OpKind op);

/// Why no compiled kernel computes elementwise `op` on `dtype` (empty: one
/// does): the trigonometric and hyperbolic functions and their inverses (no
/// approximation in code generation; libm runs them), integer division (it
/// must fail on a zero divisor, and kernels never fail), pow and erf on
/// other than f32 (their approximations are f32's). The one table of what
/// code generation leaves out: fuse-elementwise keeps such ops out of
/// groups (a group holding one would run whole by the reference kernels),
/// and cpu::checkLowerable refuses a kernel holding one.
std::string noKernelForm(OpKind op, DType dtype);

/// Whether `op` is a `gather` of a contiguous block of one axis: indices a
/// `constant` [s, s+1, ..., s+n-1] (rank 1, n >= 1, no batch dims) within
/// the operand's static size along that axis. It reads x[..., s + j, ...]
/// for result index j: a static slice that a kernel reads at an offset
/// (the gates of a recurrent cell split from one product), and it cannot
/// go out of range.
bool isBlockGather(const Op& op);

/// The fusion's kind, or "" when the attribute is missing or not a string.
std::string fusionKind(const Op& fusion);

/// Checks what is particular to `fusion` (an op of kind Fusion with one
/// region): a known kind, region arguments equal to the operand types, ops
/// allowed by the kind (none has regions), and isolation (every operand of
/// a region op is defined in the region). Reports each problem through
/// `error(at, message)`, `at` being the fusion or the offending region op;
/// returns whether all checks passed. The yield's types are checked by the
/// verifier like any region's.
bool checkFusionRegion(const Op& fusion,
                       const std::function<void(const Op& at, std::string message)>& error);

} // namespace cairn
