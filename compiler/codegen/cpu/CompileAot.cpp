// compileAot: the JIT's pipeline and lowering, then LLVM's object emission
// instead of ORC, plus the data the runtime needs to rebuild the program.
#include "compiler/codegen/cpu/CompileAot.h"

#include <chrono>

#include <llvm/IR/Constants.h>
#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>

#include "compiler/Pipeline.h"
#include "compiler/codegen/ElapsedMs.h"
#include "compiler/codegen/cpu/AotObject.h"
#include "compiler/codegen/cpu/CompileExecutable.h"
#include "compiler/codegen/cpu/LowerToLLVM.h"
#include "ir/Printer.h"
#include "runtime/exec/ProgramFormat.h"

namespace cairn::codegen::cpu {

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
  if (!isCIdentifier(o.prefix)) return errorf("prefix '{}' is not a C identifier", o.prefix);
  auto t0 = std::chrono::steady_clock::now();
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<Module> copy, optimizedCopy(m, optimizePipeline()));
  r.passesMs = msSince(t0);

  // Lower as the runtime will, to learn which kernels it will ask for.
  auto t1 = std::chrono::steady_clock::now();
  KernelCollector kernels;
  CAIRN_ASSIGN_OR_RETURN(LoweredFunctions programs,
                         lowerFunctions(*copy, LowerOptions{}, &kernels));
  std::string text = printModule(*copy);
  // The lowered programs in their binary form: the runtime loads them as
  // they are, with no compiler (runtime/exec/ProgramFormat.h). They refer to
  // ops by position, which the text read back preserves.
  std::string programBytes = exec::writePrograms(programs, *copy);
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<llvm::TargetMachine> tm, makeAotTargetMachine(o));
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

  // The kernels are internal and reached only through the descriptor's
  // table, which keeps them alive through optimization.
  AotContents contents;
  contents.moduleText = std::move(text);
  contents.programBytes = std::move(programBytes);
  contents.numKernels = fns.size();
  contents.kernels = arrayGlobal(lm, ptr, fns, o.prefix + "_kernels");
  contents.fingerprints = arrayGlobal(lm, i64, prints, o.prefix + "_fingerprints");
  addAotDescriptor(lm, *tm, o, contents);

  auto t2 = std::chrono::steady_clock::now();
  CAIRN_RETURN_IF_ERROR(emitAotObject(lm, *tm, o.optLevel, objectPath));
  r.codegenMs = msSince(t2);
  r.kernels = static_cast<int>(fns.size());
  r.targetCpu = tm->getTargetCPU().str();
  r.targetFeatures = tm->getTargetFeatureString().str();
  r.functions = static_cast<int>(copy->functions().size());
  return aotHeader(*copy, o.prefix);
}

} // namespace cairn::codegen::cpu
