// Matching diagnostics against `expected-error` annotations (see the header).
#include "ir/DiagnosticVerifier.h"

#include <algorithm>
#include <charconv>
#include <cstdint>

namespace cairn {
namespace {

std::string_view trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

/// Lines without their '\n' terminators.
std::vector<std::string_view> splitLines(std::string_view source) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start <= source.size()) {
    size_t end = source.find('\n', start);
    if (end == std::string_view::npos) {
      if (start < source.size()) lines.push_back(source.substr(start));
      break;
    }
    lines.push_back(source.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

struct Expectation {
  int line; ///< where the error is expected
  std::string text;
  bool matched = false;
};

struct Problem {
  int line;
  std::string message;
};

/// Parses the annotations on `lineText` (line `lineNo`), appending them to
/// `out`; malformed ones become problems.
void parseAnnotations(std::string_view lineText, int lineNo, int numLines,
                      std::vector<Expectation>& out, std::vector<Problem>& problems) {
  static constexpr std::string_view kMarker = "expected-error";
  size_t pos = 0;
  while ((pos = lineText.find(kMarker, pos)) != std::string_view::npos) {
    pos += kMarker.size();
    int64_t target = lineNo; // 64 bits: lineNo + N must not overflow
    if (pos < lineText.size() && lineText[pos] == '@') {
      ++pos;
      char sign = pos < lineText.size() ? lineText[pos] : '\0';
      int offset = 0; // from_chars rejects values that overflow int
      std::from_chars_result parsed{nullptr, std::errc::invalid_argument};
      if (sign == '+' || sign == '-')
        parsed =
            std::from_chars(lineText.data() + pos + 1, lineText.data() + lineText.size(), offset);
      if (parsed.ec != std::errc()) {
        problems.push_back({lineNo, fmt::format("malformed expected-error annotation on line {}: "
                                                "expected '@+N' or '@-N'",
                                                lineNo)});
        return;
      }
      pos = static_cast<size_t>(parsed.ptr - lineText.data());
      target = sign == '+' ? target + offset : target - offset;
    }
    while (pos < lineText.size() && (lineText[pos] == ' ' || lineText[pos] == '\t'))
      ++pos;
    size_t close = lineText.substr(pos).starts_with("{{") ? lineText.find("}}", pos + 2)
                                                          : std::string_view::npos;
    if (close == std::string_view::npos) {
      problems.push_back({lineNo, fmt::format("malformed expected-error annotation on line {}: "
                                              "expected '{{{{text}}}}'",
                                              lineNo)});
      return;
    }
    std::string text(lineText.substr(pos + 2, close - pos - 2));
    pos = close + 2;
    if (target < 1 || target > numLines) {
      problems.push_back({lineNo, fmt::format("expected-error on line {} refers to line {}, "
                                              "outside the input",
                                              lineNo, target)});
      continue;
    }
    out.push_back({static_cast<int>(target), std::move(text)});
  }
}

} // namespace

std::vector<std::string> splitInputFile(std::string_view source) {
  std::vector<std::string> chunks(1);
  size_t start = 0;
  while (start < source.size()) {
    size_t end = source.find('\n', start);
    size_t next = end == std::string_view::npos ? source.size() : end + 1;
    std::string_view line = source.substr(start, next - start);
    if (trim(line) == "// -----")
      chunks.emplace_back();
    else
      chunks.back() += line;
    start = next;
  }
  return chunks;
}

Status checkExpectedDiagnostics(std::string_view source, const std::vector<Diagnostic>& diags) {
  std::vector<std::string_view> lines = splitLines(source);
  int numLines = static_cast<int>(lines.size());
  std::vector<Expectation> expected;
  std::vector<Problem> problems;
  for (int i = 0; i < numLines; ++i)
    parseAnnotations(lines[i], i + 1, numLines, expected, problems);

  for (const Diagnostic& d : diags) {
    auto match = std::find_if(expected.begin(), expected.end(), [&](const Expectation& e) {
      return !e.matched && e.line == d.loc.line && d.message.find(e.text) != std::string::npos;
    });
    if (match != expected.end()) {
      match->matched = true;
    } else if (d.loc.known()) {
      problems.push_back(
          {d.loc.line, fmt::format("unexpected error on line {}: {}", d.loc.line, d.message)});
    } else {
      problems.push_back({0, "unexpected error without a location: " + d.message});
    }
  }
  for (const Expectation& e : expected)
    if (!e.matched)
      problems.push_back(
          {e.line, fmt::format("expected error '{}' on line {} was not produced", e.text, e.line)});

  if (problems.empty()) return Status::ok();
  // Line order; within a line, the order found (indices as the tiebreak
  // keep the sort stable).
  std::vector<size_t> order(problems.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return problems[a].line != problems[b].line ? problems[a].line < problems[b].line : a < b;
  });
  std::string message;
  for (size_t i : order)
    message += (message.empty() ? "" : "\n") + problems[i].message;
  return Status::error(message);
}

} // namespace cairn
