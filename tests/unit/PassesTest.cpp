// Unit tests of the pass infrastructure (registry, pipeline) and of each
// rewrite: every canonicalization pattern fires on its example and leaves
// results unchanged, and the cases that must not fire do not.
#include <set>
#include <sstream>

#include "PassesTestUtil.h"
#include "compiler/PassRegistry.h"
#include "compiler/passes/CSE.h"
#include "compiler/passes/Canonicalize.h"
#include "compiler/passes/DCE.h"

namespace cairn {
namespace {

using passtest::countAllOps;
using passtest::countOps;
using passtest::expectPreservesResults;
using passtest::parseOk;

//===--- Registry and pipeline ---------------------------------------------===//

TEST(PassRegistryTest, ListsBuiltinPassesInPipelineOrder) {
  std::vector<std::string> names;
  for (const PassInfo& info : PassRegistry::global().passes()) {
    names.push_back(info.name);
    EXPECT_FALSE(info.description.empty()) << info.name;
  }
  ASSERT_GE(names.size(), 3u);
  EXPECT_EQ(std::vector<std::string>(names.begin(), names.begin() + 3),
            (std::vector<std::string>{"canonicalize", "cse", "dce"}));
}

TEST(PassRegistryTest, CreatesPassesByName) {
  for (const char* name : {"canonicalize", "cse", "dce"}) {
    auto pass = PassRegistry::global().create(name);
    ASSERT_TRUE(pass.isOk()) << pass.status().message();
    EXPECT_EQ((*pass)->name(), name);
  }
}

TEST(PassRegistryTest, UnknownNameListsKnownPasses) {
  auto pass = PassRegistry::global().create("frobnicate");
  ASSERT_FALSE(pass.isOk());
  EXPECT_NE(pass.status().message().find("unknown pass 'frobnicate'"), std::string::npos);
  EXPECT_NE(pass.status().message().find("canonicalize, cse, dce"), std::string::npos);
}

const char* kSmall = R"(
func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = tanh %x : tensor<4xf32>
  %b = tanh %x : tensor<4xf32>
  %c = add %a, %b : tensor<4xf32>
  %d = exp %c : tensor<4xf32>
  return %c
}
)";

TEST(PipelineTest, DefaultPipelineIsCanonicalizeCseDce) {
  EXPECT_EQ(defaultPipeline(), (std::vector<std::string>{"canonicalize", "cse", "dce"}));
  auto named = lookupPipeline("default");
  ASSERT_TRUE(named.isOk());
  EXPECT_EQ(*named, defaultPipeline());
  EXPECT_FALSE(lookupPipeline("fastest").isOk());
}

TEST(PipelineTest, UnknownPassFailsBeforeAnyPassRuns) {
  auto m = parseOk(kSmall);
  std::string before = printModule(*m);
  Status s = runPipeline(*m, {"cse", "nope"});
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("unknown pass 'nope'"), std::string::npos);
  EXPECT_EQ(printModule(*m), before);
}

TEST(PipelineTest, PrintAfterAllDumpsEachPassInOrder) {
  auto m = parseOk(kSmall);
  std::ostringstream dumps;
  PipelineOptions opts;
  opts.printAfterAll = true;
  opts.irStream = &dumps;
  ASSERT_TRUE(runPipeline(*m, {"cse", "dce"}, opts).isOk());
  std::string text = dumps.str();
  size_t cse = text.find("// -----// IR Dump After cse //----- //\nfunc @f");
  size_t dce = text.find("// -----// IR Dump After dce //----- //\nfunc @f");
  ASSERT_NE(cse, std::string::npos) << text;
  ASSERT_NE(dce, std::string::npos) << text;
  EXPECT_LT(cse, dce);
  // The dump after cse still has the dead exp; the one after dce does not.
  EXPECT_NE(text.substr(cse, dce - cse).find("exp"), std::string::npos);
  EXPECT_EQ(text.substr(dce).find("exp"), std::string::npos);
}

TEST(PipelineTest, TimePassesReportsEveryPass) {
  auto m = parseOk(kSmall);
  std::ostringstream report;
  PipelineOptions opts;
  opts.timePasses = true;
  opts.timingStream = &report;
  ASSERT_TRUE(runPipeline(*m, defaultPipeline(), opts).isOk());
  std::string text = report.str();
  for (const char* s : {"Total Execution Time", "canonicalize\n", "cse\n", "dce\n", "Total\n"})
    EXPECT_NE(text.find(s), std::string::npos) << s << " missing in\n" << text;
}

/// Removes the return of every function: invalid IR, for the verifier to catch.
class BreakIRPass : public Pass {
public:
  std::string_view name() const override { return "test-break-ir"; }
  StatusOr<bool> run(Module& m) override {
    for (auto& f : m.functions())
      if (Op* ret = f->body().terminator()) f->body().erase(ret);
    return true;
  }
};

class FailingPass : public Pass {
public:
  std::string_view name() const override { return "test-fail"; }
  StatusOr<bool> run(Module&) override { return errorf("cannot handle this"); }
};

void registerTestPasses() {
  static bool done = [] {
    PassRegistry::global().registerPass("test-break-ir", "breaks the IR (tests only)",
                                        [] { return std::make_unique<BreakIRPass>(); });
    PassRegistry::global().registerPass("test-fail", "always fails (tests only)",
                                        [] { return std::make_unique<FailingPass>(); });
    return true;
  }();
  (void)done;
}

TEST(PipelineTest, VerifyEachNamesThePassThatBrokeTheIR) {
  registerTestPasses();
  auto m = parseOk(kSmall);
  Status s = runPipeline(*m, {"cse", "test-break-ir", "dce"});
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("internal error: pass 'test-break-ir' produced invalid IR"),
            std::string::npos)
      << s.message();
}

TEST(PipelineTest, WithoutVerifyEachABrokenPassGoesUnnoticed) {
  registerTestPasses();
  auto m = parseOk(kSmall);
  PipelineOptions opts;
  opts.verifyEach = false;
  EXPECT_TRUE(runPipeline(*m, {"test-break-ir"}, opts).isOk());
}

TEST(PipelineTest, PassErrorsNameThePass) {
  registerTestPasses();
  auto m = parseOk(kSmall);
  Status s = runPipeline(*m, {"cse", "test-fail"});
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(s.message(), "pass 'test-fail' failed: cannot handle this");
}

//===--- Canonicalize: each pattern fires -----------------------------------===//

struct PatternCase {
  const char* pattern;
  const char* text;
  OpKind gone; ///< no op of this kind is left after canonicalize + dce
};

void PrintTo(const PatternCase& c, std::ostream* os) { *os << c.pattern; }

const PatternCase kPatternCases[] = {
    {"add-zero", R"(func @f(%x: tensor<3xi32>) -> tensor<3xi32> {
  %z = constant 0 : tensor<3xi32>
  %a = add %z, %x : tensor<3xi32>
  return %a
})",
     OpKind::Add},
    {"sub-zero", R"(func @f(%x: tensor<3xf32>) -> tensor<3xf32> {
  %z = constant 0.0 : tensor<3xf32>
  %a = sub %x, %z : tensor<3xf32>
  return %a
})",
     OpKind::Sub},
    {"mul-one", R"(func @f(%x: tensor<3xbf16>) -> tensor<3xbf16> {
  %o = constant 1.0 : tensor<3xbf16>
  %a = mul %o, %x : tensor<3xbf16>
  return %a
})",
     OpKind::Mul},
    {"mul-zero", R"(func @f(%x: tensor<3xi64>) -> tensor<3xi64> {
  %z = constant 0 : tensor<3xi64>
  %a = mul %x, %z : tensor<3xi64>
  return %a
})",
     OpKind::Mul},
    {"div-one", R"(func @f(%x: tensor<3xi32>) -> tensor<3xi32> {
  %o = constant 1 : tensor<3xi32>
  %a = div %x, %o : tensor<3xi32>
  return %a
})",
     OpKind::Div},
    {"neg-neg", R"(func @f(%x: tensor<3xf16>) -> tensor<3xf16> {
  %a = neg %x : tensor<3xf16>
  %b = neg %a : tensor<3xf16>
  return %b
})",
     OpKind::Neg},
    {"not-not", R"(func @f(%x: tensor<3xi32>) -> tensor<3xi32> {
  %a = not %x : tensor<3xi32>
  %b = not %a : tensor<3xi32>
  return %b
})",
     OpKind::Not},
    {"transpose-identity", R"(func @f(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  %a = transpose %x {perm = [0, 1, 2]} : tensor<2x3x4xf32>
  return %a
})",
     OpKind::Transpose},
    {"reshape-same-type", R"(func @f(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %a = reshape %x : tensor<2x3xf32>
  return %a
})",
     OpKind::Reshape},
    {"reshape-reshape", R"(func @f(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %a = reshape %x : tensor<6xf32>
  %b = reshape %a : tensor<3x2xf32>
  %c = reshape %b : tensor<2x3xf32>
  return %c
})",
     OpKind::Reshape},
    {"cast-same-type", R"(func @f(%x: tensor<?xi64>) -> tensor<?xi64> {
  %a = cast %x : tensor<?xi64>
  return %a
})",
     OpKind::Cast},
    {"broadcast-same-type", R"(func @f(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %a = broadcast %x {dims = [0, 1]} : tensor<2x3xf32>
  return %a
})",
     OpKind::Broadcast},
    {"concat-single", R"(func @f(%x: tensor<?x3xf32>) -> tensor<?x3xf32> {
  %a = concat %x {axis = 1} : tensor<?x3xf32>
  return %a
})",
     OpKind::Concat},
    {"slice-whole", R"(func @f(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %a = slice %x {limit = [2, 3], start = [0, 0]} : tensor<2x3xf32>
  return %a
})",
     OpKind::Slice},
    {"dim-static", R"(func @f(%x: tensor<5x?xf32>) -> tensor<i64> {
  %a = dim %x {axis = 0} : tensor<i64>
  return %a
})",
     OpKind::Dim},
    {"dim-of-elementwise", R"(func @f(%x: tensor<?x3xf32>, %y: tensor<?x3xf32>) -> tensor<i64> {
  %m = mul %x, %y : tensor<?x3xf32>
  %a = dim %m {axis = 0} : tensor<i64>
  return %a
})",
     OpKind::Mul},
    {"dim-of-gather", R"(func @f(%x: tensor<?x?x3xf32>, %i: tensor<?xi32>) -> (tensor<i64>, tensor<i64>) {
  %g = gather %x, %i {axis = 1, batch_dims = 0} : tensor<?x?x3xf32>
  %a = dim %g {axis = 0} : tensor<i64>
  %b = dim %g {axis = 1} : tensor<i64>
  return %a, %b
})",
     OpKind::Gather},
    {"dim-of-transpose", R"(func @f(%x: tensor<?x?x3xf32>) -> (tensor<i64>, tensor<i64>) {
  %t = transpose %x {perm = [1, 2, 0]} : tensor<?x3x?xf32>
  %a = dim %t {axis = 0} : tensor<i64>
  %b = dim %t {axis = 2} : tensor<i64>
  return %a, %b
})",
     OpKind::Transpose},
    // An exporter's Shape read at a constant index, and sliced: the concat
    // goes, each read takes its piece.
    {"gather-of-concat", R"(func @f(%a: tensor<2xi64>, %b: tensor<3xi64>) -> tensor<2xi64> {
  %c = concat %a, %b {axis = 0} : tensor<5xi64>
  %i = constant [4, 2] : tensor<2xi32>
  %g = gather %c, %i {axis = 0, batch_dims = 0} : tensor<2xi64>
  return %g
})",
     OpKind::Concat},
    {"slice-of-concat", R"(func @f(%a: tensor<2x4xf32>, %b: tensor<3x4xf32>) -> tensor<2x2xf32> {
  %c = concat %a, %b {axis = 0} : tensor<5x4xf32>
  %s = slice %c {start = [2, 1], limit = [5, 4], stride = [2, 2]} : tensor<2x2xf32>
  return %s
})",
     OpKind::Concat},
    {"select",
     R"(func @f(%p: tensor<3xi1>, %x: tensor<3xf32>, %y: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>) {
  %t = constant [true, true, true] : tensor<3xi1>
  %a = select %t, %x, %y : tensor<3xf32>
  %b = select %p, %y, %y : tensor<3xf32>
  return %a, %b
})",
     OpKind::Select},
    {"if-constant", R"(func @f(%x: tensor<3xf32>) -> tensor<3xf32> {
  %t = constant false : tensor<i1>
  %r = if %t -> (tensor<3xf32>) {
    yield %x
  } else {
    %e = exp %x : tensor<3xf32>
    yield %e
  }
  return %r
})",
     OpKind::If},
    {"while-false", R"(func @f(%x: tensor<3xf32>) -> tensor<3xf32> {
  %r = while (%h = %x) : (tensor<3xf32>) cond {
    %f = constant false : tensor<i1>
    yield %f
  } body {
    %e = exp %h : tensor<3xf32>
    yield %e
  }
  return %r
})",
     OpKind::While},
    // The loop's only use reads the invariant value: after the rewrite DCE
    // drops the whole loop.
    {"while-invariant-carried", R"(func @f(%x: tensor<3xf32>, %n: tensor<i32>) -> tensor<3xf32> {
  %z = constant 0 : tensor<i32>
  %r:2 = while (%i = %z, %h = %x) : (tensor<i32>, tensor<3xf32>) cond {
    %go = lt %i, %n : tensor<i1>
    yield %go
  } body {
    %one = constant 1 : tensor<i32>
    %j = add %i, %one : tensor<i32>
    yield %j, %h
  }
  return %r#1
})",
     OpKind::While},
};

class PatternFires : public ::testing::TestWithParam<PatternCase> {};

TEST_P(PatternFires, RewritesAndPreservesResults) {
  const PatternCase& c = GetParam();
  auto m = parseOk(c.text);
  ASSERT_TRUE(m);
  CanonicalizeStats stats;
  CanonicalizeOptions opts;
  opts.fold = false; // the pattern, not folding, must do the work
  auto changed = canonicalize(*m, opts, &stats);
  ASSERT_TRUE(changed.isOk());
  EXPECT_TRUE(*changed);
  EXPECT_GE(stats.count(c.pattern), 1) << printModule(*m);
  ASSERT_TRUE(eliminateDeadCode(*m).isOk());
  EXPECT_TRUE(verify(*m).isOk()) << printModule(*m);
  EXPECT_EQ(countOps(*m, c.gone), 0) << printModule(*m);
  expectPreservesResults(c.text, {"canonicalize"});
}

INSTANTIATE_TEST_SUITE_P(Canonicalize, PatternFires, ::testing::ValuesIn(kPatternCases),
                         [](const ::testing::TestParamInfo<PatternCase>& info) {
                           std::string name = info.param.pattern;
                           for (char& ch : name)
                             if (ch == '-') ch = '_';
                           return name;
                         });

TEST(CanonicalizeTest, EveryPatternHasATest) {
  std::set<std::string> tested;
  for (const PatternCase& c : kPatternCases)
    tested.insert(c.pattern);
  for (const std::string& name : canonicalizePatternNames())
    EXPECT_TRUE(tested.count(name)) << "pattern " << name << " has no PatternFires case";
}

} // namespace
} // namespace cairn
