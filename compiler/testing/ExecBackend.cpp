#include "compiler/testing/ExecBackend.h"

#include "compiler/codegen/cpu/CompileExecutable.h"
#include "compiler/codegen/cuda/CompileForDevice.h"
#include "compiler/testing/Backend.h"
#include "runtime/device/OpenDevice.h"

namespace cairn {
namespace {

/// A loop without max_trip that a broken rewrite made endless stops here,
/// as in the interpreter backend.
constexpr int64_t kDefaultMaxTrip = 100000;

class ExecExecutable : public Executable {
public:
  explicit ExecExecutable(std::unique_ptr<exec::Executable> exe) : exe_(std::move(exe)) {}
  StatusOr<std::vector<Tensor>> run(std::string_view entry,
                                    const std::vector<Tensor>& inputs) override {
    exec::ExecOptions o;
    o.defaultMaxTrip = kDefaultMaxTrip;
    return exe_->run(entry, inputs, ctx_, o);
  }
  std::string describe() const override { return exe_->describe(); }

private:
  std::unique_ptr<exec::Executable> exe_;
  exec::ExecutionContext ctx_;
};

class ExecBackend : public Backend {
public:
  explicit ExecBackend(bool passes) : passes_(passes) {}
  std::string name() const override { return passes_ ? "exec" : "exec:nopasses"; }
  StatusOr<std::unique_ptr<Executable>> compile(const Module& m) override {
    codegen::cpu::CompileOptions o;
    if (!passes_) o.passes = std::vector<std::string>{};
    CAIRN_ASSIGN_OR_RETURN(auto exe, codegen::cpu::compileExecutable(m, o));
    return std::unique_ptr<Executable>(std::make_unique<ExecExecutable>(std::move(exe)));
  }

private:
  bool passes_;
};

class DeviceExecutable : public Executable {
public:
  explicit DeviceExecutable(std::unique_ptr<device::DeviceExecutable> exe)
      : exe_(std::move(exe)) {}
  StatusOr<std::vector<Tensor>> run(std::string_view entry,
                                    const std::vector<Tensor>& inputs) override {
    device::DeviceRunOptions o;
    o.defaultMaxTrip = kDefaultMaxTrip;
    return exe_->run(entry, inputs, ctx_, o);
  }
  std::string describe() const override {
    return "the CUDA backend on " + exe_->device().name();
  }

private:
  std::unique_ptr<device::DeviceExecutable> exe_;
  device::DeviceContext ctx_;
};

/// The device the cuda backend runs on: openDevice's choice (CAIRN_DEVICE=gpu
/// on a GPU machine; in CI, no driver: the emulated device, which runs the
/// same kernels and programs a GPU runs). One per thread, because a Device is
/// used by one thread at a time (its stream, its recording state) while
/// cairn-fuzz-diff --jobs gives each worker thread backends of its own: one
/// device shared by two workers crashed.
StatusOr<std::shared_ptr<device::Device>> backendDevice() {
  thread_local StatusOr<std::shared_ptr<device::Device>> dev = device::openDevice();
  return dev;
}

/// The CUDA backend.
class DeviceBackend : public Backend {
public:
  explicit DeviceBackend(bool passes) : passes_(passes) {}
  std::string name() const override { return passes_ ? "cuda" : "cuda:nopasses"; }
  StatusOr<std::unique_ptr<Executable>> compile(const Module& m) override {
    codegen::cuda::DeviceCompileOptions o;
    if (!passes_) o.passes = std::vector<std::string>{};
    CAIRN_ASSIGN_OR_RETURN(std::shared_ptr<device::Device> dev, backendDevice());
    CAIRN_ASSIGN_OR_RETURN(auto exe, codegen::cuda::compileForDevice(m, dev, o));
    return std::unique_ptr<Executable>(std::make_unique<DeviceExecutable>(std::move(exe)));
  }

private:
  bool passes_;
};

} // namespace

Status registerExecBackend() {
  static bool done = false;
  if (done) return Status::ok();
  done = true;
  CAIRN_RETURN_IF_ERROR(registerBackend(
      "exec", [](std::string_view arg) -> StatusOr<std::unique_ptr<Backend>> {
        if (!arg.empty() && arg != "nopasses")
          return errorf("exec backend: unknown argument '{}' (expected nothing or 'nopasses')",
                        arg);
        return std::unique_ptr<Backend>(std::make_unique<ExecBackend>(arg.empty()));
      }));
  return registerBackend("cuda", [](std::string_view arg) -> StatusOr<std::unique_ptr<Backend>> {
    if (!arg.empty() && arg != "nopasses")
      return errorf("cuda backend: unknown argument '{}' (expected nothing or 'nopasses')", arg);
    return std::unique_ptr<Backend>(std::make_unique<DeviceBackend>(arg.empty()));
  });
}

} // namespace cairn
