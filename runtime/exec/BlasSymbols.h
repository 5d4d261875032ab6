// The OpenBLAS entry points the executor calls, bound by Blas.cpp when it
// loads the library. Internal to runtime/exec (Gemm.cpp, Blas.cpp).
#pragma once

namespace cairn::exec {

struct BlasSymbols {
  // CBLAS's enums are ints in its ABI (CblasRowMajor = 101, ...).
  using Sgemm = void (*)(int, int, int, int, int, int, float, const float*, int, const float*,
                         int, float, float*, int);
  using Dgemm = void (*)(int, int, int, int, int, int, double, const double*, int, const double*,
                         int, double, double*, int);
  using Sgemv = void (*)(int, int, int, int, float, const float*, int, const float*, int, float,
                         float*, int);
  using Dgemv = void (*)(int, int, int, int, double, const double*, int, const double*, int,
                         double, double*, int);
  using Text = char* (*)();
  Sgemm sgemm = nullptr;
  Dgemm dgemm = nullptr;
  Sgemv sgemv = nullptr;
  Dgemv dgemv = nullptr;
  int (*getThreads)() = nullptr;
  void (*setThreads)(int) = nullptr;
};

/// The bound entry points (all null when blasKernels().loaded() is false).
const BlasSymbols& blasSymbols();

} // namespace cairn::exec
