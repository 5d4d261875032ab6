// The emulated device: host memory, kernels' host entries, the CPU BLAS.
#include "runtime/device/Device.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "runtime/exec/Gemm.h"

namespace cairn::device {

namespace {

class EmulatedDevice final : public Device {
public:
  std::string name() const override { return "emulated (host)"; }
  bool isEmulated() const override { return true; }

  StatusOr<void*> allocate(size_t bytes) override {
    // 256-byte aligned as cuMemAlloc's, so alignment assumptions hold on both.
    void* p = std::aligned_alloc(256, std::max<size_t>(256, (bytes + 255) / 256 * 256));
    if (!p) return errorf("emulated device: out of memory allocating {} bytes", bytes);
    return p;
  }
  void release(void* ptr) override { std::free(ptr); }

  Status copyToDevice(void* dst, const void* src, size_t bytes) override {
    if (bytes) std::memcpy(dst, src, bytes);
    return Status::ok();
  }
  Status copyToHost(void* dst, const void* src, size_t bytes) override {
    if (bytes) std::memcpy(dst, src, bytes);
    return Status::ok();
  }

  Status copyOnDevice(void* dst, const void* src, size_t bytes) override {
    if (bytes) std::memcpy(dst, src, bytes);
    return Status::ok();
  }
  Status copyOnDevice2D(void* dst, size_t dstPitch, const void* src, size_t srcPitch,
                        size_t widthBytes, size_t rows) override {
    for (size_t r = 0; r < rows && widthBytes; ++r)
      std::memcpy(static_cast<std::byte*>(dst) + r * dstPitch,
                  static_cast<const std::byte*>(src) + r * srcPitch, widthBytes);
    return Status::ok();
  }

  Status fillZero(void* dst, size_t bytes) override {
    if (bytes) std::memset(dst, 0, bytes);
    return Status::ok();
  }

  StatusOr<KernelHandle> load(const KernelImage& image) override {
    if (!image.emulated)
      return errorf("emulated device: kernel '{}' has no host entry (compile it with the "
                    "emulated kernel compiler)",
                    image.name);
    return KernelHandle{reinterpret_cast<void*>(image.emulated)};
  }

  Status launch(KernelHandle kernel, LaunchConfig config, void** params) override {
    if (!kernel.impl) return Status::error("emulated device: launch of an unloaded kernel");
    if (config.grid == 0 || config.block == 0 || config.block > 1024)
      return errorf("emulated device: invalid launch of {} blocks of {} threads", config.grid,
                    config.block);
    reinterpret_cast<EmulatedKernelFn>(kernel.impl)(params, config.grid, config.block);
    return Status::ok();
  }

  Status gemm(const GemmArgs& g) override {
    return exec::runGemmRaw(g.dtype, g.transA, g.transB, {g.batch, g.m, g.n, g.k}, g.a, g.b,
                            g.c);
  }

  Status synchronize() override { return Status::ok(); }
};

} // namespace

std::unique_ptr<Device> makeEmulatedDevice() {
  return std::make_unique<EmulatedDevice>();
}

} // namespace cairn::device
