// lowerFunctions: an optimized Module becomes the executor's LoweredFunctions
// (runtime/exec/LoweredFunction.h), one per function, with the buffer plan.
//
// No LLVM here: the same lowering runs when the JIT compiles a module
// (compiler/codegen/cpu/CompileExecutable.h) and when the runtime loads an
// ahead-of-time compiled model (runtime/capi), whose kernels were compiled
// by cairn-compile from this lowering's KernelDescs. The two agree because
// lowering is deterministic and kernels are named by their structure.
//
// Each op becomes one instruction:
//   - a `fusion` of kind "elementwise", and a lone elementwise op, to a
//     kernel the KernelSource provides (dynamic shapes included: the kernel
//     takes its run-time extents, runtime/exec/KernelShape.h);
//   - `dot` to BLAS sgemm/dgemm when it is a (batched) matrix product,
//     transposes included (runtime/exec/Gemm.h);
//   - dynamic_slice, dynamic_update_slice, gather, scatter, scatter_add,
//     concat, broadcast, transpose and reduce_sum to row kernels (kernels/cpu), the
//     updates in place when their operand dies there;
//   - constants to tensors materialized once; reshape to a buffer alias;
//   - `while` and `if` to nested instruction blocks; two adjacent loops
//     that do not read each other's results to one `parallel` instruction;
//   - everything else (and what the above cannot take) to the reference
//     kernels, one op at a time.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "compiler/lowering/KernelDesc.h"
#include "ir/IR.h"
#include "runtime/exec/LoweredFunction.h"

namespace cairn::codegen {

/// Where kernel code comes from: a JIT compiling the KernelDescs it is given,
/// or the table of an ahead-of-time compiled object.
class KernelSource {
public:
  virtual ~KernelSource() = default;
  /// The index of `k`'s code in the table the source provides once lowering
  /// is done (LoweredFunction::kernels), or -1 when it cannot provide it (the op then
  /// runs through the reference kernels).
  virtual int32_t add(const KernelDesc& k) = 0;
};

struct LowerOptions {
  /// Lower elementwise fusions and ops to kernels (else reference kernels).
  bool kernels = true;
  /// Lower matrix products to BLAS (else the reference `dot`).
  bool blas = true;
  /// Update dying operands in place and alias reshapes (else always copy):
  /// off only to measure what in place buys.
  bool inPlace = true;
  /// Run adjacent independent loops as one `parallel` instruction (two
  /// threads), with the producers only one of them reads (PairLoops.h).
  bool parallelLoops = true;
};

/// What lowering did.
struct LowerReport {
  int kernelsStatic = 0;  ///< kernels of static shape
  int kernelsDynamic = 0; ///< kernels with run-time extents
  int gemms = 0;
  int rows = 0;    ///< ops run by row kernels (indexed ops, concat, broadcast)
  int inPlace = 0; ///< update ops planned in place
  int fallbacks = 0;
  int parallel = 0;        ///< pairs of loops run on two threads
  int pairedProducers = 0; ///< instructions moved into a pair's blocks (PairLoops.cpp)
};

using exec::LoweredFunctions;

/// Every function of `m` lowered; kernel instructions name indices of
/// `kernels` (null: no kernels, every elementwise op runs the reference).
StatusOr<LoweredFunctions> lowerFunctions(const Module& m, const LowerOptions& options,
                                          KernelSource* kernels, LowerReport* report = nullptr);

} // namespace cairn::codegen
