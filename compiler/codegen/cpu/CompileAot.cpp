// compileAot: the JIT's pipeline and lowering, then LLVM's object emission
// instead of ORC, plus the data the runtime needs to rebuild the program.
#include "compiler/codegen/cpu/CompileAot.h"

#include <algorithm>
#include <chrono>

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

#include "compiler/Pipeline.h"
#include "compiler/codegen/cpu/CompileExecutable.h"
#include "compiler/codegen/cpu/LowerToLLVM.h"
#include "compiler/codegen/cpu/OptimizeModule.h"
#include "ir/Printer.h"
#include "runtime/capi/cairn.h"
#include "runtime/exec/ProgramFormat.h"

namespace cairn::codegen::cpu {

std::string aotHeader(const Module& m, const std::string& prefix); // AotHeader.cpp

namespace {

double msSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

StatusOr<std::unique_ptr<llvm::TargetMachine>> makeTargetMachine(const AotOptions& o) {
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

/// A private constant global holding `bytes` (plus a NUL), as an i8 pointer.
llvm::Constant* bytesGlobal(llvm::Module& m, std::string_view bytes, const std::string& name) {
  llvm::Constant* init = llvm::ConstantDataArray::getString(m.getContext(), bytes, true);
  auto* g = new llvm::GlobalVariable(m, init->getType(), true, llvm::GlobalValue::PrivateLinkage,
                                     init, name);
  return g;
}

} // namespace

bool isCIdentifier(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

StatusOr<std::string> compileAot(const Module& m, const AotOptions& o,
                                 const std::string& objectPath, AotReport* report) {
  AotReport local;
  AotReport& r = report ? *report : local;
  r = AotReport();
  if (!isCIdentifier(o.prefix))
    return errorf("prefix '{}' is not a C identifier", o.prefix);
  auto t0 = std::chrono::steady_clock::now();
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<Module> copy, optimizedCopy(m, optimizePipeline()));
  r.passesMs = msSince(t0);

  // Lower as the runtime will, to learn which kernels it will ask for.
  auto t1 = std::chrono::steady_clock::now();
  KernelCollector kernels;
  CAIRN_ASSIGN_OR_RETURN(Programs programs, buildPrograms(*copy, LowerOptions{}, &kernels));
  std::string text = printModule(*copy);
  // The lowered programs in their binary form: the runtime loads them as
  // they are, with no compiler (runtime/exec/ProgramFormat.h). They refer to
  // ops by position, which the text read back preserves.
  std::string programBytes = exec::writePrograms(programs, *copy);
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<llvm::TargetMachine> tm, makeTargetMachine(o));
  llvm::LLVMContext ctx;
  llvm::Module lm(o.prefix, ctx);
  lm.setDataLayout(tm->createDataLayout());
  lm.setTargetTriple(tm->getTargetTriple().str());
  llvm::Type* ptr = llvm::PointerType::getUnqual(ctx);
  llvm::Type* i64 = llvm::Type::getInt64Ty(ctx);
  std::vector<llvm::Constant*> fns, prints;
  for (size_t k = 0; k < kernels.kernels().size(); ++k) {
    const KernelDesc& desc = kernels.kernels()[k];
    CAIRN_ASSIGN_OR_RETURN(llvm::Function * f,
                           lowerToLLVM(desc, lm, fmt::format("{}_kernel_{}", o.prefix, k)));
    f->setLinkage(llvm::GlobalValue::InternalLinkage);
    fns.push_back(f);
    prints.push_back(llvm::ConstantInt::get(i64, kernelFingerprint(desc)));
  }
  r.lowerMs = msSince(t1);

  // The descriptor (cairn_aot_model): the kernels are internal and reached
  // only through its table, which keeps them alive through optimization.
  auto* fnsTy = llvm::ArrayType::get(ptr, fns.size());
  auto* fnsG = new llvm::GlobalVariable(lm, fnsTy, true, llvm::GlobalValue::PrivateLinkage,
                                        llvm::ConstantArray::get(fnsTy, fns), o.prefix + "_kernels");
  auto* printsTy = llvm::ArrayType::get(i64, prints.size());
  auto* printsG =
      new llvm::GlobalVariable(lm, printsTy, true, llvm::GlobalValue::PrivateLinkage,
                               llvm::ConstantArray::get(printsTy, prints), o.prefix + "_fingerprints");
  // Field by field as cairn_aot_model in runtime/capi/cairn.h.
  auto* descTy = llvm::StructType::get(ctx, {i64, ptr, i64, i64, ptr, ptr, ptr, ptr, ptr, i64});
  llvm::Constant* desc = llvm::ConstantStruct::get(
      descTy, {llvm::ConstantInt::get(i64, CAIRN_AOT_ABI_VERSION),
               bytesGlobal(lm, text, o.prefix + "_module"),
               llvm::ConstantInt::get(i64, text.size()), llvm::ConstantInt::get(i64, fns.size()),
               fnsG, printsG, bytesGlobal(lm, tm->getTargetCPU().str(), o.prefix + "_cpu"),
               bytesGlobal(lm, tm->getTargetFeatureString().str(), o.prefix + "_features"),
               bytesGlobal(lm, programBytes, o.prefix + "_programs"),
               llvm::ConstantInt::get(i64, programBytes.size())});
  auto* descG = new llvm::GlobalVariable(lm, descTy, true, llvm::GlobalValue::ExternalLinkage,
                                         desc, o.prefix + "_aot");
  if (o.sharedEntry)
    llvm::GlobalAlias::create(llvm::GlobalValue::ExternalLinkage, CAIRN_MODEL_ENTRY_SYMBOL, descG);

  auto t2 = std::chrono::steady_clock::now();
  optimizeModule(lm, *tm, o.optLevel);
  std::error_code ec;
  llvm::raw_fd_ostream out(objectPath, ec, llvm::sys::fs::OF_None);
  if (ec) return errorf("cannot write {}: {}", objectPath, ec.message());
  llvm::legacy::PassManager pm;
  if (tm->addPassesToEmitFile(pm, out, nullptr, llvm::CodeGenFileType::ObjectFile))
    return errorf("LLVM cannot emit an object file for CPU '{}'", o.cpu);
  pm.run(lm);
  out.flush();
  if (out.has_error()) return errorf("cannot write {}: {}", objectPath, out.error().message());
  r.codegenMs = msSince(t2);
  r.kernels = static_cast<int>(fns.size());
  r.targetCpu = tm->getTargetCPU().str();
  r.targetFeatures = tm->getTargetFeatureString().str();
  r.functions = static_cast<int>(copy->functions().size());
  return aotHeader(*copy, o.prefix);
}

} // namespace cairn::codegen::cpu
