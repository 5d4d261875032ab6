// reverseStepsPermutation and the emulated device's rnn (RnnOnDevice.h).
#include "runtime/device/RnnOnDevice.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "runtime/exec/Gemm.h"

namespace cairn::device {

std::vector<int32_t> reverseStepsPermutation(const std::vector<int32_t>& lengths, int64_t T) {
  const int64_t B = static_cast<int64_t>(lengths.size());
  std::vector<int32_t> p(static_cast<size_t>(T * B));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b) {
      int64_t len = lengths[static_cast<size_t>(b)];
      int64_t from = t < len ? len - 1 - t : t;
      p[static_cast<size_t>(t * B + b)] = static_cast<int32_t>(from * B + b);
    }
  return p;
}

Status rnnOnHost(const RnnArgs& a) {
  // As cuDNN computes it (and unlike the reference kernel, whose f64 scalar
  // products take seconds at benchmark sizes): every step's input
  // projection as one GEMM, then per step one GEMM for the recurrent
  // product and the gates in f32, each row past its length keeping its
  // state and writing zeros.
  const int64_t T = a.T, B = a.B, I = a.I, H = a.H, G = a.lstm ? 4 : 3, GH = G * H;
  if (a.lengths.size() != static_cast<size_t>(B))
    return errorf("rnn: {} lengths for a batch of {}", a.lengths.size(), B);
  for (int32_t len : a.lengths)
    if (len < 0 || len > T) return errorf("rnn: length {} is outside [0, {}]", len, T);
  auto f = [](const void* p) { return static_cast<const float*>(p); };
  const float *bIh = f(a.bIh), *bHh = f(a.bHh);
  std::vector<float> xw(static_cast<size_t>(T * B * GH)), hw(static_cast<size_t>(B * GH));
  CAIRN_RETURN_IF_ERROR(
      exec::runGemmRaw(DType::F32, false, true, {1, T * B, GH, I}, a.x, a.wIh, xw.data()));
  std::vector<float> h(f(a.h0), f(a.h0) + B * H), c(static_cast<size_t>(B * H));
  if (a.lstm) std::copy(f(a.c0), f(a.c0) + B * H, c.begin());
  float* ys = static_cast<float*>(a.ys);
  auto sigmoid = [](float v) { return 1.0f / (1.0f + std::exp(-v)); };
  for (int64_t t = 0; t < T; ++t) {
    CAIRN_RETURN_IF_ERROR(
        exec::runGemmRaw(DType::F32, false, true, {1, B, GH, H}, h.data(), a.wHh, hw.data()));
    for (int64_t b = 0; b < B; ++b) {
      float* y = ys + (t * B + b) * H;
      if (t >= a.lengths[static_cast<size_t>(b)]) {
        std::fill(y, y + H, 0.0f);
        continue;
      }
      const float* gx = xw.data() + (t * B + b) * GH;
      const float* gh = hw.data() + b * GH;
      for (int64_t j = 0; j < H; ++j) {
        float& hj = h[static_cast<size_t>(b * H + j)];
        if (a.lstm) {
          auto pre = [&](int64_t k) {
            return (gx[k * H + j] + gh[k * H + j]) + (bIh[k * H + j] + bHh[k * H + j]);
          };
          float i = sigmoid(pre(0)), fg = sigmoid(pre(1)), g = std::tanh(pre(2)),
                o = sigmoid(pre(3));
          float& cj = c[static_cast<size_t>(b * H + j)];
          cj = fg * cj + i * g;
          hj = o * std::tanh(cj);
        } else {
          auto xs = [&](int64_t k) { return gx[k * H + j] + bIh[k * H + j]; };
          auto hs = [&](int64_t k) { return gh[k * H + j] + bHh[k * H + j]; };
          float r = sigmoid(xs(0) + hs(0)), z = sigmoid(xs(1) + hs(1));
          float n = std::tanh(xs(2) + r * hs(2));
          hj = (1.0f - z) * n + z * hj;
        }
        y[j] = hj;
      }
    }
  }
  std::copy(h.begin(), h.end(), static_cast<float*>(a.hn));
  if (a.lstm) std::copy(c.begin(), c.end(), static_cast<float*>(a.cn));
  return Status::ok();
}

Status rnnBackwardOnHost(const RnnBackwardArgs& g) {
  // As cuDNN's training forward and backward calls compute it: the forward
  // again keeping every step's gates, states and inputs to the recurrent
  // product, then back through time with one GEMM per step for the
  // recurrent adjoint, and the weight gradients and dx as three GEMMs over
  // all steps at the end. The reference kernel (kernels/reference/RnnGrad.h)
  // is the tests' oracle, within f32 rounding.
  const RnnArgs& a = g.forward;
  const int64_t T = a.T, B = a.B, I = a.I, H = a.H, G = a.lstm ? 4 : 3, GH = G * H;
  if (a.lengths.size() != static_cast<size_t>(B))
    return errorf("rnn_grad: {} lengths for a batch of {}", a.lengths.size(), B);
  for (int32_t len : a.lengths)
    if (len < 0 || len > T) return errorf("rnn_grad: length {} is outside [0, {}]", len, T);
  auto f = [](const void* p) { return static_cast<const float*>(p); };
  auto sz = [](int64_t n) { return static_cast<size_t>(n); };
  const float *bIh = f(a.bIh), *bHh = f(a.bHh);
  auto sigmoid = [](float v) { return 1.0f / (1.0f + std::exp(-v)); };
  auto live = [&](int64_t t, int64_t b) { return t < a.lengths[sz(b)]; };

  // The forward, keeping per step: the gates after their activation
  // (LSTM i, f, g, o; GRU r, z, n), the GRU's h W_hn^T + b_hn, the state
  // before the step (h, and c for LSTM) and the LSTM's c after it.
  std::vector<float> xw(sz(T * B * GH)), hw(sz(B * GH)), gates(sz(T * B * GH), 0.0f);
  std::vector<float> hPrev(sz(T * B * H)), cPrev(sz(T * B * H)), cNext(sz(T * B * H));
  std::vector<float> hnPart(a.lstm ? 0 : sz(T * B * H));
  CAIRN_RETURN_IF_ERROR(
      exec::runGemmRaw(DType::F32, false, true, {1, T * B, GH, I}, a.x, a.wIh, xw.data()));
  std::vector<float> h(f(a.h0), f(a.h0) + B * H), c(sz(B * H), 0.0f);
  if (a.lstm) std::copy(f(a.c0), f(a.c0) + B * H, c.begin());
  for (int64_t t = 0; t < T; ++t) {
    std::copy(h.begin(), h.end(), hPrev.begin() + t * B * H);
    std::copy(c.begin(), c.end(), cPrev.begin() + t * B * H);
    CAIRN_RETURN_IF_ERROR(
        exec::runGemmRaw(DType::F32, false, true, {1, B, GH, H}, h.data(), a.wHh, hw.data()));
    for (int64_t b = 0; b < B; ++b) {
      if (!live(t, b)) continue;
      const float* gx = xw.data() + (t * B + b) * GH;
      const float* gh = hw.data() + b * GH;
      float* gt = gates.data() + (t * B + b) * GH;
      for (int64_t j = 0; j < H; ++j) {
        float& hj = h[sz(b * H + j)];
        if (a.lstm) {
          auto pre = [&](int64_t k) {
            return (gx[k * H + j] + gh[k * H + j]) + (bIh[k * H + j] + bHh[k * H + j]);
          };
          gt[j] = sigmoid(pre(0)), gt[H + j] = sigmoid(pre(1));
          gt[2 * H + j] = std::tanh(pre(2)), gt[3 * H + j] = sigmoid(pre(3));
          float& cj = c[sz(b * H + j)];
          cj = gt[H + j] * cj + gt[j] * gt[2 * H + j];
          hj = gt[3 * H + j] * std::tanh(cj);
        } else {
          auto xs = [&](int64_t k) { return gx[k * H + j] + bIh[k * H + j]; };
          auto hs = [&](int64_t k) { return gh[k * H + j] + bHh[k * H + j]; };
          gt[j] = sigmoid(xs(0) + hs(0)), gt[H + j] = sigmoid(xs(1) + hs(1));
          hnPart[sz((t * B + b) * H + j)] = hs(2);
          gt[2 * H + j] = std::tanh(xs(2) + gt[j] * hs(2));
          hj = (1.0f - gt[H + j]) * gt[2 * H + j] + gt[H + j] * hj;
        }
      }
    }
    std::copy(c.begin(), c.end(), cNext.begin() + t * B * H);
  }

  // Back through time: dX and dH, the adjoints of the gates' pre-activations
  // on the input side and on the recurrent side (the same for LSTM; for GRU
  // the n gate's recurrent side is r times its input side).
  std::vector<float> dX(sz(T * B * GH), 0.0f), dH(sz(T * B * GH), 0.0f);
  std::vector<float> dh(f(g.dhn), f(g.dhn) + B * H), dc(sz(B * H), 0.0f), dhPrev(sz(B * H));
  if (a.lstm) std::copy(f(g.dcn), f(g.dcn) + B * H, dc.begin());
  const float* dys = f(g.dys);
  for (int64_t t = T - 1; t >= 0; --t) {
    bool any = false;
    for (int64_t b = 0; b < B; ++b) {
      if (!live(t, b)) continue; // the state passes through untouched
      any = true;
      const float* gt = gates.data() + (t * B + b) * GH;
      float* dx = dX.data() + (t * B + b) * GH;
      float* dr = dH.data() + (t * B + b) * GH;
      for (int64_t j = 0; j < H; ++j) {
        const size_t s = sz(b * H + j), st = sz((t * B + b) * H + j);
        float dhj = dh[s] + dys[st];
        if (a.lstm) {
          float i = gt[j], fg = gt[H + j], gg = gt[2 * H + j], o = gt[3 * H + j];
          float tc = std::tanh(cNext[st]);
          float dct = dc[s] + dhj * o * (1.0f - tc * tc);
          dx[j] = dct * gg * i * (1.0f - i);
          dx[H + j] = dct * cPrev[st] * fg * (1.0f - fg);
          dx[2 * H + j] = dct * i * (1.0f - gg * gg);
          dx[3 * H + j] = dhj * tc * o * (1.0f - o);
          for (int64_t k = 0; k < 4; ++k)
            dr[k * H + j] = dx[k * H + j];
          dc[s] = dct * fg;
          dh[s] = 0.0f; // the recurrent product's adjoint is added below
        } else {
          float r = gt[j], z = gt[H + j], n = gt[2 * H + j];
          float dn = dhj * (1.0f - z) * (1.0f - n * n);
          dx[2 * H + j] = dn;
          dr[2 * H + j] = dn * r;
          float drr = dn * hnPart[st] * r * (1.0f - r);
          float dz = dhj * (hPrev[st] - n) * z * (1.0f - z);
          dx[j] = dr[j] = drr;
          dx[H + j] = dr[H + j] = dz;
          dh[s] = dhj * z;
        }
      }
    }
    if (!any) continue;
    // dh_prev += dH_t W_hh, [B, GH] x [GH, H] (rows past their length have
    // zero gate adjoints: their dh passes through).
    CAIRN_RETURN_IF_ERROR(exec::runGemmRaw(DType::F32, false, false, {1, B, H, GH},
                                           dH.data() + t * B * GH, a.wHh, dhPrev.data()));
    for (size_t s = 0; s < dh.size(); ++s)
      dh[s] += dhPrev[s];
  }
  std::copy(dh.begin(), dh.end(), static_cast<float*>(g.dh0));
  if (a.lstm) std::copy(dc.begin(), dc.end(), static_cast<float*>(g.dc0));
  // dx = dX W_ih; dW_ih = dX^T x; dW_hh = dH^T h_prev; the biases' column sums.
  CAIRN_RETURN_IF_ERROR(
      exec::runGemmRaw(DType::F32, false, false, {1, T * B, I, GH}, dX.data(), a.wIh, g.dx));
  CAIRN_RETURN_IF_ERROR(
      exec::runGemmRaw(DType::F32, true, false, {1, GH, I, T * B}, dX.data(), a.x, g.dwIh));
  CAIRN_RETURN_IF_ERROR(exec::runGemmRaw(DType::F32, true, false, {1, GH, H, T * B}, dH.data(),
                                         hPrev.data(), g.dwHh));
  float* dbIh = static_cast<float*>(g.dbIh);
  float* dbHh = static_cast<float*>(g.dbHh);
  std::fill(dbIh, dbIh + GH, 0.0f);
  std::fill(dbHh, dbHh + GH, 0.0f);
  for (int64_t r = 0; r < T * B; ++r)
    for (int64_t k = 0; k < GH; ++k) {
      dbIh[k] += dX[sz(r * GH + k)];
      dbHh[k] += dH[sz(r * GH + k)];
    }
  return Status::ok();
}

} // namespace cairn::device
