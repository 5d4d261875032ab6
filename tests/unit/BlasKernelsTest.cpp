// The BLAS's kernels are chosen from the CPU's features (runtime/exec/Blas.h):
// the choice for known feature sets, and that the loaded library runs
// kernels of the best instruction set this machine offers.
#include <gtest/gtest.h>

#include <cstring>

#include "runtime/exec/Blas.h"
#include "runtime/exec/CpuFeatures.h"
#include "runtime/exec/Gemm.h"

namespace cairn::exec {
namespace {

CpuFeatures avx512Cpu(const char* vendor) {
  CpuFeatures f;
  f.vendor = vendor;
  f.sse3 = f.avx = f.fma = f.avx2 = true;
  f.avx512f = f.avx512bw = f.avx512dq = f.avx512vl = true;
  f.osYmm = f.osZmm = true;
  return f;
}

TEST(BlasKernels, CoreTypeFollowsFeaturesNotModel) {
  // Intel family 6 model 207 (Emerald Rapids): unknown to OpenBLAS 0.3.21,
  // which falls back to Prescott; its features ask for AVX-512 kernels.
  CpuFeatures emerald = avx512Cpu("GenuineIntel");
  emerald.family = 6;
  emerald.model = 207;
  emerald.avx512bf16 = emerald.amxTile = emerald.amxBf16 = emerald.osAmx = true;
  EXPECT_EQ(emerald.bestIsa(), VectorIsa::Avx512);
  EXPECT_EQ(openblasCoreTypeFor(emerald), "Cooperlake");

  CpuFeatures skylake = avx512Cpu("GenuineIntel");
  EXPECT_EQ(openblasCoreTypeFor(skylake), "SkylakeX");

  CpuFeatures zen3 = avx512Cpu("AuthenticAMD");
  zen3.avx512f = zen3.avx512bw = zen3.avx512dq = zen3.avx512vl = false;
  EXPECT_EQ(zen3.bestIsa(), VectorIsa::Avx2);
  EXPECT_EQ(openblasCoreTypeFor(zen3), "Zen");

  CpuFeatures haswell = zen3;
  haswell.vendor = "GenuineIntel";
  EXPECT_EQ(openblasCoreTypeFor(haswell), "Haswell");

  CpuFeatures sandy = haswell;
  sandy.fma = sandy.avx2 = false;
  EXPECT_EQ(openblasCoreTypeFor(sandy), "Sandybridge");

  CpuFeatures old;
  old.sse3 = true;
  EXPECT_EQ(old.bestIsa(), VectorIsa::Sse3);
  EXPECT_EQ(openblasCoreTypeFor(old), "") << "nothing better than the library's own choice";
}

// An instruction set the OS does not save the registers of is unusable.
TEST(BlasKernels, OsSupportBoundsTheChoice) {
  CpuFeatures noZmm = avx512Cpu("GenuineIntel");
  noZmm.osZmm = false;
  EXPECT_EQ(noZmm.bestIsa(), VectorIsa::Avx2);
  EXPECT_EQ(openblasCoreTypeFor(noZmm), "Haswell");
  CpuFeatures noYmm = noZmm;
  noYmm.osYmm = false;
  noYmm.sse3 = true;
  EXPECT_EQ(noYmm.bestIsa(), VectorIsa::Sse3);
}

TEST(BlasKernels, IsaOfOpenblasCoreNames) {
  EXPECT_EQ(isaOfOpenblasCore("Prescott"), VectorIsa::Sse3);
  EXPECT_EQ(isaOfOpenblasCore("SKYLAKEX"), VectorIsa::Avx512);
  EXPECT_EQ(isaOfOpenblasCore("Cooperlake"), VectorIsa::Avx512);
  EXPECT_EQ(isaOfOpenblasCore("Zen"), VectorIsa::Avx2);
  EXPECT_EQ(isaOfOpenblasCore("haswell"), VectorIsa::Avx2);
  EXPECT_EQ(isaOfOpenblasCore("Sandybridge"), VectorIsa::Avx);
  EXPECT_EQ(isaOfOpenblasCore("no such core"), VectorIsa::Generic);
}

#if defined(__x86_64__)
// cpuid as read by Cairn agrees with the compiler's own detection, which
// checks the OS's saved state too.
TEST(BlasKernels, HostFeaturesAgreeWithTheCompiler) {
  const CpuFeatures& f = hostCpuFeatures();
  __builtin_cpu_init();
  EXPECT_EQ(f.avx2 && f.osYmm, bool(__builtin_cpu_supports("avx2")));
  EXPECT_EQ(f.fma && f.osYmm, bool(__builtin_cpu_supports("fma")));
  EXPECT_EQ(f.avx512f && f.osZmm, bool(__builtin_cpu_supports("avx512f")));
  EXPECT_EQ(f.avx512bw && f.osZmm, bool(__builtin_cpu_supports("avx512bw")));
  EXPECT_FALSE(f.vendor.empty());
}
#endif

// The check the issue asks for: on this machine the GEMMs run kernels that
// use the best instruction set the CPU has, unless the user chose others.
TEST(BlasKernels, LoadedKernelsMatchTheCpu) {
  const BlasKernels& k = blasKernels();
  ASSERT_TRUE(k.loaded()) << k.loadError;
  EXPECT_FALSE(k.coreName.empty());
  EXPECT_NE(exec::blasDescription().find(k.coreName), std::string::npos);
  if (k.chosenBy.rfind("OPENBLAS_CORETYPE", 0) == 0)
    GTEST_SKIP() << "OPENBLAS_CORETYPE was set outside Cairn (" << k.chosenBy
                 << "): the user's choice stands; loaded " << k.coreName;
  const VectorIsa cpu = hostCpuFeatures().bestIsa();
  if (cpu >= VectorIsa::Avx) {
    EXPECT_EQ(k.isa, cpu) << k.describe();
    EXPECT_TRUE(k.warning.empty()) << k.warning;
  } else {
    EXPECT_LE(k.isa, VectorIsa::Sse3) << k.describe();
  }
}

} // namespace
} // namespace cairn::exec
