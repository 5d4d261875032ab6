// Tensor: a dense, row-major, statically shaped array of one dtype.
//
// It is the payload of `constant` ops and the value the reference
// interpreter computes with. Storage is owned and copied with the tensor:
// simple and obviously right; the compiled runtime has its own buffers.
//
// One exception, for callers that pass their own memory in without a copy
// (the Python bindings' NumPy inputs): a *borrowed* tensor reads memory it
// does not own. It is never written through (the first mutable access copies
// it into owned storage) and never outlives what it borrows by accident: a
// copy of a borrowed tensor owns its bytes; only a move carries the borrow.
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
  Tensor(const Tensor& other);
  Tensor& operator=(const Tensor& other);
  Tensor(Tensor&& other) noexcept;
  Tensor& operator=(Tensor&& other) noexcept;
  ~Tensor() = default;

  /// A tensor reading `data` (row-major, `type`'s byte size, aligned to its
  /// element size) without copying it; `data` must stay valid and unchanged
  /// while the tensor, or anything it is moved into, borrows it.
  static Tensor borrow(TensorType type, const std::byte* data);
  /// borrow() where `data` can be borrowed (aligned to the element size),
  /// else an owned copy of its bytes: caller memory read without a copy
  /// whenever it can be (the C API's and the Python bindings' inputs).
  static Tensor borrowOrCopy(TensorType type, const std::byte* data);
  /// Whether borrow() accepts `data` for elements of `dtype`.
  static bool canBorrow(DType dtype, const std::byte* data) {
    return data && reinterpret_cast<uintptr_t>(data) % static_cast<uintptr_t>(dtypeSize(dtype)) == 0;
  }
  bool borrowed() const { return borrowed_ != nullptr; }

  const TensorType& type() const { return type_; }
  DType dtype() const { return type_.dtype; }
  const Shape& shape() const { return type_.shape; }
  int64_t rank() const { return type_.rank(); }
  int64_t numElements() const { return type_.numElements(); }
  size_t byteSize() const { return borrowed_ ? borrowedSize_ : bytes_.size(); }
  /// Mutable access: a borrowed tensor first copies what it borrows.
  std::byte* rawData() {
    if (borrowed_) own();
    return bytes_.data();
  }
  const std::byte* rawData() const { return borrowed_ ? borrowed_ : bytes_.data(); }

  template <typename T> T* data() { return reinterpret_cast<T*>(rawData()); }
  template <typename T> const T* data() const { return reinterpret_cast<const T*>(rawData()); }

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
  std::vector<std::byte> takeBytes() && {
    if (borrowed_) own();
    return std::move(bytes_);
  }

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
  bool operator==(const Tensor& other) const;

  /// Human-readable nested-list form, e.g. `[[1, 2], [3, 4]]`.
  std::string toString() const;
  /// The nested-list form with each element spelled by `element(i)` (row-major
  /// index); the text form's literals use it with their own float spelling.
  std::string toNestedString(const std::function<std::string(int64_t)>& element) const;

private:
  /// Copies borrowed bytes into owned storage and drops the borrow.
  void own();

  TensorType type_;
  std::vector<std::byte> bytes_;
  const std::byte* borrowed_ = nullptr; ///< set: the bytes are the caller's
  size_t borrowedSize_ = 0;
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
