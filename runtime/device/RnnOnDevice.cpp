// reverseStepsPermutation and the emulated device's rnn (RnnOnDevice.h).
#include "runtime/device/RnnOnDevice.h"

#include <cstring>

#include "kernels/reference/Rnn.h"
#include "kernels/reference/RnnGrad.h"

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
  HostLayer l(a);
  CAIRN_ASSIGN_OR_RETURN(std::vector<Tensor> r, kernels::rnn(l.cell, false, l.inputs));
  copyOut(r, a.lstm ? std::vector<void*>{a.ys, a.hn, a.cn} : std::vector<void*>{a.ys, a.hn});
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
