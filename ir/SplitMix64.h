// splitmix64: the one small host-side generator for seeded, reproducible
// choices (data generation, random inputs, random programs). Specified
// exactly, so a seed gives the same stream with every compiler and standard
// library, unlike <random>'s distributions. (Model randomness is different:
// it is Philox inside the graph, see rng_uniform.)
#pragma once

#include <cstdint>

namespace cairn {

class SplitMix64 {
public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

private:
  uint64_t state_;
};

} // namespace cairn
