// Vectorizable approximations of exp, log, tanh, sigmoid, erf and pow, emitted as
// LLVM IR: straight-line arithmetic, bit manipulation and selects, no libm
// calls and no branches, so a loop that uses them stays one basic block the
// loop vectorizer can widen.
//
// Each function takes and returns a scalar `float` or `double` llvm::Value
// and honours IEEE special cases the way the reference kernels (libm) do:
// NaN propagates, exp(-inf) = 0, exp(+inf) = +inf, log(0) = -inf, log(x < 0)
// = NaN, tanh(+-inf) = +-1, tanh(-0) = -0, sigmoid(-inf) = 0, and pow
// follows C's pow for zeros, infinities, negative bases and NaN. Denormal
// inputs and results are handled (no flush to zero).
//
// The documented worst-case errors are in approximationBounds(), measured in
// ULPs of the exactly rounded result against libm evaluated in higher
// precision (double for f32, long double for f64); the
// CodegenCpuMathTest sweeps check them and docs/codegen.md lists them.
#pragma once

#include <span>
#include <string_view>

#include "ir/OpKind.h"
#include "ir/Types.h"

namespace llvm {
class IRBuilderBase;
class Value;
} // namespace llvm

namespace cairn::codegen::cpu {

/// e^x.
llvm::Value* emitExp(llvm::IRBuilderBase& b, llvm::Value* x);
/// ln(x).
llvm::Value* emitLog(llvm::IRBuilderBase& b, llvm::Value* x);
/// tanh(x), through expm1(-2|x|).
llvm::Value* emitTanh(llvm::IRBuilderBase& b, llvm::Value* x);
/// 1 / (1 + e^-x), never overflowing.
llvm::Value* emitSigmoid(llvm::IRBuilderBase& b, llvm::Value* x);
/// x^y for f32 operands, computed as exp(y * log|x|) in double precision;
/// f64 pow would need extended-precision log/exp and is not supported
/// (ir's noKernelForm says so before lowering).
llvm::Value* emitPow(llvm::IRBuilderBase& b, llvm::Value* x, llvm::Value* y);
/// erf(x) for f32, by its Taylor series in double precision (f64 erf would
/// need a piecewise rational approximation; noKernelForm says so).
llvm::Value* emitErf(llvm::IRBuilderBase& b, llvm::Value* x);

/// A documented error bound of one approximation.
struct ApproxBound {
  OpKind op;
  DType dtype;
  double maxUlp;         ///< over every finite input, denormals included
  std::string_view note; ///< the method, for docs and failure messages
};

/// Every approximation with its bound (the rows of docs/codegen.md's table).
std::span<const ApproxBound> approximationBounds();
/// The bound for (op, dtype); 0 when that op is exact in codegen.
double approximationMaxUlp(OpKind op, DType dtype);

} // namespace cairn::codegen::cpu
