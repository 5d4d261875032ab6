// openDevice: the GPU through a dlopen'ed device layer, else the emulator.
#include "runtime/device/OpenDevice.h"

#include <dlfcn.h>

#include <cstdlib>

namespace cairn::device {

extern "C" {
/// libcairn_cuda_device.so's entry (runtime/device/cuda/CudaDevice.cpp): a
/// new Device for GPU `ordinal`, or null with a message in `error`.
using OpenCudaDeviceFn = Device* (*)(int ordinal, char* error, size_t errorSize);
}

StatusOr<DeviceChoice> parseDeviceChoice(const std::string& s) {
  if (s == "auto" || s.empty()) return DeviceChoice::Auto;
  if (s == "gpu") return DeviceChoice::Gpu;
  if (s == "emulated") return DeviceChoice::Emulated;
  return errorf("unknown device '{}' (auto, gpu or emulated)", s);
}

StatusOr<std::shared_ptr<Device>> openCudaDevice(int ordinal) {
#ifndef CAIRN_CUDA_DEVICE_LIBRARY
  (void)ordinal;
  return Status::error("this build has no CUDA device layer (the CUDA toolkit was not found "
                       "when it was configured)");
#else
  // Loaded once and never closed: the driver's state lives as long as the
  // process. CAIRN_CUDA_DEVICE_LIBRARY names another copy (binaries moved to
  // another machine: scripts/gpu-check.sh).
  static void* lib = [] {
    const char* env = std::getenv("CAIRN_CUDA_DEVICE_LIBRARY");
    return dlopen(env && *env ? env : CAIRN_CUDA_DEVICE_LIBRARY, RTLD_NOW | RTLD_LOCAL);
  }();
  static std::string loadError = [] {
    if (lib) return std::string();
    const char* e = dlerror(); // read once: a second call returns null
    return std::string(e ? e : "unknown error");
  }();
  if (!lib) return errorf("cannot load the CUDA device layer: {}", loadError);
  auto open = reinterpret_cast<OpenCudaDeviceFn>(dlsym(lib, "cairn_open_cuda_device"));
  if (!open) return Status::error("the CUDA device layer has no cairn_open_cuda_device");
  char error[512] = {};
  Device* dev = open(ordinal, error, sizeof error);
  if (!dev) return errorf("no CUDA device: {}", error);
  return std::shared_ptr<Device>(dev);
#endif
}

StatusOr<std::shared_ptr<Device>> openDevice(DeviceChoice choice, std::string* note) {
  if (choice == DeviceChoice::Auto) {
    if (const char* env = std::getenv("CAIRN_DEVICE")) {
      CAIRN_ASSIGN_OR_RETURN(choice, parseDeviceChoice(env));
    }
  }
  if (choice == DeviceChoice::Emulated) return std::shared_ptr<Device>(makeEmulatedDevice());
  StatusOr<std::shared_ptr<Device>> gpu = openCudaDevice(0);
  if (gpu.isOk() || choice == DeviceChoice::Gpu) return gpu;
  if (note) *note = gpu.status().message() + "; using the emulated device";
  return std::shared_ptr<Device>(makeEmulatedDevice());
}

} // namespace cairn::device
