// Reading a whole file for the loaders and tools, with the errors a user
// should see (missing, a directory, unreadable, too large) instead of a
// stream exception or an empty string.
#pragma once

#include <cstdint>
#include <string>

#include "ir/Status.h"

namespace cairn {

/// The bytes of regular file `path`. `maxBytes` > 0 bounds its size
/// (kResourceExhausted past it): a model or data file larger than the host
/// meant to accept is refused before it is read.
StatusOr<std::string> readWholeFile(const std::string& path, int64_t maxBytes = 0);

} // namespace cairn
