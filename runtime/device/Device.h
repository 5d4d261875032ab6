// The device layer: what the CUDA backend needs from a GPU, behind one
// interface with two implementations (docs/gpu.md):
//
// - the real device over the CUDA driver API and cuBLAS (runtime/device/cuda,
//   library cairn_cuda_device, built where the CUDA toolkit is installed);
// - the emulated device (EmulatedDevice.cpp): host memory, and the very same
//   generated kernels compiled for the host with their block and thread
//   indices as loop variables, products through the CPU's BLAS. Every
//   GPU-backend test runs on it; no GPU is needed.
//
// Kernels are launched as cuLaunchKernel launches them: `params[j]` points at
// the value of argument j (codegen/cuda/LowerToDevice.h gives the ABI).
// Thread-safety: a Device is used by one thread at a time (one stream per
// execution context).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ir/Status.h"
#include "ir/Types.h"

namespace cairn::device {

/// An emulated kernel's host entry: runs `grid` blocks of `block` threads.
using EmulatedKernelFn = void (*)(void** params, uint32_t grid, uint32_t block);

/// A kernel's code as the compiler hands it over: PTX for each architecture
/// (the real device loads the best one its GPU runs), and the host entry the
/// emulated device runs. Either may be absent.
struct KernelImage {
  std::string name;                                     ///< the entry's name in the PTX module
  std::vector<std::pair<std::string, std::string>> ptx; ///< ("sm_80", PTX text), ...
  EmulatedKernelFn emulated = nullptr;
  /// ("sm_80", cubin bytes), ...: machine code ptxas made ahead of time,
  /// loaded as it is on a GPU of the same major architecture, not older.
  std::vector<std::pair<std::string, std::string>> cubins = {};
};

/// The entry name of the model's kernel `k` (Instruction::kernel k) in the
/// PTX modules the compiler makes, ahead of time or not: "cairn_kernel_<k>".
inline std::string kernelEntryName(size_t k) {
  return "cairn_kernel_" + std::to_string(k);
}

/// A loaded kernel (a CUfunction on the real device).
struct KernelHandle {
  void* impl = nullptr;
};

struct LaunchConfig {
  uint32_t grid = 1;
  uint32_t block = 256;
};

/// The launch of a one-thread-per-element kernel over n elements: blocks of
/// 256 threads, at most `maxBlocks` of them (the grid-stride loop covers the
/// rest), at least one.
LaunchConfig elementwiseLaunch(int64_t n, uint32_t maxBlocks = 65535);

/// One row-major product C[i] = op(A[i]) . op(B[i]) for i < batch, with op
/// a transpose where asked: A is m x k after op, B k x n, C m x n; the
/// matrices of a batch are stored one after another. f32 or f64.
struct GemmArgs {
  DType dtype = DType::F32;
  bool transA = false, transB = false;
  int64_t m = 0, n = 0, k = 0, batch = 1;
  const void* a = nullptr;
  const void* b = nullptr;
  void* c = nullptr;
};

/// A GEMM with what follows it in the same call (cuBLASLt's epilogues):
/// C = act(op(A) op(B) + X), act relu or nothing, X either a bias vector of
/// n elements added to every row (CUBLASLT_EPILOGUE_BIAS, _RELU_BIAS) or an
/// m x n matrix added elementwise (cuBLASLt's C with beta 1, then
/// CUBLASLT_EPILOGUE_DEFAULT or _RELU). cuBLASLt has GELU too, but Cairn has
/// no gelu op; tanh and sigmoid have no epilogue and stay kernels
/// (runtime/device/GemmEpilogue.h says what is fused).
struct GemmEpilogueArgs {
  GemmArgs gemm;
  bool relu = false;
  const void* bias = nullptr;   ///< n elements, added to every row
  const void* addend = nullptr; ///< m x n elements (exactly one of bias and addend)
};

/// One forward-direction `rnn` op (ir/Ops.def) on device memory: one LSTM
/// or GRU layer direction in PyTorch's and cuDNN's layout, f32. x [T, B, I],
/// h0/c0 [B, H] (c0 and cn for LSTM only), w_ih [G*H, I], w_hh [G*H, H],
/// b_ih/b_hh [G*H]; writes ys [T, B, H] (zero at t >= lengths[b]), hn and
/// cn [B, H]. The lengths are on the host (cuDNN's data descriptors take
/// them there), each in [1, T]: the executor (RnnOnDevice.h) runs a reverse
/// op by reordering rows around this call and rows of length 0 on the host.
struct RnnArgs {
  bool lstm = true;
  int64_t T = 0, B = 0, I = 0, H = 0;
  std::vector<int32_t> lengths;
  const void* x = nullptr;
  const void* h0 = nullptr;
  const void* c0 = nullptr;
  const void* wIh = nullptr;
  const void* wHh = nullptr;
  const void* bIh = nullptr;
  const void* bHh = nullptr;
  void* ys = nullptr;
  void* hn = nullptr;
  void* cn = nullptr;
};

/// The gradient of one RnnArgs forward (the `rnn_grad` op): given the
/// adjoints of ys, hn and cn, writes (not adds) those of x, h0, c0 and the
/// weights and biases. `forward`'s outputs are scratch the call may fill
/// (cuDNN recomputes the forward in training mode for its reserve space).
/// Adjoints of ys at t >= lengths[b] are ignored.
struct RnnBackwardArgs {
  RnnArgs forward;
  const void* dys = nullptr;
  const void* dhn = nullptr;
  const void* dcn = nullptr;
  void* dx = nullptr;
  void* dh0 = nullptr;
  void* dc0 = nullptr;
  void* dwIh = nullptr;
  void* dwHh = nullptr;
  void* dbIh = nullptr;
  void* dbHh = nullptr;
};

/// A `while` loop recorded once and replayed on the device with no host
/// decision per iteration (docs/gpu.md, "Loops on the device"): a CUDA graph
/// whose conditional WHILE node runs the body while the condition, set on
/// the device, holds; on the emulated device the recorded commands replayed
/// as a host loop.
class DeviceGraph {
public:
  virtual ~DeviceGraph() = default;
  /// Issues one run of the whole loop (asynchronously on the real device).
  virtual Status launch() = 0;
};

class Device {
public:
  virtual ~Device() = default;
  /// "emulated (host)", "NVIDIA H100 80GB HBM3 (sm_90)".
  virtual std::string name() const = 0;
  /// Whether kernels run as host entries (KernelImage::emulated), not PTX.
  virtual bool isEmulated() const = 0;
  virtual StatusOr<void*> allocate(size_t bytes) = 0;
  virtual void release(void* ptr) = 0;
  virtual Status copyToDevice(void* dst, const void* src, size_t bytes) = 0;
  virtual Status copyToHost(void* dst, const void* src, size_t bytes) = 0;
  virtual Status copyOnDevice(void* dst, const void* src, size_t bytes) = 0;
  /// `rows` rows of `widthBytes` each, from `src` (rows `srcPitch` bytes
  /// apart) to `dst` (`dstPitch` apart), both on the device: a concat's
  /// slab in one call (cuMemcpy2D).
  virtual Status copyOnDevice2D(void* dst, size_t dstPitch, const void* src, size_t srcPitch,
                                size_t widthBytes, size_t rows) = 0;
  virtual Status fillZero(void* dst, size_t bytes) = 0;
  virtual StatusOr<KernelHandle> load(const KernelImage& image) = 0;
  /// `params[j]` points at argument j's value, `numParams` of them, each 8
  /// bytes (pointers and i64: LowerToDevice.h's ABI).
  virtual Status launch(KernelHandle kernel, LaunchConfig config, void** params,
                        size_t numParams) = 0;
  virtual Status gemm(const GemmArgs& g) = 0;
  /// One GEMM with a bias (and relu) epilogue: batch 1, f32 (what
  /// GemmEpilogue.h fuses). Where unsupported, an error: the executor asks
  /// supportsGemmEpilogues() first and runs the GEMM and the kernel apart.
  virtual Status gemmEpilogue(const GemmEpilogueArgs& g) {
    (void)g;
    return Status::error("GEMM epilogues are not supported");
  }
  virtual bool supportsGemmEpilogues() const { return false; }

  /// Whether rnn() runs (the real device: cuDNN's RNN API, when
  /// libcairn_cudnn_rnn.so and cuDNN load). Where not, the compiler expands
  /// `rnn` ops into loops (compileForDevice asks).
  virtual bool supportsRnn() const { return false; }
  virtual Status rnn(const RnnArgs& a) {
    (void)a;
    return Status::error("the rnn op is not supported on this device");
  }
  virtual Status rnnBackward(const RnnBackwardArgs& a) {
    (void)a;
    return Status::error("the rnn op's gradient is not supported on this device");
  }

  // Page-locked host memory for the copies at a function's boundary
  // (cuMemHostAlloc on the real device: the DMA engine reads and writes it
  // directly, so a copy needs no bounce through a driver buffer and may run
  // asynchronously). The executor keeps one such staging buffer per
  // DeviceContext, grown as needed. The defaults: plain host memory and the
  // synchronous copies.
  virtual StatusOr<void*> allocateHost(size_t bytes) {
    void* p = std::malloc(bytes ? bytes : 1);
    if (!p) return Status::error("out of host memory for a staging buffer");
    return p;
  }
  virtual void releaseHost(void* ptr) { std::free(ptr); }
  /// Copies from/to memory allocateHost made, issued on the run's stream
  /// without waiting: the host buffer must stay untouched until the next
  /// synchronize().
  virtual Status copyToDeviceStaged(void* dst, const void* pinnedSrc, size_t bytes) {
    return copyToDevice(dst, pinnedSrc, bytes);
  }
  virtual Status copyToHostStaged(void* pinnedDst, const void* src, size_t bytes) {
    return copyToHost(pinnedDst, src, bytes);
  }
  /// Waits for everything issued so far; reports an asynchronous failure.
  virtual Status synchronize() = 0;

  // Recording a `while` loop as a DeviceGraph:
  //
  //   beginWhileCapture();  the cond block's work;  loopControl(cond, state, max);
  //   beginWhileBody();     the body's work, then the cond's again;  loopControl(...);
  //   endWhileCapture()  ->  the graph
  //
  // Work issued while recording (launches, GEMMs, copies and fills on the
  // device) is recorded, not run; allocation happens at once, and so does
  // copyToDevice (for values that outlive the graph: constants), while
  // copyToHost and synchronize are errors: a loop that needs the host cannot
  // be a graph. abortCapture() drops a recording. One recording at a time.

  /// Whether this device records loops (the executor falls back to the
  /// host-synchronized loop where it does not).
  virtual bool supportsLoopGraphs() const { return false; }
  virtual Status beginWhileCapture() { return Status::error("loop graphs are not supported"); }
  /// Records the loop control after an evaluation of the condition: reads the
  /// i1 byte at `condition` and goes on while it is true, counting trips in
  /// `state[0]` (i64, zeroed before each launch); a trip past `maxTrip` (< 0:
  /// none) stops the loop instead and sets `state[1]` to 1.
  virtual Status loopControl(const void* condition, void* state, int64_t maxTrip) {
    (void)condition, (void)state, (void)maxTrip;
    return Status::error("loop graphs are not supported");
  }
  virtual Status beginWhileBody() { return Status::error("loop graphs are not supported"); }
  virtual StatusOr<std::unique_ptr<DeviceGraph>> endWhileCapture() {
    return Status::error("loop graphs are not supported");
  }
  virtual void abortCapture() {}

  // Recording an `if` inside a recorded loop's body: each branch becomes a
  // conditional IF node (CUDA 12.3's one-body form) that runs its work when
  // the i1 byte at `condition` is nonzero, or with `negate` when it is zero:
  //
  //   beginIf(c, false);  the then branch's work;  endIf();
  //   beginIf(c, true);   the else branch's work;  endIf();
  //
  // The byte is read when the node runs, so the then branch must not write
  // it (the executor gives the nodes a copy of its own). Nodes nest.
  virtual Status beginIf(const void* condition, bool negate) {
    (void)condition, (void)negate;
    return Status::error("conditional nodes are not supported");
  }
  virtual Status endIf() { return Status::error("conditional nodes are not supported"); }
};

/// A device in host memory that runs KernelImage::emulated.
std::unique_ptr<Device> makeEmulatedDevice();

} // namespace cairn::device

namespace cairn::device {

/// Launches a generated elementwise kernel (codegen/cuda/LowerToDevice.h's
/// ABI: buffers, extents, n) over n elements; `config` defaults to
/// elementwiseLaunch(n). Nothing is launched for n == 0.
Status launchElementwise(Device& device, KernelHandle kernel, const std::vector<void*>& buffers,
                         const std::vector<int64_t>& extents, int64_t n,
                         const LaunchConfig* config = nullptr);

} // namespace cairn::device
