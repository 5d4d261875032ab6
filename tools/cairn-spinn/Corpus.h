// The demo's data: a set of examples of one format (SNLI pairs, ListOps or
// SST trees), its vocabulary, and padded batches in the layout the SPINN
// functions take (docs/models.md, "Data encoding").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "frontend/data/Dataset.h"
#include "ir/Status.h"
#include "ir/Tensor.h"

namespace cairn::spinn_tool {

enum class Format { Snli, ListOps, Sst };

struct CorpusOptions {
  std::string path; ///< empty: generate ListOps
  Format format = Format::ListOps;
  size_t limit = 0; ///< 0 = every example (generated: 512)
  uint64_t seed = 1;
  bool skipMalformed = true;
};

struct Corpus {
  Format format = Format::ListOps;
  std::vector<data::NliExample> pairs;  ///< SNLI
  std::vector<data::TreeExample> trees; ///< ListOps, SST
  data::Vocab vocab;
  std::vector<std::string> warnings;

  size_t size() const { return format == Format::Snli ? pairs.size() : trees.size(); }
  int64_t classes() const { return format == Format::Snli ? 3 : format == Format::Sst ? 5 : 10; }
  /// Per example: tokens (the longer sentence of a pair), for bucketing.
  std::vector<int64_t> lengths() const;
};

StatusOr<Corpus> loadCorpus(const CorpusOptions& opts);

/// One padded batch: tokens, transitions, lengths ([2, B, ...] for SNLI),
/// labels [B].
struct Batch {
  Tensor tokens, transitions, lengths, labels;
  int64_t rows() const { return labels.numElements(); }
  int64_t width() const { return tokens.shape().back(); }
};

Batch makeBatch(const Corpus& c, const std::vector<size_t>& indices);

StatusOr<Format> parseFormat(const std::string& name);

} // namespace cairn::spinn_tool
