// `dot` as BLAS: the executor's GEMM instruction. The library is OpenBLAS
// (chosen by measurement, docs/codegen.md "BLAS"), called through CBLAS.
#pragma once

#include "ir/Status.h"
#include "ir/Tensor.h"
#include "runtime/exec/LoweredFunction.h"

namespace cairn::exec {

/// The result shape of `a` . `b` under `g` ([batch..., a's free..., b's free...]),
/// or an error when the operands do not fit it (mismatched batch or
/// contracting sizes).
StatusOr<Shape> gemmResultShape(const GemmShape& g, const Shape& a, const Shape& b);

/// out = a . b for f32 (sgemm) or f64 (dgemm); `out` has gemmResultShape.
/// Adds the BLAS calls made to `*calls` and 2*M*N*K per batch element to
/// `*flops` (each may be null). With `adjustThreads`, a product under 8
/// MFLOP runs with the BLAS set to one thread (a process-wide setting, for
/// its duration); without, the BLAS uses the process's setting as it is.
Status runGemm(const GemmShape& g, const Tensor& a, const Tensor& b, Tensor& out,
               int64_t* calls, int64_t* flops = nullptr, bool adjustThreads = true);

/// A GEMM's sizes: `batch` products of op(A) m x k by op(B) k x n.
struct GemmDims {
  int64_t batch = 1, m = 0, n = 0, k = 0;
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

/// The BLAS in use and its kernels, one line (BlasKernels::describe, e.g.
/// "OpenBLAS 0.3.21, SkylakeX kernels (AVX-512; CPU: AVX-512; chosen by CPU
/// features)").
std::string blasDescription();

/// The threads each BLAS call may use (OPENBLAS_NUM_THREADS, or
/// openblas_set_num_threads).
int blasThreads();
/// Sets it for the whole process (not while another thread is in a BLAS call).
void setBlasThreads(int n);

} // namespace cairn::exec
