// The loop control of a `while` recorded as a CUDA graph (Device.h,
// Device::loopControl): after each evaluation of the loop's condition, one
// thread sets the conditional WHILE node's handle; cairn_if_control does the
// same for an `if`'s IF nodes. The emulated device's
// loopStep (EmulatedDevice.cpp) is the same function on the host.
//
// Built by nvcc at build time (cudaGraphSetConditional lives in the device
// runtime, libcudadevrt, so the kernel is linked with it into one cubin per
// architecture) and embedded in libcairn_cuda_device.so: no nvcc or
// libcudadevrt is needed where it runs.
#include <cuda_runtime.h>

extern "C" __global__ void cairn_loop_control(cudaGraphConditionalHandle handle,
                                              const unsigned char* condition, long long* state,
                                              long long maxTrip) {
  bool more = *condition != 0;
  if (more && maxTrip >= 0 && state[0] >= maxTrip) { // one trip too many: stop, say so
    state[1] = 1;
    more = false;
  }
  if (more) ++state[0];
  cudaGraphSetConditional(handle, more ? 1u : 0u);
}

// The control of one branch of an `if` recorded in a loop (Device::beginIf):
// the IF node runs its branch when the condition byte is nonzero, or with
// `negate` when it is zero.
extern "C" __global__ void cairn_if_control(cudaGraphConditionalHandle handle,
                                            const unsigned char* condition, int negate) {
  bool taken = (*condition != 0) != (negate != 0);
  cudaGraphSetConditional(handle, taken ? 1u : 0u);
}
