// Loading the demo's examples and cutting batches (see Corpus.h).
#include "Corpus.h"

#include <algorithm>

namespace cairn::spinn_tool {

StatusOr<Format> parseFormat(const std::string& name) {
  if (name == "snli") return Format::Snli;
  if (name == "listops") return Format::ListOps;
  if (name == "sst") return Format::Sst;
  return errorf("cairn-spinn: error: --format: unknown format '{}' (snli, listops, sst)", name);
}

std::vector<int64_t> Corpus::lengths() const {
  std::vector<int64_t> out;
  if (format == Format::Snli) {
    for (const data::NliExample& e : pairs)
      out.push_back(
          static_cast<int64_t>(std::max(e.premise.tokens.size(), e.hypothesis.tokens.size())));
  } else {
    for (const data::TreeExample& e : trees)
      out.push_back(static_cast<int64_t>(e.sentence.tokens.size()));
  }
  return out;
}

StatusOr<Corpus> loadCorpus(const CorpusOptions& opts) {
  Corpus c;
  c.format = opts.format;
  data::ReadOptions read;
  read.skipMalformed = opts.skipMalformed;
  read.warnings = &c.warnings;
  if (opts.path.empty()) {
    if (opts.format != Format::ListOps)
      return errorf("cairn-spinn: error: --format {} needs --data",
                    opts.format == Format::Snli ? "snli" : "sst");
    c.trees =
        data::generateListOps(data::ListOpsConfig{}, opts.seed, opts.limit ? opts.limit : 512);
  } else if (opts.format == Format::Snli) {
    auto r = data::readSnli(opts.path, read);
    if (!r.isOk()) return r.status();
    c.pairs = std::move(*r);
  } else {
    auto r = opts.format == Format::Sst ? data::readSst(opts.path, read)
                                        : data::readListOps(opts.path, read);
    if (!r.isOk()) return r.status();
    c.trees = std::move(*r);
  }
  if (opts.limit) {
    if (c.pairs.size() > opts.limit) c.pairs.resize(opts.limit);
    if (c.trees.size() > opts.limit) c.trees.resize(opts.limit);
  }
  if (c.size() == 0)
    return errorf("cairn-spinn: error: no examples in '{}'{}", opts.path,
                  c.warnings.empty() ? "" : " (first problem: " + c.warnings.front() + ")");
  std::vector<const data::Sentence*> sentences;
  for (const data::NliExample& e : c.pairs) {
    sentences.push_back(&e.premise);
    sentences.push_back(&e.hypothesis);
  }
  for (const data::TreeExample& e : c.trees)
    sentences.push_back(&e.sentence);
  c.vocab = data::Vocab::build(sentences);
  return c;
}

Batch makeBatch(const Corpus& c, const std::vector<size_t>& indices) {
  if (c.format == Format::Snli) {
    data::NliBatch b = data::makeNliBatch(c.pairs, indices, c.vocab);
    return {b.tokens, b.transitions, b.lengths, b.labels};
  }
  data::TreeBatch b = data::makeTreeBatch(c.trees, indices, c.vocab);
  return {b.tokens, b.transitions, b.lengths, b.labels};
}

} // namespace cairn::spinn_tool
