// reverseStepsPermutation and the emulated device's rnn (RnnOnDevice.h).
#include "runtime/device/RnnOnDevice.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/reference/Rnn.h"
#include "kernels/reference/RnnGrad.h"
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

Tensor borrowed(Shape s, const void* p) {
  return Tensor::borrow(TensorType(DType::F32, std::move(s)), static_cast<const std::byte*>(p));
}

/// A layer's operands as the reference kernels take them, borrowed.
struct HostLayer {
  explicit HostLayer(const RnnArgs& a) {
    const int64_t G = a.lstm ? 4 : 3;
    std::vector<int64_t> len(a.lengths.begin(), a.lengths.end());
    lengths = Tensor::fromInts(TensorType(DType::I64, {a.B}), len);
    x = borrowed({a.T, a.B, a.I}, a.x), h0 = borrowed({a.B, a.H}, a.h0);
    wIh = borrowed({G * a.H, a.I}, a.wIh), wHh = borrowed({G * a.H, a.H}, a.wHh);
    bIh = borrowed({G * a.H}, a.bIh), bHh = borrowed({G * a.H}, a.bHh);
    if (a.lstm) c0 = borrowed({a.B, a.H}, a.c0);
    inputs = {&x, &lengths, &h0, a.lstm ? &c0 : nullptr, &wIh, &wHh, &bIh, &bHh};
    cell = a.lstm ? kernels::RnnCellKind::Lstm : kernels::RnnCellKind::Gru;
  }
  Tensor x, lengths, h0, c0, wIh, wHh, bIh, bHh;
  kernels::RnnInputs inputs;
  kernels::RnnCellKind cell;
};

void copyOut(const std::vector<Tensor>& results, const std::vector<void*>& to) {
  for (size_t i = 0; i < results.size() && i < to.size(); ++i)
    std::memcpy(to[i], results[i].rawData(), results[i].byteSize());
}

} // namespace

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
  const RnnArgs& a = g.forward;
  HostLayer l(a);
  Tensor dys = borrowed({a.T, a.B, a.H}, g.dys), dhn = borrowed({a.B, a.H}, g.dhn);
  Tensor dcn = a.lstm ? borrowed({a.B, a.H}, g.dcn) : Tensor();
  kernels::RnnResultAdjoints adj{&dys, &dhn, a.lstm ? &dcn : nullptr};
  CAIRN_ASSIGN_OR_RETURN(std::vector<Tensor> r, kernels::rnnGrad(l.cell, false, l.inputs, adj));
  std::vector<void*> to{g.dx, g.dh0};
  if (a.lstm) to.push_back(g.dc0);
  to.insert(to.end(), {g.dwIh, g.dwHh, g.dbIh, g.dbHh});
  copyOut(r, to);
  return Status::ok();
}

} // namespace cairn::device
