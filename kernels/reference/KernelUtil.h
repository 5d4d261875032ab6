// Small helpers shared by the reference kernels: the compute type of a
// storage type, row-major index arithmetic and shape formatting for messages.
//
// Internal to kernels/reference; other layers call the family headers
// (Elementwise.h, Shape.h, ...) or the umbrella Kernels.h.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "ir/Tensor.h"

namespace cairn::kernels {

/// f16 and bf16 compute through float (then round the result back); every
/// other storage type computes as itself.
template <typename T>
using ComputeType =
    std::conditional_t<std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>, float, T>;

template <typename T>
inline constexpr bool kIsFloatStorage =
    std::is_floating_point_v<T> || std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>;

/// "[2, 3]" for messages (the tensor shapes seen at run time are static).
inline std::string shapeStr(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i)
    out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

/// Row-major multi-index of linear index `linear` in `shape`.
inline std::vector<int64_t> unravel(int64_t linear, const Shape& shape) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = shape[d] ? linear % shape[d] : 0;
    linear = shape[d] ? linear / shape[d] : 0;
  }
  return idx;
}

/// Row-major linear index of multi-index `idx` in `shape`.
inline int64_t ravel(const std::vector<int64_t>& idx, const Shape& shape) {
  int64_t linear = 0;
  for (size_t d = 0; d < shape.size(); ++d)
    linear = linear * shape[d] + idx[d];
  return linear;
}

/// Copies element `si` of `src` to element `di` of `dst` (same dtype).
inline void copyElement(Tensor& dst, int64_t di, const Tensor& src, int64_t si) {
  size_t es = static_cast<size_t>(dtypeSize(src.dtype()));
  std::memcpy(dst.rawData() + di * es, src.rawData() + si * es, es);
}

/// A scalar index operand (i32 or i64, any storage read as int64).
inline int64_t scalarIndex(const Tensor& t) {
  return t.getInt(0);
}

} // namespace cairn::kernels
