// The `rnn_grad` reference kernel: backpropagation through time, one row of
// the batch at a time, in f64. Unlike the forward kernel (Rnn.cpp), which is
// built from the other kernels so that its rounding matches expand-rnn's loop
// bit for bit, this one is the oracle for a fused backward (cuDNN's), whose
// rounding no IR sequence reproduces anyway: it keeps everything in f64 and
// rounds each result once, which makes it at least as accurate as either.
//
// Rows are independent in an RNN (the batch only shares the weights), so the
// forward is recomputed and then undone row by row; a row only ever visits
// its own steps 0 .. lengths[b]-1, which is how "steps past the length do not
// exist" is honoured without masks.
#include "kernels/reference/RnnGrad.h"

#include <cmath>

#include "kernels/reference/KernelUtil.h"

namespace cairn::kernels {
namespace {

double sigmoid(double v) { return v >= 0 ? 1 / (1 + std::exp(-v)) : std::exp(v) / (1 + std::exp(v)); }

/// A row-major [rows, cols] f64 matrix.
struct Mat {
  int64_t rows = 0, cols = 0;
  std::vector<double> v;
  Mat(int64_t r, int64_t c) : rows(r), cols(c), v(static_cast<size_t>(r * c), 0.0) {}
  double* row(int64_t r) { return v.data() + r * cols; }
  const double* row(int64_t r) const { return v.data() + r * cols; }
};

Mat matOf(const Tensor& t, int64_t rows, int64_t cols) {
  Mat m(rows, cols);
  m.v = t.toDoubles();
  return m;
}

/// out[g] = sum_k w[g][k] * in[k] + bias[g]: one gate pre-activation block.
void affine(const Mat& w, const double* in, const double* bias, double* out) {
  for (int64_t g = 0; g < w.rows; ++g) {
    double s = bias[g];
    const double* wr = w.row(g);
    for (int64_t k = 0; k < w.cols; ++k)
      s += wr[k] * in[k];
    out[g] = s;
  }
}

/// The pullback of affine(): dIn += da^T w, dW += da in^T, dBias += da.
void affineBack(const Mat& w, const double* in, const double* da, double* dIn, Mat& dW,
                double* dBias) {
  for (int64_t g = 0; g < w.rows; ++g) {
    const double d = da[g];
    if (d == 0) continue;
    const double* wr = w.row(g);
    double* dwr = dW.row(g);
    for (int64_t k = 0; k < w.cols; ++k) {
      dIn[k] += d * wr[k];
      dwr[k] += d * in[k];
    }
    dBias[g] += d;
  }
}

Tensor tensorOf(DType dt, const Shape& shape, const std::vector<double>& v) {
  return Tensor::fromDoubles(TensorType(dt, shape), v);
}

} // namespace

StatusOr<std::vector<Tensor>> rnnGrad(RnnCellKind cell, bool reverse, const RnnInputs& in,
                                      const RnnResultAdjoints& adj) {
  const bool lstm = cell == RnnCellKind::Lstm;
  const Tensor& x = *in.x;
  const DType dt = x.dtype();
  const int64_t T = x.shape()[0], B = x.shape()[1], I = x.shape()[2];
  const int64_t H = in.h0->shape()[1], G = lstm ? 4 : 3;
  CAIRN_ASSIGN_OR_RETURN(std::vector<int64_t> len, checkRnnInputs(cell, in));
  // The adjoints' `?` dims, like the operands', may disagree at run time.
  if (adj.dYs->shape() != Shape{T, B, H})
    return errorf("d_ys is {}, expected {} for x {}", shapeStr(adj.dYs->shape()),
                  shapeStr(Shape{T, B, H}), shapeStr(x.shape()));
  if (lstm != (adj.dCn != nullptr))
    return errorf("an LSTM's gradient takes d_cn and a GRU's none");
  for (const Tensor* state : {adj.dHn, adj.dCn})
    if (state && state->shape() != Shape{B, H})
      return errorf("state adjoint {} does not match x's batch of {} (x is {})",
                    shapeStr(state->shape()), B, shapeStr(x.shape()));
  // Static at verification; checked so that a direct call cannot read past them.
  if (in.wIh->shape() != Shape{G * H, I} || in.wHh->shape() != Shape{G * H, H} ||
      in.bIh->shape() != Shape{G * H} || in.bHh->shape() != Shape{G * H})
    return errorf("weights {}, {}, {}, {} do not fit I = {}, H = {}", shapeStr(in.wIh->shape()),
                  shapeStr(in.wHh->shape()), shapeStr(in.bIh->shape()), shapeStr(in.bHh->shape()),
                  I, H);

  const std::vector<double> xs = x.toDoubles(), dys = adj.dYs->toDoubles();
  const std::vector<double> h0 = in.h0->toDoubles(), dhn = adj.dHn->toDoubles();
  const std::vector<double> c0 = lstm ? in.c0->toDoubles() : std::vector<double>();
  const std::vector<double> dcn = lstm ? adj.dCn->toDoubles() : std::vector<double>();
  const Mat wIh = matOf(*in.wIh, G * H, I), wHh = matOf(*in.wHh, G * H, H);
  const std::vector<double> bIh = in.bIh->toDoubles(), bHh = in.bHh->toDoubles();

  std::vector<double> dx(static_cast<size_t>(T * B * I), 0.0);
  std::vector<double> dh0(static_cast<size_t>(B * H), 0.0);
  std::vector<double> dc0(static_cast<size_t>(lstm ? B * H : 0), 0.0);
  Mat dWIh(G * H, I), dWHh(G * H, H);
  std::vector<double> dBIh(static_cast<size_t>(G * H), 0.0), dBHh(dBIh);

  // Per row and step, what the backward reads: the state entering the step
  // and the gate activations (lstm: i, f, g, o, then tanh(c'); gru: r, z,
  // n, then h W_hn^T + b_hn, which r scales).
  const int64_t perStep = lstm ? 5 * H : 4 * H;
  for (int64_t b = 0; b < B; ++b) {
    const int64_t L = len[b];
    auto timeOf = [&](int64_t s) { return reverse ? L - 1 - s : s; }; // the s-th step run
    auto xAt = [&](int64_t t) { return xs.data() + (t * B + b) * I; };
    std::vector<double> hIn(static_cast<size_t>(L * H));
    std::vector<double> cIn(static_cast<size_t>(lstm ? L * H : 0));
    std::vector<double> acts(static_cast<size_t>(L * perStep));
    std::vector<double> h(h0.begin() + b * H, h0.begin() + (b + 1) * H);
    std::vector<double> c = lstm ? std::vector<double>(c0.begin() + b * H, c0.begin() + (b + 1) * H)
                                 : std::vector<double>();
    std::vector<double> ax(static_cast<size_t>(G * H)), ah(static_cast<size_t>(G * H));
    for (int64_t s = 0; s < L; ++s) {
      const int64_t t = timeOf(s);
      std::copy(h.begin(), h.end(), hIn.begin() + s * H);
      double* a = acts.data() + s * perStep;
      if (lstm) {
        std::copy(c.begin(), c.end(), cIn.begin() + s * H);
        affine(wIh, xAt(t), bIh.data(), ax.data());
        affine(wHh, h.data(), bHh.data(), ah.data());
        for (int64_t j = 0; j < H; ++j) {
          const double i = sigmoid(ax[j] + ah[j]), f = sigmoid(ax[H + j] + ah[H + j]);
          const double g = std::tanh(ax[2 * H + j] + ah[2 * H + j]);
          const double o = sigmoid(ax[3 * H + j] + ah[3 * H + j]);
          const double cNew = f * c[j] + i * g, tc = std::tanh(cNew);
          a[j] = i, a[H + j] = f, a[2 * H + j] = g, a[3 * H + j] = o, a[4 * H + j] = tc;
          c[j] = cNew;
          h[j] = o * tc;
        }
      } else {
        affine(wIh, xAt(t), bIh.data(), ax.data());
        affine(wHh, h.data(), bHh.data(), ah.data());
        for (int64_t j = 0; j < H; ++j) {
          const double r = sigmoid(ax[j] + ah[j]), z = sigmoid(ax[H + j] + ah[H + j]);
          const double n = std::tanh(ax[2 * H + j] + r * ah[2 * H + j]);
          a[j] = r, a[H + j] = z, a[2 * H + j] = n, a[3 * H + j] = ah[2 * H + j];
          h[j] = (1 - z) * n + z * h[j];
        }
      }
    }

    // Backward: dh/dc are the adjoints of the state after step s.
    std::vector<double> dh(dhn.begin() + b * H, dhn.begin() + (b + 1) * H);
    std::vector<double> dc = lstm ? std::vector<double>(dcn.begin() + b * H, dcn.begin() + (b + 1) * H)
                                  : std::vector<double>();
    std::vector<double> dax(static_cast<size_t>(G * H)), dah(static_cast<size_t>(G * H));
    std::vector<double> dhPrev(static_cast<size_t>(H));
    for (int64_t s = L - 1; s >= 0; --s) {
      const int64_t t = timeOf(s);
      const double* a = acts.data() + s * perStep;
      const double* hp = hIn.data() + s * H;
      for (int64_t j = 0; j < H; ++j)
        dh[j] += dys[(t * B + b) * H + j];
      if (lstm) {
        const double* cp = cIn.data() + s * H;
        for (int64_t j = 0; j < H; ++j) {
          const double i = a[j], f = a[H + j], g = a[2 * H + j], o = a[3 * H + j];
          const double tc = a[4 * H + j];
          const double dct = dc[j] + dh[j] * o * (1 - tc * tc);
          dax[j] = dct * g * i * (1 - i);
          dax[H + j] = dct * cp[j] * f * (1 - f);
          dax[2 * H + j] = dct * i * (1 - g * g);
          dax[3 * H + j] = dh[j] * tc * o * (1 - o);
          dc[j] = dct * f;
          dhPrev[j] = 0;
        }
        std::copy(dax.begin(), dax.end(), dah.begin()); // both products see the same gates
      } else {
        for (int64_t j = 0; j < H; ++j) {
          const double r = a[j], z = a[H + j], n = a[2 * H + j], hn = a[3 * H + j];
          const double dn = dh[j] * (1 - z) * (1 - n * n);
          const double dr = dn * hn * r * (1 - r);
          const double dz = dh[j] * (hp[j] - n) * z * (1 - z);
          dax[j] = dah[j] = dr;
          dax[H + j] = dah[H + j] = dz;
          dax[2 * H + j] = dn;
          dah[2 * H + j] = dn * r;
          dhPrev[j] = dh[j] * z;
        }
      }
      affineBack(wIh, xAt(t), dax.data(), dx.data() + (t * B + b) * I, dWIh, dBIh.data());
      affineBack(wHh, hp, dah.data(), dhPrev.data(), dWHh, dBHh.data());
      dh.swap(dhPrev);
    }
    std::copy(dh.begin(), dh.end(), dh0.begin() + b * H);
    if (lstm) std::copy(dc.begin(), dc.end(), dc0.begin() + b * H);
  }

  std::vector<Tensor> out;
  out.push_back(tensorOf(dt, x.shape(), dx));
  out.push_back(tensorOf(dt, {B, H}, dh0));
  if (lstm) out.push_back(tensorOf(dt, {B, H}, dc0));
  out.push_back(tensorOf(dt, in.wIh->shape(), dWIh.v));
  out.push_back(tensorOf(dt, in.wHh->shape(), dWHh.v));
  out.push_back(tensorOf(dt, in.bIh->shape(), dBIh));
  out.push_back(tensorOf(dt, in.bHh->shape(), dBHh));
  return out;
}

} // namespace cairn::kernels
