// SNLI 1.0 jsonl reader. Each line goes through nlohmann_json's SAX parser
// with a handler that keeps only the three top-level strings we use
// (gold_label and the two binary parses): no DOM is built for the PCFG
// parses and annotator lists, which is most of each line, and the parser is
// iterative, so no nesting depth can overflow the stack.
#include <nlohmann/json.hpp>

#include "frontend/data/DataInternal.h"

namespace cairn::data {
namespace {

using Json = nlohmann::json;

/// Collects the wanted top-level string fields of one JSON object.
class SnliFields {
public:
  enum Field { kLabel, kPremise, kHypothesis, kNumFields };
  static constexpr const char* kNames[kNumFields] = {"gold_label", "sentence1_binary_parse",
                                                     "sentence2_binary_parse"};

  std::string values[kNumFields];
  bool present[kNumFields] = {};
  bool topIsObject = false;
  std::string wrongType; // a wanted key whose value is not a string
  std::string error;     // the parser's message

  bool null() { return scalar("null"); }
  bool boolean(bool) { return scalar("a boolean"); }
  bool number_integer(Json::number_integer_t) { return scalar("a number"); }
  bool number_unsigned(Json::number_unsigned_t) { return scalar("a number"); }
  bool number_float(Json::number_float_t, const std::string&) { return scalar("a number"); }
  bool binary(Json::binary_t&) { return scalar("binary"); }
  bool string(std::string& value) {
    if (depth_ == 1 && pending_ != kNumFields) {
      values[pending_] = std::move(value);
      present[pending_] = true;
    }
    pending_ = kNumFields;
    return true;
  }
  bool start_object(size_t) { return open(true); }
  bool start_array(size_t) { return open(false); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(std::string& k) {
    pending_ = kNumFields;
    if (depth_ == 1)
      for (int f = 0; f < kNumFields; ++f)
        if (k == kNames[f]) pending_ = static_cast<Field>(f);
    return true;
  }
  bool parse_error(size_t, const std::string&, const nlohmann::detail::exception& e) {
    error = e.what();
    return false;
  }

private:
  bool scalar(const char* what) {
    if (depth_ == 1 && pending_ != kNumFields && wrongType.empty())
      wrongType = fmt::format("'{}' is {}, not a string", kNames[pending_], what);
    pending_ = kNumFields;
    return true;
  }
  bool open(bool object) {
    if (depth_ == 0) topIsObject = object;
    if (depth_ == 1 && pending_ != kNumFields && wrongType.empty())
      wrongType = fmt::format("'{}' is {}, not a string", kNames[pending_],
                              object ? "an object" : "an array");
    pending_ = kNumFields;
    ++depth_;
    return true;
  }
  bool close() {
    --depth_;
    pending_ = kNumFields;
    return true;
  }

  int64_t depth_ = 0;
  Field pending_ = kNumFields; // the wanted key whose value comes next
};

/// The class of a gold label, -1 for `-` (no majority), -2 if unknown.
int labelOf(std::string_view label) {
  if (label == "entailment") return 0;
  if (label == "neutral") return 1;
  if (label == "contradiction") return 2;
  if (label == "-") return -1;
  return -2;
}

} // namespace

StatusOr<std::vector<NliExample>> readSnli(const std::string& path, const ReadOptions& opts) {
  std::vector<NliExample> examples;
  auto onLine = [&](std::string_view line, int64_t lineNumber) -> Status {
    SnliFields fields;
    if (!Json::sax_parse(line.begin(), line.end(), &fields))
      return errorf("invalid JSON: {}", fields.error);
    if (!fields.topIsObject) return Status::error("not a JSON object");
    if (!fields.wrongType.empty()) return Status::error(fields.wrongType);
    for (int f = 0; f < SnliFields::kNumFields; ++f)
      if (!fields.present[f]) return errorf("missing key '{}'", SnliFields::kNames[f]);
    int label = labelOf(fields.values[SnliFields::kLabel]);
    if (label == -1) return Status::ok(); // no annotator majority: not an example
    if (label == -2) return errorf("unknown gold_label '{}'", fields.values[SnliFields::kLabel]);
    NliExample ex;
    ex.label = label;
    ex.line = lineNumber;
    if (Status s = parseBinaryTreeInto(fields.values[SnliFields::kPremise], ex.premise); !s)
      return errorf("sentence1_binary_parse: {}", s.message());
    if (Status s = parseBinaryTreeInto(fields.values[SnliFields::kHypothesis], ex.hypothesis); !s)
      return errorf("sentence2_binary_parse: {}", s.message());
    examples.push_back(std::move(ex));
    return Status::ok();
  };
  CAIRN_RETURN_IF_ERROR(forEachLine(path, opts, onLine));
  return examples;
}

} // namespace cairn::data
