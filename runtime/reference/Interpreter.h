// The reference interpreter: executes IR op by op with the simple kernels of
// kernels/reference. It is the oracle every compiled path, pass and gradient
// is tested against, so it stays simple and obviously right; speed lives
// elsewhere.
//
// Thread-safety: interpret() keeps all state on its own stack; concurrent
// calls on the same (unmodified) Module are safe.
#pragma once

#include <string_view>
#include <vector>

#include "ir/IR.h"
#include "ir/Status.h"
#include "ir/Tensor.h"
#include "runtime/RunLimits.h"

namespace cairn {

struct InterpreterOptions {
  /// Bound on the iterations of a `while` without a max_trip operand
  /// (0 = unbounded). A loop that passes it is an error, not a hang.
  int64_t defaultMaxTrip = 0;
  /// Deadline, cancellation (checked before every op) and memory cap (here
  /// per value: no value may pass it, and one whose size comes from data is
  /// checked before it is made; the interpreter does not track the total it
  /// holds, the executors cap that).
  RunLimits limits;
};

/// Runs `f` on `inputs`. Inputs are checked against the signature (count,
/// dtype, static dims; dynamic dims take the input's size). Errors
/// ("file:line:col: error: '<op>' op <what>") name the failing op: a while
/// past its max trip count, an index out of range, a reshape whose element
/// counts disagree, integer division by zero, ...
StatusOr<std::vector<Tensor>> interpret(const Function& f, const std::vector<Tensor>& inputs,
                                        const InterpreterOptions& opts = {});
StatusOr<std::vector<Tensor>> interpret(const Module& m, std::string_view function,
                                        const std::vector<Tensor>& inputs,
                                        const InterpreterOptions& opts = {});

/// Evaluates one op given its operand values (constant folding uses it).
/// Ops with regions and calls are evaluated too (call needs the op to sit in
/// a module).
StatusOr<std::vector<Tensor>> evaluateOp(const Op& op, const std::vector<Tensor>& operands,
                                         const InterpreterOptions& opts = {});

} // namespace cairn
