// NumPy <-> Tensor conversion (see Arrays.h).
#include "Arrays.h"

#include <atomic>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace cairn::python {

DType dtypeOf(nb::dlpack::dtype t) {
  using C = nb::dlpack::dtype_code;
  auto code = static_cast<C>(t.code);
  if (t.lanes == 1) {
    if (code == C::Float && t.bits == 32) return DType::F32;
    if (code == C::Float && t.bits == 64) return DType::F64;
    if (code == C::Float && t.bits == 16) return DType::F16;
    if (code == C::Bfloat && t.bits == 16) return DType::BF16;
    if (code == C::Bool && t.bits == 8) return DType::I1;
    if (code == C::Int && t.bits == 32) return DType::I32;
    if (code == C::Int && t.bits == 64) return DType::I64;
  }
  throw nb::type_error(fmt::format("cairn: arrays of dtype code {} with {} bits are not supported "
                                   "(use float32/64/16, bool, int32 or int64)",
                                   int(t.code), int(t.bits))
                           .c_str());
}

static nb::dlpack::dtype dlpackOf(DType d) {
  using C = nb::dlpack::dtype_code;
  auto make = [](C c, int bits) {
    nb::dlpack::dtype t;
    t.code = static_cast<uint8_t>(c);
    t.bits = static_cast<uint8_t>(bits);
    t.lanes = 1;
    return t;
  };
  switch (d) {
  case DType::F32:
    return make(C::Float, 32);
  case DType::F64:
    return make(C::Float, 64);
  case DType::F16:
    return make(C::Float, 16);
  case DType::BF16:
    return make(C::Bfloat, 16);
  case DType::I1:
    return make(C::Bool, 8);
  case DType::I32:
    return make(C::Int, 32);
  case DType::I64:
    return make(C::Int, 64);
  }
  return make(C::Float, 32);
}

namespace {
std::atomic<int64_t> copiedArrays{0}, copiedBytes{0}, borrowedArrays{0};
} // namespace

InputStats inputStats() {
  return {copiedArrays.load(), copiedBytes.load(), borrowedArrays.load()};
}

/// Whether `a` is row-major: dims of extent 1 may have any stride
/// (nanobind's strides count elements).
static bool rowMajor(const InArray& a) {
  int64_t expect = 1;
  for (size_t i = a.ndim(); i-- > 0;) {
    if (a.shape(i) != 1 && a.stride(i) != expect) return false;
    expect *= static_cast<int64_t>(a.shape(i));
  }
  return true;
}

/// Copies the strided block of `dim` and below (byte strides) into `out`,
/// advancing it: the general path for non-contiguous inputs.
static void gather(const std::byte* src, size_t dim, const std::vector<int64_t>& shape,
                   const std::vector<int64_t>& byteStrides, size_t elem, std::byte*& out) {
  if (dim == shape.size()) {
    std::memcpy(out, src, elem);
    out += elem;
    return;
  }
  for (int64_t i = 0; i < shape[dim]; ++i)
    gather(src + i * byteStrides[dim], dim + 1, shape, byteStrides, elem, out);
}

Tensor tensorFromArray(const InArray& a) {
  DType d = dtypeOf(a.dtype());
  Shape shape(a.ndim());
  for (size_t i = 0; i < a.ndim(); ++i)
    shape[i] = static_cast<int64_t>(a.shape(i));
  Tensor t{TensorType(d, shape)};
  if (t.byteSize() == 0) return t;
  copiedArrays.fetch_add(1, std::memory_order_relaxed);
  copiedBytes.fetch_add(static_cast<int64_t>(t.byteSize()), std::memory_order_relaxed);
  const size_t elem = static_cast<size_t>(dtypeSize(d));
  const auto* src = static_cast<const std::byte*>(a.data());
  if (rowMajor(a)) {
    std::memcpy(t.rawData(), src, t.byteSize());
    return t;
  }
  std::vector<int64_t> byteStrides(a.ndim());
  for (size_t i = 0; i < a.ndim(); ++i)
    byteStrides[i] = a.stride(i) * static_cast<int64_t>(elem);
  std::byte* out = t.rawData();
  gather(src, 0, shape, byteStrides, elem, out);
  return t;
}

nb::object arrayFromTensor(Tensor&& t) {
  if (t.dtype() == DType::BF16)
    throw nb::type_error("cairn: a bf16 result cannot be returned to NumPy (no such dtype); "
                         "cast it to f32 in the function");
  auto* owned = new Tensor(std::move(t));
  // A zero-size tensor may have no storage; NumPy still wants a pointer.
  static std::byte empty[8];
  void* data = owned->byteSize() ? static_cast<void*>(owned->rawData()) : empty;
  nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<Tensor*>(p); });
  std::vector<size_t> shape(owned->shape().begin(), owned->shape().end());
  nb::ndarray<nb::numpy> arr(data, shape.size(), shape.data(), owner, nullptr,
                             dlpackOf(owned->dtype()));
  return arr.cast();
}

Tensor inputFromArray(const InArray& a) {
  DType d = dtypeOf(a.dtype());
  // Row-major, non-empty and aligned: what a Tensor can borrow.
  const auto* bytes = static_cast<const std::byte*>(a.data());
  if (a.size() == 0 || !rowMajor(a) || !Tensor::canBorrow(d, bytes)) return tensorFromArray(a);
  Shape shape(a.ndim());
  for (size_t i = 0; i < a.ndim(); ++i)
    shape[i] = static_cast<int64_t>(a.shape(i));
  borrowedArrays.fetch_add(1, std::memory_order_relaxed);
  return Tensor::borrow(TensorType(d, std::move(shape)), bytes);
}

RunInputs::RunInputs(const std::vector<InArray>& arrays) {
  tensors_.reserve(arrays.size());
  for (const InArray& a : arrays)
    tensors_.push_back(inputFromArray(a));
}

} // namespace cairn::python
