// The `rnn` reference kernel: the recurrence written with the other
// reference kernels, one time step at a time over the whole batch, so its
// rounding is by construction that of the loop expand-rnn builds (Rnn.h).
// Rows past their length compute a step whose result is discarded (a
// select), as in the loop; what they compute never reaches a result.
#include "kernels/reference/Rnn.h"

#include "kernels/reference/Dot.h"
#include "kernels/reference/Elementwise.h"
#include "kernels/reference/Indexing.h"
#include "kernels/reference/KernelUtil.h"
#include "kernels/reference/Shape.h"

namespace cairn::kernels {
namespace {

/// Columns [k*H, (k+1)*H) of a [B, G*H] tensor: gate k.
StatusOr<Tensor> gate(const Tensor& all, int64_t k, int64_t H) {
  int64_t B = all.shape()[0];
  return slice(all, {0, k * H}, {B, (k + 1) * H}, {});
}

Tensor splat(DType dtype, const Shape& shape, double v) {
  Tensor t(TensorType(dtype, shape));
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.setDouble(i, v);
  return t;
}

} // namespace

StatusOr<std::vector<int64_t>> checkRnnInputs(RnnCellKind cell, const RnnInputs& in) {
  const Tensor& x = *in.x;
  const int64_t T = x.shape()[0], B = x.shape()[1], H = in.h0->shape()[1];
  if ((cell == RnnCellKind::Lstm) != (in.c0 != nullptr))
    return errorf("an LSTM takes an initial cell state c0 and a GRU none");
  // Dynamic dims unify at verification, but at run time they may disagree.
  if (in.lengths->numElements() != B)
    return errorf("has {} lengths for a batch of {} (x is {})", in.lengths->numElements(), B,
                  shapeStr(x.shape()));
  for (const Tensor* state : {in.h0, in.c0})
    if (state && state->shape() != Shape{B, H})
      return errorf("initial state {} does not match x's batch of {} (x is {})",
                    shapeStr(state->shape()), B, shapeStr(x.shape()));
  std::vector<int64_t> len = in.lengths->toInts();
  for (int64_t b = 0; b < B; ++b)
    if (len[b] < 0 || len[b] > T)
      return errorf("length {} of row {} is outside [0, {}] (T, the padded length)", len[b], b, T);
  return len;
}

StatusOr<std::vector<Tensor>> rnn(RnnCellKind cell, bool reverse, const RnnInputs& in) {
  const bool lstm = cell == RnnCellKind::Lstm;
  const Tensor& x = *in.x;
  const DType dt = x.dtype();
  const int64_t T = x.shape()[0], B = x.shape()[1], I = x.shape()[2];
  const int64_t H = in.h0->shape()[1], G = lstm ? 4 : 3;
  CAIRN_ASSIGN_OR_RETURN(std::vector<int64_t> len, checkRnnInputs(cell, in));

  // x_t W^T: contract x_t's dim 1 with W's dim 1 ([G*H, in] as stored).
  DotDims byRows;
  byRows.lhsContract = {1};
  byRows.rhsContract = {1};
  auto rowsOf = [&](const Tensor& v) { return broadcast(v, {1}, {B, G * H}); };
  Tensor bias; // LSTM: b_ih + b_hh, broadcast over the batch
  Tensor bIh, bHh;
  if (lstm) {
    CAIRN_ASSIGN_OR_RETURN(Tensor sum, binary(OpKind::Add, *in.bIh, *in.bHh));
    CAIRN_ASSIGN_OR_RETURN(bias, rowsOf(sum));
  } else {
    CAIRN_ASSIGN_OR_RETURN(bIh, rowsOf(*in.bIh));
    CAIRN_ASSIGN_OR_RETURN(bHh, rowsOf(*in.bHh));
  }
  const Tensor zeros = splat(dt, {B, H}, 0.0), ones = splat(dt, {B, H}, 1.0);
  Tensor h = *in.h0, c = lstm ? *in.c0 : Tensor();
  Tensor ys = splat(dt, {T, B, H}, 0.0);
  for (int64_t s = 0; s < T; ++s) {
    const int64_t t = reverse ? T - 1 - s : s;
    CAIRN_ASSIGN_OR_RETURN(Tensor xt3, slice(x, {t, 0, 0}, {t + 1, B, I}, {}));
    CAIRN_ASSIGN_OR_RETURN(Tensor xt, reshape(xt3, {B, I}));
    CAIRN_ASSIGN_OR_RETURN(Tensor xw, dot(xt, *in.wIh, byRows));
    CAIRN_ASSIGN_OR_RETURN(Tensor hw, dot(h, *in.wHh, byRows));
    Tensor hNew, cNew;
    if (lstm) {
      CAIRN_ASSIGN_OR_RETURN(Tensor pre, binary(OpKind::Add, xw, hw));
      CAIRN_ASSIGN_OR_RETURN(Tensor gates, binary(OpKind::Add, pre, bias));
      CAIRN_ASSIGN_OR_RETURN(Tensor gi, gate(gates, 0, H));
      CAIRN_ASSIGN_OR_RETURN(Tensor gf, gate(gates, 1, H));
      CAIRN_ASSIGN_OR_RETURN(Tensor gg, gate(gates, 2, H));
      CAIRN_ASSIGN_OR_RETURN(Tensor go, gate(gates, 3, H));
      CAIRN_ASSIGN_OR_RETURN(Tensor i, unary(OpKind::Sigmoid, gi));
      CAIRN_ASSIGN_OR_RETURN(Tensor f, unary(OpKind::Sigmoid, gf));
      CAIRN_ASSIGN_OR_RETURN(Tensor g, unary(OpKind::Tanh, gg));
      CAIRN_ASSIGN_OR_RETURN(Tensor o, unary(OpKind::Sigmoid, go));
      CAIRN_ASSIGN_OR_RETURN(Tensor keep, binary(OpKind::Mul, f, c));
      CAIRN_ASSIGN_OR_RETURN(Tensor write, binary(OpKind::Mul, i, g));
      CAIRN_ASSIGN_OR_RETURN(cNew, binary(OpKind::Add, keep, write));
      CAIRN_ASSIGN_OR_RETURN(Tensor tc, unary(OpKind::Tanh, cNew));
      CAIRN_ASSIGN_OR_RETURN(hNew, binary(OpKind::Mul, o, tc));
    } else {
      CAIRN_ASSIGN_OR_RETURN(Tensor gx, binary(OpKind::Add, xw, bIh));
      CAIRN_ASSIGN_OR_RETURN(Tensor gh, binary(OpKind::Add, hw, bHh));
      Tensor xg[3], hg[3];
      for (int64_t k = 0; k < 3; ++k) {
        CAIRN_ASSIGN_OR_RETURN(xg[k], gate(gx, k, H));
        CAIRN_ASSIGN_OR_RETURN(hg[k], gate(gh, k, H));
      }
      CAIRN_ASSIGN_OR_RETURN(Tensor rs, binary(OpKind::Add, xg[0], hg[0]));
      CAIRN_ASSIGN_OR_RETURN(Tensor r, unary(OpKind::Sigmoid, rs));
      CAIRN_ASSIGN_OR_RETURN(Tensor zs, binary(OpKind::Add, xg[1], hg[1]));
      CAIRN_ASSIGN_OR_RETURN(Tensor z, unary(OpKind::Sigmoid, zs));
      CAIRN_ASSIGN_OR_RETURN(Tensor rn, binary(OpKind::Mul, r, hg[2]));
      CAIRN_ASSIGN_OR_RETURN(Tensor ns, binary(OpKind::Add, xg[2], rn));
      CAIRN_ASSIGN_OR_RETURN(Tensor n, unary(OpKind::Tanh, ns));
      CAIRN_ASSIGN_OR_RETURN(Tensor oneMinusZ, binary(OpKind::Sub, ones, z));
      CAIRN_ASSIGN_OR_RETURN(Tensor fresh, binary(OpKind::Mul, oneMinusZ, n));
      CAIRN_ASSIGN_OR_RETURN(Tensor kept, binary(OpKind::Mul, z, h));
      CAIRN_ASSIGN_OR_RETURN(hNew, binary(OpKind::Add, fresh, kept));
    }
    // Rows at or past their length keep their state and emit zeros.
    Tensor live(TensorType(DType::I1, {B, H}));
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < H; ++j)
        live.setInt(b * H + j, t < len[b] ? 1 : 0);
    CAIRN_ASSIGN_OR_RETURN(Tensor emitted, select(live, hNew, zeros));
    CAIRN_ASSIGN_OR_RETURN(h, select(live, hNew, h));
    if (lstm) {
      CAIRN_ASSIGN_OR_RETURN(c, select(live, cNew, c));
    }
    CAIRN_ASSIGN_OR_RETURN(Tensor row, reshape(emitted, {1, B, H}));
    CAIRN_ASSIGN_OR_RETURN(ys, dynamicUpdateSlice(ys, row, {t, 0, 0}));
  }
  std::vector<Tensor> out{std::move(ys), std::move(h)};
  if (lstm) out.push_back(std::move(c));
  return out;
}

} // namespace cairn::kernels
