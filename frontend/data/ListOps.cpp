// ListOps (Nangia & Bowman 2018) as text: evaluation of a token sequence,
// and `label<TAB>parse` files read and written. A read example's label must
// equal the value of its tokens; a mismatch is a malformed line, so a file
// with wrong labels cannot slip silently into training.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <vector>

#include "frontend/data/DataInternal.h"

namespace cairn::data {
namespace {

enum class Op { kMax, kMin, kMed, kSumMod };

struct OpenList {
  Op op;
  std::vector<int> args;
};

bool opOf(std::string_view token, Op& op) {
  if (token == "[MAX")
    op = Op::kMax;
  else if (token == "[MIN")
    op = Op::kMin;
  else if (token == "[MED")
    op = Op::kMed;
  else if (token == "[SM")
    op = Op::kSumMod;
  else
    return false;
  return true;
}

int apply(Op op, std::vector<int>& args) {
  switch (op) {
  case Op::kMax:
    return *std::max_element(args.begin(), args.end());
  case Op::kMin:
    return *std::min_element(args.begin(), args.end());
  case Op::kMed: {
    // numpy.median, then int(): the mean of the two middle values for an
    // even count, truncated (= floored, the values being >= 0).
    std::sort(args.begin(), args.end());
    size_t n = args.size();
    return n % 2 ? args[n / 2] : (args[n / 2 - 1] + args[n / 2]) / 2;
  }
  case Op::kSumMod: {
    int sum = 0;
    for (int a : args)
      sum = (sum + a) % 10;
    return sum;
  }
  }
  return 0;
}

} // namespace

StatusOr<int> evaluateListOps(const std::vector<std::string>& tokens) {
  std::vector<OpenList> open;
  int result = -1;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& token = tokens[i];
    int value;
    Op op;
    if (opOf(token, op)) {
      if (result >= 0) return errorf("token {}: '{}' after the complete expression", i, token);
      open.push_back({op, {}});
      continue;
    }
    if (token.size() == 1 && token[0] >= '0' && token[0] <= '9') {
      value = token[0] - '0';
    } else if (token == "]") {
      if (open.empty()) return errorf("token {}: ']' closes no list", i);
      if (open.back().args.empty()) return errorf("token {}: a list with no arguments", i);
      value = apply(open.back().op, open.back().args);
      open.pop_back();
    } else {
      return errorf("token {}: '{}' is not a ListOps token", i, token);
    }
    if (!open.empty()) {
      open.back().args.push_back(value);
    } else if (result >= 0) {
      return errorf("token {}: '{}' after the complete expression", i, token);
    } else {
      result = value;
    }
  }
  if (!open.empty()) return errorf("{} list(s) not closed", open.size());
  if (result < 0) return Status::error("empty expression");
  return result;
}

StatusOr<std::vector<TreeExample>> readListOps(const std::string& path, const ReadOptions& opts) {
  std::vector<TreeExample> examples;
  auto onLine = [&](std::string_view line, int64_t lineNumber) -> Status {
    size_t tab = line.find('\t');
    if (tab == std::string_view::npos) return Status::error("no TAB between label and parse");
    std::string_view label = line.substr(0, tab);
    if (label.size() != 1 || label[0] < '0' || label[0] > '9')
      return errorf("bad label '{}' (expected 0-9)", label);
    TreeExample ex;
    ex.label = label[0] - '0';
    ex.line = lineNumber;
    CAIRN_RETURN_IF_ERROR(parseBinaryTreeInto(line.substr(tab + 1), ex.sentence));
    StatusOr<int> value = evaluateListOps(ex.sentence.tokens);
    if (!value) return value.status();
    if (*value != ex.label) return errorf("label {} but the expression is {}", ex.label, *value);
    examples.push_back(std::move(ex));
    return Status::ok();
  };
  CAIRN_RETURN_IF_ERROR(forEachLine(path, opts, onLine));
  return examples;
}

Status writeListOps(const std::string& path, const std::vector<TreeExample>& examples) {
  std::string text;
  for (size_t i = 0; i < examples.size(); ++i) {
    const TreeExample& ex = examples[i];
    if (ex.label < 0 || ex.label > 9) return errorf("example {}: label {} is not 0-9", i, ex.label);
    StatusOr<std::string> parse = formatBinaryTree(ex.sentence);
    if (!parse) return errorf("example {}: {}", i, parse.status().message());
    text += fmt::format("{}\t{}\n", ex.label, *parse);
  }
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!file) return errorf("{}: cannot open for writing", path);
  if (std::fwrite(text.data(), 1, text.size(), file.get()) != text.size())
    return errorf("{}: write failed", path);
  if (std::fclose(file.release()) != 0) return errorf("{}: write failed", path);
  return Status::ok();
}

} // namespace cairn::data
