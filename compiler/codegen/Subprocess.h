// Running a build tool the toolchain provides (cc to link a shared object,
// ptxas to assemble PTX into cubins) from the compiler, without a shell: the
// arguments go to the program as they are, and a failure says which command
// failed and what it printed.
#pragma once

#include <string>
#include <vector>

#include "ir/Status.h"

namespace cairn::codegen {

/// Runs `args[0]` (looked up in PATH) with `args`, waits for it, and fails
/// naming the command and quoting the end of its standard error when it
/// cannot start or exits non-zero.
Status runCommand(const std::vector<std::string>& args);

/// A fresh directory under $TMPDIR (or /tmp), removed with its files when
/// this object dies.
class TempDir {
public:
  static StatusOr<TempDir> create(const std::string& stem);
  TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  TempDir& operator=(TempDir&&) = delete;
  TempDir(const TempDir&) = delete;
  ~TempDir();
  const std::string& path() const { return path_; }

private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

} // namespace cairn::codegen
