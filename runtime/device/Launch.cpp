// Launch helpers shared by every Device.
#include "runtime/device/Device.h"

#include <algorithm>

namespace cairn::device {

LaunchConfig elementwiseLaunch(int64_t n, uint32_t maxBlocks) {
  constexpr int64_t kBlock = 256;
  int64_t blocks = std::clamp<int64_t>((n + kBlock - 1) / kBlock, 1, maxBlocks);
  return {static_cast<uint32_t>(blocks), static_cast<uint32_t>(kBlock)};
}

Status launchElementwise(Device& device, KernelHandle kernel, const std::vector<void*>& buffers,
                         const std::vector<int64_t>& extents, int64_t n,
                         const LaunchConfig* config) {
  if (n < 0) return errorf("kernel launch over {} elements", n);
  if (n == 0) return Status::ok();
  // cuLaunchKernel's form: params[j] points at argument j's value.
  std::vector<void*> values(buffers);
  std::vector<int64_t> scalars(extents);
  scalars.push_back(n);
  std::vector<void*> params;
  for (void*& b : values)
    params.push_back(&b);
  for (int64_t& s : scalars)
    params.push_back(&s);
  return device.launch(kernel, config ? *config : elementwiseLaunch(n), params.data(),
                       params.size());
}

} // namespace cairn::device
