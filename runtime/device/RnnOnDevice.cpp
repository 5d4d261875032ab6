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

namespace {

size_t sz(int64_t n) { return static_cast<size_t>(n); }
const float* f32(const void* p) { return static_cast<const float*>(p); }
float sigmoid(float v) { return 1.0f / (1.0f + std::exp(-v)); }

/// What the training forward keeps per step for the backward: the gates
/// after their activation (LSTM i, f, g, o; GRU r, z, n), the state before
/// the step (h, and c for LSTM), the LSTM's c after it, the GRU's
/// h W_hn^T + b_hn.
struct Kept {
  std::vector<float> gates, hPrev, cPrev, cNext, hnPart;
};

Status checkLengths(const RnnArgs& a, const char* op) {
  if (a.lengths.size() != static_cast<size_t>(a.B))
    return errorf("{}: {} lengths for a batch of {}", op, a.lengths.size(), a.B);
  for (int32_t len : a.lengths)
    if (len < 0 || len > a.T) return errorf("{}: length {} is outside [0, {}]", op, len, a.T);
  return Status::ok();
}

/// The layer forward as cuDNN computes it (and unlike the reference kernel,
/// whose f64 scalar products take seconds at benchmark sizes): every step's
/// input projection as one GEMM, then per step one GEMM for the recurrent
/// product and the gates in f32, each row past its length keeping its
/// state. Writes ys (zeros past a row's length) when given, the final
/// states when given, and what the backward needs into `keep` when given.
Status forwardOnHost(const RnnArgs& a, float* ys, float* hn, float* cn, Kept* keep) {
  const int64_t T = a.T, B = a.B, I = a.I, H = a.H, G = a.lstm ? 4 : 3, GH = G * H;
  const float *bIh = f32(a.bIh), *bHh = f32(a.bHh);
  std::vector<float> xw(sz(T * B * GH)), hw(sz(B * GH)), gt(sz(GH));
  CAIRN_RETURN_IF_ERROR(
      exec::runGemmRaw(DType::F32, false, true, {1, T * B, GH, I}, a.x, a.wIh, xw.data()));
  std::vector<float> h(f32(a.h0), f32(a.h0) + B * H), c(sz(B * H), 0.0f);
  if (a.lstm) std::copy(f32(a.c0), f32(a.c0) + B * H, c.begin());
  if (keep) {
    keep->gates.assign(sz(T * B * GH), 0.0f);
    keep->hPrev.resize(sz(T * B * H));
    keep->cPrev.resize(sz(T * B * H));
    keep->cNext.resize(sz(T * B * H));
    keep->hnPart.assign(a.lstm ? 0 : sz(T * B * H), 0.0f);
  }
  for (int64_t t = 0; t < T; ++t) {
    if (keep) {
      std::copy(h.begin(), h.end(), keep->hPrev.begin() + t * B * H);
      std::copy(c.begin(), c.end(), keep->cPrev.begin() + t * B * H);
    }
    CAIRN_RETURN_IF_ERROR(
        exec::runGemmRaw(DType::F32, false, true, {1, B, GH, H}, h.data(), a.wHh, hw.data()));
    for (int64_t b = 0; b < B; ++b) {
      float* y = ys ? ys + (t * B + b) * H : nullptr;
      if (t >= a.lengths[sz(b)]) {
        if (y) std::fill(y, y + H, 0.0f);
        continue;
      }
      const float* gx = xw.data() + (t * B + b) * GH;
      const float* gh = hw.data() + b * GH;
      float* g = keep ? keep->gates.data() + (t * B + b) * GH : gt.data();
      for (int64_t j = 0; j < H; ++j) {
        float& hj = h[sz(b * H + j)];
        if (a.lstm) {
          auto pre = [&](int64_t k) {
            return (gx[k * H + j] + gh[k * H + j]) + (bIh[k * H + j] + bHh[k * H + j]);
          };
          g[j] = sigmoid(pre(0)), g[H + j] = sigmoid(pre(1));
          g[2 * H + j] = std::tanh(pre(2)), g[3 * H + j] = sigmoid(pre(3));
          float& cj = c[sz(b * H + j)];
          cj = g[H + j] * cj + g[j] * g[2 * H + j];
          hj = g[3 * H + j] * std::tanh(cj);
        } else {
          auto xs = [&](int64_t k) { return gx[k * H + j] + bIh[k * H + j]; };
          auto hs = [&](int64_t k) { return gh[k * H + j] + bHh[k * H + j]; };
          g[j] = sigmoid(xs(0) + hs(0)), g[H + j] = sigmoid(xs(1) + hs(1));
          if (keep) keep->hnPart[sz((t * B + b) * H + j)] = hs(2);
          g[2 * H + j] = std::tanh(xs(2) + g[j] * hs(2));
          hj = (1.0f - g[H + j]) * g[2 * H + j] + g[H + j] * hj;
        }
        if (y) y[j] = hj;
      }
    }
    if (keep) std::copy(c.begin(), c.end(), keep->cNext.begin() + t * B * H);
  }
  if (hn) std::copy(h.begin(), h.end(), hn);
  if (cn && a.lstm) std::copy(c.begin(), c.end(), cn);
  return Status::ok();
}

} // namespace

Status rnnOnHost(const RnnArgs& a) {
  CAIRN_RETURN_IF_ERROR(checkLengths(a, "rnn"));
  return forwardOnHost(a, static_cast<float*>(a.ys), static_cast<float*>(a.hn),
                       static_cast<float*>(a.cn), nullptr);
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
  CAIRN_RETURN_IF_ERROR(checkLengths(a, "rnn_grad"));
  Kept kept;
  CAIRN_RETURN_IF_ERROR(forwardOnHost(a, nullptr, nullptr, nullptr, &kept));
  const std::vector<float>& gates = kept.gates;
  const std::vector<float>& hPrev = kept.hPrev;
  const std::vector<float>& cPrev = kept.cPrev;
  const std::vector<float>& cNext = kept.cNext;
  const std::vector<float>& hnPart = kept.hnPart;
  auto live = [&](int64_t t, int64_t b) { return t < a.lengths[sz(b)]; };

  // Back through time: dX and dH, the adjoints of the gates' pre-activations
  // on the input side and on the recurrent side (the same for LSTM; for GRU
  // the n gate's recurrent side is r times its input side).
  std::vector<float> dX(sz(T * B * GH), 0.0f), dH(sz(T * B * GH), 0.0f);
  std::vector<float> dh(f32(g.dhn), f32(g.dhn) + B * H), dc(sz(B * H), 0.0f), dhPrev(sz(B * H));
  if (a.lstm) std::copy(f32(g.dcn), f32(g.dcn) + B * H, dc.begin());
  const float* dys = f32(g.dys);
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
