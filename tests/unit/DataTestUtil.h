// Helpers for the dataset tests: where the shared real data lives (read in
// place, never copied into the repo) and scratch files for malformed input.
#pragma once

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

namespace cairn::data::testing {

inline std::string sharedDataDir() {
  return CAIRN_SOURCE_DIR "/../shared/data";
}

/// Skips the test when the shared data folder (or one file in it) is absent.
#define CAIRN_REQUIRE_DATA(relPath)                                                                \
  do {                                                                                             \
    if (!std::filesystem::exists(::cairn::data::testing::sharedDataDir() + "/" + (relPath)))       \
      GTEST_SKIP() << "real data not found: " << ::cairn::data::testing::sharedDataDir() << "/"    \
                   << (relPath) << " (the shared data folder is missing)";                         \
  } while (0)

/// A file in the test temp dir, removed when the object goes away.
class ScratchFile {
public:
  explicit ScratchFile(const std::string& suffix) {
    static std::atomic<int> counter{0};
    path_ = ::testing::TempDir() + "cairn_data_" + std::to_string(getpid()) + "_" +
            std::to_string(counter++) + suffix;
  }
  ~ScratchFile() { std::remove(path_.c_str()); }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  const std::string& path() const { return path_; }
  void write(const std::string& bytes) const { std::ofstream(path_, std::ios::binary) << bytes; }
  void writeGzip(const std::string& bytes) const {
    gzFile f = gzopen(path_.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())),
              static_cast<int>(bytes.size()));
    gzclose(f);
  }

private:
  std::string path_;
};

inline std::string readBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

} // namespace cairn::data::testing
