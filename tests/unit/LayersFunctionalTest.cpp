// softmax, logSoftmax, crossEntropy, accuracy and dropout: values against
// hand computation, numerical stability with large logits, and dropout's
// determinism, keep rate and identity at inference.
#include <gtest/gtest.h>

#include "kernels/reference/Random.h"
#include "tests/unit/LayersTestUtil.h"

namespace cairn {
namespace {

using testing::LayerHarness;
using testing::maxAbsDiff;
using testing::randomTensor;

constexpr double kTol = 1e-5;

TensorType f32(Shape s) {
  return TensorType(DType::F32, std::move(s));
}

/// Row-wise log-softmax in double over the last dim of size C.
std::vector<double> logSoftmaxRef(const std::vector<double>& x, int64_t C) {
  std::vector<double> y(x.size());
  for (size_t r = 0; r < x.size() / C; ++r) {
    double m = -INFINITY, s = 0;
    for (int64_t j = 0; j < C; ++j)
      m = std::max(m, x[r * C + j]);
    for (int64_t j = 0; j < C; ++j)
      s += std::exp(x[r * C + j] - m);
    for (int64_t j = 0; j < C; ++j)
      y[r * C + j] = x[r * C + j] - m - std::log(s);
  }
  return y;
}

std::vector<double> expAll(std::vector<double> v) {
  for (double& x : v)
    x = std::exp(x);
  return v;
}

/// Runs a function of one f32 input of `declared` type.
std::vector<Tensor> runUnary(const TensorType& declared, const Tensor& x,
                             const std::function<Val(Val)>& fn) {
  LayerHarness h;
  h.build({declared}, [&](FunctionBuilder&, const ValueList& d) { return ValueList{fn(d[0])}; });
  return h.run({x});
}

TEST(LayersFunctionalTest, SoftmaxMatchesDefinition) {
  Tensor x = randomTensor({3, 5}, 1, 3.0);
  std::vector<Tensor> r = runUnary(f32({kDynamic, 5}), x, [](Val v) { return softmax(v); });
  ASSERT_EQ(r.size(), 1u);
  EXPECT_LT(maxAbsDiff(r[0].toDoubles(), expAll(logSoftmaxRef(x.toDoubles(), 5))), kTol);
}

TEST(LayersFunctionalTest, SoftmaxAlongAxisZero) {
  Tensor x = randomTensor({4, 2}, 2, 3.0);
  std::vector<Tensor> r = runUnary(f32({4, 2}), x, [](Val v) { return softmax(v, 0); });
  ASSERT_EQ(r.size(), 1u);
  for (int64_t j = 0; j < 2; ++j) {
    double sum = 0;
    for (int64_t i = 0; i < 4; ++i)
      sum += r[0].getDouble(i * 2 + j);
    EXPECT_NEAR(sum, 1.0, 1e-6);
  }
  EXPECT_NEAR(r[0].getDouble(0) / r[0].getDouble(2), std::exp(x.getDouble(0) - x.getDouble(2)),
              1e-5);
}

TEST(LayersFunctionalTest, SoftmaxIsStableForLargeLogits) {
  Tensor x = Tensor::fromDoubles(f32({2, 3}), {1000, 1001, 1002, -5000, 3e4, 3e4});
  std::vector<Tensor> r = runUnary(f32({kDynamic, 3}), x, [](Val v) { return softmax(v); });
  ASSERT_EQ(r.size(), 1u);
  std::vector<double> want = expAll(logSoftmaxRef({0, 1, 2}, 3));
  want.insert(want.end(), {0.0, 0.5, 0.5});
  for (double v : r[0].toDoubles())
    EXPECT_TRUE(std::isfinite(v));
  EXPECT_LT(maxAbsDiff(r[0].toDoubles(), want), 1e-6);
}

TEST(LayersFunctionalTest, LogSoftmaxMatchesDefinition) {
  Tensor x = randomTensor({2, 3, 4}, 3, 4.0);
  std::vector<Tensor> r =
      runUnary(f32({kDynamic, kDynamic, 4}), x, [](Val v) { return logSoftmax(v); });
  ASSERT_EQ(r.size(), 1u);
  EXPECT_LT(maxAbsDiff(r[0].toDoubles(), logSoftmaxRef(x.toDoubles(), 4)), kTol);
}

TEST(LayersFunctionalTest, LogSoftmaxIsStableForLargeLogits) {
  Tensor x = Tensor::fromDoubles(f32({1, 3}), {-1e4, 2e4, 2e4 - 3});
  std::vector<Tensor> r = runUnary(f32({1, 3}), x, [](Val v) { return logSoftmax(v); });
  ASSERT_EQ(r.size(), 1u);
  std::vector<double> got = r[0].toDoubles();
  EXPECT_TRUE(std::isfinite(got[1]));
  EXPECT_NEAR(got[1], -std::log1p(std::exp(-3.0)), 1e-5);
  EXPECT_NEAR(got[2], -3 - std::log1p(std::exp(-3.0)), 1e-5);
  EXPECT_NEAR(got[0], -3e4, 1.0); // huge but finite
}

/// crossEntropy and accuracy of logits [?, C] and labels [?] of `labelType`.
std::vector<Tensor> runLoss(const Tensor& logits, const Tensor& labels) {
  LayerHarness h;
  int64_t C = logits.shape()[1];
  h.build({f32({kDynamic, C}), TensorType(labels.dtype(), {kDynamic})},
          [&](FunctionBuilder&, const ValueList& d) {
            return ValueList{crossEntropy(d[0], d[1]), accuracy(d[0], d[1])};
          });
  EXPECT_EQ(h.f->resultTypes[0], f32({}));
  return h.run({logits, labels});
}

double crossEntropyRef(const Tensor& logits, const std::vector<int64_t>& labels) {
  int64_t C = logits.shape()[1];
  std::vector<double> lp = logSoftmaxRef(logits.toDoubles(), C);
  double s = 0;
  for (size_t r = 0; r < labels.size(); ++r)
    s -= lp[r * C + labels[r]];
  return s / static_cast<double>(labels.size());
}

TEST(LayersFunctionalTest, CrossEntropyAndAccuracyValues) {
  Tensor logits = randomTensor({5, 4}, 4, 2.0);
  std::vector<int64_t> labels{0, 3, 1, 1, 2};
  std::vector<Tensor> r = runLoss(logits, Tensor::fromInts(TensorType(DType::I32, {5}), labels));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_NEAR(r[0].getDouble(0), crossEntropyRef(logits, labels), kTol);
  int hits = 0;
  for (int64_t row = 0; row < 5; ++row) {
    int64_t best = 0;
    for (int64_t j = 1; j < 4; ++j)
      if (logits.getDouble(row * 4 + j) > logits.getDouble(row * 4 + best)) best = j;
    hits += best == labels[row];
  }
  EXPECT_NEAR(r[1].getDouble(0), hits / 5.0, 1e-7);
}

TEST(LayersFunctionalTest, CrossEntropyWithI64LabelsAndOneRow) {
  Tensor logits = Tensor::fromDoubles(f32({1, 3}), {0.0, 0.0, 0.0});
  std::vector<Tensor> r = runLoss(logits, Tensor::fromInts(TensorType(DType::I64, {1}), {2}));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_NEAR(r[0].getDouble(0), std::log(3.0), 1e-6);
  EXPECT_NEAR(r[1].getDouble(0), 0.0, 1e-7); // ties go to index 0
}

TEST(LayersFunctionalTest, CrossEntropyIsFiniteForLargeLogits) {
  Tensor logits = Tensor::fromDoubles(f32({2, 2}), {1e4, -1e4, 5e3, 5e3 + 1});
  std::vector<int64_t> labels{1, 1};
  std::vector<Tensor> r = runLoss(logits, Tensor::fromInts(TensorType(DType::I32, {2}), labels));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_TRUE(std::isfinite(r[0].getDouble(0)));
  EXPECT_NEAR(r[0].getDouble(0), (2e4 + std::log1p(std::exp(-1.0))) / 2, 1e-2);
  EXPECT_NEAR(r[1].getDouble(0), 0.5, 1e-7);
}

TEST(LayersFunctionalTest, CrossEntropyRejectsBadShapes) {
  LayerHarness h;
  EXPECT_THROW(h.build({f32({2, 3}), TensorType(DType::I32, {2, 1})},
                       [&](FunctionBuilder&, const ValueList& d) {
                         return ValueList{crossEntropy(d[0], d[1])};
                       }),
               BuildError);
}

// ---- dropout -------------------------------------------------------------------

const TensorType kState(DType::I64, {2});

Tensor state(int64_t key, int64_t counter) {
  return Tensor::fromInts(kState, {key, counter});
}

/// dropout(x, state, p, training) on a [?, ?] input.
std::vector<Tensor> runDropout(const Tensor& x, const Tensor& s, double p, bool training) {
  LayerHarness h;
  h.build({f32({kDynamic, kDynamic}), kState}, [&](FunctionBuilder&, const ValueList& d) {
    auto [y, next] = dropout(d[0], d[1], p, training);
    return ValueList{y, next};
  });
  return h.run({x, s});
}

TEST(LayersFunctionalTest, DropoutIsIdentityAtInferenceAndForPZero) {
  Module m;
  FunctionBuilder fb(m, "f", {f32({2, 3}), kState});
  auto [y, s] = dropout(fb.arg(0), fb.arg(1), 0.5, /*training=*/false);
  EXPECT_EQ(y.value(), fb.arg(0).value());
  EXPECT_EQ(s.value(), fb.arg(1).value());
  auto [y0, s0] = dropout(fb.arg(0), fb.arg(1), 0.0, /*training=*/true);
  EXPECT_EQ(y0.value(), fb.arg(0).value());
  EXPECT_EQ(s0.value(), fb.arg(1).value());
  EXPECT_TRUE(fb.function().body().empty());
}

TEST(LayersFunctionalTest, DropoutIsDeterministicForAState) {
  Tensor x = randomTensor({4, 6}, 9);
  std::vector<Tensor> a = runDropout(x, state(3, 0), 0.5, true);
  std::vector<Tensor> b = runDropout(x, state(3, 0), 0.5, true);
  std::vector<Tensor> c = runDropout(x, a[1], 0.5, true);
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(a[0], b[0]);
  EXPECT_EQ(a[1], b[1]);
  EXPECT_EQ(a[1].toInts(), (std::vector<int64_t>{3, 6})); // 24 words = 6 blocks
  EXPECT_NE(a[0], c[0]);                                  // the advanced state gives a new mask
}

TEST(LayersFunctionalTest, DropoutMaskRateAndScaling) {
  const double p = 0.3;
  Tensor x(f32({50, 40}));
  for (int64_t i = 0; i < x.numElements(); ++i)
    x.setDouble(i, 1.0 + 0.001 * i);
  std::vector<Tensor> r = runDropout(x, state(11, 5), p, true);
  ASSERT_EQ(r.size(), 2u);
  // The mask is u >= p with u from rng_uniform of x's shape and this state.
  auto u = kernels::rngUniform(state(11, 5), f32({50, 40}));
  ASSERT_TRUE(u.isOk());
  int64_t kept = 0;
  for (int64_t i = 0; i < x.numElements(); ++i) {
    bool keep = u->values.getDouble(i) >= static_cast<float>(p);
    kept += keep;
    double want = keep ? static_cast<float>(x.getDouble(i)) / static_cast<float>(1 - p) : 0.0;
    EXPECT_NEAR(r[0].getDouble(i), want, 1e-6) << i;
  }
  EXPECT_NEAR(kept / 2000.0, 1 - p, 0.03);
  EXPECT_EQ(r[1], u->state);
}

TEST(LayersFunctionalTest, DropoutRejectsBadArguments) {
  Module m;
  FunctionBuilder fb(m, "f", {f32({2}), kState, TensorType(DType::I64, {3})});
  EXPECT_THROW(dropout(fb.arg(0), fb.arg(1), 1.0, true), BuildError);
  EXPECT_THROW(dropout(fb.arg(0), fb.arg(1), -0.1, true), BuildError);
  EXPECT_THROW(dropout(fb.arg(0), fb.arg(2), 0.5, true), BuildError);
}

} // namespace
} // namespace cairn
