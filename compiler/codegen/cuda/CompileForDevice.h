// The compile entry point of the CUDA backend: a Module in, a
// device::DeviceExecutable (runtime/device/DeviceExecutable.h) out.
//
//   auto dev = std::shared_ptr<device::Device>(device::makeEmulatedDevice());
//   auto exe = codegen::cuda::compileForDevice(m, dev);
//   auto out = (*exe)->run("main", inputs);
//
// The same passes and lowering as the CPU executor (optimizedCopy,
// lowerFunctions: one program format for both backends), then each distinct
// kernel compiled for the device: PTX for every architecture (LLVM NVPTX,
// in-process) for a real GPU, host entries for the emulated device, and
// loaded onto it.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compiler/Pipeline.h"
#include "compiler/lowering/LowerFunctions.h"
#include "runtime/device/DeviceExecutable.h"

namespace cairn::codegen::cuda {

struct DeviceCompileOptions {
  /// Passes run first on the copy; unset: deviceOptimizePipeline(floatRewrites)
  /// where the device runs `rnn` ops whole (rnnOnDevice and
  /// Device::supportsRnn), else optimizePipeline(floatRewrites).
  std::optional<std::vector<std::string>> passes;
  FloatRewrites floatRewrites = FloatRewrites::Exact;
  /// Keep f32 `rnn` ops for Device::rnn (cuDNN on a GPU) instead of
  /// expanding them into loops. The ahead-of-time compiler keeps them
  /// whenever this is set (the device it will run on is not known; one
  /// without Device::rnn runs them on the host).
  bool rnnOnDevice = true;
  /// PTX targets for a real device (the driver loads the best it runs).
  std::vector<std::string> architectures = {"sm_80", "sm_90"};
  /// Generate the PTX even for the emulated device (tests assemble it).
  bool alwaysEmitPtx = false;
};

struct DeviceCompileReport : LowerReport {
  int kernels = 0; ///< distinct kernels
  double passesMs = 0, lowerMs = 0, codegenMs = 0;
  /// With a real device or alwaysEmitPtx: the PTX per architecture, one
  /// module holding every kernel as cairn_kernel_<n>.
  std::vector<std::pair<std::string, std::string>> ptx;
};

/// What the device runs, before any kernel is compiled: the optimized copy
/// of the module, its programs, the kernels they launch (Instruction::kernel
/// k is kernels[k]) and the lone broadcasts made elementwise kernels.
struct DeviceLowering {
  std::unique_ptr<Module> module;
  LoweredFunctions programs;
  std::vector<KernelDesc> kernels;
  std::map<const Op*, int32_t> opKernels;
};

/// The passes and the lowering compileForDevice and the ahead-of-time
/// compiler (CompileAotDevice.h) share; fills r's passes/lower times and
/// kernel count.
StatusOr<DeviceLowering> lowerForDevice(const Module& m, const DeviceCompileOptions& options,
                                        DeviceCompileReport& r);

/// The entry names of kernels 0 .. n-1 in the PTX modules
/// ("cairn_kernel_<k>").
std::vector<std::string> deviceKernelNames(size_t n);

StatusOr<std::unique_ptr<device::DeviceExecutable>>
compileForDevice(const Module& m, std::shared_ptr<device::Device> device,
                 const DeviceCompileOptions& options = {}, DeviceCompileReport* report = nullptr);

} // namespace cairn::codegen::cuda
