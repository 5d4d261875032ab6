// The executor: runs a LoweredFunction's instructions over a frame of value slots.
//
// A slot holds a value either as a buffer it owns or as a view of a tensor
// it does not (a function input, a constant of the program). Taking a value
// out of a slot (an in-place update, a while's carried value, a result)
// moves an owned buffer and copies a view; every copy is counted. Released
// buffers go to the context's pool, keyed by byte size, and the next
// instruction that needs that size reuses them.
#include "runtime/exec/Executable.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

#include <fmt/format.h>

#include "ir/Diagnostic.h"
#include "kernels/cpu/Indexing.h"
#include "kernels/cpu/Reduce.h"
#include "kernels/cpu/Shape.h"
#include "kernels/reference/Indexing.h"
#include "runtime/exec/Blas.h"
#include "runtime/RunLimits.h"
#include "runtime/exec/Gemm.h"
#include "runtime/exec/SideThread.h"
#include "runtime/exec/SplitWork.h"
#include "runtime/reference/Interpreter.h"
#include "runtime/reference/OpEval.h"

namespace cairn::exec {

namespace {

/// Elements per part when a kernel splits over threads: a [64, 256] GRU
/// cell (16,384 outputs, ~20 us) splits in two, a bias row does not. Parts
/// start at multiples of 16 elements (a cache line of f32).
constexpr int64_t kKernelGrain = 8192;
constexpr int64_t kSplitAlign = 16;
/// A gather splits by rows, 32 KiB of them per part at least; an argmax by
/// its rows too, 16,384 elements read per part at least (a [64, 1000]
/// vocabulary's in two).
constexpr int64_t kGatherGrainBytes = 32 << 10;
constexpr int64_t kArgmaxGrain = 16384;

/// Pooled buffers kept per context, at most this many bytes in all.
constexpr size_t kMaxPoolBytes = size_t{1} << 30;

struct SlotValue {
  Tensor owned;
  const Tensor* view = nullptr; ///< &owned, or a borrowed tensor; null when empty
  bool isOwned() const { return view == &owned; }
};

/// Flush-to-zero and denormals-are-zero on this thread for a run (x86's
/// MXCSR; what XLA's CPU runtime does), restored after. Arithmetic on
/// subnormal floats is 10-100x slower on x86: in a training step whose
/// gradients decay into them, one GEMM in three took the slow path.
class DenormalMode {
public:
  explicit DenormalMode(bool flush) {
#if defined(__SSE2__)
    if (!flush) return;
    saved_ = _mm_getcsr();
    _mm_setcsr(saved_ | 0x8040); // FTZ (bit 15) | DAZ (bit 6)
    active_ = true;
#else
    (void)flush;
#endif
  }
  ~DenormalMode() {
#if defined(__SSE2__)
    if (active_) _mm_setcsr(saved_);
#endif
  }
  DenormalMode(const DenormalMode&) = delete;
  DenormalMode& operator=(const DenormalMode&) = delete;

private:
  unsigned saved_ = 0;
  bool active_ = false;
};

/// The calling thread's floating-point mode (MXCSR: flush-to-zero,
/// denormals-are-zero, rounding) taken by a thread running part of its
/// work, restored after. libgomp's workers keep the mode of the thread that
/// created them, whatever run that was.
class CallerFloatMode {
public:
#if defined(__SSE2__)
  static unsigned current() { return _mm_getcsr(); }
  explicit CallerFloatMode(unsigned caller) : saved_(_mm_getcsr()) {
    if (saved_ != caller) _mm_setcsr(caller);
  }
  ~CallerFloatMode() {
    if (_mm_getcsr() != saved_) _mm_setcsr(saved_);
  }
#else
  static unsigned current() { return 0; }
  explicit CallerFloatMode(unsigned) {}
#endif
  CallerFloatMode(const CallerFloatMode&) = delete;
  CallerFloatMode& operator=(const CallerFloatMode&) = delete;

private:
  [[maybe_unused]] unsigned saved_ = 0;
};

} // namespace

/// A thread's buffer pool: released buffers by byte size.
/// Buffers are pooled by size class, not exact size: with lengths that vary
/// from run to run, exact sizes rarely repeat and a pool keyed by them
/// grew to its cap (1 GB) under a service's traffic. A class is the size
/// rounded up to 1, 1.25, 1.5 or 1.75 times a power of two (at most 25%
/// slack); every buffer of a class has at least its capacity.
size_t sizeClass(size_t bytes) {
  if (bytes <= 64) return 64;
  int top = 63 - __builtin_clzll(bytes); // 2^top <= bytes < 2^(top+1)
  size_t quarter = size_t{1} << (top - 2);
  return (bytes + quarter - 1) / quarter * quarter;
}

struct Memory {
  std::map<size_t, std::vector<std::vector<std::byte>>> pool; ///< by size class
  size_t pooledBytes = 0;                                     ///< capacities
  /// The packed weights of the GEMM instructions this thread runs
  /// (GemmReuse): a loop's dropped at the end of each run, constants' kept
  /// while the same Executable runs.
  std::unordered_map<const Instruction*, GemmReuse> gemmReuse;
  /// The most bytes this context's values held at once: the pool keeps at
  /// most twice that (a later run of the same sizes finds its buffers; a
  /// run with other sizes does not pile up more).
  size_t peakLive = 0;
};

struct ExecutionContext::State {
  std::vector<SlotValue> frame; ///< shared by the threads of a `parallel` (disjoint slots)
  Memory main;                  ///< the running thread's pool
  Memory side;                  ///< the second thread's, for `parallel` instructions
  SideThread sideThread;        ///< that thread, started by the first pair
  std::atomic<int64_t> liveBytes{0};
  /// Set while a run uses the context: a second run at once is refused
  /// (it would share the frame and return another run's values).
  std::atomic<bool> running{false};
};

/// Numbers loop executions and Executables (GemmReuse::epoch): never
/// reused, so a packed weight of an earlier loop, run or Executable never
/// matches a later one.
std::atomic<int64_t> gNextEpoch{0};
int64_t newEpoch() { return gNextEpoch.fetch_add(1, std::memory_order_relaxed); }

Status maxTripExceeded(const Op& op, int64_t maxTrip, bool fromOperand) {
  return interp::maxTripExceeded(op, maxTrip, fromOperand, "executor");
}

Status checkArgumentTypes(const LoweredFunction& p, size_t count,
                          const std::function<const TensorType&(size_t)>& typeOf) {
  std::string where = locPrefix(p.loc);
  if (count != p.args.size())
    return errorf("{}error: function @{} takes {} argument(s), got {}", where, p.name,
                  p.args.size(), count);
  for (size_t i = 0; i < count; ++i) {
    std::string m = interp::typeMismatch(p.argTypes[i], typeOf(i));
    if (!m.empty()) return errorf("{}error: function @{} argument #{}: {}", where, p.name, i, m);
  }
  return Status::ok();
}

Status checkArguments(const LoweredFunction& p, const std::vector<Tensor>& inputs) {
  return checkArgumentTypes(p, inputs.size(),
                            [&](size_t i) -> const TensorType& { return inputs[i].type(); });
}

/// `f()`'s Status, or the exception it threw as one: allocation failure is
/// kResourceExhausted. Nothing a run throws may leave the executor (a
/// thread of a parallel pair would terminate the process; the C API must
/// not let C++ exceptions cross into C).
template <typename F> Status guardExceptions(F&& f) {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    return Status::error("out of memory (an allocation failed)", StatusCode::kResourceExhausted);
  } catch (const std::length_error& e) {
    return Status::error(fmt::format("a size is too large ({})", e.what()),
                         StatusCode::kResourceExhausted);
  } catch (const std::exception& e) {
    return errorf("internal exception: {}", e.what());
  }
}

ExecutionContext::ExecutionContext() : state_(std::make_unique<State>()) {}
ExecutionContext::~ExecutionContext() = default;

/// One run of one program.
class Runner {
public:
  Runner(const Executable& exe, const LoweredFunction& p, ExecutionContext& ctx,
         const ExecOptions& opts)
      : exe_(exe), p_(p), s_(*ctx.state_), mem_(ctx.state_->main), stats_(ctx.stats_), opts_(opts) {
  }
  /// The second thread of a `parallel` instruction: the same frame, its own
  /// pool and counters.
  Runner(const Runner& parent, Memory& mem, ExecStats& stats)
      : exe_(parent.exe_), p_(parent.p_), s_(parent.s_), mem_(mem), stats_(stats),
        opts_(parent.opts_) {}

  StatusOr<std::vector<Tensor>> run(const std::vector<Tensor>& inputs);

private:
  Status runBlock(const Block& b);
  Status exec(const Instruction& in);
  Status execOne(const Instruction& in);
  Status execKernel(const Instruction& in);
  Status execGemm(const Instruction& in);
  Status execRows(const Instruction& in);
  Status execFallback(const Instruction& in);
  Status execAlias(const Instruction& in);
  Status execWhile(const Instruction& in);
  Status execIf(const Instruction& in);
  Status execParallel(const Instruction& in);
  void mergeStats(const ExecStats& other);
  /// The yields of `b`, taken (moved when allowed, else copied).
  std::vector<Tensor> takeYields(const Block& b);

  const Tensor* get(Slot s) const { return s_.frame[static_cast<size_t>(s)].view; }
  void setOwned(Slot s, Tensor t) {
    SlotValue& v = s_.frame[static_cast<size_t>(s)];
    release(s);
    s_.liveBytes += static_cast<int64_t>(t.byteSize());
    int64_t live = s_.liveBytes.load(std::memory_order_relaxed);
    stats_.peakBytes = std::max(stats_.peakBytes, live);
    mem_.peakLive = std::max(mem_.peakLive, static_cast<size_t>(live));
    v.owned = std::move(t);
    v.view = &v.owned;
  }
  void setView(Slot s, const Tensor* t) {
    release(s);
    s_.frame[static_cast<size_t>(s)].view = t;
  }
  void release(Slot s) {
    SlotValue& v = s_.frame[static_cast<size_t>(s)];
    if (v.isOwned()) {
      s_.liveBytes -= static_cast<int64_t>(v.owned.byteSize());
      if (!v.owned.borrowed()) recycle(std::move(v.owned)); // a row view owns nothing
      v.owned = Tensor();
    }
    v.view = nullptr;
  }
  /// The slot's value for the caller to own: moved when owned and `mayMove`,
  /// else copied (and counted). The slot is left empty when moved.
  Tensor take(Slot s, bool mayMove) {
    SlotValue& v = s_.frame[static_cast<size_t>(s)];
    if (mayMove && v.isOwned()) {
      s_.liveBytes -= static_cast<int64_t>(v.owned.byteSize());
      Tensor t = std::move(v.owned);
      v.owned = Tensor();
      v.view = nullptr;
      return t;
    }
    ++stats_.copies;
    stats_.copiedBytes += static_cast<int64_t>(v.view->byteSize());
    if (opts_.profile && current_) { // calls: copies; nanos: bytes
      InstProfile& p = stats_.profile[fmt::format("copy in {} of {} ({})", current_->op->name(),
                                                  v.view->type().toString(),
                                                  v.isOwned() ? "still live" : "a view")];
      ++p.calls;
      p.nanos += static_cast<int64_t>(v.view->byteSize());
    }
    return *v.view;
  }
  /// A tensor of `type` from the pool (contents unspecified) or new; an
  /// error of the current instruction when its size overflows or passes the
  /// run's memory cap.
  StatusOr<Tensor> allocate(const TensorType& type) {
    StatusOr<int64_t> checked = checkRunTimeSize(type.shape, type.dtype, opts_.limits.maxBytes,
                                                 s_.liveBytes.load(std::memory_order_relaxed));
    if (!checked.isOk()) return opError(*current_->op, checked.status());
    size_t bytes = static_cast<size_t>(*checked);
    size_t cls = sizeClass(bytes);
    auto it = mem_.pool.find(cls);
    std::vector<std::byte> b;
    if (it != mem_.pool.end() && !it->second.empty()) {
      b = std::move(it->second.back());
      it->second.pop_back();
      mem_.pooledBytes -= b.capacity();
    } else {
      b.reserve(cls);
    }
    b.resize(bytes); // within the capacity: no reallocation
    return Tensor::fromBytes(type, std::move(b));
  }
  /// Whether a value made outside allocate() (by a reference kernel) fits
  /// the run's memory cap beside what is live.
  Status checkHoldable(const Tensor& t) const {
    if (opts_.limits.maxBytes <= 0) return Status::ok();
    StatusOr<int64_t> ok = checkRunTimeSize(t.shape(), t.dtype(), opts_.limits.maxBytes,
                                            s_.liveBytes.load(std::memory_order_relaxed));
    return ok.isOk() ? Status::ok() : opError(*current_->op, ok.status());
  }
  void recycle(Tensor t) {
    std::vector<std::byte> b = std::move(t).takeBytes();
    size_t cap = b.capacity();
    size_t limit = std::min(kMaxPoolBytes, 2 * mem_.peakLive);
    if (cap == 0 || mem_.pooledBytes + cap > limit) return; // freed
    // Filed under the largest class its capacity covers (a reference
    // kernel's buffer has its exact size as capacity, not a class).
    if (cap < 64) return;
    size_t quarter = size_t{1} << (61 - __builtin_clzll(cap));
    mem_.pool[cap / quarter * quarter].push_back(std::move(b));
    mem_.pooledBytes += cap;
  }
  /// A gather's one row along axis 0 as a view into its operand, where
  /// Executable::mayViewRow allows it and the index is a scalar in range
  /// (otherwise the copying gather runs, and reports a bad index).
  std::optional<Tensor> rowView(const Instruction& in, const std::vector<const Tensor*>& ins) {
    const Tensor& x = *ins[0];
    const Tensor& index = *ins[1];
    if (!exe_.mayViewRow(in) || index.rank() != 0 || x.rank() < 1 ||
        !isInteger(index.dtype()) || index.dtype() == DType::I1)
      return std::nullopt;
    int64_t i = index.getInt(0);
    if (i < 0 || i >= x.shape()[0]) return std::nullopt;
    Shape rowShape(x.shape().begin() + 1, x.shape().end());
    TensorType type(x.dtype(), rowShape);
    if (!interp::typeMismatch(in.op->result()->type, type).empty()) return std::nullopt;
    size_t rowBytes = x.byteSize() / static_cast<size_t>(x.shape()[0]); // shape[0] > i >= 0
    if (rowBytes == 0) return std::nullopt;
    return Tensor::borrow(type, x.rawData() + static_cast<size_t>(i) * rowBytes);
  }
  std::vector<const Tensor*> operands(const Instruction& in, size_t from = 0) const {
    std::vector<const Tensor*> out;
    for (size_t i = from; i < in.operands.size(); ++i)
      out.push_back(get(in.operands[i]));
    return out;
  }
  Status checkResult(const Instruction& in, size_t i, const Tensor& t) const {
    std::string m = interp::typeMismatch(in.op->result(i)->type, t.type());
    if (!m.empty()) return opError(*in.op, fmt::format("result #{}: {}", i, m));
    return Status::ok();
  }

  /// The threads a kernel or row operation may split over: those of a
  /// product here (one inside a pair, whose threads are the two loops').
  int splitThreads() const {
    return opts_.parallel && !inPair_ && !splitTurnedOff() ? productThreads() : 1;
  }
  /// body(begin, end) over [0, n), split as splitWork says over
  /// splitThreads(); every part in the caller's floating-point mode.
  template <typename Body> void split(int64_t n, int64_t grain, int64_t align, Body&& body) {
    unsigned mode = CallerFloatMode::current();
    int parts =
        splitWork(splitThreads(), n, grain, align, [&](int part, int64_t begin, int64_t end) {
          if (part == 0) return body(begin, end);
          CallerFloatMode same(mode);
          body(begin, end);
        });
    if (parts > 1) ++stats_.splitCalls;
  }

  const Executable& exe_;
  const LoweredFunction& p_;
  ExecutionContext::State& s_;
  Memory& mem_;
  ExecStats& stats_;
  const ExecOptions& opts_;
  int loopDepth_ = 0;
  /// This Runner runs one block of a pair (the second on the side thread,
  /// or the first on the caller's): a pair nested in it runs one loop after
  /// the other, since the context's one side thread is busy with the outer
  /// pair (posting to it there overwrote the outer job: a hang).
  bool inPair_ = false;
  /// The loop executions enclosing the current instruction, innermost last.
  std::vector<int64_t> loopEpochs_;
  /// The instruction whose values take() copies, for the profile: set by
  /// exec, and again by a while/if before it takes its own yields (its
  /// nested instructions set it meanwhile).
  const Instruction* current_ = nullptr;
  /// execKernel's per-call vectors, kept between calls (a loop step's
  /// kernels take a microsecond or two; their mallocs were a visible part).
  struct KernelScratch {
    std::vector<const Tensor*> ins;
    KernelExtents extents;
    std::vector<TensorType> types;
    std::vector<Tensor> outs;
    std::vector<void*> buffers;
  } kernelScratch_;
};

StatusOr<std::vector<Tensor>> Runner::run(const std::vector<Tensor>& inputs) {
  std::string where = locPrefix(p_.loc);
  CAIRN_RETURN_IF_ERROR(checkArguments(p_, inputs));
  s_.frame.clear();
  s_.frame.resize(static_cast<size_t>(p_.numSlots));
  s_.liveBytes = 0;
  for (size_t i = 0; i < inputs.size(); ++i)
    setView(p_.args[i], &inputs[i]);
  Status ran = runBlock(p_.body);
  std::vector<Tensor> results;
  if (ran.isOk()) results = takeYields(p_.body);
  for (Slot s = 0; s < p_.numSlots; ++s) // after an error, buffers go back to the pool
    release(s);
  // A loop's packed weights live for its execution at most; the constants'
  // stay for the next run of this Executable (and go when another runs).
  for (Memory* m : {&s_.main, &s_.side})
    std::erase_if(m->gemmReuse, [&](const auto& e) { return e.second.epoch != exe_.epoch(); });
  if (!ran.isOk()) return ran;
  for (size_t i = 0; i < results.size(); ++i) {
    std::string m = interp::typeMismatch(p_.resultTypes[i], results[i].type());
    if (!m.empty())
      return errorf("{}error: function @{} result #{}: {}", where, p_.name, i, m);
  }
  return results;
}

Status Runner::runBlock(const Block& b) {
  for (const Instruction& in : b.insts) {
    // Between instructions, and so at every loop iteration (a body is a block).
    if (opts_.limits.timed())
      if (Status s = opts_.limits.check(); !s.isOk()) return opError(*in.op, s);
    CAIRN_RETURN_IF_ERROR(exec(in));
    for (Slot s : in.frees)
      release(s);
  }
  for (Slot s : b.yields)
    if (!get(s))
      return errorf("error: block yields slot {}, which holds no value: the program is corrupt", s);
  return Status::ok();
}

std::vector<Tensor> Runner::takeYields(const Block& b) {
  std::vector<Tensor> out(b.yields.size());
  // Copies first: a value yielded twice is copied before its buffer moves.
  for (size_t i = 0; i < b.yields.size(); ++i)
    if (!b.moveYield[i]) out[i] = take(b.yields[i], false);
  for (size_t i = 0; i < b.yields.size(); ++i)
    if (b.moveYield[i]) out[i] = take(b.yields[i], true);
  return out;
}

Status Runner::exec(const Instruction& in) {
  current_ = &in;
  // A compiled program never reads an empty slot; one read from an object
  // file might (ProgramFormat checks its structure, not its data flow).
  for (Slot s : in.operands)
    if (!get(s)) return opError(*in.op, fmt::format("operand slot {} holds no value: the program is corrupt", s));
  if (opts_.profile && in.kind != InstKind::While && in.kind != InstKind::If &&
      in.kind != InstKind::Parallel) {
    static const char* const kNames[] = {"kernel", "gemm",  "rows", "fallback",
                                         "constant", "alias", "while", "if", "parallel"};
    auto t0 = std::chrono::steady_clock::now();
    Status s = execOne(in);
    InstProfile& p = stats_.profile[fmt::format("{} {}", kNames[static_cast<int>(in.kind)],
                                                in.op->name())];
    ++p.calls;
    p.nanos += std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::steady_clock::now() - t0)
                   .count();
    return s;
  }
  return execOne(in);
}

Status Runner::execOne(const Instruction& in) {
  switch (in.kind) {
  case InstKind::Kernel: return execKernel(in);
  case InstKind::Gemm: return execGemm(in);
  case InstKind::Rows: return execRows(in);
  case InstKind::Fallback: return execFallback(in);
  case InstKind::Alias: return execAlias(in);
  case InstKind::Constant:
    setView(in.results[0], &p_.constants[static_cast<size_t>(in.constant)]);
    return Status::ok();
  case InstKind::While: return execWhile(in);
  case InstKind::If: return execIf(in);
  case InstKind::Parallel: return execParallel(in);
  }
  return Status::ok();
}

Status Runner::execKernel(const Instruction& in) {
  KernelScratch& k = kernelScratch_; // cleared, not freed: no malloc per call
  k.ins.clear();
  for (Slot s : in.operands)
    k.ins.push_back(get(s));
  const std::vector<TensorType>* outTypes = &in.outputTypes;
  if (in.shape) {
    // Sizes the kernel was not compiled for (a broadcast of a dim that is 1
    // here, a shape error the reference reports best): run the op as the
    // reference does.
    if (!evaluateKernelShape(*in.shape, k.ins, k.extents)) return execFallback(in);
    k.types.resize(in.outputTypes.size());
    for (size_t o = 0; o < in.outputTypes.size(); ++o) {
      k.types[o].dtype = in.outputTypes[o].dtype;
      k.types[o].shape = k.extents.outputs[o];
    }
    outTypes = &k.types;
  }
  k.outs.clear();
  k.buffers.clear();
  for (const Tensor* t : k.ins)
    k.buffers.push_back(const_cast<std::byte*>(t->rawData()));
  for (const TensorType& t : *outTypes) {
    CAIRN_ASSIGN_OR_RETURN(Tensor out, allocate(t));
    k.outs.push_back(std::move(out)); // a move keeps the bytes where they are
    k.buffers.push_back(k.outs.back().rawData());
  }
  k.buffers.push_back(in.shape ? k.extents.params.data() : nullptr);
  int64_t n = k.outs.empty() ? 0 : k.outs[0].numElements();
  if (n > 0) {
    KernelFn fn = exe_.kernel(in.kernel);
    void* const* buffers = k.buffers.data();
    split(n, kKernelGrain, kSplitAlign,
          [&](int64_t begin, int64_t end) { fn(buffers, begin, end); });
  }
  ++stats_.kernelCalls;
  for (size_t i = 0; i < k.outs.size(); ++i) {
    if (in.shape) CAIRN_RETURN_IF_ERROR(checkResult(in, i, k.outs[i]));
    setOwned(in.results[i], std::move(k.outs[i]));
  }
  return Status::ok();
}

Status Runner::execGemm(const Instruction& in) {
  const Tensor& a = *get(in.operands[0]);
  const Tensor& b = *get(in.operands[1]);
  StatusOr<Shape> shape = gemmResultShape(in.gemm, a.shape(), b.shape());
  if (!shape.isOk()) return opError(*in.op, shape.status());
  CAIRN_ASSIGN_OR_RETURN(Tensor out, allocate(TensorType(a.dtype(), *shape)));
  CAIRN_RETURN_IF_ERROR(checkResult(in, 0, out));
  GemmReuseKey reuse;
  switch (exe_.weightKind(in)) {
  case Executable::Weight::Constant:
    reuse = {&mem_.gemmReuse[&in], exe_.epoch(), true, &stats_.packedWeights,
             &stats_.transposedWeights, &stats_.zeroProducts};
    break;
  case Executable::Weight::LoopInvariant:
    if (!loopEpochs_.empty())
      reuse = {&mem_.gemmReuse[&in], loopEpochs_.back(), false, &stats_.packedWeights};
    break;
  case Executable::Weight::Varies: break;
  }
  Status ran = runGemm(in.gemm, a, b, out, &stats_.gemmCalls, &stats_.gemmFlops,
                       opts_.adjustBlasThreads, reuse);
  if (!ran.isOk()) return opError(*in.op, ran);
  setOwned(in.results[0], std::move(out));
  return Status::ok();
}

Status Runner::execRows(const Instruction& in) {
  const Op& op = *in.op;
  std::vector<const Tensor*> ins = operands(in);
  auto fail = [&](const Status& s) { return opError(op, s); };
  switch (op.kind()) {
  case OpKind::DynamicSlice: {
    size_t rank = static_cast<size_t>(ins[0]->rank());
    StatusOr<std::vector<int64_t>> starts = interp::readIndices(ins, 1, rank);
    if (!starts.isOk()) return fail(starts.status());
    StatusOr<Shape> shape = interp::resolveDynamicShape(op.result()->type, ins, 1 + rank);
    if (!shape.isOk()) return fail(shape.status());
    CAIRN_ASSIGN_OR_RETURN(Tensor out, allocate(TensorType(ins[0]->dtype(), *shape)));
    Status s = kernels::cpu::dynamicSliceInto(*ins[0], *starts, out);
    if (!s.isOk()) return fail(s);
    ++stats_.rowCalls;
    setOwned(in.results[0], std::move(out));
    return Status::ok();
  }
  case OpKind::Gather: {
    if (std::optional<Tensor> row = rowView(in, ins)) {
      ++stats_.rowViews;
      setOwned(in.results[0], std::move(*row));
      return Status::ok();
    }
    StatusOr<Shape> shape = kernels::gatherShape(ins[0]->shape(), ins[1]->shape(),
                                                 op.getIntOr("axis", 0), op.getIntOr("batch_dims", 0));
    if (!shape.isOk()) return fail(shape.status());
    CAIRN_ASSIGN_OR_RETURN(Tensor out, allocate(TensorType(ins[0]->dtype(), *shape)));
    StatusOr<kernels::cpu::GatherPlan> plan = kernels::cpu::planGather(
        *ins[0], *ins[1], op.getIntOr("axis", 0), op.getIntOr("batch_dims", 0), out);
    if (!plan.isOk()) return fail(plan.status());
    int64_t rowBytes = std::max<int64_t>(1, plan->inner * dtypeSize(ins[0]->dtype()));
    split(plan->rows(), std::max<int64_t>(1, kGatherGrainBytes / rowBytes),
          std::max<int64_t>(1, 64 / rowBytes), [&](int64_t begin, int64_t end) {
            kernels::cpu::gatherRows(*plan, *ins[0], *ins[1], out, begin, end);
          });
    ++stats_.rowCalls;
    CAIRN_RETURN_IF_ERROR(checkResult(in, 0, out));
    setOwned(in.results[0], std::move(out));
    return Status::ok();
  }
  case OpKind::DynamicUpdateSlice:
  case OpKind::Scatter:
  case OpKind::ScatterAdd: {
    // Check before taking the buffer, so a failed update leaves x intact.
    std::vector<int64_t> starts;
    if (op.kind() == OpKind::DynamicUpdateSlice) {
      size_t rank = static_cast<size_t>(ins[0]->rank());
      if (ins.size() != 2 + rank)
        return opError(op, fmt::format("needs {} start indices (one per dim), got {}", rank,
                                       ins.size() - 2));
      StatusOr<std::vector<int64_t>> st = interp::readIndices(ins, 2, rank);
      if (!st.isOk()) return fail(st.status());
      starts = std::move(st).value();
    }
    const std::byte* before = ins[0]->rawData();
    Tensor x = take(in.operands[0], in.inPlace);
    if (x.rawData() == before) ++stats_.inPlaceUpdates;
    Status s = op.kind() == OpKind::DynamicUpdateSlice
                   ? kernels::cpu::dynamicUpdateSliceInPlace(x, *ins[1], starts)
                   : kernels::cpu::scatterInPlace(x, *ins[1], *ins[2], op.getIntOr("axis", 0),
                                                  op.getIntOr("batch_dims", 0),
                                                  op.kind() == OpKind::ScatterAdd);
    if (!s.isOk()) return fail(s);
    ++stats_.rowCalls;
    setOwned(in.results[0], std::move(x));
    return Status::ok();
  }
  case OpKind::Concat: {
    Shape shape = ins.empty() ? Shape() : ins[0]->shape();
    int64_t axis = op.getIntOr("axis", 0);
    if (!ins.empty() && axis >= 0 && axis < ins[0]->rank()) {
      shape[static_cast<size_t>(axis)] = 0;
      for (const Tensor* t : ins)
        shape[static_cast<size_t>(axis)] += t->rank() > axis ? t->shape()[axis] : 0;
    }
    TensorType type(op.result()->type.dtype, shape);
    if (!kernels::cpu::isValidConcat(ins, axis, type) ||
        !interp::typeMismatch(op.result()->type, type).empty())
      return execFallback(in); // the reference names what is wrong
    CAIRN_ASSIGN_OR_RETURN(Tensor out, allocate(type));
    kernels::cpu::concatInto(ins, axis, out);
    ++stats_.rowCalls;
    setOwned(in.results[0], std::move(out));
    return Status::ok();
  }
  case OpKind::Broadcast: {
    StatusOr<Shape> shape = interp::resolveDynamicShape(op.result()->type, ins, 1);
    if (!shape.isOk() || !op.hasAttr("dims")) return execFallback(in);
    TensorType type(op.result()->type.dtype, *shape);
    const std::vector<int64_t>& dims = op.getInts("dims");
    if (!kernels::cpu::isValidBroadcast(*ins[0], dims, type)) return execFallback(in);
    CAIRN_ASSIGN_OR_RETURN(Tensor out, allocate(type));
    kernels::cpu::broadcastInto(*ins[0], dims, out);
    ++stats_.rowCalls;
    setOwned(in.results[0], std::move(out));
    return Status::ok();
  }
  case OpKind::Transpose: {
    if (!op.hasAttr("perm")) return execFallback(in);
    const std::vector<int64_t>& perm = op.getInts("perm");
    Shape shape;
    for (int64_t p : perm)
      shape.push_back(p >= 0 && p < ins[0]->rank() ? ins[0]->shape()[static_cast<size_t>(p)] : -1);
    TensorType type(ins[0]->dtype(), shape);
    if (!kernels::cpu::isValidTranspose(*ins[0], perm, type)) return execFallback(in);
    CAIRN_ASSIGN_OR_RETURN(Tensor out, allocate(type));
    CAIRN_RETURN_IF_ERROR(checkResult(in, 0, out));
    kernels::cpu::transposeInto(*ins[0], perm, out);
    ++stats_.rowCalls;
    setOwned(in.results[0], std::move(out));
    return Status::ok();
  }
  case OpKind::ReduceSum: {
    const std::vector<int64_t>& dims = op.getInts("dims");
    if (!kernels::cpu::isFastReduceSum(*ins[0], dims)) return execFallback(in);
    CAIRN_ASSIGN_OR_RETURN(
        Tensor out, allocate(TensorType(ins[0]->dtype(), kernels::cpu::reducedShape(ins[0]->shape(), dims))));
    CAIRN_RETURN_IF_ERROR(checkResult(in, 0, out));
    kernels::cpu::reduceSumInto(*ins[0], dims, out);
    ++stats_.rowCalls;
    setOwned(in.results[0], std::move(out));
    return Status::ok();
  }
  case OpKind::Argmax: {
    int64_t axis = op.getIntOr("axis", 0);
    DType index = op.result()->type.dtype;
    if (!kernels::cpu::isFastArgmax(*ins[0], axis) || (index != DType::I32 && index != DType::I64))
      return execFallback(in); // the reference names what is wrong
    Shape shape = kernels::cpu::reducedShape(ins[0]->shape(), {axis});
    CAIRN_ASSIGN_OR_RETURN(Tensor out, allocate(TensorType(index, shape)));
    CAIRN_RETURN_IF_ERROR(checkResult(in, 0, out));
    // Split by the positions before the axis, each reading a whole row.
    int64_t outer = kernels::cpu::argmaxOuter(*ins[0], axis);
    int64_t rowElements = std::max<int64_t>(1, ins[0]->numElements() / std::max<int64_t>(1, outer));
    split(outer, std::max<int64_t>(1, kArgmaxGrain / rowElements), kSplitAlign,
          [&](int64_t begin, int64_t end) {
            kernels::cpu::argmaxInto(*ins[0], axis, out, begin, end);
          });
    ++stats_.rowCalls;
    setOwned(in.results[0], std::move(out));
    return Status::ok();
  }
  default: return execFallback(in);
  }
}

Status Runner::execFallback(const Instruction& in) {
  const Op& op = *in.op;
  std::vector<const Tensor*> ins = operands(in);
  ++stats_.fallbackCalls;
  if (op.kind() == OpKind::Call || op.kind() == OpKind::Fusion) {
    std::vector<Tensor> args;
    for (const Tensor* t : ins)
      args.push_back(*t);
    InterpreterOptions io;
    io.defaultMaxTrip = opts_.defaultMaxTrip;
    io.limits = opts_.limits;
    StatusOr<std::vector<Tensor>> r = evaluateOp(op, args, io);
    if (!r.isOk()) return r.status();
    for (size_t i = 0; i < r->size(); ++i) {
      CAIRN_RETURN_IF_ERROR(checkHoldable((*r)[i]));
      setOwned(in.results[i], std::move((*r)[i]));
    }
    return Status::ok();
  }
  StatusOr<std::vector<Tensor>> r = interp::evalSimpleOp(op, ins, opts_.limits.maxBytes);
  if (!r.isOk()) return opError(op, r.status());
  if (r->size() != in.results.size())
    return opError(op, fmt::format("produced {} values for {} results", r->size(),
                                   in.results.size()));
  for (size_t i = 0; i < r->size(); ++i) {
    CAIRN_RETURN_IF_ERROR(checkResult(in, i, (*r)[i]));
    CAIRN_RETURN_IF_ERROR(checkHoldable((*r)[i]));
    setOwned(in.results[i], std::move((*r)[i]));
  }
  return Status::ok();
}

// reshape and stop_gradient keep the bytes; when the operand dies here and
// its buffer is owned, the result takes the buffer instead of a copy.
Status Runner::execAlias(const Instruction& in) {
  const Op& op = *in.op;
  const SlotValue& x = s_.frame[static_cast<size_t>(in.operands[0])];
  if (!in.inPlace || !x.isOwned()) return execFallback(in);
  Shape shape = x.view->shape();
  if (op.kind() == OpKind::Reshape) {
    StatusOr<Shape> s = interp::resolveDynamicShape(op.result()->type, operands(in), 1);
    if (!s.isOk() || numElements(*s) != x.view->numElements()) return execFallback(in);
    shape = *s;
  }
  Tensor t = take(in.operands[0], true);
  TensorType type(t.dtype(), shape);
  Tensor out = Tensor::fromBytes(type, std::move(t).takeBytes());
  CAIRN_RETURN_IF_ERROR(checkResult(in, 0, out));
  ++stats_.aliases;
  setOwned(in.results[0], std::move(out));
  return Status::ok();
}

Status Runner::execWhile(const Instruction& in) {
  const Op& op = *in.op;
  size_t n = in.carried.size();
  bool hasMaxTrip = in.operands.size() == n + 1;
  int64_t maxTrip = opts_.defaultMaxTrip;
  if (hasMaxTrip) {
    const Tensor& m = *get(in.operands[n]);
    if (m.rank() != 0 || !isInteger(m.dtype()))
      return opError(op, "max_trip must be an i32 or i64 scalar");
    maxTrip = m.getInt(0);
  }
  bool bounded = hasMaxTrip || opts_.defaultMaxTrip > 0;
  {
    std::vector<Tensor> init(n);
    for (size_t i = 0; i < n; ++i)
      init[i] = take(in.operands[i], in.moveInit[i]);
    for (size_t i = 0; i < n; ++i) {
      std::string m = interp::typeMismatch(op.result(i)->type, init[i].type());
      if (!m.empty()) return opError(op, fmt::format("initial value #{}: {}", i, m));
      setOwned(in.carried[i], std::move(init[i]));
    }
  }
  const Block& cond = in.blocks[0];
  const Block& body = in.blocks[1];
  // Time the outermost loops (an error return skips the accounting).
  struct Timer {
    Runner& r;
    std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
    int64_t trips = 0;
    explicit Timer(Runner& r) : r(r) {
      ++r.loopDepth_;
      r.loopEpochs_.push_back(newEpoch());
    }
    ~Timer() {
      r.loopEpochs_.pop_back();
      if (--r.loopDepth_ != 0) return;
      r.stats_.loopNanos += std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::steady_clock::now() - t0)
                                .count();
      r.stats_.outerLoopIterations += trips;
    }
  } timer(*this);
  for (int64_t trips = 0;; ++trips) {
    timer.trips = trips;
    CAIRN_RETURN_IF_ERROR(runBlock(cond));
    const Tensor& go = *get(cond.yields[0]);
    if (go.dtype() != DType::I1 || go.rank() != 0)
      return opError(op, "cond region must yield one i1 scalar");
    bool more = go.data<bool>()[0];
    if (cond.moveYield[0]) release(cond.yields[0]);
    if (!more) break;
    if (bounded && trips >= maxTrip)
      return maxTripExceeded(op, maxTrip, hasMaxTrip);
    CAIRN_RETURN_IF_ERROR(runBlock(body));
    ++stats_.whileIterations;
    current_ = &in;
    std::vector<Tensor> next = takeYields(body);
    for (size_t i = 0; i < n; ++i) {
      std::string m = interp::typeMismatch(op.result(i)->type, next[i].type());
      if (!m.empty()) return opError(op, fmt::format("body yield #{}: {}", i, m));
      setOwned(in.carried[i], std::move(next[i]));
    }
  }
  return Status::ok();
}

Status Runner::execParallel(const Instruction& in) {
  // Not when this thread may use one CPU only (taskset, a container's
  // cpuset), nor inside either block of a pair (a pair nested in it: the
  // context has one side thread and one side pool, both busy).
  if (!opts_.parallel || in.blocks.size() != 2 || inPair_ || usableCpus() < 2) {
    for (const Block& b : in.blocks)
      CAIRN_RETURN_IF_ERROR(runBlock(b));
    return Status::ok();
  }
  std::optional<SingleThreadedBlas> oneThreadEach;
  if (opts_.adjustBlasThreads) oneThreadEach.emplace();
  GemmThreadCap oneThreadHere(1); // oneDNN's setting is per thread: no process-wide change
  ExecStats sideStats;
  Runner side(*this, s_.side, sideStats);
  side.loopDepth_ = loopDepth_;
  side.loopEpochs_ = loopEpochs_;
  side.inPair_ = true;
  Status sideStatus = Status::ok();
  auto job = [&] {
    GemmThreadCap oneThreadThere(1);
    DenormalMode mode(opts_.flushDenormals);
    sideStatus = guardExceptions([&] { return side.runBlock(in.blocks[1]); });
  };
  bool posted = s_.sideThread.post(job, OtherCpus::ofCaller(),
                                   std::chrono::microseconds(std::max(0, opts_.pairSpinMicros)));
  // Caught here: unwinding past the wait would free what the side thread uses.
  inPair_ = true;
  Status mine = guardExceptions([&] { return runBlock(in.blocks[0]); });
  inPair_ = false;
  if (posted)
    s_.sideThread.wait();
  else if (mine.isOk()) // no thread to be had: the second loop after the first
    sideStatus = side.runBlock(in.blocks[1]);
  mergeStats(sideStats);
  if (posted) ++stats_.parallelRuns;
  if (!mine.isOk()) return mine; // the earlier loop's error first
  return sideStatus;
}

void Runner::mergeStats(const ExecStats& o) {
  stats_.kernelCalls += o.kernelCalls;
  stats_.gemmCalls += o.gemmCalls;
  stats_.gemmFlops += o.gemmFlops;
  stats_.packedWeights += o.packedWeights;
  stats_.transposedWeights += o.transposedWeights;
  stats_.zeroProducts += o.zeroProducts;
  stats_.rowViews += o.rowViews;
  stats_.rowCalls += o.rowCalls;
  stats_.fallbackCalls += o.fallbackCalls;
  stats_.inPlaceUpdates += o.inPlaceUpdates;
  stats_.aliases += o.aliases;
  stats_.copies += o.copies;
  stats_.copiedBytes += o.copiedBytes;
  stats_.whileIterations += o.whileIterations;
  stats_.loopNanos += o.loopNanos;
  stats_.outerLoopIterations += o.outerLoopIterations;
  stats_.parallelRuns += o.parallelRuns;
  stats_.splitCalls += o.splitCalls;
  stats_.peakBytes = std::max(stats_.peakBytes, o.peakBytes);
  for (const auto& [k, v] : o.profile) {
    stats_.profile[k].calls += v.calls;
    stats_.profile[k].nanos += v.nanos;
  }
}

Status Runner::execIf(const Instruction& in) {
  const Op& op = *in.op;
  const Tensor& p = *get(in.operands[0]);
  if (p.dtype() != DType::I1 || p.rank() != 0)
    return opError(op, "condition must be one i1 scalar");
  bool taken = p.data<bool>()[0];
  const Block& b = in.blocks[taken ? 0 : 1];
  CAIRN_RETURN_IF_ERROR(runBlock(b));
  current_ = &in;
  std::vector<Tensor> out = takeYields(b);
  for (size_t i = 0; i < out.size(); ++i) {
    std::string m = interp::typeMismatch(op.result(i)->type, out[i].type());
    if (!m.empty())
      return opError(op, fmt::format("{} yield #{}: {}", taken ? "then" : "else", i, m));
    setOwned(in.results[i], std::move(out[i]));
  }
  return Status::ok();
}

namespace {
/// The slots of constants in `b` and its nested blocks.
void collectConstants(const Block& b, std::unordered_set<Slot>& out) {
  for (const Instruction& in : b.insts) {
    if (in.kind == InstKind::Constant) out.insert(in.results.begin(), in.results.end());
    for (const Block& nested : in.blocks)
      collectConstants(nested, out);
  }
}

/// The slots `b` reads, nested blocks included (yields too).
void collectUsed(const Block& b, std::unordered_set<Slot>& out) {
  out.insert(b.yields.begin(), b.yields.end());
  for (const Instruction& in : b.insts) {
    out.insert(in.operands.begin(), in.operands.end());
    for (const Block& nested : in.blocks)
      collectUsed(nested, out);
  }
}

/// The slots `b` defines, nested blocks included (a while's carried slots too).
void collectDefined(const Block& b, std::unordered_set<Slot>& out) {
  for (const Instruction& in : b.insts) {
    out.insert(in.results.begin(), in.results.end());
    out.insert(in.carried.begin(), in.carried.end());
    for (const Block& nested : in.blocks)
      collectDefined(nested, out);
  }
}
/// Whether slot `s` is read in `b` by kernels and GEMMs only: not yielded,
/// not an operand of any other instruction, nor used in a nested block.
bool onlyReadInBlock(const Block& b, Slot s) {
  if (std::find(b.yields.begin(), b.yields.end(), s) != b.yields.end()) return false;
  std::unordered_set<Slot> nestedUses;
  for (const Instruction& in : b.insts) {
    bool uses = std::find(in.operands.begin(), in.operands.end(), s) != in.operands.end();
    if (uses && in.kind != InstKind::Kernel && in.kind != InstKind::Gemm) return false;
    for (const Block& nested : in.blocks) {
      collectUsed(nested, nestedUses);
      if (nestedUses.count(s)) return false;
    }
  }
  return true;
}
} // namespace

Executable::Executable(std::unique_ptr<Module> module, LoweredFunctions programs,
                       std::vector<KernelFn> kernels, std::shared_ptr<const void> keepAlive)
    : module_(std::move(module)), programs_(std::move(programs)), kernels_(std::move(kernels)),
      keepAlive_(std::move(keepAlive)), epoch_(newEpoch()) {
  for (const auto& [name, p] : programs_) {
    std::unordered_set<Slot> constants;
    collectConstants(p.body, constants);
    findLoopInvariantReads(p.body, nullptr, constants);
  }
}

// A constant's slot is a view of the Executable's own tensor, the same for
// its life. A GEMM inside a loop whose B no instruction of the loop defines
// reads the same buffer on every iteration of one execution of that loop:
// slots are SSA values, and a value used inside a loop is freed after it,
// not in it.
//
// The same reasoning lets a gather inside a loop body view its operand's
// row instead of copying it (mayViewRow), when its result cannot outlive
// the iteration: read by kernels and GEMMs of the body only (they read
// their operands and write fresh buffers), never yielded, aliased, updated
// or passed into a nested block.
void Executable::findLoopInvariantReads(const Block& b, const std::unordered_set<Slot>* inLoop,
                                        const std::unordered_set<Slot>& constants) {
  for (const Instruction& in : b.insts) {
    if (in.kind == InstKind::Gemm && in.operands.size() == 2) {
      if (constants.count(in.operands[1]))
        weights_[&in] = Weight::Constant;
      else if (inLoop && !inLoop->count(in.operands[1]))
        weights_[&in] = Weight::LoopInvariant;
    }
    if (inLoop && in.kind == InstKind::Rows && in.op && in.op->kind() == OpKind::Gather &&
        in.op->getIntOr("axis", 0) == 0 && in.op->getIntOr("batch_dims", 0) == 0 &&
        in.operands.size() == 2 && in.results.size() == 1 && !inLoop->count(in.operands[0]) &&
        onlyReadInBlock(b, in.results[0]))
      rowViews_.insert(&in);
    if (in.kind == InstKind::While) {
      std::unordered_set<Slot> defined;
      for (const Block& nested : in.blocks)
        collectDefined(nested, defined);
      defined.insert(in.carried.begin(), in.carried.end());
      for (const Block& nested : in.blocks)
        findLoopInvariantReads(nested, &defined, constants);
    } else {
      for (const Block& nested : in.blocks)
        findLoopInvariantReads(nested, inLoop, constants);
    }
  }
}

Executable::Weight Executable::weightKind(const Instruction& in) const {
  auto it = weights_.find(&in);
  return it == weights_.end() ? Weight::Varies : it->second;
}

Executable::~Executable() = default;

const LoweredFunction* Executable::program(std::string_view name) const {
  auto it = programs_.find(name);
  return it == programs_.end() ? nullptr : &it->second;
}

StatusOr<std::vector<Tensor>> Executable::run(std::string_view name,
                                              const std::vector<Tensor>& inputs,
                                              ExecutionContext& ctx,
                                              const ExecOptions& options) const {
  const LoweredFunction* p = program(name);
  if (!p) return errorf("error: no function @{} in the module", name);
  if (ctx.state_->running.exchange(true, std::memory_order_acquire))
    return errorf("error: @{}: this ExecutionContext is already running another call; a "
                  "context serves one run at a time (give each thread its own)",
                  name);
  struct Done {
    std::atomic<bool>& running;
    ~Done() { running.store(false, std::memory_order_release); }
  } done{ctx.state_->running};
  DenormalMode mode(options.flushDenormals);
  std::optional<GemmThreadCap> callerOnly;
  if (!options.parallel) callerOnly.emplace(1);
  StatusOr<std::vector<Tensor>> out = Status::error("not run");
  Status ran = guardExceptions([&] {
    out = Runner(*this, *p, ctx, options).run(inputs);
    return Status::ok();
  });
  if (!ran.isOk()) return ran.withMessage(fmt::format("error: @{}: {}", name, ran.message()));
  return out;
}

StatusOr<std::vector<Tensor>> Executable::run(std::string_view name,
                                              const std::vector<Tensor>& inputs,
                                              const ExecOptions& options) const {
  ExecutionContext ctx;
  return run(name, inputs, ctx, options);
}

std::string Executable::describe() const {
  std::string s;
  for (const auto& [name, p] : programs_)
    s += loweredFunctionToString(p);
  return s;
}

} // namespace cairn::exec
