// Composites written with core ops: softmax, log-softmax, cross-entropy and
// accuracy. Both softmaxes subtract the row max first, so large logits do not
// overflow exp. The max goes through stop_gradient: the result does not
// depend on it mathematically, and autodiff then needs no reduce_max VJP.
#include "frontend/layers/Layers.h"

namespace cairn {
namespace {

Val meanOverRows(Val perRow) {
  Val n = cast(dim(perRow, 0), perRow.dtype());
  return reduceSum(perRow, {0}) / n;
}

void checkLogitsLabels(const char* what, const Val& logits, const Val& labels) {
  if (!logits.valid() || !labels.valid() || logits.rank() != 2 || labels.rank() != 1 ||
      !isFloat(logits.dtype()) || !isInteger(labels.dtype()) ||
      !dimsCompatible(logits.size(0), labels.size(0)))
    throw BuildError(fmt::format("{}: needs float logits [B, C] and integer labels [B], got {} "
                                 "and {}",
                                 what, logits.valid() ? logits.type().toString() : "nothing",
                                 labels.valid() ? labels.type().toString() : "nothing"));
}

} // namespace

Val softmax(Val x, int64_t axis) {
  Val m = stopGradient(reduceMax(x, {axis}, /*keepDims=*/true)).named("row_max");
  Val e = exp(x - m).named("exp");
  Val s = reduceSum(e, {axis}, true).named("exp_sum");
  return (e / s).named("softmax");
}

Val logSoftmax(Val x, int64_t axis) {
  Val m = stopGradient(reduceMax(x, {axis}, /*keepDims=*/true)).named("row_max");
  Val shifted = (x - m).named("shifted");
  Val s = reduceSum(exp(shifted), {axis}, true);
  return (shifted - log(s)).named("log_softmax");
}

Val crossEntropyPerRow(Val logits, Val labels) {
  checkLogitsLabels("crossEntropy", logits, labels);
  Val lp = logSoftmax(logits, -1);
  return neg(gather(lp, labels, /*axis=*/1, /*batchDims=*/1)).named("row_cross_entropy");
}

Val crossEntropy(Val logits, Val labels) {
  return meanOverRows(crossEntropyPerRow(logits, labels)).named("cross_entropy");
}

Val reinforceSurrogate(Val logProb, Val reward, Val baseline) {
  if (!logProb.valid() || logProb.rank() != 1 || !reward.valid() || reward.type() != logProb.type())
    throw BuildError("reinforceSurrogate: logProb and reward must be [B] of one float type");
  Val advantage = stopGradient(reward - baseline).named("advantage");
  return neg(meanOverRows(advantage * logProb)).named("policy_surrogate");
}

Val accuracy(Val logits, Val labels) {
  checkLogitsLabels("accuracy", logits, labels);
  Val pred = argmax(logits, -1, labels.dtype()).named("prediction");
  Val hit = cast(eq(pred, labels), DType::F32);
  return meanOverRows(hit).named("accuracy");
}

} // namespace cairn
