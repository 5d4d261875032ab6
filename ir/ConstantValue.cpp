// constantValue (ConstantValue.h).
#include "ir/ConstantValue.h"

namespace cairn {

const Tensor* constantValue(const Value* v) {
  const Op* def = v ? v->definingOp() : nullptr;
  if (!def || def->kind() != OpKind::Constant) return nullptr;
  auto it = def->attrs.find(kConstantValueAttr);
  if (it != def->attrs.end()) return std::get_if<Tensor>(&it->second);
  // Tolerate another spelling of the attribute: a constant has one tensor.
  for (auto& [name, attr] : def->attrs)
    if (const Tensor* t = std::get_if<Tensor>(&attr)) return t;
  return nullptr;
}

} // namespace cairn
