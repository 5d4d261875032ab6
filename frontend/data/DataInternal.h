// Pieces shared by the dataset readers and generators, not part of the API:
// the line-by-line file driver that applies ReadOptions, the in-place binary
// tree parser, and a small PRNG whose output is the same on every platform
// (std:: distributions are not, so ListOps and bucketing never use them).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "frontend/data/Dataset.h"
#include "ir/SplitMix64.h"

namespace cairn::data {

/// Calls `onLine(text, lineNumber)` for every non-blank line of `path` (plain
/// or gzip; a trailing `\r` is dropped). A non-ok Status from `onLine` marks
/// the line malformed: with opts.skipMalformed it becomes the warning
/// `path:LINE: what` and reading goes on; otherwise reading stops with that
/// error. Unreadable or corrupt files are errors in both modes.
Status forEachLine(const std::string& path, const ReadOptions& opts,
                   const std::function<Status(std::string_view, int64_t)>& onLine);

/// Appends the tokens and transitions of a binary parse (`( ( a b ) c )`,
/// tokens split on ASCII spaces) to `out`, which must be empty.
Status parseBinaryTreeInto(std::string_view text, Sentence& out);

/// xoshiro256** seeded through splitmix64: small, fast, and specified
/// exactly, so a seed gives the same stream everywhere.
class Rng {
public:
  explicit Rng(uint64_t seed) {
    SplitMix64 seeder(seed);
    for (uint64_t& word : s_) word = seeder.next();
  }
  uint64_t next() {
    uint64_t result = rotl(s_[1] * 5, 7) * 9;
    uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  /// Uniform in [0, n), n > 0, without modulo bias (rejection).
  uint64_t below(uint64_t n) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
      x = next();
    while (x >= limit);
    return x % n;
  }
  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

} // namespace cairn::data
