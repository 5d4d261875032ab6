// Evaluation of region-free ops for the reference interpreter: one case per
// op family, reading attributes and dynamic size operands and calling the
// reference kernel. Semantics live in the kernels; this file only decodes the
// op (see ir/Ops.def for the operand layouts).
#include "runtime/reference/OpEval.h"

#include "ir/Diagnostic.h"
#include "kernels/reference/Kernels.h"
#include "runtime/RunLimits.h"

namespace cairn::interp {

using namespace cairn::kernels;

std::string typeMismatch(const TensorType& declared, const TensorType& actual) {
  if (declared.dtype != actual.dtype || declared.rank() != actual.rank())
    return fmt::format("expected {}, got {}", declared.toString(), actual.toString());
  for (int64_t d = 0; d < declared.rank(); ++d)
    if (declared.shape[d] != kDynamic && declared.shape[d] != actual.shape[d])
      return fmt::format("expected {}, got {} (dim {} differs)", declared.toString(),
                         actual.toString(), d);
  return "";
}

Status maxTripExceeded(const Op& op, int64_t maxTrip, bool fromOperand, std::string_view runner) {
  return opError(op, fmt::format("while loop exceeded its max trip count {}{}", maxTrip,
                                 fromOperand ? ""
                                             : fmt::format(" (the {}'s defaultMaxTrip; the loop "
                                                           "has no max_trip operand)",
                                                           runner)));
}

StatusOr<Shape> resolveDynamicShape(const TensorType& declared,
                                    const std::vector<const Tensor*>& operands, size_t first,
                                    int64_t maxBytes) {
  size_t numDynamic = 0;
  for (int64_t d : declared.shape)
    numDynamic += d == kDynamic;
  size_t given = operands.size() > first ? operands.size() - first : 0;
  if (given != numDynamic)
    return errorf("result type {} has {} dynamic dim(s) but {} dynamic size operand(s) follow",
                  declared.toString(), numDynamic, given);
  Shape shape = declared.shape;
  size_t next = first;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] != kDynamic) continue;
    const Tensor& size = *operands[next];
    if (size.rank() != 0 || !isInteger(size.dtype()))
      return errorf("dynamic size operand #{} must be an i32/i64 scalar, got {}", next,
                    size.type().toString());
    shape[d] = size.getInt(0);
    if (shape[d] < 0)
      return errorf("dynamic size operand #{} (for result dim {}) is {}; sizes must be >= 0", next,
                    d, shape[d]);
    ++next;
  }
  // Sizes read from data: the product may overflow int64 or pass the cap
  // (unchecked, 2^62 * 16 wrapped to a small allocation and a heap overflow).
  if (numDynamic) CAIRN_RETURN_IF_ERROR(checkRunTimeSize(shape, declared.dtype, maxBytes).status());
  return shape;
}

bool isLstmRnn(const Op& op) {
  auto it = op.attrs.find("cell");
  return it != op.attrs.end() && std::get_if<std::string>(&it->second) &&
         std::get<std::string>(it->second) == "lstm";
}

StatusOr<std::vector<int64_t>> readIndices(const std::vector<const Tensor*>& operands,
                                                  size_t first, size_t count) {
  if (operands.size() < first + count)
    return errorf("needs {} index operands after operand #{}, got {}", count, first - 1,
                  operands.size() > first ? operands.size() - first : 0);
  std::vector<int64_t> out;
  for (size_t i = first; i < first + count; ++i) {
    const Tensor& t = *operands[i];
    if (t.rank() != 0 || !isInteger(t.dtype()))
      return errorf("index operand #{} must be an i32/i64 scalar, got {}", i, t.type().toString());
    out.push_back(t.getInt(0));
  }
  return out;
}

/// A required integer-list attribute (an error rather than an abort when the
/// op did not pass the verifier).
static StatusOr<std::vector<int64_t>> intsAttr(const Op& op, const char* name) {
  auto it = op.attrs.find(name);
  if (it == op.attrs.end()) return errorf("requires a '{}' attribute", name);
  if (auto* v = std::get_if<std::vector<int64_t>>(&it->second)) return *v;
  return errorf("attribute '{}' must be an integer list", name);
}

static StatusOr<std::vector<Tensor>> one(StatusOr<Tensor> t) {
  if (!t.isOk()) return t.status();
  std::vector<Tensor> out;
  out.push_back(std::move(t).value());
  return out;
}

static StatusOr<std::vector<Tensor>> evalDynamicSlice(const Op& op,
                                                      const std::vector<const Tensor*>& in) {
  const Tensor& x = *in[0];
  size_t rank = static_cast<size_t>(x.rank());
  CAIRN_ASSIGN_OR_RETURN(auto starts, readIndices(in, 1, rank));
  CAIRN_ASSIGN_OR_RETURN(Shape sizes, resolveDynamicShape(op.result()->type, in, 1 + rank));
  // `sizes` (when present) must agree with the result type's static dims.
  std::vector<int64_t> attr = op.getIntsOr("sizes", sizes);
  if (attr.size() != sizes.size())
    return errorf("'sizes' has {} entries but the result has rank {}", attr.size(), sizes.size());
  for (size_t d = 0; d < sizes.size(); ++d)
    if (attr[d] != kDynamic && attr[d] != sizes[d])
      return errorf("'sizes' entry {} is {} but the result dim is {}", d, attr[d], sizes[d]);
  return one(dynamicSlice(x, starts, sizes));
}

static StatusOr<std::vector<Tensor>> evalRandom(const Op& op,
                                                const std::vector<const Tensor*>& in,
                                                int64_t maxBytes) {
  RngResult r;
  if (op.kind() == OpKind::RngUniform) {
    CAIRN_ASSIGN_OR_RETURN(Shape shape, resolveDynamicShape(op.result(1)->type, in, 1, maxBytes));
    CAIRN_ASSIGN_OR_RETURN(r, rngUniform(*in[0], TensorType(op.result(1)->type.dtype, shape)));
  } else {
    CAIRN_ASSIGN_OR_RETURN(r, rngCategorical(*in[0], *in[1], op.result(1)->type.dtype));
  }
  std::vector<Tensor> out;
  out.push_back(std::move(r.state));
  out.push_back(std::move(r.values));
  return out;
}

StatusOr<std::vector<Tensor>> evalSimpleOp(const Op& op, const std::vector<const Tensor*>& in,
                                           int64_t maxBytes) {
  const TensorType& resultType = op.result(0)->type;
  auto need = [&](size_t n) -> Status {
    if (in.size() < n) return errorf("needs at least {} operands, got {}", n, in.size());
    return Status::ok();
  };
  switch (op.info().family) {
  case OpFamily::UnaryNumeric:
  case OpFamily::UnaryFloat:
  case OpFamily::UnaryLogical:
    CAIRN_RETURN_IF_ERROR(need(1));
    return one(unary(op.kind(), *in[0]));
  case OpFamily::BinaryNumeric:
  case OpFamily::BinaryFloat:
  case OpFamily::BinaryLogical:
    CAIRN_RETURN_IF_ERROR(need(2));
    return one(binary(op.kind(), *in[0], *in[1]));
  case OpFamily::Compare:
    CAIRN_RETURN_IF_ERROR(need(2));
    return one(compare(op.kind(), *in[0], *in[1]));
  case OpFamily::Select:
    CAIRN_RETURN_IF_ERROR(need(3));
    return one(select(*in[0], *in[1], *in[2]));
  case OpFamily::Cast:
    CAIRN_RETURN_IF_ERROR(need(1));
    return one(cast(*in[0], resultType.dtype));
  case OpFamily::Broadcast: {
    CAIRN_RETURN_IF_ERROR(need(1));
    CAIRN_ASSIGN_OR_RETURN(Shape shape, resolveDynamicShape(resultType, in, 1, maxBytes));
    // Without `dims`, align trailing dims as numpy does.
    std::vector<int64_t> dflt;
    for (int64_t i = 0; i < in[0]->rank(); ++i)
      dflt.push_back(static_cast<int64_t>(shape.size()) - in[0]->rank() + i);
    return one(broadcast(*in[0], op.getIntsOr("dims", dflt), shape));
  }
  case OpFamily::Reshape: {
    CAIRN_RETURN_IF_ERROR(need(1));
    CAIRN_ASSIGN_OR_RETURN(Shape shape, resolveDynamicShape(resultType, in, 1, maxBytes));
    return one(reshape(*in[0], shape));
  }
  case OpFamily::Transpose: {
    CAIRN_RETURN_IF_ERROR(need(1));
    CAIRN_ASSIGN_OR_RETURN(auto perm, intsAttr(op, "perm"));
    return one(transpose(*in[0], perm));
  }
  case OpFamily::Concat: {
    std::vector<Tensor> xs;
    for (const Tensor* t : in)
      xs.push_back(*t);
    return one(concat(xs, op.getIntOr("axis", 0)));
  }
  case OpFamily::Slice: {
    CAIRN_RETURN_IF_ERROR(need(1));
    CAIRN_ASSIGN_OR_RETURN(auto start, intsAttr(op, "start"));
    CAIRN_ASSIGN_OR_RETURN(auto limit, intsAttr(op, "limit"));
    return one(slice(*in[0], start, limit, op.getIntsOr("stride", {})));
  }
  case OpFamily::DynamicSlice:
    CAIRN_RETURN_IF_ERROR(need(1));
    return evalDynamicSlice(op, in);
  case OpFamily::DynamicUpdateSlice: {
    CAIRN_RETURN_IF_ERROR(need(2));
    size_t rank = static_cast<size_t>(in[0]->rank());
    if (in.size() != 2 + rank)
      return errorf("needs {} start indices (one per dim), got {}", rank, in.size() - 2);
    CAIRN_ASSIGN_OR_RETURN(auto starts, readIndices(in, 2, rank));
    return one(dynamicUpdateSlice(*in[0], *in[1], starts));
  }
  case OpFamily::Gather:
    CAIRN_RETURN_IF_ERROR(need(2));
    return one(gather(*in[0], *in[1], op.getIntOr("axis", 0), op.getIntOr("batch_dims", 0)));
  case OpFamily::Scatter:
    CAIRN_RETURN_IF_ERROR(need(3));
    return one(scatter(*in[0], *in[1], *in[2], op.getIntOr("axis", 0), op.getIntOr("batch_dims", 0),
                       op.kind() == OpKind::ScatterAdd));
  case OpFamily::Iota: {
    CAIRN_ASSIGN_OR_RETURN(Shape shape, resolveDynamicShape(resultType, in, 0, maxBytes));
    return one(iota(TensorType(resultType.dtype, shape), op.getIntOr("axis", 0)));
  }
  case OpFamily::Reduce: {
    CAIRN_RETURN_IF_ERROR(need(1));
    CAIRN_ASSIGN_OR_RETURN(auto dims, intsAttr(op, "dims"));
    return one(reduce(op.kind(), *in[0], dims));
  }
  case OpFamily::Nonzero:
    CAIRN_RETURN_IF_ERROR(need(1));
    return one(nonzero(*in[0], resultType.dtype));
  case OpFamily::Argmax:
    CAIRN_RETURN_IF_ERROR(need(1));
    return one(argmax(*in[0], op.getIntOr("axis", 0), resultType.dtype));
  case OpFamily::Dot:
    CAIRN_RETURN_IF_ERROR(need(2));
    return one(dot(*in[0], *in[1], DotDims::fromAttrs(op.attrs, in[0]->rank())));
  case OpFamily::Constant: {
    auto it = op.attrs.find("value");
    if (it == op.attrs.end() || !std::holds_alternative<Tensor>(it->second))
      return errorf("requires a tensor 'value' attribute");
    return one(materializeConstant(std::get<Tensor>(it->second), resultType));
  }
  case OpFamily::Dim: {
    CAIRN_RETURN_IF_ERROR(need(1));
    int64_t axis = op.getIntOr("axis", 0);
    if (axis < 0 || axis >= in[0]->rank())
      return errorf("axis {} is out of range for rank {}", axis, in[0]->rank());
    if (!isInteger(resultType.dtype))
      return errorf("result must be i32 or i64, got {}", dtypeName(resultType.dtype));
    Tensor t(TensorType(resultType.dtype, {}));
    t.setInt(0, in[0]->shape()[axis]);
    return one(std::move(t));
  }
  case OpFamily::RngUniform:
    CAIRN_RETURN_IF_ERROR(need(1));
    return evalRandom(op, in, maxBytes);
  case OpFamily::RngCategorical:
    CAIRN_RETURN_IF_ERROR(need(2));
    return evalRandom(op, in, maxBytes);
  case OpFamily::Identity:
    CAIRN_RETURN_IF_ERROR(need(1));
    return one(Tensor(*in[0]));
  case OpFamily::Rnn:
  case OpFamily::RnnGrad: {
    // The layer's operands; rnn_grad's adjoints follow them.
    const bool lstm = isLstmRnn(op), grad = op.kind() == OpKind::RnnGrad;
    const size_t w = lstm ? 4 : 3; // w_ih
    CAIRN_RETURN_IF_ERROR(need(w + 4 + (grad ? w - 1 : 0)));
    RnnInputs r{in[0], in[1], in[2], lstm ? in[3] : nullptr,
                in[w], in[w + 1],  in[w + 2], in[w + 3]};
    const RnnCellKind cell = lstm ? RnnCellKind::Lstm : RnnCellKind::Gru;
    const bool reverse = op.getIntOr("reverse", 0) != 0;
    if (!grad) return rnn(cell, reverse, r);
    RnnResultAdjoints adj{in[w + 4], in[w + 5], lstm ? in[w + 6] : nullptr};
    return rnnGrad(cell, reverse, r, adj);
  }
  case OpFamily::Call:
  case OpFamily::Fusion:
  case OpFamily::While:
  case OpFamily::If:
  case OpFamily::Return:
  case OpFamily::Yield:
    break;
  }
  return errorf("cannot be evaluated on its own");
}

} // namespace cairn::interp
