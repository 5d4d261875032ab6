// Learning-rate schedules (in-graph against LrSchedule::at and against the
// closed forms written out here) and clipping by global norm.
#include <cmath>
#include <numbers>

#include <gtest/gtest.h>

#include "TrainingTestUtil.h"
#include "frontend/Builder.h"
#include "frontend/training/GradClip.h"
#include "frontend/training/LrSchedule.h"
#include "runtime/reference/Interpreter.h"

namespace cairn::training {
namespace {

/// lr(s) for each s, computed by the IR of `sched`.
std::vector<double> runSchedule(const LrSchedule& sched, const std::vector<int64_t>& steps) {
  Module m;
  FunctionBuilder fb(m, "lr", {TensorType(DType::I64, {})});
  Function* f = fb.ret({sched.emit(fb, fb.arg(0))});
  EXPECT_EQ(f->resultTypes[0], TensorType(DType::F64, {}));
  std::vector<double> out;
  for (int64_t s : steps) {
    auto r = interpret(*f, {Tensor::scalar(DType::I64, static_cast<double>(s))});
    EXPECT_TRUE(r.isOk()) << r.status().message();
    out.push_back(r.isOk() ? (*r)[0].getDouble(0) : NAN);
  }
  return out;
}

void expectSchedule(const LrSchedule& sched, const std::vector<int64_t>& steps,
                    const std::vector<double>& want) {
  std::vector<double> got = runSchedule(sched, steps);
  for (size_t i = 0; i < steps.size(); ++i) {
    EXPECT_NEAR(got[i], want[i], 1e-12 + 1e-12 * std::abs(want[i]))
        << sched.toString() << " at step " << steps[i];
    EXPECT_NEAR(sched.at(steps[i]), want[i], 1e-15 + 1e-13 * std::abs(want[i]))
        << sched.toString() << " at step " << steps[i] << " (C++)";
  }
}

TEST(LrScheduleTest, Constant) {
  expectSchedule(LrSchedule::constant(0.3), {0, 1, 1000}, {0.3, 0.3, 0.3});
}

TEST(LrScheduleTest, ConstantWithWarmup) {
  expectSchedule(LrSchedule::constant(0.4, 4), {0, 1, 3, 4, 50}, {0.1, 0.2, 0.4, 0.4, 0.4});
}

TEST(LrScheduleTest, StepDecay) {
  // torch StepLR(step_size=3, gamma=0.5): epochs 0-2 at lr, 3-5 at lr/2, ...
  expectSchedule(LrSchedule::stepDecay(1.0, 3, 0.5), {0, 2, 3, 5, 6, 10},
                 {1.0, 1.0, 0.5, 0.5, 0.25, 0.125});
}

TEST(LrScheduleTest, StepDecayAfterWarmup) {
  expectSchedule(LrSchedule::stepDecay(1.0, 2, 0.1, 2), {0, 1, 2, 3, 4}, {0.5, 1.0, 1.0, 1.0, 0.1});
}

TEST(LrScheduleTest, Exponential) {
  expectSchedule(LrSchedule::exponential(0.2, 0.9), {0, 1, 7, 100},
                 {0.2, 0.18, 0.2 * std::pow(0.9, 7), 0.2 * std::pow(0.9, 100)});
}

TEST(LrScheduleTest, CosineWithWarmup) {
  const double pi = std::numbers::pi;
  LrSchedule s = LrSchedule::cosine(1.0, 110, 10, 0.1);
  auto cosAt = [&](double d) { return 0.1 + 0.9 * (1 + std::cos(pi * d / 100)) / 2; };
  std::vector<int64_t> steps{0, 4, 9, 10, 11, 35, 60, 85, 109, 110, 500};
  std::vector<double> want{0.1,       0.5,       1.0,       1.0, cosAt(1), cosAt(25),
                           cosAt(50), cosAt(75), cosAt(99), 0.1, 0.1};
  expectSchedule(s, steps, want);
  // Dense check of the polynomial cosine over the whole decay.
  std::vector<int64_t> all;
  for (int64_t k = 10; k <= 110; ++k)
    all.push_back(k);
  std::vector<double> got = runSchedule(s, all);
  for (size_t i = 0; i < all.size(); ++i)
    EXPECT_NEAR(got[i], cosAt(static_cast<double>(all[i] - 10)), 1e-13) << all[i];
}

TEST(LrScheduleTest, CosineWithoutWarmupStartsAtBase) {
  expectSchedule(LrSchedule::cosine(0.5, 4), {0, 2, 4}, {0.5, 0.25, 0.0});
}

TEST(LrScheduleTest, ValidateNamesTheProblem) {
  try {
    LrSchedule::cosine(0.1, 10, 10).validate();
    FAIL() << "no error";
  } catch (const BuildError& e) {
    EXPECT_NE(std::string(e.what()).find("total steps must exceed"), std::string::npos) << e.what();
  }
  EXPECT_THROW(LrSchedule::stepDecay(0.1, 0, 0.5).validate(), BuildError);
  EXPECT_THROW(LrSchedule::exponential(0.1, 0).validate(), BuildError);
  EXPECT_THROW(LrSchedule::constant(-1).validate(), BuildError);
  EXPECT_THROW(LrSchedule::constant(0.1, -2).validate(), BuildError);
  EXPECT_THROW(LrSchedule::cosine(0.1, 10, 0, 0.2).validate(), BuildError);
}

/// Runs clipByGlobalNorm on `grads`; returns the clipped grads then the norm.
std::vector<Tensor> runClip(const std::vector<Tensor>& grads, double maxNorm) {
  Module m;
  std::vector<TensorType> types;
  for (const Tensor& g : grads)
    types.push_back(g.type());
  FunctionBuilder fb(m, "clip", types);
  ValueList args;
  for (size_t i = 0; i < grads.size(); ++i)
    args.push_back(fb.arg(i));
  ClippedGrads c = clipByGlobalNorm(fb, args, maxNorm);
  ValueList rets = c.grads;
  rets.push_back(c.norm);
  Function* f = fb.ret(rets);
  auto r = interpret(*f, grads);
  EXPECT_TRUE(r.isOk()) << r.status().message();
  return r.isOk() ? *r : std::vector<Tensor>{};
}

TEST(GradClipTest, ScalesDownToMaxNorm) {
  std::vector<Tensor> g{Tensor::fromDoubles(TensorType(DType::F32, {2, 2}), {3, 0, 0, 4}),
                        Tensor::fromDoubles(TensorType(DType::F32, {}), {12}),
                        Tensor::fromDoubles(TensorType(DType::BF16, {2}), {0, 0})};
  std::vector<Tensor> r = runClip(g, 6.5); // norm sqrt(9 + 16 + 144) = 13
  ASSERT_EQ(r.size(), 4u);
  double scale = 6.5 / (13 + 1e-6);
  testing::expectClose(r[0], {3 * scale, 0, 0, 4 * scale}, 1e-6, 0, "g0");
  testing::expectClose(r[1], {12 * scale}, 1e-6, 0, "g1");
  EXPECT_EQ(r[2].dtype(), DType::BF16);
  EXPECT_EQ(r[3].type(), TensorType(DType::F32, {}));
  EXPECT_NEAR(r[3].getDouble(0), 13.0, 1e-6);
}

TEST(GradClipTest, SmallGradientsUnchanged) {
  std::vector<Tensor> g{Tensor::fromDoubles(TensorType(DType::F32, {3}), {0.1, -0.2, 0.2}),
                        Tensor(TensorType(DType::F32, {0, 5}))};
  std::vector<Tensor> r = runClip(g, 1.0);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0], g[0]);
  EXPECT_EQ(r[1], g[1]);
  EXPECT_NEAR(r[2].getDouble(0), 0.3, 1e-7);
}

TEST(GradClipTest, RejectsNonPositiveMaxNorm) {
  Module m;
  FunctionBuilder fb(m, "clip", {TensorType(DType::F32, {2})});
  EXPECT_THROW(clipByGlobalNorm(fb, {fb.arg(0)}, 0.0), BuildError);
}

} // namespace
} // namespace cairn::training
