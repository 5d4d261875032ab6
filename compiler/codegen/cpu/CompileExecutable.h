// The compile entry point of the CPU executor: a Module in, an
// exec::Executable (runtime/exec/Executable.h) out.
//
//   auto exe = codegen::cpu::compileExecutable(m);
//   if (!exe.isOk()) ...;
//   auto out = (*exe)->run("main", inputs);
//
// It runs the optimize pipeline on a copy of the module, then lowers every
// op of every function to an executor instruction:
//   - a `fusion` of kind "elementwise", and a lone elementwise op, to a
//     JIT-compiled kernel (compiler/codegen/cpu): compiled now when its
//     shapes are static, else specialized to the concrete shapes at its first
//     run with them and cached (SpecializeKernel.h);
//   - `dot` to BLAS sgemm/dgemm when it is a (batched) matrix product,
//     transposes included (runtime/exec/Gemm.h);
//   - dynamic_slice, dynamic_update_slice, gather, scatter, scatter_add,
//     concat and broadcast to row kernels (kernels/cpu), the updates in place
//     when their operand dies there;
//   - constants to tensors materialized once; reshape to a buffer alias;
//   - `while` and `if` to nested instruction blocks;
//   - everything else (and whatever the above cannot take) to the reference
//     kernels, one op at a time.
// Buffer decisions (liveness, in place, moves) are made here; see the
// Algorithm comment in CompileExecutable.cpp and docs/runtime.md.
//
// Thread-safety: compileExecutable may be called from several threads (the
// shared JIT serializes its compiles); the Executable is immutable.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ir/IR.h"
#include "runtime/exec/Executable.h"

namespace cairn::codegen::cpu {

struct CompileOptions {
  /// Passes run first on the copy; unset: optimizePipeline(). An empty list
  /// runs none (the executor then sees the module as it is).
  std::optional<std::vector<std::string>> passes;
  /// Lower elementwise fusions and ops to JIT kernels (else reference kernels).
  bool jitKernels = true;
  /// Lower matrix products to BLAS (else the reference `dot`).
  bool blas = true;
  /// Update dying operands in place and alias reshapes (else always copy):
  /// off only to measure what in place buys.
  bool inPlace = true;
};

/// What compileExecutable did.
struct CompileReport {
  int kernelsStatic = 0;  ///< kernels compiled now
  int kernelsDynamic = 0; ///< kernels specialized at run time
  int gemms = 0;
  int rows = 0;    ///< ops run by row kernels (indexed ops, concat, broadcast)
  int inPlace = 0; ///< update ops planned in place
  int fallbacks = 0;
  double passesMs = 0;
  double lowerMs = 0; ///< lowering to instructions, static kernels' JIT included
};

StatusOr<std::unique_ptr<exec::Executable>> compileExecutable(const Module& m,
                                                              const CompileOptions& options = {},
                                                              CompileReport* report = nullptr);

} // namespace cairn::codegen::cpu
