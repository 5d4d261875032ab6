// Learning-rate schedules: the C++ reference (at) and the in-graph form
// (emit) of the same formulas (LrSchedule.h).
#include "frontend/training/LrSchedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <fmt/format.h>

namespace cairn::training {

namespace {

/// sin(y) for |y| <= pi/2 as an odd Taylor polynomial through y^17, in Horner
/// form over y^2 (the last omitted term is below 4.5e-14).
Val sinSmall(Val y) {
  Val y2 = y * y;
  Val acc = y.builder().scalar(1.0, y.dtype());
  for (int k = 17; k >= 3; k -= 2)
    acc = 1.0 - y2 * acc / static_cast<double>(k * (k - 1));
  return y * acc;
}

} // namespace

LrSchedule LrSchedule::constant(double lr, int64_t warmup) {
  LrSchedule s;
  s.base = lr;
  s.warmupSteps = warmup;
  return s;
}

LrSchedule LrSchedule::stepDecay(double lr, int64_t stepSize, double gamma, int64_t warmup) {
  LrSchedule s = constant(lr, warmup);
  s.kind = Kind::StepDecay;
  s.stepSize = stepSize;
  s.gamma = gamma;
  return s;
}

LrSchedule LrSchedule::exponential(double lr, double gamma, int64_t warmup) {
  LrSchedule s = constant(lr, warmup);
  s.kind = Kind::Exponential;
  s.gamma = gamma;
  return s;
}

LrSchedule LrSchedule::cosine(double lr, int64_t totalSteps, int64_t warmup, double minLr) {
  LrSchedule s = constant(lr, warmup);
  s.kind = Kind::Cosine;
  s.totalSteps = totalSteps;
  s.minLr = minLr;
  return s;
}

void LrSchedule::validate() const {
  auto fail = [&](const std::string& what) {
    throw BuildError(fmt::format("learning-rate schedule {}: {}", toString(), what));
  };
  if (!(base >= 0) || !std::isfinite(base)) fail("the learning rate must be finite and >= 0");
  if (warmupSteps < 0) fail("warmup steps must be >= 0");
  if (kind == Kind::StepDecay && stepSize <= 0) fail("step size must be > 0");
  if ((kind == Kind::StepDecay || kind == Kind::Exponential) && !(gamma > 0))
    fail("gamma must be > 0");
  if (kind == Kind::Cosine && totalSteps <= warmupSteps)
    fail("total steps must exceed the warmup steps");
  if (kind == Kind::Cosine && !(minLr >= 0 && minLr <= base))
    fail("the minimum learning rate must be in [0, lr]");
}

double LrSchedule::at(int64_t s) const {
  if (s < warmupSteps) return base * static_cast<double>(s + 1) / static_cast<double>(warmupSteps);
  double d = static_cast<double>(s - warmupSteps);
  switch (kind) {
  case Kind::Constant:
    return base;
  case Kind::StepDecay:
    return base * std::pow(gamma, static_cast<double>((s - warmupSteps) / stepSize));
  case Kind::Exponential:
    return base * std::pow(gamma, d);
  case Kind::Cosine: {
    double span = static_cast<double>(totalSteps - warmupSteps);
    double r = std::min(d, span) / span;
    return minLr + (base - minLr) * (1.0 + std::cos(std::numbers::pi * r)) / 2.0;
  }
  }
  return base;
}

Val LrSchedule::emit(FunctionBuilder& fb, Val step) const {
  validate();
  if (step.type() != TensorType(DType::I64, {}))
    throw BuildError(fmt::format("learning-rate schedule: the step must be tensor<i64>, not {}",
                                 step.type().toString()));
  Val sF = cast(step, DType::F64);
  // Steps into the decay phase, 0 during warmup (the select below ignores
  // the decay value there).
  Val d = warmupSteps > 0 ? max(step - warmupSteps, int64_t{0}) : step;
  Val dF = cast(d, DType::F64);
  Val decayed;
  switch (kind) {
  case Kind::Constant:
    decayed = fb.scalar(base, DType::F64);
    break;
  case Kind::StepDecay:
    decayed = base * pow(fb.scalar(gamma, DType::F64), cast(div(d, stepSize), DType::F64));
    break;
  case Kind::Exponential:
    decayed = base * pow(fb.scalar(gamma, DType::F64), dF);
    break;
  case Kind::Cosine: {
    double span = static_cast<double>(totalSteps - warmupSteps);
    Val r = min(dF, span) / span;
    // cos(pi r) = sin(pi (1/2 - r)), with pi (1/2 - r) in [-pi/2, pi/2].
    Val c = sinSmall((0.5 - r) * std::numbers::pi);
    decayed = minLr + (base - minLr) * (1.0 + c) / 2.0;
    break;
  }
  }
  if (warmupSteps == 0) return decayed.named("lr");
  Val warm = base * (sF + 1.0) / static_cast<double>(warmupSteps);
  return select(lt(step, warmupSteps), warm, decayed).named("lr");
}

std::string LrSchedule::toString() const {
  std::string warm = warmupSteps ? fmt::format(", warmup={}", warmupSteps) : "";
  switch (kind) {
  case Kind::Constant:
    return fmt::format("constant(lr={}{})", base, warm);
  case Kind::StepDecay:
    return fmt::format("step(lr={}, step_size={}, gamma={}{})", base, stepSize, gamma, warm);
  case Kind::Exponential:
    return fmt::format("exponential(lr={}, gamma={}{})", base, gamma, warm);
  case Kind::Cosine:
    return fmt::format("cosine(lr={}, total={}, min={}{})", base, totalSteps, minLr, warm);
  }
  return "?";
}

} // namespace cairn::training
