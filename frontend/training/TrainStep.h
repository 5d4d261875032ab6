// train_step: one whole training step (gradients, clipping, learning-rate
// schedule, optimizer update) as one function of the module, so it compiles
// and runs as a unit.
//
// It is built around a gradient function already in the module, with the
// contract of compiler/autodiff's buildGradient(lossFn, {wrt}):
//   arguments: the loss function's arguments (batch inputs and parameters,
//              in the order an ArgMapping describes)
//   results:   loss (a float scalar), metrics..., then d loss / d param for
//              each trainable parameter, in ParamStore order (so wrt =
//              trainableArgIndices(mapping, store))
// The built function:
//   @train_step(params..., state..., batch...)
//       -> (new params..., new state..., loss, metrics..., lr[, grad_norm])
// params are every parameter of the store in declaration order; the
// non-trainable ones (ParamSpec::trainable == false) come back unchanged.
// state is the optimizer's state for the trainable parameters
// (Optimizer::stateSpecs; state[0] is the step counter the schedule reads).
// lr is the learning rate this step used and grad_norm the global gradient
// norm before clipping (only with clipping), both tensor<f32>.
//
// Thread-safety: builds into the caller's Module (one thread).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "frontend/layers/Params.h"
#include "frontend/training/LrSchedule.h"
#include "frontend/training/Optimizers.h"
#include "ir/Status.h"

namespace cairn::training {

/// Where one argument of the loss (and gradient) function comes from.
struct LossArg {
  enum class Kind { Batch, Param };
  Kind kind = Kind::Batch;
  size_t index = 0; ///< into the batch inputs, or into the ParamStore
};
using ArgMapping = std::vector<LossArg>;

/// The common layout (LayerHarness's, the models'): numBatch batch inputs,
/// then every parameter in store order.
ArgMapping batchThenParams(size_t numBatch, size_t numParams);
/// The loss-function argument index of each trainable parameter, in store
/// order: GradOptions::wrt for buildGradient. Throws BuildError when a
/// trainable parameter is not in the mapping.
std::vector<size_t> trainableArgIndices(const ArgMapping& mapping, const ParamStore& store);

struct TrainStepOptions {
  std::shared_ptr<const Optimizer> optimizer; ///< required
  LrSchedule schedule = LrSchedule::constant(1e-3);
  std::optional<double> clipNorm; ///< clip by global norm when set
  std::string name = "train_step";
};

/// The built function and where everything sits in its signature.
struct TrainStep {
  Function* function = nullptr;
  std::vector<StateSpec> state; ///< the optimizer state layout (names, types, initial values)
  size_t numParams = 0;
  size_t numBatch = 0;
  size_t numMetrics = 0; ///< metrics of the gradient function (between loss and gradients)
  bool hasGradNorm = false;

  size_t firstStateArg() const { return numParams; }
  size_t firstBatchArg() const { return numParams + state.size(); }
  size_t lossResult() const { return numParams + state.size(); }
  size_t firstMetricResult() const { return lossResult() + 1; }
  size_t lrResult() const { return firstMetricResult() + numMetrics; }
  size_t gradNormResult() const { return lrResult() + 1; } ///< only when hasGradNorm
  size_t numResults() const { return lrResult() + 1 + (hasGradNorm ? 1 : 0); }
};

/// Adds options.name to `m`, calling `gradFn` (a function of `m` with the
/// contract above). Errors name what disagrees: the mapping against gradFn's
/// arguments, a parameter's type, a gradient's type, the loss, a taken name.
StatusOr<TrainStep> buildTrainStep(Module& m, const ParamStore& store, const Function& gradFn,
                                   const ArgMapping& mapping, const TrainStepOptions& options);

} // namespace cairn::training
