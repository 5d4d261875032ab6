// The executor on a Device: runs the same exec::LoweredFunctions the CPU executor
// runs (compiler/lowering/LowerFunctions.h: the buffer plan, nested while/if
// blocks), with every value in device memory.
//
//   auto exe = codegen::cuda::compileForDevice(module, device);  // cairn_codegen
//   device::DeviceContext ctx;
//   auto out = (*exe)->run("main", inputs, ctx);
//
// Inputs are copied to the device and results back at the function boundary
// only, through the context's page-locked staging buffer (one wait for all the
// results). On the device: elementwise kernels (generated, LowerToDevice.h),
// products (Device::gemm: cuBLAS, or the CPU's BLAS on the emulated device;
// with the bias/relu kernel after them as a cuBLASLt epilogue where it fits,
// GemmEpilogue.h),
// gathers and scatters (RowKernels.h; a scatter in place when its operand
// dies there), an f32 `rnn` op as one Device::rnn call and its `rnn_grad`
// as one Device::rnnBackward (cuDNN on a GPU; RnnOnDevice.h), reshapes as buffer aliases, constants
// uploaded once per context. A `while` whose ops all have device forms is recorded once per shape
// (Device.h's DeviceGraph: a CUDA graph with a conditional WHILE node) and then runs with no host
// decision per iteration; any other loop is the host-synchronized form XLA uses: the cond block
// runs on the device, its one-byte result is copied back and the host decides (an `if` the same);
// the row kernels' out-of-range flag is read with it. Still on the host,
// with copies both ways (counted in DeviceStats::hostOps): transpose,
// dynamic broadcasts and every op the kernels do not cover (docs/gpu.md).
//
// Errors are the CPU executor's: a Status naming the op (wrong inputs, an
// index out of range, a loop past its max trip count), never a crash.
// Thread-safety: a DeviceExecutable is immutable; one DeviceContext per
// concurrent run, and the Device is used by one run at a time.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ir/IR.h"
#include "ir/Tensor.h"
#include "runtime/RunLimits.h"
#include "runtime/device/Device.h"
#include "runtime/device/GemmEpilogue.h"
#include "runtime/device/RowKernels.h"
#include "runtime/exec/LoweredFunction.h"

namespace cairn::device {

struct DeviceRunOptions {
  /// Bound on the trips of a `while` without max_trip (0 = unbounded).
  int64_t defaultMaxTrip = 0;
  /// Deadline and cancellation, checked between instructions and at every
  /// iteration of a host-synchronized loop (a recorded loop is checked
  /// before and after it runs, so a loop with no trip bound is recorded only
  /// when neither is set); the memory cap bounds values made on the host.
  RunLimits limits;
  /// Run each `while` whose ops all have device forms as a recorded loop
  /// (a CUDA graph with a conditional WHILE node: no host decision per
  /// iteration); false: every loop host-synchronized, as XLA does.
  bool loopGraphs = true;
};

/// What a context's runs did, summed.
struct DeviceStats {
  int64_t kernelLaunches = 0;
  int64_t rowLaunches = 0;    ///< gathers and scatters on the device
  int64_t inPlaceUpdates = 0; ///< scatters that wrote into their operand's buffer
  int64_t gemmCalls = 0;
  int64_t gemmEpilogues = 0; ///< of those, GEMMs that ran the bias (and relu) after
                             ///< them as an epilogue (GemmEpilogue.h): a launch saved each
  int64_t rnnCalls = 0;         ///< rnn ops run by Device::rnn (cuDNN on a GPU)
  int64_t rnnBackwardCalls = 0; ///< rnn_grad ops run by Device::rnnBackward
  int64_t hostOps = 0;       ///< ops run on the host (operands down, results up)
  int64_t hostScalarOps = 0; ///< size arithmetic on scalars the host knows (no copies)
  std::map<std::string, int64_t> hostOpsByName; ///< the same by op name ("concat": 12)
  int64_t conditionReads = 0;                   ///< while/if decisions read back by the host
  int64_t whileIterations = 0;
  int64_t loopRecordings = 0; ///< loops recorded as device graphs
  int64_t recordedIfs = 0;    ///< `if`s recorded into them (two IF nodes each)
  int64_t graphLaunches = 0;  ///< runs of recorded loops (one host read each: the trip count)
  /// First iterations run on the host before the rest of their loop ran
  /// recorded: a carried type settled there (a dynamic tape allocated in
  /// iteration 0 by an `if`).
  int64_t peeledIterations = 0;
  std::map<std::string, int64_t> hostLoops; ///< loops that could not be recorded, by reason
  int64_t bytesToDevice = 0;
  int64_t bytesToHost = 0;
  /// Of bytesToDevice and bytesToHost: the arguments and results of runs,
  /// copied through the context's page-locked staging buffer.
  int64_t stagedBytes = 0;
  int64_t stagingAllocations = 0; ///< the staging buffer made or grown
  int64_t aliases = 0;            ///< reshapes that shared their operand's buffer
  int64_t peakDeviceBytes = 0;    ///< live values' bytes at most (pooled buffers excluded)
};

/// One run's device memory (a pool of released buffers by size, freed with
/// the context) and counters. One run at a time.
class DeviceContext {
public:
  DeviceContext();
  ~DeviceContext();
  DeviceContext(const DeviceContext&) = delete;
  DeviceContext& operator=(const DeviceContext&) = delete;
  const DeviceStats& stats() const { return stats_; }
  void resetStats() { stats_ = DeviceStats(); }

private:
  friend class DeviceRunner;
  struct State;
  std::unique_ptr<State> state_;
  DeviceStats stats_;
};

/// A value kept in device memory across runs, as JAX keeps arrays on the
/// device: made by DeviceExecutable::upload or returned by runOnDevice, and
/// passed to runOnDevice without a copy. Immutable (no run writes into it;
/// copies share the buffer). It belongs to the context it was made in
/// (passing it to a run in another is an error) and keeps that context's
/// device memory alive. Used under its context's one-thread rule.
class DeviceTensor {
public:
  DeviceTensor();
  ~DeviceTensor();
  DeviceTensor(const DeviceTensor&);
  DeviceTensor& operator=(const DeviceTensor&);
  const TensorType& type() const;
  explicit operator bool() const { return impl_ != nullptr; }
  /// Copies the value to the host (waits for the device).
  StatusOr<Tensor> download() const;

  struct Impl;

private:
  friend class DeviceRunner;
  std::shared_ptr<const Impl> impl_;
};

/// An argument of DeviceExecutable::runOnDevice: a host tensor (uploaded
/// for the run; it must outlive the call) or a DeviceTensor (used where it is).
struct DeviceArg {
  DeviceArg(const Tensor& t) : host(&t) {}            // NOLINT: implicit by design
  DeviceArg(DeviceTensor t) : device(std::move(t)) {} // NOLINT
  const Tensor* host = nullptr;
  DeviceTensor device;
};

class DeviceExecutable {
public:
  /// `kernels[k]` is Instruction::kernel number k, loaded on `device`;
  /// `rowKernels` the row kernels in allRowKernels()' order (empty: row ops
  /// run on the host).
  DeviceExecutable(std::unique_ptr<Module> module, exec::LoweredFunctions programs,
                   std::shared_ptr<Device> device, std::vector<KernelHandle> kernels,
                   std::vector<KernelHandle> rowKernels = {});
  ~DeviceExecutable();

  StatusOr<std::vector<Tensor>> run(std::string_view name, const std::vector<Tensor>& inputs,
                                    DeviceContext& ctx, const DeviceRunOptions& options = {}) const;
  StatusOr<std::vector<Tensor>> run(std::string_view name, const std::vector<Tensor>& inputs,
                                    const DeviceRunOptions& options = {}) const;
  /// A run whose inputs may already be on the device and whose results stay
  /// there: parameters and optimizer state uploaded once, a training step's
  /// outputs fed to the next without a round trip.
  StatusOr<std::vector<DeviceTensor>> runOnDevice(std::string_view name,
                                                  const std::vector<DeviceArg>& inputs,
                                                  DeviceContext& ctx,
                                                  const DeviceRunOptions& options = {}) const;
  /// `t` copied into `ctx`'s device memory.
  StatusOr<DeviceTensor> upload(const Tensor& t, DeviceContext& ctx) const;

  const Module& module() const { return *module_; }
  const exec::LoweredFunction* program(std::string_view name) const;
  Device& device() const { return *device_; }
  /// Unique among the executables this process made (a context's cached
  /// device state is keyed by it, not by the address).
  uint64_t serial() const { return serial_; }
  const std::shared_ptr<Device>& sharedDevice() const { return device_; }
  KernelHandle kernel(int32_t k) const { return kernels_[static_cast<size_t>(k)]; }
  size_t numKernels() const { return kernels_.size(); }
  /// The epilogue the GEMM `in` runs instead of the kernel after it, if any.
  const EpilogueFusion* epilogueOf(const exec::Instruction& in) const {
    auto it = epilogues_.find(&in);
    return it == epilogues_.end() ? nullptr : &it->second;
  }
  /// The loaded row kernel `k`, or null when row ops run on the host.
  const KernelHandle* rowKernel(const RowKernelDesc& k) const;
  /// Row ops the compiler made elementwise kernels for (a lone broadcast):
  /// op -> index into the kernel table.
  void setOpKernels(std::map<const Op*, int32_t> k) { opKernels_ = std::move(k); }
  int32_t opKernel(const Op* op) const {
    auto it = opKernels_.find(op);
    return it == opKernels_.end() ? -1 : it->second;
  }

private:
  std::unique_ptr<Module> module_;
  exec::LoweredFunctions programs_;
  std::shared_ptr<Device> device_;
  std::vector<KernelHandle> kernels_;
  std::vector<KernelHandle> rowKernels_;
  std::map<const Op*, int32_t> opKernels_;
  std::map<const exec::Instruction*, EpilogueFusion> epilogues_; ///< GemmEpilogue.h
  uint64_t serial_ = 0;
};

} // namespace cairn::device
