// modelDevice and loadDeviceModel (DeviceModel.h).
#include "runtime/capi/DeviceModel.h"

#include <cstdlib>
#include <map>

#include <fmt/format.h>

#include "runtime/device/OpenDevice.h"
#include "runtime/device/RowKernels.h"

namespace cairn::capi {
namespace {

/// One module per architecture as a KernelImage's PTX and cubins.
StatusOr<device::KernelImage> imageOf(const cairn_aot_device_code* codes, uint64_t n,
                                      const char* what) {
  device::KernelImage image;
  if (n && !codes) return errorf("the model object's {} table is missing", what);
  for (uint64_t j = 0; j < n; ++j) {
    const cairn_aot_device_code& c = codes[j];
    if (!c.arch || !c.ptx || (c.cubin_size && !c.cubin))
      return errorf("the model object's {} for architecture #{} lack their code", what, j);
    // cuModuleLoadData reads PTX up to its NUL: it must end where it says.
    if (c.ptx[c.ptx_size] != '\0')
      return errorf("the model object's {} PTX for {} is not terminated", what, c.arch);
    image.ptx.emplace_back(c.arch, std::string(c.ptx, c.ptx_size));
    if (c.cubin_size)
      image.cubins.emplace_back(c.arch,
                                std::string(static_cast<const char*>(c.cubin), c.cubin_size));
  }
  return image;
}

} // namespace

StatusOr<ModelDevice> modelDevice() {
  static std::mutex mutex;
  static std::map<device::DeviceChoice, ModelDevice> opened;
  device::DeviceChoice choice = device::DeviceChoice::Gpu;
  if (const char* env = std::getenv("CAIRN_DEVICE"); env && *env) {
    CAIRN_ASSIGN_OR_RETURN(choice, device::parseDeviceChoice(env));
  }
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = opened.find(choice); it != opened.end()) return it->second;
  StatusOr<std::shared_ptr<device::Device>> dev = device::openDevice(choice);
  if (!dev.isOk())
    return errorf("the model was compiled for CUDA and there is no GPU to run it: {} (set "
                  "CAIRN_DEVICE=emulated to run it on the emulated device, whose kernels the "
                  "object also carries)",
                  dev.status().message());
  ModelDevice made{std::move(*dev), std::make_shared<std::mutex>()};
  opened.emplace(choice, made);
  return made;
}

StatusOr<std::unique_ptr<device::DeviceExecutable>>
loadDeviceModel(const cairn_aot_model& aot, std::unique_ptr<Module> module,
                exec::LoweredFunctions programs, std::shared_ptr<device::Device> dev) {
  const cairn_aot_device& d = *aot.device;
  const std::vector<device::RowKernelDesc>& rowKinds = device::allRowKernels();
  if (d.num_archs == 0 || d.num_archs > 64)
    return errorf("the model object names {} GPU architectures", d.num_archs);
  if (d.num_row_kernels != rowKinds.size())
    return errorf("the model object has {} row kernels, this runtime {}: recompile it with this "
                  "release's cairn-compile",
                  d.num_row_kernels, rowKinds.size());
  bool emulated = dev->isEmulated();
  if (emulated && ((aot.num_kernels && !d.emulated_kernels) || !d.emulated_row_kernels))
    return Status::error("the model object lacks the emulated device's kernels");
  if (d.num_op_kernels && !d.op_kernels)
    return Status::error("the model object lacks its op kernel table");

  CAIRN_ASSIGN_OR_RETURN(device::KernelImage kernelCode,
                         imageOf(d.kernels, aot.num_kernels ? d.num_archs : 0, "kernels"));
  CAIRN_ASSIGN_OR_RETURN(device::KernelImage rowCode,
                         imageOf(d.row_kernels, d.num_archs, "row kernels"));
  // One image per module, its entry and host entry set per kernel (the
  // modules' PTX and cubins are not copied per kernel).
  auto load = [&](device::KernelImage& image, std::string name,
                  cairn_emulated_kernel_fn fn) -> StatusOr<device::KernelHandle> {
    image.name = std::move(name);
    if (emulated) {
      if (!fn) return errorf("the model object's emulated entry of '{}' is null", image.name);
      image.emulated = fn;
    }
    StatusOr<device::KernelHandle> h = dev->load(image);
    if (!h.isOk())
      return errorf("loading '{}' on {}: {}", image.name, dev->name(), h.status().message());
    return h;
  };
  std::vector<device::KernelHandle> kernels, rows;
  for (uint64_t k = 0; k < aot.num_kernels; ++k) {
    CAIRN_ASSIGN_OR_RETURN(
        device::KernelHandle h,
        load(kernelCode, device::kernelEntryName(k), emulated ? d.emulated_kernels[k] : nullptr));
    kernels.push_back(h);
  }
  for (size_t j = 0; j < rowKinds.size(); ++j) {
    CAIRN_ASSIGN_OR_RETURN(device::KernelHandle h,
                           load(rowCode, device::rowKernelName(rowKinds[j]),
                                emulated ? d.emulated_row_kernels[j] : nullptr));
    rows.push_back(h);
  }
  std::vector<const Op*> ops = exec::opsInOrder(*module);
  std::map<const Op*, int32_t> opKernels;
  for (uint64_t j = 0; j < d.num_op_kernels; ++j) {
    int64_t pos = d.op_kernels[2 * j], k = d.op_kernels[2 * j + 1];
    if (pos < 0 || static_cast<uint64_t>(pos) >= ops.size() || k < 0 ||
        static_cast<uint64_t>(k) >= aot.num_kernels)
      return errorf("the model object's op kernel #{} (op {}, kernel {}) is out of range", j, pos,
                    k);
    if (ops[static_cast<size_t>(pos)]->kind() != OpKind::Broadcast)
      return errorf("the model object's op kernel #{} names op {}, a '{}', not a broadcast", j, pos,
                    opName(ops[static_cast<size_t>(pos)]->kind()));
    opKernels[ops[static_cast<size_t>(pos)]] = static_cast<int32_t>(k);
  }
  auto exe = std::make_unique<device::DeviceExecutable>(
      std::move(module), std::move(programs), std::move(dev), std::move(kernels), std::move(rows));
  exe->setOpKernels(std::move(opKernels));
  return exe;
}

} // namespace cairn::capi
