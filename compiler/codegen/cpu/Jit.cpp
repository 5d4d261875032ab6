// CpuJit on ORC's LLJIT: one LLVM module per compile() call, optimized here
// with the host TargetMachine (so the vectorizer's cost model knows the real
// vector width), then handed to LLJIT, which generates code for the whole
// module on the first lookup.
#include "compiler/codegen/cpu/Jit.h"
#include "compiler/codegen/cpu/OptimizeModule.h"

#include <chrono>
#include <mutex>
#include <unordered_map>

#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/TargetParser/Host.h>

namespace cairn::codegen::cpu {

void optimizeModule(llvm::Module& m, llvm::TargetMachine& tm, int optLevel) {
  std::string cpu = tm.getTargetCPU().str();
  std::string features = tm.getTargetFeatureString().str();
  for (llvm::Function& f : m) {
    if (f.isDeclaration()) continue;
    f.addFnAttr("target-cpu", cpu);
    f.addFnAttr("target-features", features);
  }
  std::string broken;
  llvm::raw_string_ostream brokenOs(broken);
  CAIRN_CHECK(!llvm::verifyModule(m, &brokenOs), "lowered kernels fail LLVM's verifier: {}",
              broken);
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PipelineTuningOptions tuning;
  tuning.LoopVectorization = true;
  tuning.SLPVectorization = true;
  llvm::PassBuilder pb(&tm, tuning);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::OptimizationLevel level =
      optLevel >= 3 ? llvm::OptimizationLevel::O3 : llvm::OptimizationLevel::O2;
  pb.buildPerModuleDefaultPipeline(level).run(m, mam);
}

namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

Status llvmError(std::string_view what, llvm::Error e) {
  return errorf("{}: {}", what, llvm::toString(std::move(e)));
}

bool initializeNativeTarget() {
  static const bool ok =
      !llvm::InitializeNativeTarget() && !llvm::InitializeNativeTargetAsmPrinter();
  return ok;
}

/// The host's triple with its CPU name and every feature it reports, or the
/// CPU and features the options ask for.
llvm::orc::JITTargetMachineBuilder targetMachine(const JitOptions& options) {
  llvm::orc::JITTargetMachineBuilder jtmb{llvm::Triple(llvm::sys::getProcessTriple())};
  if (options.cpu.empty()) {
    jtmb.setCPU(llvm::sys::getHostCPUName().str());
    for (const auto& feature : llvm::sys::getHostCPUFeatures())
      jtmb.getFeatures().AddFeature(feature.first(), feature.second);
  } else {
    jtmb.setCPU(options.cpu);
    if (!options.features.empty()) jtmb.getFeatures() = llvm::SubtargetFeatures(options.features);
  }
  jtmb.setCodeGenOptLevel(options.optLevel >= 3 ? llvm::CodeGenOptLevel::Aggressive
                                                : llvm::CodeGenOptLevel::Default);
  return jtmb;
}

/// Equality and hash through pointers, for deduplicating within one call.
struct PtrHash {
  size_t operator()(const KernelDesc* k) const { return hashKernel(*k); }
};
struct PtrEq {
  bool operator()(const KernelDesc* a, const KernelDesc* b) const { return *a == *b; }
};

} // namespace

struct CpuJit::Impl {
  JitOptions options;
  std::unique_ptr<llvm::orc::LLJIT> jit;
  std::unique_ptr<llvm::TargetMachine> tm; // drives the optimization pipeline
  std::string cpu;
  mutable std::mutex mutex;
  std::unordered_map<KernelDesc, KernelFn, KernelDescHash> cache;
  int64_t nextId = 0;

};

CpuJit::CpuJit(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CpuJit::~CpuJit() = default;

StatusOr<std::unique_ptr<CpuJit>> CpuJit::create(const JitOptions& options) {
  if (!initializeNativeTarget()) return Status::error("LLVM has no native target for this host");
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  llvm::orc::JITTargetMachineBuilder jtmb = targetMachine(options);
  impl->cpu = jtmb.getCPU();
  auto tm = jtmb.createTargetMachine();
  if (!tm) return llvmError("cannot make a target machine for the host", tm.takeError());
  impl->tm = std::move(*tm);
  auto jit = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(std::move(jtmb)).create();
  if (!jit) return llvmError("cannot create the ORC JIT", jit.takeError());
  impl->jit = std::move(*jit);
  return std::unique_ptr<CpuJit>(new CpuJit(std::move(impl)));
}

StatusOr<std::vector<KernelFn>> CpuJit::compile(const std::vector<KernelDesc>& kernels,
                                                CompileStats* stats) {
  Clock::time_point t0 = Clock::now();
  CompileStats local;
  CompileStats& st = stats ? *stats : local;
  st = CompileStats{};
  st.requested = static_cast<int>(kernels.size());
  std::lock_guard<std::mutex> lock(impl_->mutex);

  // Cached kernels, and the distinct new ones.
  std::vector<KernelFn> out(kernels.size(), nullptr);
  std::vector<const KernelDesc*> fresh;
  std::unordered_map<const KernelDesc*, size_t, PtrHash, PtrEq> freshIndex;
  std::vector<size_t> slot(kernels.size(), 0);
  for (size_t n = 0; n < kernels.size(); ++n) {
    if (auto it = impl_->cache.find(kernels[n]); it != impl_->cache.end()) {
      out[n] = it->second;
      ++st.cacheHits;
      continue;
    }
    auto [it, inserted] = freshIndex.emplace(&kernels[n], fresh.size());
    if (inserted)
      fresh.push_back(&kernels[n]);
    else
      ++st.cacheHits;
    slot[n] = it->second;
  }
  if (fresh.empty()) {
    st.totalMs = msSince(t0);
    return out;
  }
  for (const KernelDesc* k : fresh)
    CAIRN_RETURN_IF_ERROR(checkLowerable(*k));

  // Lower into one module.
  auto ctx = std::make_unique<llvm::LLVMContext>();
  auto module = std::make_unique<llvm::Module>("cairn_kernels", *ctx);
  module->setDataLayout(impl_->tm->createDataLayout());
  module->setTargetTriple(impl_->tm->getTargetTriple().str());
  std::vector<std::string> names;
  for (const KernelDesc* k : fresh) {
    names.push_back(fmt::format("cairn_kernel_{:016x}_{}", hashKernel(*k), impl_->nextId++));
    CAIRN_ASSIGN_OR_RETURN(llvm::Function * fn, lowerToLLVM(*k, *module, names.back()));
    (void)fn;
  }
  st.lowerMs = msSince(t0);

  Clock::time_point t1 = Clock::now();
  optimizeModule(*module, *impl_->tm, impl_->options.optLevel);
  st.optimizeMs = msSince(t1);
  if (impl_->options.keepOptimizedIR) {
    llvm::raw_string_ostream os(st.optimizedIR);
    module->print(os, nullptr);
  }

  Clock::time_point t2 = Clock::now();
  if (llvm::Error e =
          impl_->jit->addIRModule(llvm::orc::ThreadSafeModule(std::move(module), std::move(ctx))))
    return llvmError("cannot add the kernels to the JIT", std::move(e));
  std::vector<KernelFn> fns;
  for (const std::string& name : names) {
    auto addr = impl_->jit->lookup(name);
    if (!addr) return llvmError("cannot generate code for " + name, addr.takeError());
    fns.push_back(addr->toPtr<KernelFn>());
  }
  st.codegenMs = msSince(t2);

  for (size_t f = 0; f < fresh.size(); ++f)
    impl_->cache.emplace(*fresh[f], fns[f]);
  for (size_t n = 0; n < kernels.size(); ++n)
    if (!out[n]) out[n] = fns[slot[n]];
  st.compiled = static_cast<int>(fresh.size());
  st.totalMs = msSince(t0);
  return out;
}

StatusOr<KernelFn> CpuJit::compile(const KernelDesc& kernel, CompileStats* stats) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<KernelFn> fns,
                         compile(std::vector<KernelDesc>{kernel}, stats));
  return fns[0];
}

size_t CpuJit::numKernels() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->cache.size();
}

const std::string& CpuJit::cpuName() const {
  return impl_->cpu;
}

} // namespace cairn::codegen::cpu
