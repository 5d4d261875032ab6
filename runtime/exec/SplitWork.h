// SplitWork: one instruction's work over the threads oneDNN's products run
// on. Internal to runtime/exec (Executable.cpp).
//
// Why: at batch 64 on two CPUs the greedy decoder's two products per step
// ran on both CPUs and everything between them on one: its GRU cell's fused
// kernel, the logits' bias, the argmax and the embedding gather, about a
// fifth of a run. An elementwise kernel computes any range [begin, end) of
// its outputs (compiler/codegen/cpu/LowerToLLVM.h), and a row operation any
// range of its rows, so either splits into parts with nothing shared but
// their read-only inputs.
//
// Why those threads: they are libgomp's, which poll for ~25 us after each
// product before they sleep (GOMP_SPINCOUNT, GemmDnnl.cpp), so a kernel right
// after a product finds them awake, and a run uses no thread a product
// would not. A thread of our own polling beside them would take the CPU of
// the product's second thread (docs/runtime.md, "Loop pairs"); a sleeping
// one takes 20-50 us to wake on a VM, what a [64, 256] GRU cell costs whole.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <utility>

#include "runtime/exec/GemmDnnl.h"

namespace cairn::exec {

/// CAIRN_SPLIT=off: nothing splits (for comparing, as CAIRN_GEMM=openblas
/// compares the product libraries). Read once.
inline bool splitTurnedOff() {
  static const bool off = [] {
    const char* v = std::getenv("CAIRN_SPLIT");
    return v && std::strcmp(v, "off") == 0;
  }();
  return off;
}

/// How many parts [0, n) splits into on `threads` threads with at least
/// `grain` elements each: 1 when it would not pay.
inline int splitParts(int threads, int64_t n, int64_t grain) {
  if (threads < 2 || grain <= 0 || n < 2 * grain) return 1;
  return static_cast<int>(std::min<int64_t>(threads, n / grain));
}

/// Part `part` of `parts` of [0, n): near-equal ranges whose boundaries are
/// multiples of `align` (a cache line of elements, so that no two threads
/// write one line), the last ending at n. Some may be empty.
inline std::pair<int64_t, int64_t> splitRange(int64_t n, int part, int parts, int64_t align) {
  int64_t blocks = (n + align - 1) / align;
  auto edge = [&](int p) { return std::min(n, blocks * p / parts * align); };
  return {edge(part), part + 1 == parts ? n : edge(part + 1)};
}

/// Runs body(part, begin, end) over [0, n) split as splitParts says, part 0
/// on the calling thread, and returns when every part has run: how many
/// parts it asked for. Without oneDNN, or in one part: body(0, 0, n) here,
/// and 1. body must not throw.
template <typename Body>
int splitWork(int threads, int64_t n, int64_t grain, int64_t align, Body&& body) {
  int parts = splitParts(threads, n, grain);
  if (parts > 1) {
    struct Job {
      std::remove_reference_t<Body>* body;
      int64_t n, align;
    } job{&body, n, align};
    auto run = [](void* arg, int part, int actual) { // libgomp may give fewer threads
      auto& j = *static_cast<Job*>(arg);
      auto [begin, end] = splitRange(j.n, part, actual, j.align);
      if (begin < end) (*j.body)(part, begin, end);
    };
    if (dnnl::parallel(parts, run, &job)) return parts;
  }
  body(0, int64_t{0}, n);
  return 1;
}

} // namespace cairn::exec
