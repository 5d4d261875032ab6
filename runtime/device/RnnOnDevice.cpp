// reverseStepsPermutation and the emulated device's rnn (RnnOnDevice.h).
#include "runtime/device/RnnOnDevice.h"

#include <cstring>

#include "kernels/reference/Rnn.h"

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
  const int64_t G = a.lstm ? 4 : 3;
  auto in = [](Shape s, const void* p) {
    return Tensor::borrow(TensorType(DType::F32, std::move(s)), static_cast<const std::byte*>(p));
  };
  std::vector<int64_t> len(a.lengths.begin(), a.lengths.end());
  Tensor lengths = Tensor::fromInts(TensorType(DType::I64, {a.B}), len);
  Tensor x = in({a.T, a.B, a.I}, a.x), h0 = in({a.B, a.H}, a.h0);
  Tensor wIh = in({G * a.H, a.I}, a.wIh), wHh = in({G * a.H, a.H}, a.wHh);
  Tensor bIh = in({G * a.H}, a.bIh), bHh = in({G * a.H}, a.bHh);
  Tensor c0 = a.lstm ? in({a.B, a.H}, a.c0) : Tensor();
  kernels::RnnInputs inputs{&x, &lengths, &h0, a.lstm ? &c0 : nullptr, &wIh, &wHh, &bIh, &bHh};
  CAIRN_ASSIGN_OR_RETURN(
      std::vector<Tensor> r,
      kernels::rnn(a.lstm ? kernels::RnnCellKind::Lstm : kernels::RnnCellKind::Gru, false, inputs));
  void* outs[3] = {a.ys, a.hn, a.cn};
  for (size_t i = 0; i < r.size(); ++i)
    std::memcpy(outs[i], r[i].rawData(), r[i].byteSize());
  return Status::ok();
}

} // namespace cairn::device
