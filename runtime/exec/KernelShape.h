// KernelShape: the sizes a compiled kernel learns at run time.
//
// A kernel over values of dynamic shape (a `?` batch dim) is compiled once,
// with its extents (iteration count, index-map divisors, moduli and strides,
// output dims) left symbolic: each is a product factor * s_a * s_b ..., of
// run-time sizes s_k read from its inputs (a dim of an input, or the value of
// a scalar integer input that a broadcast or reshape takes as a size). Before
// each call the executor evaluates the KernelShape on the actual inputs and
// passes the extents the kernel needs as its `params` array (see
// compiler/codegen/cpu/LowerToLLVM.h). This is what lets one kernel serve
// every batch size without a JIT at run time, and what makes ahead-of-time
// compilation of dynamic-shape programs possible.
//
// The compiler records what it assumed (two dims the IR says are equal, a
// broadcast's operand dim that is not 1) as checks; when the inputs do not
// satisfy one, evaluate() says so and the executor runs the op through the
// reference kernels instead, which either compute it (a legal broadcast of a
// dim that happens to be 1) or report the shape error. A compiled kernel
// never reads out of bounds.
//
// No LLVM here: the runtime library evaluates shapes on its own.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ir/Tensor.h"

namespace cairn::exec {

/// Where run-time size s_k comes from: dim `dim` of input `input`, or, when
/// dim is -1, the value of input `input`, a scalar integer.
struct SizeSource {
  int32_t input = 0;
  int32_t dim = 0;
  bool operator==(const SizeSource&) const = default;
};

/// factor * s[syms[0]] * s[syms[1]] * ...; syms sorted, repeats allowed.
struct Extent {
  int64_t factor = 1;
  std::vector<int32_t> syms;

  static Extent constant(int64_t c) { return Extent{c, {}}; }
  static Extent size(int32_t s) { return Extent{1, {s}}; }
  bool isConstant() const { return syms.empty(); }
  Extent operator*(const Extent& o) const;
  bool operator==(const Extent&) const = default;
  std::string toString() const;
};

/// Two extents the kernel assumes equal.
struct ShapeCheck {
  Extent a;
  Extent b;
  bool operator==(const ShapeCheck&) const = default;
};

struct KernelShape {
  std::vector<SizeSource> sizes;             ///< s_k for k = 0 .. sizes.size()-1
  std::vector<ShapeCheck> checks;            ///< must hold for the kernel to run
  std::vector<Extent> params;                ///< params[k], passed to the kernel
  std::vector<std::vector<Extent>> outputs;  ///< each output's dims
  bool isStatic() const { return sizes.empty(); }
  bool operator==(const KernelShape&) const = default;
};

/// A KernelShape evaluated on actual inputs.
struct KernelExtents {
  std::vector<int64_t> params;
  std::vector<Shape> outputs;
};

/// Evaluates `k` on `inputs` (the kernel's inputs, in order) into `out`.
/// False when the inputs do not fit what the kernel was compiled for: a size
/// source missing, not an integer scalar, or negative; a check failing; an
/// extent overflowing int64.
bool evaluateKernelShape(const KernelShape& k, const std::vector<const Tensor*>& inputs,
                         KernelExtents& out);

/// Reads run-time size `src` into `v` (false: the input does not have it).
using SizeReader = std::function<bool(const SizeSource& src, int64_t& v)>;
/// The same over inputs the caller reads (a device executor's, whose data is
/// not in host memory).
bool evaluateKernelShape(const KernelShape& k, const SizeReader& read, KernelExtents& out);

} // namespace cairn::exec
