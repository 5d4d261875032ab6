// Internal to the reference interpreter: evaluation of one op without regions
// (everything but while, if, call and the terminators), given its operand
// values. It maps the op's attributes and dynamic size operands onto the
// kernels of kernels/reference.
#pragma once

#include <string_view>
#include <vector>

#include "ir/IR.h"
#include "ir/Status.h"
#include "ir/Tensor.h"

namespace cairn::interp {

/// The op's results. Errors carry only the "<what>" part; the caller adds
/// "<loc>: error: '<op>' op ". A result whose size comes from data and
/// passes `maxBytes` (0: no cap) or int64 is kResourceExhausted.
StatusOr<std::vector<Tensor>> evalSimpleOp(const Op& op, const std::vector<const Tensor*>& operands,
                                           int64_t maxBytes = 0);

/// Whether an `rnn` / `rnn_grad` op is an LSTM layer (cell = "lstm").
bool isLstmRnn(const Op& op);

/// operands[first, first + count) read as scalar indices (i32/i64 scalars;
/// a message naming the operand otherwise): dynamic_slice's and
/// dynamic_update_slice's starts, for the interpreter and the executor.
StatusOr<std::vector<int64_t>> readIndices(const std::vector<const Tensor*>& operands,
                                           size_t first, size_t count);

/// `declared` with each `?` dim replaced by the next dynamic size operand,
/// taken from operands[first...]; exactly one operand per `?` must remain.
/// The resulting byte size must fit int64 and `maxBytes` (0: no cap), else
/// kResourceExhausted.
StatusOr<Shape> resolveDynamicShape(const TensorType& declared,
                                    const std::vector<const Tensor*>& operands, size_t first,
                                    int64_t maxBytes = 0);

/// Whether a run-time tensor fits a declared type: same dtype and rank, and
/// every static dim equal. Returns a message describing the mismatch, or "".
std::string typeMismatch(const TensorType& declared, const TensorType& actual);

/// The error of a `while` past its trip bound, with the op's location:
/// `maxTrip` from its max_trip operand (`fromOperand`) or else from the
/// default of `runner` ("interpreter", "executor"). The one wording the
/// interpreter and both executors (through exec::maxTripExceeded) report.
Status maxTripExceeded(const Op& op, int64_t maxTrip, bool fromOperand, std::string_view runner);

} // namespace cairn::interp
