// f32 products through oneDNN (Debian's libdnnl 2.6), beside OpenBLAS.
// Internal to runtime/exec (Gemm.cpp).
//
// Why a second library: oneDNN JIT-compiles its kernels for the CPU it runs
// on (AVX-512 brgemm on Zen 4 and Intel server parts), and its matmul can
// keep a weight in its own blocked layout across calls. Measured on a Zen 4
// core (docs/codegen.md, "BLAS"), a loop step's product [64, 256] x [256,
// 1024] takes 375 us in OpenBLAS 0.3.21 (Cooperlake kernels), 331 us in
// dnnl_sgemm and 292 us in a matmul with the weight packed once; the hoisted
// input projections gain 9-30%. OpenBLAS stays for f64, for the shapes
// where oneDNN loses (one or two rows, narrow results, both operands
// transposed), and where oneDNN is not there: not built in (CAIRN_ONEDNN=OFF:
// the TSan build, as libgomp is not instrumented), libcairn_dnnl.so not
// found (CAIRN_DNNL_LIBRARY names another copy), or CAIRN_GEMM=openblas.
#pragma once

#include <memory>

#include "ir/Status.h"
#include "runtime/exec/Gemm.h"

namespace cairn::exec::dnnl {

/// Whether f32 products may go to oneDNN: libcairn_dnnl.so loaded, and not
/// turned off by CAIRN_GEMM=openblas (for comparing the two libraries).
bool enabled();

/// "oneDNN 2.6.3 (avx512_core)", or why it is not used.
std::string describe();

/// Whether dnnl_sgemm is the faster library for this product (a rule from
/// measurements, not a search: see the table in docs/codegen.md).
bool prefers(const GemmDims& d, bool transA, bool transB);
/// Whether a matmul with B packed is: as prefers, and for a weight packed
/// once for all runs (`packedOnce`, a constant) one or two rows mostly too
/// (packed, 12.6 us for a [1, 256] x [256, 1024] where OpenBLAS's gemv
/// takes 15).
bool prefersPacked(const GemmDims& d, bool transA, bool transB, bool packedOnce);

/// c = op(a) . op(b), row-major, one product, on `threads` threads (the
/// calling thread's OpenMP setting, restored after).
Status sgemm(bool transA, bool transB, const GemmDims& d, const float* a, const float* b,
             float* c, int threads);

/// A weight kept packed in oneDNN's blocked layout for one N, K, layout and
/// thread count, multiplied many times by new A's.
class PackedProduct {
public:
  virtual ~PackedProduct() = default;
  /// c = op(a) . B for an `a` of `m` rows: true, or false when oneDNN wants
  /// another layout of B for this m (pack again).
  virtual StatusOr<bool> run(int64_t m, const float* a, float* c) = 0;
};

/// Packs `b` (K x N, or N x K when transB) for products with `d.m` rows.
StatusOr<std::unique_ptr<PackedProduct>> pack(bool transA, bool transB, const GemmDims& d,
                                              const float* b, int threads);

/// The threads a product may use when nothing limits it: OMP_NUM_THREADS
/// or the CPUs, until setThreads.
int threads();
void setThreads(int n);

/// Runs fn(arg, part, parts) for each part on up to `threads` of the
/// threads oneDNN's products run on (libgomp's; the caller runs part 0) and
/// returns when all have run. False, running nothing, when oneDNN is not
/// loaded. fn must not throw.
bool parallel(int threads, void (*fn)(void* arg, int part, int parts), void* arg);

} // namespace cairn::exec::dnnl
