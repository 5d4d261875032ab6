// The compile phases' timer (the reports' passesMs, lowerMs, codegenMs, ...).
#pragma once

#include <chrono>

namespace cairn::codegen {

/// Milliseconds since `t0` on the steady clock.
inline double msSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace cairn::codegen
