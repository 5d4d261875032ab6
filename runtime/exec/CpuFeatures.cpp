#include "runtime/exec/CpuFeatures.h"

#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define CAIRN_X86 1
#endif

namespace cairn::exec {

const char* vectorIsaName(VectorIsa isa) {
  switch (isa) {
  case VectorIsa::Generic: return "generic";
  case VectorIsa::Sse3: return "SSE3";
  case VectorIsa::Avx: return "AVX";
  case VectorIsa::Avx2: return "AVX2+FMA";
  case VectorIsa::Avx512: return "AVX-512";
  }
  return "?";
}

VectorIsa CpuFeatures::bestIsa() const {
  if (avx512f && avx512bw && avx512dq && avx512vl && osZmm && fma) return VectorIsa::Avx512;
  if (avx2 && fma && osYmm) return VectorIsa::Avx2;
  if (avx && osYmm) return VectorIsa::Avx;
  if (sse3) return VectorIsa::Sse3;
  return VectorIsa::Generic;
}

std::string CpuFeatures::summary() const {
  std::string s;
  auto add = [&](bool on, const char* name) {
    if (!on) return;
    if (!s.empty()) s += ' ';
    s += name;
  };
  add(sse3, "SSE3");
  add(avx && osYmm, "AVX");
  add(avx2 && osYmm, "AVX2");
  add(fma && osYmm, "FMA");
  add(avx512f && osZmm, "AVX-512F");
  add(avx512bw && osZmm, "BW");
  add(avx512dq && osZmm, "DQ");
  add(avx512vl && osZmm, "VL");
  add(avx512bf16 && osZmm, "BF16");
  add(amxTile && osAmx, "AMX");
  add(amxBf16 && osAmx, "AMX-BF16");
  return s.empty() ? "none" : s;
}

namespace {

#ifdef CAIRN_X86
/// XCR0: which register states the OS saves. Only valid when cpuid says
/// OSXSAVE (leaf 1, ecx bit 27).
unsigned long long readXcr0() {
  unsigned lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<unsigned long long>(hi) << 32) | lo;
}

CpuFeatures detect() {
  CpuFeatures f;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(0, &a, &b, &c, &d)) return f;
  unsigned maxLeaf = a;
  char vendor[13] = {};
  std::memcpy(vendor, &b, 4);
  std::memcpy(vendor + 4, &d, 4);
  std::memcpy(vendor + 8, &c, 4);
  f.vendor = vendor;

  __get_cpuid(1, &a, &b, &c, &d);
  unsigned baseFamily = (a >> 8) & 0xf, baseModel = (a >> 4) & 0xf;
  f.family = static_cast<int>(baseFamily == 0xf ? baseFamily + ((a >> 20) & 0xff) : baseFamily);
  f.model = static_cast<int>(baseFamily == 0x6 || baseFamily == 0xf
                                 ? (((a >> 16) & 0xf) << 4) | baseModel
                                 : baseModel);
  f.sse3 = c & 1u;
  f.fma = c & (1u << 12);
  bool osxsave = c & (1u << 27);
  f.avx = c & (1u << 28);
  if (osxsave) {
    unsigned long long xcr0 = readXcr0();
    f.osYmm = (xcr0 & 0x6) == 0x6;                 // SSE and AVX state
    f.osZmm = f.osYmm && (xcr0 & 0xe0) == 0xe0;    // opmask, ZMM_Hi256, Hi16_ZMM
    f.osAmx = (xcr0 & 0x60000) == 0x60000;         // XTILECFG, XTILEDATA
  }
  if (maxLeaf >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    f.avx2 = b & (1u << 5);
    f.avx512f = b & (1u << 16);
    f.avx512dq = b & (1u << 17);
    f.avx512bw = b & (1u << 30);
    f.avx512vl = b & (1u << 31);
    f.amxBf16 = d & (1u << 22);
    f.amxTile = d & (1u << 24);
    __cpuid_count(7, 1, a, b, c, d);
    f.avx512bf16 = a & (1u << 5);
  }
  if (__get_cpuid(0x80000000, &a, &b, &c, &d) && a >= 0x80000004) {
    char brand[49] = {};
    for (unsigned leaf = 0; leaf < 3; ++leaf) {
      __get_cpuid(0x80000002 + leaf, &a, &b, &c, &d);
      std::memcpy(brand + 16 * leaf, &a, 4);
      std::memcpy(brand + 16 * leaf + 4, &b, 4);
      std::memcpy(brand + 16 * leaf + 8, &c, 4);
      std::memcpy(brand + 16 * leaf + 12, &d, 4);
    }
    f.brand = brand;
    while (!f.brand.empty() && (f.brand.back() == ' ' || f.brand.back() == '\0'))
      f.brand.pop_back();
    f.brand.erase(0, f.brand.find_first_not_of(' '));
  }
  return f;
}
#else
CpuFeatures detect() { return {}; }
#endif

} // namespace

const CpuFeatures& hostCpuFeatures() {
  static const CpuFeatures features = detect();
  return features;
}

} // namespace cairn::exec
