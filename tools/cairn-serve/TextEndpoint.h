// The example endpoints (docs/serving.md, "Text endpoints"): a model loaded
// from an ExampleBundle directory that answers plain text.
//
//   POST /v1/models/{name}:classify  {"premise": "...", "hypothesis": "..."}
//        (or "premise_parse"/"hypothesis_parse", SNLI's binary parses)
//        -> {"label": "entailment", "probabilities": {...}, "tokens": {...}}
//   POST /v1/models/{name}:tag       {"text": "..."} -> {"tokens": [...], "tags": [...]}
//
// Text is split by data::tokenizeText and looked up in the bundle's
// vocabulary (unknown words are <unk>); the inputs are encoded by the data
// readers' batch makers (makeNliBatch, makeTreeBatch), the same encoding
// cairn-spinn runs offline. The runs go through the server (its batcher,
// padded, when batching is on), so concurrent text requests of different
// lengths and trees share one run.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ServedModel.h"
#include "frontend/data/Dataset.h"

namespace cairn::serve {

/// An answer: 200 and the body, or an error status with its code and message.
struct TextReply {
  int status = 200;
  nlohmann::json body;
  static TextReply error(int status, const std::string& code, const std::string& message) {
    return {status, {{"error", message}, {"code", code}}};
  }
};

/// The HTTP status and code of a run that failed (shared with :predict).
TextReply runFailure(const Status& s);

class TextEndpoint {
public:
  /// Runs one of the model's functions for a request, under its limits.
  using Run = std::function<StatusOr<std::vector<Tensor>>(const std::string& function,
                                                          std::vector<Tensor> inputs)>;
  virtual ~TextEndpoint() = default;
  /// The URL verb: "classify" or "tag".
  virtual const char* verb() const = 0;
  /// The model's functions this endpoint runs. Their rows ignore padding
  /// past each row's length (SPINN given lengths, the BiLSTM tagger: their
  /// tests check it), so the server batches them padded.
  virtual std::vector<std::string> functions() const = 0;
  /// The answer to `body` (a JSON object); a sentence past `maxTokens`
  /// tokens is 413.
  virtual TextReply answer(const nlohmann::json& body, int64_t maxTokens, const Run& run) const = 0;
};

struct LoadedEndpoint {
  std::unique_ptr<ServedModel> model; ///< weights bound
  std::unique_ptr<TextEndpoint> endpoint;
};

/// An SNLI bundle (writeSnliBundle); errors name the file and what is wrong.
StatusOr<LoadedEndpoint> loadSnliEndpoint(const std::string& dir);
/// A tagger bundle (writeTaggerBundle).
StatusOr<LoadedEndpoint> loadTaggerEndpoint(const std::string& dir);

} // namespace cairn::serve
