// ptxas for the CUDA backend's tests: a PTX module must assemble for its
// architecture, or the kernel would not load on a real GPU.
#pragma once

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "runtime/device/OpenDevice.h"

namespace cairn::cudatest {

/// The device the CUDA backend's tests run on: the emulated device, or with
/// CAIRN_TEST_DEVICE=gpu (scripts/gpu-check.sh) the GPU, one per process;
/// a GPU asked for and not found fails the test that asks.
inline std::shared_ptr<device::Device> testDevice() {
  const char* env = std::getenv("CAIRN_TEST_DEVICE");
  if (!env || std::string(env) != "gpu") return device::makeEmulatedDevice();
  static StatusOr<std::shared_ptr<device::Device>> gpu =
      device::openDevice(device::DeviceChoice::Gpu);
  if (!gpu.isOk()) {
    ADD_FAILURE() << "CAIRN_TEST_DEVICE=gpu: " << gpu.status().message();
    return device::makeEmulatedDevice();
  }
  return *gpu;
}

/// Whether ptxas was found when the tests were configured.
inline bool havePtxas() {
#ifdef CAIRN_PTXAS
  return true;
#else
  return false;
#endif
}

inline const char* kNoPtxas =
    "no ptxas was found at configure time (the CUDA toolkit is not installed): PTX generated "
    "but not assembled";

/// Assembles `ptx` with `ptxas -arch=<arch>`; a failure carries its log.
inline ::testing::AssertionResult assemblesWithPtxas(const std::string& ptx,
                                                     const std::string& arch) {
#ifdef CAIRN_PTXAS
  static int counter = 0;
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              fmt::format("cairn-ptxas-{}-{}", ::getpid(), counter++);
  std::filesystem::create_directories(dir);
  std::filesystem::path in = dir / (arch + ".ptx"), out = dir / (arch + ".cubin");
  std::ofstream(in) << ptx;
  std::string cmd = fmt::format("'{}' -arch={} -O3 '{}' -o '{}' 2>&1", CAIRN_PTXAS, arch,
                                in.string(), out.string());
  std::string log;
  int rc = -1;
  if (FILE* pipe = popen(cmd.c_str(), "r")) {
    char buf[512];
    while (size_t got = fread(buf, 1, sizeof buf, pipe))
      log.append(buf, got);
    rc = pclose(pipe);
  }
  bool ok = rc == 0 && std::filesystem::exists(out);
  std::filesystem::remove_all(dir);
  if (ok) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << cmd << " failed (" << rc << "):\n" << log;
#else
  (void)ptx;
  (void)arch;
  return ::testing::AssertionSuccess();
#endif
}

} // namespace cairn::cudatest
