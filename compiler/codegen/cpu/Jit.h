// CpuJit: compiles KernelDescs to native code in-process with LLVM's ORC
// LLJIT and hands out function pointers.
//
// One compile() call lowers every kernel it has not seen, runs the -O3
// pipeline (loop and SLP vectorization on) for the host CPU (its name and
// feature set, e.g. znver5 with AVX-512) and generates object code, in
// groups of kernels on parallel threads (one per 8 new kernels, up to the
// host's cores), each kernel a module of its own; ORC then links the
// objects. Kernels are cached by structural identity (KernelDesc ==,
// hashKernel): asking again, or for a second fusion that computes the same
// thing, returns the same pointer without compiling; and on disk across
// processes (KernelCache.h), where a kernel compiled before is loaded
// instead of optimized and compiled again (cairn-train's default job: 0.93 s
// cold, 0.04 s warm).
//
// Thread-safety: all methods may be called from any thread; compile()
// serializes on an internal mutex (later work: parallel compilation). The
// returned KernelFns are immutable code, callable concurrently from any
// thread for as long as the CpuJit lives.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compiler/codegen/cpu/LowerToLLVM.h"
#include "compiler/lowering/KernelDesc.h"

namespace cairn::codegen::cpu {

struct JitOptions {
  /// The LLVM pipeline level: 2 or 3.
  int optLevel = 3;
  /// Keep the optimized IR of each compile() in CompileStats::optimizedIR.
  bool keepOptimizedIR = false;
  /// Target another CPU of the host's architecture instead of the host's own
  /// (e.g. "x86-64": SSE2 only, no FMA), with `features` ("+avx2,-fma", or
  /// empty for the CPU's defaults): how tests check that the kernels and
  /// their error bounds do not depend on the host's extensions. Empty: the
  /// host CPU and every feature it reports.
  std::string cpu;
  std::string features;
  /// Where compiled kernels are kept across processes (KernelCache.h):
  /// unset, KernelCache::defaultDirectory() ($CAIRN_CACHE_DIR, else
  /// ~/.cache/cairn/kernels); empty, no disk cache.
  std::optional<std::string> cacheDir;
};

/// What one compile() did and how long it took (wall clock).
struct CompileStats {
  int requested = 0;  ///< kernels asked for
  int compiled = 0;   ///< new distinct kernels lowered and compiled
  int cacheHits = 0;  ///< served from the cache or deduplicated within the call
  int diskHits = 0;   ///< of the compiled ones, loaded from the disk cache
  int diskStores = 0; ///< compiled and written to the disk cache
  // Phases run per thread: each is the slowest thread's.
  double lowerMs = 0; ///< KernelDesc -> LLVM IR, verification
  double optimizeMs = 0;
  double codegenMs = 0; ///< machine code generation and linking
  double totalMs = 0;
  std::string optimizedIR; ///< with JitOptions::keepOptimizedIR
};

class CpuJit {
public:
  /// Fails when LLVM has no native target for this host.
  static StatusOr<std::unique_ptr<CpuJit>> create(const JitOptions& options = {});
  ~CpuJit();
  CpuJit(const CpuJit&) = delete;
  CpuJit& operator=(const CpuJit&) = delete;

  /// Function pointers for `kernels`, in order, compiling the ones not cached
  /// in one module. Fails (compiling nothing) when a kernel is not lowerable.
  StatusOr<std::vector<KernelFn>> compile(const std::vector<KernelDesc>& kernels,
                                          CompileStats* stats = nullptr);
  StatusOr<KernelFn> compile(const KernelDesc& kernel, CompileStats* stats = nullptr);

  /// Distinct kernels compiled so far.
  size_t numKernels() const;
  /// The CPU name code is generated for (llvm::sys::getHostCPUName()).
  const std::string& cpuName() const;

private:
  struct Impl;
  explicit CpuJit(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Whether an in-process JIT works on this host (the native target
/// initializes and an LLJIT can be made): whether sharedCpuJit()
/// (RunFusion.h) succeeds. Computed once.
bool cpuJitAvailable();

} // namespace cairn::codegen::cpu
