// The emulated device: host memory, kernels' host entries, the CPU BLAS.
// A recorded loop (Device.h) is a list of commands per phase, replayed by
// EmulatedGraph::launch as the CUDA graph's WHILE node runs its body.
#include "runtime/device/Device.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>

#include "runtime/device/RnnOnDevice.h"
#include "runtime/exec/Gemm.h"

namespace cairn::device {

namespace {

using Command = std::function<void()>;

/// A recorded loop: the prologue (the first condition), then the body (the
/// body and the next condition) while the loop control says so.
class EmulatedGraph final : public DeviceGraph {
public:
  std::vector<Command> prologue, body;
  unsigned condition = 0; ///< the conditional handle's value

  Status launch() override {
    condition = 0;
    for (Command& c : prologue)
      c();
    while (condition)
      for (Command& c : body)
        c();
    return Status::ok();
  }
};

/// The loop control's meaning (the CUDA kernel in cuda/LoopControl.cu is
/// the same): go on while the condition holds, unless a trip would pass
/// maxTrip.
unsigned loopStep(const void* condition, int64_t* state, int64_t maxTrip) {
  bool more = *static_cast<const uint8_t*>(condition) != 0;
  if (more && maxTrip >= 0 && state[0] >= maxTrip) {
    state[1] = 1;
    more = false;
  }
  if (more) ++state[0];
  return more ? 1u : 0u;
}

/// cuBLASLt's epilogues on the host: C[r, j] = act(C[r, j] + X), X the
/// bias's element j or the addend's [r, j], the add rounded once as the
/// fused kernel rounds it, and relu as the reference's (NaN stays NaN, -0
/// becomes +0).
template <typename T> void applyEpilogue(const GemmEpilogueArgs& e, int64_t m, int64_t n, T* c) {
  const T* bias = static_cast<const T*>(e.bias);
  const T* addend = static_cast<const T*>(e.addend);
  for (int64_t r = 0; r < m; ++r)
    for (int64_t j = 0; j < n; ++j) {
      T v = c[r * n + j] + (bias ? bias[j] : addend[r * n + j]);
      if (e.relu && !std::isnan(v)) v = v > T(0) ? v : T(0);
      c[r * n + j] = v;
    }
}

Status runGemmEpilogue(const GemmEpilogueArgs& e) {
  const GemmArgs& g = e.gemm;
  CAIRN_RETURN_IF_ERROR(
      exec::runGemmRaw(g.dtype, g.transA, g.transB, {g.batch, g.m, g.n, g.k}, g.a, g.b, g.c));
  if (g.dtype == DType::F64)
    applyEpilogue(e, g.batch * g.m, g.n, static_cast<double*>(g.c));
  else
    applyEpilogue(e, g.batch * g.m, g.n, static_cast<float*>(g.c));
  return Status::ok();
}

class EmulatedDevice final : public Device {
public:
  std::string name() const override { return "emulated (host)"; }
  bool isEmulated() const override { return true; }

  StatusOr<void*> allocate(size_t bytes) override {
    // 256-byte aligned as cuMemAlloc's, so alignment assumptions hold on both.
    void* p = std::aligned_alloc(256, std::max<size_t>(256, (bytes + 255) / 256 * 256));
    if (!p) return errorf("emulated device: out of memory allocating {} bytes", bytes);
    return p;
  }
  void release(void* ptr) override { std::free(ptr); }

  Status copyToDevice(void* dst, const void* src, size_t bytes) override {
    if (bytes) std::memcpy(dst, src, bytes);
    return Status::ok();
  }
  Status copyToHost(void* dst, const void* src, size_t bytes) override {
    if (recording_)
      return Status::error("emulated device: a copy to the host while recording a loop");
    if (bytes) std::memcpy(dst, src, bytes);
    return Status::ok();
  }

  Status copyOnDevice(void* dst, const void* src, size_t bytes) override {
    return issue([=] {
      if (bytes) std::memcpy(dst, src, bytes);
    });
  }
  Status copyOnDevice2D(void* dst, size_t dstPitch, const void* src, size_t srcPitch,
                        size_t widthBytes, size_t rows) override {
    return issue([=] {
      for (size_t r = 0; r < rows && widthBytes; ++r)
        std::memcpy(static_cast<std::byte*>(dst) + r * dstPitch,
                    static_cast<const std::byte*>(src) + r * srcPitch, widthBytes);
    });
  }

  Status fillZero(void* dst, size_t bytes) override {
    return issue([=] {
      if (bytes) std::memset(dst, 0, bytes);
    });
  }

  StatusOr<KernelHandle> load(const KernelImage& image) override {
    if (!image.emulated)
      return errorf("emulated device: kernel '{}' has no host entry (compile it with the "
                    "emulated kernel compiler)",
                    image.name);
    return KernelHandle{reinterpret_cast<void*>(image.emulated)};
  }

  Status launch(KernelHandle kernel, LaunchConfig config, void** params,
                size_t numParams) override {
    if (!kernel.impl) return Status::error("emulated device: launch of an unloaded kernel");
    if (config.grid == 0 || config.block == 0 || config.block > 1024)
      return errorf("emulated device: invalid launch of {} blocks of {} threads", config.grid,
                    config.block);
    auto fn = reinterpret_cast<EmulatedKernelFn>(kernel.impl);
    if (!recording_) {
      fn(params, config.grid, config.block);
      return Status::ok();
    }
    // As cuLaunchKernel does, keep the arguments' values, not the pointers.
    std::vector<uint64_t> values(numParams);
    for (size_t j = 0; j < numParams; ++j)
      std::memcpy(&values[j], params[j], sizeof(uint64_t));
    recording_->push_back([fn, config, values]() mutable {
      std::vector<void*> p;
      for (uint64_t& v : values)
        p.push_back(&v);
      fn(p.data(), config.grid, config.block);
    });
    return Status::ok();
  }

  // The rnn op through the reference kernel: the executor's reorder and
  // checks around it are what a GPU runs (RnnOnDevice.h).
  bool supportsRnn() const override { return true; }
  Status rnn(const RnnArgs& a) override {
    if (recording_) return Status::error("emulated device: an rnn call while recording a loop");
    return rnnOnHost(a);
  }
  Status rnnBackward(const RnnBackwardArgs& a) override {
    if (recording_) return Status::error("emulated device: an rnn call while recording a loop");
    return rnnBackwardOnHost(a);
  }

  Status gemm(const GemmArgs& g) override {
    if (recording_) {
      recording_->push_back([g] {
        (void)exec::runGemmRaw(g.dtype, g.transA, g.transB, {g.batch, g.m, g.n, g.k}, g.a, g.b,
                               g.c); // its arguments were checked when it was recorded
      });
      return exec::checkGemmRaw(g.dtype, {g.batch, g.m, g.n, g.k});
    }
    return exec::runGemmRaw(g.dtype, g.transA, g.transB, {g.batch, g.m, g.n, g.k}, g.a, g.b, g.c);
  }

  bool supportsGemmEpilogues() const override { return true; }
  Status gemmEpilogue(const GemmEpilogueArgs& e) override {
    const GemmArgs& g = e.gemm;
    if (g.batch != 1 || g.dtype != DType::F32 || !e.bias == !e.addend)
      return Status::error(
          "emulated device: a GEMM epilogue takes one f32 product and a bias or an addend");
    if (recording_) {
      recording_->push_back([e] { (void)runGemmEpilogue(e); }); // checked below, as gemm's
      return exec::checkGemmRaw(g.dtype, {g.batch, g.m, g.n, g.k});
    }
    return runGemmEpilogue(e);
  }

  StatusOr<void*> allocateHost(size_t bytes) override {
    void* p = std::aligned_alloc(256, std::max<size_t>(256, (bytes + 255) / 256 * 256));
    if (!p) return errorf("emulated device: out of memory staging {} bytes", bytes);
    return p;
  }

  Status synchronize() override {
    if (recording_) return Status::error("emulated device: synchronize while recording a loop");
    return Status::ok();
  }

  bool supportsLoopGraphs() const override { return true; }

  Status beginWhileCapture() override {
    if (graph_) return Status::error("emulated device: a loop is already being recorded");
    graph_ = std::make_unique<EmulatedGraph>();
    recording_ = &graph_->prologue;
    return Status::ok();
  }

  Status loopControl(const void* condition, void* state, int64_t maxTrip) override {
    if (!recording_) return Status::error("emulated device: loop control outside a recording");
    EmulatedGraph* g = graph_.get();
    recording_->push_back([g, condition, state, maxTrip] {
      g->condition = loopStep(condition, static_cast<int64_t*>(state), maxTrip);
    });
    return Status::ok();
  }

  Status beginWhileBody() override {
    if (!graph_ || recording_ != &graph_->prologue)
      return Status::error("emulated device: beginWhileBody outside a loop's prologue");
    recording_ = &graph_->body;
    return Status::ok();
  }

  Status beginIf(const void* condition, bool negate) override {
    if (!graph_ || (recording_ == &graph_->prologue && ifs_.empty()))
      return Status::error("emulated device: an `if` outside a recorded loop's body");
    ifs_.push_back({recording_, std::make_shared<std::vector<Command>>(), condition, negate});
    recording_ = ifs_.back().branch.get();
    return Status::ok();
  }

  Status endIf() override {
    if (ifs_.empty()) return Status::error("emulated device: endIf without beginIf");
    OpenIf f = std::move(ifs_.back());
    ifs_.pop_back();
    recording_ = f.parent;
    // As the IF node: the branch runs when the byte says so, read as it runs.
    recording_->push_back([branch = f.branch, condition = f.condition, negate = f.negate] {
      if ((*static_cast<const uint8_t*>(condition) != 0) != negate)
        for (Command& c : *branch)
          c();
    });
    return Status::ok();
  }

  StatusOr<std::unique_ptr<DeviceGraph>> endWhileCapture() override {
    if (!graph_ || recording_ != &graph_->body || !ifs_.empty())
      return Status::error("emulated device: endWhileCapture outside a loop's body");
    recording_ = nullptr;
    return std::unique_ptr<DeviceGraph>(std::move(graph_));
  }

  void abortCapture() override {
    recording_ = nullptr;
    ifs_.clear();
    graph_.reset();
  }

private:
  /// Runs `c` now, or records it while a loop is being recorded.
  Status issue(Command c) {
    if (recording_)
      recording_->push_back(std::move(c));
    else
      c();
    return Status::ok();
  }

  /// An `if` branch being recorded: where its node goes when it ends.
  struct OpenIf {
    std::vector<Command>* parent;
    std::shared_ptr<std::vector<Command>> branch;
    const void* condition;
    bool negate;
  };

  std::unique_ptr<EmulatedGraph> graph_;
  std::vector<Command>* recording_ = nullptr;
  std::vector<OpenIf> ifs_;
};

} // namespace

std::unique_ptr<Device> makeEmulatedDevice() {
  return std::make_unique<EmulatedDevice>();
}

} // namespace cairn::device
