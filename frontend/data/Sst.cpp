// Stanford Sentiment Treebank reader: one labeled PTB tree per line,
// `(3 (2 The) (2 Rock))`. Every node carries a label 0-4; a leaf is
// `(LABEL word)`, an inner node has exactly two subtrees. Words are split
// on the ASCII space only: train.txt has tokens like `8\u00a01\/2` that a
// Unicode-aware split would cut in two. The tree is walked with an explicit
// stack, so no input can overflow the call stack.
#include <vector>

#include "frontend/data/DataInternal.h"

namespace cairn::data {
namespace {

struct Node {
  int subtrees = 0;
  bool hasWord = false;
};

/// Parses one line into `out` (tokens and transitions) and its root label.
Status parseSstTree(std::string_view text, Sentence& out, int& rootLabel) {
  std::vector<Node> stack;
  bool expectLabel = false, done = false;
  size_t pos = 0;
  while (pos < text.size()) {
    char c = text[pos];
    if (c == ' ') {
      ++pos;
      continue;
    }
    if (c == '(') {
      ++pos;
      if (expectLabel) return Status::error("'(' where a node label was expected");
      if (done) return Status::error("text after the end of the tree");
      if (!stack.empty() && stack.back().hasWord)
        return Status::error("a leaf with both a word and a subtree");
      stack.emplace_back();
      expectLabel = true;
      continue;
    }
    if (c == ')') {
      ++pos;
      if (expectLabel) return Status::error("a node with no label");
      if (stack.empty()) return Status::error("unbalanced parentheses: ')' without a '('");
      Node node = stack.back();
      stack.pop_back();
      if (!node.hasWord) {
        if (node.subtrees != 2)
          return errorf("not a binary tree: a node with {} subtrees", node.subtrees);
        out.transitions.push_back(kReduce);
      }
      if (stack.empty()) {
        done = true;
      } else {
        ++stack.back().subtrees;
      }
      continue;
    }
    // An atom: a label right after `(`, otherwise a word.
    size_t end = text.find_first_of(" ()", pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view atom = text.substr(pos, end - pos);
    pos = end;
    if (expectLabel) {
      if (atom.size() != 1 || atom[0] < '0' || atom[0] > '4')
        return errorf("bad node label '{}' (expected 0-4)", atom);
      if (stack.size() == 1) rootLabel = atom[0] - '0';
      expectLabel = false;
      continue;
    }
    if (stack.empty()) return errorf("word '{}' outside the tree", atom);
    Node& node = stack.back();
    if (node.hasWord) return errorf("a leaf with more than one word ('{}')", atom);
    if (node.subtrees > 0) return errorf("word '{}' beside subtrees", atom);
    node.hasWord = true;
    out.tokens.emplace_back(atom);
    out.transitions.push_back(kShift);
  }
  if (!stack.empty()) return errorf("unbalanced parentheses: {} '(' never closed", stack.size());
  if (!done) return Status::error("no tree on the line");
  return validateTransitions(out);
}

} // namespace

StatusOr<std::vector<TreeExample>> readSst(const std::string& path, const ReadOptions& opts) {
  std::vector<TreeExample> examples;
  auto onLine = [&](std::string_view line, int64_t lineNumber) -> Status {
    TreeExample ex;
    ex.line = lineNumber;
    CAIRN_RETURN_IF_ERROR(parseSstTree(line, ex.sentence, ex.label));
    examples.push_back(std::move(ex));
    return Status::ok();
  };
  CAIRN_RETURN_IF_ERROR(forEachLine(path, opts, onLine));
  return examples;
}

} // namespace cairn::data
