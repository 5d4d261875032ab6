// A set of examples of one format (SNLI pairs, ListOps or SST trees) with its
// vocabulary, and padded batches in the layout the SPINN functions take
// (docs/models.md, "Data encoding"): what the tools cairn-spinn (inference)
// and cairn-train share.
//
// Errors carry no tool prefix; the tools add theirs.
//
// Thread-safety: plain values; loading touches only the file read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "frontend/data/Dataset.h"
#include "ir/Status.h"
#include "ir/Tensor.h"

namespace cairn::data {

enum class Format { Snli, ListOps, Sst };

struct CorpusOptions {
  std::string path; ///< empty: generate ListOps
  Format format = Format::ListOps;
  size_t limit = 0;       ///< 0 = every example (generated: `generated`)
  size_t generated = 512; ///< generated ListOps: how many, when limit is 0
  ListOpsConfig listops;  ///< generated ListOps: the generator's shape
  uint64_t seed = 1;      ///< generated ListOps: the generator's seed
  bool skipMalformed = true;
  /// Examples (either sentence of a pair) with more tokens than this are
  /// dropped with a warning (0: no bound): one 1.6 M-token line grew a
  /// training run to 9.8 GB, since a step's buffers scale with the length.
  size_t maxTokens = 0;
};

struct Corpus {
  Format format = Format::ListOps;
  std::vector<NliExample> pairs;  ///< SNLI
  std::vector<TreeExample> trees; ///< ListOps, SST
  Vocab vocab;
  std::vector<std::string> warnings;

  size_t size() const { return format == Format::Snli ? pairs.size() : trees.size(); }
  int64_t classes() const { return format == Format::Snli ? 3 : format == Format::Sst ? 5 : 10; }
  /// Per example: tokens (the longer sentence of a pair), for bucketing.
  std::vector<int64_t> lengths() const;
  /// Moves the last `count` examples (at most all) into a new corpus with the
  /// same format and vocabulary: a held-out split.
  Corpus splitTail(size_t count);
};

/// Reads (or generates) the examples and builds the vocabulary over them.
/// Errors: an unreadable file, a file with no usable example (naming the
/// first problem), SNLI/SST without a path.
StatusOr<Corpus> loadCorpus(const CorpusOptions& opts);

/// Generated ListOps that share `vocab` (a held-out set for a model trained
/// on another corpus). Examples whose token sequence occurs in `exclude` are
/// dropped, so the set is disjoint from a training set; it may come out
/// smaller than `count`.
StatusOr<Corpus> generateListOpsCorpus(const ListOpsConfig& cfg, uint64_t seed, size_t count,
                             const Vocab& vocab, const Corpus* exclude = nullptr);

/// One padded batch: tokens, transitions, lengths ([2, B, ...] for SNLI),
/// labels [B].
struct Batch {
  Tensor tokens, transitions, lengths, labels;
  int64_t rows() const { return labels.numElements(); }
  int64_t width() const { return tokens.shape().back(); }
};

Batch makeBatch(const Corpus& c, const std::vector<size_t>& indices);

/// "snli", "listops", "sst".
StatusOr<Format> parseFormat(const std::string& name);
std::string formatName(Format f);

} // namespace cairn::data
