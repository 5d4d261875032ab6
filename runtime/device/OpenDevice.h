// Choosing the device the CUDA backend runs on.
//
// The real device layer (runtime/device/cuda, the shared library
// libcairn_cuda_device.so, built where the CUDA toolkit is installed and
// linked against its libcuda and cuBLAS) is loaded at run time, so that
// every Cairn binary starts on a machine without an NVIDIA driver: there
// the library fails to load, and openDevice says why.
#pragma once

#include <memory>
#include <string>

#include "runtime/device/Device.h"

namespace cairn::device {

enum class DeviceChoice {
  Auto,     ///< the first GPU, else the emulated device
  Gpu,      ///< the first GPU, or an error saying why there is none
  Emulated, ///< the emulated device
};

/// Reads "auto", "gpu" or "emulated" (CAIRN_DEVICE's values).
StatusOr<DeviceChoice> parseDeviceChoice(const std::string& s);

/// The device `choice` asks for. Auto reads CAIRN_DEVICE (auto, gpu,
/// emulated) first; its fall-back to the emulated device is said in
/// `*note` (may be null).
StatusOr<std::shared_ptr<Device>> openDevice(DeviceChoice choice = DeviceChoice::Auto,
                                             std::string* note = nullptr);

/// The first GPU through libcairn_cuda_device.so, or why there is none
/// (no such library in this build, no driver, no device).
StatusOr<std::shared_ptr<Device>> openCudaDevice(int ordinal = 0);

} // namespace cairn::device
