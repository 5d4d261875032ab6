#include "ir/Tensor.h"

#include <cmath>
#include <cstdint>
#include <cstring>

namespace cairn {

Tensor::Tensor(TensorType type) : type_(std::move(type)) {
  CAIRN_CHECK(type_.hasStaticShape(), "tensor type {} is not static", type_.toString());
  bytes_.assign(static_cast<size_t>(type_.numElements() * dtypeSize(type_.dtype)), std::byte{0});
}

Tensor Tensor::fromBytes(TensorType type, std::vector<std::byte> bytes) {
  CAIRN_CHECK(type.hasStaticShape(), "tensor type {} is not static", type.toString());
  CAIRN_CHECK(bytes.size() == static_cast<size_t>(type.numElements() * dtypeSize(type.dtype)),
              "{} bytes for a tensor of type {}", bytes.size(), type.toString());
  Tensor t;
  t.type_ = std::move(type);
  t.bytes_ = std::move(bytes);
  return t;
}

// Copies own what they copy: a copy of a borrowed tensor must not depend on
// the caller's memory staying valid.
Tensor::Tensor(const Tensor& other) : type_(other.type_) {
  const std::byte* src = other.rawData();
  bytes_.assign(src, src + other.byteSize());
}

Tensor& Tensor::operator=(const Tensor& other) {
  if (this == &other) return *this;
  type_ = other.type_;
  const std::byte* src = other.rawData();
  bytes_.assign(src, src + other.byteSize());
  borrowed_ = nullptr;
  borrowedSize_ = 0;
  return *this;
}

Tensor::Tensor(Tensor&& other) noexcept
    : type_(std::move(other.type_)), bytes_(std::move(other.bytes_)), borrowed_(other.borrowed_),
      borrowedSize_(other.borrowedSize_) {
  other.borrowed_ = nullptr;
  other.borrowedSize_ = 0;
}

Tensor& Tensor::operator=(Tensor&& other) noexcept {
  if (this == &other) return *this;
  type_ = std::move(other.type_);
  bytes_ = std::move(other.bytes_);
  borrowed_ = other.borrowed_;
  borrowedSize_ = other.borrowedSize_;
  other.borrowed_ = nullptr;
  other.borrowedSize_ = 0;
  return *this;
}

Tensor Tensor::borrowOrCopy(TensorType type, const std::byte* data) {
  if (canBorrow(type.dtype, data)) return borrow(std::move(type), data);
  Tensor t(std::move(type));
  if (t.byteSize() > 0) std::memcpy(t.rawData(), data, t.byteSize());
  return t;
}

Tensor Tensor::borrow(TensorType type, const std::byte* data) {
  CAIRN_CHECK(type.hasStaticShape(), "tensor type {} is not static", type.toString());
  Tensor t;
  t.type_ = std::move(type);
  size_t size = static_cast<size_t>(t.type_.numElements() * dtypeSize(t.type_.dtype));
  if (size == 0) return t; // nothing to borrow: an owned empty tensor
  CAIRN_CHECK(data != nullptr, "borrowing a null pointer for {}", t.type_.toString());
  CAIRN_CHECK(canBorrow(t.type_.dtype, data),
              "borrowed memory for {} is not aligned to its element size", t.type_.toString());
  t.borrowed_ = data;
  t.borrowedSize_ = size;
  return t;
}

void Tensor::own() {
  bytes_.assign(borrowed_, borrowed_ + borrowedSize_);
  borrowed_ = nullptr;
  borrowedSize_ = 0;
}

bool Tensor::operator==(const Tensor& other) const {
  return type_ == other.type_ && byteSize() == other.byteSize() &&
         (byteSize() == 0 || std::memcmp(rawData(), other.rawData(), byteSize()) == 0);
}

double Tensor::getDouble(int64_t i) const {
  return dispatchDType(dtype(), [&](auto t) -> double {
    using T = decltype(t);
    if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>)
      return static_cast<float>(data<T>()[i]);
    else
      return static_cast<double>(data<T>()[i]);
  });
}

int64_t Tensor::getInt(int64_t i) const {
  return dispatchDType(dtype(), [&](auto t) -> int64_t {
    using T = decltype(t);
    if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>)
      return static_cast<int64_t>(static_cast<float>(data<T>()[i]));
    else
      return static_cast<int64_t>(data<T>()[i]);
  });
}

void Tensor::setDouble(int64_t i, double v) {
  dispatchDType(dtype(), [&](auto t) {
    using T = decltype(t);
    if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>)
      data<T>()[i] = T(static_cast<float>(v));
    else if constexpr (std::is_same_v<T, bool>)
      data<T>()[i] = v != 0.0;
    else if constexpr (std::is_integral_v<T>)
      data<T>()[i] = std::isfinite(v) ? static_cast<T>(v) : T(0);
    else
      data<T>()[i] = static_cast<T>(v);
  });
}

void Tensor::setInt(int64_t i, int64_t v) {
  dispatchDType(dtype(), [&](auto t) {
    using T = decltype(t);
    if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>)
      data<T>()[i] = T(static_cast<float>(v));
    else if constexpr (std::is_same_v<T, bool>)
      data<T>()[i] = v != 0;
    else
      data<T>()[i] = static_cast<T>(v);
  });
}

std::vector<int64_t> Tensor::strides() const {
  std::vector<int64_t> s(shape().size(), 1);
  for (int64_t i = rank() - 2; i >= 0; --i) s[i] = s[i + 1] * shape()[i + 1];
  return s;
}

Tensor Tensor::fromDoubles(TensorType type, const std::vector<double>& values) {
  Tensor t(std::move(type));
  CAIRN_CHECK(static_cast<int64_t>(values.size()) == t.numElements(), "{} values for {}",
              values.size(), t.type().toString());
  for (size_t i = 0; i < values.size(); ++i) t.setDouble(static_cast<int64_t>(i), values[i]);
  return t;
}

Tensor Tensor::fromInts(TensorType type, const std::vector<int64_t>& values) {
  Tensor t(std::move(type));
  CAIRN_CHECK(static_cast<int64_t>(values.size()) == t.numElements(), "{} values for {}",
              values.size(), t.type().toString());
  for (size_t i = 0; i < values.size(); ++i) t.setInt(static_cast<int64_t>(i), values[i]);
  return t;
}

Tensor Tensor::scalar(DType dtype, double v) {
  Tensor t(TensorType(dtype, {}));
  t.setDouble(0, v);
  return t;
}

std::vector<double> Tensor::toDoubles() const {
  std::vector<double> out(static_cast<size_t>(numElements()));
  for (int64_t i = 0; i < numElements(); ++i) out[i] = getDouble(i);
  return out;
}

std::vector<int64_t> Tensor::toInts() const {
  std::vector<int64_t> out(static_cast<size_t>(numElements()));
  for (int64_t i = 0; i < numElements(); ++i) out[i] = getInt(i);
  return out;
}

bool Tensor::isSplat() const {
  int64_t n = numElements();
  if (n == 0) return false;
  size_t es = static_cast<size_t>(dtypeSize(dtype()));
  for (int64_t i = 1; i < n; ++i)
    if (std::memcmp(rawData(), rawData() + i * es, es) != 0) return false;
  return true;
}

static void appendElement(std::string& out, const Tensor& t, int64_t i) {
  if (isFloat(t.dtype())) {
    double v = t.getDouble(i);
    if (t.dtype() == DType::F32 || t.dtype() == DType::F16 || t.dtype() == DType::BF16)
      out += fmt::format("{}", static_cast<float>(v));
    else
      out += fmt::format("{}", v);
  } else if (isBool(t.dtype())) {
    out += t.getInt(i) ? "true" : "false";
  } else {
    out += std::to_string(t.getInt(i));
  }
}

static void appendNested(std::string& out, const Tensor& t, int64_t dim, int64_t& index,
                         const std::function<std::string(int64_t)>& element) {
  if (dim == t.rank()) {
    out += element(index++);
    return;
  }
  out += '[';
  for (int64_t i = 0; i < t.shape()[dim]; ++i) {
    if (i) out += ", ";
    appendNested(out, t, dim + 1, index, element);
  }
  out += ']';
}

std::string Tensor::toNestedString(const std::function<std::string(int64_t)>& element) const {
  std::string out;
  int64_t index = 0;
  appendNested(out, *this, 0, index, element);
  return out;
}

std::string Tensor::toString() const {
  return toNestedString([&](int64_t i) {
    std::string s;
    appendElement(s, *this, i);
    return s;
  });
}

} // namespace cairn
