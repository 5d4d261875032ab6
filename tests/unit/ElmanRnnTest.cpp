// The Elman RNN and the clip-by-norm `if` model: the graphs verify, print and
// re-parse to the same text, and the reference interpreter matches the
// hand-written C++ loops to 1e-6 for several sequence lengths, T = 0 included.
#include <cmath>

#include <gtest/gtest.h>

#include "frontend/models/DataDependentIf.h"
#include "frontend/models/ElmanRnn.h"
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "runtime/reference/Interpreter.h"

namespace cairn {
namespace {

constexpr int64_t kBatch = 2, kIn = 3, kHidden = 4;

Tensor pattern(const Shape& shape, double scale, int seed) {
  Tensor t(TensorType(DType::F32, shape));
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.setDouble(i, scale * std::cos(0.37 * static_cast<double>(i) + seed));
  return t;
}

double maxAbsDiff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.type(), b.type());
  double worst = 0;
  for (int64_t i = 0; i < a.numElements() && i < b.numElements(); ++i)
    worst = std::max(worst, std::abs(a.getDouble(i) - b.getDouble(i)));
  return worst;
}

class ElmanRnnTest : public ::testing::TestWithParam<int64_t> {
protected:
  void SetUp() override { f = buildElmanRnn(m, kBatch, kIn, kHidden); }
  Module m;
  Function* f = nullptr;
};

TEST_F(ElmanRnnTest, Signature) {
  EXPECT_EQ(f->name, "elman_rnn");
  std::vector<TensorType> args = f->argumentTypes();
  ASSERT_EQ(args.size(), 5u);
  EXPECT_EQ(args[0], TensorType(DType::F32, {kDynamic, kBatch, kIn}));
  EXPECT_EQ(args[4], TensorType(DType::F32, {kHidden}));
  EXPECT_EQ(f->resultTypes, std::vector<TensorType>({TensorType(DType::F32, {kBatch, kHidden})}));
  EXPECT_TRUE(verify(m).isOk());
}

TEST_F(ElmanRnnTest, PrintsAndReparsesToTheSameText) {
  std::string text = printModule(m);
  EXPECT_NE(text.find("while"), std::string::npos);
  EXPECT_NE(text.find("dim %xs"), std::string::npos) << text;
  auto parsed = parseModule(text, "elman.cairn");
  ASSERT_TRUE(parsed.isOk()) << parsed.status().message() << "\n" << text;
  EXPECT_TRUE(verify(**parsed).isOk());
  EXPECT_EQ(printModule(**parsed), text);
}

TEST_F(ElmanRnnTest, RejectsBadSizes) {
  Module other;
  EXPECT_THROW(buildElmanRnn(other, 0, 3, 4), BuildError);
}

TEST_P(ElmanRnnTest, MatchesTheHandWrittenLoop) {
  const int64_t steps = GetParam();
  std::vector<Tensor> in = {pattern({steps, kBatch, kIn}, 1.0, 1),
                            pattern({kBatch, kHidden}, 0.5, 2), pattern({kIn, kHidden}, 0.7, 3),
                            pattern({kHidden, kHidden}, 0.5, 4), pattern({kHidden}, 0.2, 5)};
  auto out = interpret(m, "elman_rnn", in);
  ASSERT_TRUE(out.isOk()) << out.status().message();
  ASSERT_EQ(out->size(), 1u);
  Tensor expected = elmanRnnReference(in[0], in[1], in[2], in[3], in[4]);
  EXPECT_LT(maxAbsDiff((*out)[0], expected), 1e-6);
  if (steps == 0) {
    EXPECT_EQ((*out)[0], in[1]); // no step: h0 comes back unchanged
  }
}

INSTANTIATE_TEST_SUITE_P(Steps, ElmanRnnTest, ::testing::Values(0, 1, 2, 7, 25));

TEST(ElmanRnnShapes, OtherSizesAgreeToo) {
  Module m;
  buildElmanRnn(m, 1, 5, 3, "rnn_1x5x3");
  std::vector<Tensor> in = {pattern({4, 1, 5}, 1.0, 7), pattern({1, 3}, 0.3, 8),
                            pattern({5, 3}, 0.6, 9), pattern({3, 3}, 0.6, 10),
                            pattern({3}, 0.1, 11)};
  auto out = interpret(m, "rnn_1x5x3", in);
  ASSERT_TRUE(out.isOk()) << out.status().message();
  EXPECT_LT(maxAbsDiff((*out)[0], elmanRnnReference(in[0], in[1], in[2], in[3], in[4])), 1e-6);
}

TEST(ElmanRnnShapes, WrongInputShapeIsAnError) {
  Module m;
  buildElmanRnn(m, kBatch, kIn, kHidden);
  std::vector<Tensor> in = {pattern({3, kBatch, kIn + 1}, 1.0, 1), pattern({kBatch, kHidden}, 1, 2),
                            pattern({kIn, kHidden}, 1, 3), pattern({kHidden, kHidden}, 1, 4),
                            pattern({kHidden}, 1, 5)};
  EXPECT_FALSE(interpret(m, "elman_rnn", in).isOk());
}

TEST(ClipByNorm, TakesEitherBranch) {
  Module m;
  buildClipByNorm(m, 3, 1.0);
  ASSERT_TRUE(verify(m).isOk());
  for (auto values : {std::vector<double>{0.1, -0.2, 0.3}, std::vector<double>{3, -4, 12}}) {
    Tensor x = Tensor::fromDoubles(TensorType(DType::F32, {3}), values);
    auto out = interpret(m, "clip_by_norm", {x});
    ASSERT_TRUE(out.isOk()) << out.status().message();
    EXPECT_LT(maxAbsDiff((*out)[0], clipByNormReference(x, 1.0)), 1e-6);
  }
  Tensor big = Tensor::fromDoubles(TensorType(DType::F32, {3}), {3, -4, 12});
  auto out = interpret(m, "clip_by_norm", {big});
  ASSERT_TRUE(out.isOk());
  EXPECT_NEAR((*out)[0].getDouble(2), 12.0 / 13.0, 1e-6); // rescaled to norm 1
}

} // namespace
} // namespace cairn
