// One direction of one LSTM/GRU layer forward through cuDNN 9's RNN API, in
// the `rnn` op's layout (ir/Ops.def): the first piece of the device path
// docs/gpu.md ("cuDNN: the rnn op") plans.
//
// NOT USED YET, and never run: it is built as its own shared library
// (libcairn_cudnn_rnn.so, linked with --no-undefined against libcudnn) so
// that CI compiles and links it without making libcairn_cuda_device.so
// depend on cuDNN; nothing loads it. No GPU has been lent since it was
// written. The next slice gives the device layer a `Device::rnn` that loads
// this (or links it where cuDNN is present), keeps the reserve space for
// cudnnRNNBackwardData_v8 / cudnnRNNBackwardWeights_v8, and tests it against
// the reference kernel on a GPU.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <cuda.h>

#include "ir/Status.h"

namespace cairn::device::cudnn {

/// The operands and results of one forward `rnn` (f32 only), all device
/// addresses in the op's row-major layout.
struct RnnForwardArgs {
  bool lstm = true;
  /// CUDNN_FWD_MODE_TRAINING: also fills a reserve space (returned) that the
  /// backward calls need; otherwise inference.
  bool training = false;
  int32_t T = 0, B = 0, I = 0, H = 0;
  /// Per-row lengths on the host, B of them, each in [1, T] (cuDNN rejects
  /// empty sequences: rows of length 0 stay on the expanded loop's path).
  std::vector<int32_t> lengths;
  CUdeviceptr x = 0;  ///< [T, B, I]
  CUdeviceptr ys = 0; ///< [T, B, H], zero at t >= lengths[b]
  CUdeviceptr h0 = 0, hn = 0;
  CUdeviceptr c0 = 0, cn = 0;                     ///< LSTM only
  CUdeviceptr wIh = 0, wHh = 0, bIh = 0, bHh = 0; ///< [G*H, I], [G*H, H], [G*H], [G*H]
};

/// A training forward's reserve space: owned by the caller, freed with
/// cuMemFree after the backward.
struct RnnReserve {
  CUdeviceptr ptr = 0;
  size_t bytes = 0;
};

/// Runs the forward on `stream` (a CUDA context must be current) and waits
/// for it. Only the forward direction (reverse = 0): a reverse op is paired
/// with its forward twin into one CUDNN_BIDIRECTIONAL call, or its rows
/// reversed, in the next slice. Errors name the cuDNN call and status.
__attribute__((visibility("default"))) Status
cudnnRnnForwardUnused(CUstream stream, const RnnForwardArgs& args, RnnReserve* reserve);

} // namespace cairn::device::cudnn
