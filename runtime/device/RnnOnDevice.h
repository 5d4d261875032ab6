// The `rnn` op on a Device (docs/gpu.md, "cuDNN: the rnn op"): what the
// executor does around Device::rnn, and what the emulated device does inside
// it.
//
// Device::rnn runs one forward-direction layer with every length in [1, T],
// as cuDNN's unidirectional RNN does. A reverse op (the backward half of a
// BiLSTM) has no unidirectional cuDNN mode, so the executor reorders rows
// around the call: x's rows through reverseStepsPermutation, the forward
// call, then ys' rows through the same permutation back (it is its own
// inverse); the states need nothing. The reorder is the ordinary row gather
// kernel, so the emulated device runs exactly the launches a GPU runs.
#pragma once

#include <cstdint>
#include <vector>

#include "ir/Status.h"
#include "runtime/device/Device.h"

namespace cairn::device {

/// Row r = t*B + b of a [T, B, ...] sequence read from row p[r]: the steps
/// t < lengths[b] of row b reversed (t -> lengths[b] - 1 - t), the padding
/// t >= lengths[b] left in place. Applying it twice is the identity.
std::vector<int32_t> reverseStepsPermutation(const std::vector<int32_t>& lengths, int64_t T);

/// Device::rnn on host memory, the emulated device's: the products through
/// the CPU's BLAS (the input projection of every step as one GEMM), the
/// gates in f32, as cuDNN computes the layer; the reference kernel
/// (kernels/reference/Rnn.h) is the tests' oracle, within f32 rounding.
Status rnnOnHost(const RnnArgs& a);
/// Device::rnnBackward on host memory, the emulated device's: the forward
/// again, then back through time with BLAS products, as cuDNN's training
/// forward and backward calls compute it (the forward outputs in
/// `a.forward` are left as they are).
Status rnnBackwardOnHost(const RnnBackwardArgs& a);

} // namespace cairn::device
