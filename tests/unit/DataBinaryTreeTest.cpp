// Binary parses to shift-reduce transitions and back: the exact sequences,
// one-word sentences, and every way a parse can be malformed (unbalanced,
// non-binary, empty), which must be an error, never a crash.
#include <gtest/gtest.h>

#include "frontend/data/Dataset.h"

namespace cairn::data {
namespace {

constexpr int8_t S = kShift, R = kReduce;

std::string parseError(const std::string& text) {
  auto s = parseBinaryTree(text);
  EXPECT_FALSE(s.isOk()) << "parsed: " << text;
  return s.isOk() ? "" : s.status().message();
}

TEST(DataBinaryTree, TokensAndTransitions) {
  auto s = parseBinaryTree("( ( Two women ) ( ( are embracing ) . ) )");
  ASSERT_TRUE(s.isOk()) << s.status().message();
  EXPECT_EQ(s->tokens, (std::vector<std::string>{"Two", "women", "are", "embracing", "."}));
  EXPECT_EQ(s->transitions, (std::vector<int8_t>{S, S, R, S, S, R, S, R, R}));
}

TEST(DataBinaryTree, OneWordSentenceHasNoParentheses) {
  auto s = parseBinaryTree("Yes");
  ASSERT_TRUE(s.isOk()) << s.status().message();
  EXPECT_EQ(s->tokens, std::vector<std::string>{"Yes"});
  EXPECT_EQ(s->transitions, std::vector<int8_t>{S});
}

TEST(DataBinaryTree, SplitsOnAsciiSpaceOnly) {
  // U+00A0 and tabs are part of a token; runs of spaces are one separator.
  auto s = parseBinaryTree("(  8\xc2\xa0"
                           "1/2  a\tb )");
  ASSERT_TRUE(s.isOk()) << s.status().message();
  EXPECT_EQ(s->tokens, (std::vector<std::string>{"8\xc2\xa0"
                                                 "1/2",
                                                 "a\tb"}));
}

TEST(DataBinaryTree, RejectsUnbalancedParentheses) {
  EXPECT_NE(parseError("( a b").find("unbalanced"), std::string::npos);
  EXPECT_NE(parseError("a b )").find("unbalanced"), std::string::npos);
  EXPECT_NE(parseError("( a b ) )").find("unbalanced"), std::string::npos);
  EXPECT_NE(parseError("( ( ( a b )").find("2 '(' never closed"), std::string::npos);
}

TEST(DataBinaryTree, RejectsNonBinaryTrees) {
  EXPECT_NE(parseError("( a b c )").find("3 children"), std::string::npos);
  EXPECT_NE(parseError("( ( a b ) )").find("1 children"), std::string::npos);
  // Balanced, and its transitions would even be valid: the unary `( b )` is still wrong.
  EXPECT_NE(parseError("( a ( b ) c )").find("not a binary tree"), std::string::npos);
  EXPECT_NE(parseError("( )").find("0 children"), std::string::npos);
  EXPECT_NE(parseError("a b").find("2 items at the top level"), std::string::npos);
  EXPECT_NE(parseError("( a b ) ( c d )").find("top level"), std::string::npos);
}

TEST(DataBinaryTree, RejectsEmptyParse) {
  EXPECT_NE(parseError("").find("empty"), std::string::npos);
  EXPECT_NE(parseError("    ").find("empty"), std::string::npos);
}

TEST(DataBinaryTree, DeepNestingIsAnErrorNotACrash) {
  std::string deep;
  for (int i = 0; i < 1'000'000; ++i)
    deep += "( ";
  EXPECT_NE(parseError(deep + "a").find("never closed"), std::string::npos);
  std::string closes;
  for (int i = 0; i < 1'000'000; ++i)
    closes += " )";
  EXPECT_NE(parseError("a" + closes).find("unbalanced"), std::string::npos);
}

TEST(DataBinaryTree, FormatIsTheInverseOfParse) {
  for (const char* text : {"a", "( a b )", "( ( ( ( [MAX 1 ) 7 ) 2 ) ] )",
                           "( ( The cat ) ( ( sat ( on ( the mat ) ) ) . ) )"}) {
    auto s = parseBinaryTree(text);
    ASSERT_TRUE(s.isOk()) << text << ": " << s.status().message();
    auto back = formatBinaryTree(*s);
    ASSERT_TRUE(back.isOk()) << back.status().message();
    EXPECT_EQ(*back, text);
  }
  EXPECT_FALSE(formatBinaryTree(Sentence{{"a", "b c"}, {S, S, R}}).isOk());
  EXPECT_FALSE(formatBinaryTree(Sentence{{"a", ")"}, {S, S, R}}).isOk());
  EXPECT_FALSE(formatBinaryTree(Sentence{{"a", "b"}, {S, R, S}}).isOk());
}

TEST(DataBinaryTree, ValidateTransitions) {
  EXPECT_TRUE(validateTransitions(Sentence{{"a", "b", "c"}, {S, S, R, S, R}}).isOk());
  EXPECT_TRUE(validateTransitions(Sentence{{"a", "b", "c"}, {S, S, S, R, R}}).isOk());
  EXPECT_FALSE(validateTransitions(Sentence{{}, {}}).isOk());
  EXPECT_FALSE(validateTransitions(Sentence{{"a"}, {}}).isOk());
  EXPECT_FALSE(validateTransitions(Sentence{{"a", "b"}, {S, R, S}}).isOk());    // reduce too early
  EXPECT_FALSE(validateTransitions(Sentence{{"a", "b"}, {S, S}}).isOk());       // two items left
  EXPECT_FALSE(validateTransitions(Sentence{{"a"}, {S, S}}).isOk());            // too many shifts
  EXPECT_FALSE(validateTransitions(Sentence{{"a", "b"}, {S, S, R, R}}).isOk()); // reduce on one
  EXPECT_FALSE(validateTransitions(Sentence{{"a", "b"}, {S, S, kPad}}).isOk()); // pad inside
}

} // namespace
} // namespace cairn::data
