// KernelDesc: a backend-neutral description of one fused elementwise kernel,
// what the LLVM CPU backend (compiler/codegen/cpu) lowers today and the CUDA
// backend will lower through NVPTX.
//
// A kernel is one loop over the N elements of its iteration space, the
// element count every result shares. Output k is written at the iteration
// index i (row-major, so an output's shape does not change the loop). Input
// buffers are read through an IndexMap from i: the identity for an input of
// the result's element count (reshape keeps the row-major order, so it is the
// identity too), element 0 for a one-element input, and a row-major index
// decomposition only where a `broadcast` repeats elements or a block `gather`
// reads a slice (at an offset, so an input may be larger than the iteration
// space). The per-element
// body is a list of scalar instructions in dependency order: loads, constants
// and the elementwise ops of ir/Ops.def with their reference semantics
// (kernels/reference/Elementwise.h).
//
// Equality and hashing are structural (no names, no source locations), so two
// fusions that compute the same thing on the same types are one kernel: the
// JIT compiles it once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/IR.h"
#include "ir/Status.h"
#include "runtime/exec/KernelShape.h"

namespace cairn::codegen {

/// An extent of a kernel (numElements, an IndexTerm's div, mod or stride):
/// a constant when >= 0, else run-time parameter number paramOf(v) of the
/// kernel's KernelShape (dynamic shapes; see runtime/exec/KernelShape.h).
inline bool isParam(int64_t v) { return v < 0; }
inline int32_t paramOf(int64_t v) { return static_cast<int32_t>(-v - 1); }
inline int64_t paramExtent(int32_t p) { return -static_cast<int64_t>(p) - 1; }

/// One term of an index stage: ((in / div) % mod) * stride; mod 0 means no
/// modulus (the outermost dim). Each field may be a run-time parameter (isParam).
struct IndexTerm {
  int64_t div = 1;
  int64_t mod = 0;
  int64_t stride = 1;
  bool operator==(const IndexTerm&) const = default;
};

/// Maps an index to the sum of its terms plus a constant offset (a block
/// gather's start: ir/Fusion.h isBlockGather).
struct IndexStage {
  std::vector<IndexTerm> terms;
  int64_t offset = 0;
  bool operator==(const IndexStage&) const = default;
};

/// How a buffer is read from the iteration index i. Stages apply in order
/// (a broadcast of a reshape of a broadcast composes stages, which are not
/// linear in general); no stages means i itself.
struct IndexMap {
  bool zero = false; ///< every i reads element 0 (a one-element value)
  std::vector<IndexStage> stages;
  bool isIdentity() const { return !zero && stages.empty(); }
  bool operator==(const IndexMap&) const = default;
};

enum class InstKind : uint8_t {
  Load,         ///< input `source` at index map `index`
  LoadConstant, ///< element of tables[`source`] at index map `index`
  Constant,     ///< the scalar with bit pattern `bits`
  Compute,      ///< elementwise `op` on `args`
};

/// A scalar instruction of the per-element body; its result has `dtype`.
struct KernelInst {
  InstKind kind = InstKind::Compute;
  DType dtype = DType::F32;
  /// Compute: an elementwise op of ir/Ops.def (unary, binary, compare,
  /// select, cast); a cast converts args[0] to `dtype`.
  OpKind op = OpKind::Add;
  std::vector<int32_t> args; ///< Compute: earlier instructions
  int32_t source = -1;       ///< Load: input number; LoadConstant: table number
  int32_t index = -1;        ///< Load, LoadConstant: into KernelDesc::indexMaps
  /// Constant: f32 as its 32 bits, f64 as its 64 bits, i32/i64 sign-extended,
  /// i1 0 or 1, f16/bf16 as their 16 bits.
  uint64_t bits = 0;
  bool operator==(const KernelInst&) const = default;
};

struct KernelOutput {
  TensorType type;    ///< as declared (`?` dims come from KernelDesc::shape)
  int32_t value = -1; ///< the body instruction stored at each i
  bool operator==(const KernelOutput&) const = default;
};

/// One elementwise kernel. Buffers are passed inputs first, then outputs.
struct KernelDesc {
  int64_t numElements = 0;        ///< N, the iteration count (maybe a param, isParam)
  std::vector<TensorType> inputs; ///< in operand order, as declared
  /// Run-time extents; empty (isStatic) when every shape is static.
  exec::KernelShape shape;
  std::vector<KernelOutput> outputs;
  std::vector<IndexMap> indexMaps; ///< deduplicated
  std::vector<Tensor> tables;      ///< non-splat constants of the region
  std::vector<KernelInst> body;    ///< dependency order
  bool operator==(const KernelDesc&) const = default;
};

/// A hash consistent with operator== (structure only).
size_t hashKernel(const KernelDesc& k);
struct KernelDescHash {
  size_t operator()(const KernelDesc& k) const { return hashKernel(k); }
};

/// A fingerprint stable across processes and builds (FNV-1a of the kernel's
/// listing and its tables' bytes): how an ahead-of-time compiled object
/// names its kernels, so that the runtime binds each to the lowering that
/// asks for it (compiler/lowering/LowerFunctions.h).
uint64_t kernelFingerprint(const KernelDesc& k);

/// Describes a `fusion` op of kind "elementwise" (its region: elementwise
/// ops, broadcast, reshape, constant; yields the results), or a single
/// elementwise op (its operands are the inputs, its result the output).
/// Dynamic dims become run-time sizes: a `?` dim of an input, or a broadcast
/// or reshape size that is an input or a constant. Fails with a message
/// naming the op when a size is anything else, the fusion
/// has another kind, its results differ in element count, or the region holds
/// an op no kernel can express. Dtype and op support of a particular backend
/// is that backend's check (e.g. cpu::checkLowerable).
StatusOr<KernelDesc> describeKernel(const Op& fusionOrElementwiseOp);

/// A readable listing for debugging and test failures, e.g.
///   kernel N=12 inputs (tensor<3x4xf32>, tensor<4xf32>)
///     %0 = load f32 in0 [i]
///     %1 = load f32 in1 [(i%4)]
///     %2 = add f32 %0, %1
///     out0 tensor<3x4xf32> = %2
std::string kernelToString(const KernelDesc& k);

/// The map's index expression in terms of `i`, as kernelToString prints it.
std::string indexMapToString(const IndexMap& m);

} // namespace cairn::codegen
