// ONNX losses and masks: NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss
// (log-softmax then the same NLL), Trilu.
//
// NLL picks, for each target, the input's entry at the target class: the
// class axis (1) moves last, the other dims flatten into rows, and a gather
// with batch_dims = 1 takes one entry per row. ignore_index rows get a safe
// index (0), then a zero weight: they add nothing to the loss and nothing to
// the mean's denominator, as the spec's reference does.
#include "frontend/layers/Layers.h"
#include "frontend/onnx/OnnxInternal.h"

namespace cairn::onnx_import {
namespace {

Val nll(NodeContext& c, const Val& logp, const Val& target, std::optional<Val> weight) {
  FunctionBuilder& b = c.b;
  std::string reduction = c.attrString("reduction", "mean");
  if (reduction != "mean" && reduction != "sum" && reduction != "none")
    throw InvalidModel(fmt::format("unknown reduction '{}'", reduction));
  if (logp.rank() < 2 || target.rank() != logp.rank() - 1)
    throw InvalidModel(fmt::format("input {} and target {} do not fit", logp.type().toString(),
                                   target.type().toString()));
  int64_t r = logp.rank();
  Val moved = moveAxis(logp, 1, r - 1);
  Sizes rows;
  for (int64_t d = 0; d < r - 1; ++d)
    rows.push_back(sizeOf(moved, d));
  IntOrVal m = productOf(b, rows);
  Val flat = reshape(moved, {m, sizeOf(moved, r - 1)});
  Val t = reshape(cast(target, DType::I64), {m});
  std::optional<Val> keep;
  if (c.hasAttr("ignore_index")) {
    keep = ne(t, static_cast<double>(c.attrInt("ignore_index", 0)));
    t = select(*keep, t, 0);
  }
  Val loss = neg(gather(flat, t, 1, 1));
  std::optional<Val> w;
  if (weight) w = gather(*weight, t, 0);
  if (keep) {
    Val k = cast(*keep, logp.dtype());
    w = w ? *w * k : k;
  }
  if (w) loss = loss * *w;
  if (reduction == "none") return reshape(loss, sizesOf(target));
  Val total = reduceSum(loss, {0});
  if (reduction == "sum") return total;
  if (w) return total / reduceSum(*w, {0});
  return total / cast(b.intValue(m), logp.dtype());
}

ValueList nllLoss(NodeContext& c) {
  std::optional<Val> w;
  if (c.hasInput(2)) w = c.input(2);
  return {nll(c, c.input(0), c.input(1), w)};
}

ValueList softmaxCrossEntropy(NodeContext& c) {
  Val logp = logSoftmax(c.input(0), 1);
  std::optional<Val> w;
  if (c.hasInput(2)) w = c.input(2);
  return {nll(c, logp, c.input(1), w), logp};
}

ValueList trilu(NodeContext& c) {
  Val x = c.input(0);
  if (x.rank() < 2) throw InvalidModel("Trilu needs rank 2 or more");
  FunctionBuilder& b = c.b;
  Val k = c.hasInput(1) ? toScalar(c.input(1), DType::I64) : b.scalar(0, DType::I64);
  Sizes s = sizesOf(x);
  Val row = b.iota(DType::I64, s, x.rank() - 2), col = b.iota(DType::I64, s, x.rank() - 1);
  Val diag = col - row;
  Val keep = c.attrInt("upper", 1) ? ge(diag, k) : le(diag, k);
  return {select(keep, x, 0)};
}

} // namespace

void registerLossOps(ConverterTable& t) {
  t["NegativeLogLikelihoodLoss"] = nllLoss;
  t["SoftmaxCrossEntropyLoss"] = softmaxCrossEntropy;
  t["Trilu"] = trilu;
}

} // namespace cairn::onnx_import
