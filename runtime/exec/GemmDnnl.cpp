// oneDNN through libcairn_dnnl.so, dlopen'ed rather than linked for the
// reason OpenBLAS is (Blas.cpp): oneDNN runs its threads on libgomp, whose
// idle workers spin for GOMP_SPINCOUNT (300,000 rounds by default) after
// each threaded product before they sleep, and libgomp reads that once, when
// it is loaded. A BiLSTM forward on 2 threads took 88 ms with the default
// (the spinning worker held the CPU its parallel loop pair needed) and 65 ms
// with 10,000 (docs/codegen.md, "BLAS"). Without the library (not built, or
// not found) every product goes to OpenBLAS.
#include "runtime/exec/GemmDnnl.h"

#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "runtime/exec/dnnl/DnnlLibrary.h"

namespace cairn::exec::dnnl {

namespace {

struct Library {
  const CairnDnnlApi* api = nullptr;
  std::string why; ///< why api is null
};

Library load() {
  Library lib;
  if (const char* choice = std::getenv("CAIRN_GEMM"); choice && std::strcmp(choice, "openblas") == 0) {
    lib.why = "oneDNN off (CAIRN_GEMM=openblas)";
    return lib;
  }
#ifndef CAIRN_DNNL_LIBRARY
  lib.why = "oneDNN not built in";
  return lib;
#else
  // ~25 us of spinning at most before an idle worker sleeps; the user's
  // setting stands.
  setenv("GOMP_SPINCOUNT", "10000", /*overwrite=*/0);
  const char* env = std::getenv("CAIRN_DNNL_LIBRARY");
  void* handle = dlopen(env && *env ? env : CAIRN_DNNL_LIBRARY, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* e = dlerror();
    lib.why = fmt::format("oneDNN not loaded ({})", e ? e : "unknown error");
    return lib;
  }
  auto entry = reinterpret_cast<const CairnDnnlApi* (*)()>(dlsym(handle, "cairn_dnnl_api"));
  const CairnDnnlApi* api = entry ? entry() : nullptr;
  if (!api || api->abiVersion != kCairnDnnlAbi) {
    lib.why = "oneDNN not loaded (libcairn_dnnl.so is from another build)";
    return lib;
  }
  lib.api = api;
  return lib;
#endif
}

const Library& library() {
  static const Library lib = load();
  return lib;
}

// Loaded when the process starts, on its main thread, as OpenBLAS is: the
// setenv above must not race another thread's getenv.
[[maybe_unused]] const bool gLoadedAtStart = (library(), true);

std::atomic<int> gThreads{0}; ///< 0: OpenMP's own count

class Packed final : public PackedProduct {
public:
  explicit Packed(void* handle) : handle_(handle) {}
  ~Packed() override { library().api->freePacked(handle_); }
  StatusOr<bool> run(int64_t m, const float* a, float* c) override {
    char error[256] = {};
    int status = library().api->runPacked(handle_, m, a, c, error, sizeof error);
    if (status == kCairnDnnlRepack) return false;
    if (status != 0) return Status::error(error);
    return true;
  }

private:
  void* handle_;
};

} // namespace

bool enabled() { return library().api != nullptr; }

std::string describe() { return enabled() ? library().api->describe() : library().why; }

int threads() {
  int n = gThreads.load(std::memory_order_relaxed);
  return n > 0 ? n : (enabled() ? library().api->maxThreads() : 1);
}

void setThreads(int n) { gThreads.store(n > 0 ? n : 0, std::memory_order_relaxed); }

bool parallel(int threads, void (*fn)(void* arg, int part, int parts), void* arg) {
  if (!enabled()) return false;
  library().api->parallel(threads, fn, arg);
  return true;
}

Status sgemm(bool transA, bool transB, const GemmDims& d, const float* a, const float* b,
             float* c, int threads) {
  if (!enabled()) return Status::error(library().why);
  char error[256] = {};
  if (library().api->sgemm(transA ? 'T' : 'N', transB ? 'T' : 'N', d.m, d.n, d.k, a,
                           transA ? d.m : d.k, b, transB ? d.k : d.n, c, d.n, threads, error,
                           sizeof error) != 0)
    return Status::error(error);
  return Status::ok();
}

StatusOr<std::unique_ptr<PackedProduct>> pack(bool transA, bool transB, const GemmDims& d,
                                              const float* b, int threads) {
  if (!enabled()) return Status::error(library().why);
  char error[256] = {};
  void* handle = library().api->pack(transA, transB, d.m, d.n, d.k, b, threads, error,
                                     sizeof error);
  if (!handle) return Status::error(error);
  return std::unique_ptr<PackedProduct>(std::make_unique<Packed>(handle));
}

bool prefers(const GemmDims& d, bool transA, bool transB) {
  // One or two rows go to OpenBLAS's gemv (as fast or faster); results
  // narrower than 64 columns (a classifier's logits) and products with
  // both operands transposed ran 2-5x slower in oneDNN.
  return enabled() && d.m >= 3 && d.n >= 64 && !(transA && transB);
}

bool prefersPacked(const GemmDims& d, bool transA, bool transB, bool packedOnce) {
  // One row by a [K, N] weight: OpenBLAS's gemv reads it as fast (3.9-12 us
  // against 4.7-12.3 for the packed matmul on the decoder's and the
  // BiLSTM's sizes); by an [N, K] weight (transB, the rnn op's layout) the
  // packed matmul is 10-20% faster than gemv on it (a constant one is read
  // from a [K, N] copy instead: Gemm.cpp, transposedFor), and from two rows
  // 2-5x. A weight packed
  // again every run (a loop's) pays from three rows: at one or two a pack
  // costs what 5-30 products save, and SPINN's batch-1 loop (0-2 reducing
  // rows a step) ran 8% slower packing at two.
  if (!enabled() || d.n < 64 || (transA && transB)) return false;
  return packedOnce ? d.m >= 2 || transB : d.m >= 3;
}

} // namespace cairn::exec::dnnl
