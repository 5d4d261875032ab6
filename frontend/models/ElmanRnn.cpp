// The Elman RNN as a graph (see ElmanRnn.h) and its hand-written oracle.
#include "frontend/models/ElmanRnn.h"

#include <cmath>

namespace cairn {

Function* buildElmanRnn(Module& m, int64_t batch, int64_t inputSize, int64_t hiddenSize,
                        const std::string& name) {
  if (batch <= 0 || inputSize <= 0 || hiddenSize <= 0)
    throw BuildError(fmt::format("elman_rnn: sizes must be positive (batch {}, input {}, "
                                 "hidden {})",
                                 batch, inputSize, hiddenSize));
  const DType f32 = DType::F32;
  FunctionBuilder fb(m, name,
                     {TensorType(f32, {kDynamic, batch, inputSize}),
                      TensorType(f32, {batch, hiddenSize}),
                      TensorType(f32, {inputSize, hiddenSize}),
                      TensorType(f32, {hiddenSize, hiddenSize}), TensorType(f32, {hiddenSize})},
                     {"xs", "h0", "wx", "wh", "b"});
  Val xs = fb.arg(0), h0 = fb.arg(1), wx = fb.arg(2), wh = fb.arg(3), b = fb.arg(4);

  Val steps = dim(xs, 0).named("steps");
  Val zero = fb.scalar(0, DType::I64).named("zero");
  // The trip count doubles as max_trip: the bound costs nothing here and
  // documents that the loop runs exactly `steps` times.
  ValueList out = fb.whileLoop(
      {zero, h0}, [&](const ValueList& c) { return lt(c[0], steps).named("go"); },
      [&](const ValueList& c) {
        Val t = c[0].named("t"), h = c[1].named("h");
        Val x = sliceAt(xs, t).named("x");
        // Separate statements: C++ leaves the order of operands unspecified,
        // and the printed IR should read in the formula's order.
        Val xw = matmul(x, wx).named("xw");
        Val hw = matmul(h, wh).named("hw");
        Val h1 = tanh(xw + hw + b).named("h_next");
        return ValueList{(t + 1).named("t_next"), h1};
      },
      steps);
  return fb.ret({out[1].named("h_last")});
}

Tensor elmanRnnReference(const Tensor& xs, const Tensor& h0, const Tensor& wx, const Tensor& wh,
                         const Tensor& b) {
  const int64_t steps = xs.shape()[0], batch = xs.shape()[1], in = xs.shape()[2];
  const int64_t hidden = h0.shape()[1];
  const float* x = xs.data<float>();
  const float* pwx = wx.data<float>();
  const float* pwh = wh.data<float>();
  const float* pb = b.data<float>();
  Tensor h = h0;
  for (int64_t t = 0; t < steps; ++t) {
    Tensor next(h.type());
    for (int64_t i = 0; i < batch; ++i) {
      for (int64_t j = 0; j < hidden; ++j) {
        float xw = 0, hw = 0;
        for (int64_t k = 0; k < in; ++k)
          xw += x[(t * batch + i) * in + k] * pwx[k * hidden + j];
        for (int64_t k = 0; k < hidden; ++k)
          hw += h.data<float>()[i * hidden + k] * pwh[k * hidden + j];
        next.data<float>()[i * hidden + j] = std::tanh(xw + hw + pb[j]);
      }
    }
    h = next;
  }
  return h;
}

} // namespace cairn
