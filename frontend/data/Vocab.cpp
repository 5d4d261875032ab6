// Vocabulary: token strings to the ids of docs/models.md. The order (count
// descending, then bytes) depends only on the counts, never on hash-table
// iteration, so the same sentences give the same ids everywhere.
#include <algorithm>
#include <string_view>
#include <unordered_map>

#include "frontend/data/Dataset.h"

namespace cairn::data {
namespace {

constexpr const char* kPadToken = "<pad>";
constexpr const char* kUnkToken = "<unk>";
constexpr int32_t kUnkId = 1;

} // namespace

Vocab Vocab::build(const std::vector<const Sentence*>& sentences, int64_t minCount) {
  // Views into the sentences, which outlive this function.
  std::unordered_map<std::string_view, int64_t> counts;
  for (const Sentence* s : sentences) {
    CAIRN_CHECK(s != nullptr, "Vocab::build: null sentence");
    for (const std::string& token : s->tokens)
      ++counts[token];
  }
  std::vector<std::pair<std::string_view, int64_t>> kept;
  for (const auto& [token, count] : counts)
    if (count >= minCount && token != kPadToken && token != kUnkToken)
      kept.emplace_back(token, count);
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  CAIRN_CHECK(kept.size() + 2 <= static_cast<size_t>(INT32_MAX), "vocabulary too large");

  Vocab v;
  v.tokens_ = {kPadToken, kUnkToken};
  v.tokens_.reserve(kept.size() + 2);
  for (const auto& entry : kept)
    v.tokens_.emplace_back(entry.first);
  v.sortedIds_.reserve(kept.size());
  for (size_t i = 2; i < v.tokens_.size(); ++i)
    v.sortedIds_.emplace_back(v.tokens_[i], static_cast<int32_t>(i));
  std::sort(v.sortedIds_.begin(), v.sortedIds_.end());
  return v;
}

int32_t Vocab::id(const std::string& token) const {
  auto it =
      std::lower_bound(sortedIds_.begin(), sortedIds_.end(), token,
                       [](const auto& entry, const std::string& t) { return entry.first < t; });
  return it != sortedIds_.end() && it->first == token ? it->second : kUnkId;
}

} // namespace cairn::data

namespace cairn::data {

StatusOr<Vocab> Vocab::fromTokens(std::vector<std::string> tokens) {
  if (tokens.size() < 2 || tokens[0] != kPadToken || tokens[1] != kUnkToken)
    return Status::error("a vocabulary starts with <pad> and <unk> (ids 0 and 1)");
  if (tokens.size() > static_cast<size_t>(INT32_MAX)) return Status::error("vocabulary too large");
  Vocab v;
  v.tokens_ = std::move(tokens);
  for (size_t i = 2; i < v.tokens_.size(); ++i) {
    const std::string& t = v.tokens_[i];
    if (t.empty() || t == kPadToken || t == kUnkToken)
      return errorf("vocabulary entry {}: '{}' cannot be a token", i, t);
    v.sortedIds_.emplace_back(t, static_cast<int32_t>(i));
  }
  std::sort(v.sortedIds_.begin(), v.sortedIds_.end());
  for (size_t i = 1; i < v.sortedIds_.size(); ++i)
    if (v.sortedIds_[i].first == v.sortedIds_[i - 1].first)
      return errorf("vocabulary entry {}: '{}' appears twice", v.sortedIds_[i].second,
                    v.sortedIds_[i].first);
  return v;
}

} // namespace cairn::data
