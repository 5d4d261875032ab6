// What a function is lowered to for the executors (the CPU's exec::Executable
// and the device's DeviceExecutable): instructions over value slots, made by
// compiler/lowering/LowerFunctions.h or read from an AOT object
// (ProgramFormat.h).
//
// A function becomes a LoweredFunction: every SSA value of the function (nested
// regions included) gets a slot in one flat frame, and each op becomes an
// Instruction reading operand slots and writing result slots. `while` and
// `if` hold nested Blocks; a while's carried values live in one set of slots
// shared by its cond arguments, body arguments and results, so the body's
// yield becomes the next iteration's argument by moving a buffer, never by
// copying it.
//
// Buffer policy (decided at compile time, see compiler/codegen/cpu/
// CompileExecutable.cpp): each instruction lists the slots whose last use it
// is (`frees`); the executor releases them right after it. An update op
// (dynamic_update_slice, scatter, scatter_add) whose operand dies at it takes
// the operand's buffer and writes in place (`inPlace`). Nothing in a LoweredFunction
// points into LLVM: kernels are plain function pointers, so an AOT-compiled
// program can run with the runtime library alone.
//
// Thread-safety: a LoweredFunction is immutable once built and read concurrently by
// every ExecutionContext running it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "ir/IR.h"
#include "ir/Status.h"
#include "ir/Tensor.h"
#include "runtime/exec/KernelShape.h"

namespace cairn::exec {

using Slot = int32_t;

/// A compiled elementwise kernel: computes output elements [begin, end);
/// buffers are the inputs, then the outputs, then (dynamic shapes) the
/// int64_t run-time extents (see compiler/codegen/cpu/LowerToLLVM.h).
using KernelFn = void (*)(void* const* buffers, int64_t begin, int64_t end);

/// How a `dot` maps onto one (batched) row-major GEMM C = op(A) op(B). Each
/// operand is [batch..., X..., Y...] in memory: `batchDims` leading batch
/// dims (the same for both), then its free and contracting dims as two
/// contiguous groups; A is transposed when its contracting group comes
/// first, B when its contracting group comes last.
struct GemmShape {
  int batchDims = 0;
  int contractDims = 1;
  bool transA = false;
  bool transB = false;
};

enum class InstKind : uint8_t {
  Kernel,   ///< a compiled elementwise kernel
  Gemm,     ///< a `dot` as BLAS sgemm/dgemm
  Rows,     ///< data movement by contiguous rows (kernels/cpu): dynamic_slice,
            ///< dynamic_update_slice, gather, scatter(_add), concat, broadcast
  Fallback, ///< one op through the reference kernels
  Constant, ///< a constant materialized at compile time (LoweredFunction::constants[constant])
  Alias,    ///< reshape / stop_gradient: the result takes the operand's buffer when it dies here
  While,
  If,
  Parallel, ///< blocks run at the same time, one thread each (independent loops)
};

/// Ops the executor runs as InstKind::Rows (kernels/cpu): the lowering
/// chooses them by this, the program loader accepts them by it.
inline bool isRowOp(OpKind k) {
  return k == OpKind::DynamicSlice || k == OpKind::DynamicUpdateSlice || k == OpKind::Gather ||
         k == OpKind::Scatter || k == OpKind::ScatterAdd || k == OpKind::Concat ||
         k == OpKind::Broadcast || k == OpKind::ReduceSum || k == OpKind::Transpose ||
         k == OpKind::Argmax;
}

struct Block;

struct Instruction {
  InstKind kind = InstKind::Fallback;
  /// The op this instruction runs: its location names errors, and the
  /// fallback evaluates it. Owned by the Executable's module.
  const Op* op = nullptr;
  std::vector<Slot> operands;
  std::vector<Slot> results;
  /// Slots to release after this instruction (their last use in this block,
  /// uses inside nested blocks included; dead results too).
  std::vector<Slot> frees;
  /// Indexed updates: operand 0 dies here, so update it in place.
  bool inPlace = false;

  // Kernel: number `kernel` of the Executable's kernel table, writing
  // `outputTypes`; when a shape is dynamic, `shape` gives the output dims and
  // the kernel's run-time extents, evaluated on the inputs before each call
  // (and the op runs through the reference kernels when they do not fit,
  // see KernelShape.h).
  int32_t kernel = -1;
  std::vector<TensorType> outputTypes;
  std::shared_ptr<const KernelShape> shape;
  // Gemm.
  GemmShape gemm;
  // Constant.
  int32_t constant = -1;

  // While: blocks[0] is cond (yields one i1), blocks[1] the body; `carried`
  // are the slots of the carried values (cond and body arguments and the
  // results). operands are the initial values (then max_trip, if any);
  // moveInit[i]: operand i dies at the while and may be moved in.
  // If: blocks[0] then, blocks[1] else; results receive the yields.
  // Parallel: each block (one loop) on its own thread; `frees` after all.
  std::vector<Block> blocks;
  std::vector<Slot> carried;
  std::vector<bool> moveInit;
};

struct Block {
  std::vector<Instruction> insts;
  std::vector<Slot> yields;
  /// yields[i]'s buffer may be moved out (it dies at the yield and is not
  /// yielded twice); otherwise it is copied.
  std::vector<bool> moveYield;
};

/// One function, lowered: its instructions, slots and constants.
struct LoweredFunction {
  std::string name;
  Location loc;
  std::vector<TensorType> argTypes;
  std::vector<TensorType> resultTypes;
  std::vector<Slot> args;
  Block body; ///< yields are the function's results
  int32_t numSlots = 0;
  std::vector<Tensor> constants;
};

/// What instructions do to slots, their nested blocks included.
struct SlotEffects {
  std::set<Slot> reads;    ///< operands and yields
  std::set<Slot> defines;  ///< results and carried values
  std::set<Slot> releases; ///< freed, taken over in place, moved in or out
  void add(const Instruction& in);
};

/// Empty when the blocks of `par` (a Parallel instruction) may run at the
/// same time: none reads a slot another one defines, frees or takes over (an
/// in-place update, a moved-in initial value, a moved yield). Otherwise what
/// clashes, e.g. "thread 0 reads %s12, which thread 1 frees or takes over".
std::string parallelHazard(const Instruction& par);

/// The lowered functions of a module, by name.
using LoweredFunctions = std::map<std::string, LoweredFunction, std::less<>>;

} // namespace cairn::exec
