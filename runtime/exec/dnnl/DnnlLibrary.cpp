// libcairn_dnnl.so: oneDNN's sgemm and packed matmul behind DnnlLibrary.h's
// table. No C++ exception leaves it; errors are codes and messages.
#include "runtime/exec/dnnl/DnnlLibrary.h"

#include <algorithm>
#include <cstdio>
#include <new>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

// libdnnl is built on libgomp: its products use as many threads as the
// calling thread's OpenMP setting allows, a per-thread value. Declared here
// rather than through <omp.h>, which clang does not ship without libomp-dev.
extern "C" int omp_get_max_threads();
extern "C" void omp_set_num_threads(int);
extern "C" int omp_get_thread_num();
extern "C" int omp_get_num_threads();
// What GCC makes of `#pragma omp parallel num_threads(n)` (libgomp's ABI
// since GCC 4.9), called directly so that no OpenMP compiler flag is needed:
// clang's -fopenmp targets libomp, which would be a second thread pool.
extern "C" void GOMP_parallel(void (*fn)(void*), void* data, unsigned threads, unsigned flags);

namespace {

using dnnl::engine;
using dnnl::matmul;
using dnnl::memory;
using dnnl::stream;
using Tag = memory::format_tag;

/// Sets the calling thread's OpenMP thread count for one call: a setting of
/// this thread alone, so no other thread (and no embedder) feels it.
class ThreadsForCall {
public:
  explicit ThreadsForCall(int n) : saved_(omp_get_max_threads()) {
    if (n > 0 && n != saved_) omp_set_num_threads(n);
  }
  ~ThreadsForCall() {
    if (omp_get_max_threads() != saved_) omp_set_num_threads(saved_);
  }
  ThreadsForCall(const ThreadsForCall&) = delete;
  ThreadsForCall& operator=(const ThreadsForCall&) = delete;

private:
  int saved_;
};

engine& cpuEngine() {
  static engine e(engine::kind::cpu, 0);
  return e;
}

stream& threadStream() {
  thread_local stream s(cpuEngine());
  return s;
}

/// Runs fn, turning exceptions into a code and a message.
template <typename Fn> int guarded(const char* what, char* error, size_t size, Fn&& fn) {
  try {
    fn();
    return 0;
  } catch (const dnnl::error& e) {
    std::snprintf(error, size, "oneDNN %s failed: %s (status %d)", what, e.what(),
                  static_cast<int>(e.status));
  } catch (const std::bad_alloc&) {
    std::snprintf(error, size, "oneDNN %s: out of memory", what);
  } catch (const std::exception& e) {
    std::snprintf(error, size, "oneDNN %s failed: %s", what, e.what());
  }
  return 1;
}

/// A packed weight and the matmuls made for it, by row count (a hoisted
/// projection's rows change with the batch and the length).
struct Packed {
  int transA;
  int64_t n, k;
  int threads;
  memory weights;
  struct ForRows {
    int64_t m;
    matmul prim;
    memory::desc src, dst;
  };
  std::vector<ForRows> prims; ///< the most recent last; at most kMaxRowCounts
};
constexpr size_t kMaxRowCounts = 8;

/// The matmul of `m` rows by a weight packed as `weights` says (`any`: the
/// layout oneDNN wants for these sizes).
matmul::primitive_desc matmulFor(int transA, int64_t m, int64_t n, int64_t k,
                                 const memory::desc& weights) {
  memory::desc src({m, k}, memory::data_type::f32, transA ? Tag::ba : Tag::ab);
  memory::desc dst({m, n}, memory::data_type::f32, Tag::ab);
  return matmul::primitive_desc(matmul::desc(src, weights, dst), cpuEngine());
}

const char* describe() {
  static char text[96];
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
  std::snprintf(text, sizeof text, "oneDNN %d.%d.%d (%s)", v->major, v->minor, v->patch, isa);
  return text;
}

int maxThreads() { return omp_get_max_threads(); }

int sgemm(char transA, char transB, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
          const float* b, int64_t ldb, float* c, int64_t ldc, int threads, char* error,
          size_t size) {
  ThreadsForCall t(threads);
  dnnl_status_t s = dnnl_sgemm(transA, transB, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
  if (s == dnnl_success) return 0;
  std::snprintf(error, size, "dnnl_sgemm failed (status %d)", static_cast<int>(s));
  return 1;
}

void* pack(int transA, int transB, int64_t m, int64_t n, int64_t k, const float* b, int threads,
           char* error, size_t size) {
  ThreadsForCall t(threads); // the primitive is made for the threads it will run on
  Packed* out = nullptr;
  guarded("packing a weight", error, size, [&] {
    memory::desc anyWeights({k, n}, memory::data_type::f32, Tag::any);
    memory::desc userWeights({k, n}, memory::data_type::f32, transB ? Tag::ba : Tag::ab);
    matmul::primitive_desc pd = matmulFor(transA, m, n, k, anyWeights);
    memory user(userWeights, cpuEngine(), const_cast<float*>(b));
    memory packed(pd.weights_desc(), cpuEngine());
    dnnl::reorder(user, packed).execute(threadStream(), user, packed);
    threadStream().wait();
    out = new Packed{transA, n, k, threads, std::move(packed), {}};
    out->prims.push_back({m, matmul(pd), pd.src_desc(), pd.dst_desc()});
  });
  return out;
}

int runPacked(void* handle, int64_t m, const float* a, float* c, char* error, size_t size) {
  Packed& p = *static_cast<Packed*>(handle);
  ThreadsForCall t(p.threads);
  bool repack = false;
  int status = guarded("matmul", error, size, [&] {
    auto it = std::find_if(p.prims.begin(), p.prims.end(),
                           [&](const Packed::ForRows& r) { return r.m == m; });
    if (it == p.prims.end()) {
      // Another row count: a new matmul over the same packed weight, if
      // oneDNN wants the same layout for it.
      memory::desc anyWeights({p.k, p.n}, memory::data_type::f32, Tag::any);
      matmul::primitive_desc pd = matmulFor(p.transA, m, p.n, p.k, anyWeights);
      if (pd.weights_desc() != p.weights.get_desc()) {
        repack = true;
        return;
      }
      if (p.prims.size() == kMaxRowCounts) p.prims.erase(p.prims.begin());
      p.prims.push_back({m, matmul(pd), pd.src_desc(), pd.dst_desc()});
      it = p.prims.end() - 1;
    }
    memory src(it->src, cpuEngine(), const_cast<float*>(a)), dst(it->dst, cpuEngine(), c);
    it->prim.execute(threadStream(),
                     {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, p.weights}, {DNNL_ARG_DST, dst}});
    threadStream().wait();
  });
  return status == 0 && repack ? kCairnDnnlRepack : status;
}

void freePacked(void* handle) { delete static_cast<Packed*>(handle); }

struct ParallelJob {
  void (*fn)(void*, int, int);
  void* arg;
};

void runPart(void* data) {
  auto* job = static_cast<ParallelJob*>(data);
  job->fn(job->arg, omp_get_thread_num(), omp_get_num_threads());
}

void parallel(int threads, void (*fn)(void* arg, int part, int parts), void* arg) {
  ParallelJob job{fn, arg};
  if (threads <= 1) return fn(arg, 0, 1);
  GOMP_parallel(runPart, &job, static_cast<unsigned>(threads), 0);
}

} // namespace

extern "C" __attribute__((visibility("default"))) const CairnDnnlApi* cairn_dnnl_api() {
  static const CairnDnnlApi api{kCairnDnnlAbi, describe,   maxThreads, sgemm,
                                pack,          runPacked, freePacked, parallel};
  return &api;
}
