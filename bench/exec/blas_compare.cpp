// blas_compare: times cblas_sgemm of each BLAS library given on the command
// line (dlopen'ed, so one binary compares them on equal terms) on the GEMM
// shapes of Cairn's models, at 1 and 2 threads. Each timing is the median of
// repeated runs after warm-up. How docs/codegen.md's BLAS table was made:
//
//   c++ -O2 -std=c++20 bench/exec/blas_compare.cpp -o /tmp/blas_compare -ldl
//   /tmp/blas_compare openblas=/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0 \
//                     blis=/usr/lib/x86_64-linux-gnu/blis-pthread/libblis.so.4
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

enum { kRowMajor = 101, kNoTrans = 111 };
using Sgemm = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int,
                       float, float*, int);
using SetThreads = void (*)(int);
using Sgemv = void (*)(int, int, int, int, float, const float*, int, const float*, int, float,
                       float*, int);
enum { kTrans = 112 };

struct Shape {
  int m, k, n;
};

/// sgemm, or for m = 1 (gemv = true) y = B^T x as sgemv.
double medianMicros(Sgemm sgemm, Sgemv sgemv, bool gemv, const Shape& s, std::vector<float>& a,
                    std::vector<float>& b, std::vector<float>& c) {
  auto once = [&] {
    if (gemv)
      sgemv(kRowMajor, kTrans, s.k, s.n, 1.0f, b.data(), s.n, a.data(), 1, 0.0f, c.data(), 1);
    else
      sgemm(kRowMajor, kNoTrans, kNoTrans, s.m, s.n, s.k, 1.0f, a.data(), s.k, b.data(), s.n,
            0.0f, c.data(), s.n);
  };
  for (int i = 0; i < 5; ++i)
    once();
  // Repeat until ~0.2 s per sample set, at least 15 samples.
  std::vector<double> samples;
  auto start = std::chrono::steady_clock::now();
  while (samples.size() < 15 ||
         std::chrono::steady_clock::now() - start < std::chrono::milliseconds(200)) {
    auto t0 = std::chrono::steady_clock::now();
    once();
    samples.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
  const std::vector<Shape> shapes = {{128, 300, 1500}, {128, 600, 1024}, {64, 512, 1024},
                                     {1, 256, 1024}};
  std::printf("| library | threads | 128x300 @ 300x1500 | 128x600 @ 600x1024 | 64x512 @ 512x1024 | "
              "1x256 @ 256x1024 | same as sgemv |\n| --- | --- | --- | --- | --- | --- | --- |\n");
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    size_t eq = arg.find('=');
    std::string name = arg.substr(0, eq), path = arg.substr(eq + 1);
    void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      std::fprintf(stderr, "cannot open %s: %s\n", path.c_str(), dlerror());
      return 1;
    }
    auto sgemm = reinterpret_cast<Sgemm>(dlsym(lib, "cblas_sgemm"));
    auto sgemv = reinterpret_cast<Sgemv>(dlsym(lib, "cblas_sgemv"));
    auto setThreads = reinterpret_cast<SetThreads>(dlsym(lib, "openblas_set_num_threads"));
    if (!setThreads) setThreads = reinterpret_cast<SetThreads>(dlsym(lib, "bli_thread_set_num_threads"));
    if (!sgemm || !sgemv || !setThreads) {
      std::fprintf(stderr, "%s lacks cblas_sgemm or a thread setter\n", path.c_str());
      return 1;
    }
    for (int threads : {1, 2}) {
      setThreads(threads);
      std::printf("| %s | %d |", name.c_str(), threads);
      std::vector<std::pair<Shape, bool>> runs;
      for (const Shape& s : shapes)
        runs.push_back({s, false});
      runs.push_back({shapes.back(), true});
      for (const auto& [s, gemv] : runs) {
        std::vector<float> a(size_t(s.m) * s.k), b(size_t(s.k) * s.n), c(size_t(s.m) * s.n);
        for (size_t j = 0; j < a.size(); ++j)
          a[j] = float(j % 17) * 0.01f;
        for (size_t j = 0; j < b.size(); ++j)
          b[j] = float(j % 13) * 0.01f;
        double us = medianMicros(sgemm, sgemv, gemv, s, a, b, c);
        double gflops = 2.0 * s.m * s.k * s.n / us / 1e3;
        std::printf(" %.0f us (%.0f GFLOP/s) |", us, gflops);
      }
      std::printf("\n");
      std::fflush(stdout);
    }
  }
  return 0;
}
