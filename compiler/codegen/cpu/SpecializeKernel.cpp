// describeSpecialized: a private clone of the op, typed with concrete shapes.
// The executable's module is shared by concurrent runs and never modified;
// the clone's operands are the arguments of a scratch region that lives for
// the duration of the call.
#include "compiler/codegen/cpu/SpecializeKernel.h"

#include <map>

#include "compiler/RewriteUtils.h"
#include "kernels/reference/Shape.h"

namespace cairn::codegen::cpu {
namespace {

/// The concrete shape of `declared`, taking `?` dims from the operands of
/// `op` after the first (its size operands), whose values `known` holds.
StatusOr<Shape> withSizes(const Op& op, const Shape& declared,
                          const std::map<const Value*, const Tensor*>& known) {
  Shape shape = declared;
  size_t next = 1;
  for (int64_t& d : shape) {
    if (d != kDynamic) continue;
    if (next >= op.numOperands())
      return errorf("{}'{}' op lacks a size operand", op.where(), op.name());
    auto it = known.find(op.operand(next++));
    if (it == known.end() || it->second->rank() != 0 || !isInteger(it->second->dtype()))
      return errorf("{}'{}' op takes a size that is not known when the kernel is compiled",
                    op.where(), op.name());
    d = it->second->getInt(0);
    if (d < 0) return errorf("{}'{}' op has a negative size {}", op.where(), op.name(), d);
  }
  return shape;
}

/// Gives each op of `region` its concrete result type, in order.
Status typeRegion(Region& region, std::map<const Value*, const Tensor*>& known) {
  for (const auto& opPtr : region.ops()) {
    Op& op = *opPtr;
    if (isTerminator(op.kind())) continue;
    if (op.numResults() != 1)
      return errorf("{}'{}' op has {} results", op.where(), op.name(), op.numResults());
    TensorType& t = op.result()->type;
    switch (op.kind()) {
    case OpKind::Constant:
      if (const Tensor* c = constantValue(op.result())) known[op.result()] = c;
      break;
    case OpKind::Broadcast:
    case OpKind::Reshape: {
      CAIRN_ASSIGN_OR_RETURN(t.shape, withSizes(op, t.shape, known));
      op.operands.resize(1);
      if (op.kind() == OpKind::Reshape &&
          numElements(t.shape) != op.operand(0)->type.numElements())
        return errorf("{}'reshape' op changes the element count", op.where());
      break;
    }
    case OpKind::Select:
      t.shape = op.operand(1)->type.shape;
      break;
    default:
      if (!isElementwise(op.kind()) || op.numOperands() == 0)
        return errorf("{}'{}' op cannot be part of an elementwise kernel", op.where(), op.name());
      t.shape = op.operand(0)->type.shape;
    }
  }
  return Status::ok();
}

} // namespace

StatusOr<KernelDesc> describeSpecialized(const Op& op, const std::vector<const Tensor*>& inputs) {
  if (inputs.size() != op.numOperands())
    return errorf("{}'{}' op: {} inputs for {} operands", op.where(), op.name(), inputs.size(),
                  op.numOperands());
  Region scratch;
  std::map<const Value*, Value*> mapping;
  for (size_t i = 0; i < inputs.size(); ++i)
    mapping[op.operand(i)] = scratch.addArgument(inputs[i]->type());
  std::unique_ptr<Op> clone = op.clone(mapping);
  std::map<const Value*, const Tensor*> known;
  if (clone->kind() == OpKind::Fusion) {
    Region& body = clone->region(0);
    if (body.numArguments() != inputs.size())
      return errorf("{}'fusion' op has {} region arguments for {} operands", op.where(),
                    body.numArguments(), inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
      body.argument(i)->type = inputs[i]->type();
      known[body.argument(i)] = inputs[i];
    }
    CAIRN_RETURN_IF_ERROR(typeRegion(body, known));
    const Op* yield = body.terminator();
    if (!yield || yield->numOperands() != clone->numResults())
      return errorf("{}'fusion' op must yield one value per result", op.where());
    for (size_t k = 0; k < clone->numResults(); ++k)
      clone->result(k)->type = yield->operand(k)->type;
  } else {
    // A lone elementwise op: type it as a one-op region would.
    Region one;
    for (size_t i = 0; i < inputs.size(); ++i)
      known[scratch.argument(i)] = inputs[i];
    Op* moved = one.append(std::move(clone));
    CAIRN_RETURN_IF_ERROR(typeRegion(one, known));
    clone = one.take(moved);
  }
  return describeKernel(*clone);
}

} // namespace cairn::codegen::cpu
