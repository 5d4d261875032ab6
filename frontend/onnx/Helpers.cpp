// Shape helpers shared by the ONNX op converters: numpy broadcasting of
// several operands, sizes as static numbers or `dim` ops, and the reshapes
// that make a value's type more dynamic (loop-carried values whose shape
// changes between iterations).
#include <algorithm>

#include "frontend/onnx/OnnxInternal.h"

namespace cairn::onnx_import {

int64_t normalizeAxis(int64_t axis, int64_t rank, std::string_view what) {
  if (axis < -rank || axis >= rank)
    throw InvalidModel(fmt::format("{} {} is out of range for rank {}", what, axis, rank));
  return axis < 0 ? axis + rank : axis;
}

void checkHostTable(int64_t elements, std::string_view what) {
  if (elements < 0 || elements > (int64_t(1) << 26))
    throw Unsupported(
        fmt::format("{} would need a table of {} elements at import", what, elements));
}

void checkRank(int64_t rank, std::string_view what) {
  if (rank > kMaxRank)
    throw InvalidModel(fmt::format("{} has {} entries (more than {})", what, rank, kMaxRank));
}

IntOrVal sizeOf(const Val& x, int64_t d) {
  // Converters ask for the dims their op's inputs must have; a malformed
  // model may give fewer.
  if (d < 0 || d >= x.rank())
    throw InvalidModel(fmt::format("an input of type {} has no dim {}", x.type().toString(), d));
  if (x.shape()[d] != kDynamic) return x.shape()[d];
  return dim(x, d);
}

Sizes sizesOf(const Val& x) {
  Sizes s;
  for (int64_t d = 0; d < x.rank(); ++d)
    s.push_back(sizeOf(x, d));
  return s;
}

Sizes broadcastSizes(const ValueList& xs) {
  int64_t rank = 0;
  for (const Val& x : xs)
    rank = std::max(rank, x.rank());
  Sizes out;
  for (int64_t i = 0; i < rank; ++i) {
    int64_t size = 1;
    const Val* dynamicSource = nullptr;
    int64_t dynamicDim = 0;
    for (const Val& x : xs) {
      int64_t d = i - (rank - x.rank());
      if (d < 0) continue;
      int64_t s = x.shape()[d];
      if (s == kDynamic) {
        if (!dynamicSource) {
          dynamicSource = &x;
          dynamicDim = d;
        }
      } else if (s != 1) {
        if (size != 1 && size != s)
          throw InvalidModel(fmt::format("shapes do not broadcast (dim {}: {} vs {})", i, size, s));
        size = s;
      }
    }
    // A static size other than 1 decides a dim shared with a `?` (the `?`
    // must be that size or 1 at run time); else the `?` does.
    if (size != 1 || !dynamicSource)
      out.emplace_back(size);
    else
      out.emplace_back(dim(*dynamicSource, dynamicDim));
  }
  return out;
}

ValueList broadcastTogether(const ValueList& xs) {
  Sizes target = broadcastSizes(xs);
  ValueList out;
  for (const Val& x : xs) {
    bool same = x.rank() == static_cast<int64_t>(target.size());
    for (int64_t d = 0; same && d < x.rank(); ++d)
      same =
          target[d].isStatic() ? x.shape()[d] == target[d].staticValue() : x.shape()[d] == kDynamic;
    out.push_back(same ? x : broadcastTo(x, target));
  }
  return out;
}

Val elementAt(const Val& v, int64_t i) {
  if (v.rank() == 0) return v;
  return reshape(slice(v, {i}, {i + 1}), {});
}

Val toScalar(const Val& v, DType dtype) {
  Val s = v.rank() == 0 ? v : reshape(v, {});
  return cast(s, dtype);
}

Val generalizeTo(const Val& x, const TensorType& t) {
  if (x.type() == t) return x;
  if (x.dtype() != t.dtype || x.rank() != t.rank())
    throw InvalidModel(fmt::format("cannot use {} as {}", x.type().toString(), t.toString()));
  Sizes s;
  for (int64_t d = 0; d < t.rank(); ++d) {
    if (t.shape[d] != kDynamic)
      s.emplace_back(t.shape[d]);
    else
      s.emplace_back(dim(x, d));
  }
  return x.builder().create1(OpKind::Reshape,
                             [&] {
                               ValueList ops{x};
                               for (const IntOrVal& v : s)
                                 if (!v.isStatic()) ops.push_back(v.val());
                               return ops;
                             }(),
                             {}, {t});
}

std::optional<TensorType> joinTypes(const TensorType& a, const TensorType& b) {
  if (a.dtype != b.dtype || a.rank() != b.rank()) return std::nullopt;
  TensorType t = a;
  for (int64_t d = 0; d < a.rank(); ++d)
    if (a.shape[d] != b.shape[d]) t.shape[d] = kDynamic;
  return t;
}

IntOrVal productOf(FunctionBuilder& b, const Sizes& sizes) {
  int64_t known = 1;
  std::optional<Val> dyn;
  for (const IntOrVal& s : sizes) {
    if (s.isStatic()) {
      known *= s.staticValue();
      continue;
    }
    Val v = cast(s.val(), DType::I64);
    dyn = dyn ? *dyn * v : v;
  }
  if (!dyn) return known;
  return known == 1 ? *dyn : *dyn * static_cast<double>(known);
}

Val moveAxis(const Val& x, int64_t from, int64_t to) {
  if (from == to) return x;
  std::vector<int64_t> perm;
  for (int64_t d = 0; d < x.rank(); ++d)
    if (d != from) perm.push_back(d);
  perm.insert(perm.begin() + to, from);
  return transpose(x, perm);
}

Val reverseAxis(const Val& x, int64_t axis) {
  FunctionBuilder& b = x.builder();
  IntOrVal n = sizeOf(x, axis);
  if (n.isStatic()) {
    checkHostTable(n.staticValue(), "reversing a dim");
    Tensor idx(TensorType(DType::I64, {n.staticValue()}));
    for (int64_t i = 0; i < n.staticValue(); ++i)
      idx.setInt(i, n.staticValue() - 1 - i);
    return gather(x, b.constant(idx), axis);
  }
  Val ramp = b.iota(DType::I64, {n}, 0);
  return gather(x, (n.val() - 1.0) - ramp, axis);
}

} // namespace cairn::onnx_import
