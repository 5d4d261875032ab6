// OpenBLAS is dlopen'ed rather than linked: a linked OpenBLAS initializes
// (and reads OPENBLAS_CORETYPE) in its constructor, before any code of ours
// can run, so the kernel family could not be chosen from the CPU's features.
#include "runtime/exec/Blas.h"
#include "runtime/exec/BlasSymbols.h"

#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <mutex>

#include <fmt/format.h>

#ifndef CAIRN_OPENBLAS_PATH
#define CAIRN_OPENBLAS_PATH "libopenblas.so.0"
#endif

namespace cairn::exec {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

BlasSymbols gSymbols;

template <typename Fn> bool bind(void* lib, const char* name, Fn& fn, std::string& missing) {
  fn = reinterpret_cast<Fn>(dlsym(lib, name));
  if (!fn) missing += fmt::format("{}{}", missing.empty() ? "" : ", ", name);
  return fn != nullptr;
}

void* openLibrary(std::string& path, std::string& error) {
  for (const char* candidate : {CAIRN_OPENBLAS_PATH, "libopenblas.so.0"}) {
    if (void* lib = dlopen(candidate, RTLD_NOW | RTLD_LOCAL)) {
      path = candidate;
      return lib;
    }
    const char* why = dlerror();
    error += fmt::format("{}{}", error.empty() ? "" : "; ", why ? why : candidate);
  }
  return nullptr;
}

BlasKernels load() {
  BlasKernels k;
  const CpuFeatures& cpu = hostCpuFeatures();
  k.cpuIsa = cpu.bestIsa();
  if (const char* user = std::getenv("OPENBLAS_CORETYPE"); user && *user) {
    k.chosenBy = fmt::format("OPENBLAS_CORETYPE={} set by the user", user);
  } else if (std::string core = openblasCoreTypeFor(cpu); !core.empty()) {
    setenv("OPENBLAS_CORETYPE", core.c_str(), 0);
    k.chosenBy = fmt::format("CPU features ({})", vectorIsaName(k.cpuIsa));
  } else {
    k.chosenBy = "the library (no AVX on this CPU)";
  }
  // OpenBLAS's idle workers spin (sched_yield) for 2^28 cycles (~0.1 s)
  // after each threaded call before they sleep: the default cairn-train run
  // on 2 cores spent 21 s in the kernel beside 23 s of wall time. 2^16
  // cycles (~25 us) still bridges back-to-back calls (docs/codegen.md).
  setenv("OPENBLAS_THREAD_TIMEOUT", "16", /*overwrite=*/0);
  std::string loadError;
  void* lib = openLibrary(k.library, loadError);
  if (!lib) {
    k.loadError = fmt::format("cannot load OpenBLAS: {}", loadError);
    return k;
  }
  std::string missing;
  bind(lib, "cblas_sgemm", gSymbols.sgemm, missing);
  bind(lib, "cblas_dgemm", gSymbols.dgemm, missing);
  bind(lib, "cblas_sgemv", gSymbols.sgemv, missing);
  bind(lib, "cblas_dgemv", gSymbols.dgemv, missing);
  bind(lib, "openblas_get_num_threads", gSymbols.getThreads, missing);
  bind(lib, "openblas_set_num_threads", gSymbols.setThreads, missing);
  BlasSymbols::Text config = nullptr, corename = nullptr;
  bind(lib, "openblas_get_config", config, missing);
  bind(lib, "openblas_get_corename", corename, missing);
  if (!missing.empty()) {
    k.loadError = fmt::format("{} lacks {} (not an OpenBLAS?)", k.library, missing);
    gSymbols = {};
    return k;
  }
  k.config = config() ? config() : "OpenBLAS";
  k.coreName = corename() ? corename() : "unknown";
  k.isa = isaOfOpenblasCore(k.coreName);
  if (k.isa < k.cpuIsa)
    k.warning = fmt::format(
        "the BLAS runs {} kernels ({}) on a CPU with {}: GEMMs are several times slower than "
        "they could be (unset OPENBLAS_CORETYPE, or set it to {})",
        k.coreName, vectorIsaName(k.isa), vectorIsaName(k.cpuIsa), openblasCoreTypeFor(cpu));
  else if (k.isa <= VectorIsa::Sse3)
    k.warning = fmt::format("the BLAS has only generic {} kernels for this CPU ({})",
                            k.coreName, cpu.summary());
  return k;
}

} // namespace

const BlasSymbols& blasSymbols() {
  blasKernels();
  return gSymbols;
}

const BlasKernels& blasKernels() {
  static const BlasKernels kernels = load();
  return kernels;
}

namespace {
// Loaded when the process starts, on its main thread, as a linked OpenBLAS
// was: OpenBLAS sizes its thread pool by the affinity of the thread that
// loads it, and the first GEMM may come from a parallel pair's second
// thread, which runs on one CPU (the pool was then 1 thread for good).
[[maybe_unused]] const bool gLoadedAtStart = (blasKernels(), true);
} // namespace

namespace {
struct ThreadHolders {
  std::mutex mutex;
  int holders = 0; ///< live SingleThreadedBlas objects, process-wide
  int saved = 1;   ///< the BLAS's thread count before the first of them
};
ThreadHolders& threadHolders() {
  static ThreadHolders s;
  return s;
}
} // namespace

namespace {
std::atomic<int64_t> gThreadChanges{0};
} // namespace

int64_t blasThreadChanges() { return gThreadChanges.load(std::memory_order_relaxed); }

SingleThreadedBlas::SingleThreadedBlas() {
  if (!blasKernels().loaded()) return;
  ThreadHolders& h = threadHolders();
  std::lock_guard<std::mutex> lock(h.mutex);
  if (h.holders++ == 0) {
    h.saved = gSymbols.getThreads();
    if (h.saved > 1) {
      gSymbols.setThreads(1);
      gThreadChanges.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

SingleThreadedBlas::~SingleThreadedBlas() {
  if (!blasKernels().loaded()) return;
  ThreadHolders& h = threadHolders();
  std::lock_guard<std::mutex> lock(h.mutex);
  if (--h.holders == 0 && h.saved > 1) gSymbols.setThreads(h.saved);
}

std::string BlasKernels::describe() const {
  if (!loaded()) return loadError;
  // "OpenBLAS 0.3.21 NO_LAPACKE ..." -> "OpenBLAS 0.3.21".
  std::string name = config.substr(0, config.find(' ', config.find(' ') + 1));
  return fmt::format("{}, {} kernels ({}; CPU: {}; chosen by {})", name, coreName,
                     vectorIsaName(isa), vectorIsaName(cpuIsa), chosenBy);
}

std::string openblasCoreTypeFor(const CpuFeatures& cpu) {
  switch (cpu.bestIsa()) {
  // Cooperlake's kernels are SkylakeX's plus bf16 ones, which need the
  // AVX512_BF16 instructions.
  case VectorIsa::Avx512: return cpu.avx512bf16 ? "Cooperlake" : "SkylakeX";
  // Zen is Haswell's kernels with AMD's cache blocking.
  case VectorIsa::Avx2: return cpu.vendor == "AuthenticAMD" ? "Zen" : "Haswell";
  case VectorIsa::Avx: return "Sandybridge";
  case VectorIsa::Sse3:
  case VectorIsa::Generic: return "";
  }
  return "";
}

VectorIsa isaOfOpenblasCore(std::string_view coreName) {
  std::string n = lower(coreName);
  auto in = [&](std::initializer_list<const char*> names) {
    return std::any_of(names.begin(), names.end(), [&](const char* x) { return n == x; });
  };
  if (in({"skylakex", "cooperlake", "sapphirerapids"})) return VectorIsa::Avx512;
  if (in({"haswell", "zen", "excavator"})) return VectorIsa::Avx2;
  if (in({"sandybridge", "bulldozer", "piledriver", "steamroller"})) return VectorIsa::Avx;
  if (in({"prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "nano", "barcelona",
          "bobcat", "opteron(sse3)"}))
    return VectorIsa::Sse3;
  return VectorIsa::Generic;
}

} // namespace cairn::exec
