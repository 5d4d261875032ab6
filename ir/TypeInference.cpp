// The type rules of every op family in ir/Ops.def.
//
// Each rule validates operand counts it cares about, attribute kinds and
// ranges, and returns the result types. Dims combine under "compatible"
// (equal, or one of them dynamic); a static dim wins over `?`.
#include "ir/TypeInference.h"

#include <algorithm>
#include <numeric>
#include <set>

namespace cairn {
namespace {

using Types = std::vector<TensorType>;

// ---- attribute access that reports instead of aborting ------------------------

StatusOr<int64_t> intAttr(const AttrMap& attrs, const std::string& name,
                          std::optional<int64_t> dflt = std::nullopt) {
  auto it = attrs.find(name);
  if (it == attrs.end()) {
    if (dflt) return *dflt;
    return errorf("requires integer attribute '{}'", name);
  }
  if (!std::holds_alternative<int64_t>(it->second))
    return errorf("attribute '{}' must be an integer", name);
  return std::get<int64_t>(it->second);
}

StatusOr<std::vector<int64_t>> intsAttr(const AttrMap& attrs, const std::string& name,
                                        std::optional<std::vector<int64_t>> dflt = std::nullopt) {
  auto it = attrs.find(name);
  if (it == attrs.end()) {
    if (dflt) return *dflt;
    return errorf("requires integer list attribute '{}'", name);
  }
  if (!std::holds_alternative<std::vector<int64_t>>(it->second))
    return errorf("attribute '{}' must be an integer list", name);
  return std::get<std::vector<int64_t>>(it->second);
}

Status noAttrsBut(const AttrMap& attrs, std::initializer_list<std::string_view> allowed) {
  for (auto& [name, _] : attrs)
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end())
      return errorf("has unknown attribute '{}'", name);
  return Status::ok();
}

Status axisInRange(int64_t axis, int64_t rank, std::string_view what) {
  if (axis < 0 || axis >= rank) return errorf("{} {} out of range for rank {}", what, axis, rank);
  return Status::ok();
}

// Distinct, sorted, in [0, rank).
Status checkDimList(const std::vector<int64_t>& dims, int64_t rank, std::string_view what) {
  for (size_t i = 0; i < dims.size(); ++i) {
    CAIRN_RETURN_IF_ERROR(axisInRange(dims[i], rank, what));
    if (i && dims[i] <= dims[i - 1]) return errorf("{} must be strictly increasing", what);
  }
  return Status::ok();
}

Status expectOperands(const Types& ops, size_t n) {
  if (ops.size() != n) return errorf("expects {} operands, got {}", n, ops.size());
  return Status::ok();
}

Status expectDeclared(const Types& declared, size_t n) {
  if (declared.size() != n) return errorf("expects {} result types, got {}", n, declared.size());
  return Status::ok();
}

bool isIndexScalar(const TensorType& t) { return t.isScalar() && isInteger(t.dtype); }

// Checks the trailing "dynamic size operands": one integer scalar per `?` in `result`.
Status checkDynamicSizeOperands(const Types& ops, size_t first, const TensorType& result) {
  size_t dynamic = static_cast<size_t>(std::count(result.shape.begin(), result.shape.end(), kDynamic));
  if (ops.size() != first + dynamic)
    return errorf("result type {} has {} dynamic dims and needs as many size operands, got {}",
                  result.toString(), dynamic, ops.size() - std::min(first, ops.size()));
  for (size_t i = first; i < ops.size(); ++i)
    if (!isIndexScalar(ops[i]))
      return errorf("size operand #{} must be an i32/i64 scalar, got {}", i, ops[i].toString());
  return Status::ok();
}

// Merges two compatible types (static dims win) or reports the mismatch.
StatusOr<TensorType> unify(const TensorType& a, const TensorType& b, std::string_view what) {
  if (!typesCompatible(a, b))
    return errorf("{} must have the same type, got {} and {}", what, a.toString(), b.toString());
  TensorType out = a;
  for (int64_t i = 0; i < a.rank(); ++i)
    if (out.shape[i] == kDynamic) out.shape[i] = b.shape[i];
  return out;
}

// ---- elementwise -----------------------------------------------------------------

enum class Allowed { Numeric, Float, Logical };

Status checkDType(DType d, Allowed allowed) {
  switch (allowed) {
  case Allowed::Numeric:
    if (isBool(d)) return errorf("does not accept i1 operands");
    break;
  case Allowed::Float:
    if (!isFloat(d)) return errorf("requires a float dtype, got {}", dtypeName(d));
    break;
  case Allowed::Logical:
    if (isFloat(d)) return errorf("requires an i1/i32/i64 dtype, got {}", dtypeName(d));
    break;
  }
  return Status::ok();
}

StatusOr<Types> unary(const Types& ops, const AttrMap& attrs, Allowed allowed) {
  CAIRN_RETURN_IF_ERROR(expectOperands(ops, 1));
  CAIRN_RETURN_IF_ERROR(noAttrsBut(attrs, {}));
  CAIRN_RETURN_IF_ERROR(checkDType(ops[0].dtype, allowed));
  return Types{ops[0]};
}

StatusOr<Types> binary(const Types& ops, const AttrMap& attrs, Allowed allowed, bool compare) {
  CAIRN_RETURN_IF_ERROR(expectOperands(ops, 2));
  CAIRN_RETURN_IF_ERROR(noAttrsBut(attrs, {}));
  CAIRN_ASSIGN_OR_RETURN(TensorType t, unify(ops[0], ops[1], "operands"));
  if (!compare) CAIRN_RETURN_IF_ERROR(checkDType(t.dtype, allowed));
  if (compare) t.dtype = DType::I1;
  return Types{t};
}

StatusOr<Types> select(const Types& ops, const AttrMap& attrs) {
  CAIRN_RETURN_IF_ERROR(expectOperands(ops, 3));
  CAIRN_RETURN_IF_ERROR(noAttrsBut(attrs, {}));
  if (ops[0].dtype != DType::I1)
    return errorf("predicate must be i1, got {}", ops[0].toString());
  CAIRN_ASSIGN_OR_RETURN(TensorType t, unify(ops[1], ops[2], "selected values"));
  if (!ops[0].isScalar()) {
    TensorType predShape(t.dtype, ops[0].shape);
    CAIRN_ASSIGN_OR_RETURN(t, unify(t, predShape, "predicate and values (in shape)"));
  }
  return Types{t};
}

StatusOr<Types> cast(const Types& ops, const AttrMap& attrs, const Types& declared) {
  CAIRN_RETURN_IF_ERROR(expectOperands(ops, 1));
  CAIRN_RETURN_IF_ERROR(noAttrsBut(attrs, {}));
  CAIRN_RETURN_IF_ERROR(expectDeclared(declared, 1));
  TensorType t(declared[0].dtype, ops[0].shape);
  return Types{t};
}

// ---- shape ops ---------------------------------------------------------------------

StatusOr<Types> broadcast(const Types& ops, const AttrMap& attrs, const Types& declared) {
  if (ops.empty()) return errorf("expects an operand");
  CAIRN_RETURN_IF_ERROR(noAttrsBut(attrs, {"dims"}));
  CAIRN_RETURN_IF_ERROR(expectDeclared(declared, 1));
  const TensorType& x = ops[0];
  const TensorType& r = declared[0];
  if (r.dtype != x.dtype) return errorf("result dtype must be {}", dtypeName(x.dtype));
  CAIRN_RETURN_IF_ERROR(checkDynamicSizeOperands(ops, 1, r));
  CAIRN_ASSIGN_OR_RETURN(auto dims, intsAttr(attrs, "dims"));
  if (static_cast<int64_t>(dims.size()) != x.rank())
    return errorf("'dims' has {} entries for an operand of rank {}", dims.size(), x.rank());
  CAIRN_RETURN_IF_ERROR(checkDimList(dims, r.rank(), "broadcast dim"));
  for (int64_t i = 0; i < x.rank(); ++i) {
    int64_t from = x.shape[i], to = r.shape[dims[i]];
    if (from != 1 && !dimsCompatible(from, to))
      return errorf("operand dim {} (size {}) cannot broadcast to result dim {} (size {})", i,
                    from, dims[i], to);
  }
  return Types{r};
}

StatusOr<Types> reshape(const Types& ops, const AttrMap& attrs, const Types& declared) {
  if (ops.empty()) return errorf("expects an operand");
  CAIRN_RETURN_IF_ERROR(noAttrsBut(attrs, {}));
  CAIRN_RETURN_IF_ERROR(expectDeclared(declared, 1));
  const TensorType& r = declared[0];
  if (r.dtype != ops[0].dtype) return errorf("result dtype must be {}", dtypeName(ops[0].dtype));
  CAIRN_RETURN_IF_ERROR(checkDynamicSizeOperands(ops, 1, r));
  if (ops[0].hasStaticShape() && r.hasStaticShape() && ops[0].numElements() != r.numElements())
    return errorf("cannot reshape {} ({} elements) to {} ({} elements)", ops[0].toString(),
                  ops[0].numElements(), r.toString(), r.numElements());
  return Types{r};
}

StatusOr<Types> transpose(const Types& ops, const AttrMap& attrs) {
  CAIRN_RETURN_IF_ERROR(expectOperands(ops, 1));
  CAIRN_RETURN_IF_ERROR(noAttrsBut(attrs, {"perm"}));
  CAIRN_ASSIGN_OR_RETURN(auto perm, intsAttr(attrs, "perm"));
  const TensorType& x = ops[0];
  std::vector<int64_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> iota(static_cast<size_t>(x.rank()));
  std::iota(iota.begin(), iota.end(), 0);
  if (sorted != iota) return errorf("'perm' must be a permutation of 0..{}", x.rank() - 1);
  TensorType r(x.dtype, {});
  for (int64_t p : perm) r.shape.push_back(x.shape[p]);
  return Types{r};
}

StatusOr<Types> concat(const Types& ops, const AttrMap& attrs) {
  if (ops.empty()) return errorf("expects at least one operand");
  CAIRN_RETURN_IF_ERROR(noAttrsBut(attrs, {"axis"}));
  CAIRN_ASSIGN_OR_RETURN(int64_t axis, intAttr(attrs, "axis"));
  TensorType r = ops[0];
  CAIRN_RETURN_IF_ERROR(axisInRange(axis, r.rank(), "axis"));
  for (size_t i = 1; i < ops.size(); ++i) {
    const TensorType& t = ops[i];
    if (t.dtype != r.dtype || t.rank() != r.rank())
      return errorf("operand #{} has type {}, incompatible with {}", i, t.toString(),
                    ops[0].toString());
    for (int64_t d = 0; d < r.rank(); ++d) {
      if (d == axis) {
        r.shape[d] = (r.shape[d] == kDynamic || t.shape[d] == kDynamic) ? kDynamic
                                                                        : r.shape[d] + t.shape[d];
      } else if (!dimsCompatible(r.shape[d], t.shape[d])) {
        return errorf("operand #{} has size {} in dim {}, expected {}", i, t.shape[d], d,
                      r.shape[d]);
      } else if (r.shape[d] == kDynamic) {
        r.shape[d] = t.shape[d];
      }
    }
  }
  return Types{r};
}

StatusOr<Types> slice(const Types& ops, const AttrMap& attrs) {
  CAIRN_RETURN_IF_ERROR(expectOperands(ops, 1));
  CAIRN_RETURN_IF_ERROR(noAttrsBut(attrs, {"start", "limit", "stride"}));
  const TensorType& x = ops[0];
  CAIRN_ASSIGN_OR_RETURN(auto start, intsAttr(attrs, "start"));
  CAIRN_ASSIGN_OR_RETURN(auto limit, intsAttr(attrs, "limit"));
  CAIRN_ASSIGN_OR_RETURN(auto stride,
                         intsAttr(attrs, "stride", std::vector<int64_t>(x.shape.size(), 1)));
  size_t rank = x.shape.size();
  if (start.size() != rank || limit.size() != rank || stride.size() != rank)
    return errorf("'start', 'limit' and 'stride' need {} entries each", rank);
  TensorType r(x.dtype, {});
  for (size_t d = 0; d < rank; ++d) {
    if (stride[d] < 1) return errorf("stride in dim {} must be positive", d);
    if (start[d] < 0 || limit[d] < start[d])
      return errorf("bad bounds [{}, {}) in dim {}", start[d], limit[d], d);
    if (x.shape[d] != kDynamic && limit[d] > x.shape[d])
      return errorf("limit {} exceeds size {} of dim {}", limit[d], x.shape[d], d);
    r.shape.push_back((limit[d] - start[d] + stride[d] - 1) / stride[d]);
  }
  return Types{r};
}

StatusOr<Types> dynamicSlice(const Types& ops, const AttrMap& attrs) {
  if (ops.empty()) return errorf("expects an operand");
  CAIRN_RETURN_IF_ERROR(noAttrsBut(attrs, {"sizes"}));
  const TensorType& x = ops[0];
  if (static_cast<int64_t>(ops.size()) != 1 + x.rank())
    return errorf("expects one start index per dim ({}), got {}", x.rank(), ops.size() - 1);
  for (size_t i = 1; i < ops.size(); ++i)
    if (!isIndexScalar(ops[i]))
      return errorf("start index #{} must be an i32/i64 scalar, got {}", i - 1, ops[i].toString());
  CAIRN_ASSIGN_OR_RETURN(auto sizes, intsAttr(attrs, "sizes"));
  if (static_cast<int64_t>(sizes.size()) != x.rank())
    return errorf("'sizes' needs {} entries", x.rank());
  for (int64_t d = 0; d < x.rank(); ++d)
    if (sizes[d] < 0 || (x.shape[d] != kDynamic && sizes[d] > x.shape[d]))
      return errorf("size {} invalid for dim {} of size {}", sizes[d], d, x.shape[d]);
  return Types{TensorType(x.dtype, sizes)};
}

StatusOr<Types> dynamicUpdateSlice(const Types& ops, const AttrMap& attrs) {
  if (ops.size() < 2) return errorf("expects an operand and an update");
  CAIRN_RETURN_IF_ERROR(noAttrsBut(attrs, {}));
  const TensorType& x = ops[0];
  const TensorType& u = ops[1];
  if (u.dtype != x.dtype || u.rank() != x.rank())
    return errorf("update {} must have the dtype and rank of {}", u.toString(), x.toString());
  if (static_cast<int64_t>(ops.size()) != 2 + x.rank())
    return errorf("expects one start index per dim ({}), got {}", x.rank(), ops.size() - 2);
  for (size_t i = 2; i < ops.size(); ++i)
    if (!isIndexScalar(ops[i]))
      return errorf("start index #{} must be an i32/i64 scalar, got {}", i - 2, ops[i].toString());
  for (int64_t d = 0; d < x.rank(); ++d)
    if (u.shape[d] != kDynamic && x.shape[d] != kDynamic && u.shape[d] > x.shape[d])
      return errorf("update size {} exceeds size {} of dim {}", u.shape[d], x.shape[d], d);
  return Types{x};
}

// The shape gather produces; scatter's updates must have it.
StatusOr<Shape> gatherShape(const TensorType& x, const TensorType& idx, const AttrMap& attrs) {
  CAIRN_ASSIGN_OR_RETURN(int64_t axis, intAttr(attrs, "axis"));
  CAIRN_ASSIGN_OR_RETURN(int64_t batch, intAttr(attrs, "batch_dims", 0));
  CAIRN_RETURN_IF_ERROR(axisInRange(axis, x.rank(), "axis"));
  if (!isInteger(idx.dtype)) return errorf("indices must be i32/i64, got {}", idx.toString());
  if (batch < 0 || batch > axis || batch > idx.rank())
    return errorf("batch_dims {} must be in [0, min(axis {}, index rank {})]", batch, axis,
                  idx.rank());
  for (int64_t d = 0; d < batch; ++d)
    if (!dimsCompatible(x.shape[d], idx.shape[d]))
      return errorf("batch dim {} differs: {} vs {}", d, x.shape[d], idx.shape[d]);
  Shape s(x.shape.begin(), x.shape.begin() + axis);
  s.insert(s.end(), idx.shape.begin() + batch, idx.shape.end());
  s.insert(s.end(), x.shape.begin() + axis + 1, x.shape.end());
  return s;
}

StatusOr<Types> gather(const Types& ops, const AttrMap& attrs) {
  CAIRN_RETURN_IF_ERROR(expectOperands(ops, 2));
  CAIRN_RETURN_IF_ERROR(noAttrsBut(attrs, {"axis", "batch_dims"}));
  CAIRN_ASSIGN_OR_RETURN(Shape s, gatherShape(ops[0], ops[1], attrs));
  return Types{TensorType(ops[0].dtype, s)};
}

StatusOr<Types> scatter(const Types& ops, const AttrMap& attrs) {
  CAIRN_RETURN_IF_ERROR(expectOperands(ops, 3));
  CAIRN_RETURN_IF_ERROR(noAttrsBut(attrs, {"axis", "batch_dims"}));
  CAIRN_ASSIGN_OR_RETURN(Shape s, gatherShape(ops[0], ops[1], attrs));
  CAIRN_RETURN_IF_ERROR(
      unify(TensorType(ops[0].dtype, s), ops[2], "updates and the gathered shape").status());
  return Types{ops[0]};
}

StatusOr<Types> iota(const Types& ops, const AttrMap& attrs, const Types& declared) {
  CAIRN_RETURN_IF_ERROR(noAttrsBut(attrs, {"axis"}));
  CAIRN_RETURN_IF_ERROR(expectDeclared(declared, 1));
  const TensorType& r = declared[0];
  CAIRN_RETURN_IF_ERROR(checkDynamicSizeOperands(ops, 0, r));
  CAIRN_ASSIGN_OR_RETURN(int64_t axis, intAttr(attrs, "axis"));
  CAIRN_RETURN_IF_ERROR(axisInRange(axis, r.rank(), "axis"));
  if (isBool(r.dtype)) return errorf("result dtype cannot be i1");
  return Types{r};
}

StatusOr<Types> reduce(const Types& ops, const AttrMap& attrs) {
  CAIRN_RETURN_IF_ERROR(expectOperands(ops, 1));
  CAIRN_RETURN_IF_ERROR(noAttrsBut(attrs, {"dims"}));
  CAIRN_RETURN_IF_ERROR(checkDType(ops[0].dtype, Allowed::Numeric));
  CAIRN_ASSIGN_OR_RETURN(auto dims, intsAttr(attrs, "dims"));
  CAIRN_RETURN_IF_ERROR(checkDimList(dims, ops[0].rank(), "reduced dim"));
  TensorType r(ops[0].dtype, {});
  for (int64_t d = 0; d < ops[0].rank(); ++d)
    if (std::find(dims.begin(), dims.end(), d) == dims.end()) r.shape.push_back(ops[0].shape[d]);
  return Types{r};
}

StatusOr<Types> argmax(const Types& ops, const AttrMap& attrs, const Types& declared) {
  CAIRN_RETURN_IF_ERROR(expectOperands(ops, 1));
  CAIRN_RETURN_IF_ERROR(noAttrsBut(attrs, {"axis"}));
  CAIRN_RETURN_IF_ERROR(expectDeclared(declared, 1));
  CAIRN_RETURN_IF_ERROR(checkDType(ops[0].dtype, Allowed::Numeric));
  CAIRN_ASSIGN_OR_RETURN(int64_t axis, intAttr(attrs, "axis"));
  CAIRN_RETURN_IF_ERROR(axisInRange(axis, ops[0].rank(), "axis"));
  if (!isInteger(declared[0].dtype)) return errorf("result dtype must be i32 or i64");
  TensorType r(declared[0].dtype, ops[0].shape);
  r.shape.erase(r.shape.begin() + axis);
  return Types{r};
}

StatusOr<Types> nonzero(const Types& ops, const AttrMap& attrs, const Types& declared) {
  CAIRN_RETURN_IF_ERROR(expectOperands(ops, 1));
  CAIRN_RETURN_IF_ERROR(noAttrsBut(attrs, {}));
  CAIRN_RETURN_IF_ERROR(expectDeclared(declared, 1));
  if (ops[0].rank() != 1) return errorf("operand must have rank 1, got {}", ops[0].toString());
  if (!isInteger(declared[0].dtype)) return errorf("result dtype must be i32 or i64");
  return Types{TensorType(declared[0].dtype, {kDynamic})};
}

StatusOr<Types> dot(const Types& ops, const AttrMap& attrs) {
  CAIRN_RETURN_IF_ERROR(expectOperands(ops, 2));
  CAIRN_RETURN_IF_ERROR(
      noAttrsBut(attrs, {"lhs_batch", "rhs_batch", "lhs_contract", "rhs_contract"}));
  const TensorType& a = ops[0];
  const TensorType& b = ops[1];
  if (a.dtype != b.dtype)
    return errorf("operands must share a dtype, got {} and {}", a.toString(), b.toString());
  CAIRN_RETURN_IF_ERROR(checkDType(a.dtype, Allowed::Numeric));
  if (a.rank() == 0 || b.rank() == 0) return errorf("operands must have rank >= 1");
  CAIRN_ASSIGN_OR_RETURN(auto lb, intsAttr(attrs, "lhs_batch", std::vector<int64_t>{}));
  CAIRN_ASSIGN_OR_RETURN(auto rb, intsAttr(attrs, "rhs_batch", std::vector<int64_t>{}));
  CAIRN_ASSIGN_OR_RETURN(auto lc, intsAttr(attrs, "lhs_contract", std::vector<int64_t>{a.rank() - 1}));
  CAIRN_ASSIGN_OR_RETURN(auto rc, intsAttr(attrs, "rhs_contract", std::vector<int64_t>{0}));
  if (lb.size() != rb.size()) return errorf("lhs_batch and rhs_batch differ in length");
  if (lc.size() != rc.size()) return errorf("lhs_contract and rhs_contract differ in length");
  auto checkSide = [](const TensorType& t, const std::vector<int64_t>& batch,
                      const std::vector<int64_t>& contract, std::string_view side) -> Status {
    std::set<int64_t> seen;
    for (int64_t d : batch) {
      CAIRN_RETURN_IF_ERROR(axisInRange(d, t.rank(), fmt::format("{} batch dim", side)));
      if (!seen.insert(d).second) return errorf("{} dim {} listed twice", side, d);
    }
    for (int64_t d : contract) {
      CAIRN_RETURN_IF_ERROR(axisInRange(d, t.rank(), fmt::format("{} contracting dim", side)));
      if (!seen.insert(d).second) return errorf("{} dim {} listed twice", side, d);
    }
    return Status::ok();
  };
  CAIRN_RETURN_IF_ERROR(checkSide(a, lb, lc, "lhs"));
  CAIRN_RETURN_IF_ERROR(checkSide(b, rb, rc, "rhs"));
  TensorType r(a.dtype, {});
  for (size_t i = 0; i < lb.size(); ++i) {
    if (!dimsCompatible(a.shape[lb[i]], b.shape[rb[i]]))
      return errorf("batch dims differ: {} vs {}", a.shape[lb[i]], b.shape[rb[i]]);
    r.shape.push_back(a.shape[lb[i]] != kDynamic ? a.shape[lb[i]] : b.shape[rb[i]]);
  }
  for (size_t i = 0; i < lc.size(); ++i)
    if (!dimsCompatible(a.shape[lc[i]], b.shape[rc[i]]))
      return errorf("contracting dims differ: lhs dim {} is {}, rhs dim {} is {}", lc[i],
                    a.shape[lc[i]], rc[i], b.shape[rc[i]]);
  auto appendFree = [&](const TensorType& t, const std::vector<int64_t>& batch,
                        const std::vector<int64_t>& contract) {
    for (int64_t d = 0; d < t.rank(); ++d)
      if (std::find(batch.begin(), batch.end(), d) == batch.end() &&
          std::find(contract.begin(), contract.end(), d) == contract.end())
        r.shape.push_back(t.shape[d]);
  };
  appendFree(a, lb, lc);
  appendFree(b, rb, rc);
  return Types{r};
}

// ---- values from nothing, rng, calls, control flow ----------------------------------

StatusOr<Types> constant(const Types& ops, const AttrMap& attrs, const Types& declared) {
  CAIRN_RETURN_IF_ERROR(expectOperands(ops, 0));
  CAIRN_RETURN_IF_ERROR(noAttrsBut(attrs, {"value"}));
  auto it = attrs.find("value");
  if (it == attrs.end() || !std::holds_alternative<Tensor>(it->second))
    return errorf("requires a tensor 'value'");
  const TensorType& t = std::get<Tensor>(it->second).type();
  if (!declared.empty() && !(declared.size() == 1 && declared[0] == t))
    return errorf("value of type {} does not match the declared type", t.toString());
  return Types{t};
}

StatusOr<Types> dim(const Types& ops, const AttrMap& attrs, const Types& declared) {
  CAIRN_RETURN_IF_ERROR(expectOperands(ops, 1));
  CAIRN_RETURN_IF_ERROR(noAttrsBut(attrs, {"axis"}));
  CAIRN_RETURN_IF_ERROR(expectDeclared(declared, 1));
  CAIRN_ASSIGN_OR_RETURN(int64_t axis, intAttr(attrs, "axis"));
  CAIRN_RETURN_IF_ERROR(axisInRange(axis, ops[0].rank(), "axis"));
  if (!isIndexScalar(declared[0])) return errorf("result must be an i32/i64 scalar");
  return Types{declared[0]};
}

Status checkRngState(const TensorType& s) {
  if (s != TensorType(DType::I64, {2}))
    return errorf("generator state must be tensor<2xi64>, got {}", s.toString());
  return Status::ok();
}

StatusOr<Types> rngUniform(const Types& ops, const AttrMap& attrs, const Types& declared) {
  if (ops.empty()) return errorf("expects a generator state operand");
  CAIRN_RETURN_IF_ERROR(noAttrsBut(attrs, {}));
  CAIRN_RETURN_IF_ERROR(checkRngState(ops[0]));
  CAIRN_RETURN_IF_ERROR(expectDeclared(declared, 2));
  CAIRN_RETURN_IF_ERROR(checkRngState(declared[0]));
  if (!isFloat(declared[1].dtype)) return errorf("values must have a float dtype");
  CAIRN_RETURN_IF_ERROR(checkDynamicSizeOperands(ops, 1, declared[1]));
  return declared;
}

StatusOr<Types> rngCategorical(const Types& ops, const AttrMap& attrs, const Types& declared) {
  CAIRN_RETURN_IF_ERROR(expectOperands(ops, 2));
  CAIRN_RETURN_IF_ERROR(noAttrsBut(attrs, {}));
  CAIRN_RETURN_IF_ERROR(checkRngState(ops[0]));
  CAIRN_RETURN_IF_ERROR(expectDeclared(declared, 2));
  const TensorType& logits = ops[1];
  if (!isFloat(logits.dtype) || logits.rank() < 1)
    return errorf("logits must be a float tensor of rank >= 1, got {}", logits.toString());
  if (!isInteger(declared[1].dtype)) return errorf("samples must be i32 or i64");
  Shape rows(logits.shape.begin(), logits.shape.end() - 1);
  return Types{TensorType(DType::I64, {2}), TensorType(declared[1].dtype, rows)};
}

StatusOr<Types> identity(const Types& ops, const AttrMap& attrs) {
  CAIRN_RETURN_IF_ERROR(expectOperands(ops, 1));
  CAIRN_RETURN_IF_ERROR(noAttrsBut(attrs, {}));
  return Types{ops[0]};
}

StatusOr<Types> call(const AttrMap& attrs, const Types& declared) {
  CAIRN_RETURN_IF_ERROR(noAttrsBut(attrs, {"callee"}));
  auto it = attrs.find("callee");
  if (it == attrs.end() || !std::holds_alternative<SymbolRef>(it->second))
    return errorf("requires a symbol attribute 'callee'");
  return declared;
}

// The region's signature and contents are the verifier's; here only `kind`.
StatusOr<Types> fusion(const AttrMap& attrs, const Types& declared) {
  CAIRN_RETURN_IF_ERROR(noAttrsBut(attrs, {"kind"}));
  auto it = attrs.find("kind");
  if (it == attrs.end() || !std::holds_alternative<std::string>(it->second))
    return errorf("requires a string attribute 'kind'");
  return declared;
}

StatusOr<Types> whileLoop(const Types& ops, const AttrMap& attrs, const Types& declared) {
  CAIRN_RETURN_IF_ERROR(noAttrsBut(attrs, {}));
  // Carried values are the declared results; an extra trailing operand is max_trip.
  if (ops.size() != declared.size() && ops.size() != declared.size() + 1)
    return errorf("has {} operands for {} carried values", ops.size(), declared.size());
  for (size_t i = 0; i < declared.size(); ++i)
    if (!typesCompatible(ops[i], declared[i]))
      return errorf("initial value #{} has type {} but the loop carries {}", i, ops[i].toString(),
                    declared[i].toString());
  if (ops.size() == declared.size() + 1 && !isIndexScalar(ops.back()))
    return errorf("max_trip must be an i32/i64 scalar, got {}", ops.back().toString());
  return declared;
}

StatusOr<Types> ifElse(const Types& ops, const AttrMap& attrs, const Types& declared) {
  CAIRN_RETURN_IF_ERROR(expectOperands(ops, 1));
  CAIRN_RETURN_IF_ERROR(noAttrsBut(attrs, {}));
  if (ops[0] != TensorType(DType::I1))
    return errorf("predicate must be tensor<i1>, got {}", ops[0].toString());
  return declared;
}

// ---- recurrent layers ------------------------------------------------------------

/// Merges two sizes of one dim (x's B and h0's B, ...): equal, or one `?`.
StatusOr<int64_t> sameDim(int64_t a, int64_t b, std::string_view what) {
  if (a != kDynamic && b != kDynamic && a != b)
    return errorf("{} disagree: {} vs {}", what, a, b);
  return a == kDynamic ? b : a;
}

/// Checks `t` is a rank-`shape.size()` tensor of `dtype` whose static dims
/// equal `shape`'s (a `?` on either side is compatible), naming the operand.
Status expectRnnOperand(const TensorType& t, std::string_view name, DType dtype,
                        const Shape& shape, std::string_view layout) {
  auto wrong = [&] {
    return errorf("operand '{}' must be {} ({}), got {}", name, TensorType(dtype, shape).toString(),
                  layout, t.toString());
  };
  if (t.dtype != dtype || t.rank() != static_cast<int64_t>(shape.size())) return wrong();
  for (size_t d = 0; d < shape.size(); ++d)
    if (shape[d] != kDynamic && t.shape[d] != kDynamic && t.shape[d] != shape[d]) return wrong();
  return Status::ok();
}

/// What the `rnn` and `rnn_grad` rules learn from the layer's operands.
struct RnnLayer {
  bool lstm = false;
  DType dtype = DType::F32;
  int64_t T = 0, B = 0, I = 0, H = 0;
  size_t w = 0; ///< index of w_ih (3 for gru, 4 for lstm)
};

/// The checks shared by `rnn` and `rnn_grad` (ir/Ops.def): the attributes,
/// and the layer's operands x, lengths, h0, [c0,] w_ih, w_hh, b_ih, b_hh in
/// that order; with `adjoints` (rnn_grad), followed by d_ys, d_hn [, d_cn],
/// which the caller checks. I and H must be static (the weights' shapes), T
/// and B may be dynamic.
StatusOr<RnnLayer> rnnLayer(const Types& ops, const AttrMap& attrs, bool adjoints) {
  CAIRN_RETURN_IF_ERROR(noAttrsBut(attrs, {"cell", "reverse"}));
  auto cellIt = attrs.find("cell");
  if (cellIt == attrs.end() || !std::holds_alternative<std::string>(cellIt->second))
    return errorf("requires a string attribute 'cell' (\"lstm\" or \"gru\")");
  const std::string& cell = std::get<std::string>(cellIt->second);
  if (cell != "lstm" && cell != "gru")
    return errorf("attribute 'cell' must be \"lstm\" or \"gru\", got \"{}\"", cell);
  CAIRN_ASSIGN_OR_RETURN(int64_t reverse, intAttr(attrs, "reverse", 0));
  if (reverse != 0 && reverse != 1)
    return errorf("attribute 'reverse' must be 0 or 1, got {}", reverse);
  RnnLayer L;
  const bool lstm = L.lstm = cell == "lstm";
  const size_t want = (lstm ? 8 : 7) + (adjoints ? (lstm ? 3 : 2) : 0);
  if (ops.size() != want)
    return errorf("with cell = \"{}\" expects {} operands ({}{}), got {}", cell, want,
                  lstm ? "x, lengths, h0, c0, w_ih, w_hh, b_ih, b_hh"
                       : "x, lengths, h0, w_ih, w_hh, b_ih, b_hh",
                  !adjoints ? "" : lstm ? ", d_ys, d_hn, d_cn" : ", d_ys, d_hn", ops.size());
  const TensorType& x = ops[0];
  if (!(x.dtype == DType::F32 || x.dtype == DType::F64) || x.rank() != 3)
    return errorf("operand 'x' must be an f32 or f64 tensor [T, B, I], got {}", x.toString());
  const int64_t T = x.shape[0], I = x.shape[2];
  if (I == kDynamic) return errorf("operand 'x' needs a static input size I, got {}", x.toString());
  const TensorType& lengths = ops[1];
  if (!isInteger(lengths.dtype) || lengths.rank() != 1)
    return errorf("operand 'lengths' must be an i32/i64 tensor [B], got {}", lengths.toString());
  CAIRN_ASSIGN_OR_RETURN(int64_t B, sameDim(x.shape[1], lengths.shape[0],
                                            "batch sizes of 'x' (dim 1) and 'lengths'"));
  const TensorType& h0 = ops[2];
  if (h0.rank() != 2 || h0.shape[1] == kDynamic)
    return errorf("operand 'h0' must be a tensor [B, H] with a static H, got {}", h0.toString());
  const int64_t H = h0.shape[1], G = lstm ? 4 : 3;
  CAIRN_RETURN_IF_ERROR(expectRnnOperand(h0, "h0", x.dtype, {B, H}, "[B, H]"));
  CAIRN_ASSIGN_OR_RETURN(B, sameDim(B, h0.shape[0], "batch sizes of 'x' and 'h0'"));
  size_t w = 3;
  if (lstm) {
    CAIRN_RETURN_IF_ERROR(expectRnnOperand(ops[3], "c0", x.dtype, {B, H}, "[B, H]"));
    CAIRN_ASSIGN_OR_RETURN(B, sameDim(B, ops[3].shape[0], "batch sizes of 'x' and 'c0'"));
    w = 4;
  }
  const char* gates = lstm ? "[4H, I], gates i, f, g, o" : "[3H, I], gates r, z, n";
  CAIRN_RETURN_IF_ERROR(expectRnnOperand(ops[w], "w_ih", x.dtype, {G * H, I}, gates));
  CAIRN_RETURN_IF_ERROR(expectRnnOperand(ops[w + 1], "w_hh", x.dtype, {G * H, H},
                                         lstm ? "[4H, H]" : "[3H, H]"));
  CAIRN_RETURN_IF_ERROR(expectRnnOperand(ops[w + 2], "b_ih", x.dtype, {G * H},
                                         lstm ? "[4H]" : "[3H]"));
  CAIRN_RETURN_IF_ERROR(expectRnnOperand(ops[w + 3], "b_hh", x.dtype, {G * H},
                                         lstm ? "[4H]" : "[3H]"));
  for (size_t k = w; k < w + 4; ++k)
    if (!ops[k].hasStaticShape())
      return errorf("weights and biases need static shapes, got {}", ops[k].toString());
  L.dtype = x.dtype;
  L.T = T;
  L.B = B;
  L.I = I;
  L.H = H;
  L.w = w;
  return L;
}

// rnn: one direction of an LSTM/GRU layer (ir/Ops.def).
StatusOr<Types> rnn(const Types& ops, const AttrMap& attrs) {
  CAIRN_ASSIGN_OR_RETURN(RnnLayer L, rnnLayer(ops, attrs, false));
  Types out{TensorType(L.dtype, {L.T, L.B, L.H}), TensorType(L.dtype, {L.B, L.H})};
  if (L.lstm) out.push_back(TensorType(L.dtype, {L.B, L.H}));
  return out;
}

// rnn_grad: the layer's operands as `rnn`, then the adjoints d_ys [T, B, H],
// d_hn [B, H] and, for lstm, d_cn [B, H]; results are the adjoints of x, h0,
// [c0,] and the weights and biases, each of its operand's type (ir/Ops.def).
StatusOr<Types> rnnGrad(const Types& ops, const AttrMap& attrs) {
  CAIRN_ASSIGN_OR_RETURN(RnnLayer L, rnnLayer(ops, attrs, true));
  const size_t d = L.w + 4;
  CAIRN_RETURN_IF_ERROR(expectRnnOperand(ops[d], "d_ys", L.dtype, {L.T, L.B, L.H}, "[T, B, H]"));
  CAIRN_ASSIGN_OR_RETURN(int64_t T, sameDim(L.T, ops[d].shape[0], "sequence lengths of 'x' and 'd_ys'"));
  CAIRN_ASSIGN_OR_RETURN(int64_t B, sameDim(L.B, ops[d].shape[1], "batch sizes of 'x' and 'd_ys'"));
  CAIRN_RETURN_IF_ERROR(expectRnnOperand(ops[d + 1], "d_hn", L.dtype, {B, L.H}, "[B, H]"));
  CAIRN_ASSIGN_OR_RETURN(B, sameDim(B, ops[d + 1].shape[0], "batch sizes of 'x' and 'd_hn'"));
  if (L.lstm) {
    CAIRN_RETURN_IF_ERROR(expectRnnOperand(ops[d + 2], "d_cn", L.dtype, {B, L.H}, "[B, H]"));
    CAIRN_ASSIGN_OR_RETURN(B, sameDim(B, ops[d + 2].shape[0], "batch sizes of 'x' and 'd_cn'"));
  }
  // dx, dh0 [, dc0] take the merged T and B (an operand's `?` may be static elsewhere).
  Types out{TensorType(L.dtype, {T, B, L.I}), TensorType(L.dtype, {B, L.H})};
  if (L.lstm) out.push_back(TensorType(L.dtype, {B, L.H}));
  for (size_t k = L.w; k < L.w + 4; ++k)
    out.push_back(ops[k]);
  return out;
}

} // namespace

StatusOr<std::vector<TensorType>> inferResultTypes(OpKind kind, const std::vector<TensorType>& ops,
                                                   const AttrMap& attrs,
                                                   const std::vector<TensorType>& declared) {
  switch (opInfo(kind).family) {
  case OpFamily::UnaryNumeric: return unary(ops, attrs, Allowed::Numeric);
  case OpFamily::UnaryFloat: return unary(ops, attrs, Allowed::Float);
  case OpFamily::UnaryLogical: return unary(ops, attrs, Allowed::Logical);
  case OpFamily::BinaryNumeric: return binary(ops, attrs, Allowed::Numeric, false);
  case OpFamily::BinaryFloat: return binary(ops, attrs, Allowed::Float, false);
  case OpFamily::BinaryLogical: return binary(ops, attrs, Allowed::Logical, false);
  case OpFamily::Compare: return binary(ops, attrs, Allowed::Numeric, true);
  case OpFamily::Select: return select(ops, attrs);
  case OpFamily::Cast: return cast(ops, attrs, declared);
  case OpFamily::Broadcast: return broadcast(ops, attrs, declared);
  case OpFamily::Reshape: return reshape(ops, attrs, declared);
  case OpFamily::Transpose: return transpose(ops, attrs);
  case OpFamily::Concat: return concat(ops, attrs);
  case OpFamily::Slice: return slice(ops, attrs);
  case OpFamily::DynamicSlice: return dynamicSlice(ops, attrs);
  case OpFamily::DynamicUpdateSlice: return dynamicUpdateSlice(ops, attrs);
  case OpFamily::Gather: return gather(ops, attrs);
  case OpFamily::Scatter: return scatter(ops, attrs);
  case OpFamily::Iota: return iota(ops, attrs, declared);
  case OpFamily::Reduce: return reduce(ops, attrs);
  case OpFamily::Argmax: return argmax(ops, attrs, declared);
  case OpFamily::Nonzero: return nonzero(ops, attrs, declared);
  case OpFamily::Dot: return dot(ops, attrs);
  case OpFamily::Constant: return constant(ops, attrs, declared);
  case OpFamily::Dim: return dim(ops, attrs, declared);
  case OpFamily::RngUniform: return rngUniform(ops, attrs, declared);
  case OpFamily::RngCategorical: return rngCategorical(ops, attrs, declared);
  case OpFamily::Identity: return identity(ops, attrs);
  case OpFamily::Call: return call(attrs, declared);
  case OpFamily::Fusion: return fusion(attrs, declared);
  case OpFamily::While: return whileLoop(ops, attrs, declared);
  case OpFamily::If: return ifElse(ops, attrs, declared);
  case OpFamily::Return:
  case OpFamily::Yield: return Types{};
  case OpFamily::Rnn: return rnn(ops, attrs);
  case OpFamily::RnnGrad: return rnnGrad(ops, attrs);
  }
  return errorf("has no type rule");
}

} // namespace cairn
