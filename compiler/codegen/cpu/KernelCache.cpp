#include "compiler/codegen/cpu/KernelCache.h"

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <unistd.h>

namespace cairn::codegen::cpu {
namespace {

constexpr char kMagic[8] = {'C', 'A', 'I', 'R', 'N', 'K', 'C', '1'};

struct Header {
  char magic[8];
  uint64_t key;
  uint64_t size;
  uint64_t checksum;
};

} // namespace

uint64_t fnv1a(std::string_view bytes, uint64_t seed) {
  uint64_t h = seed;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

KernelCache::KernelCache(std::string dir) : dir_(std::move(dir)) {}

std::string KernelCache::defaultDirectory() {
  if (const char* d = std::getenv("CAIRN_CACHE_DIR")) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x)
    return std::string(x) + "/cairn/kernels";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.cache/cairn/kernels";
  return "";
}

std::string KernelCache::pathOf(uint64_t key) const {
  return fmt::format("{}/{:016x}.o", dir_, key);
}

std::optional<std::string> KernelCache::load(uint64_t key) const {
  if (!enabled()) return std::nullopt;
  std::ifstream in(pathOf(key), std::ios::binary);
  if (!in) return std::nullopt;
  Header h{};
  if (!in.read(reinterpret_cast<char*>(&h), sizeof h)) return std::nullopt;
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0 || h.key != key ||
      h.size > (uint64_t{1} << 30))
    return std::nullopt;
  std::string object(h.size, '\0');
  if (!in.read(object.data(), static_cast<std::streamsize>(h.size))) return std::nullopt;
  if (in.peek() != std::char_traits<char>::eof()) return std::nullopt; // trailing bytes
  if (fnv1a(object) != h.checksum) return std::nullopt;
  return object;
}

void KernelCache::store(uint64_t key, std::string_view object) const {
  if (!enabled()) return;
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return;
  std::string tmp = fmt::format("{}.tmp.{}", pathOf(key), ::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return;
    Header h{};
    std::memcpy(h.magic, kMagic, sizeof kMagic);
    h.key = key;
    h.size = object.size();
    h.checksum = fnv1a(object);
    out.write(reinterpret_cast<const char*>(&h), sizeof h);
    out.write(object.data(), static_cast<std::streamsize>(object.size()));
    if (!out) {
      out.close();
      std::filesystem::remove(tmp, ec);
      return;
    }
  }
  std::filesystem::rename(tmp, pathOf(key), ec);
  if (ec) std::filesystem::remove(tmp, ec);
}

} // namespace cairn::codegen::cpu
