// Sink block gathers: the rewrite. Each region (inner regions first) is
// searched for an op whose every use is a block gather of one axis in that
// region; each gather becomes the op on gathered operands, the op goes, and
// the search repeats in the region until none applies, so a chain (add of
// an add of a broadcast) sinks link by link. A sink changes no other
// region's candidates: a use from a nested region never qualifies.
#include "compiler/passes/SinkBlockGathers.h"

#include <optional>

#include "compiler/RewriteUtils.h"
#include "ir/Fusion.h"

namespace cairn {
namespace {

/// For a broadcast, the operand dim that becomes result dim `axis`, or -1
/// when the broadcast adds that dim; nullopt when the broadcast is not of
/// a form this pass handles.
std::optional<int64_t> broadcastSource(const Op& b, int64_t axis) {
  std::vector<int64_t> dims = b.getIntsOr("dims", {});
  const TensorType& x = b.operand(0)->type;
  if (static_cast<int64_t>(dims.size()) != x.rank()) return std::nullopt;
  for (size_t d = 0; d < dims.size(); ++d)
    if (dims[d] == axis) {
      // The operand's dim must be the result's (a size-1 dim stretched to
      // the result's would need other indices).
      if (x.shape[d] != b.result()->type.shape[static_cast<size_t>(axis)]) return std::nullopt;
      return static_cast<int64_t>(d);
    }
  return -1;
}

/// Whether the gathers `uses` of `op`'s result may each become `op` on
/// gathered operands: all block gathers of one axis in `op`'s region,
/// reading at most the result's extent there together, and `op` an
/// elementwise op whose operands have its shape, or a broadcast.
bool sinkable(const Op& op, const std::vector<Op*>& uses) {
  if (op.numResults() != 1 || op.numRegions() != 0 || uses.empty()) return false;
  const TensorType& t = op.result()->type;
  int64_t axis = -1, read = 0;
  for (const Op* g : uses) {
    if (g->parentRegion() != op.parentRegion() || !isBlockGather(*g) ||
        g->operand(0) != op.result() || g->operand(1) == op.result())
      return false;
    int64_t a = g->getIntOr("axis", 0);
    if (axis >= 0 && a != axis) return false;
    axis = a;
    read += g->operand(1)->type.numElements();
  }
  if (read > t.shape[static_cast<size_t>(axis)]) return false; // blocks would overlap
  if (op.kind() == OpKind::Broadcast) return broadcastSource(op, axis).has_value();
  if (!isElementwise(op.kind())) return false;
  for (const Value* v : op.operands)
    if (v->type.shape != t.shape) return false;
  return true;
}

/// A block gather like `g` of `x` along `axis` (the result's shape with
/// x's dtype; x's other dims are g's operand's).
Value* gatherLike(Region& r, size_t at, const Op& g, Value* x, int64_t axis) {
  Shape shape = x->type.shape;
  shape[static_cast<size_t>(axis)] = g.operand(1)->type.numElements();
  AttrMap attrs = g.attrs;
  attrs["axis"] = axis;
  return r.insert(at, Op::create(OpKind::Gather, {x, g.operand(1)},
                                 {TensorType(x->type.dtype, shape)}, attrs, 0, g.loc))
      ->result();
}

/// Replaces gather `g` of `op`'s result by `op` on gathered operands.
void rewriteGather(Region& r, const Op& op, Op* g) {
  int64_t axis = g->getIntOr("axis", 0);
  size_t at = r.indexOf(g);
  std::vector<Value*> operands;
  if (op.kind() == OpKind::Broadcast) {
    int64_t from = *broadcastSource(op, axis);
    operands = op.operands; // the value, then the sizes of `?` dims (never `axis`: it is static)
    if (from >= 0) {
      operands[0] = gatherLike(r, at, *g, op.operand(0), from);
      ++at;
    }
  } else {
    for (Value* v : op.operands) {
      operands.push_back(gatherLike(r, at, *g, v, axis));
      ++at;
    }
  }
  Op* sunk = r.insert(at, Op::create(op.kind(), operands, {g->result()->type}, op.attrs, 0, op.loc));
  sunk->result()->name = g->result()->name;
  replaceAllUsesWith(r, g->result(), sunk->result());
  r.erase(g);
}

/// An op of `r` whose uses may all sink (sinkable), or null.
Op* findSinkable(Region& r, const Users& users) {
  for (const auto& op : r.ops()) {
    if (op->numResults() != 1) continue;
    auto it = users.find(op->result());
    if (it != users.end() && sinkable(*op, it->second)) return op.get();
  }
  return nullptr;
}

/// Sinks what it can in `r` and the regions nested in it; returns the ops sunk.
int64_t sinkIn(Region& r) {
  int64_t sunk = 0;
  for (const auto& op : r.ops()) // a nested sink leaves r.ops() as it is
    for (size_t k = 0; k < op->numRegions(); ++k)
      sunk += sinkIn(op->region(k));
  for (;;) { // the rewrite inserts into r.ops(): not while iterating it
    Users users = collectUsers(r);
    Op* found = findSinkable(r, users);
    if (!found) return sunk;
    for (Op* g : users[found->result()])
      rewriteGather(r, *found, g);
    r.erase(found);
    ++sunk;
  }
}

class SinkBlockGathersPass : public Pass {
public:
  std::string_view name() const override { return "sink-block-gathers"; }
  StatusOr<bool> run(Module& m) override { return sinkBlockGathers(m); }
};

} // namespace

StatusOr<bool> sinkBlockGathers(Module& m, int64_t* numSunk) {
  int64_t sunk = 0;
  for (auto& f : m.functions())
    sunk += sinkIn(f->body());
  if (numSunk) *numSunk += sunk;
  return sunk > 0;
}

std::unique_ptr<Pass> createSinkBlockGathersPass() {
  return std::make_unique<SinkBlockGathersPass>();
}

} // namespace cairn
