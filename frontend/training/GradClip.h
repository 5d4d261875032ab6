// Gradient clipping by global norm, in-graph (torch.nn.utils.clip_grad_norm_
// with norm_type 2, optax.clip_by_global_norm):
//   norm  = sqrt(sum over all gradients of sum(g^2))
//   scale = min(1, maxNorm / (norm + eps))
//   g     = g * scale            (every gradient, always: scale is 1 when small)
// The sum of squares is accumulated in f64 (f16/bf16 gradients are squared
// in f32 first), so many large tensors do not lose the small ones; the scale
// is rounded once to each gradient's dtype. A NaN or inf norm is returned as
// is and scales every gradient to NaN: the training loop sees it in the norm
// metric (torch's error_if_nonfinite=False behaviour).
//
// Thread-safety: builds into the caller's FunctionBuilder.
#pragma once

#include "frontend/Builder.h"

namespace cairn::training {

struct ClippedGrads {
  ValueList grads; ///< the scaled gradients, types unchanged
  Val norm;        ///< the global norm before clipping, tensor<f32>
};

/// Clips `grads` (float tensors) to global norm `maxNorm` (> 0; BuildError
/// otherwise).
ClippedGrads clipByGlobalNorm(FunctionBuilder& fb, const ValueList& grads, double maxNorm,
                              double eps = 1e-6);
/// Just the global norm, tensor<f64>.
Val globalNorm(FunctionBuilder& fb, const ValueList& grads);

} // namespace cairn::training
