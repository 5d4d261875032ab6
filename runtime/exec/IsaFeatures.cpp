#include "runtime/exec/IsaFeatures.h"

#include <vector>

#if defined(__x86_64__)
#include <cpuid.h>
#define CAIRN_X86_64 1
#endif

namespace cairn::exec {

namespace {

enum Reg : unsigned char { EAX, EBX, ECX, EDX };
/// Register state the OS must save for a feature's instructions to run.
enum OsState : unsigned char { kNoState, kYmm, kZmm, kAmx, kApx };

/// Where cpuid reports one LLVM feature. leaf 0 with bit 255: part of the
/// x86-64 baseline (always present on a 64-bit host).
struct IsaBit {
  const char* name;
  unsigned leaf, subleaf;
  Reg reg;
  unsigned char bit;
  OsState os;
};

constexpr unsigned char kBaseline = 255;

// From Intel's SDM vol. 2A (CPUID) and AMD's APM vol. 3 (appendix E), named
// as LLVM's X86 target names them (llvm/TargetParser/X86TargetParser.def).
constexpr IsaBit kIsaBits[] = {
    {"64bit", 0, 0, EAX, kBaseline, kNoState},
    {"x87", 0, 0, EAX, kBaseline, kNoState},
    {"cmov", 0, 0, EAX, kBaseline, kNoState},
    {"cx8", 0, 0, EAX, kBaseline, kNoState},
    {"fxsr", 0, 0, EAX, kBaseline, kNoState},
    {"mmx", 0, 0, EAX, kBaseline, kNoState},
    {"sse", 0, 0, EAX, kBaseline, kNoState},
    {"sse2", 0, 0, EAX, kBaseline, kNoState},
    {"sse3", 1, 0, ECX, 0, kNoState},
    {"pclmul", 1, 0, ECX, 1, kNoState},
    {"ssse3", 1, 0, ECX, 9, kNoState},
    {"fma", 1, 0, ECX, 12, kYmm},
    {"cx16", 1, 0, ECX, 13, kNoState},
    {"sse4.1", 1, 0, ECX, 19, kNoState},
    {"sse4.2", 1, 0, ECX, 20, kNoState},
    {"crc32", 1, 0, ECX, 20, kNoState}, // SSE4.2's CRC32 instruction
    {"movbe", 1, 0, ECX, 22, kNoState},
    {"popcnt", 1, 0, ECX, 23, kNoState},
    {"aes", 1, 0, ECX, 25, kNoState},
    {"xsave", 1, 0, ECX, 26, kNoState},
    {"avx", 1, 0, ECX, 28, kYmm},
    {"f16c", 1, 0, ECX, 29, kYmm},
    {"bmi", 7, 0, EBX, 3, kNoState},
    {"avx2", 7, 0, EBX, 5, kYmm},
    {"bmi2", 7, 0, EBX, 8, kNoState},
    {"avx512f", 7, 0, EBX, 16, kZmm},
    {"evex512", 7, 0, EBX, 16, kZmm}, // 512-bit EVEX: every AVX-512 CPU so far
    {"avx512dq", 7, 0, EBX, 17, kZmm},
    {"adx", 7, 0, EBX, 19, kNoState},
    {"avx512ifma", 7, 0, EBX, 21, kZmm},
    {"avx512cd", 7, 0, EBX, 28, kZmm},
    {"sha", 7, 0, EBX, 29, kNoState},
    {"avx512bw", 7, 0, EBX, 30, kZmm},
    {"avx512vl", 7, 0, EBX, 31, kZmm},
    {"avx512vbmi", 7, 0, ECX, 1, kZmm},
    {"avx512vbmi2", 7, 0, ECX, 6, kZmm},
    {"gfni", 7, 0, ECX, 8, kNoState},
    {"vaes", 7, 0, ECX, 9, kYmm},
    {"vpclmulqdq", 7, 0, ECX, 10, kYmm},
    {"avx512vnni", 7, 0, ECX, 11, kZmm},
    {"avx512bitalg", 7, 0, ECX, 12, kZmm},
    {"avx512vpopcntdq", 7, 0, ECX, 14, kZmm},
    {"avx512vp2intersect", 7, 0, EDX, 8, kZmm},
    {"amx-bf16", 7, 0, EDX, 22, kAmx},
    {"avx512fp16", 7, 0, EDX, 23, kZmm},
    {"amx-tile", 7, 0, EDX, 24, kAmx},
    {"amx-int8", 7, 0, EDX, 25, kAmx},
    {"sha512", 7, 1, EAX, 0, kYmm},
    {"sm3", 7, 1, EAX, 1, kNoState},
    {"sm4", 7, 1, EAX, 2, kYmm},
    {"avxvnni", 7, 1, EAX, 4, kYmm},
    {"avx512bf16", 7, 1, EAX, 5, kZmm},
    {"cmpccxadd", 7, 1, EAX, 7, kNoState},
    {"amx-fp16", 7, 1, EAX, 21, kAmx},
    {"avxifma", 7, 1, EAX, 23, kYmm},
    {"avxvnniint8", 7, 1, EDX, 4, kYmm},
    {"avxneconvert", 7, 1, EDX, 5, kYmm},
    {"amx-complex", 7, 1, EDX, 8, kAmx},
    {"avxvnniint16", 7, 1, EDX, 10, kYmm},
    // APX: new general registers the compiler allocates freely.
    {"egpr", 7, 1, EDX, 21, kApx},
    {"push2pop2", 7, 1, EDX, 21, kApx},
    {"ppx", 7, 1, EDX, 21, kApx},
    {"ndd", 7, 1, EDX, 21, kApx},
    {"ccmp", 7, 1, EDX, 21, kApx},
    {"nf", 7, 1, EDX, 21, kApx},
    {"cf", 7, 1, EDX, 21, kApx},
    {"zu", 7, 1, EDX, 21, kApx},
    {"xsaveopt", 0xd, 1, EAX, 0, kNoState},
    {"xsavec", 0xd, 1, EAX, 1, kNoState},
    {"xsaves", 0xd, 1, EAX, 3, kNoState},
    {"sahf", 0x80000001, 0, ECX, 0, kNoState},
    {"lzcnt", 0x80000001, 0, ECX, 5, kNoState},
    {"sse4a", 0x80000001, 0, ECX, 6, kNoState},
    {"xop", 0x80000001, 0, ECX, 11, kYmm},
    {"fma4", 0x80000001, 0, ECX, 16, kYmm},
    {"tbm", 0x80000001, 0, ECX, 21, kNoState},
};

/// System and special-purpose instructions LLVM emits only for their
/// intrinsics; Cairn's kernels (arithmetic loops, no intrinsics) never do.
constexpr const char* kIntrinsicOnly[] = {
    "amx-transpose", "avx10.1-256", "avx10.1-512", "cldemote", "clflushopt", "clwb",
    "clzero", "enqcmd", "fsgsbase", "hreset", "invpcid", "kl", "lwp", "movdir64b",
    "movdiri", "mwaitx", "pconfig", "pku", "prefetchi", "prfchw", "ptwrite", "raoint",
    "rdpid", "rdpru", "rdrnd", "rdseed", "rtm", "serialize", "sgx", "shstk", "tsxldtrk",
    "uintr", "usermsr", "waitpkg", "wbnoinvd", "widekl", "prefetchwt1", "avx512er",
    "avx512pf", "hle",
};

#ifdef CAIRN_X86_64
bool cpuidBit(const IsaBit& f) {
  if (f.bit == kBaseline) return true;
  unsigned a = 0, b = 0, c = 0, d = 0;
  unsigned base = f.leaf & 0x80000000u;
  if (__get_cpuid_max(base, nullptr) < f.leaf) return false;
  __cpuid_count(f.leaf, f.subleaf, a, b, c, d);
  unsigned r = f.reg == EAX ? a : f.reg == EBX ? b : f.reg == ECX ? c : d;
  return (r >> f.bit) & 1u;
}

bool osSaves(OsState s) {
  if (s == kNoState) return true;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return false; // OSXSAVE
  unsigned lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  unsigned long long xcr0 = (static_cast<unsigned long long>(hi) << 32) | lo;
  switch (s) {
  case kYmm: return (xcr0 & 0x6) == 0x6;
  case kZmm: return (xcr0 & 0xe6) == 0xe6;
  case kAmx: return (xcr0 & 0x60000) == 0x60000;
  case kApx: return (xcr0 & 0x80000) == 0x80000;
  case kNoState: break;
  }
  return true;
}
#endif

} // namespace

IsaSupport hostIsaSupport(std::string_view name) {
  for (const char* n : kIntrinsicOnly)
    if (name == n) return IsaSupport::kNotUsedByCairn;
  for (const IsaBit& f : kIsaBits) {
    if (name != f.name) continue;
#ifdef CAIRN_X86_64
    return cpuidBit(f) && osSaves(f.os) ? IsaSupport::kPresent : IsaSupport::kMissing;
#else
    return IsaSupport::kMissing;
#endif
  }
  return IsaSupport::kUnknown;
}

std::string missingIsaFeatures(std::string_view features) {
  std::string missing, unknown;
  auto append = [](std::string& to, std::string_view name) {
    if (!to.empty()) to += ", ";
    to += name;
  };
  size_t pos = 0;
  while (pos <= features.size()) {
    size_t comma = features.find(',', pos);
    std::string_view entry = features.substr(pos, comma == std::string_view::npos
                                                      ? std::string_view::npos
                                                      : comma - pos);
    pos = comma == std::string_view::npos ? features.size() + 1 : comma + 1;
    if (entry.size() < 2 || entry[0] != '+') continue; // "-x" or empty: nothing required
    std::string_view name = entry.substr(1);
    switch (hostIsaSupport(name)) {
    case IsaSupport::kPresent:
    case IsaSupport::kNotUsedByCairn: break;
    case IsaSupport::kMissing: append(missing, name); break;
    case IsaSupport::kUnknown: append(unknown, name); break;
    }
  }
  std::string out = missing;
  if (!unknown.empty())
    out += (out.empty() ? "" : "; ") + std::string("features this runtime cannot check (") +
           unknown + ")";
  return out;
}

} // namespace cairn::exec
