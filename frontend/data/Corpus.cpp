// Loading examples and cutting batches (see Corpus.h).
#include "frontend/data/Corpus.h"

#include <algorithm>
#include <set>

namespace cairn::data {

StatusOr<Format> parseFormat(const std::string& name) {
  if (name == "snli") return Format::Snli;
  if (name == "listops") return Format::ListOps;
  if (name == "sst") return Format::Sst;
  return errorf("--format: unknown format '{}' (snli, listops, sst)", name);
}

std::string formatName(Format f) {
  return f == Format::Snli ? "snli" : f == Format::Sst ? "sst" : "listops";
}

std::vector<int64_t> Corpus::lengths() const {
  std::vector<int64_t> out;
  if (format == Format::Snli) {
    for (const NliExample& e : pairs)
      out.push_back(
          static_cast<int64_t>(std::max(e.premise.tokens.size(), e.hypothesis.tokens.size())));
  } else {
    for (const TreeExample& e : trees)
      out.push_back(static_cast<int64_t>(e.sentence.tokens.size()));
  }
  return out;
}

Corpus Corpus::splitTail(size_t count) {
  Corpus tail;
  tail.format = format;
  tail.vocab = vocab;
  auto move = [count](auto& from, auto& to) {
    size_t n = std::min(count, from.size());
    to.assign(std::make_move_iterator(from.end() - static_cast<std::ptrdiff_t>(n)),
              std::make_move_iterator(from.end()));
    from.resize(from.size() - n);
  };
  move(pairs, tail.pairs);
  move(trees, tail.trees);
  return tail;
}

StatusOr<Corpus> loadCorpus(const CorpusOptions& opts) {
  Corpus c;
  c.format = opts.format;
  ReadOptions read;
  read.skipMalformed = opts.skipMalformed;
  read.warnings = &c.warnings;
  if (opts.path.empty()) {
    if (opts.format != Format::ListOps)
      return errorf("--format {} needs --data", formatName(opts.format));
    CAIRN_ASSIGN_OR_RETURN(c.trees, generateListOps(opts.listops, opts.seed,
                                                    opts.limit ? opts.limit : opts.generated));
  } else if (opts.format == Format::Snli) {
    auto r = readSnli(opts.path, read);
    if (!r.isOk()) return r.status();
    c.pairs = std::move(*r);
  } else {
    auto r = opts.format == Format::Sst ? readSst(opts.path, read) : readListOps(opts.path, read);
    if (!r.isOk()) return r.status();
    c.trees = std::move(*r);
  }
  if (opts.maxTokens) {
    size_t dropped = 0, longest = 0;
    auto tooLong = [&](const Sentence& s) {
      if (s.tokens.size() <= opts.maxTokens) return false;
      longest = std::max(longest, s.tokens.size());
      return true;
    };
    dropped += std::erase_if(c.pairs, [&](const NliExample& e) {
      return tooLong(e.premise) | tooLong(e.hypothesis);
    });
    dropped += std::erase_if(c.trees, [&](const TreeExample& e) { return tooLong(e.sentence); });
    if (dropped)
      c.warnings.push_back(fmt::format("{}: dropped {} example(s) longer than {} tokens (the "
                                       "longest has {}; raise the token limit to keep them)",
                                       opts.path, dropped, opts.maxTokens, longest));
  }
  if (opts.limit) {
    if (c.pairs.size() > opts.limit) c.pairs.resize(opts.limit);
    if (c.trees.size() > opts.limit) c.trees.resize(opts.limit);
  }
  if (c.size() == 0)
    return errorf("no examples in '{}'{}", opts.path,
                  c.warnings.empty() ? "" : " (first problem: " + c.warnings.front() + ")");
  std::vector<const Sentence*> sentences;
  for (const NliExample& e : c.pairs) {
    sentences.push_back(&e.premise);
    sentences.push_back(&e.hypothesis);
  }
  for (const TreeExample& e : c.trees)
    sentences.push_back(&e.sentence);
  c.vocab = Vocab::build(sentences);
  return c;
}

StatusOr<Corpus> generateListOpsCorpus(const ListOpsConfig& cfg, uint64_t seed, size_t count,
                                       const Vocab& vocab, const Corpus* exclude) {
  Corpus c;
  c.format = Format::ListOps;
  c.vocab = vocab;
  std::set<std::vector<std::string>> seen;
  if (exclude)
    for (const TreeExample& e : exclude->trees)
      seen.insert(e.sentence.tokens);
  CAIRN_ASSIGN_OR_RETURN(std::vector<TreeExample> generated, generateListOps(cfg, seed, count));
  for (TreeExample& e : generated)
    if (!seen.count(e.sentence.tokens)) c.trees.push_back(std::move(e));
  return c;
}

Batch makeBatch(const Corpus& c, const std::vector<size_t>& indices) {
  if (c.format == Format::Snli) {
    NliBatch b = makeNliBatch(c.pairs, indices, c.vocab);
    return {b.tokens, b.transitions, b.lengths, b.labels};
  }
  TreeBatch b = makeTreeBatch(c.trees, indices, c.vocab);
  return {b.tokens, b.transitions, b.lengths, b.labels};
}

} // namespace cairn::data
