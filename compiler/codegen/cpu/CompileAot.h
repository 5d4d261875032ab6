// Ahead-of-time compilation, as tfcompile does it: a module becomes an object
// file and a C header that link against the runtime library alone.
//
//   cairn-compile model.cairn -o model.o --header model.h --prefix model
//
// The object holds the optimized module as IR text, its lowered programs
// (runtime/exec/ProgramFormat.h), every kernel they launch (compiled by LLVM
// for `cpu`, with the same pipeline as the JIT), the kernels' fingerprints,
// and one descriptor, `<prefix>_aot` (a cairn_aot_model,
// runtime/capi/cairn.h). At load time the runtime parses the module and
// reads the programs (no compiler, no LLVM); the program it runs is the
// JIT's. cuda/CompileAotDevice.h writes the same for a CUDA device.
//
// The header declares the descriptor and, per function, a typed entry point
// `<prefix>_<function>(model, ctx, inputs..., outputs...)` over cairn_run,
// with the IR signature in a comment.
//
// Thread-safety: compileAot may run concurrently with itself and the JIT.
#pragma once

#include <string>

#include "ir/IR.h"
#include "ir/Status.h"

namespace cairn::codegen::cpu {

struct AotOptions {
  /// C identifier prefixing every symbol of the object and the header.
  std::string prefix = "model";
  /// The CPU the kernels are compiled for (an LLVM CPU name of the host's
  /// architecture, or "host" for this machine's CPU and features); the
  /// runtime refuses to load the object on a CPU without its features.
  std::string cpu = "x86-64-v3";
  int optLevel = 3;
  /// Also export the descriptor as `cairn_model_entry`, the symbol
  /// cairn_model_load_file finds in a shared object (cairn-compile --shared).
  bool sharedEntry = false;
};

struct AotReport {
  int kernels = 0;   ///< distinct kernels in the object
  int functions = 0; ///< entry points in the header
  double passesMs = 0, lowerMs = 0, codegenMs = 0;
  /// What the object records for the loader's check: the CPU and every
  /// target feature ("+avx2,+avx512f,..."), from LLVM's processor table.
  std::string targetCpu, targetFeatures;
};

/// Optimizes a copy of `m`, writes the object file to `objectPath`, and
/// returns the C header's text (which includes "runtime/capi/cairn.h").
StatusOr<std::string> compileAot(const Module& m, const AotOptions& options,
                                 const std::string& objectPath, AotReport* report = nullptr);

/// Whether `s` is a valid C identifier (what --prefix must be).
bool isCIdentifier(const std::string& s);

} // namespace cairn::codegen::cpu
