// The real device: the CUDA driver API (contexts, memory, modules from PTX,
// launches on one stream), cuBLAS for products and cuBLASLt for products
// with an epilogue, page-locked staging for boundary copies. Built as the
// shared library libcairn_cuda_device.so, linked against the toolkit's
// libcuda (its stub where no driver is installed), cuBLAS and cuBLASLt, and
// loaded by runtime/device/OpenDevice.cpp at run time.
//
// What is verified where (docs/gpu.md): CI compiles and links this file;
// it runs only on a machine with a GPU (scripts/gpu-check.sh).
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <tuple>

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda.h>

#include "runtime/device/Device.h"

#ifdef CAIRN_LOOP_CONTROL
// The loop control kernel (LoopControl.cu), one cubin per architecture.
extern const unsigned char cairn_loop_control_sm80[], cairn_loop_control_sm90[];
extern const size_t cairn_loop_control_sm80_size, cairn_loop_control_sm90_size;
#endif

namespace cairn::device {
class Device;
}
extern "C" __attribute__((visibility("default"))) cairn::device::Device*
cairn_open_cuda_device(int ordinal, char* error, size_t errorSize);

namespace cairn::device {
namespace {

std::string cuError(CUresult r) {
  const char* name = nullptr;
  const char* text = nullptr;
  cuGetErrorName(r, &name);
  cuGetErrorString(r, &text);
  return fmt::format("{} ({})", name ? name : "CUDA error", text ? text : "no description");
}

#define CAIRN_CU(call)                                                                             \
  do {                                                                                             \
    CUresult cairn_r = (call);                                                                     \
    if (cairn_r != CUDA_SUCCESS) return errorf("{}: {}", #call, cuError(cairn_r));                 \
  } while (0)

#define CAIRN_LT(call)                                                                             \
  do {                                                                                             \
    cublasStatus_t cairn_s = (call);                                                               \
    if (cairn_s != CUBLAS_STATUS_SUCCESS) return errorf("{}: {}", #call, cublasError(cairn_s));    \
  } while (0)

const char* cublasError(cublasStatus_t s) {
  switch (s) {
  case CUBLAS_STATUS_NOT_INITIALIZED:
    return "CUBLAS_STATUS_NOT_INITIALIZED";
  case CUBLAS_STATUS_ALLOC_FAILED:
    return "CUBLAS_STATUS_ALLOC_FAILED";
  case CUBLAS_STATUS_INVALID_VALUE:
    return "CUBLAS_STATUS_INVALID_VALUE";
  case CUBLAS_STATUS_ARCH_MISMATCH:
    return "CUBLAS_STATUS_ARCH_MISMATCH";
  case CUBLAS_STATUS_EXECUTION_FAILED:
    return "CUBLAS_STATUS_EXECUTION_FAILED";
  case CUBLAS_STATUS_NOT_SUPPORTED:
    return "CUBLAS_STATUS_NOT_SUPPORTED";
  default:
    return "cuBLAS error";
  }
}

/// The compute capability of "sm_90" (90).
int archNumber(const std::string& arch) {
  return std::atoi(arch.c_str() + (arch.rfind("sm_", 0) == 0 ? 3 : 0));
}

/// The PTX of `image` best suited to a GPU of compute capability `cc`
/// (e.g. 90): the highest architecture not above it (the driver compiles
/// PTX forward to newer GPUs), or null when every one is newer.
const std::string* pickPtx(const KernelImage& image, int cc) {
  const std::string* best = nullptr;
  int bestArch = -1;
  for (const auto& [arch, ptx] : image.ptx) {
    int a = archNumber(arch);
    if (a <= cc && a > bestArch) {
      bestArch = a;
      best = &ptx;
    }
  }
  return best;
}

/// The cubin of `image` that runs on compute capability `cc` as it is: the
/// same major architecture, minor not above the GPU's (cubins run forward
/// within a major version only); the newest such, or null.
const std::string* pickCubin(const KernelImage& image, int cc) {
  const std::string* best = nullptr;
  int bestArch = -1;
  for (const auto& [arch, cubin] : image.cubins) {
    int a = archNumber(arch);
    if (a / 10 == cc / 10 && a <= cc && a > bestArch) {
      bestArch = a;
      best = &cubin;
    }
  }
  return best;
}

/// A recorded loop: the instantiated graph (its WHILE node's body inside).
class CudaGraph final : public DeviceGraph {
public:
  CudaGraph(CUcontext context, CUstream stream, CUgraph graph, CUgraphExec exec)
      : context_(context), stream_(stream), graph_(graph), exec_(exec) {}
  ~CudaGraph() override {
    if (cuCtxSetCurrent(context_) != CUDA_SUCCESS) return;
    cuGraphExecDestroy(exec_);
    cuGraphDestroy(graph_);
  }
  Status launch() override {
    CAIRN_CU(cuCtxSetCurrent(context_));
    CAIRN_CU(cuGraphLaunch(exec_, stream_));
    return Status::ok();
  }

private:
  CUcontext context_;
  CUstream stream_;
  CUgraph graph_;
  CUgraphExec exec_;
};

class CudaDevice final : public Device {
public:
  ~CudaDevice() override {
    if (capturing_) abortCapture();
    if (dnn_.context) dnn_.close(dnn_.context);
    if (loopModule_) cuModuleUnload(loopModule_);
    if (upload_) cuStreamDestroy(upload_);
    if (workspace_) cuMemFree(workspace_);
    for (auto& [text, module] : modules_)
      cuModuleUnload(module);
    for (auto& [key, plan] : ltPlans_)
      plan.destroy();
    if (lt_) cublasLtDestroy(lt_);
    if (blas_) cublasDestroy(blas_);
    if (stream_) cuStreamDestroy(stream_);
    if (context_) cuDevicePrimaryCtxRelease(device_);
  }

  Status open(int ordinal) {
    CAIRN_CU(cuInit(0));
    int count = 0;
    CAIRN_CU(cuDeviceGetCount(&count));
    if (ordinal < 0 || ordinal >= count)
      return errorf("GPU {} requested, {} present", ordinal, count);
    CAIRN_CU(cuDeviceGet(&device_, ordinal));
    CAIRN_CU(cuDevicePrimaryCtxRetain(&context_, device_));
    CAIRN_CU(cuCtxSetCurrent(context_));
    int major = 0, minor = 0;
    CAIRN_CU(cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device_));
    CAIRN_CU(cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device_));
    cc_ = major * 10 + minor;
    char name[256] = {};
    CAIRN_CU(cuDeviceGetName(name, sizeof name, device_));
    name_ = fmt::format("{} (sm_{})", name, cc_);
    CAIRN_CU(cuStreamCreate(&stream_, CU_STREAM_NON_BLOCKING));
    if (cublasStatus_t s = cublasCreate(&blas_); s != CUBLAS_STATUS_SUCCESS)
      return errorf("cublasCreate: {}", cublasError(s));
    cublasSetStream(blas_, reinterpret_cast<cudaStream_t>(stream_));
    // A workspace of our own, set after the stream (setting the stream
    // resets it): cuBLAS then allocates nothing while a loop is recorded.
    CAIRN_CU(cuMemAlloc(&workspace_, kBlasWorkspace));
    if (cublasStatus_t s =
            cublasSetWorkspace(blas_, reinterpret_cast<void*>(workspace_), kBlasWorkspace);
        s != CUBLAS_STATUS_SUCCESS)
      return errorf("cublasSetWorkspace: {}", cublasError(s));
    if (cublasStatus_t s = cublasLtCreate(&lt_); s != CUBLAS_STATUS_SUCCESS)
      return errorf("cublasLtCreate: {}", cublasError(s));
    CAIRN_CU(cuStreamCreate(&upload_, CU_STREAM_NON_BLOCKING));
#ifdef CAIRN_LOOP_CONTROL
    // The cubin for this GPU's architecture family; other GPUs keep
    // host-synchronized loops (a cubin does not run on a newer major).
    const unsigned char* cubin = cc_ / 10 == 9   ? cairn_loop_control_sm90
                                 : cc_ / 10 == 8 ? cairn_loop_control_sm80
                                                 : nullptr;
    if (cubin && cuModuleLoadData(&loopModule_, cubin) == CUDA_SUCCESS) {
      CAIRN_CU(cuModuleGetFunction(&loopControl_, loopModule_, "cairn_loop_control"));
      // Without it, a loop holding an `if` stays host-synchronized.
      if (cuModuleGetFunction(&ifControl_, loopModule_, "cairn_if_control") != CUDA_SUCCESS)
        ifControl_ = nullptr;
    }
#endif
    return Status::ok();
  }

  std::string name() const override {
    return name_;
  }

  // The rnn op through cuDNN: libcairn_cudnn_rnn.so (cuda/CudnnRnn.h),
  // loaded on first use so that the device layer needs no cuDNN to start.
  bool supportsRnn() const override {
    return const_cast<CudaDevice*>(this)->openDnn().isOk();
  }
  Status rnn(const RnnArgs& a) override {
    CAIRN_RETURN_IF_ERROR(openDnn());
    char error[512] = {};
    if (dnn_.forward(dnn_.context, &a, error, sizeof error) != 0) return Status::error(error);
    return Status::ok();
  }
  Status rnnBackward(const RnnBackwardArgs& a) override {
    CAIRN_RETURN_IF_ERROR(openDnn());
    char error[512] = {};
    if (dnn_.backward(dnn_.context, &a, error, sizeof error) != 0) return Status::error(error);
    return Status::ok();
  }
  bool isEmulated() const override {
    return false;
  }

  StatusOr<void*> allocate(size_t bytes) override {
    CAIRN_RETURN_IF_ERROR(current());
    CUdeviceptr p = 0;
    CAIRN_CU(cuMemAlloc(&p, bytes ? bytes : 1));
    return reinterpret_cast<void*>(p);
  }

  void release(void* ptr) override {
    if (ptr && current().isOk()) cuMemFree(reinterpret_cast<CUdeviceptr>(ptr));
  }

  Status copyToDevice(void* dst, const void* src, size_t bytes) override {
    if (!bytes) return Status::ok();
    CAIRN_RETURN_IF_ERROR(current());
    // While recording, the upload stream: nothing else runs then
    // (beginWhileCapture waited for the stream), so the order holds.
    CUstream s = capturing_ ? upload_ : stream_;
    CAIRN_CU(cuMemcpyHtoDAsync(reinterpret_cast<CUdeviceptr>(dst), src, bytes, s));
    // Pageable host memory: wait, so the caller may reuse `src` at once.
    CAIRN_CU(cuStreamSynchronize(s));
    return Status::ok();
  }

  Status copyToHost(void* dst, const void* src, size_t bytes) override {
    if (!bytes) return Status::ok();
    if (capturing_) return Status::error("a copy to the host while recording a loop");
    CAIRN_RETURN_IF_ERROR(current());
    CAIRN_CU(cuMemcpyDtoHAsync(dst, reinterpret_cast<CUdeviceptr>(src), bytes, stream_));
    CAIRN_CU(cuStreamSynchronize(stream_));
    return Status::ok();
  }

  Status copyOnDevice(void* dst, const void* src, size_t bytes) override {
    if (!bytes) return Status::ok();
    CAIRN_RETURN_IF_ERROR(current());
    CAIRN_CU(cuMemcpyDtoDAsync(reinterpret_cast<CUdeviceptr>(dst),
                               reinterpret_cast<CUdeviceptr>(src), bytes, stream_));
    return Status::ok();
  }

  Status copyOnDevice2D(void* dst, size_t dstPitch, const void* src, size_t srcPitch,
                        size_t widthBytes, size_t rows) override {
    if (!widthBytes || !rows) return Status::ok();
    CAIRN_RETURN_IF_ERROR(current());
    CUDA_MEMCPY2D c = {};
    c.srcMemoryType = CU_MEMORYTYPE_DEVICE;
    c.srcDevice = reinterpret_cast<CUdeviceptr>(src);
    c.srcPitch = srcPitch;
    c.dstMemoryType = CU_MEMORYTYPE_DEVICE;
    c.dstDevice = reinterpret_cast<CUdeviceptr>(dst);
    c.dstPitch = dstPitch;
    c.WidthInBytes = widthBytes;
    c.Height = rows;
    CAIRN_CU(cuMemcpy2DAsync(&c, stream_));
    return Status::ok();
  }

  Status fillZero(void* dst, size_t bytes) override {
    if (!bytes) return Status::ok();
    CAIRN_RETURN_IF_ERROR(current());
    CAIRN_CU(cuMemsetD8Async(reinterpret_cast<CUdeviceptr>(dst), 0, bytes, stream_));
    return Status::ok();
  }

  StatusOr<KernelHandle> load(const KernelImage& image) override {
    CAIRN_RETURN_IF_ERROR(current());
    // A cubin made ahead of time loads without the driver's PTX compiler;
    // should the driver refuse it, the PTX still serves.
    if (const std::string* cubin = pickCubin(image, cc_)) {
      auto it = modules_.find(*cubin);
      if (it == modules_.end()) {
        CUmodule module = nullptr;
        if (cuModuleLoadData(&module, cubin->data()) == CUDA_SUCCESS)
          it = modules_.emplace(*cubin, module).first;
      }
      CUfunction fn = nullptr;
      if (it != modules_.end() &&
          cuModuleGetFunction(&fn, it->second, image.name.c_str()) == CUDA_SUCCESS)
        return KernelHandle{fn};
    }
    const std::string* ptx = pickPtx(image, cc_);
    if (!ptx)
      return errorf("kernel '{}' has no PTX for {} or an older architecture", image.name, name_);
    auto it = modules_.find(*ptx);
    if (it == modules_.end()) {
      char log[8192] = {};
      CUjit_option options[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
      void* values[] = {log, reinterpret_cast<void*>(sizeof log)};
      CUmodule module = nullptr;
      CUresult r = cuModuleLoadDataEx(&module, ptx->c_str(), 2, options, values);
      if (r != CUDA_SUCCESS)
        return errorf("loading the PTX of '{}': {}: {}", image.name, cuError(r), log);
      it = modules_.emplace(*ptx, module).first;
    }
    CUfunction fn = nullptr;
    CAIRN_CU(cuModuleGetFunction(&fn, it->second, image.name.c_str()));
    return KernelHandle{fn};
  }

  Status launch(KernelHandle kernel, LaunchConfig config, void** params, size_t) override {
    if (!kernel.impl) return Status::error("launch of an unloaded kernel");
    CAIRN_RETURN_IF_ERROR(current());
    CAIRN_CU(cuLaunchKernel(static_cast<CUfunction>(kernel.impl), config.grid, 1, 1, config.block,
                            1, 1, 0, stream_, params, nullptr));
    return Status::ok();
  }

  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: cuBLAS
  // is asked for the transposed product with the operands swapped, so
  // nothing is copied to another layout.
  Status gemm(const GemmArgs& g) override {
    CAIRN_RETURN_IF_ERROR(current());
    if (g.m > INT32_MAX || g.n > INT32_MAX || g.k > INT32_MAX || g.batch > INT32_MAX)
      return errorf("GEMM sizes {}x{}x{} exceed cuBLAS's 32-bit sizes", g.m, g.k, g.n);
    int m = int(g.m), n = int(g.n), k = int(g.k), batch = int(g.batch);
    cublasOperation_t opA = g.transA ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasOperation_t opB = g.transB ? CUBLAS_OP_T : CUBLAS_OP_N;
    int lda = g.transA ? m : k, ldb = g.transB ? k : n;
    long long sa = g.m * g.k, sb = g.k * g.n, sc = g.m * g.n;
    cublasStatus_t s;
    if (g.dtype == DType::F32) {
      const float one = 1, zero = 0;
      s = cublasSgemmStridedBatched(blas_, opB, opA, n, m, k, &one, static_cast<const float*>(g.b),
                                    ldb, sb, static_cast<const float*>(g.a), lda, sa, &zero,
                                    static_cast<float*>(g.c), n, sc, batch);
    } else if (g.dtype == DType::F64) {
      const double one = 1, zero = 0;
      s = cublasDgemmStridedBatched(blas_, opB, opA, n, m, k, &one, static_cast<const double*>(g.b),
                                    ldb, sb, static_cast<const double*>(g.a), lda, sa, &zero,
                                    static_cast<double*>(g.c), n, sc, batch);
    } else {
      return Status::error("GEMM supports f32 and f64 only");
    }
    if (s != CUBLAS_STATUS_SUCCESS) return errorf("cuBLAS GEMM: {}", cublasError(s));
    return Status::ok();
  }

  bool supportsGemmEpilogues() const override {
    return lt_ != nullptr;
  }

  // The epilogue form of gemm() above, by the same transposition: cuBLASLt
  // computes column-major D^T = op(B)^T op(A)^T (+ C^T), whose rows are our
  // columns, so the bias (one value per row of D^T,
  // CUBLASLT_MATMUL_DESC_BIAS_POINTER) is added to every row of our C; an
  // addend matrix is cuBLASLt's C (beta 1) in D's layout. The descriptors
  // and the heuristic's algorithm are made once per shape and kept; only the
  // bias pointer is set per call. The workspace is cuBLAS's: both run on the
  // one stream, in order. Nothing is allocated here after the first call of
  // a shape, so a recorded loop may hold the call (cublasLtMatmul captures).
  Status gemmEpilogue(const GemmEpilogueArgs& e) override {
    const GemmArgs& g = e.gemm;
    if (g.dtype != DType::F32 || g.batch != 1 || !e.bias == !e.addend)
      return Status::error("cuBLASLt epilogue: one f32 product with a bias or an addend only");
    if (g.m > INT32_MAX || g.n > INT32_MAX || g.k > INT32_MAX)
      return errorf("GEMM sizes {}x{}x{} exceed cuBLASLt's 32-bit sizes", g.m, g.k, g.n);
    CAIRN_RETURN_IF_ERROR(current());
    LtKey key{g.m, g.n, g.k, g.transA, g.transB, e.relu, e.bias != nullptr};
    auto it = ltPlans_.find(key);
    if (it == ltPlans_.end()) {
      if (auto no = ltUnsupported_.find(key); no != ltUnsupported_.end()) return no->second;
      LtPlan plan;
      Status made = makeLtPlan(key, plan);
      if (!made.isOk()) {
        plan.destroy();
        ltUnsupported_.emplace(key, made); // asked once per shape, not per call
        return made;
      }
      it = ltPlans_.emplace(key, plan).first;
    }
    LtPlan& p = it->second;
    if (e.bias) {
      const void* bias = e.bias;
      CAIRN_LT(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias,
                                              sizeof bias));
    }
    const float one = 1, zero = 0;
    const void* c = e.addend ? e.addend : g.c;
    CAIRN_LT(cublasLtMatmul(lt_, p.op, &one, g.b, p.a, g.a, p.b, e.addend ? &one : &zero, c, p.c,
                            g.c, p.c, &p.algo, reinterpret_cast<void*>(workspace_), kBlasWorkspace,
                            reinterpret_cast<cudaStream_t>(stream_)));
    return Status::ok();
  }

  // Staging: page-locked memory the copy engine reaches directly, so the
  // copies are asynchronous on the stream and need no wait each.
  StatusOr<void*> allocateHost(size_t bytes) override {
    CAIRN_RETURN_IF_ERROR(current());
    void* p = nullptr;
    CAIRN_CU(cuMemHostAlloc(&p, bytes ? bytes : 1, 0));
    return p;
  }
  void releaseHost(void* ptr) override {
    if (ptr && current().isOk()) cuMemFreeHost(ptr);
  }
  Status copyToDeviceStaged(void* dst, const void* pinnedSrc, size_t bytes) override {
    if (!bytes) return Status::ok();
    if (capturing_) return Status::error("a staged copy while recording a loop");
    CAIRN_RETURN_IF_ERROR(current());
    CAIRN_CU(cuMemcpyHtoDAsync(reinterpret_cast<CUdeviceptr>(dst), pinnedSrc, bytes, stream_));
    return Status::ok();
  }
  Status copyToHostStaged(void* pinnedDst, const void* src, size_t bytes) override {
    if (!bytes) return Status::ok();
    if (capturing_) return Status::error("a copy to the host while recording a loop");
    CAIRN_RETURN_IF_ERROR(current());
    CAIRN_CU(cuMemcpyDtoHAsync(pinnedDst, reinterpret_cast<CUdeviceptr>(src), bytes, stream_));
    return Status::ok();
  }

  Status synchronize() override {
    if (capturing_) return Status::error("synchronize while recording a loop");
    CAIRN_RETURN_IF_ERROR(current());
    CAIRN_CU(cuStreamSynchronize(stream_));
    return Status::ok();
  }

  // Recording a loop (Device.h): the stream is captured (relaxed mode, so
  // allocations may happen meanwhile) into a graph; after the condition's
  // work and the loop control, a conditional WHILE node is added behind
  // them and the outer capture ends; the body is then captured into the
  // node's body graph, the condition again at its end.
  bool supportsLoopGraphs() const override {
    return loopControl_ != nullptr;
  }

  Status beginWhileCapture() override {
    if (!loopControl_) return Status::error("no loop control kernel for " + name_);
    if (capturing_) return Status::error("a loop is already being recorded");
    CAIRN_RETURN_IF_ERROR(current());
    CAIRN_CU(cuStreamSynchronize(stream_));
    CAIRN_CU(cuStreamBeginCapture(stream_, CU_STREAM_CAPTURE_MODE_RELAXED));
    capturing_ = true;
    CUgraph graph = nullptr;
    CAIRN_RETURN_IF_ERROR(captureInfo(&graph, nullptr, nullptr, nullptr));
    CAIRN_CU(cuGraphConditionalHandleCreate(&handle_, graph, context_, 0, 0));
    return Status::ok();
  }

  Status loopControl(const void* condition, void* state, int64_t maxTrip) override {
    if (!capturing_) return Status::error("loop control outside a recording");
    CAIRN_RETURN_IF_ERROR(current());
    long long bound = maxTrip;
    void* params[] = {&handle_, &condition, &state, &bound};
    CAIRN_CU(cuLaunchKernel(loopControl_, 1, 1, 1, 1, 1, 1, 0, stream_, params, nullptr));
    return Status::ok();
  }

  /// A conditional node of `type` on `handle` added behind the work captured
  /// so far; the capture then goes on in the node's body graph. Sets the
  /// graph it was added to (which the capture ended), the node and the body.
  struct Conditional {
    CUgraph graph = nullptr, body = nullptr;
    CUgraphNode node = nullptr;
  };
  StatusOr<Conditional> addConditional(CUgraphConditionalHandle handle,
                                       CUgraphConditionalNodeType type) {
    CAIRN_RETURN_IF_ERROR(current());
    Conditional c;
    const CUgraphNode* deps = nullptr;
    const CUgraphEdgeData* edges = nullptr;
    size_t numDeps = 0;
    CAIRN_RETURN_IF_ERROR(captureInfo(&c.graph, &deps, &edges, &numDeps));
    CUgraphNodeParams p = {};
    p.type = CU_GRAPH_NODE_TYPE_CONDITIONAL;
    p.conditional.handle = handle;
    p.conditional.type = type;
    p.conditional.size = 1;
    p.conditional.ctx = context_;
    CAIRN_CU(cuGraphAddNode(&c.node, c.graph, deps, edges, numDeps, &p));
    c.body = p.conditional.phGraph_out[0];
    CAIRN_CU(cuStreamUpdateCaptureDependencies(stream_, &c.node, nullptr, 1,
                                               CU_STREAM_SET_CAPTURE_DEPENDENCIES));
    CUgraph ended = nullptr; // c.graph
    CAIRN_CU(cuStreamEndCapture(stream_, &ended));
    CAIRN_CU(cuStreamBeginCaptureToGraph(stream_, c.body, nullptr, nullptr, 0,
                                         CU_STREAM_CAPTURE_MODE_RELAXED));
    return c;
  }

  Status beginWhileBody() override {
    if (!capturing_ || body_) return Status::error("beginWhileBody outside a loop's prologue");
    CAIRN_ASSIGN_OR_RETURN(Conditional c, addConditional(handle_, CU_GRAPH_COND_TYPE_WHILE));
    outer_ = c.graph; // the capture's own graph until now: the recording owns it
    body_ = c.body;
    return Status::ok();
  }

  Status beginIf(const void* condition, bool negate) override {
    if (!capturing_ || !body_) return Status::error("an `if` outside a recorded loop's body");
    if (!ifControl_) return Status::error("no if control kernel for " + name_);
    CAIRN_RETURN_IF_ERROR(current());
    CUgraph graph = nullptr;
    CAIRN_RETURN_IF_ERROR(captureInfo(&graph, nullptr, nullptr, nullptr));
    CUgraphConditionalHandle handle = 0;
    CAIRN_CU(cuGraphConditionalHandleCreate(&handle, graph, context_, 0, 0));
    int neg = negate ? 1 : 0;
    void* params[] = {&handle, &condition, &neg};
    CAIRN_CU(cuLaunchKernel(ifControl_, 1, 1, 1, 1, 1, 1, 0, stream_, params, nullptr));
    // The IF node behind the control kernel; its branch is captured into
    // the node's body graph (owned, as the graph it is in, by the loop's).
    CAIRN_ASSIGN_OR_RETURN(Conditional c, addConditional(handle, CU_GRAPH_COND_TYPE_IF));
    ifs_.push_back({c.graph, c.node});
    return Status::ok();
  }

  Status endIf() override {
    if (ifs_.empty()) return Status::error("endIf without beginIf");
    CAIRN_RETURN_IF_ERROR(current());
    CUgraph branch = nullptr;
    CAIRN_CU(cuStreamEndCapture(stream_, &branch));
    auto [parent, node] = ifs_.back();
    ifs_.pop_back();
    // Capture goes on in the enclosing graph, after the IF node.
    CAIRN_CU(cuStreamBeginCaptureToGraph(stream_, parent, &node, nullptr, 1,
                                         CU_STREAM_CAPTURE_MODE_RELAXED));
    return Status::ok();
  }

  StatusOr<std::unique_ptr<DeviceGraph>> endWhileCapture() override {
    if (!capturing_ || !body_) return Status::error("endWhileCapture outside a loop's body");
    if (!ifs_.empty()) return Status::error("endWhileCapture inside an `if`");
    CAIRN_RETURN_IF_ERROR(current());
    CUgraph body = nullptr;
    CUresult ended = cuStreamEndCapture(stream_, &body);
    capturing_ = false;
    body_ = nullptr;
    CUgraph outer = outer_;
    outer_ = nullptr;
    if (ended != CUDA_SUCCESS) {
      cuGraphDestroy(outer);
      return errorf("recording a loop's body: {}", cuError(ended));
    }
    CUgraphExec exec = nullptr;
    if (CUresult r = cuGraphInstantiate(&exec, outer, 0); r != CUDA_SUCCESS) {
      cuGraphDestroy(outer);
      return errorf("instantiating a recorded loop: {}", cuError(r));
    }
    return std::unique_ptr<DeviceGraph>(
        std::make_unique<CudaGraph>(context_, stream_, outer, exec));
  }

  void abortCapture() override {
    if (!capturing_) return;
    if (current().isOk()) {
      CUgraph g = nullptr;
      // Before the WHILE node the graph is the capture's own; after it,
      // every graph being captured (the body, a branch) belongs to outer_.
      if (cuStreamEndCapture(stream_, &g) == CUDA_SUCCESS && g && !outer_) cuGraphDestroy(g);
      if (outer_) cuGraphDestroy(outer_); // owns the body graph
    }
    capturing_ = false;
    body_ = outer_ = nullptr;
    ifs_.clear();
  }

private:
  Status captureInfo(CUgraph* graph, const CUgraphNode** deps, const CUgraphEdgeData** edges,
                     size_t* numDeps) {
    CUstreamCaptureStatus status;
    cuuint64_t id = 0;
    const CUgraphNode* d = nullptr;
    const CUgraphEdgeData* e = nullptr;
    size_t n = 0;
    CAIRN_CU(cuStreamGetCaptureInfo(stream_, &status, &id, graph, &d, &e, &n));
    if (status != CU_STREAM_CAPTURE_STATUS_ACTIVE)
      return Status::error("the stream's capture was invalidated while recording a loop");
    if (deps) *deps = d;
    if (edges) *edges = e;
    if (numDeps) *numDeps = n;
    return Status::ok();
  }

  /// The driver's current context is per thread: make ours current here.
  Status current() {
    CAIRN_CU(cuCtxSetCurrent(context_));
    return Status::ok();
  }

  /// A product shape's cuBLASLt descriptors: (m, n, k, transA, transB,
  /// relu, a bias rather than an addend).
  using LtKey = std::tuple<int64_t, int64_t, int64_t, bool, bool, bool, bool>;
  struct LtPlan {
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr; ///< cuBLASLt's A, B, C/D
    cublasLtMatmulAlgo_t algo = {};
    void destroy() {
      if (a) cublasLtMatrixLayoutDestroy(a);
      if (b) cublasLtMatrixLayoutDestroy(b);
      if (c) cublasLtMatrixLayoutDestroy(c);
      if (op) cublasLtMatmulDescDestroy(op);
      *this = LtPlan();
    }
  };

  /// The descriptors of row-major C (m x n) = op(A) op(B) + bias as
  /// column-major C^T (n x m) = op(B)^T op(A)^T: cuBLASLt's A is our B
  /// (stored n x k, or k x n when transposed, column-major), its B our A.
  Status makeLtPlan(const LtKey& key, LtPlan& p) {
    auto [m, n, k, transA, transB, relu, bias] = key;
    CAIRN_LT(cublasLtMatmulDescCreate(&p.op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    cublasOperation_t ta = transB ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasOperation_t tb = transA ? CUBLAS_OP_T : CUBLAS_OP_N;
    CAIRN_LT(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    CAIRN_LT(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    cublasLtEpilogue_t epilogue =
        bias ? (relu ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_BIAS)
             : (relu ? CUBLASLT_EPILOGUE_RELU : CUBLASLT_EPILOGUE_DEFAULT);
    CAIRN_LT(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue,
                                            sizeof epilogue));
    if (bias) {
      cudaDataType_t bt = CUDA_R_32F;
      CAIRN_LT(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt,
                                              sizeof bt));
    }
    // Stored shapes (rows, cols, leading dimension), column-major.
    uint64_t aRows = transB ? uint64_t(k) : uint64_t(n), aCols = transB ? uint64_t(n) : uint64_t(k);
    uint64_t bRows = transA ? uint64_t(m) : uint64_t(k), bCols = transA ? uint64_t(k) : uint64_t(m);
    CAIRN_LT(cublasLtMatrixLayoutCreate(&p.a, CUDA_R_32F, aRows, aCols, int64_t(aRows)));
    CAIRN_LT(cublasLtMatrixLayoutCreate(&p.b, CUDA_R_32F, bRows, bCols, int64_t(bRows)));
    CAIRN_LT(cublasLtMatrixLayoutCreate(&p.c, CUDA_R_32F, uint64_t(n), uint64_t(m), n));
    cublasLtMatmulPreference_t pref = nullptr;
    CAIRN_LT(cublasLtMatmulPreferenceCreate(&pref));
    size_t workspace = kBlasWorkspace;
    cublasStatus_t s = cublasLtMatmulPreferenceSetAttribute(
        pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace, sizeof workspace);
    cublasLtMatmulHeuristicResult_t result = {};
    int found = 0;
    if (s == CUBLAS_STATUS_SUCCESS)
      s = cublasLtMatmulAlgoGetHeuristic(lt_, p.op, p.a, p.b, p.c, p.c, pref, 1, &result, &found);
    cublasLtMatmulPreferenceDestroy(pref);
    if (s != CUBLAS_STATUS_SUCCESS)
      return errorf("cublasLtMatmulAlgoGetHeuristic: {}", cublasError(s));
    if (found == 0)
      return errorf("cuBLASLt has no algorithm for a {}x{}x{} product with an epilogue", m, k, n);
    p.algo = result.algo;
    return Status::ok();
  }

  /// libcairn_cudnn_rnn.so: $CAIRN_CUDNN_RNN_LIBRARY, else the one next to
  /// this library (a moved build: scripts/gpu-check.sh), else the build's.
  /// Opened once; its failure is kept and reported by every rnn call.
  Status openDnn() {
    if (dnnTried_) return dnnStatus_;
    dnnTried_ = true;
    std::vector<std::string> candidates;
    if (const char* env = std::getenv("CAIRN_CUDNN_RNN_LIBRARY"); env && *env)
      candidates.push_back(env);
    Dl_info self{};
    if (dladdr(reinterpret_cast<void*>(&cairn_open_cuda_device), &self) && self.dli_fname) {
      std::string here = self.dli_fname;
      candidates.push_back(here.substr(0, here.rfind('/') + 1) + "libcairn_cudnn_rnn.so");
    }
#ifdef CAIRN_CUDNN_RNN_LIBRARY
    candidates.push_back(CAIRN_CUDNN_RNN_LIBRARY);
#endif
    std::string tried;
    void* lib = nullptr;
    for (const std::string& path : candidates) {
      if ((lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL))) break;
      const char* e = dlerror();
      tried += fmt::format("; {}: {}", path, e ? e : "not loaded");
    }
    if (!lib) {
      dnnStatus_ =
          errorf("cuDNN RNN library not loaded{}", tried.empty() ? " (none built)" : tried);
      return dnnStatus_;
    }
    dnn_.open = reinterpret_cast<DnnOpen>(dlsym(lib, "cairn_cudnn_rnn_open"));
    dnn_.close = reinterpret_cast<DnnClose>(dlsym(lib, "cairn_cudnn_rnn_close"));
    dnn_.forward = reinterpret_cast<DnnForward>(dlsym(lib, "cairn_cudnn_rnn_forward"));
    dnn_.backward = reinterpret_cast<DnnBackward>(dlsym(lib, "cairn_cudnn_rnn_backward"));
    if (!dnn_.open || !dnn_.close || !dnn_.forward || !dnn_.backward) {
      dnnStatus_ = Status::error("the cuDNN RNN library lacks its cairn_cudnn_rnn_* entries");
      return dnnStatus_;
    }
    char error[512] = {};
    dnn_.context = dnn_.open(stream_, error, sizeof error);
    if (!dnn_.context) dnnStatus_ = errorf("cuDNN RNN: {}", error);
    return dnnStatus_;
  }

  using DnnOpen = void* (*)(CUstream, char*, size_t);
  using DnnClose = void (*)(void*);
  using DnnForward = int (*)(void*, const RnnArgs*, char*, size_t);
  using DnnBackward = int (*)(void*, const RnnBackwardArgs*, char*, size_t);
  struct {
    DnnOpen open = nullptr;
    DnnClose close = nullptr;
    DnnForward forward = nullptr;
    DnnBackward backward = nullptr;
    void* context = nullptr;
  } dnn_;
  bool dnnTried_ = false;
  Status dnnStatus_ = Status::ok();

  CUdevice device_ = 0;
  CUcontext context_ = nullptr;
  CUstream stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  cublasLtHandle_t lt_ = nullptr;
  std::map<LtKey, LtPlan> ltPlans_;       ///< by product shape, made on first use
  std::map<LtKey, Status> ltUnsupported_; ///< shapes cuBLASLt had no algorithm for
  int cc_ = 0;
  std::string name_;
  std::map<std::string, CUmodule> modules_; ///< by PTX text or cubin bytes: one module per program
  static constexpr size_t kBlasWorkspace = 32 << 20;
  CUdeviceptr workspace_ = 0;
  CUstream upload_ = nullptr; ///< uploads while the main stream is being captured
  // Recording loops.
  CUmodule loopModule_ = nullptr;
  CUfunction loopControl_ = nullptr;
  CUfunction ifControl_ = nullptr; ///< cairn_if_control (LoopControl.cu)
  /// The IF nodes whose branches are being captured, innermost last: the
  /// graph each was added to and the node.
  std::vector<std::pair<CUgraph, CUgraphNode>> ifs_;
  bool capturing_ = false;
  CUgraphConditionalHandle handle_ = 0;
  CUgraph outer_ = nullptr; ///< the loop's graph, once the WHILE node is in it
  CUgraph body_ = nullptr;  ///< the WHILE node's body, being captured
};

} // namespace
} // namespace cairn::device

extern "C" __attribute__((visibility("default"))) cairn::device::Device*
cairn_open_cuda_device(int ordinal, char* error, size_t errorSize) {
  auto dev = std::make_unique<cairn::device::CudaDevice>();
  cairn::Status s = dev->open(ordinal);
  if (!s.isOk()) {
    std::snprintf(error, errorSize, "%s", s.message().c_str());
    return nullptr;
  }
  return dev.release();
}
