// The compile entry point of the CPU executor: a Module in, an
// exec::Executable (runtime/exec/Executable.h) out.
//
//   auto exe = codegen::cpu::compileExecutable(m);
//   if (!exe.isOk()) ...;
//   auto out = (*exe)->run("main", inputs);
//
// It runs the optimize pipeline on a copy of the module, lowers every
// function to executor instructions with the buffer plan
// (compiler/lowering/LowerFunctions.h), then JIT-compiles every distinct kernel
// the programs use, in one LLVM module. Kernels over dynamic shapes are
// compiled once with run-time extents (runtime/exec/KernelShape.h): nothing
// is compiled when the program runs.
//
// Thread-safety: compileExecutable may be called from several threads (the
// shared JIT serializes its compiles); the Executable is immutable.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <unordered_map>

#include "compiler/Pipeline.h"
#include "compiler/lowering/LowerFunctions.h"
#include "ir/IR.h"
#include "runtime/exec/Executable.h"

namespace cairn::codegen::cpu {

struct CompileOptions {
  /// Passes run first on the copy; unset: optimizePipeline(floatRewrites).
  /// An empty list runs none (the executor then sees the module as it is).
  std::optional<std::vector<std::string>> passes;
  /// Whether the default passes may reassociate float sums (Pipeline.h).
  FloatRewrites floatRewrites = FloatRewrites::Exact;
  /// How to lower (LowerOptions): kernels (JIT-compiled; reference kernels
  /// where off or where this host has no JIT), BLAS, in place, parallel loops.
  LowerOptions lower;
};

/// What compileExecutable did: lowering's counts (LowerReport), then these.
struct CompileReport : LowerReport {
  int kernels = 0; ///< distinct kernels compiled
  double passesMs = 0;
  double lowerMs = 0; ///< lowering to instructions (kernel descriptions included)
  double jitMs = 0;   ///< compiling the kernels (LLVM -O3 and code generation)
};

/// The KernelSource of the CPU backend: accepts the kernels LowerToLLVM can
/// lower (checkLowerable), numbering distinct ones in order of first use;
/// the JIT (or cairn-compile's object file) then provides them in that order.
class KernelCollector : public KernelSource {
public:
  int32_t add(const KernelDesc& k) override;
  const std::vector<KernelDesc>& kernels() const { return kernels_; }

private:
  std::vector<KernelDesc> kernels_;
  std::unordered_map<KernelDesc, int32_t, KernelDescHash> index_;
};

/// A copy of `m` with `passes` run on it: the first step of compiling for the
/// CPU, ahead of time (CompileAot.h) or not, so both lower the same module.
StatusOr<std::unique_ptr<Module>> optimizedCopy(const Module& m,
                                                const std::vector<std::string>& passes);

StatusOr<std::unique_ptr<exec::Executable>> compileExecutable(const Module& m,
                                                              const CompileOptions& options = {},
                                                              CompileReport* report = nullptr);

} // namespace cairn::codegen::cpu
