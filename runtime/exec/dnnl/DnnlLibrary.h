// The C interface of libcairn_dnnl.so (DnnlLibrary.cpp): oneDNN's products
// behind a table of plain functions, so that the runtime can dlopen it
// (GemmDnnl.cpp) after it has set GOMP_SPINCOUNT, which libgomp, oneDNN's
// thread runtime, reads once when it is loaded. Status codes are 0 for
// success; messages go into the caller's buffer.
#pragma once

#include <cstddef>
#include <cstdint>

extern "C" {

struct CairnDnnlApi {
  int abiVersion; ///< kCairnDnnlAbi
  /// "oneDNN 2.6.3 (avx512_core)".
  const char* (*describe)();
  /// OpenMP's thread count of the calling thread (OMP_NUM_THREADS or the CPUs).
  int (*maxThreads)();
  /// c = op(a) . op(b), row-major, on `threads` threads.
  int (*sgemm)(char transA, char transB, int64_t m, int64_t n, int64_t k, const float* a,
               int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int threads,
               char* error, size_t errorSize);
  /// `b` (K x N, or N x K when transB) packed for matmuls with m rows (the
  /// layout is chosen for m; runPacked takes other row counts too).
  void* (*pack)(int transA, int transB, int64_t m, int64_t n, int64_t k, const float* b,
                int threads, char* error, size_t errorSize);
  /// c = op(a) . b for an a of m rows. Returns 0, or kCairnDnnlRepack when
  /// oneDNN wants another layout of b for this m (pack again), or 1 on error.
  int (*runPacked)(void* packed, int64_t m, const float* a, float* c, char* error,
                   size_t errorSize);
  void (*freePacked)(void* packed);
  /// Runs fn(arg, part, parts) for part = 0 .. parts-1 on up to `threads`
  /// of libgomp's threads, the caller's team (the caller runs part 0), and
  /// returns when every part has: the threads oneDNN's products run on,
  /// still polling right after one. fn must not throw.
  void (*parallel)(int threads, void (*fn)(void* arg, int part, int parts), void* arg);
};

/// The table (never null).
const CairnDnnlApi* cairn_dnnl_api();
}

inline constexpr int kCairnDnnlAbi = 3;
inline constexpr int kCairnDnnlRepack = 2;
