// Data for the models: SNLI (jsonl, optionally gzip), SST (PTB trees),
// ListOps (generated, or read as `label<TAB>parse`), vocabularies, and
// padded batches bucketed by length. Encodings follow docs/models.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/Status.h"
#include "ir/Tensor.h"

namespace cairn::data {

enum Transition : int8_t { kPad = 0, kShift = 1, kReduce = 2 };

/// A binary-parsed sentence: tokens and the shift/reduce sequence building
/// its tree (2 * tokens - 1 transitions).
struct Sentence {
  std::vector<std::string> tokens;
  std::vector<int8_t> transitions;
};

struct NliExample {
  Sentence premise, hypothesis;
  int label = 0;     ///< 0 entailment, 1 neutral, 2 contradiction
  int64_t line = 0;  ///< 1-based line in the source file
};

struct TreeExample {
  Sentence sentence;
  int label = 0;     ///< SST root label 0-4; ListOps value 0-9
  int64_t line = 0;
};

/// What to do with a malformed line: skip it (recording a warning with its
/// line number) or reject the whole file with an error naming the line.
struct ReadOptions {
  bool skipMalformed = false;
  std::vector<std::string>* warnings = nullptr;
};

/// SNLI 1.0 jsonl (`.jsonl` or `.jsonl.gz`); uses the binary parses; drops
/// pairs whose gold_label is `-`.
StatusOr<std::vector<NliExample>> readSnli(const std::string& path, const ReadOptions& opts = {});
/// SST PTB trees, one per line; tokens split on ASCII spaces only.
StatusOr<std::vector<TreeExample>> readSst(const std::string& path, const ReadOptions& opts = {});
/// ListOps `label<TAB>parse` lines (parse with `(`, `)` and tokens).
StatusOr<std::vector<TreeExample>> readListOps(const std::string& path,
                                               const ReadOptions& opts = {});
/// Parses a binary tree written with `(`, `)` and space-separated tokens.
StatusOr<Sentence> parseBinaryTree(const std::string& text);

struct ListOpsConfig {
  int maxDepth = 4;      ///< nesting depth of lists
  int maxArgs = 5;       ///< arguments per list (>= 2)
  int maxLength = 60;    ///< tokens per example (longer draws are redrawn)
  int minLength = 3;
};
/// `count` ListOps examples (Nangia & Bowman 2018), deterministic in `seed`.
std::vector<TreeExample> generateListOps(const ListOpsConfig& cfg, uint64_t seed, size_t count);
/// The value of a ListOps token sequence (for checking labels).
StatusOr<int> evaluateListOps(const std::vector<std::string>& tokens);

/// Token -> id: 0 <pad>, 1 <unk>, then by descending count, ties by bytes.
class Vocab {
public:
  static Vocab build(const std::vector<const Sentence*>& sentences, int64_t minCount = 1);
  int32_t id(const std::string& token) const;
  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }
  const std::string& token(int32_t id) const { return tokens_.at(static_cast<size_t>(id)); }

private:
  std::vector<std::string> tokens_;
  std::vector<std::pair<std::string, int32_t>> sortedIds_;
};

/// Padded batch of sentences: tokens [B, N] i32, transitions [B, T] i32,
/// lengths [B] i32, labels [B] i32 (N, T = the batch's maxima).
struct TreeBatch {
  Tensor tokens, transitions, lengths, labels;
  std::vector<size_t> indices; ///< into the example list
};
/// SNLI batch: tokens [2, B, N], transitions [2, B, T], lengths [2, B]
/// (0 = premise, 1 = hypothesis), labels [B].
struct NliBatch {
  Tensor tokens, transitions, lengths, labels;
  std::vector<size_t> indices;
};

TreeBatch makeTreeBatch(const std::vector<TreeExample>& examples,
                        const std::vector<size_t>& indices, const Vocab& vocab);
NliBatch makeNliBatch(const std::vector<NliExample>& examples, const std::vector<size_t>& indices,
                      const Vocab& vocab);

/// Groups example indices into batches of similar length: sorts by length
/// with a seeded shuffle among equal lengths, cuts batches of `batchSize`,
/// then shuffles the batch order with `seed`. Deterministic.
std::vector<std::vector<size_t>> bucketByLength(const std::vector<int64_t>& lengths,
                                                size_t batchSize, uint64_t seed);

} // namespace cairn::data
