// Clip by norm as a graph with a data-dependent `if` (see DataDependentIf.h).
#include "frontend/models/DataDependentIf.h"

#include <cmath>

namespace cairn {

Function* buildClipByNorm(Module& m, int64_t size, double maxNorm, const std::string& name) {
  FunctionBuilder fb(m, name, {TensorType(DType::F32, {size})}, {"x"});
  Val x = fb.arg(0);
  Val norm = sqrt(reduceSum(x * x, {0})).named("norm");
  Val tooLong = gt(norm, maxNorm).named("too_long");
  ValueList y = fb.ifElse(
      tooLong, [&] { return ValueList{(x * (maxNorm / norm)).named("clipped")}; },
      [&] { return ValueList{x}; });
  return fb.ret({y[0].named("y")});
}

Tensor clipByNormReference(const Tensor& x, double maxNorm) {
  const float* px = x.data<float>();
  float sum = 0;
  for (int64_t i = 0; i < x.numElements(); ++i)
    sum += px[i] * px[i];
  float norm = std::sqrt(sum);
  if (!(norm > static_cast<float>(maxNorm))) return x;
  Tensor y(x.type());
  float scale = static_cast<float>(maxNorm) / norm;
  for (int64_t i = 0; i < x.numElements(); ++i)
    y.data<float>()[i] = px[i] * scale;
  return y;
}

} // namespace cairn
