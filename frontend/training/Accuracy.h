// Classifier accuracy from logits: the one definition the tools share
// (cairn-train's evaluation, cairn-spinn).
#pragma once

#include <cstdint>

#include "ir/Tensor.h"

namespace cairn::training {

/// The class with the largest logit in row `row` of logits [B, C] (the
/// first of equal ones).
int64_t argmaxRow(const Tensor& logits, int64_t row);

/// Rows of logits [B, C] whose argmax equals labels [B].
int64_t countCorrect(const Tensor& logits, const Tensor& labels);

} // namespace cairn::training
