#include "runtime/exec/GemmDnnl.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#if CAIRN_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>

// libdnnl is built on libgomp: its products use as many threads as the
// calling thread's OpenMP setting allows, a per-thread value. Declared here
// rather than through <omp.h>, which clang (the sanitizer builds) does not
// ship without libomp-dev.
extern "C" int omp_get_max_threads();
extern "C" void omp_set_num_threads(int);
#endif

namespace cairn::exec::dnnl {

#if CAIRN_HAVE_ONEDNN
namespace {

using ::dnnl::engine;
using ::dnnl::matmul;
using ::dnnl::memory;
using ::dnnl::stream;
using Tag = memory::format_tag;

/// Sets the calling thread's OpenMP thread count for one call: a setting of
/// this thread alone, so no other thread (and no embedder) feels it.
class ThreadsForCall {
public:
  explicit ThreadsForCall(int n) : saved_(omp_get_max_threads()) {
    if (n != saved_) omp_set_num_threads(n);
  }
  ~ThreadsForCall() {
    if (omp_get_max_threads() != saved_) omp_set_num_threads(saved_);
  }
  ThreadsForCall(const ThreadsForCall&) = delete;
  ThreadsForCall& operator=(const ThreadsForCall&) = delete;

private:
  int saved_;
};

std::atomic<int> gThreads{0}; ///< 0: not yet read from OpenMP

engine& cpuEngine() {
  static engine e(engine::kind::cpu, 0);
  return e;
}

stream& threadStream() {
  thread_local stream s(cpuEngine());
  return s;
}

template <typename Fn> Status guarded(const char* what, Fn&& fn) {
  try {
    fn();
    return Status::ok();
  } catch (const ::dnnl::error& e) {
    return errorf("oneDNN {} failed: {} (status {})", what, e.what(), static_cast<int>(e.status));
  } catch (const std::bad_alloc&) {
    return Status::error(fmt::format("oneDNN {}: out of memory", what),
                         StatusCode::kResourceExhausted);
  }
}

class Packed final : public PackedProduct {
public:
  Packed(matmul prim, memory::desc src, memory::desc dst, memory weights, int threads)
      : prim_(std::move(prim)), src_(std::move(src)), dst_(std::move(dst)),
        weights_(std::move(weights)), threads_(threads) {}

  Status run(const float* a, float* c) const override {
    ThreadsForCall t(threads_);
    return guarded("matmul", [&] {
      memory src(src_, cpuEngine(), const_cast<float*>(a)), dst(dst_, cpuEngine(), c);
      prim_.execute(threadStream(),
                    {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights_}, {DNNL_ARG_DST, dst}});
      threadStream().wait();
    });
  }

private:
  matmul prim_;
  memory::desc src_, dst_;
  memory weights_;
  int threads_;
};

} // namespace

bool enabled() {
  static const bool on = [] {
    const char* choice = std::getenv("CAIRN_GEMM");
    return !(choice && std::strcmp(choice, "openblas") == 0);
  }();
  return on;
}

std::string describe() {
  if (!enabled()) return "oneDNN off (CAIRN_GEMM=openblas)";
  const dnnl_version_t* v = dnnl_version();
  const char* isa = "?";
  switch (dnnl_get_effective_cpu_isa()) {
  case dnnl_cpu_isa_sse41: isa = "sse41"; break;
  case dnnl_cpu_isa_avx: isa = "avx"; break;
  case dnnl_cpu_isa_avx2: isa = "avx2"; break;
  case dnnl_cpu_isa_avx512_core: isa = "avx512_core"; break;
  case dnnl_cpu_isa_avx512_core_vnni: isa = "avx512_core_vnni"; break;
  case dnnl_cpu_isa_avx512_core_bf16: isa = "avx512_core_bf16"; break;
  case dnnl_cpu_isa_avx512_core_amx: isa = "avx512_core_amx"; break;
  default: break;
  }
  return fmt::format("oneDNN {}.{}.{} ({})", v->major, v->minor, v->patch, isa);
}

int threads() {
  int n = gThreads.load(std::memory_order_relaxed);
  return n > 0 ? n : omp_get_max_threads();
}

void setThreads(int n) { gThreads.store(n > 0 ? n : 0, std::memory_order_relaxed); }

Status sgemm(bool transA, bool transB, const GemmDims& d, const float* a, const float* b,
             float* c, int threads) {
  ThreadsForCall t(threads);
  dnnl_dim_t lda = transA ? d.m : d.k, ldb = transB ? d.k : d.n;
  dnnl_status_t s = dnnl_sgemm(transA ? 'T' : 'N', transB ? 'T' : 'N', d.m, d.n, d.k, 1.0f, a,
                               lda, b, ldb, 0.0f, c, d.n);
  if (s != dnnl_success) return errorf("dnnl_sgemm failed (status {})", static_cast<int>(s));
  return Status::ok();
}

StatusOr<std::unique_ptr<PackedProduct>> pack(bool transA, bool transB, const GemmDims& d,
                                              const float* b, int threads) {
  ThreadsForCall t(threads); // the primitive is made for the threads it will run on
  std::unique_ptr<PackedProduct> out;
  Status made = guarded("packing a weight", [&] {
    memory::desc src({d.m, d.k}, memory::data_type::f32, transA ? Tag::ba : Tag::ab);
    memory::desc dst({d.m, d.n}, memory::data_type::f32, Tag::ab);
    memory::desc anyWeights({d.k, d.n}, memory::data_type::f32, Tag::any);
    memory::desc userWeights({d.k, d.n}, memory::data_type::f32, transB ? Tag::ba : Tag::ab);
    matmul::primitive_desc pd(matmul::desc(src, anyWeights, dst), cpuEngine());
    memory user(userWeights, cpuEngine(), const_cast<float*>(b));
    memory packed(pd.weights_desc(), cpuEngine());
    ::dnnl::reorder(user, packed).execute(threadStream(), user, packed);
    threadStream().wait();
    out = std::make_unique<Packed>(matmul(pd), src, dst, std::move(packed), threads);
  });
  if (!made.isOk()) return made;
  return out;
}

#else // oneDNN not built in: OpenBLAS does every product.

bool enabled() { return false; }
std::string describe() { return "oneDNN not built in"; }
int threads() { return 1; }
void setThreads(int) {}
Status sgemm(bool, bool, const GemmDims&, const float*, const float*, float*, int) {
  return Status::error("oneDNN is not built in");
}
StatusOr<std::unique_ptr<PackedProduct>> pack(bool, bool, const GemmDims&, const float*, int) {
  return Status::error("oneDNN is not built in");
}

#endif

bool prefers(const GemmDims& d, bool transA, bool transB) {
  // One or two rows go to OpenBLAS's gemv (as fast or faster); results
  // narrower than 64 columns (a classifier's logits) and products with
  // both operands transposed ran 2-5x slower in oneDNN.
  return enabled() && d.m >= 3 && d.n >= 64 && !(transA && transB);
}

} // namespace cairn::exec::dnnl
