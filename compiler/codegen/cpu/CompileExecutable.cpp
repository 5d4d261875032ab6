// compileExecutable: the optimize pipeline, lowering to executor programs
// (compiler/lowering/LowerFunctions.h), then every kernel the programs use
// JIT-compiled in one LLVM module.
#include "compiler/codegen/cpu/CompileExecutable.h"

#include <chrono>
#include <unordered_map>

#include "compiler/Pipeline.h"
#include "compiler/RewriteUtils.h"
#include "compiler/codegen/ElapsedMs.h"
#include "compiler/codegen/cpu/RunFusion.h"
#include "compiler/lowering/LowerFunctions.h"

namespace cairn::codegen::cpu {

int32_t KernelCollector::add(const KernelDesc& k) {
  if (!checkLowerable(k).isOk()) return -1;
  auto [it, added] = index_.emplace(k, static_cast<int32_t>(kernels_.size()));
  if (added) kernels_.push_back(k);
  return it->second;
}

StatusOr<std::unique_ptr<Module>> optimizedCopy(const Module& m,
                                                const std::vector<std::string>& passes) {
  std::unique_ptr<Module> copy = cloneModule(m);
  if (!passes.empty())
    if (Status ran = runPipeline(*copy, passes); !ran.isOk())
      return errorf("compile error: {}", ran.message());
  return copy;
}

StatusOr<std::unique_ptr<exec::Executable>>
compileExecutable(const Module& m, const CompileOptions& options, CompileReport* report) {
  CompileReport local;
  CompileReport& r = report ? *report : local;
  r = CompileReport();
  auto t0 = std::chrono::steady_clock::now();
  CAIRN_ASSIGN_OR_RETURN(
      std::unique_ptr<Module> copy,
      optimizedCopy(m, options.passes ? *options.passes : optimizePipeline(options.floatRewrites)));
  r.passesMs = msSince(t0);

  auto t1 = std::chrono::steady_clock::now();
  CpuJit* jit = nullptr;
  if (options.lower.kernels) {
    StatusOr<CpuJit*> shared = sharedCpuJit();
    if (shared.isOk()) jit = *shared; // no JIT on this host: reference kernels instead
  }
  KernelCollector kernels;
  LowerOptions lower = options.lower;
  lower.kernels = jit != nullptr;
  CAIRN_ASSIGN_OR_RETURN(LoweredFunctions programs,
                         lowerFunctions(*copy, lower, jit ? &kernels : nullptr, &r));
  r.lowerMs = msSince(t1);

  auto t2 = std::chrono::steady_clock::now();
  std::vector<exec::KernelFn> fns;
  if (jit && !kernels.kernels().empty()) {
    StatusOr<std::vector<KernelFn>> compiled = jit->compile(kernels.kernels());
    if (!compiled.isOk()) return errorf("compile error: {}", compiled.status().message());
    fns = std::move(compiled).value();
  }
  r.kernels = static_cast<int>(fns.size());
  r.jitMs = msSince(t2);
  return std::make_unique<exec::Executable>(std::move(copy), std::move(programs), std::move(fns));
}

} // namespace cairn::codegen::cpu
