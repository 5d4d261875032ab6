// The BLAS library behind the executor's GEMMs: OpenBLAS, loaded at first use
// with the kernel family chosen from the CPU's features (docs/codegen.md,
// "BLAS"). OpenBLAS picks its kernels by CPU model number when it loads and
// falls back to SSE3 ones for a model newer than its table (4.7x slower
// GEMMs on an AVX-512 CPU, silently), so Cairn sets OPENBLAS_CORETYPE from
// cpuid before loading it, unless the user already set it.
#pragma once

#include <string>
#include <string_view>

#include "ir/Status.h"
#include "runtime/exec/CpuFeatures.h"

namespace cairn::exec {

/// The BLAS as loaded: which kernels run, why, and whether they fit the CPU.
struct BlasKernels {
  std::string library;  ///< the file loaded
  std::string config;   ///< as it describes itself ("OpenBLAS 0.3.21 ... Cooperlake ...")
  std::string coreName; ///< the kernel family in use ("SkylakeX", "Haswell", "Prescott")
  VectorIsa isa = VectorIsa::Generic;    ///< what that family is written for
  VectorIsa cpuIsa = VectorIsa::Generic; ///< the best the CPU and OS allow
  std::string chosenBy;   ///< "CPU features", "OPENBLAS_CORETYPE set by the user", ...
  std::string warning;    ///< non-empty when the kernels are weaker than the CPU
  std::string loadError;  ///< non-empty when no BLAS could be loaded
  bool loaded() const { return loadError.empty(); }
  /// One line for a tool's header: "OpenBLAS 0.3.21, SkylakeX kernels
  /// (AVX-512; CPU: AVX-512, chosen by CPU features)".
  std::string describe() const;
};

/// Loads the BLAS on the first call (thread-safe) and says what runs.
const BlasKernels& blasKernels();

/// While alive, the BLAS runs single-threaded (the process-wide setting is
/// lowered by the first of any overlapping holders, restored by the last).
/// Why: two loops on two threads whose GEMMs each also want the BLAS's
/// threads oversubscribe the cores: a BiLSTM batch-1 forward took 78 ms
/// instead of 5 with OPENBLAS_NUM_THREADS=2 on 2 cores. Each loop's GEMMs are
/// small and sequential, so one core each is the better split of two. A GEMM
/// too small to gain from threads holds one too (runGemm).
/// How many times SingleThreadedBlas has lowered the process's BLAS thread
/// count (for tests that check a run leaves it alone).
int64_t blasThreadChanges();

class SingleThreadedBlas {
public:
  SingleThreadedBlas();
  ~SingleThreadedBlas();
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;
};

/// The OPENBLAS_CORETYPE whose kernels use what `cpu` offers, or "" where
/// nothing better than the library's own choice exists (no AVX).
std::string openblasCoreTypeFor(const CpuFeatures& cpu);
/// The instruction set an OpenBLAS kernel family (as openblas_get_corename
/// names it, any case) is written for; Generic for an unknown name.
VectorIsa isaOfOpenblasCore(std::string_view coreName);

} // namespace cairn::exec
