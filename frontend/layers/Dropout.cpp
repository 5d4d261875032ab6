// Inverted dropout with an explicit Philox state: a graph that draws random
// numbers returns the advanced state, so reruns (and compiled code) agree.
#include "frontend/layers/Layers.h"

namespace cairn {

std::pair<Val, Val> dropout(Val x, Val rngState, double p, bool training) {
  if (!x.valid() || !rngState.valid()) throw BuildError("dropout: invalid input or state");
  if (!isFloat(x.dtype()))
    throw BuildError(fmt::format("dropout: input {} must be float", x.type().toString()));
  if (rngState.type() != TensorType(DType::I64, {2}))
    throw BuildError(
        fmt::format("dropout: state must be tensor<2xi64>, got {}", rngState.type().toString()));
  if (!(p >= 0 && p < 1)) throw BuildError(fmt::format("dropout: p = {} is not in [0, 1)", p));
  if (!training || p == 0) return {x, rngState};
  Sizes shape;
  for (int64_t d = 0; d < x.rank(); ++d)
    shape.push_back(x.size(d) == kDynamic ? IntOrVal(dim(x, d)) : IntOrVal(x.size(d)));
  RngResult r = x.builder().rngUniform(rngState, x.dtype(), shape);
  Val keep = ge(r.value.named("dropout_u"), p).named("dropout_keep");
  Val kept = x * cast(keep, x.dtype());
  Val y = (kept / (1.0 - p)).named("dropout_out");
  return {y, r.state.named("rng_next")};
}

} // namespace cairn
