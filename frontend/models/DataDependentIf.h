// Clip by norm: a function whose control flow depends on a value computed in
// the graph, the case a trace-once framework cannot capture.
//
//   n = sqrt(sum(x * x));  y = n > c ? x * (c / n) : x
#pragma once

#include <string>

#include "frontend/Builder.h"
#include "ir/Tensor.h"

namespace cairn {

/// Adds `func @<name>(%x: tensor<Nxf32>) -> tensor<Nxf32>` that rescales `x`
/// to norm `maxNorm` when its L2 norm exceeds it (an `if` on the norm) and
/// returns it unchanged otherwise.
Function* buildClipByNorm(Module& m, int64_t size, double maxNorm,
                          const std::string& name = "clip_by_norm");

/// The same computation in plain C++ (f32), the oracle for tests and the demo.
Tensor clipByNormReference(const Tensor& x, double maxNorm);

} // namespace cairn
