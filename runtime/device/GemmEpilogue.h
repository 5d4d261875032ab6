// Which GEMMs run with a cuBLASLt epilogue (Device::gemmEpilogue): a `dot`
// whose product feeds only the fused kernel right after it, when that kernel
// adds a bias over the product's rows, or a matrix of its shape, optionally
// followed by relu:
//
//   %y = dot %x, %w : tensor<MxNxf32>                 (no batch dims)
//   %r = fusion (%c = %y, %b = %bias) ... {
//     %bb = broadcast %b {dims = [last]} : tensor<MxNxf32>
//     %s  = add %c, %bb          (either order)
//     %t  = relu %s              (optional)
//     yield %t
//   } {kind = "elementwise"}
//
// becomes one cublasLtMatmul with CUBLASLT_EPILOGUE_BIAS or _RELU_BIAS, and
// the kernel launch and the product's round trip through memory disappear.
// The matrix form (`add %c, %m` with %m MxN) is what a bias broadcast
// hoisted out of a loop leaves in the loop's body (licm moves the
// broadcast, not the add): cuBLASLt's C operand with beta 1, then
// CUBLASLT_EPILOGUE_DEFAULT or _RELU.
//
// Why here, over the executor's programs, and not in the compiler: the
// executor is what both the JIT (compileForDevice) and the ahead-of-time
// objects (runtime/capi, whose serialized programs the CPU executor reads
// too) run, so recognizing the pair when a DeviceExecutable is made serves
// both without a new instruction kind in the program format or the AOT ABI;
// the fused kernel's IR (Instruction::op, the fusion op) says exactly what it
// computes. The kernel stays in the program: where a run's sizes or dtypes do
// not fit (checked per run), or the device has no epilogues, the GEMM and
// the kernel run apart as before.
//
// Dynamic batch sizes are taken: the frontend's Linear on a `?` batch
// takes `dim` of the product to broadcast the bias, so `dim`s may sit
// between the GEMM and the kernel (the product's buffer holds the final
// result from the GEMM on; a `dim` reads only its shape), and the
// broadcast's size operands must be the product's dims.
//
// Not fused: tanh and sigmoid (cuBLASLt has no such epilogue), a bias along
// another axis than the last, batched products (cuBLASLt's bias batch
// stride is not used), f64 (cuBLASLt's epilogues are not documented for
// it), a product read again after the kernel, anything else in the kernel
// (a scale, a second add), anything but `dim`s between.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/device/Device.h"
#include "runtime/exec/LoweredFunction.h"

namespace cairn::device {

struct EpilogueFusion {
  bool relu = false;
  bool matrix = false;      ///< an MxN addend, not a bias vector
  size_t addendOperand = 0; ///< the kernel instruction's operand that is the bias or matrix
  /// The kernel, after the GEMM with only `dim`s between (they read the
  /// product's shape alone).
  const exec::Instruction* kernel = nullptr;
  /// A dynamic batch: the bias broadcast's size operands that are not a
  /// `dim` of the product between, as (kernel operand, product dim): the run
  /// checks each is known and equal to the dim, else the two run apart.
  std::vector<std::pair<size_t, int64_t>> sizeChecks;
};

/// Whether the GEMM `block.insts[at]` takes the kernel after it as its
/// epilogue (see above).
std::optional<EpilogueFusion> matchGemmEpilogue(const exec::Block& block, size_t at);

/// Every such GEMM in `programs` (nested blocks included), by instruction.
std::map<const exec::Instruction*, EpilogueFusion>
planGemmEpilogues(const exec::LoweredFunctions& programs);

} // namespace cairn::device
