#include "ir/Types.h"

#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

namespace cairn {

std::string_view dtypeName(DType t) {
  switch (t) {
  case DType::F32: return "f32";
  case DType::F64: return "f64";
  case DType::F16: return "f16";
  case DType::BF16: return "bf16";
  case DType::I1: return "i1";
  case DType::I32: return "i32";
  case DType::I64: return "i64";
  }
  return "?";
}

std::optional<DType> parseDType(std::string_view name) {
  for (DType t : kAllDTypes)
    if (dtypeName(t) == name) return t;
  return std::nullopt;
}

int64_t dtypeSize(DType t) {
  switch (t) {
  case DType::F32: return 4;
  case DType::F64: return 8;
  case DType::F16: return 2;
  case DType::BF16: return 2;
  case DType::I1: return 1;
  case DType::I32: return 4;
  case DType::I64: return 8;
  }
  return 0;
}

std::optional<int64_t> checkedByteSize(const Shape& shape, DType dtype) {
  int64_t n = dtypeSize(dtype);
  for (int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(n, d, &n)) return std::nullopt;
  return n;
}

bool withinElementLimit(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d == kDynamic) continue;
    if (d < 0 || d > kMaxTypeElements || (d > 0 && n > kMaxTypeElements / d)) return false;
    n *= d;
  }
  return true;
}

int64_t numElements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    // Checked: unchecked, an overflow is UB and a heap overflow later.
    if (__builtin_mul_overflow(n, d, &n)) {
      std::fprintf(stderr, "cairn internal error: element count of %s overflows int64\n",
                   shapeToString(shape).c_str());
      std::abort();
    }
  }
  return n;
}

bool isStatic(const Shape& shape) {
  for (int64_t d : shape)
    if (d == kDynamic) return false;
  return true;
}

std::string shapeToString(const Shape& shape) {
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += 'x';
    s += shape[i] == kDynamic ? std::string("?") : std::to_string(shape[i]);
  }
  return s;
}

std::string TensorType::toString() const {
  if (shape.empty()) return fmt::format("tensor<{}>", dtypeName(dtype));
  return fmt::format("tensor<{}x{}>", shapeToString(shape), dtypeName(dtype));
}

bool typesCompatible(const TensorType& a, const TensorType& b) {
  if (a.dtype != b.dtype || a.rank() != b.rank()) return false;
  for (int64_t i = 0; i < a.rank(); ++i)
    if (!dimsCompatible(a.shape[i], b.shape[i])) return false;
  return true;
}

} // namespace cairn
