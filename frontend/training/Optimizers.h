// Optimizers emitted as IR: an update step is ordinary ops built with the
// builder's Val API, so a whole training step (forward, backward, update) is
// one function that passes can optimize and any backend can run.
//
// State is plain tensors, passed in and returned like parameters, so it can
// be checkpointed (frontend/training/Checkpoint.h) and resumed exactly. The
// layout (docs/training.md "State layout"):
//   state[0]                  "step": tensor<i64>, the number of updates
//                             applied so far (0 initially), shared by all
//                             parameters and read by learning-rate schedules
//   then for each parameter p, in order, the optimizer's slots():
//                             "<p>.<slot>", of p's type, initialized to 0
// e.g. Adam on (w, b): step, w.exp_avg, w.exp_avg_sq, b.exp_avg, b.exp_avg_sq.
//
// The formulas are torch.optim's (2.x, non-foreach, maximize=False), written
// out in docs/training.md; where Cairn differs it says so there. Scalar
// bookkeeping (bias corrections, the learning rate) is computed in f64 and
// rounded once to the parameter's dtype; tensor math runs in the parameter's
// dtype, as torch does.
//
// Hyperparameters are checked when an optimizer is constructed; a bad one is
// a bug in the C++ training code and throws BuildError, like the builder.
//
// Thread-safety: optimizers are immutable after construction; apply() builds
// into the caller's FunctionBuilder (one per thread).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/Builder.h"
#include "ir/Tensor.h"

namespace cairn::training {

/// One optimizer state tensor: its name, type and the value every element
/// starts at.
struct StateSpec {
  std::string name;
  TensorType type;
  double init = 0.0;
  bool operator==(const StateSpec&) const = default;
};

/// Zero-filled (or `init`-filled) tensors for `specs`.
std::vector<Tensor> initialState(const std::vector<StateSpec>& specs);

/// What apply() returns: the updated parameters and state, in the order given.
struct OptimizerUpdate {
  ValueList params;
  ValueList state;
};

class Optimizer {
public:
  virtual ~Optimizer() = default;

  /// "sgd", "adam", "adamw", "rmsprop".
  virtual std::string name() const = 0;
  /// Per-parameter state slots, in layout order (e.g. {"exp_avg", "exp_avg_sq"}).
  virtual std::vector<std::string> slots() const = 0;

  /// The state layout (see the file comment) for parameters `names` of `types`.
  std::vector<StateSpec> stateSpecs(const std::vector<std::string>& names,
                                    const std::vector<TensorType>& types) const;

  /// Emits one update of `params` by `grads` (same types, pairwise) with
  /// learning rate `lr` (a float scalar Val, e.g. from LrSchedule::emit).
  /// `state` follows stateSpecs(). Throws BuildError on mismatched counts or
  /// types.
  OptimizerUpdate apply(FunctionBuilder& fb, const ValueList& params, const ValueList& grads,
                        const ValueList& state, Val lr) const;

protected:
  /// Scalars of the current update, f64 rank-0 Vals.
  struct StepScalars {
    Val t;     ///< 1-based number of this update (torch's `step` after increment)
    Val lr;    ///< learning rate
    Val first; ///< i1: t == 1
  };
  /// Emits the update of one parameter: returns its new value followed by
  /// its new slots (in slots() order).
  virtual ValueList update(FunctionBuilder& fb, Val p, Val g, const ValueList& slots,
                           const StepScalars& s) const = 0;
};

/// SGD with momentum (torch.optim.SGD):
///   g = grad + weightDecay * p
///   b = g                                   on the first step
///   b = momentum * b + (1 - dampening) * g  afterwards
///   g = nesterov ? g + momentum * b : b     (when momentum != 0)
///   p = p - lr * g
struct SgdOptions {
  double momentum = 0.0;
  double dampening = 0.0;
  double weightDecay = 0.0;
  bool nesterov = false; ///< needs momentum > 0 and dampening == 0
};
/// Slots: {"momentum_buffer"} when momentum != 0, else none.
std::unique_ptr<Optimizer> makeSgd(const SgdOptions& opts = {});

/// Adam / AdamW (torch.optim.Adam, torch.optim.AdamW):
///   decoupled:  p = p * (1 - lr * weightDecay)     (AdamW)
///   otherwise:  g = grad + weightDecay * p         (Adam's L2 penalty)
///   m = beta1 * m + (1 - beta1) * g
///   v = beta2 * v + (1 - beta2) * g^2
///   vmax = max(vmax, v)                            (amsgrad; v below means vmax)
///   p = p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
struct AdamOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weightDecay = 0.0;
  bool decoupledWeightDecay = false; ///< true = AdamW
  bool amsgrad = false;
};
/// Slots: {"exp_avg", "exp_avg_sq"} and "max_exp_avg_sq" with amsgrad.
std::unique_ptr<Optimizer> makeAdam(const AdamOptions& opts = {});
/// AdamW with torch's defaults (weight decay 0.01, decoupled).
std::unique_ptr<Optimizer> makeAdamW(double weightDecay = 0.01, AdamOptions opts = {});

/// RMSprop (torch.optim.RMSprop):
///   g = grad + weightDecay * p
///   v = alpha * v + (1 - alpha) * g^2
///   centered:  a = alpha * a + (1 - alpha) * g;  d = sqrt(v - a^2) + eps
///   otherwise: d = sqrt(v) + eps
///   momentum:  b = momentum * b + g / d;  p = p - lr * b
///   otherwise: p = p - lr * g / d
struct RmspropOptions {
  double alpha = 0.99;
  double eps = 1e-8;
  double weightDecay = 0.0;
  double momentum = 0.0;
  bool centered = false;
};
/// Slots: {"square_avg"}, then "momentum_buffer" (momentum != 0), then
/// "grad_avg" (centered).
std::unique_ptr<Optimizer> makeRmsprop(const RmspropOptions& opts = {});

} // namespace cairn::training
