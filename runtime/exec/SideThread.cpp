#include "runtime/exec/SideThread.h"

#include <algorithm>
#include <system_error>

#if defined(__linux__)
#include <pthread.h>
#include <unistd.h>
#endif

namespace cairn::exec {
namespace {
/// A pause in a polling loop: lets the core's other hardware thread run.
inline void relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}
} // namespace

int usableCpus() {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
#endif
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

OtherCpus OtherCpus::ofCaller() {
  OtherCpus o;
#if defined(__linux__)
  int here = sched_getcpu();
  if (here < 0 || sched_getaffinity(0, sizeof o.set, &o.set) != 0) return o;
  CPU_CLR(here, &o.set);
  o.valid = CPU_COUNT(&o.set) > 0;
#endif
  return o;
}

bool OtherCpus::operator==(const OtherCpus& o) const {
#if defined(__linux__)
  if (valid && o.valid) return CPU_EQUAL(&set, &o.set);
#endif
  return valid == o.valid;
}

void OtherCpus::keepTo() const {
#if defined(__linux__)
  // Applied by the thread itself: set from outside through its handle, it
  // raced the thread's exit, and a finished thread's kernel id is 0, which
  // pinned the *caller* instead (every later pair then ran one loop after
  // the other).
  if (valid) pthread_setaffinity_np(pthread_self(), sizeof set, &set);
#endif
}

namespace {
int processId() {
#if defined(__linux__)
  return static_cast<int>(getpid());
#else
  return 0;
#endif
}
} // namespace

SideThread::~SideThread() {
  if (!thread_) return;
  if (pid_ != processId()) { // a forked child: the thread is the parent's
    (void)thread_.release(); // destroying a joinable std::thread would terminate
    return;
  }
  state_.store(kStop, std::memory_order_release);
  state_.notify_one();
  thread_->join();
}

bool SideThread::postRaw(void (*fn)(void*), void* arg, const OtherCpus& where,
                         std::chrono::microseconds spin) {
  fn_ = fn;
  arg_ = arg;
  where_ = where;
  spin_ = spin;
  if (thread_ && pid_ != processId()) { // forked since: that thread is not here
    (void)thread_.release();
    state_.store(kIdle, std::memory_order_relaxed);
    applied_ = OtherCpus();
  }
  if (!thread_) {
    try {
      thread_ = std::make_unique<std::thread>([this] { loop(); });
      pid_ = processId();
    } catch (const std::system_error&) { // out of threads: the caller runs the job
      return false;
    }
  }
  state_.store(kPosted, std::memory_order_release);
  state_.notify_one();
  return true;
}

namespace {
/// Polls until `state` leaves `value` or `spin` has passed; whether it left.
bool pollWhile(const std::atomic<int>& state, int value, std::chrono::microseconds spin) {
  if (spin.count() <= 0) return false;
  auto until = std::chrono::steady_clock::now() + spin;
  while (state.load(std::memory_order_acquire) == value) {
    for (int i = 0; i < 32; ++i)
      relax();
    if (std::chrono::steady_clock::now() > until) return false;
  }
  return true;
}
} // namespace

void SideThread::wait() {
  (void)pollWhile(state_, kPosted, spin_);
  for (int s; (s = state_.load(std::memory_order_acquire)) != kDone;)
    state_.wait(s, std::memory_order_acquire);
  state_.store(kIdle, std::memory_order_relaxed);
}

void SideThread::loop() {
  for (;;) {
    int s;
    while ((s = state_.load(std::memory_order_acquire)) != kPosted && s != kStop)
      state_.wait(s, std::memory_order_acquire);
    if (s == kStop) return;
    if (!(where_ == applied_)) { // the caller moved to another CPU since (or first job)
      where_.keepTo();
      applied_ = where_;
    }
    fn_(arg_);
    std::chrono::microseconds spin = spin_; // read before kDone hands the fields back
    state_.store(kDone, std::memory_order_release);
    state_.notify_one();
    // Poll for the next pair: first for the caller to take the result
    // (kDone -> kIdle), then for its next post.
    if (pollWhile(state_, kDone, spin)) (void)pollWhile(state_, kIdle, spin);
  }
}

} // namespace cairn::exec
