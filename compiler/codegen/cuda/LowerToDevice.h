// LowerToDevice: a KernelDesc (the same backend-neutral description the CPU
// backend lowers) becomes a CUDA kernel, one thread per element over a
// grid-stride loop, in two forms built from one per-thread LLVM function:
//
//   name.thread(buffers..., extents..., i64 n, i64 tid, i64 ntid, i64 ctaid, i64 nctaid)
//     for (i = ctaid * ntid + tid; i < n; i += ntid * nctaid) element i
//
// - for the GPU, the NVPTX kernel `name(ptr buffers..., i64 extents..., i64 n)`
//   reads tid/ntid/ctaid/nctaid from PTX's special registers and is emitted
//   as PTX in-process (emitPtx; no nvcc at run time);
// - for the emulated device, the host function
//   `name(void** kernelParams, uint32_t grid, uint32_t block)` takes its
//   arguments exactly as cuLaunchKernel does (kernelParams[j] points at
//   argument j) and runs every block and thread as two host loops around the
//   same per-thread function, compiled for the host by the same pipeline.
//
// The element body is cpu::lowerToLLVM's (its `.loop` for [i, i + 1)), so
// the GPU computes what the CPU does, bit for bit, MathApprox's
// approximations included.
//
// The launch ABI (DeviceKernelAbi): one pointer per input, then per output
// (dense row-major device buffers), one i64 per run-time extent
// (KernelDesc::shape.params as exec::evaluateKernelShape computes them),
// then the element count n.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "compiler/lowering/KernelDesc.h"
#include "runtime/device/Device.h"
#include "runtime/device/RowKernels.h"

namespace llvm {
class Module;
}

namespace cairn::codegen::cuda {

/// The GPU architectures PTX is generated for by default (compute
/// capability 8.0: A100; 9.0: H100/H200).
inline const std::vector<std::string>& defaultArchitectures() {
  static const std::vector<std::string> archs = {"sm_80", "sm_90"};
  return archs;
}

/// Ok when the kernel can be lowered for the device (the CPU backend's
/// dtypes and ops: cpu::checkLowerable).
Status checkDeviceLowerable(const KernelDesc& k);

/// One PTX module holding `kernels[j]` as the entry `names[j]`, for `arch`
/// ("sm_80", "sm_90"); optimized at -O3 by LLVM's NVPTX backend.
StatusOr<std::string> emitPtx(const std::vector<KernelDesc>& kernels,
                              const std::vector<std::string>& names, const std::string& arch);

/// One PTX module holding every row kernel (runtime/device/RowKernels.h),
/// each under its rowKernelName.
StatusOr<std::string> emitRowKernelsPtx(const std::string& arch);

/// Adds the host entries of `kernels` to `m` (one per kernel, named
/// `names[j]`, with their `.thread` functions): what an ahead-of-time object
/// carries for the emulated device (CompileAotDevice.h).
Status addHostEntries(llvm::Module& m, const std::vector<KernelDesc>& kernels,
                      const std::vector<std::string>& names);
/// The same for every row kernel, named `prefix` + its rowKernelName.
void addRowHostEntries(llvm::Module& m, const std::string& prefix);

/// The LLVM IR of the same module before optimization (for tests and
/// `--print-device-ir`-style debugging).
StatusOr<std::string> deviceModuleIR(const std::vector<KernelDesc>& kernels,
                                     const std::vector<std::string>& names, bool forHost);

/// Compiles kernels for the emulated device through the host JIT, cached by
/// structure; thread-safe.
class EmulatedKernelCompiler {
public:
  static StatusOr<std::unique_ptr<EmulatedKernelCompiler>> create();
  ~EmulatedKernelCompiler();
  EmulatedKernelCompiler(const EmulatedKernelCompiler&) = delete;
  EmulatedKernelCompiler& operator=(const EmulatedKernelCompiler&) = delete;

  StatusOr<device::EmulatedKernelFn> compile(const KernelDesc& k);
  /// Host entries of every row kernel, in allRowKernels()' order (compiled
  /// on the first call).
  StatusOr<std::vector<device::EmulatedKernelFn>> rowKernels();

private:
  struct Impl;
  explicit EmulatedKernelCompiler(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// The process's shared compiler (made on first use; an error where the host
/// has no JIT).
StatusOr<EmulatedKernelCompiler*> sharedEmulatedKernelCompiler();

} // namespace cairn::codegen::cuda
