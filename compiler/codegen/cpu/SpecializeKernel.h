// Specializing a kernel op of dynamic shape to the shapes of one run: how the
// executor's CPU backend compiles fusions over a dynamic batch dim.
//
// A `fusion` of kind "elementwise" (or a lone elementwise op) is cloned with
// its inputs' concrete types; every op of the clone gets its concrete result
// type (elementwise ops keep their operand's shape; broadcast and reshape
// read their `?` dims from the values of their size operands, which must be
// inputs or constants), and the size operands are dropped, so describeKernel
// sees a static kernel. The CpuKernelProvider of CompileExecutable.cpp caches
// the compiled result by shapes.
#pragma once

#include <memory>
#include <vector>

#include "compiler/codegen/KernelDesc.h"
#include "ir/IR.h"

namespace cairn::codegen::cpu {

/// The KernelDesc of `op` (a fusion or an elementwise op) at the concrete
/// `inputs` (one per operand, values read only for size operands). Fails when
/// a size is not an input or constant, or describeKernel fails.
StatusOr<KernelDesc> describeSpecialized(const Op& op, const std::vector<const Tensor*>& inputs);

} // namespace cairn::codegen::cpu
