// Helpers for the CUDA backend's executor tests (DeviceExecutorTest,
// DeviceEpilogueTest): compile for the test device and compare a device run
// with the reference interpreter.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "CudaTestUtil.h"
#include "ExecTestUtil.h"
#include "compiler/codegen/cuda/CompileForDevice.h"
#include "compiler/codegen/cuda/LowerToDevice.h"

/// Skips a test where the emulated device's kernels cannot be compiled.
#define CAIRN_REQUIRE_EMULATOR()                                                                   \
  if (!::cairn::codegen::cuda::sharedEmulatedKernelCompiler().isOk())                              \
  GTEST_SKIP() << "no host JIT for the emulated device"

namespace cairn::exectest {

/// `m` compiled for the emulated device, or the GPU under scripts/gpu-check.sh.
inline std::unique_ptr<device::DeviceExecutable>
compileForDeviceOk(const Module& m, const codegen::cuda::DeviceCompileOptions& o = {},
                   codegen::cuda::DeviceCompileReport* report = nullptr) {
  auto exe = codegen::cuda::compileForDevice(m, cudatest::testDevice(), o, report);
  EXPECT_TRUE(exe.isOk()) << exe.status().message();
  return exe.isOk() ? std::move(exe).value() : nullptr;
}

/// Runs `fn` on the device (in `ctx`, or a fresh context) and in the
/// interpreter: the results agree within `tol` (relDiff).
inline void expectDeviceMatches(const Module& m, const device::DeviceExecutable& exe,
                                const std::string& fn, const std::vector<Tensor>& inputs,
                                double tol = 1e-5, device::DeviceContext* ctx = nullptr,
                                const device::DeviceRunOptions& options = {}) {
  auto want = interpret(m, fn, inputs);
  ASSERT_TRUE(want.isOk()) << want.status().message();
  device::DeviceContext own;
  auto got = exe.run(fn, inputs, ctx ? *ctx : own, options);
  ASSERT_TRUE(got.isOk()) << got.status().message();
  ASSERT_EQ(got->size(), want->size());
  for (size_t i = 0; i < want->size(); ++i)
    EXPECT_LE(relDiff((*got)[i], (*want)[i]), tol)
        << fn << " result #" << i << "\n got " << (*got)[i].toString().substr(0, 400) << "\nwant "
        << (*want)[i].toString().substr(0, 400);
}

} // namespace cairn::exectest
