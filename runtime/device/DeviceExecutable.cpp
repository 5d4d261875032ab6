// The device executor (DeviceExecutable.h). Values are immutable device
// buffers shared by reference count: no instruction here writes into an
// operand, so a yield, a carried value or an alias shares the buffer, and a
// buffer goes back to the context's pool when its last value is released.
//
// A `while` runs on the device as a recorded loop (Device.h's DeviceGraph: a
// CUDA graph with a conditional WHILE node) when everything in it has a
// device form; otherwise, and where the device records no loops, the host
// decides each iteration from a one-byte read (docs/gpu.md, "Loops on the
// device").
#include "runtime/device/DeviceExecutable.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "ir/Diagnostic.h"
#include "kernels/reference/Indexing.h"
#include "runtime/device/RnnOnDevice.h"
#include "runtime/exec/Executable.h"
#include "runtime/exec/Gemm.h"
#include "runtime/exec/KernelShape.h"
#include "runtime/reference/Interpreter.h"
#include "runtime/reference/OpEval.h"

namespace cairn::device {

using exec::Block;
using exec::InstKind;
using exec::Instruction;
using exec::Slot;

namespace {

size_t byteSize(const TensorType& t) {
  return static_cast<size_t>(t.numElements() * dtypeSize(t.dtype));
}

/// Released device buffers by size, freed with the context (or with the
/// last DeviceTensor made in it, whichever goes last).
struct Pool {
  Device* device = nullptr;
  std::shared_ptr<Device> owner; ///< keeps the device alive as long as its buffers
  std::map<size_t, std::vector<void*>> free;
  int64_t liveBytes = 0;
  /// While a loop is being recorded, released buffers go here instead of to
  /// `free`: the recording reads and writes them on every launch.
  std::map<void*, size_t>* retain = nullptr;
  /// The page-locked staging buffer of the boundary copies
  /// (Device::allocateHost), grown as needed.
  void* staging = nullptr;
  size_t stagingBytes = 0;
  /// Staged uploads may still be reading it: a runOnDevice returns without
  /// waiting for its run, so the next run waits before it writes the buffer.
  bool stagingBusy = false;

  void clear() {
    for (auto& [bytes, ptrs] : free)
      for (void* p : ptrs)
        device->release(p);
    free.clear();
  }
  ~Pool() {
    if (!device) return;
    clear();
    if (staging) {
      (void)device->synchronize(); // no copy may still read or write it
      device->releaseHost(staging);
    }
  }
};

} // namespace
} // namespace cairn::device

// Outside the anonymous namespace: DeviceTensor::Impl (public) holds a Value.
namespace cairn::device::detail {

/// Owns a device buffer: returns it to the pool when destroyed (so it is
/// neither copyable nor movable).
struct Buffer {
  std::shared_ptr<Pool> pool;
  void* ptr;
  size_t bytes;
  Buffer(std::shared_ptr<Pool> pool, void* ptr, size_t bytes)
      : pool(std::move(pool)), ptr(ptr), bytes(bytes) {}
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() {
    pool->liveBytes -= static_cast<int64_t>(bytes);
    if (pool->retain)
      (*pool->retain)[ptr] = bytes;
    else
      pool->free[bytes].push_back(ptr);
  }
};

struct Value {
  TensorType type;
  std::shared_ptr<Buffer> buf;
  /// An integer scalar's value where the host knows it (a `dim`, a
  /// constant, a size computed on the host): read without a copy.
  std::optional<int64_t> known;
  explicit operator bool() const { return buf != nullptr; }
  void* data() const { return buf->ptr; }
};

} // namespace cairn::device::detail

namespace cairn::device {

struct DeviceTensor::Impl {
  detail::Value value;
};

DeviceTensor::DeviceTensor() = default;
DeviceTensor::~DeviceTensor() = default;
DeviceTensor::DeviceTensor(const DeviceTensor&) = default;
DeviceTensor& DeviceTensor::operator=(const DeviceTensor&) = default;
const TensorType& DeviceTensor::type() const {
  static const TensorType none;
  return impl_ ? impl_->value.type : none;
}

namespace {

using detail::Buffer;
using detail::Value;

/// A `while` recorded as a DeviceGraph for one set of carried types, trip
/// bound and outer values. The buffers the recording reads and writes are
/// its own while it lives: the carried values' (`carried`: the initial
/// values are copied in before a launch, the results out after it), every
/// value made inside the loop (`owned`), and the values from outside the
/// loop it reads (`outer`: a later run's value in another buffer is copied
/// into the held one; several recorded loops may hold one buffer).
struct LoopGraph {
  struct Outer {
    Slot slot;
    Value held;
  };
  Pool* pool = nullptr;
  std::unique_ptr<DeviceGraph> graph;
  std::map<void*, size_t> owned;
  std::vector<TensorType> carriedTypes;
  std::vector<void*> carried;
  std::vector<Outer> outer;
  int64_t maxTrip = -1;
  int64_t peeled = 0; ///< trips the host ran before it (a peeled loop's first)
  Value state;         ///< [trips, exceeded] (Device::loopControl)
  bool rowOps = false; ///< row kernels inside report faults through the context's flag

  ~LoopGraph() {
    graph.reset();
    for (auto& [ptr, bytes] : owned)
      pool->free[bytes].push_back(ptr);
  }
};

/// The slots defined inside `b` (results, carried values of nested loops).
void collectDefs(const Block& b, std::set<Slot>& defs) {
  for (const Instruction& in : b.insts) {
    defs.insert(in.results.begin(), in.results.end());
    defs.insert(in.carried.begin(), in.carried.end());
    for (const Block& nested : in.blocks)
      collectDefs(nested, defs);
  }
}

/// The slots `b` reads (nested blocks included).
void collectUses(const Block& b, std::set<Slot>& uses) {
  for (const Instruction& in : b.insts) {
    uses.insert(in.operands.begin(), in.operands.end());
    for (const Block& nested : in.blocks)
      collectUses(nested, uses);
  }
  uses.insert(b.yields.begin(), b.yields.end());
}

/// Recorded forms kept per loop (shape buckets), the oldest dropped first.
constexpr size_t kGraphsPerLoop = 8;
/// Recordings of one loop after which it stays host-synchronized: its sizes
/// or host-known values change nearly every time, and a recording costs
/// more than the iterations it saves.
constexpr int64_t kMaxRecordingsPerLoop = 4 * kGraphsPerLoop;

} // namespace

struct DeviceContext::State {
  std::shared_ptr<Pool> pool = std::make_shared<Pool>();
  std::vector<Value> frame;
  /// The row kernels' out-of-range record: [tag, index] (RowKernels.h).
  Value errorFlag;
  /// Integer scalars the host computed (dims, sizes), uploaded once.
  std::map<std::pair<DType, int64_t>, Value> scalars;
  /// Constants uploaded for the programs of the executable whose serial is
  /// `constantsOf` (DeviceExecutable::serial: an executable destroyed and
  /// another made at its address is not taken for it), by host address.
  uint64_t constantsOf = 0;
  std::map<const Tensor*, Value> constants;
  /// Row ops' fault tags (RowKernels.h), stable for the context: recorded
  /// loops keep the tags they were recorded with.
  std::map<const Op*, int64_t> tags;
  std::vector<const Op*> tagged; ///< by tag - 1
  /// Recorded loops by instruction, and the loops that need the host.
  std::map<const Instruction*, std::vector<std::unique_ptr<LoopGraph>>> loopGraphs;
  std::map<const Instruction*, int64_t> recordings;
  std::set<const Instruction*> hostLoops;
  /// Loops whose first iteration runs on the host before the rest is
  /// recorded: a carried value's type settles there (a dynamic tape that
  /// starts empty and is allocated by an `if` in iteration 0).
  std::set<const Instruction*> peeledLoops;

  /// Forgets everything tied to one executable's instructions.
  void clearLoops() {
    peeledLoops.clear();
    loopGraphs.clear();
    recordings.clear();
    hostLoops.clear();
    tags.clear();
    tagged.clear();
  }
};

DeviceContext::DeviceContext() : state_(std::make_unique<State>()) {}
DeviceContext::~DeviceContext() {
  state_->clearLoops(); // their buffers return to the pool before it frees them
  state_->frame.clear();
  state_->errorFlag = Value();
  state_->scalars.clear();
  state_->constants.clear(); // buffers return to the pool before it frees them
}

class DeviceRunner {
public:
  DeviceRunner(const DeviceExecutable& exe, const exec::LoweredFunction& p, DeviceContext& ctx,
               const DeviceRunOptions& opts)
      : exe_(exe), dev_(exe.device()), p_(p), s_(*ctx.state_), stats_(ctx.stats_), opts_(opts) {
    if (s_.pool->device != &dev_) {
      s_.clearLoops();
      s_.frame.clear();
      s_.constants.clear();
      s_.errorFlag = Value();
      s_.scalars.clear();
      // A fresh pool: DeviceTensors of the old device keep the old one.
      if (s_.pool->device) s_.pool = std::make_shared<Pool>();
      s_.pool->device = &dev_;
      s_.pool->owner = exe.sharedDevice();
    }
    if (s_.constantsOf != exe_.serial()) {
      s_.clearLoops();
      s_.constants.clear();
      s_.constantsOf = exe_.serial();
    }
  }

  StatusOr<std::vector<Tensor>> run(const std::vector<Tensor>& inputs) {
    CAIRN_RETURN_IF_ERROR(exec::checkArguments(p_, inputs));
    std::vector<DeviceArg> args(inputs.begin(), inputs.end());
    CAIRN_ASSIGN_OR_RETURN(std::vector<Value> values, runValues(args));
    // Every result into the staging buffer, one wait, then out of it.
    std::vector<size_t> offsets;
    size_t total = 0;
    for (const Value& v : values) {
      if (!v) return Status::error("internal error: a value read before it was written");
      offsets.push_back(total);
      total += stagedSize(byteSize(v.type));
    }
    CAIRN_RETURN_IF_ERROR(ensureStaging(total));
    for (size_t i = 0; i < values.size(); ++i) {
      size_t bytes = byteSize(values[i].type);
      CAIRN_RETURN_IF_ERROR(dev_.copyToHostStaged(staged(offsets[i]), values[i].data(), bytes));
      stats_.bytesToHost += static_cast<int64_t>(bytes);
      stats_.stagedBytes += static_cast<int64_t>(bytes);
    }
    CAIRN_RETURN_IF_ERROR(dev_.synchronize());
    s_.pool->stagingBusy = false;
    std::vector<Tensor> results;
    for (size_t i = 0; i < values.size(); ++i) {
      Tensor t(values[i].type);
      if (t.byteSize()) std::memcpy(t.rawData(), staged(offsets[i]), t.byteSize());
      results.push_back(std::move(t));
    }
    return results;
  }

  /// The run with results left on the device.
  StatusOr<std::vector<DeviceTensor>> runOnDevice(const std::vector<DeviceArg>& inputs) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (!inputs[i].host && !inputs[i].device)
        return errorf("error: function @{} argument #{}: an empty DeviceTensor", p_.name, i);
      if (!inputs[i].host && inputs[i].device.impl_->value.buf->pool != s_.pool)
        return errorf("error: function @{} argument #{}: a DeviceTensor of another context "
                      "or device",
                      p_.name, i);
    }
    CAIRN_RETURN_IF_ERROR(
        exec::checkArgumentTypes(p_, inputs.size(), [&](size_t i) -> const TensorType& {
          return inputs[i].host ? inputs[i].host->type() : inputs[i].device.type();
        }));
    CAIRN_ASSIGN_OR_RETURN(std::vector<Value> values, runValues(inputs));
    std::vector<DeviceTensor> out;
    for (Value& v : values)
      out.push_back(wrap(std::move(v)));
    return out;
  }

  StatusOr<DeviceTensor> uploadTensor(const Tensor& t) {
    CAIRN_ASSIGN_OR_RETURN(Value v, upload(t));
    CAIRN_RETURN_IF_ERROR(dev_.synchronize());
    return wrap(std::move(v));
  }

private:
  static DeviceTensor wrap(Value v) {
    DeviceTensor t;
    v.known.reset(); // a later run may not assume it (its buffer is what counts)
    t.impl_ = std::make_shared<const DeviceTensor::Impl>(DeviceTensor::Impl{std::move(v)});
    return t;
  }

  /// The program on `inputs` (uploaded where on the host): its results,
  /// checked against the declared types, still on the device.
  StatusOr<std::vector<Value>> runValues(const std::vector<DeviceArg>& inputs) {
    s_.frame.assign(static_cast<size_t>(p_.numSlots), Value());
    Status ran = clearErrorFlag();
    // The host arguments side by side in the staging buffer, each copied up
    // without a wait (the buffer is not touched again before the run's end).
    size_t total = 0;
    for (const DeviceArg& a : inputs)
      if (a.host) total += stagedSize(a.host->byteSize());
    if (ran.isOk() && total > 0 && s_.pool->stagingBusy) ran = dev_.synchronize();
    if (ran.isOk()) ran = ensureStaging(total);
    if (total > 0) s_.pool->stagingBusy = true;
    size_t offset = 0;
    for (size_t i = 0; i < inputs.size() && ran.isOk(); ++i) {
      if (!inputs[i].host) {
        set(p_.args[i], inputs[i].device.impl_->value);
        continue;
      }
      const Tensor& t = *inputs[i].host;
      StatusOr<Value> v = allocate(t.type());
      if (!v.isOk()) {
        ran = v.status();
        break;
      }
      if (t.byteSize()) std::memcpy(staged(offset), t.rawData(), t.byteSize());
      ran = dev_.copyToDeviceStaged(v->data(), staged(offset), t.byteSize());
      offset += stagedSize(t.byteSize());
      stats_.bytesToDevice += static_cast<int64_t>(t.byteSize());
      stats_.stagedBytes += static_cast<int64_t>(t.byteSize());
      set(p_.args[i], std::move(*v));
    }
    if (ran.isOk()) ran = runBlock(p_.body);
    if (ran.isOk()) ran = checkErrorFlag();
    std::vector<Value> results;
    for (size_t i = 0; i < p_.body.yields.size() && ran.isOk(); ++i) {
      results.push_back(get(p_.body.yields[i]));
      std::string m = interp::typeMismatch(p_.resultTypes[i], results.back().type);
      if (!m.empty()) ran = errorf("error: function @{} result #{}: {}", p_.name, i, m);
    }
    s_.frame.clear();
    if (!ran.isOk()) return ran;
    return results;
  }

  /// A staged copy's room: rounded to 256 bytes, so each copy starts aligned.
  static size_t stagedSize(size_t bytes) { return (bytes + 255) / 256 * 256; }
  void* staged(size_t offset) const { return static_cast<std::byte*>(s_.pool->staging) + offset; }

  /// The context's staging buffer holds at least `bytes` (grown to the next
  /// power of two, at least 64 KiB, so that a few runs settle its size).
  Status ensureStaging(size_t bytes) {
    Pool& pool = *s_.pool;
    if (bytes <= pool.stagingBytes) return Status::ok();
    if (pool.staging) {
      CAIRN_RETURN_IF_ERROR(dev_.synchronize()); // earlier copies may still use it
      pool.stagingBusy = false;
      dev_.releaseHost(pool.staging);
      pool.staging = nullptr;
      pool.stagingBytes = 0;
    }
    size_t size = size_t{64} << 10;
    while (size < bytes)
      size *= 2;
    CAIRN_ASSIGN_OR_RETURN(pool.staging, dev_.allocateHost(size));
    pool.stagingBytes = size;
    ++stats_.stagingAllocations;
    return Status::ok();
  }

  const Value& get(Slot s) const { return s_.frame[static_cast<size_t>(s)]; }
  void set(Slot s, Value v) {
    s_.frame[static_cast<size_t>(s)] = std::move(v);
    stats_.peakDeviceBytes = std::max(stats_.peakDeviceBytes, s_.pool->liveBytes);
  }

  StatusOr<Value> allocate(const TensorType& type) {
    size_t bytes = std::max<size_t>(byteSize(type), 1);
    void* ptr = nullptr;
    auto it = s_.pool->free.find(bytes);
    if (it != s_.pool->free.end() && !it->second.empty()) {
      ptr = it->second.back();
      it->second.pop_back();
    } else {
      CAIRN_ASSIGN_OR_RETURN(ptr, dev_.allocate(bytes));
    }
    s_.pool->liveBytes += static_cast<int64_t>(bytes);
    return Value{type, std::make_shared<Buffer>(s_.pool, ptr, bytes), std::nullopt};
  }

  StatusOr<Value> upload(const Tensor& t) {
    CAIRN_ASSIGN_OR_RETURN(Value v, allocate(t.type()));
    CAIRN_RETURN_IF_ERROR(dev_.copyToDevice(v.data(), t.rawData(), t.byteSize()));
    stats_.bytesToDevice += static_cast<int64_t>(t.byteSize());
    return v;
  }

  StatusOr<Tensor> download(const Value& v) {
    if (!v) return Status::error("internal error: a value read before it was written");
    if (recording_)
      return needsHost(
          fmt::format("'{}' reads a value on the host", current_ ? current_->name() : "?"));
    Tensor t(v.type);
    CAIRN_RETURN_IF_ERROR(dev_.copyToHost(t.rawData(), v.data(), t.byteSize()));
    stats_.bytesToHost += static_cast<int64_t>(t.byteSize());
    return t;
  }

  /// Slot `s`'s value: moved out when `mayMove` (it dies here), else shared.
  /// Moving matters: an update writes in place only into a buffer nothing
  /// else holds.
  Value take(Slot s, bool mayMove) {
    Value& v = s_.frame[static_cast<size_t>(s)];
    return mayMove ? std::move(v) : v;
  }

  /// The yields of `b` (moved where the plan allows: a value yielded twice is
  /// shared first, then moved).
  std::vector<Value> takeYields(const Block& b) {
    std::vector<Value> out(b.yields.size());
    for (size_t i = 0; i < b.yields.size(); ++i)
      if (!b.moveYield[i]) out[i] = take(b.yields[i], false);
    for (size_t i = 0; i < b.yields.size(); ++i)
      if (b.moveYield[i]) out[i] = take(b.yields[i], true);
    return out;
  }

  /// A scalar i1 (a condition) read by the host.
  StatusOr<bool> readCondition(const Op& op, const Value& v, const char* what) {
    if (v.type.dtype != DType::I1 || v.type.rank() != 0)
      return opError(op, fmt::format("{} must be one i1 scalar", what));
    ++stats_.conditionReads;
    CAIRN_ASSIGN_OR_RETURN(Tensor t, download(v));
    CAIRN_RETURN_IF_ERROR(checkErrorFlag()); // an index fault may have made the condition
    return t.data<bool>()[0];
  }

  Status clearErrorFlag() {
    rowFaultsPossible_ = false;
    if (!s_.errorFlag) {
      CAIRN_ASSIGN_OR_RETURN(s_.errorFlag, allocate(TensorType(DType::I64, {2})));
    }
    return dev_.fillZero(s_.errorFlag.data(), 16);
  }

  /// The first row kernel fault since the last check, as the op's error.
  Status checkErrorFlag() {
    if (!rowFaultsPossible_) return Status::ok();
    int64_t flag[2] = {0, 0};
    CAIRN_RETURN_IF_ERROR(dev_.copyToHost(flag, s_.errorFlag.data(), sizeof flag));
    if (flag[0] == 0) return Status::ok();
    const Op* op = flag[0] > 0 && size_t(flag[0]) <= s_.tagged.size()
                       ? s_.tagged[size_t(flag[0] - 1)]
                       : nullptr;
    if (!op) return errorf("error: a device row kernel reported index {} out of range", flag[1]);
    if (op->kind() == OpKind::DynamicSlice || op->kind() == OpKind::DynamicUpdateSlice)
      return opError(*op, fmt::format("start index {} is out of range: the slice does not fit "
                                      "the operand (on the device)",
                                      flag[1]));
    return opError(*op, fmt::format("index {} is out of range for axis {} (on the device)", flag[1],
                                    op->getIntOr("axis", 0)));
  }

  /// The tag a row kernel writes for `op` (1-based; 0 means no fault).
  int64_t tagFor(const Op& op) {
    rowFaultsPossible_ = true;
    auto [it, added] = s_.tags.emplace(&op, static_cast<int64_t>(s_.tagged.size()) + 1);
    if (added) s_.tagged.push_back(&op);
    return it->second;
  }

  Status checkResult(const Instruction& in, size_t i, const TensorType& t) const {
    std::string m = interp::typeMismatch(in.op->result(i)->type, t);
    if (!m.empty()) return opError(*in.op, fmt::format("result #{}: {}", i, m));
    return Status::ok();
  }

  Status runBlock(const Block& b) {
    for (const Instruction& in : b.insts) {
      // Between instructions and at every loop iteration, as the CPU executor.
      if (opts_.limits.timed())
        if (Status s = opts_.limits.check(); !s.isOk()) return opError(*in.op, s);
      current_ = in.op;
      if (auto p = epilogueDone_.find(&in); p != epilogueDone_.end()) {
        // The kernel ran as the GEMM's epilogue: its result is in the
        // product's buffer (which dies here).
        set(in.results[0], take(p->second, false));
        epilogueDone_.erase(p);
      } else {
        const EpilogueFusion* f = exe_.epilogueOf(in);
        bool fused = false;
        if (f) {
          CAIRN_ASSIGN_OR_RETURN(fused, execGemmEpilogue(in, *f));
        }
        if (!fused) CAIRN_RETURN_IF_ERROR(runInstruction(in));
      }
      for (Slot s : in.frees)
        s_.frame[static_cast<size_t>(s)] = Value();
    }
    return Status::ok();
  }

  Status runInstruction(const Instruction& in) {
    switch (in.kind) {
    case InstKind::Kernel:
      return execKernel(in);
    case InstKind::Gemm:
      return execGemm(in);
    case InstKind::Rows:
      return execRows(in);
    case InstKind::Fallback:
      return execOnHost(in);
    case InstKind::Alias:
      return execAlias(in);
    case InstKind::Constant:
      return execConstant(in);
    case InstKind::While:
      return execWhile(in);
    case InstKind::If:
      return execIf(in);
    case InstKind::Parallel: // one stream: the loops run one after the other
      for (const Block& b : in.blocks)
        CAIRN_RETURN_IF_ERROR(runBlock(b));
      return Status::ok();
    }
    return Status::ok();
  }

  /// Whether `in` computes integer scalars from integer scalars the host
  /// knows (size arithmetic: `dim(x) - 1`): then the host computes them too.
  bool onKnownScalars(const Instruction& in) const {
    for (Slot s : in.operands)
      if (!get(s).known) return false;
    for (const TensorType& t : in.outputTypes)
      if (t.rank() != 0 || !isInteger(t.dtype)) return false;
    return !in.operands.empty() && !in.outputTypes.empty();
  }

  /// Size arithmetic on the host: no launch, and the results stay known (a
  /// later reshape, broadcast, iota or kernel extent needs no read back;
  /// recorded loops bake them in like any other size).
  Status execOnKnownScalars(const Instruction& in) {
    std::vector<Tensor> args;
    for (Slot s : in.operands) {
      CAIRN_ASSIGN_OR_RETURN(Tensor t, hostValue(get(s))); // known: no copy
      args.push_back(std::move(t));
    }
    CAIRN_ASSIGN_OR_RETURN(std::vector<Tensor> r, evaluateOnHost(in, args));
    for (size_t i = 0; i < r.size(); ++i)
      CAIRN_RETURN_IF_ERROR(setScalar(in.results[i], r[i].dtype(), r[i].getInt(0)));
    ++stats_.hostScalarOps;
    return Status::ok();
  }

  Status execKernel(const Instruction& in) {
    if (onKnownScalars(in)) return execOnKnownScalars(in);
    std::vector<const Value*> ins;
    for (Slot s : in.operands)
      ins.push_back(&get(s));
    exec::KernelExtents extents;
    std::vector<TensorType> types = in.outputTypes;
    if (in.shape) {
      Status readError = Status::ok();
      bool fits = exec::evaluateKernelShape(
          *in.shape,
          [&](const exec::SizeSource& src, int64_t& v) {
            if (src.input < 0 || static_cast<size_t>(src.input) >= ins.size()) return false;
            const Value& x = *ins[static_cast<size_t>(src.input)];
            if (src.dim >= 0) {
              if (src.dim >= x.type.rank()) return false;
              v = x.type.shape[static_cast<size_t>(src.dim)];
              return true;
            }
            if (x.type.rank() != 0 || !isInteger(x.type.dtype)) return false;
            if (x.known) {
              v = *x.known;
              return true;
            }
            StatusOr<Tensor> t = download(x); // a size given as a value: a host read
            if (!t.isOk()) {
              readError = t.status();
              return false;
            }
            v = t->getInt(0);
            return true;
          },
          extents);
      CAIRN_RETURN_IF_ERROR(readError);
      // Sizes the kernel was not compiled for: the reference decides.
      if (!fits) return execOnHost(in);
      for (size_t o = 0; o < types.size(); ++o)
        types[o] = TensorType(types[o].dtype, extents.outputs[o]);
    }
    std::vector<Value> outs;
    std::vector<void*> buffers;
    for (const Value* v : ins)
      buffers.push_back(v->data());
    for (const TensorType& t : types) {
      CAIRN_ASSIGN_OR_RETURN(Value v, allocate(t));
      buffers.push_back(v.data());
      outs.push_back(std::move(v));
    }
    int64_t n = types.empty() ? 0 : types[0].numElements();
    Status launched = launchElementwise(dev_, exe_.kernel(in.kernel), buffers, extents.params, n);
    if (!launched.isOk()) return opError(*in.op, launched);
    ++stats_.kernelLaunches;
    for (size_t i = 0; i < outs.size(); ++i) {
      if (in.shape) CAIRN_RETURN_IF_ERROR(checkResult(in, i, outs[i].type));
      set(in.results[i], std::move(outs[i]));
    }
    return Status::ok();
  }

  /// reduce_sum over contiguous dims and argmax over an axis as reduction
  /// kernels (x folded to [P, A, R]); the rest on the host.
  Status execReduce(const Instruction& in) {
    const Op& op = *in.op;
    const Value& x = get(in.operands[0]);
    const Shape& xs = x.type.shape;
    bool argmax = op.kind() == OpKind::Argmax;
    int64_t lo = 0, hi = 0; // the reduced dims [lo, hi)
    if (argmax) {
      lo = op.getIntOr("axis", -1);
      hi = lo + 1;
    } else {
      if (!op.hasAttr("dims")) return execOnHostAlways(in);
      std::vector<int64_t> dims = op.getInts("dims");
      std::sort(dims.begin(), dims.end());
      if (dims.empty() || dims.back() - dims.front() + 1 != static_cast<int64_t>(dims.size()) ||
          std::adjacent_find(dims.begin(), dims.end()) != dims.end())
        return execOnHostAlways(in); // not one contiguous group
      lo = dims.front();
      hi = dims.back() + 1;
    }
    if (lo < 0 || hi > x.type.rank()) return execOnHostAlways(in);
    DType resultType = op.result()->type.dtype;
    RowKernelDesc desc;
    const KernelHandle* kernel = nullptr;
    if (rowKernelFor(argmax ? RowKernelKind::Argmax : RowKernelKind::ReduceSum, x.type.dtype,
                     argmax ? resultType : DType::I32, &desc))
      kernel = exe_.rowKernel(desc);
    int64_t P = 1, A = 1, R = 1;
    Shape outShape;
    for (int64_t d = 0; d < x.type.rank(); ++d) {
      int64_t size = xs[static_cast<size_t>(d)];
      if (d < lo)
        P *= size;
      else if (d < hi)
        A *= size;
      else
        R *= size;
      if (d < lo || d >= hi) outShape.push_back(size);
    }
    // argmax over an empty axis is the reference's error to give.
    if (!kernel || (argmax && A == 0)) return execOnHostAlways(in);
    TensorType type(argmax ? resultType : x.type.dtype, outShape);
    return launchRowKernel(in, *kernel, {x.data()}, type, {P, A, R});
  }

  /// A kernel the compiler made for a row op (static shapes: its operand
  /// types are the declared ones, checked by the launch's result check).
  Status execStaticKernel(const Instruction& in, int32_t kernel) {
    const Value& x = get(in.operands[0]);
    const TensorType& type = in.op->result()->type;
    if (!type.hasStaticShape() || x.type != in.op->operand(0)->type) return execOnHost(in);
    CAIRN_ASSIGN_OR_RETURN(Value out, allocate(type));
    Status launched = launchElementwise(dev_, exe_.kernel(kernel), {x.data(), out.data()}, {},
                                        type.numElements());
    if (!launched.isOk()) return opError(*in.op, launched);
    ++stats_.kernelLaunches;
    set(in.results[0], std::move(out));
    return Status::ok();
  }

  Status execGemm(const Instruction& in) {
    const Value& a = get(in.operands[0]);
    const Value& b = get(in.operands[1]);
    if (a.type.dtype != b.type.dtype)
      return opError(*in.op, fmt::format("operand dtypes {} and {} differ", dtypeName(a.type.dtype),
                                         dtypeName(b.type.dtype)));
    Shape shape;
    StatusOr<exec::GemmDims> d = exec::gemmDims(in.gemm, a.type.shape, b.type.shape, &shape);
    if (!d.isOk()) return opError(*in.op, d.status());
    TensorType type(a.type.dtype, shape);
    CAIRN_RETURN_IF_ERROR(checkResult(in, 0, type));
    CAIRN_ASSIGN_OR_RETURN(Value out, allocate(type));
    Status ran = d->k == 0 ? dev_.fillZero(out.data(), byteSize(type))
                           : dev_.gemm({a.type.dtype, in.gemm.transA, in.gemm.transB, d->m, d->n,
                                        d->k, d->batch, a.data(), b.data(), out.data()});
    if (!ran.isOk()) return opError(*in.op, ran);
    ++stats_.gemmCalls;
    set(in.results[0], std::move(out));
    return Status::ok();
  }

  /// The GEMM `in` with the kernel after it as its epilogue (GemmEpilogue.h)
  /// when this run's values fit it: the result goes into the product's slot
  /// and the kernel, when reached, takes it. False (nothing done) when they
  /// do not fit: the two run apart, which also reports any error in them.
  StatusOr<bool> execGemmEpilogue(const Instruction& in, const EpilogueFusion& f) {
    if (!dev_.supportsGemmEpilogues()) return false;
    const Instruction& next = *f.kernel;
    const Value& a = get(in.operands[0]);
    const Value& b = get(in.operands[1]);
    const Value& addend = get(next.operands[f.addendOperand]);
    if (!a || !b || !addend || a.type.dtype != DType::F32 || b.type.dtype != DType::F32)
      return false;
    Shape shape;
    StatusOr<exec::GemmDims> d = exec::gemmDims(in.gemm, a.type.shape, b.type.shape, &shape);
    if (!d.isOk() || d->batch != 1 || d->k == 0 || shape.empty() || d->n != shape.back())
      return false;
    TensorType type(DType::F32, shape);
    if (!interp::typeMismatch(in.op->result()->type, type).empty() ||
        !interp::typeMismatch(next.op->result()->type, type).empty() ||
        addend.type != (f.matrix ? type : TensorType(DType::F32, {d->n})))
      return false;
    for (auto [operand, dim] : f.sizeChecks) { // the bias broadcast to the product's sizes
      const Value& size = get(next.operands[operand]);
      if (!size || !size.known || *size.known != shape[static_cast<size_t>(dim)]) return false;
    }
    CAIRN_ASSIGN_OR_RETURN(Value out, allocate(type));
    GemmEpilogueArgs g{{DType::F32, in.gemm.transA, in.gemm.transB, d->m, d->n, d->k, 1, a.data(),
                        b.data(), out.data()},
                       f.relu,
                       f.matrix ? nullptr : addend.data(),
                       f.matrix ? addend.data() : nullptr};
    // A shape the library has no epilogue algorithm for: the two run apart
    // (a device that fails for good fails there too, and says so).
    if (!dev_.gemmEpilogue(g).isOk()) return false;
    ++stats_.gemmCalls;
    ++stats_.gemmEpilogues;
    set(in.results[0], std::move(out));
    epilogueDone_[&next] = in.results[0];
    return true;
  }

  /// Gathers and scatters as row kernels; the other row ops, and what the
  /// kernels cannot take (other dtypes, shapes the reference must judge),
  /// on the host.
  Status execRows(const Instruction& in) {
    const Op& op = *in.op;
    if (op.kind() == OpKind::DynamicSlice || op.kind() == OpKind::DynamicUpdateSlice)
      return execSlice(in);
    if (int32_t k = exe_.opKernel(&op); k >= 0) return execStaticKernel(in, k);
    if (op.kind() == OpKind::ReduceSum) return execReduce(in);
    bool gather = op.kind() == OpKind::Gather;
    if (!gather && op.kind() != OpKind::Scatter && op.kind() != OpKind::ScatterAdd)
      return execOnHost(in);
    const Value& x = get(in.operands[0]);
    const Value& idx = get(in.operands[1]);
    RowKernelKind kind = gather                         ? RowKernelKind::Gather
                         : op.kind() == OpKind::Scatter ? RowKernelKind::Scatter
                                                        : RowKernelKind::ScatterAdd;
    RowKernelDesc desc;
    const KernelHandle* kernel = nullptr;
    if (rowKernelFor(kind, x.type.dtype, idx.type.dtype, &desc)) kernel = exe_.rowKernel(desc);
    int64_t axis = op.getIntOr("axis", 0), batchDims = op.getIntOr("batch_dims", 0);
    StatusOr<Shape> rowsShape = kernels::gatherShape(x.type.shape, idx.type.shape, axis, batchDims);
    if (!kernel || !rowsShape.isOk()) return execOnHost(in); // the reference names the problem
    TensorType rowsType(x.type.dtype, *rowsShape);
    if (!gather && get(in.operands[2]).type != rowsType) return execOnHost(in);
    auto prod = [](const Shape& s, size_t from, size_t to) {
      int64_t p = 1;
      for (size_t d = from; d < to; ++d)
        p *= s[d];
      return p;
    };
    const Shape& xs = x.type.shape;
    size_t a = static_cast<size_t>(axis), nb = static_cast<size_t>(batchDims);
    int64_t B = prod(xs, 0, nb), P = prod(xs, nb, a), A = xs[a], R = prod(xs, a + 1, xs.size());
    int64_t Q = prod(idx.type.shape, nb, idx.type.shape.size());
    int64_t n = B * P * Q * R;

    Value target; // gather: the rows made; scatter: x updated
    if (gather) {
      CAIRN_RETURN_IF_ERROR(checkResult(in, 0, rowsType));
      CAIRN_ASSIGN_OR_RETURN(target, allocate(rowsType));
    } else {
      CAIRN_ASSIGN_OR_RETURN(target, updateTarget(in));
    }
    void* rows = gather ? target.data() : get(in.operands[2]).data();
    void* xPtr = gather ? x.data() : target.data();
    Status launched =
        launchElementwise(dev_, *kernel, {xPtr, idx.data(), rows, s_.errorFlag.data()},
                          {B, P, A, Q, R, tagFor(op)}, n);
    if (!launched.isOk()) return opError(op, launched);
    ++stats_.rowLaunches;
    set(in.results[0], std::move(target));
    return Status::ok();
  }

  /// The buffer an update (scatter, dynamic_update_slice) writes: operand
  /// 0's own when it dies here and nothing shares it (SPINN's stack), else a
  /// device-side copy.
  StatusOr<Value> updateTarget(const Instruction& in) {
    Value& x = s_.frame[static_cast<size_t>(in.operands[0])];
    if (in.inPlace && x.buf.use_count() == 1) {
      ++stats_.inPlaceUpdates;
      return std::move(x);
    }
    CAIRN_ASSIGN_OR_RETURN(Value copy, allocate(x.type));
    CAIRN_RETURN_IF_ERROR(dev_.copyOnDevice(copy.data(), x.data(), byteSize(x.type)));
    return copy;
  }

  /// dynamic_slice and dynamic_update_slice as slice kernels, the starts
  /// read on the device; other ranks, mixed start dtypes and sizes the
  /// reference must judge on the host.
  Status execSlice(const Instruction& in) {
    const Op& op = *in.op;
    bool update = op.kind() == OpKind::DynamicUpdateSlice;
    const Value& x = get(in.operands[0]);
    size_t rank = static_cast<size_t>(x.type.rank());
    size_t firstStart = update ? 2 : 1;
    if (rank < 1 || rank > size_t(kMaxSliceRank) || in.operands.size() < firstStart + rank)
      return execOnHost(in);
    DType startType = get(in.operands[firstStart]).type.dtype;
    for (size_t d = 0; d < rank; ++d) {
      const TensorType& t = get(in.operands[firstStart + d]).type;
      if (t.rank() != 0 || t.dtype != startType) return execOnHost(in);
    }
    Shape sizes;
    if (update) {
      const Value& rows = get(in.operands[1]);
      if (rows.type.dtype != x.type.dtype || rows.type.rank() != x.type.rank() ||
          in.operands.size() != firstStart + rank)
        return execOnHost(in);
      sizes = rows.type.shape;
    } else {
      if (!op.result()->type.hasStaticShape() || in.operands.size() != firstStart + rank)
        return execOnHost(in); // `?` sizes come as operands: the reference reads them
      sizes = op.result()->type.shape;
      if (static_cast<size_t>(sizes.size()) != rank) return execOnHost(in);
    }
    for (size_t d = 0; d < rank; ++d)
      if (sizes[d] > x.type.shape[d]) return execOnHost(in); // no start fits: the reference says so
    RowKernelDesc desc;
    const KernelHandle* kernel = nullptr;
    if (rowKernelFor(update ? RowKernelKind::UpdateSlice : RowKernelKind::Slice, x.type.dtype,
                     startType, &desc))
      kernel = exe_.rowKernel(desc);
    if (!kernel) return execOnHost(in);

    // Pad to kMaxSliceRank with leading dims of size 1 and start 0 (null).
    const size_t pad = size_t(kMaxSliceRank) - rank;
    std::vector<void*> starts(pad, nullptr);
    std::vector<int64_t> dims(pad, 1), slice(pad, 1);
    for (size_t d = 0; d < rank; ++d) {
      starts.push_back(get(in.operands[firstStart + d]).data());
      dims.push_back(x.type.shape[d]);
      slice.push_back(sizes[d]);
    }
    int64_t n = numElements(sizes);
    Value target; // slice: the rows made; update: x updated
    void* rows = nullptr;
    if (update) {
      rows = get(in.operands[1]).data();
      CAIRN_ASSIGN_OR_RETURN(target, updateTarget(in));
    } else {
      TensorType type(x.type.dtype, sizes);
      CAIRN_RETURN_IF_ERROR(checkResult(in, 0, type));
      CAIRN_ASSIGN_OR_RETURN(target, allocate(type));
      rows = target.data();
    }
    std::vector<void*> pointers = {update ? target.data() : x.data(), rows};
    pointers.insert(pointers.end(), starts.begin(), starts.end());
    pointers.push_back(s_.errorFlag.data());
    std::vector<int64_t> scalars = dims;
    scalars.insert(scalars.end(), slice.begin(), slice.end());
    scalars.push_back(tagFor(op));
    Status launched = launchElementwise(dev_, *kernel, pointers, scalars, n);
    if (!launched.isOk()) return opError(op, launched);
    ++stats_.rowLaunches;
    set(in.results[0], std::move(target));
    return Status::ok();
  }

  /// What has a device form here (dim, concat, argmax, transpose,
  /// broadcast, iota) runs so; the rest on the host.
  Status execOnHost(const Instruction& in) {
    switch (in.op->kind()) {
    case OpKind::Dim:
      return execDim(in);
    case OpKind::Concat:
      return execConcat(in);
    case OpKind::Argmax:
      return execReduce(in);
    case OpKind::Transpose:
    case OpKind::Broadcast:
      return execStrided(in);
    case OpKind::Iota:
      return execIota(in);
    case OpKind::Rnn:
      return execRnn(in);
    case OpKind::RnnGrad:
      return execRnnGrad(in);
    default:
      return execOnHostAlways(in);
    }
  }

  /// The layer an `rnn` or `rnn_grad` instruction runs, as Device::rnn
  /// takes it (RnnOnDevice.h): f32 operands of the op's shapes, every length
  /// in [1, T] (cuDNN takes no empty rows), a device that has it; false
  /// where not (the host runs the op, and the reference names a bad
  /// length). The lengths are read by the host (cuDNN's descriptors take
  /// them there), so a loop holding the op is not recorded.
  StatusOr<bool> describeRnn(const Instruction& in, RnnArgs& a) {
    const Op& op = *in.op;
    const bool grad = op.kind() == OpKind::RnnGrad;
    a.lstm = interp::isLstmRnn(op);
    const size_t layer = a.lstm ? 8 : 7, adjoints = a.lstm ? 3 : 2;
    if (!dev_.supportsRnn() || in.operands.size() != layer + (grad ? adjoints : 0)) return false;
    std::vector<const Value*> v;
    for (Slot s : in.operands)
      v.push_back(&get(s));
    const TensorType& x = v[0]->type;
    if (x.dtype != DType::F32 || x.rank() != 3 || v[2]->type.rank() != 2) return false;
    a.T = x.shape[0], a.B = x.shape[1], a.I = x.shape[2], a.H = v[2]->type.shape[1];
    const int64_t G = a.lstm ? 4 : 3;
    const size_t w = a.lstm ? 4 : 3; // w_ih's operand
    const TensorType state(DType::F32, {a.B, a.H});
    bool fits = v[2]->type == state && (!a.lstm || v[3]->type == state) &&
                v[w]->type == TensorType(DType::F32, {G * a.H, a.I}) &&
                v[w + 1]->type == TensorType(DType::F32, {G * a.H, a.H}) &&
                v[w + 2]->type == TensorType(DType::F32, {G * a.H}) &&
                v[w + 3]->type == TensorType(DType::F32, {G * a.H}) &&
                v[1]->type.rank() == 1 && v[1]->type.shape[0] == a.B && a.T > 0 && a.B > 0;
    if (grad && fits) {
      fits = v[layer]->type == TensorType(DType::F32, {a.T, a.B, a.H}) &&
             v[layer + 1]->type == state && (!a.lstm || v[layer + 2]->type == state);
    }
    if (!fits) return false;
    CAIRN_ASSIGN_OR_RETURN(Tensor lengths, hostValue(*v[1]));
    a.lengths.clear();
    for (int64_t len : lengths.toInts()) {
      if (len < 1 || len > a.T) return false;
      a.lengths.push_back(static_cast<int32_t>(len));
    }
    a.x = v[0]->data(), a.h0 = v[2]->data(), a.c0 = a.lstm ? v[3]->data() : nullptr;
    a.wIh = v[w]->data(), a.wHh = v[w + 1]->data(), a.bIh = v[w + 2]->data(),
    a.bHh = v[w + 3]->data();
    return true;
  }

  /// A reverse op's row order (RnnOnDevice.h) on the device, or an empty
  /// value for a forward one.
  StatusOr<Value> reverseOrder(const Op& op, const RnnArgs& a) {
    if (op.getIntOr("reverse", 0) == 0) return Value();
    std::vector<int32_t> p = reverseStepsPermutation(a.lengths, a.T);
    std::vector<int64_t> p64(p.begin(), p.end());
    return upload(Tensor::fromInts(TensorType(DType::I32, {a.T * a.B}), p64));
  }

  /// `src` [T, B, width] reordered by `order` into a new value.
  StatusOr<Value> reordered(const Op& op, const void* src, const Value& order, const RnnArgs& a,
                            int64_t width) {
    CAIRN_ASSIGN_OR_RETURN(Value out, allocate(TensorType(DType::F32, {a.T, a.B, width})));
    CAIRN_RETURN_IF_ERROR(reorderRows(op, src, order, out.data(), a.T * a.B, width));
    return out;
  }

  /// Allocates `in`'s results of `types`, checked against the op's.
  StatusOr<std::vector<Value>> allocateResults(const Instruction& in,
                                               const std::vector<TensorType>& types) {
    std::vector<Value> outs;
    for (size_t r = 0; r < types.size(); ++r) {
      CAIRN_RETURN_IF_ERROR(checkResult(in, r, types[r]));
      CAIRN_ASSIGN_OR_RETURN(Value out, allocate(types[r]));
      outs.push_back(std::move(out));
    }
    return outs;
  }

  /// An `rnn` op as one Device::rnn call (cuDNN on a GPU), a reverse op's
  /// rows reordered around it.
  Status execRnn(const Instruction& in) {
    const Op& op = *in.op;
    RnnArgs a;
    CAIRN_ASSIGN_OR_RETURN(bool fits, describeRnn(in, a));
    if (!fits || in.results.size() != (a.lstm ? 3u : 2u)) return execOnHostAlways(in);
    const TensorType state(DType::F32, {a.B, a.H});
    std::vector<TensorType> types{TensorType(DType::F32, {a.T, a.B, a.H}), state};
    if (a.lstm) types.push_back(state);
    CAIRN_ASSIGN_OR_RETURN(std::vector<Value> outs, allocateResults(in, types));
    a.ys = outs[0].data(), a.hn = outs[1].data(), a.cn = a.lstm ? outs[2].data() : nullptr;
    CAIRN_ASSIGN_OR_RETURN(Value order, reverseOrder(op, a));
    Value xr, ysr;
    if (order) {
      CAIRN_ASSIGN_OR_RETURN(xr, reordered(op, a.x, order, a, a.I));
      CAIRN_ASSIGN_OR_RETURN(ysr, allocate(types[0]));
      a.x = xr.data(), a.ys = ysr.data();
    }
    if (Status s = dev_.rnn(a); !s.isOk()) return opError(op, s);
    ++stats_.rnnCalls;
    if (order)
      CAIRN_RETURN_IF_ERROR(reorderRows(op, ysr.data(), order, outs[0].data(), a.T * a.B, a.H));
    for (size_t r = 0; r < outs.size(); ++r)
      set(in.results[r], std::move(outs[r]));
    return Status::ok();
  }

  /// An `rnn_grad` op as one Device::rnnBackward call (cuDNN's backward on
  /// a GPU), a reverse op's x, d_ys and dx rows reordered around it.
  Status execRnnGrad(const Instruction& in) {
    const Op& op = *in.op;
    RnnArgs a;
    CAIRN_ASSIGN_OR_RETURN(bool fits, describeRnn(in, a));
    if (!fits || in.results.size() != (a.lstm ? 7u : 6u)) return execOnHostAlways(in);
    const int64_t G = a.lstm ? 4 : 3;
    const size_t layer = a.lstm ? 8 : 7;
    const TensorType state(DType::F32, {a.B, a.H}), seq(DType::F32, {a.T, a.B, a.H});
    std::vector<TensorType> types{TensorType(DType::F32, {a.T, a.B, a.I}), state};
    if (a.lstm) types.push_back(state);
    for (Shape s : {Shape{G * a.H, a.I}, Shape{G * a.H, a.H}, Shape{G * a.H}, Shape{G * a.H}})
      types.push_back(TensorType(DType::F32, s));
    CAIRN_ASSIGN_OR_RETURN(std::vector<Value> outs, allocateResults(in, types));
    // The forward's results: scratch the call recomputes (cuDNN's backward
    // reads y), freed with this instruction.
    std::vector<Value> scratch;
    for (const TensorType& t : a.lstm ? std::vector<TensorType>{seq, state, state}
                                      : std::vector<TensorType>{seq, state}) {
      CAIRN_ASSIGN_OR_RETURN(Value v, allocate(t));
      scratch.push_back(std::move(v));
    }
    RnnBackwardArgs g;
    a.ys = scratch[0].data(), a.hn = scratch[1].data(), a.cn = a.lstm ? scratch[2].data() : nullptr;
    g.dys = get(in.operands[layer]).data();
    g.dhn = get(in.operands[layer + 1]).data();
    g.dcn = a.lstm ? get(in.operands[layer + 2]).data() : nullptr;
    size_t r = 0;
    g.dx = outs[r++].data(), g.dh0 = outs[r++].data();
    g.dc0 = a.lstm ? outs[r++].data() : nullptr;
    g.dwIh = outs[r++].data(), g.dwHh = outs[r++].data(), g.dbIh = outs[r++].data(),
    g.dbHh = outs[r++].data();
    CAIRN_ASSIGN_OR_RETURN(Value order, reverseOrder(op, a));
    Value xr, dysr, dxr;
    if (order) {
      CAIRN_ASSIGN_OR_RETURN(xr, reordered(op, a.x, order, a, a.I));
      CAIRN_ASSIGN_OR_RETURN(dysr, reordered(op, g.dys, order, a, a.H));
      CAIRN_ASSIGN_OR_RETURN(dxr, allocate(types[0]));
      a.x = xr.data(), g.dys = dysr.data(), g.dx = dxr.data();
    }
    g.forward = std::move(a);
    if (Status s = dev_.rnnBackward(g); !s.isOk()) return opError(op, s);
    ++stats_.rnnBackwardCalls;
    if (order)
      CAIRN_RETURN_IF_ERROR(
          reorderRows(op, dxr.data(), order, outs[0].data(), g.forward.T * g.forward.B, g.forward.I));
    for (size_t k = 0; k < outs.size(); ++k)
      set(in.results[k], std::move(outs[k]));
    return Status::ok();
  }

  /// dst row r = src row order[r], `rows` f32 rows of `width`: the row
  /// gather kernel over [rows, width].
  Status reorderRows(const Op& op, const void* src, const Value& order, void* dst, int64_t rows,
                     int64_t width) {
    RowKernelDesc desc;
    const KernelHandle* kernel = nullptr;
    if (rowKernelFor(RowKernelKind::Gather, DType::F32, DType::I32, &desc))
      kernel = exe_.rowKernel(desc);
    if (!kernel) return opError(op, "internal error: no row gather kernel for the reverse rnn");
    Status launched = launchElementwise(
        dev_, *kernel, {const_cast<void*>(src), order.data(), dst, s_.errorFlag.data()},
        {1, 1, rows, rows, width, tagFor(op)}, rows * width);
    if (!launched.isOk()) return opError(op, launched);
    ++stats_.rowLaunches;
    return Status::ok();
  }

  /// `declared` with its `?` dims taken from the size operands from
  /// `firstSize` on; false where the host does not know one.
  bool knownShape(const Instruction& in, const TensorType& declared, size_t firstSize,
                  Shape* shape) const {
    *shape = declared.shape;
    for (size_t d = 0, next = firstSize; d < shape->size(); ++d) {
      if ((*shape)[d] != kDynamic) continue;
      if (next >= in.operands.size() || !get(in.operands[next]).known) return false;
      (*shape)[d] = *get(in.operands[next++]).known;
      if ((*shape)[d] < 0) return false; // the reference's error to give
    }
    return true;
  }

  /// A row kernel's launch for `in`'s one result of `type` (checked against
  /// the declared type), counted.
  Status launchRowKernel(const Instruction& in, const KernelHandle& kernel,
                         std::vector<void*> buffers, const TensorType& type,
                         const std::vector<int64_t>& scalars) {
    CAIRN_RETURN_IF_ERROR(checkResult(in, 0, type));
    CAIRN_ASSIGN_OR_RETURN(Value out, allocate(type));
    buffers.push_back(out.data());
    Status launched = launchElementwise(dev_, kernel, buffers, scalars, type.numElements());
    if (!launched.isOk()) return opError(*in.op, launched);
    ++stats_.rowLaunches;
    set(in.results[0], std::move(out));
    return Status::ok();
  }

  /// transpose and broadcast as one strided copy (RowKernels.h); ranks over
  /// kMaxStridedRank, sizes the host does not know and shapes the reference
  /// must judge on the host.
  Status execStrided(const Instruction& in) {
    const Op& op = *in.op;
    const Value& x = get(in.operands[0]);
    const Shape& xs = x.type.shape;
    const size_t rank = xs.size();
    std::vector<int64_t> xStride(rank);
    for (size_t d = rank, s = 1; d-- > 0;) {
      xStride[d] = static_cast<int64_t>(s);
      s *= static_cast<size_t>(xs[d]);
    }
    Shape out;
    std::vector<int64_t> strides;
    if (op.kind() == OpKind::Transpose) {
      std::vector<int64_t> perm = op.getIntsOr("perm", {});
      std::vector<bool> seen(rank, false);
      if (perm.size() != rank) return execOnHostAlways(in);
      for (int64_t p : perm) {
        if (p < 0 || static_cast<size_t>(p) >= rank || seen[size_t(p)]) return execOnHostAlways(in);
        seen[size_t(p)] = true;
        out.push_back(xs[size_t(p)]);
        strides.push_back(xStride[size_t(p)]);
      }
    } else {
      if (!knownShape(in, op.result()->type, 1, &out)) return execOnHostAlways(in);
      std::vector<int64_t> dflt; // numpy's trailing alignment, as the reference
      for (size_t i = 0; i < rank; ++i)
        dflt.push_back(static_cast<int64_t>(out.size() - rank + i));
      std::vector<int64_t> dims = op.getIntsOr("dims", dflt);
      if (dims.size() != rank) return execOnHostAlways(in);
      strides.assign(out.size(), 0); // new and repeated dims: stride 0
      for (size_t i = 0; i < rank; ++i) {
        int64_t j = dims[i];
        if (j < 0 || static_cast<size_t>(j) >= out.size() || (i && j <= dims[i - 1]))
          return execOnHostAlways(in);
        if (xs[i] == out[size_t(j)])
          strides[size_t(j)] = xStride[i];
        else if (xs[i] != 1)
          return execOnHostAlways(in);
      }
    }
    RowKernelDesc desc;
    const KernelHandle* kernel = nullptr;
    if (out.size() <= size_t(kMaxStridedRank) &&
        rowKernelFor(RowKernelKind::Strided, x.type.dtype, DType::I32, &desc))
      kernel = exe_.rowKernel(desc);
    TensorType type(x.type.dtype, out);
    if (!kernel || !interp::typeMismatch(op.result()->type, type).empty())
      return execOnHostAlways(in);
    // Padded with leading dims of size 1.
    std::vector<int64_t> scalars(size_t(kMaxStridedRank) - out.size(), 1);
    scalars.insert(scalars.end(), out.begin(), out.end());
    scalars.insert(scalars.end(), size_t(kMaxStridedRank) - out.size(), 0);
    scalars.insert(scalars.end(), strides.begin(), strides.end());
    return launchRowKernel(in, *kernel, {x.data()}, type, scalars);
  }

  /// iota: each element's coordinate along the axis, on the device.
  Status execIota(const Instruction& in) {
    const Op& op = *in.op;
    Shape shape;
    int64_t axis = op.getIntOr("axis", 0);
    const TensorType& declared = op.result()->type;
    RowKernelDesc desc;
    const KernelHandle* kernel = nullptr;
    if (rowKernelFor(RowKernelKind::Iota, declared.dtype, DType::I32, &desc))
      kernel = exe_.rowKernel(desc);
    if (!kernel || !knownShape(in, declared, 0, &shape) || axis < 0 ||
        axis >= static_cast<int64_t>(shape.size()))
      return execOnHostAlways(in);
    int64_t inner = 1;
    for (size_t d = size_t(axis) + 1; d < shape.size(); ++d)
      inner *= shape[d];
    return launchRowKernel(in, *kernel, {}, TensorType(declared.dtype, shape),
                           {shape[size_t(axis)], std::max<int64_t>(inner, 1)});
  }

  /// Operands down, the reference kernels on the host, results up.
  Status execOnHostAlways(const Instruction& in) {
    const Op& op = *in.op;
    if (recording_) return needsHost(fmt::format("'{}' runs on the host", op.name()));
    ++stats_.hostOps;
    ++stats_.hostOpsByName[std::string(op.name())];
    std::vector<Tensor> args;
    for (Slot s : in.operands) {
      CAIRN_ASSIGN_OR_RETURN(Tensor t, hostValue(get(s)));
      args.push_back(std::move(t));
    }
    CAIRN_ASSIGN_OR_RETURN(std::vector<Tensor> r, evaluateOnHost(in, args));
    for (size_t i = 0; i < r.size(); ++i) {
      CAIRN_ASSIGN_OR_RETURN(Value v, uploadKnown(r[i]));
      set(in.results[i], std::move(v));
    }
    return Status::ok();
  }

  /// `v` on the host: a size the host has without a copy, else downloaded.
  StatusOr<Tensor> hostValue(const Value& v) {
    if (v.known) return Tensor::scalar(v.type.dtype, static_cast<double>(*v.known));
    return download(v);
  }

  /// `in`'s op on the host (a call or fusion through the interpreter, else
  /// the reference kernels), its results checked against the op's.
  StatusOr<std::vector<Tensor>> evaluateOnHost(const Instruction& in,
                                               const std::vector<Tensor>& args) {
    const Op& op = *in.op;
    StatusOr<std::vector<Tensor>> r = Status::error("unreached");
    if (op.kind() == OpKind::Call || op.kind() == OpKind::Fusion) {
      InterpreterOptions io;
      io.defaultMaxTrip = opts_.defaultMaxTrip;
      io.limits = opts_.limits;
      r = evaluateOp(op, args, io);
      if (!r.isOk()) return r.status();
    } else {
      std::vector<const Tensor*> ptrs;
      for (const Tensor& t : args)
        ptrs.push_back(&t);
      r = interp::evalSimpleOp(op, ptrs, opts_.limits.maxBytes);
      if (!r.isOk()) return opError(op, r.status());
    }
    if (r->size() != in.results.size())
      return opError(
          op, fmt::format("produced {} values for {} results", r->size(), in.results.size()));
    for (size_t i = 0; i < r->size(); ++i)
      CAIRN_RETURN_IF_ERROR(checkResult(in, i, (*r)[i].type()));
    return r;
  }

  /// Uploads `t`, remembering an integer scalar's value on the host.
  StatusOr<Value> uploadKnown(const Tensor& t) {
    CAIRN_ASSIGN_OR_RETURN(Value v, upload(t));
    if (t.rank() == 0 && isInteger(t.dtype())) v.known = t.getInt(0);
    return v;
  }

  /// `dim` reads a shape the host has: no copy down.
  Status execDim(const Instruction& in) {
    const Op& op = *in.op;
    const Value& x = get(in.operands[0]);
    int64_t axis = op.getIntOr("axis", 0);
    const TensorType& type = op.result()->type;
    if (axis < 0 || axis >= x.type.rank() || !isInteger(type.dtype)) return execOnHostAlways(in);
    return setScalar(in.results[0], type.dtype, x.type.shape[static_cast<size_t>(axis)]);
  }

  /// An integer scalar computed on the host, uploaded once per value.
  Status setScalar(Slot slot, DType dtype, int64_t value) {
    auto key = std::make_pair(dtype, value);
    auto it = s_.scalars.find(key);
    if (it == s_.scalars.end()) {
      CAIRN_ASSIGN_OR_RETURN(Value v,
                             uploadKnown(Tensor::scalar(dtype, static_cast<double>(value))));
      it = s_.scalars.emplace(key, std::move(v)).first;
    }
    set(slot, it->second);
    return Status::ok();
  }

  /// concat along an axis: one 2-D copy per operand into its slab of the
  /// result ([outer, axis_i * inner] rows into [outer, sum * inner]).
  Status execConcat(const Instruction& in) {
    const Op& op = *in.op;
    int64_t axis = op.getIntOr("axis", 0);
    if (in.operands.empty()) return execOnHostAlways(in);
    const TensorType& first = get(in.operands[0]).type;
    if (axis < 0 || axis >= first.rank()) return execOnHostAlways(in);
    size_t a = static_cast<size_t>(axis);
    Shape shape = first.shape;
    shape[a] = 0;
    for (Slot s : in.operands) {
      const TensorType& t = get(s).type;
      if (t.dtype != first.dtype || t.rank() != first.rank()) return execOnHostAlways(in);
      for (size_t d = 0; d < shape.size(); ++d)
        if (d != a && t.shape[d] != first.shape[d]) return execOnHostAlways(in);
      shape[a] += t.shape[a];
    }
    TensorType type(first.dtype, shape);
    if (!interp::typeMismatch(op.result()->type, type).empty()) return execOnHostAlways(in);
    CAIRN_ASSIGN_OR_RETURN(Value out, allocate(type));
    int64_t outer = 1, inner = dtypeSize(first.dtype);
    for (size_t d = 0; d < a; ++d)
      outer *= shape[d];
    for (size_t d = a + 1; d < shape.size(); ++d)
      inner *= shape[d];
    size_t dstPitch = static_cast<size_t>(shape[a] * inner), offset = 0;
    for (Slot s : in.operands) {
      const Value& v = get(s);
      size_t width = static_cast<size_t>(v.type.shape[a] * inner);
      CAIRN_RETURN_IF_ERROR(dev_.copyOnDevice2D(static_cast<std::byte*>(out.data()) + offset,
                                                dstPitch, v.data(), width, width,
                                                static_cast<size_t>(outer)));
      offset += width;
    }
    ++stats_.rowLaunches;
    set(in.results[0], std::move(out));
    return Status::ok();
  }

  // reshape and stop_gradient keep the bytes: the result shares the buffer
  // when its shape is static; a reshape to sizes given at run time asks the
  // reference.
  Status execAlias(const Instruction& in) {
    const TensorType& declared = in.op->result()->type;
    const Value& x = get(in.operands[0]);
    TensorType type = in.op->kind() == OpKind::Reshape ? declared : x.type;
    // A reshape's `?` sizes follow as operands: the host knows them when
    // they are dims or sizes it computed.
    if (in.op->kind() == OpKind::Reshape && !knownShape(in, declared, 1, &type.shape))
      return execOnHost(in);
    if (!type.hasStaticShape() || type.numElements() != x.type.numElements() ||
        type.dtype != x.type.dtype)
      return execOnHost(in);
    CAIRN_RETURN_IF_ERROR(checkResult(in, 0, type));
    ++stats_.aliases;
    // A known integer scalar stays known (reshaped to rank 0: a size).
    std::optional<int64_t> known = type.rank() == 0 ? x.known : std::nullopt;
    set(in.results[0], Value{type, x.buf, known});
    return Status::ok();
  }

  Status execConstant(const Instruction& in) {
    const Tensor* c = &p_.constants[static_cast<size_t>(in.constant)];
    auto it = s_.constants.find(c);
    if (it == s_.constants.end()) {
      CAIRN_ASSIGN_OR_RETURN(Value v, uploadKnown(*c));
      it = s_.constants.emplace(c, std::move(v)).first;
    }
    set(in.results[0], it->second);
    return Status::ok();
  }

  Status execWhile(const Instruction& in) {
    const Op& op = *in.op;
    if (recording_) return needsHost("a loop inside the loop");
    size_t n = in.carried.size();
    bool hasMaxTrip = in.operands.size() == n + 1;
    int64_t maxTrip = opts_.defaultMaxTrip;
    if (hasMaxTrip) {
      const Value& m = get(in.operands[n]);
      if (m.type.rank() != 0 || !isInteger(m.type.dtype))
        return opError(op, "max_trip must be an i32 or i64 scalar");
      if (m.known) {
        maxTrip = *m.known;
      } else {
        CAIRN_ASSIGN_OR_RETURN(Tensor t, download(m));
        maxTrip = t.getInt(0);
      }
    }
    bool bounded = hasMaxTrip || opts_.defaultMaxTrip > 0;
    std::vector<Value> init;
    for (size_t i = 0; i < n; ++i)
      init.push_back(take(in.operands[i], in.moveInit[i]));
    for (size_t i = 0; i < n; ++i) {
      std::string m = interp::typeMismatch(op.result(i)->type, init[i].type);
      if (!m.empty()) return opError(op, fmt::format("initial value #{}: {}", i, m));
    }
    // On the device when it can be recorded. A loop with no trip bound stays
    // on the host when the run has a deadline or can be cancelled: the host
    // checks those between iterations, a recorded loop only after it.
    auto recordable = [&] {
      return opts_.loopGraphs && dev_.supportsLoopGraphs() && !s_.hostLoops.count(&in) &&
             (bounded || !opts_.limits.timed());
    };
    if (recordable() && !s_.peeledLoops.count(&in)) {
      CAIRN_ASSIGN_OR_RETURN(bool ran,
                             runRecordedWhile(in, init, bounded ? maxTrip : -1, hasMaxTrip));
      if (ran) return Status::ok();
    }
    for (size_t i = 0; i < n; ++i)
      set(in.carried[i], std::move(init[i]));
    const Block& cond = in.blocks[0];
    const Block& body = in.blocks[1];
    for (int64_t trips = 0;; ++trips) {
      CAIRN_RETURN_IF_ERROR(runBlock(cond));
      CAIRN_ASSIGN_OR_RETURN(bool more,
                             readCondition(op, get(cond.yields[0]), "the cond region's yield"));
      if (cond.moveYield[0]) s_.frame[static_cast<size_t>(cond.yields[0])] = Value();
      if (!more) break;
      if (bounded && trips >= maxTrip) return exec::maxTripExceeded(op, maxTrip, hasMaxTrip);
      CAIRN_RETURN_IF_ERROR(runBlock(body));
      ++stats_.whileIterations;
      CAIRN_RETURN_IF_ERROR(setCarried(in, takeYields(body)));
      if (trips == 0 && s_.peeledLoops.count(&in) && recordable()) {
        // The first iteration settled the carried types: the rest as a
        // recorded loop, one trip fewer allowed.
        std::vector<Value> rest;
        for (size_t i = 0; i < n; ++i)
          rest.push_back(take(in.carried[i], true));
        ++stats_.peeledIterations;
        CAIRN_ASSIGN_OR_RETURN(
            bool ran, runRecordedWhile(in, rest, bounded ? maxTrip - 1 : -1, hasMaxTrip, 1));
        if (ran) return Status::ok();
        for (size_t i = 0; i < n; ++i)
          set(in.carried[i], std::move(rest[i]));
      }
    }
    return Status::ok();
  }

  Status setCarried(const Instruction& in, std::vector<Value> next) {
    for (size_t i = 0; i < next.size(); ++i) {
      std::string m = interp::typeMismatch(in.op->result(i)->type, next[i].type);
      if (!m.empty()) return opError(*in.op, fmt::format("body yield #{}: {}", i, m));
      set(in.carried[i], std::move(next[i]));
    }
    return Status::ok();
  }

  // ---- Loops recorded as device graphs ----

  /// Runs the loop as a recorded graph (recording it first where no
  /// recorded form fits); false when it needs the host (remembered: the
  /// host-synchronized loop runs it from then on).
  StatusOr<bool> runRecordedWhile(const Instruction& in, const std::vector<Value>& init,
                                  int64_t maxTrip, bool hasMaxTrip, int64_t peeled = 0) {
    LoopGraph* g = findRecorded(in, init, maxTrip);
    if (!g && ++s_.recordings[&in] > kMaxRecordingsPerLoop) {
      s_.hostLoops.insert(&in);
      ++stats_.hostLoops["recorded too often: its sizes or host-known values keep changing"];
      return false;
    }
    if (!g) {
      CAIRN_ASSIGN_OR_RETURN(g, record(in, init, maxTrip));
      if (!g) return false;
      g->peeled = peeled;
    }
    CAIRN_RETURN_IF_ERROR(launchRecorded(in, *g, init, hasMaxTrip));
    return true;
  }

  /// A recorded form of `in` for these carried types, trip bound and outer
  /// values: the same buffers, or values that can be copied into the held
  /// ones (the same type and host-known value; nothing else holds the
  /// held buffer).
  LoopGraph* findRecorded(const Instruction& in, const std::vector<Value>& init, int64_t maxTrip) {
    auto it = s_.loopGraphs.find(&in);
    if (it == s_.loopGraphs.end()) return nullptr;
    for (const std::unique_ptr<LoopGraph>& g : it->second) {
      bool fits = g->maxTrip == maxTrip && g->carriedTypes.size() == init.size();
      for (size_t i = 0; fits && i < init.size(); ++i)
        fits = g->carriedTypes[i] == init[i].type;
      for (const LoopGraph::Outer& o : g->outer) {
        if (!fits) break;
        const Value& now = get(o.slot);
        fits = now && now.type == o.held.type && now.known == o.held.known &&
               (now.buf == o.held.buf || o.held.buf.use_count() == graphHolders(o.held.buf));
      }
      if (fits) return g.get();
    }
    return nullptr;
  }

  /// How many recorded loops hold `buf` as an outer value. A buffer only
  /// they hold may take a later run's value: each copies its own in before
  /// it runs.
  long graphHolders(const std::shared_ptr<Buffer>& buf) const {
    long n = 0;
    for (const auto& [inst, forms] : s_.loopGraphs)
      for (const std::unique_ptr<LoopGraph>& g : forms)
        for (const LoopGraph::Outer& o : g->outer)
          n += o.held.buf == buf;
    return n;
  }

  /// Stops recording: the loop needs the host for `reason`.
  Status needsHost(std::string reason) {
    hostReason_ = std::move(reason);
    return Status::error(hostReason_);
  }
  /// needsHost because a carried type is not settled yet: from its second
  /// iteration on, the loop may be recordable (peeledLoops).
  Status needsSettledTypes(std::string reason) {
    unsettled_ = true;
    return needsHost(std::move(reason));
  }

  /// Records `in` (Device.h's protocol); null when it needs the host.
  StatusOr<LoopGraph*> record(const Instruction& in, const std::vector<Value>& init,
                              int64_t maxTrip) {
    auto g = std::make_unique<LoopGraph>();
    g->pool = s_.pool.get();
    g->maxTrip = maxTrip;
    std::set<Slot> defs(in.carried.begin(), in.carried.end()), uses;
    for (const Block& b : in.blocks) {
      collectDefs(b, defs);
      collectUses(b, uses);
    }
    for (Slot s : uses)
      if (!defs.count(s)) {
        if (!get(s)) return Status::error("internal error: a loop reads a value never written");
        g->outer.push_back({s, get(s)});
      }
    CAIRN_ASSIGN_OR_RETURN(g->state, allocate(TensorType(DType::I64, {2})));
    std::vector<Value> carried;
    for (const Value& v : init) {
      CAIRN_ASSIGN_OR_RETURN(Value c, allocate(v.type));
      g->carriedTypes.push_back(v.type);
      g->carried.push_back(c.data());
      carried.push_back(std::move(c));
    }

    s_.pool->retain = &g->owned;
    recording_ = true;
    hostReason_.clear();
    unsettled_ = false;
    bool faultsBefore = rowFaultsPossible_;
    rowFaultsPossible_ = false;
    Status recorded = recordWhile(in, *g, std::move(carried));
    g->rowOps = rowFaultsPossible_;
    rowFaultsPossible_ = faultsBefore || g->rowOps;
    for (Slot s : defs) // the loop's values: the recording's buffers from now on
      s_.frame[static_cast<size_t>(s)] = Value();
    recording_ = false;
    s_.pool->retain = nullptr;
    if (!recorded.isOk()) {
      dev_.abortCapture(); // nothing recorded ran: the buffers return to the pool with g
      std::string reason = hostReason_.empty() ? recorded.message() : hostReason_;
      if (unsettled_ && s_.peeledLoops.insert(&in).second) return nullptr; // try from trip 2
      s_.hostLoops.insert(&in);
      ++stats_.hostLoops[reason];
      return nullptr;
    }
    std::vector<std::unique_ptr<LoopGraph>>& forms = s_.loopGraphs[&in];
    if (forms.size() >= kGraphsPerLoop) forms.erase(forms.begin());
    forms.push_back(std::move(g));
    ++stats_.loopRecordings;
    return forms.back().get();
  }

  /// The loop's work issued into the recording: the condition, then the
  /// body, the yields into the carried buffers and the condition again.
  Status recordWhile(const Instruction& in, LoopGraph& g, std::vector<Value> carried) {
    const Block& body = in.blocks[1];
    std::vector<std::weak_ptr<Buffer>> carriedBufs;
    for (size_t i = 0; i < carried.size(); ++i) {
      carriedBufs.push_back(carried[i].buf);
      set(in.carried[i], std::move(carried[i])); // alone in the frame: updates go in place
    }
    CAIRN_RETURN_IF_ERROR(dev_.beginWhileCapture());
    CAIRN_RETURN_IF_ERROR(recordCondition(in, g));
    CAIRN_RETURN_IF_ERROR(dev_.beginWhileBody());
    CAIRN_RETURN_IF_ERROR(runBlock(body));
    std::vector<Value> next = takeYields(body);
    for (size_t i = 0; i < next.size(); ++i) {
      if (next[i].type != g.carriedTypes[i])
        return needsSettledTypes(fmt::format("carried value #{} changes its type", i));
      for (size_t j = 0; j < next.size(); ++j)
        if (j != i && next[j].data() == g.carried[i])
          return needsHost("the body yields one carried value as another");
    }
    for (size_t i = 0; i < next.size(); ++i) {
      if (next[i].data() != g.carried[i])
        CAIRN_RETURN_IF_ERROR(
            dev_.copyOnDevice(g.carried[i], next[i].data(), byteSize(g.carriedTypes[i])));
      std::shared_ptr<Buffer> b = carriedBufs[i].lock();
      if (!b) { // released in the body: held by the recording, wrapped again
        size_t bytes = std::max<size_t>(byteSize(g.carriedTypes[i]), 1);
        s_.pool->liveBytes += static_cast<int64_t>(bytes);
        b = std::make_shared<Buffer>(s_.pool, g.carried[i], bytes);
      }
      next[i] = Value{g.carriedTypes[i], std::move(b), std::nullopt};
    }
    CAIRN_RETURN_IF_ERROR(setCarried(in, std::move(next)));
    CAIRN_RETURN_IF_ERROR(recordCondition(in, g));
    CAIRN_ASSIGN_OR_RETURN(g.graph, dev_.endWhileCapture());
    return Status::ok();
  }

  Status recordCondition(const Instruction& in, LoopGraph& g) {
    const Block& cond = in.blocks[0];
    CAIRN_RETURN_IF_ERROR(runBlock(cond));
    const Value& c = get(cond.yields[0]);
    if (c.type.dtype != DType::I1 || c.type.rank() != 0)
      return opError(*in.op, "the cond region's yield must be one i1 scalar");
    CAIRN_RETURN_IF_ERROR(dev_.loopControl(c.data(), g.state.data(), g.maxTrip));
    if (cond.moveYield[0]) s_.frame[static_cast<size_t>(cond.yields[0])] = Value();
    return Status::ok();
  }

  /// One launch of a recorded loop: this run's outer and initial values
  /// into its buffers, the graph, the trip count back (the one host read),
  /// the final carried values out into values of their own.
  Status launchRecorded(const Instruction& in, LoopGraph& g, const std::vector<Value>& init,
                        bool hasMaxTrip) {
    for (const LoopGraph::Outer& o : g.outer) {
      const Value& now = get(o.slot);
      if (now.buf != o.held.buf)
        CAIRN_RETURN_IF_ERROR(dev_.copyOnDevice(o.held.data(), now.data(), byteSize(now.type)));
    }
    for (size_t i = 0; i < init.size(); ++i)
      CAIRN_RETURN_IF_ERROR(
          dev_.copyOnDevice(g.carried[i], init[i].data(), byteSize(g.carriedTypes[i])));
    CAIRN_RETURN_IF_ERROR(dev_.fillZero(g.state.data(), 2 * sizeof(int64_t)));
    if (Status s = g.graph->launch(); !s.isOk()) return opError(*in.op, s);
    ++stats_.graphLaunches;
    int64_t state[2] = {0, 0};
    CAIRN_RETURN_IF_ERROR(dev_.copyToHost(state, g.state.data(), sizeof state));
    stats_.bytesToHost += static_cast<int64_t>(sizeof state);
    stats_.whileIterations += state[0];
    rowFaultsPossible_ = rowFaultsPossible_ || g.rowOps;
    CAIRN_RETURN_IF_ERROR(checkErrorFlag());
    if (state[1]) return exec::maxTripExceeded(*in.op, g.maxTrip + g.peeled, hasMaxTrip);
    for (size_t i = 0; i < init.size(); ++i) {
      CAIRN_ASSIGN_OR_RETURN(Value out, allocate(g.carriedTypes[i]));
      CAIRN_RETURN_IF_ERROR(
          dev_.copyOnDevice(out.data(), g.carried[i], byteSize(g.carriedTypes[i])));
      set(in.carried[i], std::move(out));
    }
    return Status::ok();
  }

  /// An `if` inside a loop being recorded: both branches recorded, each as
  /// an IF node (Device::beginIf) that runs when the condition says so;
  /// each writes its yields into the same result buffers. The condition is
  /// copied first into a byte of the recording's own, which no branch
  /// writes. The branches must yield the same types (the results' buffers
  /// are made before either runs).
  Status recordIf(const Instruction& in) {
    const Op& op = *in.op;
    const Value& c = get(in.operands[0]);
    if (c.type.dtype != DType::I1 || c.type.rank() != 0)
      return opError(op, "the condition must be one i1 scalar");
    CAIRN_ASSIGN_OR_RETURN(Value control, allocate(c.type));
    CAIRN_RETURN_IF_ERROR(dev_.copyOnDevice(control.data(), c.data(), 1));
    // Each branch starts from the values the if sees: what the then branch
    // moves out of a slot, the else branch still reads (and the extra
    // holders keep either from updating a shared operand in place).
    const std::vector<Value> before = s_.frame;
    std::vector<Value> results;
    for (int branch = 0; branch < 2; ++branch) {
      if (branch == 1) s_.frame = before;
      const Block& b = in.blocks[static_cast<size_t>(branch)];
      CAIRN_RETURN_IF_ERROR(dev_.beginIf(control.data(), /*negate=*/branch == 1));
      CAIRN_RETURN_IF_ERROR(runBlock(b));
      std::vector<Value> out = takeYields(b);
      for (size_t i = 0; i < out.size(); ++i) {
        std::string m = interp::typeMismatch(op.result(i)->type, out[i].type);
        if (!m.empty())
          return opError(op, fmt::format("{} yield #{}: {}", branch ? "else" : "then", i, m));
        if (branch == 0) {
          CAIRN_ASSIGN_OR_RETURN(Value r, allocate(out[i].type));
          results.push_back(std::move(r));
        } else if (out[i].type != results[i].type) {
          return needsSettledTypes(
              fmt::format("the branches of an `if` yield #{} of different shapes", i));
        }
        CAIRN_RETURN_IF_ERROR(
            dev_.copyOnDevice(results[i].data(), out[i].data(), byteSize(out[i].type)));
      }
      CAIRN_RETURN_IF_ERROR(dev_.endIf());
    }
    ++stats_.recordedIfs;
    for (size_t i = 0; i < results.size(); ++i)
      set(in.results[i], std::move(results[i]));
    return Status::ok();
  }

  Status execIf(const Instruction& in) {
    const Op& op = *in.op;
    // Decided on the device, inside a loop being recorded, unless the host
    // knows the condition (then that branch alone is recorded: the value is
    // part of what the recording is kept for).
    const Value& c = get(in.operands[0]);
    if (recording_ && !c.known) return recordIf(in);
    bool taken = false;
    if (recording_) {
      taken = *c.known != 0;
    } else {
      CAIRN_ASSIGN_OR_RETURN(taken, readCondition(op, c, "the condition"));
    }
    const Block& b = in.blocks[taken ? 0 : 1];
    CAIRN_RETURN_IF_ERROR(runBlock(b));
    std::vector<Value> out = takeYields(b);
    for (size_t i = 0; i < b.yields.size(); ++i) {
      Value v = std::move(out[i]);
      std::string m = interp::typeMismatch(op.result(i)->type, v.type);
      if (!m.empty())
        return opError(op, fmt::format("{} yield #{}: {}", taken ? "then" : "else", i, m));
      set(in.results[i], std::move(v));
    }
    return Status::ok();
  }

  const DeviceExecutable& exe_;
  Device& dev_;
  const exec::LoweredFunction& p_;
  DeviceContext::State& s_;
  DeviceStats& stats_;
  const DeviceRunOptions& opts_;
  bool rowFaultsPossible_ = false; ///< a row kernel ran since the flag was cleared
  bool recording_ = false;         ///< a loop is being recorded (record)
  const Op* current_ = nullptr;    ///< the op running (names why a loop needs the host)
  std::string hostReason_;         ///< why the loop being recorded needs the host
  bool unsettled_ = false;         ///< ... because a carried type has not settled
  /// Kernels a GEMM ran as its epilogue, not reached yet: kernel -> the
  /// product's slot, which holds their result.
  std::map<const Instruction*, Slot> epilogueDone_;
};

DeviceExecutable::DeviceExecutable(std::unique_ptr<Module> module, exec::LoweredFunctions programs,
                                   std::shared_ptr<Device> device,
                                   std::vector<KernelHandle> kernels,
                                   std::vector<KernelHandle> rowKernels)
    : module_(std::move(module)), programs_(std::move(programs)), device_(std::move(device)),
      kernels_(std::move(kernels)), rowKernels_(std::move(rowKernels)),
      epilogues_(planGemmEpilogues(programs_)) {
  static std::atomic<uint64_t> next{1};
  serial_ = next++;
}

const KernelHandle* DeviceExecutable::rowKernel(const RowKernelDesc& k) const {
  const std::vector<RowKernelDesc>& all = allRowKernels();
  for (size_t i = 0; i < all.size() && i < rowKernels_.size(); ++i)
    if (all[i] == k) return &rowKernels_[i];
  return nullptr;
}

DeviceExecutable::~DeviceExecutable() = default;

const exec::LoweredFunction* DeviceExecutable::program(std::string_view name) const {
  auto it = programs_.find(name);
  return it == programs_.end() ? nullptr : &it->second;
}

StatusOr<std::vector<Tensor>> DeviceExecutable::run(std::string_view name,
                                                    const std::vector<Tensor>& inputs,
                                                    DeviceContext& ctx,
                                                    const DeviceRunOptions& options) const {
  const exec::LoweredFunction* p = program(name);
  if (!p) return errorf("error: no function @{} in the module", name);
  return DeviceRunner(*this, *p, ctx, options).run(inputs);
}

StatusOr<std::vector<DeviceTensor>>
DeviceExecutable::runOnDevice(std::string_view name, const std::vector<DeviceArg>& inputs,
                              DeviceContext& ctx, const DeviceRunOptions& options) const {
  const exec::LoweredFunction* p = program(name);
  if (!p) return errorf("error: no function @{} in the module", name);
  return DeviceRunner(*this, *p, ctx, options).runOnDevice(inputs);
}

StatusOr<DeviceTensor> DeviceExecutable::upload(const Tensor& t, DeviceContext& ctx) const {
  if (programs_.empty()) return Status::error("error: the executable has no function");
  DeviceRunOptions options;
  return DeviceRunner(*this, programs_.begin()->second, ctx, options).uploadTensor(t);
}

StatusOr<Tensor> DeviceTensor::download() const {
  if (!impl_) return Status::error("error: download of an empty DeviceTensor");
  const detail::Value& v = impl_->value;
  Tensor t(v.type);
  CAIRN_RETURN_IF_ERROR(v.buf->pool->device->copyToHost(t.rawData(), v.data(), t.byteSize()));
  return t;
}

StatusOr<std::vector<Tensor>> DeviceExecutable::run(std::string_view name,
                                                    const std::vector<Tensor>& inputs,
                                                    const DeviceRunOptions& options) const {
  DeviceContext ctx;
  return run(name, inputs, ctx, options);
}

} // namespace cairn::device
