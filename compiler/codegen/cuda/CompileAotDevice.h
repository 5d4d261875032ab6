// Ahead-of-time compilation for a CUDA device (cairn-compile --target cuda):
// a module becomes an object file and a C header, as for the CPU
// (cpu/CompileAot.h), whose model the C API runs on the GPU with the CUDA
// driver and cuBLAS: no LLVM, no compiler, no nvcc at run time.
//
//   cairn-compile model.cairn --target cuda -o model.o --prefix model
//
// The object holds what compileForDevice would load: the optimized module's
// text, its programs (runtime/exec/ProgramFormat.h, the same lowering as
// compileForDevice), and per GPU architecture the PTX of the model's
// kernels and of the fixed row kernels, each with a cubin where ptxas is
// available (the driver loads a cubin built for the GPU's architecture
// as it is, and compiles the PTX otherwise). It also holds the host entries
// of every kernel (compiled by LLVM for `aot.cpu`), so that the same object
// runs on the emulated device: CI runs every such object there, and a
// machine without a GPU can run it (slowly). The descriptor is a
// cairn_aot_model whose `device` field points at a cairn_aot_device
// (runtime/capi/cairn.h).
//
// Thread-safety: may run concurrently with itself and with the JITs.
#pragma once

#include <string>
#include <vector>

#include "compiler/codegen/cpu/CompileAot.h"
#include "ir/IR.h"
#include "ir/Status.h"

namespace cairn::codegen::cuda {

struct DeviceAotOptions {
  /// Prefix, shared entry; `cpu` is the host CPU the emulated entries are
  /// compiled for (only the emulated device checks it at load time).
  cpu::AotOptions aot;
  /// GPU architectures ("sm_80", "sm_90"), each one PTX module (and cubin).
  std::vector<std::string> architectures = {"sm_80", "sm_90"};
  /// ptxas, to add a cubin per architecture; "" for PTX alone.
  std::string ptxas;
};

struct DeviceAotReport : cpu::AotReport {
  int architectures = 0;
  int cubins = 0; ///< modules assembled by ptxas
  int rowKernels = 0;
  int opKernels = 0; ///< lone broadcasts run as elementwise kernels
};

/// Optimizes a copy of `m` for the device, writes the object file to
/// `objectPath`, and returns the C header's text.
StatusOr<std::string> compileAotForDevice(const Module& m, const DeviceAotOptions& options,
                                          const std::string& objectPath,
                                          DeviceAotReport* report = nullptr);

/// The ptxas of the CUDA toolkit this build found, where it still exists,
/// else "" (cairn-compile's default for DeviceAotOptions::ptxas).
std::string defaultPtxas();

} // namespace cairn::codegen::cuda
