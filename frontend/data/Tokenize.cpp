// tokenizeText (Dataset.h): plain text to the tokens SNLI's binary parses
// use, so a server can take a sentence as written and look its words up in a
// vocabulary built from parses. The rules are the few PTB conventions that
// SNLI's sentences exercise; docs/serving.md gives how often they agree
// with the parser's own tokens.
#include <algorithm>
#include <cctype>
#include <string>

#include "frontend/data/Dataset.h"

namespace cairn::data {
namespace {

constexpr std::string_view kLeading = "\"([{`";
constexpr std::string_view kTrailing = ".,!?;:\")]}";
constexpr std::string_view kClitics[] = {"n't", "'s", "'re", "'ve", "'ll", "'m", "'d"};

/// A split-off punctuation character as the parser writes it.
std::string punct(char c, bool leading) {
  switch (c) {
  case '"':
    return leading ? "``" : "''";
  case '(':
    return "-LRB-";
  case ')':
    return "-RRB-";
  case '[':
    return "-LSB-";
  case ']':
    return "-RSB-";
  case '{':
    return "-LCB-";
  case '}':
    return "-RCB-";
  default:
    return std::string(1, c);
  }
}

bool endsWithNoCase(std::string_view word, std::string_view suffix) {
  if (word.size() < suffix.size()) return false;
  return std::equal(suffix.begin(), suffix.end(), word.end() - suffix.size(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  });
}

void tokenizeWord(std::string_view w, std::vector<std::string>& out) {
  while (!w.empty() && kLeading.find(w.front()) != std::string_view::npos) {
    out.push_back(punct(w.front(), true));
    w.remove_prefix(1);
  }
  std::vector<std::string> trailing; // in reverse order
  while (!w.empty()) {
    if (w.size() >= 3 && w.substr(w.size() - 3) == "...") {
      trailing.emplace_back("...");
      w.remove_suffix(3);
      continue;
    }
    char c = w.back();
    if (kTrailing.find(c) == std::string_view::npos) break;
    // `U.S.` keeps its last period; `road.` does not.
    if (c == '.' && w.size() > 1 && w.substr(0, w.size() - 1).find('.') != std::string_view::npos)
      break;
    trailing.push_back(punct(c, false));
    w.remove_suffix(1);
  }
  if (!w.empty()) {
    std::string_view clitic;
    for (std::string_view c : kClitics)
      if (w.size() > c.size() && endsWithNoCase(w, c)) {
        clitic = w.substr(w.size() - c.size());
        break;
      }
    out.emplace_back(w.substr(0, w.size() - clitic.size()));
    if (!clitic.empty()) out.emplace_back(clitic);
  }
  out.insert(out.end(), trailing.rbegin(), trailing.rend());
}

} // namespace

std::vector<std::string> tokenizeText(std::string_view text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos])))
      ++pos;
    size_t end = pos;
    while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end])))
      ++end;
    if (end > pos) tokenizeWord(text.substr(pos, end - pos), out);
    pos = end;
  }
  return out;
}

} // namespace cairn::data
