// CpuJit on ORC's LLJIT: one LLVM module per compile() call, optimized here
// with the host TargetMachine (so the vectorizer's cost model knows the real
// vector width), then handed to LLJIT, which generates code for the whole
// module on the first lookup.
#include "compiler/codegen/cpu/Jit.h"
#include "compiler/codegen/ElapsedMs.h"
#include "compiler/codegen/cpu/KernelCache.h"
#include "compiler/codegen/cpu/OptimizeModule.h"

#include <chrono>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <llvm/IR/LegacyPassManager.h>
#include <llvm/Support/SmallVectorMemoryBuffer.h>

#include <llvm/Config/llvm-config.h>
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
  std::optional<llvm::orc::JITTargetMachineBuilder> jtmb; // one TargetMachine per compiling thread
  std::unique_ptr<llvm::orc::LLJIT> jit;
  std::string cpu;
  mutable std::mutex mutex;
  std::unordered_map<KernelDesc, KernelFn, KernelDescHash> cache;
  std::unordered_set<uint64_t> fingerprints; ///< of the kernels named by them
  KernelCache diskCache;
  int64_t nextId = 0;
};

namespace {

/// One group of kernels compiled on its own thread: lowered into a module of
/// its own context, optimized, and emitted as an object in memory.
struct Group {
  std::vector<const KernelDesc*> kernels;
  std::vector<std::string> names;
  std::vector<bool> cacheable; ///< false: a name not unique to the kernel's fingerprint
  std::vector<std::unique_ptr<llvm::MemoryBuffer>> objects; ///< one per kernel
  std::string optimizedIR;
  Status status = Status::ok();
  double lowerMs = 0, optimizeMs = 0, codegenMs = 0;
  int diskHits = 0, diskStores = 0;
};

/// What besides a kernel's IR decides its code: the key's other half.
uint64_t targetKey(llvm::TargetMachine& tm, int optLevel) {
  return fnv1a(fmt::format("{}|{}|{}|O{}|v{}", tm.getTargetTriple().str(), tm.getTargetCPU().str(),
                           tm.getTargetFeatureString().str(), optLevel, kCacheVersion) +
               LLVM_VERSION_STRING);
}

/// Each kernel in a module of its own (so each is one cache entry): lowered,
/// then loaded from the disk cache or optimized, compiled and stored.
void compileGroup(Group& g, llvm::orc::JITTargetMachineBuilder jtmb, int optLevel, bool keepIR,
                  const KernelCache& cache) {
  auto tm = jtmb.createTargetMachine();
  if (!tm) {
    g.status = llvmError("cannot make a target machine for the host", tm.takeError());
    return;
  }
  const uint64_t target = targetKey(**tm, optLevel);
  for (size_t k = 0; k < g.kernels.size(); ++k) {
    Clock::time_point t0 = Clock::now();
    llvm::LLVMContext ctx;
    llvm::Module module("cairn_kernels", ctx);
    module.setDataLayout((*tm)->createDataLayout());
    module.setTargetTriple((*tm)->getTargetTriple().str());
    StatusOr<llvm::Function*> fn = lowerToLLVM(*g.kernels[k], module, g.names[k]);
    if (!fn.isOk()) {
      g.status = fn.status();
      return;
    }
    // The optimized IR is wanted (keepIR): compile, do not load.
    bool useCache = cache.enabled() && g.cacheable[k] && !keepIR;
    uint64_t key = 0;
    if (useCache) {
      std::string ir;
      llvm::raw_string_ostream os(ir);
      module.print(os, nullptr);
      key = fnv1a(os.str(), target);
    }
    g.lowerMs += msSince(t0);
    if (useCache) {
      if (std::optional<std::string> object = cache.load(key)) {
        g.objects.push_back(llvm::MemoryBuffer::getMemBufferCopy(*object, g.names[k]));
        ++g.diskHits;
        continue;
      }
    }
    Clock::time_point t1 = Clock::now();
    optimizeModule(module, **tm, optLevel);
    g.optimizeMs += msSince(t1);
    if (keepIR) {
      llvm::raw_string_ostream os(g.optimizedIR);
      module.print(os, nullptr);
    }
    Clock::time_point t2 = Clock::now();
    llvm::SmallVector<char, 0> bytes;
    llvm::raw_svector_ostream os(bytes);
    llvm::legacy::PassManager pm;
    if ((*tm)->addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::ObjectFile)) {
      g.status = Status::error("LLVM cannot emit object code for this host");
      return;
    }
    pm.run(module);
    if (useCache) {
      cache.store(key, std::string_view(bytes.data(), bytes.size()));
      ++g.diskStores;
    }
    g.objects.push_back(std::make_unique<llvm::SmallVectorMemoryBuffer>(
        std::move(bytes), g.names[k], /*RequiresNullTerminator=*/false));
    g.codegenMs += msSince(t2);
  }
}

/// Threads for one compile: one per 8 new kernels, at most the host's cores (and 8).
size_t compileThreads(size_t kernels) {
  size_t cores = std::max(1u, std::thread::hardware_concurrency());
  return std::max<size_t>(1, std::min({cores, size_t{8}, (kernels + 7) / 8}));
}

} // namespace

CpuJit::CpuJit(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CpuJit::~CpuJit() = default;

StatusOr<std::unique_ptr<CpuJit>> CpuJit::create(const JitOptions& options) {
  if (!initializeNativeTarget()) return Status::error("LLVM has no native target for this host");
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->diskCache =
      KernelCache(options.cacheDir ? *options.cacheDir : KernelCache::defaultDirectory());
  llvm::orc::JITTargetMachineBuilder jtmb = targetMachine(options);
  impl->cpu = jtmb.getCPU();
  auto tm = jtmb.createTargetMachine();
  if (!tm) return llvmError("cannot make a target machine for the host", tm.takeError());
  impl->jtmb = jtmb;
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

  // Lower, optimize and generate code in groups, one thread each; then link
  // the objects into the JIT.
  std::vector<Group> groups(compileThreads(fresh.size()));
  std::vector<std::string> names;
  for (size_t f = 0; f < fresh.size(); ++f) {
    // Named by the kernel's fingerprint, stable across processes, so a
    // cached object links under the same name; a second kernel with the
    // same fingerprint (a hash collision) gets a unique name and no cache.
    uint64_t fp = kernelFingerprint(*fresh[f]);
    bool unique = impl_->fingerprints.insert(fp).second;
    names.push_back(unique ? fmt::format("cairn_kernel_{:016x}", fp)
                           : fmt::format("cairn_kernel_{:016x}_{}", fp, impl_->nextId++));
    Group& g = groups[f % groups.size()];
    g.kernels.push_back(fresh[f]);
    g.names.push_back(names.back());
    g.cacheable.push_back(unique);
  }
  {
    std::vector<std::thread> threads;
    for (size_t g = 1; g < groups.size(); ++g)
      threads.emplace_back(compileGroup, std::ref(groups[g]), std::cref(*impl_->jtmb),
                           impl_->options.optLevel, impl_->options.keepOptimizedIR,
                           std::cref(impl_->diskCache));
    compileGroup(groups[0], *impl_->jtmb, impl_->options.optLevel, impl_->options.keepOptimizedIR,
                 impl_->diskCache);
    for (std::thread& t : threads)
      t.join();
  }
  for (Group& g : groups) {
    CAIRN_RETURN_IF_ERROR(g.status);
    st.lowerMs = std::max(st.lowerMs, g.lowerMs);
    st.optimizeMs = std::max(st.optimizeMs, g.optimizeMs);
    st.codegenMs = std::max(st.codegenMs, g.codegenMs);
    st.optimizedIR += g.optimizedIR;
    st.diskHits += g.diskHits;
    st.diskStores += g.diskStores;
  }

  Clock::time_point t2 = Clock::now();
  for (Group& g : groups)
    for (std::unique_ptr<llvm::MemoryBuffer>& object : g.objects)
      if (llvm::Error e = impl_->jit->addObjectFile(std::move(object)))
        return llvmError("cannot add the kernels to the JIT", std::move(e));
  std::vector<KernelFn> fns;
  for (const std::string& name : names) {
    auto addr = impl_->jit->lookup(name);
    if (!addr) return llvmError("cannot link " + name, addr.takeError());
    fns.push_back(addr->toPtr<KernelFn>());
  }
  st.codegenMs += msSince(t2);

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
