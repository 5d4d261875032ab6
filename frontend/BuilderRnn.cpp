// The builder's `rnn` helper: one op per direction of an LSTM/GRU layer.
#include "frontend/BuilderInternal.h"

namespace cairn {

RnnResult rnn(RnnCell cell, Val x, Val lengths, Val h0, Val c0, Val wIh, Val wHh, Val bIh, Val bHh,
              bool reverse) {
  const bool lstm = cell == RnnCell::Lstm;
  checkValid("rnn", x, "x");
  checkValid("rnn", lengths, "lengths");
  checkValid("rnn", h0, "h0");
  if (lstm) checkValid("rnn", c0, "c0 (an LSTM needs an initial cell state)");
  if (!lstm && c0.valid()) throw BuildError("'rnn' op: a GRU takes no c0; pass Val()");
  checkValid("rnn", wIh, "w_ih");
  checkValid("rnn", wHh, "w_hh");
  checkValid("rnn", bIh, "b_ih");
  checkValid("rnn", bHh, "b_hh");
  ValueList operands{x, lengths, h0};
  if (lstm) operands.push_back(c0);
  operands.insert(operands.end(), {wIh, wHh, bIh, bHh});
  AttrMap attrs{{"cell", std::string(lstm ? "lstm" : "gru")},
                {"reverse", int64_t{reverse ? 1 : 0}}};
  ValueList r = x.builder().create(OpKind::Rnn, operands, std::move(attrs));
  return {r[0], r[1], lstm ? r[2] : Val()};
}

} // namespace cairn
