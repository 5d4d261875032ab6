// Tests of splitInputFile and checkExpectedDiagnostics, the machinery behind
// `cairn-opt --split-input-file --verify-diagnostics`.
#include <gtest/gtest.h>

#include "ir/DiagnosticVerifier.h"
#include "ir/Parser.h"

using namespace cairn;

namespace {
Diagnostic diagAt(int line, std::string message) {
  return Diagnostic{Location{"x.cairn", line, 1}, std::move(message)};
}
} // namespace

TEST(DiagnosticVerifierTest, SplitsOnSeparatorLines) {
  auto chunks = splitInputFile("a\nb\n// -----\nc\n  // -----  \r\nd");
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0], "a\nb\n");
  EXPECT_EQ(chunks[1], "c\n");
  EXPECT_EQ(chunks[2], "d");
  EXPECT_EQ(splitInputFile("no separators\n"), std::vector<std::string>{"no separators\n"});
  // A longer dash run or trailing text is not a separator.
  EXPECT_EQ(splitInputFile("x\n// ------\n// ----- y\n").size(), 1u);
}

TEST(DiagnosticVerifierTest, MatchesSameAndRelativeLines) {
  const char* src = "line one // expected-error {{first}}\n"
                    "// expected-error@+1 {{below}}\n"
                    "target\n"
                    "// expected-error@-3 {{again one}}\n";
  std::vector<Diagnostic> diags = {diagAt(3, "it is below here"), diagAt(1, "the first problem"),
                                   diagAt(1, "again one more")};
  Status s = checkExpectedDiagnostics(src, diags);
  EXPECT_TRUE(s.isOk()) << s.message();
}

TEST(DiagnosticVerifierTest, ReportsMissingAndUnexpected) {
  const char* src = "a\n"
                    "b // expected-error {{wanted}}\n"
                    "c\n"
                    "d // expected-error {{x}} expected-error {{y}}\n";
  std::vector<Diagnostic> diags = {diagAt(4, "x and y"), diagAt(3, "surprise"),
                                   diagAt(2, "something else"), Diagnostic{{}, "nowhere"}};
  Status s = checkExpectedDiagnostics(src, diags);
  ASSERT_FALSE(s.isOk());
  // One diagnostic satisfies one annotation only: 'y' on line 4 stays unmatched.
  EXPECT_EQ(s.message(), "unexpected error without a location: nowhere\n"
                         "unexpected error on line 2: something else\n"
                         "expected error 'wanted' on line 2 was not produced\n"
                         "unexpected error on line 3: surprise\n"
                         "expected error 'y' on line 4 was not produced");
}

TEST(DiagnosticVerifierTest, RejectsMalformedAnnotations) {
  Status noBraces = checkExpectedDiagnostics("x // expected-error oops\n", {});
  EXPECT_EQ(noBraces.message(),
            "malformed expected-error annotation on line 1: expected '{{text}}'");
  Status badOffset = checkExpectedDiagnostics("x // expected-error@above {{t}}\n", {});
  EXPECT_EQ(badOffset.message(),
            "malformed expected-error annotation on line 1: expected '@+N' or '@-N'");
  Status outside = checkExpectedDiagnostics("x // expected-error@-5 {{t}}\n", {});
  EXPECT_EQ(outside.message(), "expected-error on line 1 refers to line -4, outside the input");
  Status huge = checkExpectedDiagnostics("x // expected-error@+99999999999 {{t}}\n", {});
  EXPECT_FALSE(huge.isOk());
}

TEST(DiagnosticVerifierTest, ChecksParserErrorsPerChunk) {
  const char* file = "func @f() -> () {\n"
                     "  // expected-error@+1 {{unknown op 'frob'}}\n"
                     "  frob\n"
                     "}\n"
                     "// -----\n"
                     "func @g() -> () {\n"
                     "  return %nope // expected-error {{use of undefined value '%nope'}}\n"
                     "}\n";
  auto chunks = splitInputFile(file);
  ASSERT_EQ(chunks.size(), 2u);
  for (const std::string& chunk : chunks) {
    Diagnostic d;
    ASSERT_FALSE(parseModule(chunk, "in.cairn", &d).isOk());
    Status s = checkExpectedDiagnostics(chunk, {d});
    EXPECT_TRUE(s.isOk()) << s.message();
  }
}
