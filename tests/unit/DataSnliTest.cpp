// SNLI reader on the real files (counts, labels, lengths, valid transitions)
// and on scratch files: plain vs gzip, `-` labels, malformed lines reported
// with their line numbers in both modes, truncated or corrupt gzip.
#include <algorithm>
#include <chrono>

#include <gtest/gtest.h>

#include "DataTestUtil.h"
#include "frontend/data/Dataset.h"

namespace cairn::data {
namespace {

using testing::ScratchFile;
using testing::sharedDataDir;

struct SnliFile {
  const char* name;
  size_t usable;
  int64_t entailment, neutral, contradiction;
  size_t longest;
};

void PrintTo(const SnliFile& f, std::ostream* os) { *os << f.name; }

class DataSnliReal : public ::testing::TestWithParam<SnliFile> {};

TEST_P(DataSnliReal, CountsLabelsLengthsAndTransitions) {
  const SnliFile& f = GetParam();
  std::string rel = std::string("snli/") + f.name;
  CAIRN_REQUIRE_DATA(rel);
  auto start = std::chrono::steady_clock::now();
  std::vector<std::string> warnings;
  auto examples = readSnli(sharedDataDir() + "/" + rel, {false, &warnings});
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(examples.isOk()) << examples.status().message();
  std::printf("[ read     ] %s: %zu pairs in %.3f s\n", f.name, examples->size(), seconds);
  EXPECT_TRUE(warnings.empty());
  ASSERT_EQ(examples->size(), f.usable);

  int64_t histogram[3] = {0, 0, 0};
  size_t longest = 0;
  int64_t lastLine = 0;
  for (const NliExample& ex : *examples) {
    ASSERT_TRUE(ex.label >= 0 && ex.label <= 2);
    ++histogram[ex.label];
    EXPECT_GT(ex.line, lastLine); // file order, 1-based lines
    lastLine = ex.line;
    for (const Sentence* s : {&ex.premise, &ex.hypothesis}) {
      longest = std::max(longest, s->tokens.size());
      Status valid = validateTransitions(*s);
      ASSERT_TRUE(valid.isOk()) << "line " << ex.line << ": " << valid.message();
      ASSERT_EQ(s->transitions.size(), 2 * s->tokens.size() - 1);
    }
  }
  EXPECT_EQ(histogram[0], f.entailment);
  EXPECT_EQ(histogram[1], f.neutral);
  EXPECT_EQ(histogram[2], f.contradiction);
  EXPECT_EQ(longest, f.longest);
}

INSTANTIATE_TEST_SUITE_P(
    Files, DataSnliReal,
    ::testing::Values(SnliFile{"snli_1.0_dev.jsonl.gz", 9842, 3329, 3235, 3278, 59},
                      SnliFile{"snli_1.0_test.jsonl.gz", 9824, 3368, 3219, 3237, 57},
                      SnliFile{"snli_1.0_train_0.01.jsonl.gz", 5498, 1806, 1786, 1906, 82},
                      SnliFile{"snli_1.0_train_first1024.jsonl.gz", 1022, 343, 338, 341, 49}),
    [](const auto& info) {
      std::string n = info.param.name;
      n = n.substr(9, n.find(".jsonl") - 9); // after "snli_1.0_"
      std::replace(n.begin(), n.end(), '.', '_');
      return n;
    });

TEST(DataSnli, FirstTrainingPair) {
  CAIRN_REQUIRE_DATA("snli/snli_1.0_train_first1024.jsonl.gz");
  auto examples = readSnli(sharedDataDir() + "/snli/snli_1.0_train_first1024.jsonl.gz");
  ASSERT_TRUE(examples.isOk()) << examples.status().message();
  const NliExample& ex = examples->front();
  EXPECT_EQ(ex.line, 1);
  EXPECT_EQ(ex.label, 1); // neutral
  EXPECT_EQ(ex.premise.tokens,
            (std::vector<std::string>{"A", "person", "on", "a", "horse", "jumps", "over", "a",
                                      "broken", "down", "airplane", "."}));
}

/// One SNLI line (with its '\n') with the given label and parses.
std::string snliLine(const std::string& label, const std::string& p1 = "( a b )",
                     const std::string& p2 = "c") {
  return fmt::format(R"({{"gold_label": "{}", "sentence1": "x", "sentence1_binary_parse": "{}", )"
                     R"("sentence2_binary_parse": "{}", "annotator_labels": ["{}"]}})",
                     label, p1, p2, label) +
         "\n";
}

TEST(DataSnli, PlainAndGzipReadAlike) {
  std::string text = snliLine("entailment") + snliLine("-") + snliLine("contradiction", "x", "y");
  ScratchFile plain(".jsonl"), gz(".jsonl.gz");
  plain.write(text);
  gz.writeGzip(text);
  for (const std::string& path : {plain.path(), gz.path()}) {
    std::vector<std::string> warnings;
    auto examples = readSnli(path, {false, &warnings});
    ASSERT_TRUE(examples.isOk()) << examples.status().message();
    ASSERT_EQ(examples->size(), 2u); // `-` dropped, and not as malformed
    EXPECT_TRUE(warnings.empty());
    EXPECT_EQ((*examples)[0].label, 0);
    EXPECT_EQ((*examples)[0].premise.tokens, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ((*examples)[0].hypothesis.transitions, std::vector<int8_t>{kShift});
    EXPECT_EQ((*examples)[1].label, 2);
    EXPECT_EQ((*examples)[1].line, 3);
  }
}

TEST(DataSnli, WindowsLineEndingsAndBlankLines) {
  ScratchFile f(".jsonl");
  std::string line = snliLine("neutral");
  line.insert(line.size() - 1, "\r");
  f.write("\n" + line + "   \n" + snliLine("neutral").substr(0, line.size() - 2)); // no final \n
  auto examples = readSnli(f.path());
  ASSERT_TRUE(examples.isOk()) << examples.status().message();
  ASSERT_EQ(examples->size(), 2u);
  EXPECT_EQ((*examples)[0].line, 2);
  EXPECT_EQ((*examples)[1].line, 4);
}

TEST(DataSnli, MalformedLinesNamedInBothModes) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"{\"gold_label\": \"neutral\",", "invalid JSON"},
      {R"({"gold_label": "neutral", "sentence1_binary_parse": "a"})",
       "missing key 'sentence2_binary_parse'"},
      {snliLine("neutral", "( a b"), "sentence1_binary_parse: unbalanced"},
      {snliLine("neutral", "a", "( a b c )"), "sentence2_binary_parse: not a binary tree"},
      {snliLine("maybe"), "unknown gold_label 'maybe'"},
      {R"(["gold_label", "neutral"])", "not a JSON object"},
      {R"({"gold_label": 1, "sentence1_binary_parse": "a", "sentence2_binary_parse": "b"})",
       "'gold_label' is a number"},
      {snliLine("neutral").substr(0, snliLine("neutral").size() - 1) + " x", "invalid JSON"},
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    SCOPED_TRACE(bad[i].first);
    ScratchFile f(".jsonl");
    std::string line = bad[i].first;
    while (!line.empty() && line.back() == '\n')
      line.pop_back();
    f.write(snliLine("entailment") + line + "\n" + snliLine("neutral"));
    std::string where = f.path() + ":2: ";

    auto strict = readSnli(f.path());
    ASSERT_FALSE(strict.isOk());
    EXPECT_EQ(strict.status().message().rfind(where, 0), 0u) << strict.status().message();
    EXPECT_NE(strict.status().message().find(bad[i].second), std::string::npos)
        << strict.status().message();

    std::vector<std::string> warnings;
    auto lenient = readSnli(f.path(), {true, &warnings});
    ASSERT_TRUE(lenient.isOk()) << lenient.status().message();
    EXPECT_EQ(lenient->size(), 2u);
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_EQ(warnings[0].rfind(where, 0), 0u) << warnings[0];
    EXPECT_NE(warnings[0].find(bad[i].second), std::string::npos) << warnings[0];
  }
}

TEST(DataSnli, TruncatedGzipIsAnErrorInBothModes) {
  CAIRN_REQUIRE_DATA("snli/snli_1.0_dev.jsonl.gz");
  std::string bytes = testing::readBytes(sharedDataDir() + "/snli/snli_1.0_dev.jsonl.gz");
  ScratchFile f(".jsonl.gz");
  f.write(bytes.substr(0, bytes.size() / 3));
  for (bool skip : {false, true}) {
    std::vector<std::string> warnings;
    auto examples = readSnli(f.path(), {skip, &warnings});
    ASSERT_FALSE(examples.isOk());
    EXPECT_NE(examples.status().message().find(f.path() + ": read failed after line"),
              std::string::npos)
        << examples.status().message();
  }
}

TEST(DataSnli, CorruptGzipIsAnError) {
  CAIRN_REQUIRE_DATA("snli/snli_1.0_train_first1024.jsonl.gz");
  std::string bytes =
      testing::readBytes(sharedDataDir() + "/snli/snli_1.0_train_first1024.jsonl.gz");
  for (size_t i = bytes.size() / 2; i < bytes.size() / 2 + 64; ++i)
    bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
  ScratchFile f(".jsonl.gz");
  f.write(bytes);
  auto examples = readSnli(f.path(), {true, nullptr});
  EXPECT_FALSE(examples.isOk());
}

TEST(DataSnli, MissingFileAndBinaryGarbage) {
  auto missing = readSnli("/nonexistent/snli.jsonl");
  ASSERT_FALSE(missing.isOk());
  EXPECT_NE(missing.status().message().find("/nonexistent/snli.jsonl: cannot open"),
            std::string::npos);

  std::string garbage;
  uint32_t x = 12345;
  for (int i = 0; i < 100000; ++i) {
    x = x * 1664525u + 1013904223u;
    garbage += static_cast<char>(x >> 24);
  }
  ScratchFile f(".jsonl");
  f.write(garbage);
  EXPECT_FALSE(readSnli(f.path()).isOk());
  std::vector<std::string> warnings;
  auto lenient = readSnli(f.path(), {true, &warnings});
  ASSERT_TRUE(lenient.isOk()) << lenient.status().message();
  EXPECT_TRUE(lenient->empty());
  EXPECT_FALSE(warnings.empty());
}

TEST(DataSnli, DeeplyNestedJsonIsAnErrorNotACrash) {
  ScratchFile f(".jsonl");
  f.write(std::string(1'000'000, '[') + "\n" + std::string(200'000, '{') + "\n");
  std::vector<std::string> warnings;
  auto examples = readSnli(f.path(), {true, &warnings});
  ASSERT_TRUE(examples.isOk());
  EXPECT_EQ(warnings.size(), 2u);
}

} // namespace
} // namespace cairn::data
