// The pieces of an ahead-of-time object both compilers write (AotObject.h).
#include "compiler/codegen/cpu/AotObject.h"

#include <algorithm>

#include <llvm/IR/Constants.h>
#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/GlobalAlias.h>
#include <llvm/IR/GlobalVariable.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Target/TargetOptions.h>
#include <llvm/TargetParser/Host.h>
#include <llvm/TargetParser/X86TargetParser.h>

#include "compiler/codegen/cpu/OptimizeModule.h"
#include "runtime/capi/cairn.h"

namespace cairn::codegen::cpu {

StatusOr<std::unique_ptr<llvm::TargetMachine>> makeAotTargetMachine(const AotOptions& o) {
  if (llvm::InitializeNativeTarget() || llvm::InitializeNativeTargetAsmPrinter())
    return Status::error("LLVM has no native target for this host");
  std::string triple = llvm::sys::getProcessTriple();
  std::string error;
  const llvm::Target* target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target) return errorf("no LLVM target for {}: {}", triple, error);
  std::string cpu = o.cpu;
  std::vector<std::string> fs;
  if (cpu == "host") {
    cpu = llvm::sys::getHostCPUName().str();
    for (const auto& f : llvm::sys::getHostCPUFeatures())
      fs.push_back((f.second ? "+" : "-") + f.first().str());
  } else {
    // Every ISA feature LLVM's processor table gives the CPU: the object
    // records them all, so the loader refuses a host lacking any (a hand
    // list missed AVX-512 for znver4 and sapphirerapids).
    llvm::SmallVector<llvm::StringRef, 64> implied;
    llvm::X86::getFeaturesForCPU(cpu, implied, /*NeedPlus=*/true);
    for (llvm::StringRef f : implied)
      fs.push_back(f.str());
  }
  std::sort(fs.begin(), fs.end());
  std::string features = fmt::format("{}", fmt::join(fs, ","));
  llvm::TargetOptions options;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, cpu, features, options, llvm::Reloc::PIC_, std::nullopt,
      o.optLevel >= 3 ? llvm::CodeGenOptLevel::Aggressive : llvm::CodeGenOptLevel::Default));
  if (!tm) return errorf("LLVM cannot make a target machine for CPU '{}'", o.cpu);
  if (!tm->getMCSubtargetInfo()->isCPUStringValid(cpu))
    return errorf("unknown CPU '{}' for {} (try x86-64-v3, x86-64-v4, znver4 or host)", o.cpu,
                  triple);
  return tm;
}

llvm::Constant* bytesGlobal(llvm::Module& m, std::string_view bytes, const std::string& name) {
  llvm::Constant* init = llvm::ConstantDataArray::getString(m.getContext(), bytes, true);
  auto* g = new llvm::GlobalVariable(m, init->getType(), true, llvm::GlobalValue::PrivateLinkage,
                                     init, name);
  return g;
}

llvm::Constant* arrayGlobal(llvm::Module& m, llvm::Type* elem,
                            const std::vector<llvm::Constant*>& elems, const std::string& name) {
  auto* ty = llvm::ArrayType::get(elem, elems.size());
  return new llvm::GlobalVariable(m, ty, true, llvm::GlobalValue::PrivateLinkage,
                                  llvm::ConstantArray::get(ty, elems), name);
}

void addAotDescriptor(llvm::Module& m, const llvm::TargetMachine& tm, const AotOptions& o,
                      const AotContents& c) {
  llvm::LLVMContext& ctx = m.getContext();
  llvm::Type* ptr = llvm::PointerType::getUnqual(ctx);
  llvm::Type* i64 = llvm::Type::getInt64Ty(ctx);
  auto* null = llvm::ConstantPointerNull::get(llvm::PointerType::getUnqual(ctx));
  // Field by field as cairn_aot_model in runtime/capi/cairn.h.
  auto* descTy =
      llvm::StructType::get(ctx, {i64, ptr, i64, i64, ptr, ptr, ptr, ptr, ptr, i64, ptr});
  llvm::Constant* desc = llvm::ConstantStruct::get(
      descTy,
      {llvm::ConstantInt::get(i64, CAIRN_AOT_ABI_VERSION),
       bytesGlobal(m, c.moduleText, o.prefix + "_module"),
       llvm::ConstantInt::get(i64, c.moduleText.size()), llvm::ConstantInt::get(i64, c.numKernels),
       c.kernels ? c.kernels : null, c.fingerprints ? c.fingerprints : null,
       bytesGlobal(m, tm.getTargetCPU().str(), o.prefix + "_cpu"),
       bytesGlobal(m, tm.getTargetFeatureString().str(), o.prefix + "_features"),
       bytesGlobal(m, c.programBytes, o.prefix + "_programs"),
       llvm::ConstantInt::get(i64, c.programBytes.size()), c.device ? c.device : null});
  auto* descG = new llvm::GlobalVariable(m, descTy, true, llvm::GlobalValue::ExternalLinkage, desc,
                                         o.prefix + "_aot");
  if (o.sharedEntry)
    llvm::GlobalAlias::create(llvm::GlobalValue::ExternalLinkage, CAIRN_MODEL_ENTRY_SYMBOL, descG);
}

Status emitAotObject(llvm::Module& m, llvm::TargetMachine& tm, int optLevel,
                     const std::string& path) {
  optimizeModule(m, tm, optLevel);
  std::error_code ec;
  llvm::raw_fd_ostream out(path, ec, llvm::sys::fs::OF_None);
  if (ec) return errorf("cannot write {}: {}", path, ec.message());
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, out, nullptr, llvm::CodeGenFileType::ObjectFile))
    return errorf("LLVM cannot emit an object file for CPU '{}'", tm.getTargetCPU().str());
  pm.run(m);
  out.flush();
  if (out.has_error()) return errorf("cannot write {}: {}", path, out.error().message());
  return Status::ok();
}

} // namespace cairn::codegen::cpu
