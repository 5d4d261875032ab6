// Padded batches (docs/models.md, "Data encoding") and length bucketing.
// Everything is left-aligned and padded with 0, which is both the <pad>
// token id and the no-op transition, so a zero-filled tensor is the padding.
#include <algorithm>
#include <numeric>

#include "frontend/data/DataInternal.h"

namespace cairn::data {
namespace {

/// Writes `s` into row `row` of tokens [.., N] and transitions [.., T]
/// (row counted over all leading dimensions).
void fillRow(const Sentence& s, int64_t row, const Vocab& vocab, Tensor& tokens,
             Tensor& transitions, Tensor& lengths) {
  const int64_t n = tokens.shape().back(), t = transitions.shape().back();
  int32_t* tok = tokens.data<int32_t>() + row * n;
  for (size_t i = 0; i < s.tokens.size(); ++i)
    tok[i] = vocab.id(s.tokens[i]);
  int32_t* tr = transitions.data<int32_t>() + row * t;
  for (size_t i = 0; i < s.transitions.size(); ++i)
    tr[i] = s.transitions[i];
  lengths.data<int32_t>()[row] = static_cast<int32_t>(s.tokens.size());
}

int64_t size64(size_t n) {
  return static_cast<int64_t>(n);
}

} // namespace

TreeBatch makeTreeBatch(const std::vector<TreeExample>& examples,
                        const std::vector<size_t>& indices, const Vocab& vocab) {
  size_t n = 0, t = 0;
  for (size_t i : indices) {
    CAIRN_CHECK(i < examples.size(), "makeTreeBatch: index {} of {} examples", i, examples.size());
    n = std::max(n, examples[i].sentence.tokens.size());
    t = std::max(t, examples[i].sentence.transitions.size());
  }
  const int64_t b = size64(indices.size());
  TreeBatch batch;
  batch.tokens = Tensor(TensorType(DType::I32, {b, size64(n)}));
  batch.transitions = Tensor(TensorType(DType::I32, {b, size64(t)}));
  batch.lengths = Tensor(TensorType(DType::I32, {b}));
  batch.labels = Tensor(TensorType(DType::I32, {b}));
  for (int64_t row = 0; row < b; ++row) {
    const TreeExample& ex = examples[indices[static_cast<size_t>(row)]];
    fillRow(ex.sentence, row, vocab, batch.tokens, batch.transitions, batch.lengths);
    batch.labels.data<int32_t>()[row] = ex.label;
  }
  batch.indices = indices;
  return batch;
}

NliBatch makeNliBatch(const std::vector<NliExample>& examples, const std::vector<size_t>& indices,
                      const Vocab& vocab) {
  size_t n = 0, t = 0;
  for (size_t i : indices) {
    CAIRN_CHECK(i < examples.size(), "makeNliBatch: index {} of {} examples", i, examples.size());
    for (const Sentence* s : {&examples[i].premise, &examples[i].hypothesis}) {
      n = std::max(n, s->tokens.size());
      t = std::max(t, s->transitions.size());
    }
  }
  const int64_t b = size64(indices.size());
  NliBatch batch;
  batch.tokens = Tensor(TensorType(DType::I32, {2, b, size64(n)}));
  batch.transitions = Tensor(TensorType(DType::I32, {2, b, size64(t)}));
  batch.lengths = Tensor(TensorType(DType::I32, {2, b}));
  batch.labels = Tensor(TensorType(DType::I32, {b}));
  for (int64_t row = 0; row < b; ++row) {
    const NliExample& ex = examples[indices[static_cast<size_t>(row)]];
    fillRow(ex.premise, row, vocab, batch.tokens, batch.transitions, batch.lengths);
    fillRow(ex.hypothesis, b + row, vocab, batch.tokens, batch.transitions, batch.lengths);
    batch.labels.data<int32_t>()[row] = ex.label;
  }
  batch.indices = indices;
  return batch;
}

std::vector<std::vector<size_t>> bucketByLength(const std::vector<int64_t>& lengths,
                                                size_t batchSize, uint64_t seed) {
  CAIRN_CHECK(batchSize > 0, "bucketByLength: batchSize must be positive");
  Rng rng(seed);
  // Fisher-Yates, then a stable sort: equal lengths keep the shuffled order.
  std::vector<size_t> order(lengths.size());
  std::iota(order.begin(), order.end(), size_t{0});
  for (size_t i = order.size(); i > 1; --i)
    std::swap(order[i - 1], order[rng.below(i)]);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return lengths[a] < lengths[b]; });

  std::vector<std::vector<size_t>> batches;
  for (size_t start = 0; start < order.size(); start += batchSize) {
    size_t end = std::min(order.size(), start + batchSize);
    batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(start),
                         order.begin() + static_cast<std::ptrdiff_t>(end));
  }
  for (size_t i = batches.size(); i > 1; --i)
    std::swap(batches[i - 1], batches[rng.below(i)]);
  return batches;
}

} // namespace cairn::data
