// LowerToLLVM: a KernelDesc becomes one LLVM IR function,
//
//   void name(void* const* buffers, int64_t begin, int64_t end)
//
// that computes output elements [begin, end) (the caller splits [0, N) among
// threads, or passes it whole). buffers[0 .. #inputs) are the inputs, then
// the outputs, each a dense row-major array of its dtype (i1 one byte, 0 or 1),
// and then, for a kernel of dynamic shape, the int64_t array of its run-time
// extents (KernelDesc::shape.params evaluated by exec::evaluateKernelShape;
// not read when the kernel is static). Extents that are parameters are
// computed with 64-bit division where constant ones may use 32-bit, and a
// map with a parameter never splits by row: static kernels lose nothing.
// Buffers must not overlap: the loop reads them as noalias.
//
// The loop visits output elements i in rows of W: an outer loop over rows,
// an inner loop over the row's elements, whose body is one basic block with
// no calls (approximations are inline arithmetic, see MathApprox.h): what
// LLVM's loop vectorizer widens. W is N (one flat loop) unless broadcast
// inputs repeat with a period of at least 16 elements; then W is that
// period, and within a row every input is either read contiguously or
// invariant (a bias row read at i % H becomes base + c, a column read at
// i / H a per-row load). A flat loop reading i % H is not vectorized in
// practice: LLVM versions it on "i % H does not wrap" and runs the scalar
// copy. Inputs of the iteration space's size are read at i; maps the rows do
// not simplify (a broadcast of a reshape of a broadcast) are computed per
// element with udiv/urem by constants (32-bit when N fits). Semantics are
// the reference kernels' (kernels/reference/Elementwise.h) bit for bit,
// except exp, log, tanh, sigmoid and pow, which are within MathApprox's
// documented bounds.
//
// Supported: f32, f64, i32, i64, i1; every elementwise op but integer `div`
// (which must fail on a zero divisor; fusion never fuses it) and f64 `pow`.
// Unsupported kernels are a Status from checkLowerable, never an abort.
#pragma once

#include <cstdint>
#include <string>

#include "compiler/lowering/KernelDesc.h"

namespace llvm {
class Function;
class Module;
} // namespace llvm

namespace cairn::codegen::cpu {

/// The C signature of a lowered kernel.
using KernelFn = void (*)(void* const* buffers, int64_t begin, int64_t end);

/// Ok when every dtype and op of `k` is supported by the CPU backend; else an
/// error saying what is unsupported in codegen.
Status checkLowerable(const KernelDesc& k);

/// Adds the kernel to `m` as an external function named `name` (plus an
/// internal always-inline helper `name.loop`). Checks checkLowerable first.
StatusOr<llvm::Function*> lowerToLLVM(const KernelDesc& k, llvm::Module& m,
                                      const std::string& name);

} // namespace cairn::codegen::cpu
