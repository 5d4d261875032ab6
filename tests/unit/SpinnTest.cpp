// The SPINN encoder in PI mode (transitions given) against the per-example
// oracle of SpinnTestReference.h: with and without a tracker, mixed lengths in
// one batch (length 1 included), one graph for every batch size and length,
// results independent of batch companions and padding, and the graph's shape
// (one `while`, nothing static about B or N in its body).
#include <gtest/gtest.h>

#include "SpinnTestReference.h"
#include "PassesTestUtil.h"
#include "compiler/codegen/cpu/CompileExecutable.h"
#include "runtime/reference/Interpreter.h"
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"

namespace cairn {
namespace {

using namespace spinnref;

SpinnConfig piConfig(int64_t tracker) {
  SpinnConfig c;
  c.vocab = 11;
  c.embed = 5;
  c.hidden = 4;
  c.trackerSize = tracker;
  c.mlpHidden = 6;
  c.mlpLayers = 1;
  return c;
}

/// A built encoder with initialized parameters.
struct Encoder {
  explicit Encoder(const SpinnConfig& c, uint64_t seed = 7, double scale = 5.0) : cfg(c) {
    f = buildSpinnEncoder(m, ps, cfg);
    values = ps.initialize(seed);
    for (Tensor& t : values)
      for (int64_t i = 0; i < t.numElements(); ++i)
        t.setDouble(i, t.getDouble(i) * scale);
    params = paramsOf(ps, values);
  }
  /// Compiles the graph and expects its output on `b` within 1e-5 of the
  /// interpreter's.
  void expectCompiledMatches(const Batch& b) {
    auto exe = codegen::cpu::compileExecutable(m);
    ASSERT_TRUE(exe.isOk()) << exe.status().message();
    std::vector<Tensor> args = {b.tokens, b.transitions, b.lengths};
    args.insert(args.end(), values.begin(), values.end());
    auto want = interpret(*f, args);
    auto got = (*exe)->run(f->name, args);
    ASSERT_TRUE(want.isOk() && got.isOk());
    for (int64_t i = 0; i < (*want)[0].numElements(); ++i)
      EXPECT_NEAR((*got)[0].getDouble(i), (*want)[0].getDouble(i), 1e-5) << i;
  }
  /// Runs the graph on `xs` and checks every row against the oracle.
  void expectMatches(const std::vector<Example>& xs, int64_t width = 0, int64_t steps = 0,
                     int padToken = 0) {
    Batch b = makeBatch(xs, width, steps, padToken);
    std::vector<Tensor> out = runModel(*f, {b.tokens, b.transitions, b.lengths}, values);
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(out[0].shape(), Shape({static_cast<int64_t>(xs.size()), cfg.hidden}));
    for (size_t i = 0; i < xs.size(); ++i) {
      Vec want = encode(params, cfg, xs[i].tokens, xs[i].transitions).h;
      EXPECT_LT(maxAbsDiff(rowOf(out[0], static_cast<int64_t>(i)), want), 1e-5) << "row " << i;
    }
  }
  Vec run1(const std::vector<Example>& xs, size_t row, int64_t width = 0, int64_t steps = 0,
           int padToken = 0) {
    Batch b = makeBatch(xs, width, steps, padToken);
    std::vector<Tensor> out = runModel(*f, {b.tokens, b.transitions, b.lengths}, values);
    return out.empty() ? Vec() : rowOf(out[0], static_cast<int64_t>(row));
  }
  SpinnConfig cfg;
  Module m;
  ParamStore ps;
  Function* f = nullptr;
  std::vector<Tensor> values;
  Params params;
};

std::vector<Example> mixedBatch() {
  return {
      {{3, 4, 5, 6}, {1, 1, 2, 1, 1, 2, 2}}, // ((a b) (c d))
      {{7}, {1}},                            // a single token
      {{2, 9, 10}, rightBranching(3)},       // (a (b c))
      {{1, 8, 3, 4, 5}, leftBranching(5)},   // ((((a b) c) d) e)
      {{6, 6}, {1, 1, 2}},                   // a repeated token
  };
}

class SpinnPiTest : public ::testing::TestWithParam<int64_t> {};

TEST_P(SpinnPiTest, MixedLengthsMatchTheOracle) {
  Encoder e(piConfig(GetParam()));
  e.expectMatches(mixedBatch());
}

TEST_P(SpinnPiTest, OneGraphServesEveryBatchSizeAndLength) {
  Encoder e(piConfig(GetParam()));
  std::vector<Example> all = mixedBatch();
  e.expectMatches({all[1]});                                         // B = 1, N = 1
  e.expectMatches({all[0], all[2]});                                 // B = 2, N = 4
  e.expectMatches({all[3], all[3], all[4], all[1], all[0], all[2]}); // B = 6, N = 5
}

TEST_P(SpinnPiTest, CompactReduceMatchesTheOracle) {
  // The Reduce on the reducing rows only (nonzero + gather/scatter): steps
  // where no row reduces (R = 0), all rows reduce, and batch 1; interpreted,
  // and compiled against the interpreter.
  SpinnConfig cfg = piConfig(GetParam());
  cfg.compactReduce = true;
  Encoder e(cfg);
  std::vector<Example> all = mixedBatch();
  e.expectMatches(all);
  e.expectMatches({all[1]});
  e.expectMatches({all[0]});
  e.expectMatches({all[3], all[3], all[4], all[1], all[0], all[2]}, /*width=*/7, /*steps=*/15);
  e.expectCompiledMatches(makeBatch(all, 0, 0, 0));
}

TEST_P(SpinnPiTest, CompactTrackerMatchesTheOracle) {
  // The Tracker on the live rows only (nonzero + gather/scatter), alone and
  // with the compact Reduce: rows of different lengths (some finish early,
  // padded steps where no row is live), batch 1; interpreted, and compiled
  // against the interpreter.
  for (bool compactReduce : {false, true}) {
    SCOPED_TRACE(compactReduce ? "compact reduce" : "full reduce");
    SpinnConfig cfg = piConfig(GetParam());
    cfg.compactTracker = true;
    cfg.compactReduce = compactReduce;
    Encoder e(cfg);
    EXPECT_EQ(passtest::countOps(e.m, OpKind::Nonzero),
              (GetParam() > 0 ? 1 : 0) + (compactReduce ? 1 : 0));
    std::vector<Example> all = mixedBatch();
    e.expectMatches(all);
    e.expectMatches({all[1]});
    e.expectMatches({all[3], all[3], all[4], all[1], all[0], all[2]}, /*width=*/7, /*steps=*/15);
    e.expectCompiledMatches(makeBatch(all, 0, /*steps=*/13));
  }
}

TEST_P(SpinnPiTest, ResultsDoNotDependOnBatchCompanionsOrPadding) {
  Encoder e(piConfig(GetParam()));
  std::vector<Example> all = mixedBatch();
  for (size_t i = 0; i < all.size(); ++i) {
    Vec alone = e.run1({all[i]}, 0);
    Vec inBatch = e.run1(all, i);
    Vec padded = e.run1(all, i, /*width=*/9, /*steps=*/21, /*padToken=*/5);
    EXPECT_LT(maxAbsDiff(alone, inBatch), 1e-6) << "example " << i;
    EXPECT_LT(maxAbsDiff(alone, padded), 1e-6) << "example " << i;
  }
}

TEST_P(SpinnPiTest, LengthOneOnly) {
  Encoder e(piConfig(GetParam()));
  e.expectMatches({{{4}, {1}}, {{9}, {1}}, {{1}, {1}}});
}

TEST_P(SpinnPiTest, LongerSentencesAndBothBranchings) {
  Encoder e(piConfig(GetParam()));
  std::vector<int> toks{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 3, 2};
  e.expectMatches({{toks, leftBranching(12)}, {toks, rightBranching(12)}, {{5, 4}, {1, 1, 2}}});
}

TEST_P(SpinnPiTest, MalformedTransitionsAreNoOpsNotErrors) {
  Encoder e(piConfig(GetParam()));
  // Reduce on an empty stack, shift past the buffer, unknown codes: the
  // oracle skips them too (and the graph must not index out of range).
  e.expectMatches(
      {{{3, 4}, {2, 1, 2, 1, 1, 1, 7, 2, 2}}, {{5}, {1, 1, 2, 2}}, {{6, 7}, {0, 0, 0}}});
}

INSTANTIATE_TEST_SUITE_P(Tracker, SpinnPiTest, ::testing::Values(0, 3),
                         [](const auto& info) { return info.param ? "On" : "Off"; });

TEST(SpinnGraphTest, ParameterNamesAndOrderFollowTheContract) {
  Module m;
  ParamStore ps;
  Function* f = buildSpinnEncoder(m, ps, piConfig(3));
  std::vector<std::string> want{"embed.weight",       "projection.weight", "projection.bias",
                                "tracker.cell.wx",    "tracker.cell.wh",   "tracker.cell.b",
                                "reduce.left.weight", "reduce.left.bias",  "reduce.right.weight",
                                "reduce.track.weight"};
  EXPECT_EQ(ps.names(), want);
  ASSERT_EQ(f->body().numArguments(), 3 + want.size());
  EXPECT_EQ(f->body().argument(0)->name, "tokens");
  EXPECT_EQ(f->body().argument(1)->name, "transitions");
  EXPECT_EQ(f->body().argument(2)->name, "lengths");
  EXPECT_EQ(f->body().argument(3)->name, "embed.weight");
  EXPECT_EQ(f->argumentTypes()[0], TensorType(DType::I32, {kDynamic, kDynamic}));
  EXPECT_EQ(f->argumentTypes()[2], TensorType(DType::I32, {kDynamic}));
  EXPECT_EQ(f->resultTypes, std::vector<TensorType>{TensorType(DType::F32, {kDynamic, 4})});
}

TEST(SpinnGraphTest, NoTrackerDeclaresNoTrackerParameters) {
  Module m;
  ParamStore ps;
  buildSpinnEncoder(m, ps, piConfig(0));
  std::vector<std::string> want{"embed.weight",       "projection.weight", "projection.bias",
                                "reduce.left.weight", "reduce.left.bias",  "reduce.right.weight"};
  EXPECT_EQ(ps.names(), want);
}

TEST(SpinnGraphTest, LoopBodyIsFreeOfStaticBatchAndLength) {
  Module m;
  ParamStore ps;
  Function* f = buildSpinnEncoder(m, ps, piConfig(3));
  ASSERT_EQ(countWhiles(*f), 1);
  walk(*f, [&](Op& op) {
    if (op.kind() != OpKind::While) return;
    // The stack is carried as tensor<?x?x2Hxf32>.
    bool stackCarried = false;
    for (Value* v : op.results())
      stackCarried |= v->type == TensorType(DType::F32, {kDynamic, kDynamic, 8});
    EXPECT_TRUE(stackCarried);
    // Every value of rank >= 2 made in the body has a dynamic batch dim.
    for (size_t r = 0; r < op.numRegions(); ++r)
      walk(op.region(r), [&](Op& inner) {
        for (Value* v : inner.results()) {
          if (v->type.rank() >= 2) {
            EXPECT_EQ(v->type.shape[0], kDynamic) << printOp(inner);
          }
        }
      });
  });
}

TEST(SpinnGraphTest, PrintsParsesAndVerifies) {
  Module m;
  ParamStore ps;
  buildSpinnEncoder(m, ps, piConfig(3));
  std::string text = printModule(m);
  auto parsed = parseModule(text, "spinn.cairn");
  ASSERT_TRUE(parsed.isOk()) << parsed.status().message();
  EXPECT_TRUE(verify(**parsed).isOk());
  EXPECT_EQ(printModule(**parsed), text);
}

TEST(SpinnGraphTest, BadConfigurationsAreBuildErrors) {
  Module m;
  ParamStore ps;
  SpinnConfig c = piConfig(0);
  c.predictTransitions = true;
  EXPECT_THROW(buildSpinnEncoder(m, ps, c), BuildError);
  ParamStore ps2;
  SpinnConfig d = piConfig(2);
  d.hidden = 0;
  EXPECT_THROW(buildSpinnEncoder(m, ps2, d), BuildError);
}

TEST(SpinnGraphTest, EveryModelFunctionHasExactlyOneWhile) {
  for (bool predict : {false, true})
    for (bool training : {false, true}) {
      SpinnConfig c = piConfig(3);
      c.predictTransitions = predict;
      c.training = training;
      Module m;
      ParamStore a, b, d, e;
      EXPECT_EQ(countWhiles(*buildSpinnEncoder(m, a, c)), 1);
      EXPECT_EQ(countWhiles(*buildSpinnSnli(m, b, c)), 1);
      EXPECT_EQ(countWhiles(*buildSpinnSnliLoss(m, d, c)), 1);
      EXPECT_EQ(countWhiles(*buildSpinnTreeClassifier(m, e, c, 10)), 1);
      EXPECT_TRUE(verify(m).isOk());
    }
}

} // namespace
} // namespace cairn
