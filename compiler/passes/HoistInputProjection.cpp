// Hoist input projection: the pattern match and the rewrite.
//
// For each `while` (any depth), the carried values that the body advances by
// a constant +-1 are the loop counters; each top-level `dot` of the body that
// matches `dot(reshape?(row t of xs), w)`, the row read by `dynamic_slice` or
// `gather`, with t a counter and xs, w defined outside the loop, is replaced
// as described in the header.
// The old slice and reshape go when the dot was their only user.
#include "compiler/passes/HoistInputProjection.h"

#include <optional>
#include <set>

#include "compiler/RewriteUtils.h"

namespace cairn {
namespace {

bool isUnitConstant(const Value* v) {
  const Tensor* c = constantValue(v);
  return c && isInteger(c->dtype()) && c->numElements() == 1 &&
         (c->getInt(0) == 1 || c->getInt(0) == -1);
}

bool isZeroConstant(const Value* v) {
  const Tensor* c = constantValue(v);
  return c && isInteger(c->dtype()) && c->numElements() == 1 && c->getInt(0) == 0;
}

/// The body arguments of `loop` that the body yields advanced by +-1.
std::set<const Value*> loopCounters(const Op& loop) {
  std::set<const Value*> counters;
  const Region& body = loop.region(1);
  const Op* yield = body.terminator();
  if (!yield || yield->numOperands() != body.numArguments()) return counters;
  for (size_t i = 0; i < body.numArguments(); ++i) {
    const Value* t = body.argument(i);
    const Op* step = yield->operand(i)->definingOp();
    if (!step || step->parentRegion() != &body || !t->type.isScalar()) continue;
    bool counts = false;
    if (step->kind() == OpKind::Add)
      counts = (step->operand(0) == t && isUnitConstant(step->operand(1))) ||
               (step->operand(1) == t && isUnitConstant(step->operand(0)));
    else if (step->kind() == OpKind::Sub)
      counts = step->operand(0) == t && isUnitConstant(step->operand(1));
    if (counts) counters.insert(t);
  }
  return counters;
}

struct Projection {
  Op* dot;
  Op* reshape; ///< between the slice and the dot, or null
  Op* slice;
  Op* rows = nullptr; ///< `gather %row, %indices {axis = 0}` between the slice and the dot, or null
};

/// Whether `op` picks rows of its operand: `gather %x, %indices {axis = 0}`
/// with a rank-1 index (the live rows of a compacted step).
bool picksRows(const Op& op) {
  return op.kind() == OpKind::Gather && op.getIntOr("axis", 0) == 0 &&
         op.getIntOr("batch_dims", 0) == 0 && op.operand(1)->type.rank() == 1 &&
         op.operand(0)->type.rank() >= 1;
}

/// Whether `slice` reads row `t` of its first operand for a loop counter t:
/// `dynamic_slice %xs, %t, 0, ... {sizes = [1, xs.shape[1:]]}` (static) or
/// `gather %xs, %t {axis = 0}` with a scalar %t.
bool readsRow(const Op& slice, const std::set<const Value*>& counters) {
  if (slice.numOperands() < 2 || !counters.count(slice.operand(1))) return false;
  const TensorType& xs = slice.operand(0)->type;
  if (xs.rank() < 2) return false;
  if (slice.kind() == OpKind::Gather)
    return slice.getIntOr("axis", 0) == 0 && slice.getIntOr("batch_dims", 0) == 0;
  if (slice.kind() != OpKind::DynamicSlice ||
      slice.numOperands() != static_cast<size_t>(1 + xs.rank()))
    return false;
  for (int64_t d = 2; d <= xs.rank(); ++d)
    if (!isZeroConstant(slice.operand(d))) return false;
  Shape rows = xs.shape;
  rows[0] = 1;
  return slice.getIntsOr("sizes", {}) == rows && TensorType(xs.dtype, rows).hasStaticShape();
}

/// Whether `dot` (a top-level op of `loop`'s body) is an input projection.
std::optional<Projection> matchProjection(Op* dot, const Op& loop,
                                          const std::set<const Value*>& counters) {
  if (dot->kind() != OpKind::Dot) return std::nullopt;
  Value* lhs = dot->operand(0);
  const int64_t rank = lhs->type.rank();
  if (definedWithin(dot->operand(1), &loop) || !dot->getIntsOr("lhs_batch", {}).empty() ||
      !dot->getIntsOr("rhs_batch", {}).empty() ||
      dot->getIntsOr("lhs_contract", {rank - 1}) != std::vector<int64_t>{rank - 1} ||
      dot->getIntsOr("rhs_contract", {0}).size() != 1)
    return std::nullopt;
  const Region* body = dot->parentRegion();
  Projection p{dot, nullptr, lhs->definingOp()};
  if (p.slice && picksRows(*p.slice) && p.slice->parentRegion() == body) {
    // Rows of the step's row: the same rows of P's row (gather commutes
    // with the product over the free dims).
    p.rows = p.slice;
    p.slice = p.rows->operand(0)->definingOp();
    if (!p.slice || p.slice->kind() != OpKind::Gather) return std::nullopt;
  } else if (p.slice && p.slice->kind() == OpKind::Reshape) {
    // A static reshape that keeps the last dim only regroups whole rows.
    p.reshape = p.slice;
    const TensorType& from = p.reshape->operand(0)->type;
    if (p.reshape->numOperands() != 1 || p.reshape->parentRegion() != body ||
        !lhs->type.hasStaticShape() || !from.hasStaticShape() || from.rank() == 0 ||
        from.shape.back() != lhs->type.shape.back())
      return std::nullopt;
    p.slice = p.reshape->operand(0)->definingOp();
  }
  if (!p.slice || p.slice->parentRegion() != body || !readsRow(*p.slice, counters) ||
      definedWithin(p.slice->operand(0), &loop))
    return std::nullopt;
  // A dynamic_slice of P needs static sizes: the rows of P must be static.
  if (p.slice->kind() == OpKind::DynamicSlice && !dot->result()->type.hasStaticShape())
    return std::nullopt;
  return p;
}

class InputProjectionHoister {
public:
  int64_t hoisted = 0;

  void runOnLoop(Op* loop) {
    std::set<const Value*> counters = loopCounters(*loop);
    if (counters.empty()) return;
    Region& body = loop->region(1);
    std::vector<Projection> found;
    for (const auto& op : body.ops())
      if (auto p = matchProjection(op.get(), *loop, counters)) found.push_back(*p);
    for (const Projection& p : found)
      rewrite(*loop, p);
  }

private:
  void rewrite(Op& loop, const Projection& p) {
    Op* dot = p.dot;
    Value* xs = p.slice->operand(0);
    const TensorType& result = dot->result()->type;
    const int64_t lhsRank = dot->operand(0)->type.rank();
    // P = dot(xs, w): xs's free dims (all but the last), then w's free dims.
    Shape all(xs->type.shape.begin(), xs->type.shape.end() - 1);
    all.insert(all.end(), result.shape.begin() + (lhsRank - 1), result.shape.end());
    AttrMap attrs = dot->attrs;
    if (attrs.count("lhs_contract"))
      attrs["lhs_contract"] = std::vector<int64_t>{xs->type.rank() - 1};
    auto product = Op::create(OpKind::Dot, {xs, dot->operand(1)}, {TensorType(result.dtype, all)},
                              attrs, 0, dot->loc);
    product->result()->name =
        dot->result()->name.empty() ? "projection" : dot->result()->name + "_all";
    Region& parent = *loop.parentRegion();
    Value* whole = parent.insert(parent.indexOf(&loop), std::move(product))->result();

    // Row t of P, read as the old row was, shaped as the old dot's result.
    Region& body = *dot->parentRegion();
    size_t at = body.indexOf(dot);
    Shape rowShape(all.begin() + 1, all.end());
    std::unique_ptr<Op> row;
    if (p.rows) {
      // P's row, then the picked rows of it.
      auto wholeRow = Op::create(OpKind::Gather, {whole, p.slice->operand(1)},
                                 {TensorType(result.dtype, rowShape)}, p.slice->attrs, 0, dot->loc);
      Value* r = body.insert(at++, std::move(wholeRow))->result();
      row = Op::create(OpKind::Gather, {r, p.rows->operand(1)}, {result}, p.rows->attrs, 0,
                       dot->loc);
    } else if (p.slice->kind() == OpKind::Gather) {
      row = Op::create(OpKind::Gather, {whole, p.slice->operand(1)},
                       {TensorType(result.dtype, rowShape)}, p.slice->attrs, 0, dot->loc);
    } else {
      rowShape.insert(rowShape.begin(), 1);
      std::vector<Value*> operands{whole, p.slice->operand(1)};
      operands.resize(1 + all.size(), p.slice->operand(2)); // the other starts are zeros
      row = Op::create(OpKind::DynamicSlice, operands, {TensorType(result.dtype, rowShape)},
                       {{"sizes", rowShape}}, 0, dot->loc);
    }
    Value* replacement = body.insert(at++, std::move(row))->result();
    if (replacement->type != result) {
      auto reshape = Op::create(OpKind::Reshape, {replacement}, {result}, {}, 0, dot->loc);
      replacement = body.insert(at++, std::move(reshape))->result();
    }
    replacement->name = dot->result()->name;
    replaceAllUsesWith(body, dot->result(), replacement);
    body.erase(dot);
    if (p.reshape && !hasUses(body, p.reshape->result())) body.erase(p.reshape);
    if (p.rows && !hasUses(body, p.rows->result())) body.erase(p.rows);
    if (!hasUses(body, p.slice->result())) body.erase(p.slice);
    ++hoisted;
  }
};

class HoistInputProjectionPass : public Pass {
public:
  std::string_view name() const override { return "hoist-input-projection"; }
  StatusOr<bool> run(Module& m) override { return hoistInputProjections(m); }
};

} // namespace

StatusOr<bool> hoistInputProjections(Module& m, int64_t* numHoisted) {
  InputProjectionHoister hoister;
  for (auto& f : m.functions()) {
    std::vector<Op*> loops;
    walk(*f, [&](Op& op) {
      if (op.kind() == OpKind::While) loops.push_back(&op);
    });
    for (Op* loop : loops)
      hoister.runOnLoop(loop);
  }
  if (numHoisted) *numHoisted = hoister.hoisted;
  return hoister.hoisted > 0;
}

std::unique_ptr<Pass> createHoistInputProjectionPass() {
  return std::make_unique<HoistInputProjectionPass>();
}

} // namespace cairn
