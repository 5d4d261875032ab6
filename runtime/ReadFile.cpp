#include "runtime/ReadFile.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <sys/stat.h>

namespace cairn {

StatusOr<std::string> readWholeFile(const std::string& path, int64_t maxBytes) {
  // stdio, not ifstream: a directory opens as a stream and its first read
  // throws std::ios_failure out of the tool.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return errorf("cannot open '{}': {}", path, std::strerror(errno));
  if (S_ISDIR(st.st_mode)) return errorf("'{}' is a directory, not a file", path);
  if (maxBytes > 0 && S_ISREG(st.st_mode) && st.st_size > maxBytes)
    return Status::error(fmt::format("'{}' has {} bytes, more than the limit of {}", path,
                                     static_cast<int64_t>(st.st_size), maxBytes),
                         StatusCode::kResourceExhausted);
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return errorf("cannot open '{}': {}", path, std::strerror(errno));
  std::string out;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) {
    out.append(buf, n);
    if (maxBytes > 0 && static_cast<int64_t>(out.size()) > maxBytes) // a pipe or device
      return Status::error(fmt::format("'{}' is larger than the limit of {} bytes", path, maxBytes),
                           StatusCode::kResourceExhausted);
  }
  if (std::ferror(f.get())) return errorf("cannot read '{}': {}", path, std::strerror(errno));
  return out;
}

} // namespace cairn
