// Op example tests: ir/OpExamples.def has exactly one example per op of
// ir/Ops.def, and each one is what the op reference (docs/ops.md) promises:
// canonical text that parses, verifies, prints back byte for byte, uses its
// op, and runs in the reference interpreter. The IR examples in the
// hand-written docs/ir.md are held to the same standard.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "ir/OpKind.h"
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "runtime/reference/Interpreter.h"

using namespace cairn;

namespace {

struct OpExample {
  OpKind kind;
  std::string_view text;
};

constexpr OpExample kExamples[] = {
#define CAIRN_OP_EXAMPLE(Enum, Text) {OpKind::Enum, Text},
#include "ir/OpExamples.def"
};

constexpr size_t kNumOps = 0
#define CAIRN_OP(...) +1
#include "ir/Ops.def"
    ;

// Exactly one example per op, in table order: a missing, duplicated or
// misplaced entry fails the build rather than a test.
constexpr bool examplesFollowTheTable() {
  for (size_t i = 0; i < std::size(kExamples); ++i)
    if (kExamples[i].kind != static_cast<OpKind>(i)) return false;
  return true;
}
static_assert(std::size(kExamples) == kNumOps,
              "ir/OpExamples.def needs exactly one CAIRN_OP_EXAMPLE per op of ir/Ops.def");
static_assert(examplesFollowTheTable(),
              "ir/OpExamples.def must list the ops in ir/Ops.def's order, one entry each");

TEST(OpExamplesTest, OneExamplePerOp) {
  size_t count = 0;
  const OpInfo* ops = allOps(&count);
  ASSERT_EQ(count, std::size(kExamples));
  for (size_t i = 0; i < count; ++i) {
    int found = 0;
    for (const OpExample& e : kExamples)
      found += e.kind == ops[i].kind;
    EXPECT_EQ(found, 1) << "op '" << ops[i].mnemonic << "'";
  }
}

/// Ones of `type`, with every `?` dim taken as 3.
Tensor onesOf(TensorType type) {
  for (int64_t& d : type.shape)
    if (d == kDynamic) d = 3;
  Tensor t(type);
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.setDouble(i, 1.0);
  return t;
}

class OpExampleTest : public ::testing::TestWithParam<size_t> {
protected:
  const OpExample& example() const { return kExamples[GetParam()]; }
  std::string_view mnemonic() const { return opName(example().kind); }
};

TEST_P(OpExampleTest, ParsesVerifiesRoundTripsAndRuns) {
  const OpExample& e = example();
  std::string filename = std::string(mnemonic()) + ".example.cairn";
  auto parsed = parseModule(e.text, filename);
  ASSERT_TRUE(parsed.isOk()) << parsed.status().message() << "\n" << e.text;
  const Module& m = **parsed;
  ASSERT_FALSE(m.functions().empty());

  Status v = verify(m);
  EXPECT_TRUE(v.isOk()) << v.message() << "\n" << e.text;

  EXPECT_EQ(printModule(m), e.text) << "the example is not in printed (canonical) form";

  EXPECT_NE(e.text.find(mnemonic()), std::string_view::npos);
  int uses = 0;
  for (const auto& f : m.functions())
    walk(*f, [&](Op& op) { uses += op.kind() == e.kind; });
  EXPECT_GE(uses, 1) << "the example never uses '" << mnemonic() << "'";
  if (!v.isOk()) return;

  const Function& f = *m.functions().front();
  std::vector<Tensor> inputs;
  for (const TensorType& t : f.argumentTypes())
    inputs.push_back(onesOf(t));
  InterpreterOptions opts;
  opts.defaultMaxTrip = 1000; // an example loop without max_trip must still end
  auto results = interpret(f, inputs, opts);
  ASSERT_TRUE(results.isOk()) << results.status().message() << "\n" << e.text;
  EXPECT_EQ(results->size(), f.resultTypes.size());
}

INSTANTIATE_TEST_SUITE_P(OpExamples, OpExampleTest,
                         ::testing::Range<size_t>(0, std::size(kExamples)),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           return std::string(opName(kExamples[info.param].kind));
                         });

/// The contents of every ```mlir block of a Markdown text.
std::vector<std::string> mlirBlocks(const std::string& markdown) {
  std::vector<std::string> blocks;
  const std::string open = "```mlir\n", close = "```";
  for (size_t at = markdown.find(open); at != std::string::npos; at = markdown.find(open, at)) {
    size_t begin = at + open.size();
    size_t end = markdown.find(close, begin);
    if (end == std::string::npos) break;
    blocks.push_back(markdown.substr(begin, end - begin));
    at = end + close.size();
  }
  return blocks;
}

TEST(OpExamplesTest, IrDocExamplesVerifyAndAreCanonical) {
  std::ifstream in(std::string(CAIRN_SOURCE_DIR) + "/docs/ir.md", std::ios::binary);
  ASSERT_TRUE(in) << "cannot read docs/ir.md";
  std::stringstream ss;
  ss << in.rdbuf();
  std::vector<std::string> blocks = mlirBlocks(ss.str());
  ASSERT_FALSE(blocks.empty());
  for (const std::string& text : blocks) {
    auto parsed = parseModule(text, "docs/ir.md");
    ASSERT_TRUE(parsed.isOk()) << parsed.status().message() << "\n" << text;
    Status v = verify(**parsed);
    EXPECT_TRUE(v.isOk()) << v.message() << "\n" << text;
    EXPECT_EQ(printModule(**parsed), text);
  }
}

} // namespace
