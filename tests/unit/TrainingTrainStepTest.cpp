// train_step around a hand-written gradient function (linear regression with
// its analytic gradient, standing in for compiler/autodiff's output): the
// first step equals the C++ computation, the loss falls over 50 steps,
// non-trainable parameters pass through, and mismatches are named errors.
#include <cmath>

#include <gtest/gtest.h>

#include "TrainingTestUtil.h"
#include "compiler/Pipeline.h"
#include "frontend/Builder.h"
#include "frontend/training/TrainStep.h"
#include "ir/Verifier.h"
#include "runtime/reference/Interpreter.h"

namespace cairn::training {
namespace {

constexpr int64_t kN = 8, kIn = 3, kOut = 2;

TensorType f32(Shape s) {
  return TensorType(DType::F32, std::move(s));
}

/// Parameters: w [3, 2], b [2] (trainable) and `frozen` [2] (not).
ParamStore regressionParams() {
  ParamStore ps;
  ps.declare({"w", f32({kIn, kOut})});
  ps.declare({"b", f32({kOut}), Init::Zeros});
  ps.declare({"frozen", f32({kOut}), Init::Ones, 0.0, /*trainable=*/false});
  return ps;
}

/// @grad(w, x, frozen, b, t) -> (loss, mae, dw, db): a deliberately shuffled
/// argument order. loss = mean((x w + b - t)^2), mae = mean(|x w + b - t|).
Function* buildGrad(Module& m) {
  FunctionBuilder fb(m, "grad",
                     {f32({kIn, kOut}), f32({kN, kIn}), f32({kOut}), f32({kOut}), f32({kN, kOut})},
                     {"w", "x", "frozen", "b", "t"});
  Val w = fb.arg(0), x = fb.arg(1), b = fb.arg(3), t = fb.arg(4);
  Val err = matmul(x, w) + b - t;
  double count = static_cast<double>(kN * kOut);
  Val loss = reduceSum(err * err, {0, 1}) / count;
  Val mae = reduceSum(abs(err), {0, 1}) / count;
  Val dpred = err * (2.0 / count);
  Val dw = matmul(transpose(x, {1, 0}), dpred);
  Val db = reduceSum(dpred, {0});
  return fb.ret({loss, mae, dw, db});
}

ArgMapping shuffledMapping() {
  using K = LossArg::Kind;
  return {{K::Param, 0}, {K::Batch, 0}, {K::Param, 2}, {K::Param, 1}, {K::Batch, 1}};
}

/// x and targets t = x w* + b* for a fixed w*, b*.
std::vector<Tensor> batch() {
  Tensor x = testing::randomTensorOf(f32({kN, kIn}), 5);
  std::vector<double> ws{0.5, -1.0, 2.0, 0.25, -0.75, 1.5}, bs{0.3, -0.2};
  Tensor t(f32({kN, kOut}));
  for (int64_t r = 0; r < kN; ++r)
    for (int64_t j = 0; j < kOut; ++j) {
      double s = bs[j];
      for (int64_t k = 0; k < kIn; ++k)
        s += x.getDouble(r * kIn + k) * ws[k * kOut + j];
      t.setDouble(r * kOut + j, s);
    }
  return {x, t};
}

std::vector<Tensor> inputs(const std::vector<Tensor>& params, const std::vector<Tensor>& state,
                           const std::vector<Tensor>& data) {
  std::vector<Tensor> in = params;
  in.insert(in.end(), state.begin(), state.end());
  in.insert(in.end(), data.begin(), data.end());
  return in;
}

TEST(TrainStepTest, FirstStepEqualsCppWithClippingAndMomentum) {
  Module m;
  ParamStore ps = regressionParams();
  Function* grad = buildGrad(m);
  TrainStepOptions opts;
  opts.optimizer = makeSgd({.momentum = 0.9});
  opts.schedule = LrSchedule::constant(0.2, /*warmup=*/4); // lr 0.05 on the first step
  opts.clipNorm = 0.5;
  StatusOr<TrainStep> ts = buildTrainStep(m, ps, *grad, shuffledMapping(), opts);
  ASSERT_TRUE(ts.isOk()) << ts.status().message();
  ASSERT_TRUE(verify(m).isOk());
  EXPECT_EQ(ts->numParams, 3u);
  EXPECT_EQ(ts->numBatch, 2u);
  EXPECT_EQ(ts->numMetrics, 1u);
  ASSERT_EQ(ts->state.size(), 3u); // step, w.momentum_buffer, b.momentum_buffer
  EXPECT_EQ(ts->state[1].name, "w.momentum_buffer");
  EXPECT_EQ(ts->function->resultTypes.size(), ts->numResults());

  std::vector<Tensor> params = ps.initialize(3), data = batch();
  params[2] = Tensor::fromDoubles(f32({kOut}), {7, 8}); // frozen, passes through
  auto r = interpret(*ts->function, inputs(params, initialState(ts->state), data));
  ASSERT_TRUE(r.isOk()) << r.status().message();

  // The same step in double.
  std::vector<double> w = params[0].toDoubles(), b = params[1].toDoubles();
  std::vector<double> x = data[0].toDoubles(), t = data[1].toDoubles();
  std::vector<double> dw(w.size(), 0.0), db(b.size(), 0.0);
  double loss = 0, mae = 0, count = kN * kOut;
  for (int64_t i = 0; i < kN; ++i)
    for (int64_t j = 0; j < kOut; ++j) {
      double pred = b[j];
      for (int64_t k = 0; k < kIn; ++k)
        pred += x[i * kIn + k] * w[k * kOut + j];
      double e = pred - t[i * kOut + j];
      loss += e * e / count;
      mae += std::abs(e) / count;
      for (int64_t k = 0; k < kIn; ++k)
        dw[k * kOut + j] += x[i * kIn + k] * 2 * e / count;
      db[j] += 2 * e / count;
    }
  double norm = 0;
  for (double g : dw)
    norm += g * g;
  for (double g : db)
    norm += g * g;
  norm = std::sqrt(norm);
  ASSERT_GT(norm, 0.5) << "the test wants clipping to bite";
  double scale = 0.5 / (norm + 1e-6), lr = 0.05;
  std::vector<double> wNew = w, bNew = b;
  for (size_t i = 0; i < w.size(); ++i)
    wNew[i] -= lr * scale * dw[i];
  for (size_t i = 0; i < b.size(); ++i)
    bNew[i] -= lr * scale * db[i];

  testing::expectClose((*r)[0], wNew, 1e-6, 1e-7, "w");
  testing::expectClose((*r)[1], bNew, 1e-6, 1e-7, "b");
  EXPECT_EQ((*r)[2], params[2]);
  EXPECT_EQ((*r)[ts->firstStateArg()].toInts(), std::vector<int64_t>{1});
  testing::expectClose((*r)[ts->lossResult()], {loss}, 1e-6, 0, "loss");
  testing::expectClose((*r)[ts->firstMetricResult()], {mae}, 1e-6, 0, "mae");
  testing::expectClose((*r)[ts->lrResult()], {lr}, 1e-7, 0, "lr");
  ASSERT_TRUE(ts->hasGradNorm);
  testing::expectClose((*r)[ts->gradNormResult()], {norm}, 1e-6, 0, "grad_norm");
}

TEST(TrainStepTest, LossFallsOverFiftyAdamSteps) {
  Module m;
  ParamStore ps = regressionParams();
  Function* grad = buildGrad(m);
  TrainStepOptions opts;
  opts.optimizer = makeAdam();
  opts.schedule = LrSchedule::cosine(0.1, 50, 5, 0.01);
  StatusOr<TrainStep> ts = buildTrainStep(m, ps, *grad, shuffledMapping(), opts);
  ASSERT_TRUE(ts.isOk()) << ts.status().message();
  EXPECT_FALSE(ts->hasGradNorm);

  std::vector<Tensor> params = ps.initialize(11), state = initialState(ts->state);
  std::vector<Tensor> data = batch();
  std::vector<double> losses;
  for (int step = 0; step < 50; ++step) {
    auto r = interpret(*ts->function, inputs(params, state, data));
    ASSERT_TRUE(r.isOk()) << r.status().message();
    params.assign(r->begin(), r->begin() + 3);
    state.assign(r->begin() + 3, r->begin() + 3 + ts->state.size());
    losses.push_back((*r)[ts->lossResult()].getDouble(0));
    EXPECT_NEAR((*r)[ts->lrResult()].getDouble(0), opts.schedule.at(step), 1e-8) << step;
  }
  EXPECT_EQ(state[0].toInts(), std::vector<int64_t>{50});
  EXPECT_LT(losses.back(), 0.05 * losses.front())
      << "first " << losses.front() << ", last " << losses.back();
  for (size_t i = 10; i < losses.size(); ++i)
    EXPECT_LT(losses[i], losses[i - 10]) << "no progress over steps " << i - 10 << ".." << i;
}

TEST(TrainStepTest, OptimizePipelineKeepsResults) {
  // The whole step (call inlined, elementwise update fused) computes what
  // the unoptimized step computes.
  auto build = [](Module& m, const ParamStore& ps) {
    Function* grad = buildGrad(m);
    TrainStepOptions opts;
    opts.optimizer = makeAdamW(0.1);
    opts.schedule = LrSchedule::exponential(0.05, 0.9, 2);
    opts.clipNorm = 1.0;
    StatusOr<TrainStep> ts = buildTrainStep(m, ps, *grad, shuffledMapping(), opts);
    EXPECT_TRUE(ts.isOk()) << ts.status().message();
    return *ts;
  };
  ParamStore ps = regressionParams();
  Module plain, optimized;
  TrainStep a = build(plain, ps), b = build(optimized, ps);
  Status st = runPipeline(optimized, optimizePipeline());
  ASSERT_TRUE(st.isOk()) << st.message();
  const Function* fb = optimized.lookup("train_step");
  ASSERT_NE(fb, nullptr);
  std::vector<Tensor> params = ps.initialize(2), state = initialState(a.state), data = batch();
  for (int step = 0; step < 3; ++step) {
    auto ra = interpret(*a.function, inputs(params, state, data));
    auto rb = interpret(*fb, inputs(params, state, data));
    ASSERT_TRUE(ra.isOk()) << ra.status().message();
    ASSERT_TRUE(rb.isOk()) << rb.status().message();
    ASSERT_EQ(ra->size(), rb->size());
    for (size_t i = 0; i < ra->size(); ++i)
      testing::expectClose((*rb)[i], (*ra)[i].toDoubles(), 1e-6, 1e-7,
                           "step " + std::to_string(step) + " result " + std::to_string(i));
    params.assign(ra->begin(), ra->begin() + 3);
    state.assign(ra->begin() + 3, ra->begin() + 3 + a.state.size());
  }
}

TEST(TrainStepTest, DefaultMappingAndWrtIndices) {
  ParamStore ps = regressionParams();
  ArgMapping m = batchThenParams(2, 3);
  ASSERT_EQ(m.size(), 5u);
  EXPECT_EQ(m[2].kind, LossArg::Kind::Param);
  EXPECT_EQ(trainableArgIndices(m, ps), (std::vector<size_t>{2, 3}));
  EXPECT_EQ(trainableArgIndices(shuffledMapping(), ps), (std::vector<size_t>{0, 3}));
  EXPECT_THROW(trainableArgIndices(batchThenParams(2, 1), ps), BuildError); // b unmapped
}

/// buildTrainStep's error for `mapping` (and a gradient function `grad`).
std::string trainStepError(Module& m, const ParamStore& ps, const Function& grad,
                           const ArgMapping& mapping, TrainStepOptions opts = {}) {
  if (!opts.optimizer) opts.optimizer = makeSgd();
  StatusOr<TrainStep> ts = buildTrainStep(m, ps, grad, mapping, opts);
  return ts.isOk() ? "" : ts.status().message();
}

TEST(TrainStepTest, MismatchesAreNamedErrors) {
  using K = LossArg::Kind;
  Module m;
  ParamStore ps = regressionParams();
  Function* grad = buildGrad(m);
  ArgMapping good = shuffledMapping();
  EXPECT_NE(trainStepError(m, ps, *grad, batchThenParams(2, 3)).find("parameter 'w' is"),
            std::string::npos);
  ArgMapping shortMap(good.begin(), good.end() - 1);
  EXPECT_NE(trainStepError(m, ps, *grad, shortMap).find("takes 5 arguments"), std::string::npos);
  ArgMapping twice = good;
  twice[3] = {K::Param, 0};
  EXPECT_NE(trainStepError(m, ps, *grad, twice).find("'w' is mapped to more than one"),
            std::string::npos);
  ArgMapping gap = good;
  gap[4] = {K::Batch, 2};
  EXPECT_NE(trainStepError(m, ps, *grad, gap).find("batch inputs must be numbered"),
            std::string::npos);
  TrainStepOptions clip;
  clip.clipNorm = -1;
  EXPECT_NE(trainStepError(m, ps, *grad, good, clip).find("clipping norm"), std::string::npos);
  TrainStepOptions badLr;
  badLr.schedule = LrSchedule::cosine(0.1, 3, 5);
  EXPECT_NE(trainStepError(m, ps, *grad, good, badLr).find("total steps"), std::string::npos);

  // A gradient of the wrong shape names the parameter.
  FunctionBuilder fb(m, "badgrad",
                     {f32({kIn, kOut}), f32({kN, kIn}), f32({kOut}), f32({kOut}), f32({kN, kOut})});
  Function* bad = fb.ret({fb.scalar(0.0), fb.arg(0), fb.arg(0)});
  EXPECT_NE(trainStepError(m, ps, *bad, good).find("gradient of 'b'"), std::string::npos)
      << trainStepError(m, ps, *bad, good);

  // A trainable parameter missing from the gradient function.
  ParamStore more = regressionParams();
  more.declare({"extra", f32({1})});
  EXPECT_NE(trainStepError(m, more, *grad, good).find("'extra' is not an argument"),
            std::string::npos);

  ASSERT_EQ(trainStepError(m, ps, *grad, good), "");
  EXPECT_NE(trainStepError(m, ps, *grad, good).find("already has a function @train_step"),
            std::string::npos);
}

} // namespace
} // namespace cairn::training
