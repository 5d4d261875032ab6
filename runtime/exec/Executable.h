// The compiled executor's public face: an Executable (compiled functions,
// immutable) and the ExecutionContext each run uses (its own frame of value
// slots, its buffer pool, its counters).
//
//   auto exe = codegen::cpu::compileExecutable(module);   // cairn_codegen
//   exec::ExecutionContext ctx;
//   auto out = (*exe)->run("main", inputs, ctx);
//
// Inputs are borrowed for the run (never copied; they must outlive it) and
// checked against the signature; results are owned by the caller. Errors
// (wrong input count, dtype or shape, an index out of range, a while past its
// max trip count, integer division by zero, ...) come back as a Status
// naming the op and its location, as the reference interpreter's do; the
// executor never crashes on bad input.
//
// Thread-safety: an Executable is immutable after construction; any number
// of threads may run it at once, each with its own ExecutionContext (a
// context is used by one run at a time; a second run on a busy context is
// refused with an error). run() without a context makes one. No C++
// exception leaves run(): allocation failure is StatusCode::kResourceExhausted.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "runtime/RunLimits.h"
#include "runtime/exec/LoweredFunction.h"

namespace cairn::exec {

struct ExecOptions {
  /// Bound on the iterations of a `while` without a max_trip operand
  /// (0 = unbounded), as InterpreterOptions::defaultMaxTrip.
  int64_t defaultMaxTrip = 0;
  /// Time every instruction into ExecStats::profile (costs a clock read per
  /// instruction; for finding what to optimize, not for production runs).
  bool profile = false;
  /// Use threads beside the calling one: `parallel` instructions
  /// (independent loops) on two threads when the calling thread may use two
  /// CPUs (its affinity), and large elementwise kernels and row operations
  /// split over the threads oneDNN's products use (SplitWork.h). During a
  /// pair the BLAS runs single-threaded when adjustBlasThreads allows (with
  /// more, the two loops' GEMMs compete for the cores). Off: everything on
  /// the calling thread, oneDNN's products included; OpenBLAS's threads
  /// stay the process's setting (adjustBlasThreads).
  bool parallel = true;
  /// How long each of a pair's two threads polls for the other before it
  /// sleeps: the caller waiting for the second loop to end, the side thread
  /// for the next pair. A sleeping thread took 20-50 us to wake on a VM
  /// (three wake-ups per pair); polling spends up to this much of a CPU
  /// that is otherwise idle. 0: sleep at once (a host that would rather
  /// keep its CPUs for other work).
  int32_t pairSpinMicros = 200;
  /// Whether the run may change OpenBLAS's thread count, which is the
  /// process's (OpenBLAS 0.3.21 has no per-call setting): to one for GEMMs
  /// under 8 MFLOP and during a parallel pair, restored after. Off (what
  /// the C API runs with), a run changes no process-wide state: the BLAS
  /// uses the threads the process gave it (OPENBLAS_NUM_THREADS,
  /// setBlasThreads, cairn_set_blas_threads), the embedder's choice.
  bool adjustBlasThreads = true;
  /// Flush subnormal floats to zero (results and inputs) on the threads the
  /// run uses, as XLA's CPU runtime does: subnormal arithmetic is 10-100x
  /// slower on x86, and training steps whose gradients decay produce it.
  /// Differs from the reference interpreter only below 1.2e-38 (f32); off:
  /// IEEE gradual underflow. BLAS worker threads (OPENBLAS_NUM_THREADS > 1)
  /// keep their own setting.
  bool flushDenormals = true;
  /// Deadline, cancellation and memory cap (RunLimits.h): checked between
  /// instructions and at every loop iteration; the cap bounds the bytes
  /// the run's values hold at once (pooled buffers and borrowed inputs
  /// excluded).
  RunLimits limits;
};

/// Calls and wall time of one kind of instruction (ExecOptions::profile).
struct InstProfile {
  int64_t calls = 0;
  int64_t nanos = 0;
};

/// What a context's runs did, summed since the last resetStats().
struct ExecStats {
  int64_t kernelCalls = 0;   ///< compiled elementwise kernels
  int64_t gemmCalls = 0;     ///< BLAS calls (one per batch element)
  int64_t gemmFlops = 0;     ///< 2*M*N*K summed over BLAS calls (for achieved GFLOP/s)
  /// Weights packed for oneDNN (Executable::weightKind)
  int64_t packedWeights = 0;
  /// Constant [N, K] weights copied as [K, N] for one-row products (Gemm.h)
  int64_t transposedWeights = 0;
  /// Products of an all-zero A by a finite constant B, written as zeros
  /// without the GEMM (a recurrent layer's first step from a zero state)
  int64_t zeroProducts = 0;
  int64_t rowCalls = 0;      ///< row kernels (indexed ops, concat, broadcast)
  int64_t rowViews = 0;      ///< gathers of one row given as a view (Executable::mayViewRow)
  int64_t fallbackCalls = 0; ///< ops run through the reference kernels
  int64_t inPlaceUpdates = 0; ///< update ops that wrote into their operand's buffer
  int64_t aliases = 0;        ///< reshapes that took their operand's buffer
  int64_t copies = 0;         ///< buffers copied because a value was still live
  int64_t copiedBytes = 0;
  int64_t whileIterations = 0;
  /// Wall time inside outermost `while` loops, and their iterations: the
  /// time per iteration (per SPINN transition) without the code around.
  int64_t loopNanos = 0;
  int64_t outerLoopIterations = 0;
  /// Peak bytes held by live values in slots (inputs, which are borrowed,
  /// and constants, which the Executable owns, excluded; temporaries inside
  /// a reference kernel excluded).
  int64_t peakBytes = 0;
  int64_t parallelRuns = 0; ///< `parallel` instructions run on two threads
  /// Kernels and row operations run in parts on several threads (SplitWork.h)
  int64_t splitCalls = 0;
  /// With ExecOptions::profile: by "<instruction kind> <op>" (e.g. "fallback
  /// reduce_sum", "gemm dot", "kernel fusion"); `while` and `if` excluded
  /// (their bodies' instructions are counted instead).
  std::map<std::string, InstProfile> profile;
};

class Executable;

/// One run's mutable state. Reusing a context across runs keeps its buffer
/// pool warm. Thread-safety: one run at a time.
class ExecutionContext {
public:
  ExecutionContext();
  ~ExecutionContext();
  ExecutionContext(const ExecutionContext&) = delete;
  ExecutionContext& operator=(const ExecutionContext&) = delete;

  const ExecStats& stats() const { return stats_; }
  void resetStats() { stats_ = ExecStats(); }

private:
  friend class Runner;
  friend class Executable;
  struct State;
  std::unique_ptr<State> state_;
  ExecStats stats_;
};

class Executable {
public:
  /// `module` owns the ops the programs point at; `kernels` is the code of
  /// the programs' kernel instructions (Instruction::kernel indexes it), and
  /// `keepAlive` whatever owns that code (an AOT model's handle; null for
  /// the process-wide JIT).
  Executable(std::unique_ptr<Module> module, LoweredFunctions programs,
             std::vector<KernelFn> kernels, std::shared_ptr<const void> keepAlive = nullptr);
  ~Executable();

  /// Runs function `name` on `inputs` with `ctx`.
  StatusOr<std::vector<Tensor>> run(std::string_view name, const std::vector<Tensor>& inputs,
                                    ExecutionContext& ctx, const ExecOptions& options = {}) const;
  /// The same with a fresh context.
  StatusOr<std::vector<Tensor>> run(std::string_view name, const std::vector<Tensor>& inputs,
                                    const ExecOptions& options = {}) const;

  /// The compiled IR (after the compiler's passes).
  const Module& module() const { return *module_; }
  const LoweredFunction* program(std::string_view name) const;
  KernelFn kernel(int32_t k) const { return kernels_[static_cast<size_t>(k)]; }
  size_t numKernels() const { return kernels_.size(); }
  /// Every program as text (loweredFunctionToString), for debugging and failure reports.
  std::string describe() const;
  /// What a GEMM instruction's B operand is: a constant (packed once, kept
  /// across runs), a value defined outside the loop the GEMM is in (packed
  /// once per loop execution), or anything else (GemmReuse).
  enum class Weight { Varies, LoopInvariant, Constant };
  Weight weightKind(const Instruction& in) const;
  /// Whether a `gather` along axis 0 (no batch dims) may give its result,
  /// when its index is a scalar, as a view of one row of its operand: the
  /// operand is a constant or defined outside the loop the gather is in,
  /// and the result is read only by kernels and GEMMs of the same loop
  /// body, so it dies before the operand can be freed or updated
  /// (findLoopInvariantReads).
  bool mayViewRow(const Instruction& in) const { return rowViews_.count(&in) > 0; }
  /// This Executable's number among loop executions and Executables
  /// (GemmReuse::epoch).
  int64_t epoch() const { return epoch_; }

private:
  /// Fills weights_ and rowViews_: what a GEMM's B and a gather's operand
  /// are relative to the loops around them.
  void findLoopInvariantReads(const Block& b, const std::unordered_set<Slot>* inLoop,
                              const std::unordered_set<Slot>& constants);

  std::unique_ptr<Module> module_;
  LoweredFunctions programs_;
  std::vector<KernelFn> kernels_;
  std::shared_ptr<const void> keepAlive_;
  int64_t epoch_;
  std::unordered_map<const Instruction*, Weight> weights_;
  std::unordered_set<const Instruction*> rowViews_;
};

/// Whether `inputs` fit `p`'s signature (count, dtypes, static dims): the
/// check every run makes first, for callers that classify errors (the C API).
Status checkArguments(const LoweredFunction& p, const std::vector<Tensor>& inputs);
/// The same check over `count` argument types given by index (values that
/// are not host tensors: the device executor's DeviceTensors).
Status checkArgumentTypes(const LoweredFunction& p, size_t count,
                          const std::function<const TensorType&(size_t)>& typeOf);

/// The error of a `while` past its trip bound: `maxTrip` from its max_trip
/// operand (`fromOperand`) or the executor's defaultMaxTrip. Shared by the
/// CPU and device executors so both say the same (interp::maxTripExceeded's
/// wording, which the interpreter uses too).
Status maxTripExceeded(const Op& op, int64_t maxTrip, bool fromOperand);

/// The CPUs the calling thread may run on (its affinity mask), at least 1.
int usableCpus();

/// A readable listing of a program: one line per instruction with its kind,
/// op, slots and frees; nested blocks indented.
std::string loweredFunctionToString(const LoweredFunction& p);

} // namespace cairn::exec
