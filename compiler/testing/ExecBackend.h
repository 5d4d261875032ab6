// The compiled executor as a differential-testing backend: registers "exec"
// (compileExecutable with the optimize pipeline, JIT kernels and BLAS) so
// `cairn-fuzz-diff --backend exec` runs random programs through it.
//
//   exec          optimize pipeline, then the executor
//   exec:nopasses the executor on the module as generated (each op lowered alone)
//   cuda          the CUDA backend (compiler/codegen/cuda) on the emulated
//                 device: the same kernels and programs a GPU runs
//   cuda:nopasses the same on the module as generated
//
// Its float results differ from the interpreter's within the JIT's
// approximation bounds (docs/codegen.md) and BLAS's summation order, so
// compare with a tolerance (cairn-fuzz-diff --tolerance 1e-4).
#pragma once

#include "ir/Status.h"

namespace cairn {

/// Registers "exec" and "cuda"; a second call does nothing. Not thread-safe (call at
/// start-up, as registerBackend).
Status registerExecBackend();

} // namespace cairn
