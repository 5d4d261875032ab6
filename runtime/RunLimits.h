// What bounds one run, for hosts that cannot let a request run forever or
// take the machine's memory: a deadline, a cancellation flag and a memory
// cap. The interpreter and both executors take the same RunLimits; an
// overrun is a Status whose code says which limit it was
// (StatusCode::kDeadlineExceeded, kCancelled, kResourceExhausted), so the
// C API and a server can answer each differently.
//
// Checks happen between instructions (ops, for the interpreter) and at every
// loop iteration, so a run stops within one instruction's time of its
// deadline or cancellation. An instruction itself is not interrupted.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "ir/Status.h"
#include "ir/Types.h"

namespace cairn {

struct RunLimits {
  using Clock = std::chrono::steady_clock;
  /// The run fails with kDeadlineExceeded once this has passed.
  Clock::time_point deadline = Clock::time_point::max();
  /// Set (by any thread) to stop the run with kCancelled; null: not cancellable.
  const std::atomic<bool>* cancel = nullptr;
  /// Bytes the run's values may hold at once (0: no cap beyond what int64
  /// and the allocator allow). A value that would pass it fails the run
  /// with kResourceExhausted naming the value's type and size.
  int64_t maxBytes = 0;

  /// These limits with a deadline `timeout` after `from` as well (the
  /// earlier of the two applies). A timeout that is not positive (0, NaN)
  /// adds none, and one past what the clock can count means no deadline
  /// rather than an overflow into the past: the C API's INT64_MAX ns, a
  /// tool's --timeout 1e300.
  RunLimits withTimeout(std::chrono::duration<double> timeout,
                        Clock::time_point from = Clock::now()) const;

  bool timed() const { return deadline != Clock::time_point::max() || cancel; }
  /// The deadline or cancellation error, or ok. Cheap when neither is set.
  Status check() const {
    if (!timed()) return Status::ok();
    if (cancel && cancel->load(std::memory_order_relaxed))
      return Status::error("the run was cancelled", StatusCode::kCancelled);
    if (deadline != Clock::time_point::max() && Clock::now() >= deadline)
      return Status::error("the run passed its deadline", StatusCode::kDeadlineExceeded);
    return Status::ok();
  }
};

/// This machine's physical memory in bytes (0 when unknown): the tools cap
/// a run at 3/4 of it by default, so a runaway size is an error naming the
/// value rather than the OOM killer's signal.
int64_t physicalMemoryBytes();

/// Bytes of a tensor of `shape` and `dtype` computed from run-time data, or
/// kResourceExhausted when the count overflows int64 or passes `maxBytes`
/// (0: no cap) with `alreadyHeld` bytes live.
inline StatusOr<int64_t> checkRunTimeSize(const Shape& shape, DType dtype, int64_t maxBytes = 0,
                                          int64_t alreadyHeld = 0) {
  std::optional<int64_t> bytes = checkedByteSize(shape, dtype);
  TensorType t(dtype, shape);
  if (!bytes)
    return Status::error(fmt::format("{} has more bytes than int64 can count", t.toString()),
                         StatusCode::kResourceExhausted);
  if (maxBytes > 0 && *bytes > maxBytes - alreadyHeld)
    return Status::error(fmt::format("{} needs {} bytes; with {} bytes held, that passes the run's "
                                     "memory cap of {} bytes",
                                     t.toString(), *bytes, alreadyHeld, maxBytes),
                         StatusCode::kResourceExhausted);
  return *bytes;
}

} // namespace cairn
