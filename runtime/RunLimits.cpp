#include "runtime/RunLimits.h"

#include <algorithm>

#include <unistd.h>

namespace cairn {

RunLimits RunLimits::withTimeout(std::chrono::duration<double> timeout,
                                 Clock::time_point from) const {
  RunLimits l = *this;
  if (!(timeout.count() > 0)) return l;
  // Compared in double seconds, which cannot overflow, before converting;
  // the second to spare covers the rounding of `room` to a double.
  std::chrono::duration<double> room = Clock::time_point::max() - from;
  if (timeout >= room - std::chrono::seconds(1)) return l;
  l.deadline = std::min(deadline, from + std::chrono::duration_cast<Clock::duration>(timeout));
  return l;
}

int64_t physicalMemoryBytes() {
  long pages = ::sysconf(_SC_PHYS_PAGES), size = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && size > 0 ? static_cast<int64_t>(pages) * size : 0;
}

} // namespace cairn
