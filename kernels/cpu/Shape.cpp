// concat: per outer index, one memcpy per operand of its whole slab.
// broadcast: an odometer over the result's outer dims with the operand's
// strides (0 on repeated dims); the innermost dim is one memcpy when the
// operand is contiguous there, else a splat of one element.
#include "kernels/cpu/Shape.h"

#include <algorithm>
#include <cstring>

namespace cairn::kernels::cpu {

bool isValidConcat(const std::vector<const Tensor*>& xs, int64_t axis, const TensorType& out) {
  if (xs.empty() || axis < 0 || axis >= xs[0]->rank() || out.rank() != xs[0]->rank()) return false;
  int64_t total = 0;
  for (const Tensor* x : xs) {
    if (x->dtype() != out.dtype || x->rank() != out.rank()) return false;
    for (int64_t d = 0; d < out.rank(); ++d)
      if (d != axis && x->shape()[d] != out.shape[d]) return false;
    total += x->shape()[axis];
  }
  return total == out.shape[axis];
}

void concatInto(const std::vector<const Tensor*>& xs, int64_t axis, Tensor& out) {
  size_t es = static_cast<size_t>(dtypeSize(out.dtype()));
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= out.shape()[d];
  for (int64_t d = axis + 1; d < out.rank(); ++d)
    inner *= out.shape()[d];
  std::byte* dst = out.rawData();
  for (int64_t o = 0; o < outer; ++o)
    for (const Tensor* x : xs) {
      size_t slab = static_cast<size_t>(x->shape()[axis] * inner) * es;
      std::memcpy(dst, x->rawData() + o * slab, slab);
      dst += slab;
    }
}

bool isValidBroadcast(const Tensor& x, const std::vector<int64_t>& dims, const TensorType& out) {
  if (x.dtype() != out.dtype || static_cast<int64_t>(dims.size()) != x.rank()) return false;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] < 0 || dims[i] >= out.rank() || (i && dims[i] <= dims[i - 1])) return false;
    int64_t s = x.shape()[i];
    if (s != 1 && s != out.shape[static_cast<size_t>(dims[i])]) return false;
  }
  return true;
}

namespace {

/// dst[c] = src[c * stride] for c < n, elements of `es` bytes; stride 0 is a
/// fill. Typed by element size so the loop is a store loop, not n memcpy calls.
template <typename T> void copyStridedAs(std::byte* dst, const std::byte* src, int64_t n, int64_t stride) {
  T* d = reinterpret_cast<T*>(dst);
  const T* s = reinterpret_cast<const T*>(src);
  if (stride == 0) {
    std::fill_n(d, n, *s);
    return;
  }
  for (int64_t c = 0; c < n; ++c)
    d[c] = s[c * stride];
}

void copyStrided(std::byte* dst, const std::byte* src, int64_t n, int64_t stride, size_t es) {
  switch (es) {
  case 1: return copyStridedAs<uint8_t>(dst, src, n, stride);
  case 2: return copyStridedAs<uint16_t>(dst, src, n, stride);
  case 4: return copyStridedAs<uint32_t>(dst, src, n, stride);
  case 8: return copyStridedAs<uint64_t>(dst, src, n, stride);
  default:
    for (int64_t c = 0; c < n; ++c)
      std::memcpy(dst + c * static_cast<int64_t>(es), src + c * stride * static_cast<int64_t>(es), es);
  }
}

} // namespace

void broadcastInto(const Tensor& x, const std::vector<int64_t>& dims, Tensor& out) {
  size_t es = static_cast<size_t>(dtypeSize(out.dtype()));
  size_t rank = static_cast<size_t>(out.rank());
  if (out.numElements() == 0) return;
  if (rank == 0) {
    std::memcpy(out.rawData(), x.rawData(), es);
    return;
  }
  std::vector<int64_t> xStrides = x.strides(), stride(rank, 0);
  for (size_t i = 0; i < dims.size(); ++i)
    if (x.shape()[i] != 1) stride[static_cast<size_t>(dims[i])] = xStrides[i];
  const Shape& shape = out.shape();
  int64_t innerSize = shape[rank - 1];
  int64_t rows = out.numElements() / innerSize;
  std::vector<int64_t> idx(rank, 0);
  int64_t src = 0;
  std::byte* dst = out.rawData();
  const std::byte* from = x.rawData();
  size_t rowBytes = static_cast<size_t>(innerSize) * es;
  for (int64_t r = 0; r < rows; ++r, dst += rowBytes) {
    if (stride[rank - 1] == 1) {
      std::memcpy(dst, from + src * static_cast<int64_t>(es), rowBytes);
    } else {
      copyStrided(dst, from + src * static_cast<int64_t>(es), innerSize, stride[rank - 1], es);
    }
    for (size_t d = rank - 1; d-- > 0;) { // odometer over the outer dims
      src += stride[d];
      if (++idx[d] < shape[d]) break;
      src -= shape[d] * stride[d];
      idx[d] = 0;
    }
  }
}

bool isValidTranspose(const Tensor& x, const std::vector<int64_t>& perm, const TensorType& out) {
  if (static_cast<int64_t>(perm.size()) != x.rank() || out.dtype != x.dtype() ||
      out.rank() != x.rank())
    return false;
  std::vector<bool> seen(perm.size(), false);
  for (size_t d = 0; d < perm.size(); ++d) {
    if (perm[d] < 0 || perm[d] >= x.rank() || seen[static_cast<size_t>(perm[d])]) return false;
    seen[static_cast<size_t>(perm[d])] = true;
    if (out.shape[d] != x.shape()[static_cast<size_t>(perm[d])]) return false;
  }
  return true;
}

void transposeInto(const Tensor& x, const std::vector<int64_t>& perm, Tensor& out) {
  const size_t rank = perm.size();
  const size_t esize = static_cast<size_t>(dtypeSize(x.dtype()));
  if (out.numElements() == 0) return;
  if (rank == 0) {
    std::memcpy(out.rawData(), x.rawData(), esize);
    return;
  }
  const Shape& xs = x.shape();
  std::vector<int64_t> xStride(rank, 1);
  for (size_t d = rank - 1; d-- > 0;)
    xStride[d] = xStride[d + 1] * xs[d + 1];
  // Output dim d walks x's dim perm[d]; when the innermost dim stays
  // innermost, whole rows of it are contiguous in both.
  bool rows = perm.back() == static_cast<int64_t>(rank) - 1;
  size_t run = rows ? static_cast<size_t>(xs.back()) : 1;
  size_t outerRank = rows ? rank - 1 : rank;
  std::vector<int64_t> idx(outerRank, 0);
  const std::byte* src = x.rawData();
  std::byte* dst = out.rawData();
  int64_t count = out.numElements() / static_cast<int64_t>(run);
  int64_t offset = 0; // x's element offset of the current output position
  for (int64_t n = 0; n < count; ++n) {
    std::memcpy(dst, src + static_cast<size_t>(offset) * esize, run * esize);
    dst += run * esize;
    for (size_t d = outerRank; d-- > 0;) { // the odometer, innermost output dim first
      size_t xd = static_cast<size_t>(perm[d]);
      offset += xStride[xd];
      if (++idx[d] < out.shape()[d]) break;
      offset -= xStride[xd] * idx[d];
      idx[d] = 0;
    }
  }
}

} // namespace cairn::kernels::cpu
