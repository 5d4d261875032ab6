// Constant access and exact attribute comparison for the rewriting passes.
#include "compiler/RewriteUtils.h"

#include <cstring>

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

std::unique_ptr<Op> makeConstantOp(Tensor value, Location loc) {
  TensorType type = value.type();
  AttrMap attrs;
  attrs.emplace(kConstantValueAttr, std::move(value));
  return Op::create(OpKind::Constant, {}, {type}, std::move(attrs), 0, std::move(loc));
}

bool attributesEqual(const Attribute& a, const Attribute& b) {
  if (a.index() != b.index()) return false;
  if (const double* x = std::get_if<double>(&a)) {
    // By bits: 0.0 and -0.0 fold differently, and NaN must match itself.
    const double y = std::get<double>(b);
    return std::memcmp(x, &y, sizeof(double)) == 0;
  }
  return a == b;
}

bool attributesEqual(const AttrMap& a, const AttrMap& b) {
  if (a.size() != b.size()) return false;
  for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib)
    if (ia->first != ib->first || !attributesEqual(ia->second, ib->second)) return false;
  return true;
}

bool opUses(const Op& op, const Value* v) {
  for (const Value* u : op.operands)
    if (u == v) return true;
  for (size_t i = 0; i < op.numRegions(); ++i)
    if (hasUses(op.region(i), v)) return true;
  return false;
}

} // namespace cairn
