// Compile-and-run entry points for one fusion op on the process's shared
// CpuJit: what tests and the differential checks use until the compiled
// executor (which will plan buffers and call KernelFns itself) exists.
//
// Thread-safety: safe from any thread (the shared JIT serializes compiles;
// kernels run on the caller's thread).
#pragma once

#include <vector>

#include "compiler/codegen/cpu/Jit.h"
#include "ir/IR.h"
#include "ir/Tensor.h"

namespace cairn::codegen::cpu {

/// The JIT shared by runFusionCompiled, made on first use; an error when no
/// JIT can be made on this host (cpuJitAvailable() is false).
StatusOr<CpuJit*> sharedCpuJit();

/// Describes, compiles (or finds in the shared cache) and runs `fusionOp` (a
/// `fusion` of kind "elementwise" or a single elementwise op) on `inputs`,
/// which must match its operand types exactly. Returns one tensor per result.
/// Errors: dynamic shapes, unsupported dtypes or ops ("unsupported in
/// codegen: ..."), mismatched inputs.
StatusOr<std::vector<Tensor>> runFusionCompiled(const Op& fusionOp,
                                                const std::vector<Tensor>& inputs);

/// Runs an already compiled kernel of `k` on `inputs` (checked against
/// k.inputs), allocating the outputs.
StatusOr<std::vector<Tensor>> runKernel(const KernelDesc& k, KernelFn fn,
                                        const std::vector<Tensor>& inputs);

} // namespace cairn::codegen::cpu
