// The training step every benchmark times, in one place: the gradient of
// `loss` w.r.t. every trainable parameter, global-norm clipping at 5 and
// Adam at lr 1e-3 (what bench/peers/jax_models.py and the PyTorch harness
// run too). Header-only: the bench tools are separate executables.
#pragma once

#include "compiler/autodiff/Autodiff.h"
#include "frontend/training/TrainStep.h"

namespace cairn::bench {

/// `batchFirst` batch inputs of `loss` precede the parameters of `ps`,
/// `batchLast` follow them. `keepRnnOps`: the gradient keeps `rnn` layers
/// whole (GradOptions::keepRnnOps: rnn_grad, cuDNN's backward on a GPU).
/// Throws (BuildError) or returns the error status
/// of buildGradient / buildTrainStep.
inline StatusOr<training::TrainStep> buildAdamClipStep(Module& m, const ParamStore& ps,
                                                       const Function& loss, size_t batchFirst,
                                                       size_t batchLast,
                                                       bool keepRnnOps = false) {
  training::ArgMapping mapping = training::batchThenParams(batchFirst, ps.size());
  for (size_t i = 0; i < batchLast; ++i)
    mapping.push_back({training::LossArg::Kind::Batch, batchFirst + i});
  GradOptions go;
  go.wrt = training::trainableArgIndices(mapping, ps);
  go.keepRnnOps = keepRnnOps;
  CAIRN_ASSIGN_OR_RETURN(Function * grad, buildGradient(m, loss, go));
  training::TrainStepOptions opts;
  opts.optimizer = training::makeAdam({});
  opts.clipNorm = 5.0;
  return training::buildTrainStep(m, ps, *grad, mapping, opts);
}

} // namespace cairn::bench
