// The reference kernel of `rnn` (ir/Ops.def): one direction of an LSTM or GRU
// layer over a padded, sequence-major batch with per-row lengths.
#pragma once

#include <vector>

#include "ir/Status.h"
#include "ir/Tensor.h"

namespace cairn::kernels {

enum class RnnCellKind { Lstm, Gru };

/// The operands of one `rnn` op, in PyTorch's/cuDNN's layout: x [T, B, I],
/// lengths [B] (i32/i64), h0 [B, H], c0 [B, H] (LSTM only; null for GRU),
/// w_ih [G*H, I], w_hh [G*H, H], b_ih and b_hh [G*H].
struct RnnInputs {
  const Tensor* x = nullptr;
  const Tensor* lengths = nullptr;
  const Tensor* h0 = nullptr;
  const Tensor* c0 = nullptr;
  const Tensor* wIh = nullptr;
  const Tensor* wHh = nullptr;
  const Tensor* bIh = nullptr;
  const Tensor* bHh = nullptr;
};

/// The run-time checks `rnn` and `rnn_grad` share (verification cannot do
/// them: `?` dims and the lengths' values): one length per row of x, h0/c0
/// of x's batch (c0 present exactly for LSTM), every length in [0, T].
/// Returns the lengths.
StatusOr<std::vector<int64_t>> checkRnnInputs(RnnCellKind cell, const RnnInputs& in);

/// ys [T, B, H], h_n [B, H] and, for LSTM, c_n [B, H]. A length outside
/// [0, T] is an error naming the row. Rounding, exactly: each product
/// (x_t W_ih^T, h W_hh^T) accumulates in f64 and rounds once to the dtype, as
/// the `dot` kernel; everything else is the elementwise kernels in the
/// dtype, in the order of the formulas of ir/Ops.def (LSTM: (xw + hw) +
/// (b_ih + b_hh); GRU: (xw + b_ih) and (hw + b_hh) first). This is the op
/// sequence expand-rnn emits, so the expansion computes the same bits.
StatusOr<std::vector<Tensor>> rnn(RnnCellKind cell, bool reverse, const RnnInputs& in);

} // namespace cairn::kernels
