// The LLVM side shared by the JIT (Jit.cpp) and ahead-of-time compilation
// (CompileAot.cpp): stamping kernels with their target and running the -O2/-O3
// pipeline with the target's cost model, so both paths make the same code.
#pragma once

namespace llvm {
class Module;
class TargetMachine;
} // namespace llvm

namespace cairn::codegen::cpu {

/// Gives every defined function of `m` the target's CPU and features, checks
/// the module with LLVM's verifier (a failure is a lowering bug: aborts with
/// the verifier's report), then optimizes it at `optLevel` (2 or 3) with
/// loop and SLP vectorization on.
void optimizeModule(llvm::Module& m, llvm::TargetMachine& tm, int optLevel);

} // namespace cairn::codegen::cpu
