#include "runtime/RunLimits.h"

#include <unistd.h>

namespace cairn {

int64_t physicalMemoryBytes() {
  long pages = ::sysconf(_SC_PHYS_PAGES), size = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && size > 0 ? static_cast<int64_t>(pages) * size : 0;
}

} // namespace cairn
