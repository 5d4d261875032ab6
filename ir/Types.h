// Element types and tensor types: the only types in Cairn's IR.
//
// Every SSA value is a tensor; a scalar is a rank-0 tensor. A dimension is
// either a static size (>= 0) or dynamic (kDynamic, printed `?`), whose size
// is known only at run time (read it with the `dim` op).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cairn {

enum class DType : uint8_t { F32, F64, F16, BF16, I1, I32, I64 };

inline constexpr DType kAllDTypes[] = {DType::F32, DType::F64, DType::F16, DType::BF16,
                                       DType::I1,  DType::I32, DType::I64};

/// The spelling used in the text form: f32, f64, f16, bf16, i1, i32, i64.
std::string_view dtypeName(DType t);
std::optional<DType> parseDType(std::string_view name);
/// Storage size of one element in bytes (i1 is stored as one byte).
int64_t dtypeSize(DType t);
inline bool isFloat(DType t) {
  return t == DType::F32 || t == DType::F64 || t == DType::F16 || t == DType::BF16;
}
/// i32 and i64 (signed integers); i1 is boolean, not integer.
inline bool isInteger(DType t) { return t == DType::I32 || t == DType::I64; }
inline bool isBool(DType t) { return t == DType::I1; }

inline constexpr int64_t kDynamic = -1;
using Shape = std::vector<int64_t>;

/// The most elements a type's static dims may multiply to. The parser and
/// the frontend's builder refuse larger types, so code past them (type
/// inference, buffer sizes) can multiply an element count by an element
/// size without overflowing int64.
inline constexpr int64_t kMaxTypeElements = int64_t(1) << 48;
/// Whether every dim of `shape` is `?` or >= 0 and the static ones multiply
/// to at most kMaxTypeElements.
bool withinElementLimit(const Shape& shape);

/// Number of elements of a fully static shape (1 for rank 0). The shape's
/// byte size must fit int64 (types within kMaxTypeElements; run time checks
/// with checkedByteSize); an overflow here is a Cairn bug.
int64_t numElements(const Shape& shape);
/// Bytes of a tensor of `shape` (static, dims >= 0) and `dtype`, or nullopt
/// when the element or byte count overflows int64.
std::optional<int64_t> checkedByteSize(const Shape& shape, DType dtype);
bool isStatic(const Shape& shape);
/// "2x?x3" (empty for rank 0).
std::string shapeToString(const Shape& shape);

/// `tensor<2x?x3xf32>`; `tensor<i32>` for a scalar.
struct TensorType {
  DType dtype = DType::F32;
  Shape shape;

  TensorType() = default;
  TensorType(DType d, Shape s = {}) : dtype(d), shape(std::move(s)) {}

  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
  bool isScalar() const { return shape.empty(); }
  bool hasStaticShape() const { return isStatic(shape); }
  int64_t numElements() const { return cairn::numElements(shape); }
  std::string toString() const;
  bool operator==(const TensorType&) const = default;
};

/// Two dims are compatible when equal or either is dynamic.
inline bool dimsCompatible(int64_t a, int64_t b) { return a == b || a == kDynamic || b == kDynamic; }
/// Same dtype, same rank, compatible dims.
bool typesCompatible(const TensorType& a, const TensorType& b);

} // namespace cairn
