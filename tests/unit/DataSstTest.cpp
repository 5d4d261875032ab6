// SST reader on the real PTB tree files (counts, root-label histograms,
// node counts, lengths, the U+00A0 tokens) and on scratch files with each
// kind of malformed tree, reported with line numbers in both modes.
#include <algorithm>
#include <chrono>

#include <gtest/gtest.h>

#include "DataTestUtil.h"
#include "frontend/data/Dataset.h"

namespace cairn::data {
namespace {

using testing::ScratchFile;
using testing::sharedDataDir;

struct SstFile {
  const char* name;
  size_t trees;
  int64_t histogram[5];
  int64_t labeledNodes;
  size_t longest;
};

void PrintTo(const SstFile& f, std::ostream* os) { *os << f.name; }

class DataSstReal : public ::testing::TestWithParam<SstFile> {};

TEST_P(DataSstReal, CountsLabelsNodesAndTransitions) {
  const SstFile& f = GetParam();
  std::string rel = std::string("sst/") + f.name + ".txt";
  CAIRN_REQUIRE_DATA(rel);
  auto start = std::chrono::steady_clock::now();
  auto examples = readSst(sharedDataDir() + "/" + rel);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(examples.isOk()) << examples.status().message();
  std::printf("[ read     ] sst/%s.txt: %zu trees in %.3f s\n", f.name, examples->size(), seconds);
  ASSERT_EQ(examples->size(), f.trees);

  int64_t histogram[5] = {};
  int64_t nodes = 0;
  size_t longest = 0;
  for (size_t i = 0; i < examples->size(); ++i) {
    const TreeExample& ex = (*examples)[i];
    EXPECT_EQ(ex.line, static_cast<int64_t>(i) + 1);
    ASSERT_TRUE(ex.label >= 0 && ex.label <= 4);
    ++histogram[ex.label];
    Status valid = validateTransitions(ex.sentence);
    ASSERT_TRUE(valid.isOk()) << "line " << ex.line << ": " << valid.message();
    nodes += static_cast<int64_t>(ex.sentence.transitions.size()); // one step per node
    longest = std::max(longest, ex.sentence.tokens.size());
  }
  for (int l = 0; l < 5; ++l)
    EXPECT_EQ(histogram[l], f.histogram[l]) << "root label " << l;
  EXPECT_EQ(nodes, f.labeledNodes);
  EXPECT_EQ(longest, f.longest);
}

INSTANTIATE_TEST_SUITE_P(
    Splits, DataSstReal,
    ::testing::Values(SstFile{"train", 8544, {1092, 2218, 1624, 2322, 1288}, 318582, 52},
                      SstFile{"dev", 1101, {139, 289, 229, 279, 165}, 41447, 49},
                      SstFile{"test", 2210, {279, 633, 389, 510, 399}, 82600, 56}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(DataSst, FirstTree) {
  CAIRN_REQUIRE_DATA("sst/train.txt");
  auto examples = readSst(sharedDataDir() + "/sst/train.txt");
  ASSERT_TRUE(examples.isOk()) << examples.status().message();
  const Sentence& s = examples->front().sentence;
  EXPECT_EQ(examples->front().label, 3);
  ASSERT_GE(s.tokens.size(), 4u);
  EXPECT_EQ(std::vector<std::string>(s.tokens.begin(), s.tokens.begin() + 4),
            (std::vector<std::string>{"The", "Rock", "is", "destined"}));
  // `(3 (2 (2 The) (2 Rock)) (4 ...`: shift The, shift Rock, reduce, ...
  EXPECT_EQ(std::vector<int8_t>(s.transitions.begin(), s.transitions.begin() + 4),
            (std::vector<int8_t>{kShift, kShift, kReduce, kShift}));
}

TEST(DataSst, NoBreakSpaceStaysInsideOneToken) {
  CAIRN_REQUIRE_DATA("sst/train.txt");
  auto examples = readSst(sharedDataDir() + "/sst/train.txt");
  ASSERT_TRUE(examples.isOk()) << examples.status().message();
  std::vector<std::pair<int64_t, std::string>> found;
  for (const TreeExample& ex : *examples)
    for (const std::string& token : ex.sentence.tokens)
      if (token.find("\xc2\xa0") != std::string::npos) found.emplace_back(ex.line, token);
  const std::string half = "\xc2\xa0"
                           "1\\/2"; // `N\u00a01\/2`: N and a half
  EXPECT_EQ(found, (std::vector<std::pair<int64_t, std::string>>{
                       {4342, "8" + half}, {5799, "2" + half}, {7409, "2" + half}}));
}

TEST(DataSst, SmallTreeExactly) {
  ScratchFile f(".txt");
  f.write("(3 (2 The) (2 Rock))\n(1 (2 a) (0 (3 b) (4 c)))\n(4 Yes)\n");
  auto examples = readSst(f.path());
  ASSERT_TRUE(examples.isOk()) << examples.status().message();
  ASSERT_EQ(examples->size(), 3u);
  EXPECT_EQ((*examples)[0].label, 3);
  EXPECT_EQ((*examples)[0].sentence.tokens, (std::vector<std::string>{"The", "Rock"}));
  EXPECT_EQ((*examples)[0].sentence.transitions, (std::vector<int8_t>{kShift, kShift, kReduce}));
  EXPECT_EQ((*examples)[1].label, 1);
  EXPECT_EQ((*examples)[1].sentence.transitions,
            (std::vector<int8_t>{kShift, kShift, kShift, kReduce, kReduce}));
  EXPECT_EQ((*examples)[2].label, 4);
  EXPECT_EQ((*examples)[2].sentence.tokens, std::vector<std::string>{"Yes"});
}

TEST(DataSst, MalformedTreesNamedInBothModes) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"(5 (2 a) (2 b))", "bad node label '5'"},
      {"(3 (a) (2 b))", "bad node label 'a'"},
      {"(3 (2 a) (2 b) (2 c))", "3 subtrees"},
      {"(3 (2 (2 a)))", "1 subtrees"},
      {"(3 (2 a b) (2 c))", "more than one word"},
      {"(3 (2 a) (2 b)", "never closed"},
      {"(3 (2 a) (2 b)))", "unbalanced"},
      {"(3 (2 a) (2 b)) (2 c)", "after the end"},
      {"(3 (2 a (2 x)) (2 b))", "both a word and a subtree"},
      {"(3 (2 a) (2 b)) c", "outside the tree"},
      {"()", "no label"},
      {"just words", "outside the tree"},
  };
  for (const auto& [line, what] : bad) {
    SCOPED_TRACE(line);
    ScratchFile f(".txt");
    f.write("(2 (2 ok) (2 fine))\n(2 (2 ok) (2 fine))\n" + line + "\n(4 good)\n");
    std::string where = f.path() + ":3: ";
    auto strict = readSst(f.path());
    ASSERT_FALSE(strict.isOk());
    EXPECT_EQ(strict.status().message().rfind(where, 0), 0u) << strict.status().message();
    EXPECT_NE(strict.status().message().find(what), std::string::npos) << strict.status().message();

    std::vector<std::string> warnings;
    auto lenient = readSst(f.path(), {true, &warnings});
    ASSERT_TRUE(lenient.isOk()) << lenient.status().message();
    EXPECT_EQ(lenient->size(), 3u);
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_EQ(warnings[0].rfind(where, 0), 0u) << warnings[0];
  }
}

TEST(DataSst, DeepNestingIsAnErrorNotACrash) {
  std::string deep;
  for (int i = 0; i < 1'000'000; ++i)
    deep += "(2 ";
  ScratchFile f(".txt");
  f.write(deep + "a" + std::string(1'000'000, ')') + "\n");
  auto examples = readSst(f.path());
  ASSERT_FALSE(examples.isOk());
  EXPECT_NE(examples.status().message().find("1 subtrees"), std::string::npos);
}

} // namespace
} // namespace cairn::data
