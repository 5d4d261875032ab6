// `dot` as BLAS: the executor's GEMM instruction. The library is OpenBLAS
// (chosen by measurement, docs/codegen.md "BLAS"), called through CBLAS.
#pragma once

#include <memory>
#include <vector>

#include "ir/Status.h"
#include "ir/Tensor.h"
#include "runtime/exec/LoweredFunction.h"

namespace cairn::exec {

/// The result shape of `a` . `b` under `g` ([batch..., a's free..., b's free...]),
/// or an error when the operands do not fit it (mismatched batch or
/// contracting sizes).
StatusOr<Shape> gemmResultShape(const GemmShape& g, const Shape& a, const Shape& b);

/// A GEMM's sizes: `batch` products of op(A) m x k by op(B) k x n.
struct GemmDims {
  int64_t batch = 1, m = 0, n = 0, k = 0;
};

namespace dnnl {
class PackedProduct;
}

/// What one GEMM instruction keeps between calls that read the same B: B
/// packed once into oneDNN's blocked layout (GemmDnnl.h). Two kinds of B
/// qualify: a constant of the Executable (packed at the first call, kept
/// across runs: `epoch` is the Executable's), and a value defined outside
/// the loop the GEMM is in (a weight every step reads; packed at the second
/// call of one loop execution, whose number `epoch` is). The key is
/// everything the packing depends on but the row count; since epochs are
/// never reused, a buffer reused later at the same address never matches.
struct GemmReuse {
  int64_t epoch = -1;
  const void* b = nullptr;
  int64_t n = 0, k = 0;
  bool transA = false, transB = false;
  int threads = 0;
  int calls = 0;
  std::shared_ptr<dnnl::PackedProduct> packed;
  /// A constant [N, K] B copied once as [K, N] for one-row products
  /// (OpenBLAS's sgemv reads that layout fastest; Gemm.cpp), 64-byte aligned.
  std::shared_ptr<const float[]> transposed;
  /// Whether every element of a constant B is finite (1) or not (0); -1:
  /// not looked at yet. A zero A by a finite B is zero without the product.
  int finite = -1;
};

/// A GEMM instruction's reuse state and what its B is (GemmReuse).
struct GemmReuseKey {
  GemmReuse* state = nullptr; ///< null: B is packed never
  int64_t epoch = -1;
  bool constant = false;
  int64_t* packings = nullptr; ///< counts each packing made (may be null)
  int64_t* transposings = nullptr; ///< counts each [K, N] copy made (may be null)
  int64_t* zeroProducts = nullptr; ///< counts products written as zeros (may be null)
};

/// out = a . b for f32 (oneDNN or OpenBLAS sgemm) or f64 (dgemm); `out` has
/// gemmResultShape. Adds the library calls made to `*calls` and 2*M*N*K per
/// batch element to `*flops` (each may be null). A product under 8 MFLOP
/// runs on one thread. For OpenBLAS that is a process-wide setting, changed
/// for the call only with `adjustThreads` (otherwise the process's setting
/// stands); oneDNN's is the calling thread's own (GemmThreadCap).
/// `reuse`: the instruction's state where its B may be packed.
Status runGemm(const GemmShape& g, const Tensor& a, const Tensor& b, Tensor& out,
               int64_t* calls, int64_t* flops = nullptr, bool adjustThreads = true,
               const GemmReuseKey& reuse = {});

/// The threads a large oneDNN product made on the calling thread runs on:
/// oneDNN's count (dnnl::threads), capped by the thread's GemmThreadCap; 1
/// without oneDNN.
int productThreads();

/// Caps the threads of the oneDNN products the calling thread makes while
/// it lives (the executor's parallel loop pairs: one each).
class GemmThreadCap {
public:
  explicit GemmThreadCap(int n);
  ~GemmThreadCap();
  GemmThreadCap(const GemmThreadCap&) = delete;
  GemmThreadCap& operator=(const GemmThreadCap&) = delete;

private:
  int saved_;
};

/// The sizes of `a` . `b` under `g`, and the result shape into `*result`
/// (may be null); an error when the operands do not fit the plan.
StatusOr<GemmDims> gemmDims(const GemmShape& g, const Shape& a, const Shape& b,
                            Shape* result = nullptr);

/// c[i] = op(a[i]) . op(b[i]) for i < d.batch: row-major f32 or f64 matrices
/// stored one after another (the emulated device's GEMM).
Status runGemmRaw(DType dtype, bool transA, bool transB, const GemmDims& d, const void* a,
                  const void* b, void* c);
/// runGemmRaw's checks of the sizes and dtype alone (a recorded GEMM is
/// checked when it is recorded).
Status checkGemmRaw(DType dtype, const GemmDims& d);

/// The library that runs a product of these sizes and dtype when its B is
/// not packed: "oneDNN" or "OpenBLAS" (GemmDnnl.h says which shapes go
/// where; a packed weight takes some one- and two-row products to oneDNN).
const char* gemmLibraryFor(DType dtype, const GemmDims& d, bool transA, bool transB);

/// The BLAS in use and its kernels, one line (BlasKernels::describe, e.g.
/// "OpenBLAS 0.3.21, SkylakeX kernels (AVX-512; CPU: AVX-512; chosen by CPU
/// features)").
std::string blasDescription();

/// The threads each BLAS call may use (OPENBLAS_NUM_THREADS, or
/// openblas_set_num_threads).
int blasThreads();
/// Sets it for the whole process (not while another thread is in a BLAS call),
/// oneDNN's included.
void setBlasThreads(int n);

} // namespace cairn::exec
