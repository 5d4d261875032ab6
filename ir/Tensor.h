// Tensor: a dense, row-major, statically shaped array of one dtype.
//
// It is the payload of `constant` ops and the value the reference
// interpreter computes with. Storage is owned and copied with the tensor:
// simple and obviously right; the compiled runtime has its own buffers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ir/Float16.h"
#include "ir/Status.h"
#include "ir/Types.h"

namespace cairn {

class Tensor {
public:
  Tensor() = default;
  /// Zero-filled tensor; `type` must have a static shape.
  explicit Tensor(TensorType type);

  const TensorType& type() const { return type_; }
  DType dtype() const { return type_.dtype; }
  const Shape& shape() const { return type_.shape; }
  int64_t rank() const { return type_.rank(); }
  int64_t numElements() const { return type_.numElements(); }
  size_t byteSize() const { return bytes_.size(); }
  std::byte* rawData() { return bytes_.data(); }
  const std::byte* rawData() const { return bytes_.data(); }

  template <typename T> T* data() { return reinterpret_cast<T*>(bytes_.data()); }
  template <typename T> const T* data() const { return reinterpret_cast<const T*>(bytes_.data()); }

  /// Element i (row-major) converted to double / int64; valid for every dtype.
  double getDouble(int64_t i) const;
  int64_t getInt(int64_t i) const;
  /// Stores v converted (and rounded) to the tensor's dtype.
  void setDouble(int64_t i, double v);
  void setInt(int64_t i, int64_t v);

  /// A tensor that takes `bytes` as its storage without copying (the
  /// compiled executor recycles buffers this way); `bytes` must hold exactly
  /// the type's byte size, and the type must be static.
  static Tensor fromBytes(TensorType type, std::vector<std::byte> bytes);
  /// Gives up the storage (leaving an empty tensor) so it can be reused.
  std::vector<std::byte> takeBytes() && { return std::move(bytes_); }

  /// Row-major strides in elements.
  std::vector<int64_t> strides() const;

  /// Builders for tests and constants.
  static Tensor fromDoubles(TensorType type, const std::vector<double>& values);
  static Tensor fromInts(TensorType type, const std::vector<int64_t>& values);
  static Tensor scalar(DType dtype, double v);
  std::vector<double> toDoubles() const;
  std::vector<int64_t> toInts() const;

  /// True when every element equals element 0 (and there is at least one).
  bool isSplat() const;
  bool operator==(const Tensor& other) const {
    return type_ == other.type_ && bytes_ == other.bytes_;
  }

  /// Human-readable nested-list form, e.g. `[[1, 2], [3, 4]]`.
  std::string toString() const;
  /// The nested-list form with each element spelled by `element(i)` (row-major
  /// index); the text form's literals use it with their own float spelling.
  std::string toNestedString(const std::function<std::string(int64_t)>& element) const;

private:
  TensorType type_;
  std::vector<std::byte> bytes_;
};

/// Calls f(T{}) with T the C++ storage type of `dtype` (float, double, Half,
/// BFloat16, bool, int32_t, int64_t).
template <typename F> decltype(auto) dispatchDType(DType dtype, F&& f) {
  switch (dtype) {
  case DType::F32: return f(float{});
  case DType::F64: return f(double{});
  case DType::F16: return f(Half{});
  case DType::BF16: return f(BFloat16{});
  case DType::I1: return f(bool{});
  case DType::I32: return f(int32_t{});
  case DType::I64: return f(int64_t{});
  }
  return f(float{});
}

} // namespace cairn
