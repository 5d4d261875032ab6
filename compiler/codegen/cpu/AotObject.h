// What the CPU and the CUDA ahead-of-time compilers (CompileAot.h,
// cuda/CompileAotDevice.h) share: the host's target machine, constant data
// in the object, the cairn_aot_model descriptor and the object file itself.
// Internal to cairn_codegen (LLVM types are only forward-declared here).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/codegen/cpu/CompileAot.h"
#include "ir/IR.h"
#include "ir/Status.h"

namespace llvm {
class Constant;
class Module;
class TargetMachine;
class Type;
} // namespace llvm

namespace cairn::codegen::cpu {

/// The target machine for `o.cpu` on this host's architecture; the features
/// it records are every one LLVM's processor table gives that CPU.
StatusOr<std::unique_ptr<llvm::TargetMachine>> makeAotTargetMachine(const AotOptions& o);

/// A private constant global holding `bytes` (plus a NUL).
llvm::Constant* bytesGlobal(llvm::Module& m, std::string_view bytes, const std::string& name);

/// A private constant array of `elems` (each of type `elem`).
llvm::Constant* arrayGlobal(llvm::Module& m, llvm::Type* elem,
                            const std::vector<llvm::Constant*>& elems, const std::string& name);

/// The descriptor's contents besides what `m`, `tm` and the options give.
struct AotContents {
  std::string moduleText;   ///< the optimized module, IR text
  std::string programBytes; ///< exec::writePrograms
  size_t numKernels = 0;
  llvm::Constant* kernels = nullptr;      ///< the CPU kernel table, or null (device models)
  llvm::Constant* fingerprints = nullptr; ///< one i64 per kernel
  llvm::Constant* device = nullptr;       ///< a cairn_aot_device, or null (CPU models)
};

/// Adds `<prefix>_aot` (a cairn_aot_model, runtime/capi/cairn.h) to `m`,
/// and its CAIRN_MODEL_ENTRY_SYMBOL alias when `o.sharedEntry`.
void addAotDescriptor(llvm::Module& m, const llvm::TargetMachine& tm, const AotOptions& o,
                      const AotContents& c);

/// The C header: the descriptor and a typed entry point per function
/// (AotHeader.cpp).
std::string aotHeader(const Module& m, const std::string& prefix);

/// Optimizes `m` for `tm` and writes it to `path` as an object file.
Status emitAotObject(llvm::Module& m, llvm::TargetMachine& tm, int optLevel,
                     const std::string& path);

} // namespace cairn::codegen::cpu
