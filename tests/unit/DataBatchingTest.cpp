// Vocabulary ids, padded batch tensors (shapes, left alignment, zero
// padding, premise/hypothesis layout) and length bucketing (deterministic,
// every index exactly once, batches of similar length), on toy and real data.
#include <algorithm>
#include <set>

#include <gtest/gtest.h>

#include "DataTestUtil.h"
#include "frontend/data/Dataset.h"

namespace cairn::data {
namespace {

constexpr int8_t S = kShift, R = kReduce;

Sentence sentence(const std::string& text) {
  auto s = parseBinaryTree(text);
  EXPECT_TRUE(s.isOk()) << text << ": " << s.status().message();
  return s.isOk() ? *s : Sentence{};
}

TEST(DataVocab, IdsByCountThenBytes) {
  Sentence a = sentence("( ( the cat ) ( sat ( on ( the mat ) ) ) )");
  Sentence b = sentence("( ( The cat ) sat )");
  Vocab v = Vocab::build({&a, &b});
  // counts: cat 2, sat 2, the 2, The 1, mat 1, on 1; ties in byte order ('T' < 'm' < 'o').
  std::vector<std::string> expected = {"<pad>", "<unk>", "cat", "sat", "the", "The", "mat", "on"};
  ASSERT_EQ(v.size(), static_cast<int64_t>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(v.token(static_cast<int32_t>(i)), expected[i]);
    if (i >= 2) {
      EXPECT_EQ(v.id(expected[i]), static_cast<int32_t>(i));
    }
  }
  EXPECT_EQ(v.id("dog"), 1);
  EXPECT_EQ(v.id(""), 1);
  EXPECT_EQ(v.id("<unk>"), 1);
  EXPECT_EQ(v.id("<pad>"), 1); // text never maps to the pad id
}

TEST(DataVocab, MinCountAndReservedNames) {
  Sentence a = sentence("( ( a a ) ( <pad> ( b <unk> ) ) )");
  Vocab v = Vocab::build({&a}, 2);
  ASSERT_EQ(v.size(), 3);
  EXPECT_EQ(v.token(2), "a");
  EXPECT_EQ(v.id("b"), 1);
  EXPECT_EQ(Vocab::build({}).size(), 2);
}

TEST(DataVocab, NonAsciiTiesInByteOrder) {
  Sentence a = sentence("( ( \xc3\xa9t\xc3\xa9 zoo ) ( Zed abc ) )");
  Vocab v = Vocab::build({&a});
  EXPECT_EQ(v.token(2), "Zed");
  EXPECT_EQ(v.token(3), "abc");
  EXPECT_EQ(v.token(4), "zoo");
  EXPECT_EQ(v.token(5), "\xc3\xa9t\xc3\xa9"); // UTF-8 lead bytes sort after ASCII
}

TEST(DataBatch, TreeBatchShapesAndPadding) {
  std::vector<TreeExample> examples(3);
  examples[0].sentence = sentence("( a b )");
  examples[0].label = 4;
  examples[1].sentence = sentence("( ( a c ) ( b a ) )");
  examples[1].label = 0;
  examples[2].sentence = sentence("c");
  examples[2].label = 2;
  std::vector<const Sentence*> all = {&examples[0].sentence, &examples[1].sentence};
  Vocab v = Vocab::build(all); // a 3, b 2, c 1 -> ids 2, 3, 4
  TreeBatch batch = makeTreeBatch(examples, {2, 0, 1}, v);
  EXPECT_EQ(batch.tokens.type(), TensorType(DType::I32, {3, 4}));
  EXPECT_EQ(batch.transitions.type(), TensorType(DType::I32, {3, 7}));
  EXPECT_EQ(batch.lengths.type(), TensorType(DType::I32, {3}));
  EXPECT_EQ(batch.labels.type(), TensorType(DType::I32, {3}));
  EXPECT_EQ(batch.tokens.toInts(), (std::vector<int64_t>{4, 0, 0, 0, 2, 3, 0, 0, 2, 4, 3, 2}));
  EXPECT_EQ(batch.transitions.toInts(),
            (std::vector<int64_t>{S, 0, 0, 0, 0, 0, 0, S, S, R, 0, 0, 0, 0, S, S, R, S, S, R, R}));
  EXPECT_EQ(batch.lengths.toInts(), (std::vector<int64_t>{1, 2, 4}));
  EXPECT_EQ(batch.labels.toInts(), (std::vector<int64_t>{2, 4, 0}));
  EXPECT_EQ(batch.indices, (std::vector<size_t>{2, 0, 1}));

  TreeBatch empty = makeTreeBatch(examples, {}, v);
  EXPECT_EQ(empty.tokens.type(), TensorType(DType::I32, {0, 0}));
  EXPECT_EQ(empty.labels.type(), TensorType(DType::I32, {0}));
}

TEST(DataBatch, NliBatchSharesNAndTAcrossPremiseAndHypothesis) {
  std::vector<NliExample> examples(2);
  examples[0].premise = sentence("( a b )");
  examples[0].hypothesis = sentence("( ( a b ) ( b a ) )");
  examples[0].label = 2;
  examples[1].premise = sentence("( b ( a b ) )");
  examples[1].hypothesis = sentence("zzz");
  examples[1].label = 1;
  std::vector<const Sentence*> all;
  for (const NliExample& ex : examples) {
    all.push_back(&ex.premise);
    all.push_back(&ex.hypothesis);
  }
  Vocab v = Vocab::build(all); // b 5, a 4, zzz 1 -> 2, 3, 4
  NliBatch batch = makeNliBatch(examples, {0, 1}, v);
  EXPECT_EQ(batch.tokens.type(), TensorType(DType::I32, {2, 2, 4}));
  EXPECT_EQ(batch.transitions.type(), TensorType(DType::I32, {2, 2, 7}));
  EXPECT_EQ(batch.lengths.type(), TensorType(DType::I32, {2, 2}));
  EXPECT_EQ(batch.tokens.toInts(), (std::vector<int64_t>{3, 2, 0, 0, 2, 3, 2, 0,    // premises
                                                         3, 2, 2, 3, 4, 0, 0, 0})); // hypotheses
  EXPECT_EQ(batch.transitions.toInts(),
            (std::vector<int64_t>{S, S, R, 0, 0, 0, 0, S, S, S, R, R, 0, 0,
                                  S, S, R, S, S, R, R, S, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(batch.lengths.toInts(), (std::vector<int64_t>{2, 3, 4, 1}));
  EXPECT_EQ(batch.labels.toInts(), (std::vector<int64_t>{2, 1}));
}

/// Checks that `batches` partition 0..n-1 and that batches are cut from the
/// length-sorted order: every batch's lengths lie between its neighbours'.
void expectValidBuckets(const std::vector<std::vector<size_t>>& batches,
                        const std::vector<int64_t>& lengths, size_t batchSize) {
  std::vector<size_t> seen;
  std::vector<std::pair<int64_t, int64_t>> ranges;
  size_t small = 0;
  for (const auto& b : batches) {
    ASSERT_FALSE(b.empty());
    ASSERT_LE(b.size(), batchSize);
    small += b.size() < batchSize;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i : b) {
      seen.push_back(i);
      lo = std::min(lo, lengths[i]);
      hi = std::max(hi, lengths[i]);
    }
    ranges.emplace_back(lo, hi);
  }
  EXPECT_LE(small, 1u);
  std::sort(seen.begin(), seen.end());
  std::vector<size_t> all(lengths.size());
  for (size_t i = 0; i < all.size(); ++i)
    all[i] = i;
  EXPECT_EQ(seen, all);
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    EXPECT_LE(ranges[i - 1].second, ranges[i].first);
}

TEST(DataBucket, DeterministicPartitionOfSimilarLengths) {
  std::vector<int64_t> lengths;
  uint32_t x = 7;
  for (int i = 0; i < 1003; ++i) {
    x = x * 1103515245u + 12345u;
    lengths.push_back(1 + (x >> 16) % 40);
  }
  auto a = bucketByLength(lengths, 32, 11);
  auto b = bucketByLength(lengths, 32, 11);
  auto c = bucketByLength(lengths, 32, 12);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(a.size(), 32u); // ceil(1003 / 32)
  expectValidBuckets(a, lengths, 32);
  expectValidBuckets(c, lengths, 32);
}

TEST(DataBucket, TiesAreShuffledAndEdgeCases) {
  std::vector<int64_t> same(64, 5);
  auto a = bucketByLength(same, 64, 1);
  ASSERT_EQ(a.size(), 1u);
  std::vector<size_t> identity(64);
  for (size_t i = 0; i < 64; ++i)
    identity[i] = i;
  EXPECT_NE(a[0], identity); // equal lengths come in seeded random order
  EXPECT_TRUE(bucketByLength({}, 8, 1).empty());
  auto one = bucketByLength({3, 1, 2}, 100, 0);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0], (std::vector<size_t>{1, 2, 0}));
}

TEST(DataBucket, SnliDevBatches) {
  CAIRN_REQUIRE_DATA("snli/snli_1.0_dev.jsonl.gz");
  auto examples = readSnli(testing::sharedDataDir() + "/snli/snli_1.0_dev.jsonl.gz");
  ASSERT_TRUE(examples.isOk()) << examples.status().message();
  std::vector<const Sentence*> sentences;
  std::vector<int64_t> lengths;
  for (const NliExample& ex : *examples) {
    sentences.push_back(&ex.premise);
    sentences.push_back(&ex.hypothesis);
    lengths.push_back(
        static_cast<int64_t>(std::max(ex.premise.tokens.size(), ex.hypothesis.tokens.size())));
  }
  Vocab vocab = Vocab::build(sentences);
  std::printf("[ vocab    ] SNLI dev: %lld types\n", static_cast<long long>(vocab.size()));
  auto batches = bucketByLength(lengths, 64, 3);
  expectValidBuckets(batches, lengths, 64);
  for (const auto& indices : batches) {
    NliBatch batch = makeNliBatch(*examples, indices, vocab);
    int64_t n = batch.tokens.shape()[2];
    ASSERT_EQ(batch.transitions.shape()[2], 2 * n - 1);
    for (int64_t len : batch.lengths.toInts())
      ASSERT_TRUE(len >= 1 && len <= n);
  }
}

} // namespace
} // namespace cairn::data
