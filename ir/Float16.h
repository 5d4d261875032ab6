// IEEE half (f16) and bfloat16 storage types with round-to-nearest-even
// conversions. Arithmetic on them goes through float: that is the reference
// semantics (compute in f32, round the result to the storage type).
#pragma once

#include <cstdint>
#include <cstring>

namespace cairn {

inline uint32_t floatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float bitsFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

struct BFloat16 {
  uint16_t bits = 0;
  BFloat16() = default;
  BFloat16(float f) {
    uint32_t u = floatBits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) { // NaN: keep it quiet, keep the sign
      bits = static_cast<uint16_t>((u >> 16) | 0x40);
      return;
    }
    uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);
    bits = static_cast<uint16_t>((u + rounding) >> 16);
  }
  operator float() const { return bitsFloat(static_cast<uint32_t>(bits) << 16); }
};

struct Half {
  uint16_t bits = 0;
  Half() = default;
  Half(float f) {
    uint32_t u = floatBits(f);
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t absu = u & 0x7fffffffu;
    if (absu > 0x7f800000u) { bits = static_cast<uint16_t>(sign | 0x7e00u); return; }  // NaN
    if (absu >= 0x477ff000u) { bits = static_cast<uint16_t>(sign | 0x7c00u); return; } // inf/overflow
    if (absu < 0x38800000u) { // subnormal half (or zero): scale into integer units of 2^-24
      float a = bitsFloat(absu);
      // 2^24 * a rounded to nearest even by adding and subtracting a large power of two
      float scaled = a * 16777216.0f;
      float r = (scaled + 12582912.0f) - 12582912.0f;
      bits = static_cast<uint16_t>(sign | static_cast<uint32_t>(r));
      return;
    }
    uint32_t mant = absu & 0x7fffffu;
    uint32_t exp = (absu >> 23) - 127 + 15;
    uint32_t h = (exp << 10) | (mant >> 13);
    uint32_t rest = mant & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h; // may carry into exponent: correct
    bits = static_cast<uint16_t>(sign | h);
  }
  operator float() const {
    uint32_t sign = (static_cast<uint32_t>(bits) & 0x8000u) << 16;
    uint32_t exp = (bits >> 10) & 0x1fu;
    uint32_t mant = bits & 0x3ffu;
    if (exp == 0) { // zero or subnormal
      float v = static_cast<float>(mant) * (1.0f / 16777216.0f);
      return sign ? -v : v;
    }
    if (exp == 31) return bitsFloat(sign | 0x7f800000u | (mant << 13));
    return bitsFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
  }
};

} // namespace cairn
