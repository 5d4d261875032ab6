// KernelCache: compiled kernels kept on disk across processes, so that a
// program compiled before compiles again in a fraction of the time (JAX and
// PyTorch keep such caches too). Each kernel's object code is one file named
// by a key over everything that decides the code: the kernel's LLVM IR as
// lowered (so any change to the lowering changes the key), the target CPU and
// its features, the optimization level, LLVM's version and kCacheVersion
// (bumped when optimizeModule's pipeline changes).
//
// A file holds a header (magic, key, size, FNV-1a checksum) and the object;
// one that is truncated, corrupt or for another key is ignored and
// recompiled. Writes go to a temporary file renamed into place, so
// concurrent processes never read half a file. Failing to read or write is
// never an error: the cache only saves time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cairn::codegen::cpu {

/// Bump when the code made from the same IR changes (the pass pipeline of
/// optimizeModule, code generation options).
constexpr int kCacheVersion = 1;

class KernelCache {
public:
  /// Files under `dir`; an empty `dir` disables the cache.
  explicit KernelCache(std::string dir = "");

  /// $CAIRN_CACHE_DIR (empty: no cache), else $XDG_CACHE_HOME/cairn/kernels,
  /// else $HOME/.cache/cairn/kernels, else "" (no cache).
  static std::string defaultDirectory();

  bool enabled() const { return !dir_.empty(); }
  const std::string& directory() const { return dir_; }

  /// The object stored under `key`, verified; nullopt when absent or bad.
  std::optional<std::string> load(uint64_t key) const;
  /// Stores `object` under `key` (best effort).
  void store(uint64_t key, std::string_view object) const;

private:
  std::string pathOf(uint64_t key) const;
  std::string dir_;
};

/// FNV-1a over `bytes`, continuing from `seed`.
uint64_t fnv1a(std::string_view bytes, uint64_t seed = 14695981039346656037ull);

} // namespace cairn::codegen::cpu
