// GEMM through CBLAS. An operand [batch..., X..., Y...] is a stack of
// row-major matrices X x Y; which group is the contracting one decides the
// transpose flag, so no operand is ever copied to another layout.
#include "runtime/exec/Gemm.h"
#include "runtime/exec/Blas.h"
#include "runtime/exec/BlasSymbols.h"
#include "runtime/exec/GemmDnnl.h"

#include <algorithm>
#include <cmath>

#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>

#include <fmt/format.h>

#include <cblas.h> // the enum constants only: the functions come from blasSymbols()

namespace cairn::exec {
namespace {

int64_t product(const Shape& s, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t d = from; d < to; ++d)
    p *= s[d];
  return p;
}

constexpr int64_t kSerialFlops = int64_t{8} << 20;

using Dims = GemmDims;

/// An operand's free and contracting groups: [nb, nb + free) and the rest,
/// or the contracting group first when `contractFirst`.
struct Groups {
  size_t freeBegin, freeEnd, contractBegin, contractEnd;
};

Groups groupsOf(size_t rank, int nb, int nc, bool contractFirst) {
  size_t b = static_cast<size_t>(nb), c = static_cast<size_t>(nc);
  if (contractFirst) return {b + c, rank, b, b + c};
  return {b, rank - c, rank - c, rank};
}

StatusOr<Dims> dimsOfShapes(const GemmShape& g, const Shape& a, const Shape& b, Shape* result) {
  size_t nb = static_cast<size_t>(g.batchDims), nc = static_cast<size_t>(g.contractDims);
  if (a.size() < nb + nc || b.size() < nb + nc)
    return errorf("operand ranks {} and {} are too small for the GEMM plan", a.size(), b.size());
  for (size_t d = 0; d < nb; ++d)
    if (a[d] != b[d])
      return errorf("batch dim {} has size {} in the lhs but {} in the rhs", d, a[d], b[d]);
  Groups ga = groupsOf(a.size(), g.batchDims, g.contractDims, g.transA);
  Groups gb = groupsOf(b.size(), g.batchDims, g.contractDims, !g.transB);
  for (size_t i = 0; i < nc; ++i)
    if (a[ga.contractBegin + i] != b[gb.contractBegin + i])
      return errorf("contracting dims differ: lhs dim {} has size {}, rhs dim {} has size {}",
                    ga.contractBegin + i, a[ga.contractBegin + i], gb.contractBegin + i,
                    b[gb.contractBegin + i]);
  if (result) {
    result->assign(a.begin(), a.begin() + static_cast<ptrdiff_t>(nb));
    result->insert(result->end(), a.begin() + static_cast<ptrdiff_t>(ga.freeBegin),
                   a.begin() + static_cast<ptrdiff_t>(ga.freeEnd));
    result->insert(result->end(), b.begin() + static_cast<ptrdiff_t>(gb.freeBegin),
                   b.begin() + static_cast<ptrdiff_t>(gb.freeEnd));
  }
  return Dims{product(a, 0, nb), product(a, ga.freeBegin, ga.freeEnd),
              product(b, gb.freeBegin, gb.freeEnd), product(a, ga.contractBegin, ga.contractEnd)};
}

template <typename T> constexpr bool kIsF32 = std::is_same_v<T, float>;

thread_local int tThreadCap = 0; ///< GemmThreadCap's (0: none)

/// The threads of a oneDNN product (and of its packing): one for a small
/// product, the calling thread's cap (GemmThreadCap) otherwise.
int dnnlThreads(bool serial) {
  int threads = serial ? 1 : dnnl::threads();
  return tThreadCap > 0 ? std::min(threads, tThreadCap) : threads;
}

/// key.state, emptied first unless it holds this B (GemmReuse).
GemmReuse& reuseFor(bool transA, bool transB, const Dims& d, const float* b, int threads,
                    const GemmReuseKey& key) {
  GemmReuse& r = *key.state;
  bool same = r.epoch == key.epoch && r.b == b && r.n == d.n && r.k == d.k &&
              r.transA == transA && r.transB == transB && r.threads == threads;
  if (!same) r = GemmReuse{key.epoch, b, d.n, d.k, transA, transB, threads, 0, nullptr, nullptr};
  return r;
}

/// For one row by a constant [N, K] B (transB: the rnn op's and ONNX's
/// layout), B as [K, N], copied at the first such call and kept with the
/// instruction: OpenBLAS's sgemv reads [K, N] fastest. [1, 256] x [256,
/// 1024] on one Zen 4 core: 12.3 us per sgemv from [K, N] and 15.1 us from
/// [N, K] (standalone); in the executor, a loop step of that product plus a
/// gather, a tanh and a counter took 16.0 us through oneDNN's packed matmul
/// (which one row by an [N, K] constant took before; its call builds
/// memory objects each time) and 13.6 us through sgemv on [K, N] (20,000
/// steps, `cairn-run --compile --time`). The exported BiLSTM at batch 1 went from
/// 3.68 to 3.27 ms, the BiGRU from 2.68 to 2.40 (one thread, medians of
/// 100 runs, old and new interleaved). Two rows stay packed (2-5x faster
/// there). Null where it does not apply. The copy costs what packing
/// would: the weight's size, once per context. Not inside a parallel loop
/// pair whose run may not set OpenBLAS's threads (`adjustThreads` off, the
/// C API's runs): there oneDNN's per-thread cap keeps each loop's product
/// on its own core, and OpenBLAS would use the process's thread count.
const float* transposedFor(bool transA, bool transB, const Dims& d, const float* b, int threads,
                           bool adjustThreads, const GemmReuseKey& key) {
  if (!key.state || !key.constant || d.batch != 1 || d.m != 1 || !transB || transA ||
      d.n < 64 || !blasKernels().loaded() || (tThreadCap > 0 && !adjustThreads))
    return nullptr;
  GemmReuse& r = reuseFor(transA, transB, d, b, threads, key);
  if (!r.transposed) {
    // On a cache line: sgemv's 64-byte loads from a 16-byte-aligned copy
    // (what malloc gives) straddle two lines each; [1, 256] x [256, 1024]
    // took 12.1-12.6 us per call so, 11.4 us aligned (4 weights cycled, one
    // Zen 4 core).
    constexpr std::align_val_t kLine{64};
    size_t count = static_cast<size_t>(d.k * d.n);
    std::shared_ptr<float[]> kn(static_cast<float*>(::operator new[](count * sizeof(float), kLine)),
                                [](float* p) { ::operator delete[](p, kLine); });
    for (int64_t i = 0; i < d.n; ++i) // b is [N, K]
      for (int64_t j = 0; j < d.k; ++j)
        kn[static_cast<size_t>(j * d.n + i)] = b[i * d.k + j];
    r.transposed = std::move(kn);
    if (key.transposings) ++*key.transposings;
  }
  return r.transposed.get();
}

/// Whether this product is zero without computing it: A all zeros (a
/// recurrent layer's first step from a zero state: 4 of the exported
/// BiLSTM's 140 one-row products, each streaming a 1 MiB weight) by a
/// constant B whose every element is finite (0 * inf is NaN), which is
/// checked once per B. The scan of A stops at its first nonzero element,
/// so a product that is not zero pays next to nothing. The zeros are +0,
/// what a sum of zero products starting from +0 gives.
bool zeroByConstant(bool transA, bool transB, const Dims& d, const float* a, const float* b,
                    int threads, const GemmReuseKey& key) {
  if (!key.state || !key.constant || d.batch != 1) return false;
  for (int64_t i = 0, n = d.m * d.k; i < n; ++i)
    if (a[i] != 0.0f) return false;
  GemmReuse& r = reuseFor(transA, transB, d, b, threads, key);
  if (r.finite < 0) {
    bool finite = true;
    for (int64_t i = 0, n = d.k * d.n; i < n; ++i)
      finite &= std::isfinite(b[i]);
    r.finite = finite ? 1 : 0;
  }
  return r.finite == 1;
}

/// Packs B into key.state, counting it.
Status packInto(bool transA, bool transB, const Dims& d, const float* b, int threads,
                const GemmReuseKey& key) {
  CAIRN_ASSIGN_OR_RETURN(key.state->packed, dnnl::pack(transA, transB, d, b, threads));
  if (key.packings) ++*key.packings;
  return Status::ok();
}

/// The packed B of `key` for this product, packed now if it is the call to
/// pack at (the first for a constant, the second in a loop execution).
StatusOr<dnnl::PackedProduct*> packedFor(bool transA, bool transB, const Dims& d, const float* b,
                                         int threads, const GemmReuseKey& key) {
  GemmReuse& r = reuseFor(transA, transB, d, b, threads, key);
  ++r.calls;
  if (!r.packed && (key.constant || r.calls >= 2))
    CAIRN_RETURN_IF_ERROR(packInto(transA, transB, d, b, threads, key));
  return r.packed.get();
}

/// An f32 product through oneDNN: the packed B when `key` has one (or packs
/// it now), else dnnl_sgemm.
Status dnnlGemm(bool transA, bool transB, const Dims& d, const float* a, const float* b,
                float* out, bool serial, const GemmReuseKey& key) {
  int threads = dnnlThreads(serial);
  if (key.state && d.batch == 1) {
    CAIRN_ASSIGN_OR_RETURN(dnnl::PackedProduct * packed,
                           packedFor(transA, transB, d, b, threads, key));
    if (packed) {
      CAIRN_ASSIGN_OR_RETURN(bool ran, packed->run(d.m, a, out));
      if (ran) return Status::ok();
      // oneDNN wants another layout for this row count: pack for it.
      CAIRN_RETURN_IF_ERROR(packInto(transA, transB, d, b, threads, key));
      CAIRN_ASSIGN_OR_RETURN(ran, key.state->packed->run(d.m, a, out));
      if (ran) return Status::ok();
    }
  }
  for (int64_t i = 0; i < d.batch; ++i)
    CAIRN_RETURN_IF_ERROR(dnnl::sgemm(transA, transB, Dims{1, d.m, d.n, d.k}, a + i * d.m * d.k,
                                      b + i * d.k * d.n, out + i * d.m * d.n, threads));
  return Status::ok();
}

/// out[i] = op(a[i]) . op(b[i]) for the batch's row-major matrices, laid out
/// one after another.
template <typename T>
Status gemmCore(bool transA, bool transB, const Dims& d, const T* a, const T* b, T* out,
                int64_t* calls, bool adjustThreads = true, const GemmReuseKey& reuse = {}) {
  if (d.k == 0) { // BLAS would be asked for C = 0 * C; say it directly.
    std::memset(out, 0, static_cast<size_t>(d.batch * d.m * d.n) * sizeof(T));
    return Status::ok();
  }
  bool small = 2 * d.batch * d.m * d.n * d.k < kSerialFlops;
  if constexpr (kIsF32<T>) {
    if (zeroByConstant(transA, transB, d, a, b, dnnlThreads(small), reuse)) {
      std::memset(out, 0, static_cast<size_t>(d.m * d.n) * sizeof(T));
      if (reuse.zeroProducts) ++*reuse.zeroProducts;
      return Status::ok();
    }
    // One row by a constant [N, K]: its [K, N] copy through sgemv below.
    if (const float* kn =
            transposedFor(transA, transB, d, b, dnnlThreads(small), adjustThreads, reuse)) {
      b = kn;
      transB = false;
    }
    bool packs = reuse.state && d.batch == 1 &&
                 dnnl::prefersPacked(d, transA, transB, reuse.constant);
    if (packs || dnnl::prefers(d, transA, transB)) {
      if (calls) *calls += d.batch;
      return dnnlGemm(transA, transB, d, a, b, out, small, packs ? reuse : GemmReuseKey{});
    }
  }
  if (!blasKernels().loaded()) return Status::error(blasKernels().loadError);
  const BlasSymbols& blas = blasSymbols();
  // Threads where they pay: a product under kSerialFlops (a loop step's
  // GEMM at small batch, ~100 us on one core) runs on one, since waking the
  // BLAS's workers costs about what splitting it saves; the large ones (the
  // hoisted input projections, weight gradients) get them all.
  std::optional<SingleThreadedBlas> serial;
  if (adjustThreads && small) serial.emplace();
  if (d.m > INT32_MAX || d.n > INT32_MAX || d.k > INT32_MAX)
    return errorf("matrix dims {}x{}x{} exceed the BLAS interface's 32-bit sizes", d.m, d.k, d.n);
  int m = static_cast<int>(d.m), n = static_cast<int>(d.n), k = static_cast<int>(d.k);
  CBLAS_TRANSPOSE ta = transA ? CblasTrans : CblasNoTrans;
  CBLAS_TRANSPOSE tb = transB ? CblasTrans : CblasNoTrans;
  int lda = transA ? m : k, ldb = transB ? k : n;
  // One or two rows (a vector times a matrix: the batch-1 RNN step, SPINN's
  // premise and hypothesis at batch 1) as gemv per row: OpenBLAS's sgemm
  // packs the whole matrix on every call, 4x slower for M = 1 and up to
  // 1.6x for M = 2 (docs/codegen.md, "BLAS"; never slower here).
  // y = op(B)^T a_r: B [K, N] is read transposed, B^T [N, K] as it is.
  if (m <= 2) {
    CBLAS_TRANSPOSE tv = transB ? CblasNoTrans : CblasTrans;
    int rows = transB ? n : k, cols = transB ? k : n;
    int incA = transA ? m : 1; // row r of A: a + r * (transA ? 1 : K), stride incA
    for (int64_t i = 0; i < d.batch; ++i)
      for (int r = 0; r < m; ++r) {
        const T* aRow = a + i * d.m * d.k + (transA ? r : int64_t{r} * k);
        T* outRow = out + i * d.m * d.n + int64_t{r} * n;
        if constexpr (kIsF32<T>)
          blas.sgemv(CblasRowMajor, tv, rows, cols, 1.0f, b + i * d.k * d.n, cols, aRow, incA,
                     0.0f, outRow, 1);
        else
          blas.dgemv(CblasRowMajor, tv, rows, cols, 1.0, b + i * d.k * d.n, cols, aRow, incA, 0.0,
                     outRow, 1);
      }
    if (calls) *calls += d.batch * d.m;
    return Status::ok();
  }
  for (int64_t i = 0; i < d.batch; ++i) {
    if constexpr (kIsF32<T>)
      blas.sgemm(CblasRowMajor, ta, tb, m, n, k, 1.0f, a + i * d.m * d.k, lda, b + i * d.k * d.n,
                 ldb, 0.0f, out + i * d.m * d.n, n);
    else
      blas.dgemm(CblasRowMajor, ta, tb, m, n, k, 1.0, a + i * d.m * d.k, lda, b + i * d.k * d.n,
                 ldb, 0.0, out + i * d.m * d.n, n);
  }
  if (calls) *calls += d.batch;
  return Status::ok();
}

} // namespace

StatusOr<GemmDims> gemmDims(const GemmShape& g, const Shape& a, const Shape& b, Shape* result) {
  return dimsOfShapes(g, a, b, result);
}

StatusOr<Shape> gemmResultShape(const GemmShape& g, const Shape& a, const Shape& b) {
  Shape out;
  CAIRN_RETURN_IF_ERROR(dimsOfShapes(g, a, b, &out).status());
  return out;
}

Status runGemm(const GemmShape& g, const Tensor& a, const Tensor& b, Tensor& out,
               int64_t* calls, int64_t* flops, bool adjustThreads,
               const GemmReuseKey& reuse) {
  if (a.dtype() != b.dtype() || a.dtype() != out.dtype())
    return errorf("operand dtypes {} and {} differ", dtypeName(a.dtype()), dtypeName(b.dtype()));
  CAIRN_ASSIGN_OR_RETURN(Dims d, dimsOfShapes(g, a.shape(), b.shape(), nullptr));
  if (d.batch * d.m * d.n == 0) return Status::ok();
  if (flops) *flops += 2 * d.batch * d.m * d.n * d.k;
  if (a.dtype() == DType::F32)
    return gemmCore<float>(g.transA, g.transB, d, a.data<float>(), b.data<float>(),
                           out.data<float>(), calls, adjustThreads, reuse);
  if (a.dtype() == DType::F64)
    return gemmCore<double>(g.transA, g.transB, d, a.data<double>(), b.data<double>(),
                            out.data<double>(), calls, adjustThreads);
  return errorf("GEMM supports f32 and f64, not {}", dtypeName(a.dtype()));
}

Status checkGemmRaw(DType dtype, const GemmDims& d) {
  if (d.m < 0 || d.n < 0 || d.k < 0 || d.batch < 0)
    return errorf("GEMM sizes {}x{}x{} (batch {}) must not be negative", d.m, d.k, d.n, d.batch);
  if (dtype != DType::F32 && dtype != DType::F64)
    return errorf("GEMM supports f32 and f64, not {}", dtypeName(dtype));
  return Status::ok();
}

Status runGemmRaw(DType dtype, bool transA, bool transB, const GemmDims& d, const void* a,
                  const void* b, void* c) {
  CAIRN_RETURN_IF_ERROR(checkGemmRaw(dtype, d));
  if (d.batch * d.m * d.n == 0) return Status::ok();
  if (dtype == DType::F32)
    return gemmCore<float>(transA, transB, d, static_cast<const float*>(a),
                           static_cast<const float*>(b), static_cast<float*>(c), nullptr);
  if (dtype == DType::F64)
    return gemmCore<double>(transA, transB, d, static_cast<const double*>(a),
                            static_cast<const double*>(b), static_cast<double*>(c), nullptr);
  return errorf("GEMM supports f32 and f64, not {}", dtypeName(dtype));
}

const char* gemmLibraryFor(DType dtype, const GemmDims& d, bool transA, bool transB) {
  return dtype == DType::F32 && dnnl::prefers(d, transA, transB) ? "oneDNN" : "OpenBLAS";
}

int productThreads() { return dnnl::enabled() ? dnnlThreads(false) : 1; }

GemmThreadCap::GemmThreadCap(int n) : saved_(tThreadCap) { tThreadCap = n; }
GemmThreadCap::~GemmThreadCap() { tThreadCap = saved_; }

std::string blasDescription() {
  std::string blas = blasKernels().describe();
  return dnnl::enabled() ? fmt::format("{}; f32 products mostly {}", blas, dnnl::describe())
                         : fmt::format("{}; {}", blas, dnnl::describe());
}

int blasThreads() { return blasKernels().loaded() ? blasSymbols().getThreads() : 1; }
void setBlasThreads(int n) {
  if (blasKernels().loaded()) blasSymbols().setThreads(n);
  dnnl::setThreads(n);
}

} // namespace cairn::exec
