// Constant access, exact attribute comparison and the movability facts
// (external uses, run-time failure) for the rewriting passes.
#include "compiler/RewriteUtils.h"

#include <cstring>
#include <set>

namespace cairn {

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

bool definedWithin(const Value* v, const Op* op) {
  const Region* r = v->isRegionArgument() ? v->ownerRegion()
                    : v->definingOp()     ? v->definingOp()->parentRegion()
                                          : nullptr;
  for (; r && r->parentOp(); r = r->parentOp()->parentRegion())
    if (r->parentOp() == op) return true;
  return false;
}

namespace {
void addUsers(Region& r, Users& users) {
  for (const auto& op : r.ops()) {
    for (const Value* v : op->operands)
      users[v].push_back(op.get());
    for (size_t k = 0; k < op->numRegions(); ++k)
      addUsers(op->region(k), users);
  }
}
} // namespace

Users collectUsers(Region& r) {
  Users users;
  addUsers(r, users);
  return users;
}

std::vector<Value*> externalUses(const Op& op) {
  std::vector<Value*> out;
  std::set<const Value*> seen;
  auto add = [&](Value* v) {
    if (v && !definedWithin(v, &op) && seen.insert(v).second) out.push_back(v);
  };
  for (Value* v : op.operands)
    add(v);
  for (size_t r = 0; r < op.numRegions(); ++r)
    walk(op.region(r), [&](Op& inner) {
      for (Value* v : inner.operands)
        add(v);
    });
  return out;
}

namespace {

bool hasDynamicDims(const Op& op) {
  for (const Value* v : op.operands)
    if (v && !v->type.hasStaticShape()) return true;
  for (const Value* v : op.results())
    if (!v->type.hasStaticShape()) return true;
  return false;
}

} // namespace

bool mayFailAtRunTime(const Op& op) {
  switch (op.kind()) {
  case OpKind::DynamicSlice:
  case OpKind::DynamicUpdateSlice:
  case OpKind::Gather:
  case OpKind::Scatter:
  case OpKind::ScatterAdd:
  case OpKind::RngCategorical:
  case OpKind::Call:
  case OpKind::While:
  case OpKind::Rnn: // a length outside [0, T]
  case OpKind::RnnGrad:
    return true;
  case OpKind::Div:
    return isInteger(op.result()->type.dtype) || hasDynamicDims(op);
  case OpKind::Argmax: {
    const TensorType& t = op.operand(0)->type;
    int64_t axis = op.getIntOr("axis", 0);
    return axis < 0 || axis >= t.rank() || t.shape[axis] == kDynamic || t.shape[axis] == 0;
  }
  case OpKind::Constant:
  case OpKind::Dim:
    return false;
  default:
    break;
  }
  for (size_t r = 0; r < op.numRegions(); ++r) {
    bool fails = false;
    walk(op.region(r), [&](Op& inner) { fails = fails || mayFailAtRunTime(inner); });
    if (fails) return true;
  }
  switch (op.info().family) {
  // The result shape is the operand's (or a function of it): nothing to
  // disagree at run time.
  case OpFamily::UnaryNumeric:
  case OpFamily::UnaryFloat:
  case OpFamily::UnaryLogical:
  case OpFamily::Cast:
  case OpFamily::Transpose:
  case OpFamily::Reduce:
  case OpFamily::Identity:
    return false;
  default:
    return hasDynamicDims(op);
  }
}

std::unique_ptr<Module> cloneModule(const Module& m) {
  auto copy = std::make_unique<Module>();
  for (const auto& f : m.functions()) {
    auto g = std::make_unique<Function>(f->name);
    g->resultTypes = f->resultTypes;
    g->loc = f->loc;
    std::map<const Value*, Value*> mapping;
    for (Value* a : f->body().arguments())
      mapping[a] = g->body().addArgument(a->type, a->name);
    for (const auto& op : f->body().ops())
      g->body().append(op->clone(mapping));
    copy->addFunction(std::move(g));
  }
  return copy;
}

} // namespace cairn
