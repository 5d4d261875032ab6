// Reduction reference kernels: one pass over the operand in row-major order,
// each element folded into the accumulator of the result element it maps to.
#include "kernels/reference/Reduce.h"

#include <cmath>
#include <limits>

#include "kernels/reference/Elementwise.h"
#include "kernels/reference/KernelUtil.h"

namespace cairn::kernels {

namespace {

/// The shape with `dims` removed; for each operand dim, whether it is reduced.
StatusOr<Shape> reducedShape(const Tensor& x, const std::vector<int64_t>& dims,
                             std::vector<bool>& reduced) {
  reduced.assign(x.rank(), false);
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] < 0 || dims[i] >= x.rank() || (i && dims[i] <= dims[i - 1]))
      return errorf("'dims' must be distinct sorted dims below rank {}", x.rank());
    reduced[dims[i]] = true;
  }
  Shape out;
  for (int64_t d = 0; d < x.rank(); ++d)
    if (!reduced[d]) out.push_back(x.shape()[d]);
  return out;
}

/// Result linear index of operand element i.
int64_t resultIndex(int64_t i, const Shape& xShape, const std::vector<bool>& reduced,
                    const Shape& outShape) {
  std::vector<int64_t> idx = unravel(i, xShape), kept;
  for (size_t d = 0; d < idx.size(); ++d)
    if (!reduced[d]) kept.push_back(idx[d]);
  return ravel(kept, outShape);
}

template <typename T>
StatusOr<Tensor> reduceTyped(OpKind kind, const Tensor& x, const std::vector<bool>& reduced,
                             const Shape& outShape) {
  using C = ComputeType<T>;
  int64_t n = numElements(outShape);
  const T* in = x.data<T>();
  Tensor out(TensorType(x.dtype(), outShape));
  T* o = out.data<T>();
  if (kind == OpKind::ReduceSum) {
    if constexpr (std::is_same_v<T, bool>) {
      return errorf("'reduce_sum' does not accept i1 operands");
    } else if constexpr (std::is_integral_v<T>) {
      std::vector<uint64_t> acc(n, 0); // wraps modulo 2^64, hence modulo 2^32 too
      for (int64_t i = 0; i < x.numElements(); ++i)
        acc[resultIndex(i, x.shape(), reduced, outShape)] += static_cast<uint64_t>(in[i]);
      for (int64_t i = 0; i < n; ++i)
        o[i] = static_cast<T>(acc[i]);
    } else {
      Tensor acc(TensorType(DType::F64, outShape));
      double* a = acc.data<double>();
      for (int64_t i = 0; i < x.numElements(); ++i)
        a[resultIndex(i, x.shape(), reduced, outShape)] += static_cast<double>(C(in[i]));
      return cast(acc, x.dtype()); // one correctly rounded conversion
    }
    return out;
  }
  bool isMax = kind == OpKind::ReduceMax;
  C init;
  if constexpr (std::is_same_v<T, bool>)
    init = !isMax;
  else if constexpr (std::is_integral_v<T>)
    init = isMax ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
  else
    init = isMax ? -std::numeric_limits<C>::infinity() : std::numeric_limits<C>::infinity();
  // Not std::vector<bool>, whose elements are not addressable.
  using A = std::conditional_t<std::is_same_v<C, bool>, unsigned char, C>;
  std::vector<A> acc(n, init);
  for (int64_t i = 0; i < x.numElements(); ++i) {
    A& a = acc[resultIndex(i, x.shape(), reduced, outShape)];
    C v = C(in[i]);
    if constexpr (kIsFloatStorage<T>) {
      if (std::isnan(a)) continue; // NaN sticks
      if (std::isnan(v) || (isMax ? v > a : v < a))
        a = v;
      else if (v == a && std::signbit(v) != std::signbit(a))
        a = isMax ? C(0) : -C(0);
    } else {
      if (isMax ? v > a : v < a) a = v;
    }
  }
  for (int64_t i = 0; i < n; ++i)
    o[i] = T(static_cast<C>(acc[i]));
  return out;
}

} // namespace

StatusOr<Tensor> reduce(OpKind kind, const Tensor& x, const std::vector<int64_t>& dims) {
  if (kind != OpKind::ReduceSum && kind != OpKind::ReduceMax && kind != OpKind::ReduceMin)
    return errorf("'{}' is not a reduction", opName(kind));
  std::vector<bool> reduced;
  CAIRN_ASSIGN_OR_RETURN(Shape outShape, reducedShape(x, dims, reduced));
  return dispatchDType(
      x.dtype(), [&](auto t) { return reduceTyped<decltype(t)>(kind, x, reduced, outShape); });
}

StatusOr<Tensor> argmax(const Tensor& x, int64_t axis, DType indexType) {
  if (!isInteger(indexType))
    return errorf("index type must be i32 or i64, got {}", dtypeName(indexType));
  if (axis < 0 || axis >= x.rank())
    return errorf("axis {} is out of range for rank {}", axis, x.rank());
  int64_t k = x.shape()[axis];
  std::vector<bool> reduced;
  CAIRN_ASSIGN_OR_RETURN(Shape outShape, reducedShape(x, {axis}, reduced));
  Tensor out(TensorType(indexType, outShape));
  if (out.numElements() == 0) return out;
  if (k == 0) return errorf("argmax along axis {} of size 0 is undefined", axis);
  dispatchDType(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using C = ComputeType<T>;
    const T* in = x.data<T>();
    for (int64_t o = 0; o < out.numElements(); ++o) {
      // The operand elements of result o: its index with the axis reinserted.
      std::vector<int64_t> idx = unravel(o, outShape);
      idx.insert(idx.begin() + axis, 0);
      int64_t best = 0;
      C bestV = C(in[ravel(idx, x.shape())]);
      for (int64_t j = 1; j < k; ++j) {
        if constexpr (kIsFloatStorage<T>)
          if (std::isnan(bestV)) break;
        idx[axis] = j;
        C v = C(in[ravel(idx, x.shape())]);
        bool better = v > bestV;
        if constexpr (kIsFloatStorage<T>) better = better || std::isnan(v);
        if (better) best = j, bestV = v;
      }
      out.setInt(o, best);
    }
  });
  return out;
}

StatusOr<Tensor> nonzero(const Tensor& m, DType indexType) {
  if (!isInteger(indexType))
    return errorf("index type must be i32 or i64, got {}", dtypeName(indexType));
  if (m.rank() != 1) return errorf("operand must have rank 1, got {}", m.type().toString());
  std::vector<int64_t> idx;
  for (int64_t i = 0; i < m.numElements(); ++i)
    if (m.getDouble(i) != 0) idx.push_back(i);
  Tensor out(TensorType(indexType, {static_cast<int64_t>(idx.size())}));
  for (size_t i = 0; i < idx.size(); ++i)
    out.setInt(static_cast<int64_t>(i), idx[i]);
  return out;
}

} // namespace cairn::kernels
