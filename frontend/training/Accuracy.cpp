#include "frontend/training/Accuracy.h"

namespace cairn::training {

int64_t argmaxRow(const Tensor& logits, int64_t row) {
  const int64_t classes = logits.shape()[1];
  int64_t best = 0;
  for (int64_t k = 1; k < classes; ++k)
    if (logits.getDouble(row * classes + k) > logits.getDouble(row * classes + best)) best = k;
  return best;
}

int64_t countCorrect(const Tensor& logits, const Tensor& labels) {
  int64_t correct = 0;
  for (int64_t r = 0; r < logits.shape()[0]; ++r)
    correct += argmaxRow(logits, r) == labels.getInt(r);
  return correct;
}

} // namespace cairn::training
