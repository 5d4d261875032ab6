// The C API's models compiled for CUDA (cairn-compile --target cuda): the
// device they run on, and their device code loaded from the object's
// cairn_aot_device into a device::DeviceExecutable. Internal to the C API.
#pragma once

#include <memory>
#include <mutex>

#include "ir/IR.h"
#include "ir/Status.h"
#include "runtime/capi/cairn.h"
#include "runtime/device/DeviceExecutable.h"
#include "runtime/exec/ProgramFormat.h"

namespace cairn::capi {

/// A device shared by every model that runs on it, and the turn its runs
/// take (a Device serves one run at a time; contexts are per run).
struct ModelDevice {
  std::shared_ptr<device::Device> device;
  std::shared_ptr<std::mutex> turn;
};

/// The device CAIRN_DEVICE asks for (unset: the first GPU), opened once per
/// process; an error says why there is none and how to choose the emulated
/// device (the caller's CAIRN_UNSUPPORTED_HOST).
StatusOr<ModelDevice> modelDevice();

/// `aot`'s device code checked (every table, count and index: an error is a
/// corrupt object) and loaded on `device`, with the module and programs
/// already read from the object.
StatusOr<std::unique_ptr<device::DeviceExecutable>>
loadDeviceModel(const cairn_aot_model& aot, std::unique_ptr<Module> module,
                exec::LoweredFunctions programs, std::shared_ptr<device::Device> device);

} // namespace cairn::capi
