// compileForDevice: passes, lowering to executor programs, kernels for the
// device (CompileForDevice.h).
#include "compiler/codegen/cuda/CompileForDevice.h"

#include <chrono>
#include <functional>
#include <map>
#include <mutex>

#include "compiler/codegen/ElapsedMs.h"
#include "compiler/codegen/cpu/CompileExecutable.h"
#include "compiler/codegen/cuda/LowerToDevice.h"

namespace cairn::codegen::cuda {
namespace {

/// The row kernels' PTX for `arch`, made once per process (they are fixed).
StatusOr<std::string> rowKernelsPtx(const std::string& arch) {
  static std::mutex mutex;
  static std::map<std::string, std::string> made;
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = made.find(arch); it != made.end()) return it->second;
  CAIRN_ASSIGN_OR_RETURN(std::string ptx, emitRowKernelsPtx(arch));
  return made.emplace(arch, std::move(ptx)).first->second;
}

/// Every row kernel loaded on `device`, in allRowKernels()' order.
StatusOr<std::vector<device::KernelHandle>> loadRowKernels(device::Device& device,
                                                           EmulatedKernelCompiler* emulator,
                                                           const DeviceCompileOptions& options) {
  std::vector<std::pair<std::string, std::string>> ptx;
  if (!emulator)
    for (const std::string& arch : options.architectures) {
      StatusOr<std::string> text = rowKernelsPtx(arch);
      if (!text.isOk()) return errorf("compile error: {}", text.status().message());
      ptx.emplace_back(arch, std::move(*text));
    }
  std::vector<device::EmulatedKernelFn> fns;
  if (emulator) {
    CAIRN_ASSIGN_OR_RETURN(fns, emulator->rowKernels());
  }
  std::vector<device::KernelHandle> handles;
  const std::vector<device::RowKernelDesc>& all = device::allRowKernels();
  device::KernelImage image{"", std::move(ptx), nullptr}; // one module: only the entry changes
  for (size_t j = 0; j < all.size(); ++j) {
    image.name = device::rowKernelName(all[j]);
    image.emulated = emulator ? fns[j] : nullptr;
    StatusOr<device::KernelHandle> h = device.load(image);
    if (!h.isOk())
      return errorf("loading {} on {}: {}", image.name, device.name(), h.status().message());
    handles.push_back(*h);
  }
  return handles;
}

} // namespace

StatusOr<DeviceLowering> lowerForDevice(const Module& m, const DeviceCompileOptions& options,
                                        DeviceCompileReport& r) {
  auto t0 = std::chrono::steady_clock::now();
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<Module> copy,
                         cpu::optimizedCopy(m, options.passes ? *options.passes
                                               : options.rnnOnDevice
                                                   ? deviceOptimizePipeline(options.floatRewrites)
                                                   : optimizePipeline(options.floatRewrites)));
  r.passesMs = msSince(t0);

  auto t1 = std::chrono::steady_clock::now();
  cpu::KernelCollector kernels; // the device takes what the CPU lowering takes
  LowerOptions lower;
  lower.parallelLoops = false; // one stream: no loop pairs
  CAIRN_ASSIGN_OR_RETURN(LoweredFunctions programs, lowerFunctions(*copy, lower, &kernels, &r));
  // A lone broadcast (the CPU runs it as a row copy) is an elementwise
  // kernel of one load on the device.
  std::map<const Op*, int32_t> opKernels;
  std::function<void(const exec::Block&)> scan = [&](const exec::Block& b) {
    for (const exec::Instruction& in : b.insts) {
      for (const exec::Block& nested : in.blocks)
        scan(nested);
      if (in.kind != exec::InstKind::Rows || in.op->kind() != OpKind::Broadcast) continue;
      StatusOr<KernelDesc> k = describeKernel(*in.op);
      // One input, one output, static shapes: the launch DeviceExecutable makes.
      if (!k.isOk() || k->inputs.size() != 1 || k->outputs.size() != 1 || !k->shape.isStatic())
        continue;
      if (int32_t index = kernels.add(*k); index >= 0) opKernels[in.op] = index;
    }
  };
  for (const auto& [name, program] : programs)
    scan(program.body);
  r.lowerMs = msSince(t1);
  r.kernels = static_cast<int>(kernels.kernels().size());
  return DeviceLowering{std::move(copy), std::move(programs), kernels.kernels(),
                        std::move(opKernels)};
}

std::vector<std::string> deviceKernelNames(size_t n) {
  std::vector<std::string> names;
  for (size_t j = 0; j < n; ++j)
    names.push_back(device::kernelEntryName(j));
  return names;
}

StatusOr<std::unique_ptr<device::DeviceExecutable>>
compileForDevice(const Module& m, std::shared_ptr<device::Device> device,
                 const DeviceCompileOptions& options, DeviceCompileReport* report) {
  DeviceCompileReport local;
  DeviceCompileReport& r = report ? *report : local;
  r = DeviceCompileReport();
  if (!device) return Status::error("compileForDevice: no device");
  DeviceCompileOptions effective = options;
  effective.rnnOnDevice = options.rnnOnDevice && device->supportsRnn();
  CAIRN_ASSIGN_OR_RETURN(DeviceLowering lowered, lowerForDevice(m, effective, r));

  auto t2 = std::chrono::steady_clock::now();
  const std::vector<KernelDesc>& descs = lowered.kernels;
  std::vector<std::string> names = deviceKernelNames(descs.size());
  if (!descs.empty() && (!device->isEmulated() || options.alwaysEmitPtx))
    for (const std::string& arch : options.architectures) {
      StatusOr<std::string> ptx = emitPtx(descs, names, arch);
      if (!ptx.isOk()) return errorf("compile error: {}", ptx.status().message());
      r.ptx.emplace_back(arch, std::move(*ptx));
    }
  std::vector<device::KernelHandle> handles;
  EmulatedKernelCompiler* emulator = nullptr;
  if (device->isEmulated()) {
    CAIRN_ASSIGN_OR_RETURN(emulator, sharedEmulatedKernelCompiler());
  }
  device::KernelImage image{"", r.ptx, nullptr}; // one module: only the entry changes
  for (size_t j = 0; j < descs.size(); ++j) {
    image.name = names[j];
    if (emulator) {
      StatusOr<device::EmulatedKernelFn> fn = emulator->compile(descs[j]);
      if (!fn.isOk()) return errorf("compile error: {}", fn.status().message());
      image.emulated = *fn;
    }
    StatusOr<device::KernelHandle> handle = device->load(image);
    if (!handle.isOk())
      return errorf("loading kernel {} on {}: {}", names[j], device->name(),
                    handle.status().message());
    handles.push_back(*handle);
  }
  CAIRN_ASSIGN_OR_RETURN(std::vector<device::KernelHandle> rows,
                         loadRowKernels(*device, emulator, options));
  r.codegenMs = msSince(t2);
  auto exe = std::make_unique<device::DeviceExecutable>(
      std::move(lowered.module), std::move(lowered.programs), std::move(device), std::move(handles),
      std::move(rows));
  exe->setOpKernels(std::move(lowered.opKernels));
  return exe;
}

} // namespace cairn::codegen::cuda
