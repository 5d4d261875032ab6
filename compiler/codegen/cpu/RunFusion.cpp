// runFusionCompiled: describe, compile through the shared JIT, run.
#include "compiler/codegen/cpu/RunFusion.h"

namespace cairn::codegen::cpu {

StatusOr<CpuJit*> sharedCpuJit() {
  // Leaked on purpose: kernels may run until exit, and LLJIT's teardown must
  // not race other static destructors.
  static StatusOr<CpuJit*> jit = []() -> StatusOr<CpuJit*> {
    auto made = CpuJit::create();
    if (!made.isOk()) return made.status();
    return std::move(*made).release();
  }();
  return jit;
}

bool cpuJitAvailable() {
  return sharedCpuJit().isOk();
}

StatusOr<std::vector<Tensor>> runKernel(const KernelDesc& k, KernelFn fn,
                                        const std::vector<Tensor>& inputs) {
  if (inputs.size() != k.inputs.size())
    return errorf("kernel takes {} inputs, got {}", k.inputs.size(), inputs.size());
  std::vector<void*> buffers;
  for (size_t n = 0; n < inputs.size(); ++n) {
    if (inputs[n].type() != k.inputs[n])
      return errorf("kernel input #{} must be {}, got {}", n, k.inputs[n].toString(),
                    inputs[n].type().toString());
    buffers.push_back(const_cast<std::byte*>(inputs[n].rawData())); // read only
  }
  std::vector<Tensor> outputs;
  outputs.reserve(k.outputs.size());
  for (const KernelOutput& o : k.outputs) {
    outputs.emplace_back(o.type);
    buffers.push_back(outputs.back().rawData());
  }
  fn(buffers.data(), 0, k.numElements);
  return outputs;
}

StatusOr<std::vector<Tensor>> runFusionCompiled(const Op& fusionOp,
                                                const std::vector<Tensor>& inputs) {
  CAIRN_ASSIGN_OR_RETURN(KernelDesc k, describeKernel(fusionOp));
  CAIRN_ASSIGN_OR_RETURN(CpuJit * jit, sharedCpuJit());
  CAIRN_ASSIGN_OR_RETURN(KernelFn fn, jit->compile(k));
  return runKernel(k, fn, inputs);
}

} // namespace cairn::codegen::cpu
