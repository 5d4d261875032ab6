// Unlabeled binary parses (SNLI's `sentence*_binary_parse`, ListOps) to and
// from shift-reduce transitions. A token is SHIFT, `)` is REDUCE, `(` only
// opens a node. Parsing checks the bracket structure itself, not just the
// transition count, so `( a ( b ) c )` (a unary node that happens to give a
// valid sequence) is rejected as non-binary. Everything is iterative: a line
// of a million `(` is an error, not a stack overflow.
#include <vector>

#include "frontend/data/DataInternal.h"

namespace cairn::data {

Status validateTransitions(const Sentence& sentence) {
  const size_t numTokens = sentence.tokens.size();
  if (numTokens == 0) return Status::error("empty sentence (no tokens)");
  size_t shifted = 0, depth = 0;
  for (size_t i = 0; i < sentence.transitions.size(); ++i) {
    int8_t t = sentence.transitions[i];
    if (t == kShift) {
      if (shifted == numTokens)
        return errorf("transition {}: SHIFT with all {} tokens already shifted", i, numTokens);
      ++shifted;
      ++depth;
    } else if (t == kReduce) {
      if (depth < 2) return errorf("transition {}: REDUCE with {} item(s) on the stack", i, depth);
      --depth;
    } else {
      return errorf("transition {}: value {} is neither SHIFT nor REDUCE", i, int(t));
    }
  }
  if (shifted != numTokens) return errorf("{} of {} tokens shifted", shifted, numTokens);
  if (depth != 1) return errorf("{} items left on the stack, not one tree", depth);
  // Implied by the checks above; kept as the contract's own statement.
  if (sentence.transitions.size() != 2 * numTokens - 1)
    return errorf("{} transitions for {} tokens", sentence.transitions.size(), numTokens);
  return Status::ok();
}

Status parseBinaryTreeInto(std::string_view text, Sentence& out) {
  // Children seen so far by each open `(`; top-level items counted apart.
  std::vector<int> open;
  int64_t topLevel = 0;
  auto addChild = [&] {
    if (open.empty()) {
      ++topLevel;
    } else {
      ++open.back();
    }
  };
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(' ', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view piece = text.substr(pos, end - pos);
    pos = end + 1;
    if (piece.empty()) continue;
    if (piece == "(") {
      open.push_back(0);
    } else if (piece == ")") {
      if (open.empty()) return Status::error("unbalanced parentheses: ')' without a '('");
      if (open.back() != 2)
        return errorf("not a binary tree: a node with {} children", open.back());
      open.pop_back();
      out.transitions.push_back(kReduce);
      addChild();
    } else {
      out.tokens.emplace_back(piece);
      out.transitions.push_back(kShift);
      addChild();
    }
  }
  if (!open.empty()) return errorf("unbalanced parentheses: {} '(' never closed", open.size());
  if (out.tokens.empty()) return Status::error("empty parse (no tokens)");
  if (topLevel != 1) return errorf("not one tree: {} items at the top level", topLevel);
  return validateTransitions(out);
}

StatusOr<Sentence> parseBinaryTree(const std::string& text) {
  Sentence s;
  CAIRN_RETURN_IF_ERROR(parseBinaryTreeInto(text, s));
  return s;
}

StatusOr<std::string> formatBinaryTree(const Sentence& sentence) {
  CAIRN_RETURN_IF_ERROR(validateTransitions(sentence));
  for (const std::string& token : sentence.tokens)
    if (token.empty() || token == "(" || token == ")" || token.find(' ') != std::string::npos)
      return errorf("token '{}' cannot be written in a binary parse", token);
  std::vector<std::string> stack;
  size_t next = 0;
  for (int8_t t : sentence.transitions) {
    if (t == kShift) {
      stack.push_back(sentence.tokens[next++]);
      continue;
    }
    std::string right = std::move(stack.back());
    stack.pop_back();
    std::string& left = stack.back();
    left = fmt::format("( {} {} )", left, right);
  }
  return std::move(stack.back());
}

} // namespace cairn::data
