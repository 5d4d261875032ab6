// What the CPU can execute, read from cpuid and the OS's saved-state mask
// (xgetbv), not from its model number: a model the BLAS does not know yet
// still has the features its kernels need (docs/codegen.md, "BLAS").
#pragma once

#include <string>

namespace cairn::exec {

/// The vector instruction sets a BLAS kernel family is written for, from
/// least to most capable. Each level implies the ones below it.
enum class VectorIsa { Generic, Sse3, Avx, Avx2, Avx512 };

const char* vectorIsaName(VectorIsa isa);

struct CpuFeatures {
  std::string vendor; ///< "GenuineIntel", "AuthenticAMD", ... ("" off x86)
  std::string brand;  ///< e.g. "AMD EPYC 9B14"
  int family = 0, model = 0;
  bool sse3 = false, avx = false, fma = false, avx2 = false;
  bool avx512f = false, avx512bw = false, avx512dq = false, avx512vl = false;
  bool avx512bf16 = false, amxTile = false, amxBf16 = false;
  /// The OS saves the YMM / ZMM / AMX tile state across context switches
  /// (XCR0); without it the instructions fault even where cpuid lists them.
  bool osYmm = false, osZmm = false, osAmx = false;

  /// The most capable VectorIsa whose instructions the CPU and the OS allow.
  VectorIsa bestIsa() const;
  /// "AVX2 FMA AVX-512 (F BW DQ VL) BF16 AMX", the usable ones.
  std::string summary() const;
};

/// This machine's features (cpuid once; all false off x86-64).
const CpuFeatures& hostCpuFeatures();

} // namespace cairn::exec
