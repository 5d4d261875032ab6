#include "RunThreads.h"

#include <atomic>

#include "runtime/exec/SideThread.h"

namespace cairn::serve {

namespace {

std::atomic<int> gInFlight{0};
std::atomic<PairPolicy> gPolicy{PairPolicy::kAuto};

int processCpus() {
  static const int cpus = exec::usableCpus();
  return cpus;
}

} // namespace

StatusOr<PairPolicy> parsePairPolicy(const std::string& s) {
  if (s == "auto") return PairPolicy::kAuto;
  if (s == "on") return PairPolicy::kAlways;
  if (s == "off") return PairPolicy::kNever;
  return errorf("--pairs must be auto, on or off, not '{}'", s);
}

bool runsOnOneThread(PairPolicy policy, int inFlight, int cpus) {
  switch (policy) {
  case PairPolicy::kAlways: return false;
  case PairPolicy::kNever: return true;
  case PairPolicy::kAuto: break;
  }
  return 2 * static_cast<int64_t>(inFlight) > cpus;
}

void setPairPolicy(PairPolicy policy) { gPolicy.store(policy, std::memory_order_relaxed); }

RunInFlight::RunInFlight()
    : oneThread_(runsOnOneThread(gPolicy.load(std::memory_order_relaxed),
                                 gInFlight.fetch_add(1, std::memory_order_relaxed) + 1,
                                 processCpus())) {}

RunInFlight::~RunInFlight() { gInFlight.fetch_sub(1, std::memory_order_relaxed); }

} // namespace cairn::serve
