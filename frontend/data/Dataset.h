// Data for the models: SNLI (jsonl, optionally gzip), SST (PTB trees),
// ListOps (generated, or read as `label<TAB>parse`), vocabularies, and
// padded batches bucketed by length. Encodings follow docs/models.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
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
/// Either way the message reads `path:LINE: what`. Blank lines are ignored.
/// A file that cannot be read (missing, or gzip data that is corrupt or
/// truncated) is an error in both modes: it is not one line's fault.
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
/// The inverse of parseBinaryTree: `( ( a b ) c )`; a one-token sentence is
/// the bare token. Fails on invalid transitions or unwritable tokens (empty,
/// `(`, `)`, or containing a space).
StatusOr<std::string> formatBinaryTree(const Sentence& sentence);
/// Ok when `transitions` is a valid shift-reduce sequence over `tokens`: only
/// SHIFT/REDUCE, one SHIFT per token, REDUCE only with two items on the stack,
/// one item left at the end (hence 2 * tokens - 1 steps, tokens >= 1).
Status validateTransitions(const Sentence& sentence);

struct ListOpsConfig {
  int maxDepth = 4;      ///< nesting depth of lists
  int maxArgs = 5;       ///< arguments per list (>= 2)
  int maxLength = 60;    ///< tokens per example (longer draws are redrawn)
  int minLength = 3;
  /// An argument of a list at depth d (the top list is depth 1) is itself a
  /// list with probability nestProbability / d while d < maxDepth, else a digit.
  double nestProbability = 0.5;
  /// false: nestProbability at every depth below maxDepth, not thinned by d
  /// (the paper's generator, listOpsPaperConfig).
  bool thinWithDepth = true;
};
/// The distribution of the ListOps paper's data (Nangia & Bowman 2018, as
/// its generator describes it): lists nest to depth 20, 2-5 arguments each,
/// every argument a digit with probability 0.75 at every depth (a list with
/// 0.25), operators MIN/MAX/MED/SM; the top is always a list. Lengths are
/// capped at 1,000 tokens; about 3 draws in 100,000 go past it and are
/// redrawn. Median 11 tokens, 90th percentile ~83, 99th ~350.
ListOpsConfig listOpsPaperConfig();
/// `count` ListOps examples (Nangia & Bowman 2018), deterministic in `seed`
/// (own PRNG, so identical on every platform). Every example is a list
/// `[OP a1 .. an ]`, OP in MAX, MIN, MED, SM, 2 <= n <= maxArgs, each argument
/// a digit or a nested list; its tree is left-branching:
/// `[MAX 1 7 2 ]` is `( ( ( ( [MAX 1 ) 7 ) 2 ) ] )`. Draws whose token count
/// is outside [minLength, maxLength] are redrawn. `line` is the 1-based index.
/// A config outside the generator's bounds (fewer than 2 arguments, depth 0
/// or past 1000, lengths that admit no list) is an error naming the field,
/// as is one whose lengths no draw reaches.
StatusOr<std::vector<TreeExample>> generateListOps(const ListOpsConfig& cfg, uint64_t seed,
                                                   size_t count);
/// Whether `cfg` is within those bounds.
Status checkListOpsConfig(const ListOpsConfig& cfg);
/// The value of a ListOps token sequence (for checking labels): MAX, MIN,
/// MED (the median; for an even count the floor of the mean of the two middle
/// values, i.e. Python's `int(numpy.median(...))` as in the original),
/// SM (sum mod 10). A bare digit is its own value. Lists need >= 1 argument.
StatusOr<int> evaluateListOps(const std::vector<std::string>& tokens);
/// Writes `label<TAB>parse` lines readable by readListOps.
Status writeListOps(const std::string& path, const std::vector<TreeExample>& examples);

/// Plain text split into the tokens of SNLI's binary parses (the Stanford
/// parser's PTB tokens, which the vocabularies are built from): whitespace
/// splits words, as parseBinaryTree splits a parse; leading `"([{` and
/// trailing `.,!?;:")]}` and `...` become tokens of their own, a trailing `.`
/// stays on a word with another `.` in it (`U.S.`); the clitics `n't`, `'s`,
/// `'re`, `'ve`, `'ll`, `'m`, `'d` are split off (`don't` -> `do n't`);
/// brackets are written as the parser writes them (`-LRB-`), double quotes
/// as ``` `` ``` and `''`. A PTB-style approximation, not the parser's
/// tokenizer: on SNLI 1.0 dev it gives the parse's tokens for 99.8% of the
/// 20,000 sentences (docs/serving.md).
std::vector<std::string> tokenizeText(std::string_view text);

/// Token -> id: 0 <pad>, 1 <unk>, then by descending count, ties by bytes.
/// Tokens seen fewer than `minCount` times are left out (they map to <unk>).
/// The literal strings `<pad>` and `<unk>` are never vocabulary entries: in
/// text they map to 1, so no data token ever gets the pad id.
class Vocab {
public:
  static Vocab build(const std::vector<const Sentence*>& sentences, int64_t minCount = 1);
  /// A vocabulary saved as its tokens in id order (tokens()): `<pad>`, `<unk>`,
  /// then distinct tokens that are neither. Anything else is an error naming
  /// the entry (a server loading a model's vocabulary).
  static StatusOr<Vocab> fromTokens(std::vector<std::string> tokens);
  /// Every token in id order (0 `<pad>`, 1 `<unk>`, ...).
  const std::vector<std::string>& tokens() const { return tokens_; }
  /// 1 (<unk>) for a token not in the vocabulary.
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
/// with a seeded shuffle among equal lengths, cuts batches of `batchSize`
/// (the last may be smaller), then shuffles the batch order with `seed`.
/// Deterministic on every platform (own PRNG); every index appears once.
std::vector<std::vector<size_t>> bucketByLength(const std::vector<int64_t>& lengths,
                                                size_t batchSize, uint64_t seed);

} // namespace cairn::data
