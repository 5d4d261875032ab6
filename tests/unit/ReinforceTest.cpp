// REINFORCE: the gradient of reinforceSurrogate (through buildGradient and
// a sampling op) is an unbiased estimate of the exact gradient of the
// expected loss, with or without a baseline.
#include <cmath>

#include "frontend/layers/Layers.h"
#include "tests/unit/GradCheckUtil.h"

namespace cairn {
namespace {

constexpr double kC[3] = {0.5, -1.0, 2.0};

/// mean over N sampled actions a ~ softmax(theta) of L(a) = (w - c_a)^2, plus
/// the REINFORCE surrogate for reward -L with `baseline`.
Function* buildEstimator(Module& m, int64_t n) {
  FunctionBuilder fb(m, "surrogate",
                     {TensorType(DType::F32, {3}), TensorType(DType::F32, {}),
                      TensorType(DType::I64, {2}), TensorType(DType::F32, {})});
  Val theta = fb.arg(0), w = fb.arg(1), rng = fb.arg(2), baseline = fb.arg(3);
  Val logits = broadcastTo(theta, {n, 3});
  RngResult a = rngCategorical(rng, logits, DType::I64);
  Val logp = gather(logSoftmax(logits, -1), a.value, 1, 1);
  Val c = fb.constant(Tensor::fromDoubles(TensorType(DType::F32, {3}), {kC[0], kC[1], kC[2]}));
  Val d = w - gather(c, a.value, 0);
  Val loss = d * d;
  Val meanLoss = reduceSum(loss, {0}) / static_cast<double>(n);
  return fb.ret({meanLoss + reinforceSurrogate(logp, neg(loss), baseline)});
}

TEST(Reinforce, EstimatorMeanIsTheExactGradient) {
  const double theta[3] = {0.3, -0.2, 0.8}, w = 0.4;
  double z = 0, p[3], L[3], J = 0, dw = 0;
  for (double t : theta) z += std::exp(t);
  for (int k = 0; k < 3; ++k) {
    p[k] = std::exp(theta[k]) / z;
    L[k] = (w - kC[k]) * (w - kC[k]);
    J += p[k] * L[k];
    dw += p[k] * 2 * (w - kC[k]);
  }
  const int64_t n = 200000;
  Module m;
  Function* f = buildEstimator(m, n);
  GradOptions go;
  go.wrt = {0, 1};
  auto g = buildGradient(m, *f, go);
  ASSERT_TRUE(g.isOk()) << g.status().message();
  for (double baseline : {0.0, 1.5}) {
    SCOPED_TRACE(fmt::format("baseline {}", baseline));
    auto out = interpret(**g, {Tensor::fromDoubles(TensorType(DType::F32, {3}), {theta[0], theta[1], theta[2]}),
                               Tensor::scalar(DType::F32, w),
                               Tensor::fromInts(TensorType(DType::I64, {2}), {1234, 0}),
                               Tensor::scalar(DType::F32, baseline)});
    ASSERT_TRUE(out.isOk()) << out.status().message();
    // Per-sample terms are O(5); with 2e5 samples the standard error is
    // below 0.012, so 0.05 is a 4-sigma bound that a biased estimator (off
    // by b * sum grad p, or missing the score term) fails by far.
    for (int k = 0; k < 3; ++k)
      EXPECT_NEAR((*out)[1].getDouble(k), p[k] * (L[k] - J), 0.05) << "d/dtheta[" << k << "]";
    EXPECT_NEAR((*out)[2].getDouble(0), dw, 0.05) << "d/dw";
  }
}

} // namespace
} // namespace cairn
