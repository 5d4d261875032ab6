// Learning-rate schedules computed in-graph from the optimizer's step
// counter, so a training step's learning rate lives in the compiled function
// and resumes exactly from a checkpoint (the counter is optimizer state).
//
// s = the number of updates applied before this one (state "step", 0 for the
// first update). With W = warmupSteps > 0, the first W updates ramp linearly:
//   lr(s) = base * (s + 1) / W                  for s < W
// and then the decay runs on d = s - W (d = s when W = 0):
//   constant      lr = base
//   step decay    lr = base * gamma^floor(d / stepSize)       (torch StepLR)
//   exponential   lr = base * gamma^d                         (torch ExponentialLR)
//   cosine        lr = minLr + (base - minLr) * (1 + cos(pi * min(d, D) / D)) / 2,
//                 D = totalSteps - W                          (torch CosineAnnealingLR,
//                 closed form; it stays at minLr after D steps instead of rising again)
// The warmup reaches `base` on update W (s = W - 1), so no update runs at lr 0
// (transformers' and optax's warmups start at 0); docs/training.md compares.
//
// Scalar math is f64; emit() returns a tensor<f64> scalar. Cairn has no `cos`
// op, so the cosine is a degree-17 odd polynomial of sin on [-pi/2, pi/2]
// (Taylor; error below 1e-13, far under f32 rounding of the learning rate).
//
// Thread-safety: a plain value type.
#pragma once

#include <cstdint>
#include <string>

#include "frontend/Builder.h"

namespace cairn::training {

struct LrSchedule {
  enum class Kind { Constant, StepDecay, Exponential, Cosine };
  Kind kind = Kind::Constant;
  double base = 1e-3;
  int64_t warmupSteps = 0;
  int64_t stepSize = 1;   ///< StepDecay
  double gamma = 1.0;     ///< StepDecay, Exponential
  int64_t totalSteps = 0; ///< Cosine: warmup included
  double minLr = 0.0;     ///< Cosine

  static LrSchedule constant(double lr, int64_t warmup = 0);
  static LrSchedule stepDecay(double lr, int64_t stepSize, double gamma, int64_t warmup = 0);
  static LrSchedule exponential(double lr, double gamma, int64_t warmup = 0);
  static LrSchedule cosine(double lr, int64_t totalSteps, int64_t warmup = 0, double minLr = 0.0);

  /// Throws BuildError naming the bad field (negative sizes, a cosine whose
  /// totalSteps does not exceed its warmup, ...).
  void validate() const;
  /// The learning rate of update s (0-based) in plain C++: the reference the
  /// tests and progress displays use.
  double at(int64_t s) const;
  /// The same, in-graph, from `step` (a tensor<i64> scalar): a tensor<f64>
  /// scalar.
  Val emit(FunctionBuilder& fb, Val step) const;
  /// "cosine(lr=0.1, warmup=100, total=1000, min=0)" and so on.
  std::string toString() const;
};

} // namespace cairn::training
