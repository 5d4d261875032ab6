#include "kernels/cpu/Reduce.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

namespace cairn::kernels::cpu {

bool isFastReduceSum(const Tensor& x, const std::vector<int64_t>& dims) {
  if (x.dtype() != DType::F32 && x.dtype() != DType::F64) return false;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] < 0 || dims[i] >= x.rank()) return false;
    if (i > 0 && dims[i] != dims[i - 1] + 1) return false;
  }
  return true;
}

Shape reducedShape(const Shape& x, const std::vector<int64_t>& dims) {
  Shape out;
  for (size_t d = 0, k = 0; d < x.size(); ++d) {
    if (k < dims.size() && dims[k] == static_cast<int64_t>(d)) {
      ++k;
      continue;
    }
    out.push_back(x[d]);
  }
  return out;
}

namespace {

template <typename T>
void sumAxis(const T* x, int64_t outer, int64_t reduced, int64_t inner, T* out,
             std::vector<double>& acc) {
  for (int64_t a = 0; a < outer; ++a) {
    const T* block = x + a * reduced * inner;
    T* o = out + a * inner;
    if (inner == 1) {
      double s = 0; // in index order: the reference's result, bit for bit
      for (int64_t r = 0; r < reduced; ++r)
        s += static_cast<double>(block[r]);
      o[0] = static_cast<T>(s);
      continue;
    }
    acc.assign(static_cast<size_t>(inner), 0.0);
    double* ac = acc.data();
    for (int64_t r = 0; r < reduced; ++r) {
      const T* row = block + r * inner;
      for (int64_t c = 0; c < inner; ++c)
        ac[c] += static_cast<double>(row[c]);
    }
    for (int64_t c = 0; c < inner; ++c)
      o[c] = static_cast<T>(ac[c]);
  }
}

} // namespace

void reduceSumInto(const Tensor& x, const std::vector<int64_t>& dims, Tensor& out) {
  const Shape& s = x.shape();
  int64_t outer = 1, reduced = 1, inner = 1;
  int64_t first = dims.empty() ? x.rank() : dims.front();
  int64_t last = dims.empty() ? x.rank() - 1 : dims.back();
  for (int64_t d = 0; d < x.rank(); ++d)
    (d < first ? outer : d <= last ? reduced : inner) *= s[static_cast<size_t>(d)];
  if (out.numElements() == 0) return;
  std::vector<double> acc;
  if (x.dtype() == DType::F32)
    sumAxis(x.data<float>(), outer, reduced, inner, out.data<float>(), acc);
  else
    sumAxis(x.data<double>(), outer, reduced, inner, out.data<double>(), acc);
}

bool isFastArgmax(const Tensor& x, int64_t axis) {
  DType t = x.dtype();
  if (t != DType::F32 && t != DType::F64 && t != DType::I32 && t != DType::I64) return false;
  if (axis < 0 || axis >= x.rank()) return false;
  if (x.shape()[static_cast<size_t>(axis)] > 0) return true;
  for (int64_t d = 0; d < x.rank(); ++d) // the result is empty: nothing to undefine
    if (d != axis && x.shape()[static_cast<size_t>(d)] == 0) return true;
  return false;
}

namespace {

/// The first maximum of a contiguous row in one pass, four 16-byte vectors
/// at a time (GCC/Clang vector extensions: SSE2 in the baseline build, NEON
/// elsewhere): each lane keeps its largest value and the first index it
/// held it at (strict >), then the lanes are merged: the largest value and,
/// among lanes equal to it (== holds for +0 and -0 alike, as in the scan),
/// the smallest index. A NaN anywhere sends the row to a scalar search for
/// the first NaN, which is the maximum. A decoder's [64, 1000] logits take
/// 24 us (GCC 12, -O2) where the scalar two-pass loop it replaces took 55:
/// GCC left that one unvectorized. (64-byte vectors were 3x slower than
/// either without AVX-512: GCC spilled them to the stack.)
template <typename T> int64_t argmaxRow(const T* p, int64_t k) {
  using I = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;
  constexpr int kWidth = 16 / static_cast<int>(sizeof(T)); // lanes of one vector
  constexpr int kUnroll = 4;
  constexpr int kStep = kWidth * kUnroll;
  typedef T V __attribute__((vector_size(16)));
  typedef I Idx __attribute__((vector_size(16))); // also what comparing two V gives
  int64_t j = 0;
  T best = p[0];
  int64_t at = 0;
  bool nan = false;
  // Lane indices fit I: rows of 2^31 or more 4-byte elements take the scalar loop.
  if (k >= kStep && (sizeof(I) == 8 || k <= std::numeric_limits<int32_t>::max())) {
    V m[kUnroll], v[kUnroll];
    Idx where[kUnroll], bad[kUnroll], lane;
    for (int l = 0; l < kWidth; ++l)
      lane[l] = static_cast<I>(l);
    std::memcpy(m, p, sizeof m);
    for (int u = 0; u < kUnroll; ++u) {
      where[u] = lane + static_cast<I>(u * kWidth);
      bad[u] = m[u] != m[u];
    }
    for (j = kStep; j + kStep <= k; j += kStep) {
      std::memcpy(v, p + j, sizeof v);
      for (int u = 0; u < kUnroll; ++u) {
        Idx more = v[u] > m[u]; // never for a NaN v
        m[u] = more ? v[u] : m[u];
        where[u] = more ? lane + static_cast<I>(j + u * kWidth) : where[u];
        if constexpr (std::is_floating_point_v<T>) bad[u] |= v[u] != v[u];
      }
    }
    best = m[0][0];
    at = where[0][0];
    for (int u = 0; u < kUnroll; ++u)
      for (int l = 0; l < kWidth; ++l) {
        if (m[u][l] > best || (m[u][l] == best && where[u][l] < at)) best = m[u][l], at = where[u][l];
        nan |= bad[u][l] != 0;
      }
  }
  for (; j < k; ++j) { // the tail, or the whole of a short row
    if (p[j] > best) best = p[j], at = j;
    if constexpr (std::is_floating_point_v<T>) nan |= p[j] != p[j];
  }
  if (nan)
    for (j = 0; j < k; ++j)
      if (p[j] != p[j]) return j;
  return at;
}

template <typename T, typename I>
void argmaxAxis(const T* x, int64_t outer, int64_t k, int64_t inner, I* out) {
  if (inner == 1) {
    for (int64_t a = 0; a < outer; ++a)
      out[a] = static_cast<I>(argmaxRow(x + a * k, k));
    return;
  }
  for (int64_t a = 0; a < outer; ++a)
    for (int64_t c = 0; c < inner; ++c) {
      const T* p = x + a * k * inner + c;
      int64_t best = 0;
      T bestV = p[0];
      for (int64_t j = 1; j < k; ++j) {
        T v = p[j * inner];
        if constexpr (std::is_floating_point_v<T>) {
          if (std::isnan(bestV)) break; // NaN is the maximum: the first one wins
          if (v > bestV || std::isnan(v)) best = j, bestV = v;
        } else if (v > bestV) {
          best = j, bestV = v;
        }
      }
      out[a * inner + c] = static_cast<I>(best);
    }
}

/// Writes from element `at` of out.
template <typename T>
void argmaxTyped(const T* x, int64_t o, int64_t k, int64_t i, Tensor& out, int64_t at) {
  if (out.dtype() == DType::I32)
    argmaxAxis(x, o, k, i, out.data<int32_t>() + at);
  else
    argmaxAxis(x, o, k, i, out.data<int64_t>() + at);
}

} // namespace

int64_t argmaxOuter(const Tensor& x, int64_t axis) {
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= x.shape()[static_cast<size_t>(d)];
  return outer;
}

void argmaxInto(const Tensor& x, int64_t axis, Tensor& out, int64_t outerBegin,
                int64_t outerEnd) {
  if (out.numElements() == 0) return;
  const Shape& s = x.shape();
  int64_t inner = 1, k = s[static_cast<size_t>(axis)];
  for (int64_t d = axis + 1; d < x.rank(); ++d)
    inner *= s[static_cast<size_t>(d)];
  if (outerEnd < 0) outerEnd = argmaxOuter(x, axis);
  int64_t outer = outerEnd - outerBegin;
  int64_t from = outerBegin * k * inner, to = outerBegin * inner; // elements of x, of out
  switch (x.dtype()) {
  case DType::F32: return argmaxTyped(x.data<float>() + from, outer, k, inner, out, to);
  case DType::F64: return argmaxTyped(x.data<double>() + from, outer, k, inner, out, to);
  case DType::I32: return argmaxTyped(x.data<int32_t>() + from, outer, k, inner, out, to);
  default: return argmaxTyped(x.data<int64_t>() + from, outer, k, inner, out, to);
  }
}

} // namespace cairn::kernels::cpu
