// The `rnn` op and its gradient through cuDNN 9's RNN API: Device::rnn and
// Device::rnnBackward of the real device (runtime/device/Device.h's RnnArgs
// and RnnBackwardArgs, one forward-direction LSTM/GRU layer, f32, lengths
// in [1, T]; the executor reorders a reverse op's rows around the call,
// runtime/device/RnnOnDevice.h).
//
// Built as its own shared library, libcairn_cudnn_rnn.so (where cuDNN is
// found; linked with --no-undefined against libcudnn, so CI compiles and
// links it), and dlopen'ed by libcairn_cuda_device.so on first use, so the
// device layer starts without cuDNN and a machine without it expands rnn
// ops into loops instead (Device::supportsRnn is false there). The entry
// points are C functions taking a context made per device stream.
//
// Never run on a GPU yet: no GPU has been lent since it was written
// (docs/gpu.md says what is verified where).
#pragma once

#include <cstddef>

#include <cuda.h>

#include "runtime/device/Device.h"

extern "C" {

/// A cuDNN handle on `stream` and the device buffers reused across calls
/// (weight space, workspace, reserve space: grown, never shrunk). Null on
/// failure, with a message in `error`. A CUDA context must be current.
__attribute__((visibility("default"))) void* cairn_cudnn_rnn_open(CUstream stream, char* error,
                                                                  size_t errorSize);
__attribute__((visibility("default"))) void cairn_cudnn_rnn_close(void* context);

/// Device::rnn: cudnnRNNForward (inference). Issued on the context's stream
/// without waiting. Returns 0, or 1 with a message naming the cuDNN call.
__attribute__((visibility("default"))) int
cairn_cudnn_rnn_forward(void* context, const cairn::device::RnnArgs* args, char* error,
                        size_t errorSize);

/// Device::rnnBackward: cudnnRNNForward in training mode (for the reserve
/// space; the forward is recomputed, see docs/gpu.md), then
/// cudnnRNNBackwardData_v8 and cudnnRNNBackwardWeights_v8, the weight
/// gradients unpacked from cuDNN's weight space into the op's layout.
__attribute__((visibility("default"))) int
cairn_cudnn_rnn_backward(void* context, const cairn::device::RnnBackwardArgs* args, char* error,
                         size_t errorSize);
}
