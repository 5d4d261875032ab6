// The Elman RNN, Cairn's first model: a recurrence over a dynamic number of
// time steps as one `while` loop in the graph.
//
//   h_t = tanh(x_t Wx + h_{t-1} Wh + b),  t = 0 .. T-1,  T = dim(xs, 0)
//
// It exercises what every recurrent model needs: a trip count read from a
// dynamic dim, a per-step dynamic_slice of the inputs, weights captured by
// the loop body, and a loop-carried state.
#pragma once

#include <string>

#include "frontend/Builder.h"
#include "ir/Tensor.h"

namespace cairn {

/// Adds `func @<name>(%xs: tensor<?xBxDxf32>, %h0: tensor<BxHxf32>,
/// %wx: tensor<DxHxf32>, %wh: tensor<HxHxf32>, %b: tensor<Hxf32>) ->
/// tensor<BxHxf32>` returning the last hidden state (h0 when T = 0).
/// Throws BuildError if the sizes are not positive.
Function* buildElmanRnn(Module& m, int64_t batch, int64_t inputSize, int64_t hiddenSize,
                        const std::string& name = "elman_rnn");

/// The same recurrence as a plain C++ loop over f32 tensors, in the op order
/// of the graph: the oracle for tests and the demo.
Tensor elmanRnnReference(const Tensor& xs, const Tensor& h0, const Tensor& wx, const Tensor& wh,
                         const Tensor& b);

} // namespace cairn
