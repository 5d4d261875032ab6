#include "TextEndpoint.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>
#include <tuple>

#include <fmt/format.h>

#include "ExampleBundle.h"

namespace cairn::serve {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string in(const std::string& dir, const char* file) {
  return (fs::path(dir) / file).string();
}

/// The bundle's model with its weights bound, and its vocabulary.
StatusOr<std::unique_ptr<ServedModel>> loadBundleModel(const std::string& dir, data::Vocab& vocab) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return errorf("'{}' is not a directory (a model bundle: {}, {}, {})", dir, kBundleModel,
                  kBundleWeights, kBundleVocab);
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> tokens, readLines(in(dir, kBundleVocab)));
  StatusOr<data::Vocab> v = data::Vocab::fromTokens(std::move(tokens));
  if (!v.isOk()) return errorf("'{}': {}", in(dir, kBundleVocab), v.status().message());
  vocab = std::move(v).value();
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<ServedModel> m, loadServedModel(in(dir, kBundleModel)));
  return bindWeights(std::move(m), in(dir, kBundleWeights));
}

/// `name`'s signature once the weights are bound, or an error saying what
/// the bundle's model should have.
Status expectFunction(const ServedModel& m, const std::string& dir, const std::string& name,
                      const std::vector<TensorType>& args, const std::vector<TensorType>& results) {
  for (const FunctionInfo& f : m.functions()) {
    if (f.name != name) continue;
    bool ok = f.args.size() == args.size() && f.results.size() == results.size();
    for (size_t i = 0; ok && i < args.size(); ++i)
      ok = f.args[i] == args[i];
    for (size_t i = 0; ok && i < results.size(); ++i)
      ok = f.results[i] == results[i];
    if (!ok)
      return errorf("'{}': @{} does not take and return what the endpoint needs (with its "
                    "weights bound)",
                    in(dir, kBundleModel), name);
    return Status::ok();
  }
  return errorf("'{}' has no function @{}", in(dir, kBundleModel), name);
}

TensorType i32(Shape s) {
  return TensorType(DType::I32, std::move(s));
}

/// A string field of the request: absent (ok, empty optional), a string, or
/// an error naming it.
std::optional<TextReply> stringField(const json& body, const char* key,
                                     std::optional<std::string>& out) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_string())
    return TextReply::error(400, "BAD_REQUEST", fmt::format("\"{}\" must be a string", key));
  out = it->get<std::string>();
  return std::nullopt;
}

std::optional<TextReply> checkLength(const char* what, size_t tokens, int64_t maxTokens) {
  if (tokens == 0)
    return TextReply::error(400, "BAD_REQUEST", fmt::format("\"{}\" has no tokens", what));
  if (static_cast<int64_t>(tokens) > maxTokens)
    return TextReply::error(413, "TOO_LARGE",
                            fmt::format("\"{}\" has {} tokens, past the server's limit of {} "
                                        "(--max-tokens)",
                                        what, tokens, maxTokens));
  return std::nullopt;
}

/// Text far past what `maxTokens` tokens can take is refused before it is
/// tokenized or parsed (64 bytes a token, brackets included).
std::optional<TextReply> checkBytes(const char* what, const std::string& text, int64_t maxTokens) {
  if (static_cast<int64_t>(text.size()) <= 64 * maxTokens) return std::nullopt;
  return TextReply::error(413, "TOO_LARGE",
                          fmt::format("\"{}\" is {} bytes, too long for the server's limit of {} "
                                      "tokens (--max-tokens)",
                                      what, text.size(), maxTokens));
}

int64_t unknownCount(const std::vector<std::string>& tokens, const data::Vocab& vocab) {
  return std::count_if(tokens.begin(), tokens.end(),
                       [&](const std::string& t) { return vocab.id(t) == 1; });
}

// --- SNLI ------------------------------------------------------------------

class SnliEndpoint : public TextEndpoint {
public:
  explicit SnliEndpoint(data::Vocab vocab) : vocab_(std::move(vocab)) {}
  const char* verb() const override { return "classify"; }
  std::vector<std::string> functions() const override { return {"snli_parsed", "snli_predicted"}; }

  TextReply answer(const json& body, int64_t maxTokens, const Run& run) const override {
    std::optional<std::string> premise, hypothesis, premiseParse, hypothesisParse;
    for (auto [key, out] : {std::pair{"premise", &premise},
                            {"hypothesis", &hypothesis},
                            {"premise_parse", &premiseParse},
                            {"hypothesis_parse", &hypothesisParse}})
      if (auto bad = stringField(body, key, *out)) return *bad;
    const bool parsed = premiseParse || hypothesisParse;
    data::NliExample ex;
    if (parsed) {
      if (!premiseParse || !hypothesisParse)
        return TextReply::error(400, "BAD_REQUEST",
                                "give both \"premise_parse\" and \"hypothesis_parse\", or neither "
                                "(the model then predicts both trees)");
      // The parse's tokens are the sentence: a parse splits on spaces, as the
      // SNLI reader does.
      for (auto [key, text, out] : {std::tuple{"premise_parse", &*premiseParse, &ex.premise},
                                    {"hypothesis_parse", &*hypothesisParse, &ex.hypothesis}}) {
        if (auto bad = checkBytes(key, *text, maxTokens)) return *bad;
        StatusOr<data::Sentence> s = data::parseBinaryTree(*text);
        if (!s.isOk())
          return TextReply::error(400, "BAD_REQUEST",
                                  fmt::format("\"{}\": {}", key, s.status().message()));
        if (auto bad = checkLength(key, s->tokens.size(), maxTokens)) return *bad;
        *out = std::move(s).value();
      }
    } else {
      if (!premise || !hypothesis)
        return TextReply::error(400, "BAD_REQUEST",
                                "\"premise\" and \"hypothesis\" (strings) are required");
      for (auto [key, text, out] : {std::tuple{"premise", &*premise, &ex.premise},
                                    {"hypothesis", &*hypothesis, &ex.hypothesis}}) {
        if (auto bad = checkBytes(key, *text, maxTokens)) return *bad;
        out->tokens = data::tokenizeText(*text);
        if (auto bad = checkLength(key, out->tokens.size(), maxTokens)) return *bad;
      }
    }
    data::NliBatch b = data::makeNliBatch({ex}, {0}, vocab_);
    std::vector<Tensor> inputs{b.tokens};
    if (parsed) inputs.push_back(b.transitions);
    inputs.push_back(b.lengths);
    StatusOr<std::vector<Tensor>> out =
        run(parsed ? "snli_parsed" : "snli_predicted", std::move(inputs));
    if (!out.isOk()) return runFailure(out.status());
    const Tensor& logits = (*out)[0];
    if (logits.shape() != Shape{1, 3})
      return TextReply::error(500, "INTERNAL", "the classifier's answer has the wrong shape");
    // Softmax in double over the three f32 logits.
    double l[3], top = -INFINITY, sum = 0;
    for (int k = 0; k < 3; ++k)
      top = std::max(top, l[k] = logits.data<float>()[k]);
    for (double& x : l)
      sum += (x = std::exp(x - top));
    static constexpr const char* kLabels[3] = {"entailment", "neutral", "contradiction"};
    int best = 0;
    json probs = json::object(), raw = json::array();
    for (int k = 0; k < 3; ++k) {
      probs[kLabels[k]] = l[k] / sum;
      raw.push_back(logits.data<float>()[k]);
      if (logits.data<float>()[k] > logits.data<float>()[best]) best = k;
    }
    return {200,
            {{"label", kLabels[best]},
             {"probabilities", probs},
             {"logits", raw},
             {"transitions", parsed ? "given" : "predicted"},
             {"tokens", {{"premise", ex.premise.tokens}, {"hypothesis", ex.hypothesis.tokens}}},
             {"unknown_tokens", unknownCount(ex.premise.tokens, vocab_) +
                                    unknownCount(ex.hypothesis.tokens, vocab_)}}};
  }

private:
  data::Vocab vocab_;
};

// --- tagging ---------------------------------------------------------------

class TagEndpoint : public TextEndpoint {
public:
  TagEndpoint(data::Vocab vocab, std::vector<std::string> tags)
      : vocab_(std::move(vocab)), tags_(std::move(tags)) {}
  const char* verb() const override { return "tag"; }
  std::vector<std::string> functions() const override { return {"tag"}; }

  TextReply answer(const json& body, int64_t maxTokens, const Run& run) const override {
    std::optional<std::string> text;
    if (auto bad = stringField(body, "text", text)) return *bad;
    if (!text) return TextReply::error(400, "BAD_REQUEST", "\"text\" (a string) is required");
    if (auto bad = checkBytes("text", *text, maxTokens)) return *bad;
    data::TreeExample ex;
    ex.sentence.tokens = data::tokenizeText(*text);
    if (auto bad = checkLength("text", ex.sentence.tokens.size(), maxTokens)) return *bad;
    data::TreeBatch b = data::makeTreeBatch({ex}, {0}, vocab_);
    StatusOr<std::vector<Tensor>> out = run("tag", {b.tokens, b.lengths});
    if (!out.isOk()) return runFailure(out.status());
    const Tensor& scores = (*out)[0]; // [1, n, tags]
    const int64_t n = static_cast<int64_t>(ex.sentence.tokens.size());
    const int64_t t = static_cast<int64_t>(tags_.size());
    if (scores.shape() != Shape{1, n, t})
      return TextReply::error(500, "INTERNAL", "the tagger's answer has the wrong shape");
    json tags = json::array();
    for (int64_t i = 0; i < n; ++i) {
      const float* row = scores.data<float>() + i * t;
      tags.push_back(tags_[static_cast<size_t>(std::max_element(row, row + t) - row)]);
    }
    return {200,
            {{"tokens", ex.sentence.tokens},
             {"tags", tags},
             {"unknown_tokens", unknownCount(ex.sentence.tokens, vocab_)}}};
  }

private:
  data::Vocab vocab_;
  std::vector<std::string> tags_;
};

} // namespace

TextReply runFailure(const Status& s) {
  switch (s.code()) {
  case StatusCode::kDeadlineExceeded:
    return TextReply::error(504, "DEADLINE_EXCEEDED", s.message());
  case StatusCode::kResourceExhausted:
    return TextReply::error(413, "RESOURCE_EXHAUSTED", s.message());
  case StatusCode::kCancelled:
    return TextReply::error(503, "CANCELLED", s.message());
  case StatusCode::kError:
    break;
  }
  return TextReply::error(422, "RUN_FAILED", s.message());
}

StatusOr<LoadedEndpoint> loadSnliEndpoint(const std::string& dir) {
  data::Vocab vocab;
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<ServedModel> m, loadBundleModel(dir, vocab));
  const TensorType logits(DType::F32, {kDynamic, 3});
  CAIRN_RETURN_IF_ERROR(expectFunction(
      *m, dir, "snli_parsed",
      {i32({2, kDynamic, kDynamic}), i32({2, kDynamic, kDynamic}), i32({2, kDynamic})}, {logits}));
  CAIRN_RETURN_IF_ERROR(expectFunction(
      *m, dir, "snli_predicted", {i32({2, kDynamic, kDynamic}), i32({2, kDynamic})}, {logits}));
  return LoadedEndpoint{std::move(m), std::make_unique<SnliEndpoint>(std::move(vocab))};
}

StatusOr<LoadedEndpoint> loadTaggerEndpoint(const std::string& dir) {
  // The tags first: a bundle of another kind is told apart before its
  // model is compiled.
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> tags, readLines(in(dir, kBundleTags)));
  if (tags.empty()) return errorf("'{}' lists no tags", in(dir, kBundleTags));
  data::Vocab vocab;
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<ServedModel> m, loadBundleModel(dir, vocab));
  CAIRN_RETURN_IF_ERROR(expectFunction(
      *m, dir, "tag", {i32({kDynamic, kDynamic}), i32({kDynamic})},
      {TensorType(DType::F32, {kDynamic, kDynamic, static_cast<int64_t>(tags.size())})}));
  return LoadedEndpoint{std::move(m),
                        std::make_unique<TagEndpoint>(std::move(vocab), std::move(tags))};
}

} // namespace cairn::serve
