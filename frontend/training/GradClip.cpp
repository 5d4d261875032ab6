// Global-norm gradient clipping as IR (formula and precision in GradClip.h).
#include "frontend/training/GradClip.h"

#include <fmt/format.h>

namespace cairn::training {

Val globalNorm(FunctionBuilder& fb, const ValueList& grads) {
  Val total = fb.scalar(0.0, DType::F64);
  for (size_t i = 0; i < grads.size(); ++i) {
    Val g = grads[i];
    if (!isFloat(g.dtype()))
      throw BuildError(fmt::format("global norm: gradient {} is {}, not a float tensor", i,
                                   g.type().toString()));
    if (g.dtype() == DType::F16 || g.dtype() == DType::BF16) g = cast(g, DType::F32);
    std::vector<int64_t> dims;
    for (int64_t d = 0; d < g.rank(); ++d)
      dims.push_back(d);
    Val sq = g * g;
    total = total + cast(dims.empty() ? sq : reduceSum(sq, dims), DType::F64);
  }
  return sqrt(total).named("grad_norm");
}

ClippedGrads clipByGlobalNorm(FunctionBuilder& fb, const ValueList& grads, double maxNorm,
                              double eps) {
  if (!(maxNorm > 0))
    throw BuildError(fmt::format("clip by global norm: max norm {} must be > 0", maxNorm));
  Val norm = globalNorm(fb, grads);
  Val scale = min(maxNorm / (norm + eps), 1.0);
  ClippedGrads out;
  for (const Val& g : grads)
    out.grads.push_back(g * cast(scale, g.dtype()));
  out.norm = cast(norm, DType::F32).named("grad_norm");
  return out;
}

} // namespace cairn::training
