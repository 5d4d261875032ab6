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
      if (slab == 0) continue; // an empty operand may have no buffer: memcpy from null is UB
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

/// out, in row-major order, read from x at element offset sum_d idx[d] *
/// stride[d]: a broadcast (stride 0 on repeated dims) or a transpose (x's
/// strides, permuted). A row of out's innermost dim is one memcpy when its
/// stride is 1, else a typed strided copy (a fill for stride 0).
void copyByStrides(const Tensor& x, const std::vector<int64_t>& stride, Tensor& out) {
  size_t es = static_cast<size_t>(dtypeSize(out.dtype()));
  size_t rank = static_cast<size_t>(out.rank());
  if (out.numElements() == 0) return;
  if (rank == 0) {
    std::memcpy(out.rawData(), x.rawData(), es);
    return;
  }
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

} // namespace

void broadcastInto(const Tensor& x, const std::vector<int64_t>& dims, Tensor& out) {
  std::vector<int64_t> xStrides = x.strides(), stride(static_cast<size_t>(out.rank()), 0);
  for (size_t i = 0; i < dims.size(); ++i)
    if (x.shape()[i] != 1) stride[static_cast<size_t>(dims[i])] = xStrides[i];
  copyByStrides(x, stride, out);
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
  // Output dim d walks x's dim perm[d].
  std::vector<int64_t> xStrides = x.strides(), stride;
  for (int64_t p : perm)
    stride.push_back(xStrides[static_cast<size_t>(p)]);
  copyByStrides(x, stride, out);
}

} // namespace cairn::kernels::cpu
