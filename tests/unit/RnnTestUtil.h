// One `rnn` op as a function, and random operands for it: shared by the
// op's tests on the interpreter and the CPU executor (RnnOpTest) and on the
// device (DeviceRnnTest).
#pragma once

#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "frontend/Builder.h"
#include "ir/IR.h"
#include "ir/Tensor.h"

namespace cairn::rnntest {

struct RnnCase {
  bool lstm = true, reverse = false;
  DType dtype = DType::F32, lengthType = DType::I32;
  int64_t T = 3, B = 2, I = 2, H = 3;
  bool dynamicT = false, dynamicB = false;
};

inline std::string describe(const RnnCase& c) {
  return fmt::format("{} {} {} T={}{} B={}{} I={} H={} lengths {}", c.lstm ? "lstm" : "gru",
                     c.reverse ? "reverse" : "forward", dtypeName(c.dtype), c.T,
                     c.dynamicT ? "(?)" : "", c.B, c.dynamicB ? "(?)" : "", c.I, c.H,
                     dtypeName(c.lengthType));
}

/// @f(x, lengths, h0, [c0,] w_ih, w_hh, b_ih, b_hh) -> (ys, h_n, [c_n]): one rnn op.
inline Function* buildRnnFunction(Module& m, const RnnCase& c) {
  const int64_t T = c.dynamicT ? kDynamic : c.T, B = c.dynamicB ? kDynamic : c.B;
  const int64_t G = c.lstm ? 4 : 3;
  std::vector<TensorType> args{TensorType(c.dtype, {T, B, c.I}), TensorType(c.lengthType, {B}),
                               TensorType(c.dtype, {B, c.H})};
  if (c.lstm) args.push_back(TensorType(c.dtype, {B, c.H}));
  for (Shape s : {Shape{G * c.H, c.I}, Shape{G * c.H, c.H}, Shape{G * c.H}, Shape{G * c.H}})
    args.push_back(TensorType(c.dtype, s));
  FunctionBuilder fb(m, "f", args);
  size_t w = c.lstm ? 4 : 3;
  RnnResult r = rnn(c.lstm ? RnnCell::Lstm : RnnCell::Gru, fb.arg(0), fb.arg(1), fb.arg(2),
                    c.lstm ? fb.arg(3) : Val(), fb.arg(w), fb.arg(w + 1), fb.arg(w + 2),
                    fb.arg(w + 3), c.reverse);
  ValueList out{r.ys, r.h};
  if (c.lstm) out.push_back(r.c);
  return fb.ret(out);
}

/// Random inputs for `c` (values in [-1.5, 1.5], so gates saturate some);
/// lengths in [0, T] with 0 and T present when B allows.
inline std::vector<Tensor> randomInputs(const RnnCase& c, std::mt19937& gen) {
  std::uniform_real_distribution<double> u(-1.5, 1.5);
  auto random = [&](Shape s) {
    Tensor t(TensorType(c.dtype, s));
    for (int64_t i = 0; i < t.numElements(); ++i)
      t.setDouble(i, u(gen));
    return t;
  };
  const int64_t G = c.lstm ? 4 : 3;
  std::vector<int64_t> lengths(c.B);
  std::uniform_int_distribution<int64_t> len(0, c.T);
  for (int64_t b = 0; b < c.B; ++b)
    lengths[b] = b == 0 ? c.T : b == 1 ? 0 : len(gen);
  std::vector<Tensor> in{random({c.T, c.B, c.I}),
                         Tensor::fromInts(TensorType(c.lengthType, {c.B}), lengths),
                         random({c.B, c.H})};
  if (c.lstm) in.push_back(random({c.B, c.H}));
  for (Shape s : {Shape{G * c.H, c.I}, Shape{G * c.H, c.H}, Shape{G * c.H}, Shape{G * c.H}})
    in.push_back(random(s));
  return in;
}

} // namespace cairn::rnntest
