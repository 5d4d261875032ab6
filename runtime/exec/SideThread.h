// The second thread of `parallel` instructions (two independent loops, one
// per thread), kept for the life of an execution context.
//
// Why kept: starting a thread for every pair cost a BiLSTM forward at batch
// 1 two thread starts per run (one per layer), and each new thread began
// with cold thread-local state (oneDNN's, the BLAS's). The thread is started
// by the context's first pair and parked between pairs (a futex wait through
// std::atomic::wait) after polling for a next pair a while (`spin`, below);
// the context's destructor stops it. In a
// child process after fork() the thread does not exist: the first pair there
// starts a new one (the parent's is left alone, neither joined nor waited on).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#if defined(__linux__)
#include <sched.h>
#endif

namespace cairn::exec {

/// The CPUs the calling thread may use, less the one it runs on now: where
/// the other loop of a pair should run. Why a side thread is kept off its
/// creator's CPU: a new (or woken) thread is placed on its creator's CPU
/// when the other one is idle, and on a VM whose idle vCPU is halted the
/// load balancer takes milliseconds to move it; a BiLSTM forward's two
/// directions then shared one core (93 instead of 57 ms when the run
/// followed an idle pause, as every run of the peers benchmark does).
struct OtherCpus {
#if defined(__linux__)
  cpu_set_t set{};
#endif
  bool valid = false; ///< false: none (one usable CPU), or nothing applied yet
  /// The calling thread's.
  static OtherCpus ofCaller();
  bool operator==(const OtherCpus& o) const;
  /// Restricts the calling thread to them (nothing when none).
  void keepTo() const;
};

/// The CPUs the calling thread may use (its affinity), at least 1.
int usableCpus();

class SideThread {
public:
  SideThread() = default;
  ~SideThread();
  SideThread(const SideThread&) = delete;
  SideThread& operator=(const SideThread&) = delete;

  /// Runs `job()` on the side thread, kept to `where`, and returns at once;
  /// wait() returns once it has run. One job at a time: the caller waits
  /// before it posts again. `job` must not throw (wrap it). False, with
  /// nothing posted, when the thread could not be started (the caller runs
  /// the job itself). After the job the thread polls up to `spin` for the
  /// next one before it sleeps; wait() polls up to `spin` too. Why: on a
  /// VM a sleeping thread took 20-50 us to wake, three times per pair (the
  /// side thread at the pair's start, the caller at its end, the side
  /// thread again at the next pair), 10% of a BiGRU forward at batch 1.
  template <typename F>
  [[nodiscard]] bool post(F& job, const OtherCpus& where, std::chrono::microseconds spin) {
    return postRaw([](void* f) { (*static_cast<F*>(f))(); }, &job, where, spin);
  }
  void wait();

private:
  bool postRaw(void (*fn)(void*), void* arg, const OtherCpus& where,
               std::chrono::microseconds spin);
  void loop();

  enum State : int { kIdle, kPosted, kDone, kStop };
  std::atomic<int> state_{kIdle};
  void (*fn_)(void*) = nullptr;
  void* arg_ = nullptr;
  OtherCpus where_;                   ///< what the job asked for
  std::chrono::microseconds spin_{0}; ///< polling before sleeping (post)
  OtherCpus applied_;                 ///< what the thread keeps to now (the thread's own)
  std::unique_ptr<std::thread> thread_;
  int pid_ = 0; ///< the process that started thread_ (after fork, another)
};

} // namespace cairn::exec
