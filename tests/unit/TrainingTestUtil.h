// Helpers for the training tests: random tensors, tolerant comparison of f32
// results against double-precision references, temporary paths.
#pragma once

#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

#include "ir/Tensor.h"

namespace cairn::testing {

inline Tensor randomTensorOf(const TensorType& type, uint32_t seed, double scale = 1.0) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(-scale, scale);
  Tensor t(type);
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.setDouble(i, u(gen));
  return t;
}

/// Each element of `got` within rtol * |want| + atol of `want`.
inline void expectClose(const Tensor& got, const std::vector<double>& want, double rtol,
                        double atol, const std::string& what) {
  std::vector<double> g = got.toDoubles();
  ASSERT_EQ(g.size(), want.size()) << what;
  for (size_t i = 0; i < g.size(); ++i)
    EXPECT_LE(std::abs(g[i] - want[i]), rtol * std::abs(want[i]) + atol)
        << what << "[" << i << "]: got " << g[i] << ", want " << want[i];
}

inline std::string tempPath(const std::string& leaf) {
  auto p = std::filesystem::temp_directory_path() /
           ("cairn_training_" + std::to_string(::getpid()) + "_" + leaf);
  std::filesystem::remove_all(p);
  return p.string();
}

} // namespace cairn::testing
