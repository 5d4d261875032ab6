// The reference kernel of `rnn_grad` (ir/Ops.def): the adjoints of one `rnn`
// layer's operands, given the adjoints of its results.
#pragma once

#include <vector>

#include "ir/Status.h"
#include "ir/Tensor.h"
#include "kernels/reference/Rnn.h"

namespace cairn::kernels {

/// The adjoints of an `rnn` op's results: d_ys [T, B, H], d_hn [B, H] and,
/// for LSTM, d_cn [B, H] (null for GRU).
struct RnnResultAdjoints {
  const Tensor* dYs = nullptr;
  const Tensor* dHn = nullptr;
  const Tensor* dCn = nullptr;
};

/// dx [T, B, I], dh0 [B, H], dc0 [B, H] (LSTM only), dw_ih, dw_hh, db_ih,
/// db_hh, each of its operand's shape and dtype. Recomputes the forward
/// keeping every step's gates and states, then back-propagates through time
/// per row, honouring lengths as `rnn` does: steps t >= lengths[b] do not
/// exist (their d_ys is ignored and their dx is 0) and a length-0 row passes
/// d_hn/d_cn through to dh0/dc0. Everything is computed in f64 and each
/// result rounds once to the dtype, so it is close to, not bit-equal with,
/// the gradient of the expanded loop. A length outside [0, T] or adjoints
/// whose shapes disagree with the layer are errors.
StatusOr<std::vector<Tensor>> rnnGrad(RnnCellKind cell, bool reverse, const RnnInputs& in,
                                      const RnnResultAdjoints& adj);

} // namespace cairn::kernels
