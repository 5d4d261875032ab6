// Data-movement reference kernels. Each walks the result's elements in
// row-major order and computes the source element from the result's
// multi-index: the definition of the op, read literally.
#include "kernels/reference/Shape.h"

#include "kernels/reference/Elementwise.h"
#include "kernels/reference/KernelUtil.h"

namespace cairn::kernels {

static Status checkStaticShape(const Shape& s, const char* what) {
  for (int64_t d : s)
    if (d < 0) return errorf("{} {} has a negative or unresolved dim", what, shapeStr(s));
  return Status::ok();
}

StatusOr<Tensor> broadcast(const Tensor& x, const std::vector<int64_t>& dims,
                           const Shape& resultShape) {
  CAIRN_RETURN_IF_ERROR(checkStaticShape(resultShape, "result shape"));
  if (static_cast<int64_t>(dims.size()) != x.rank())
    return errorf("'dims' has {} entries for an operand of rank {}", dims.size(), x.rank());
  int64_t rank = static_cast<int64_t>(resultShape.size());
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] < 0 || dims[i] >= rank || (i && dims[i] <= dims[i - 1]))
      return errorf("'dims' must be strictly increasing result dims below {}", rank);
    int64_t from = x.shape()[i], to = resultShape[dims[i]];
    if (from != to && from != 1)
      return errorf("operand dim {} has size {}, which is neither 1 nor the size {} of result "
                    "dim {}",
                    i, from, to, dims[i]);
  }
  Tensor out(TensorType(x.dtype(), resultShape));
  std::vector<int64_t> src(x.rank());
  for (int64_t i = 0; i < out.numElements(); ++i) {
    std::vector<int64_t> idx = unravel(i, resultShape);
    for (size_t k = 0; k < dims.size(); ++k)
      src[k] = x.shape()[k] == 1 ? 0 : idx[dims[k]];
    copyElement(out, i, x, ravel(src, x.shape()));
  }
  return out;
}

StatusOr<Tensor> reshape(const Tensor& x, const Shape& shape) {
  CAIRN_RETURN_IF_ERROR(checkStaticShape(shape, "result shape"));
  if (numElements(shape) != x.numElements())
    return errorf("cannot reshape {} ({} elements) to {} ({} elements)", shapeStr(x.shape()),
                  x.numElements(), shapeStr(shape), numElements(shape));
  Tensor out(TensorType(x.dtype(), shape));
  if (x.byteSize()) std::memcpy(out.rawData(), x.rawData(), x.byteSize());
  return out;
}

StatusOr<Tensor> transpose(const Tensor& x, const std::vector<int64_t>& perm) {
  if (static_cast<int64_t>(perm.size()) != x.rank())
    return errorf("'perm' has {} entries for an operand of rank {}", perm.size(), x.rank());
  std::vector<bool> seen(perm.size(), false);
  Shape shape(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) {
    if (perm[i] < 0 || perm[i] >= x.rank() || seen[perm[i]])
      return errorf("'perm' is not a permutation of 0..{}", x.rank() - 1);
    seen[perm[i]] = true;
    shape[i] = x.shape()[perm[i]];
  }
  Tensor out(TensorType(x.dtype(), shape));
  std::vector<int64_t> src(perm.size());
  for (int64_t i = 0; i < out.numElements(); ++i) {
    std::vector<int64_t> idx = unravel(i, shape);
    for (size_t k = 0; k < perm.size(); ++k)
      src[perm[k]] = idx[k];
    copyElement(out, i, x, ravel(src, x.shape()));
  }
  return out;
}

StatusOr<Tensor> concat(const std::vector<Tensor>& xs, int64_t axis) {
  if (xs.empty()) return errorf("needs at least one operand");
  const Tensor& first = xs[0];
  if (axis < 0 || axis >= first.rank())
    return errorf("axis {} is out of range for rank {}", axis, first.rank());
  Shape shape = first.shape();
  shape[axis] = 0;
  for (size_t k = 0; k < xs.size(); ++k) {
    const Tensor& x = xs[k];
    if (x.dtype() != first.dtype() || x.rank() != first.rank())
      return errorf("operand #{} has type {}, expected {} of rank {}", k, x.type().toString(),
                    dtypeName(first.dtype()), first.rank());
    for (int64_t d = 0; d < x.rank(); ++d)
      if (d != axis && x.shape()[d] != first.shape()[d])
        return errorf("operand #{} has shape {}, which differs from {} outside axis {}", k,
                      shapeStr(x.shape()), shapeStr(first.shape()), axis);
    shape[axis] += x.shape()[axis];
  }
  Tensor out(TensorType(first.dtype(), shape));
  int64_t offset = 0; // where the current operand starts along axis
  for (const Tensor& x : xs) {
    for (int64_t i = 0; i < x.numElements(); ++i) {
      std::vector<int64_t> idx = unravel(i, x.shape());
      idx[axis] += offset;
      copyElement(out, ravel(idx, shape), x, i);
    }
    offset += x.shape()[axis];
  }
  return out;
}

StatusOr<Tensor> slice(const Tensor& x, const std::vector<int64_t>& start,
                       const std::vector<int64_t>& limit, const std::vector<int64_t>& strideIn) {
  size_t rank = static_cast<size_t>(x.rank());
  std::vector<int64_t> stride = strideIn.empty() ? std::vector<int64_t>(rank, 1) : strideIn;
  if (start.size() != rank || limit.size() != rank || stride.size() != rank)
    return errorf("'start', 'limit' and 'stride' need {} entries each (got {}, {}, {})", rank,
                  start.size(), limit.size(), stride.size());
  Shape shape(rank);
  for (size_t d = 0; d < rank; ++d) {
    if (stride[d] < 1) return errorf("stride {} of dim {} must be at least 1", stride[d], d);
    if (start[d] < 0 || start[d] > limit[d] || limit[d] > x.shape()[d])
      return errorf("slice [{}, {}) of dim {} is out of bounds for size {}", start[d], limit[d], d,
                    x.shape()[d]);
    shape[d] = (limit[d] - start[d] + stride[d] - 1) / stride[d];
  }
  Tensor out(TensorType(x.dtype(), shape));
  std::vector<int64_t> src(rank);
  for (int64_t i = 0; i < out.numElements(); ++i) {
    std::vector<int64_t> idx = unravel(i, shape);
    for (size_t d = 0; d < rank; ++d)
      src[d] = start[d] + idx[d] * stride[d];
    copyElement(out, i, x, ravel(src, x.shape()));
  }
  return out;
}

StatusOr<Tensor> iota(const TensorType& type, int64_t axis) {
  CAIRN_RETURN_IF_ERROR(checkStaticShape(type.shape, "result shape"));
  if (axis < 0 || axis >= type.rank())
    return errorf("axis {} is out of range for rank {}", axis, type.rank());
  Tensor out(type);
  // Element i's coordinate along the axis, without unraveling every index
  // (an exported model's Split makes its indices with an iota each step).
  int64_t inner = 1, n = type.shape[static_cast<size_t>(axis)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < type.shape.size(); ++d)
    inner *= type.shape[d];
  for (int64_t i = 0; i < out.numElements(); ++i)
    out.setInt(i, (i / inner) % n);
  return out;
}

StatusOr<Tensor> materializeConstant(const Tensor& literal, const TensorType& type) {
  if (!type.hasStaticShape()) return errorf("constant type {} is not static", type.toString());
  if (literal.type() == type) return literal;
  if (literal.numElements() == 1) {
    CAIRN_ASSIGN_OR_RETURN(Tensor one, cast(literal, type.dtype));
    CAIRN_ASSIGN_OR_RETURN(Tensor scalar, reshape(one, {}));
    return broadcast(scalar, {}, type.shape);
  }
  if (literal.shape() == type.shape) return cast(literal, type.dtype);
  return errorf("literal of type {} does not fit the result type {}", literal.type().toString(),
                type.toString());
}

} // namespace cairn::kernels
