// RefineShapes (RefineShapes.h): re-infer, narrow, fold, repeat.
#include "compiler/passes/RefineShapes.h"

#include <algorithm>
#include <map>

#include "compiler/RewriteUtils.h"
#include "compiler/passes/Canonicalize.h"
#include "ir/ConstantValue.h"
#include "ir/TypeInference.h"

namespace cairn {
namespace {

/// Whether `narrow` is `wide` with some `?` dims made static.
bool narrows(const TensorType& wide, const TensorType& narrow) {
  if (wide.dtype != narrow.dtype || wide.rank() != narrow.rank() || wide == narrow) return false;
  for (int64_t d = 0; d < wide.rank(); ++d) {
    int64_t w = wide.shape[static_cast<size_t>(d)], n = narrow.shape[static_cast<size_t>(d)];
    if (w != kDynamic && w != n) return false;
  }
  return true;
}

/// The first size operand of an op that takes one per `?` dim of its
/// declared type, or -1 for other ops.
int firstSizeOperand(OpKind k) {
  switch (k) {
  case OpKind::Broadcast:
  case OpKind::Reshape: return 1;
  case OpKind::Iota: return 0;
  default: return -1;
  }
}

/// Whether every user of `v` still type-checks with `v` of type `t`. A use
/// the run time would reject (a dynamic_slice past a dim, in a loop that
/// runs zero times) must stay a run-time error, not become invalid IR.
bool usersAccept(const Value* v, const TensorType& t, const Users& users) {
  auto it = users.find(v);
  if (it == users.end()) return true;
  for (const Op* u : it->second) {
    if (u->kind() == OpKind::Fusion) return false; // its region's arguments match exactly
    if (u->numRegions() != 0 || u->kind() == OpKind::Call) continue; // inits, arguments: `?` slots
    if (isTerminator(u->kind())) continue;                          // yields into `?` slots
    std::vector<TensorType> types;
    for (const Value* o : u->operands)
      types.push_back(o == v ? t : o->type);
    std::vector<TensorType> declared;
    for (const Value* r : u->results())
      declared.push_back(r->type);
    if (!inferResultTypes(u->kind(), types, u->attrs, declared).isOk()) return false;
  }
  return true;
}

/// Narrows `op`'s result where its operands decide it; true when it did.
bool refineOp(Op& op, const Users& users) {
  if (op.numRegions() != 0 || op.numResults() != 1) return false;
  switch (op.kind()) {
  case OpKind::Constant:
  case OpKind::Call:
  case OpKind::Dim: // a scalar already
    return false;
  default: break;
  }
  TensorType declared = op.result()->type;
  std::vector<Value*> operands = op.operands;
  if (int first = firstSizeOperand(op.kind()); first >= 0) {
    // Each `?` dim takes the next size operand; constant ones go into the type.
    size_t sizesFrom = std::min(static_cast<size_t>(first), operands.size());
    std::vector<Value*> kept(operands.begin(), operands.begin() + sizesFrom);
    size_t next = static_cast<size_t>(first);
    for (int64_t& d : declared.shape) {
      if (d != kDynamic) continue;
      if (next >= operands.size()) return false; // malformed: the verifier's to report
      Value* size = operands[next++];
      const Tensor* c = constantValue(size);
      if (c && c->numElements() == 1 && isInteger(c->dtype()) && c->getInt(0) >= 0)
        d = c->getInt(0);
      else
        kept.push_back(size);
    }
    if (next != operands.size()) return false;
    operands = std::move(kept);
  }
  std::vector<TensorType> types;
  for (const Value* v : operands)
    types.push_back(v->type);
  StatusOr<std::vector<TensorType>> inferred =
      inferResultTypes(op.kind(), types, op.attrs, {declared});
  if (!inferred.isOk() || inferred->size() != 1 || !narrows(op.result()->type, (*inferred)[0]) ||
      !usersAccept(op.result(), (*inferred)[0], users))
    return false;
  op.operands = std::move(operands);
  op.result()->type = (*inferred)[0];
  return true;
}

int64_t refineRegion(Region& r, const Users& users) {
  int64_t n = 0;
  for (auto& op : r.ops()) {
    for (size_t k = 0; k < op->numRegions(); ++k)
      n += refineRegion(op->region(k), users);
    n += refineOp(*op, users) ? 1 : 0;
  }
  return n;
}

class RefineShapesPass : public Pass {
public:
  std::string_view name() const override { return "refine-shapes"; }
  StatusOr<bool> run(Module& m) override { return refineShapes(m); }
};

} // namespace

StatusOr<bool> refineShapes(Module& m, int64_t* numRefined) {
  int64_t total = 0;
  bool folded = false;
  // Each round narrows at least one type, and types only narrow: the bound
  // is a safety net.
  for (int round = 0; round < 64; ++round) {
    CAIRN_ASSIGN_OR_RETURN(bool changed, canonicalize(m)); // sizes that fold become constants
    folded = folded || changed;
    int64_t n = 0;
    for (auto& f : m.functions()) {
      // No op is added or removed while a function is refined.
      Users users = collectUsers(f->body());
      n += refineRegion(f->body(), users);
    }
    if (n == 0) break;
    total += n;
  }
  if (numRefined) *numRefined = total;
  return total > 0 || folded;
}

std::unique_ptr<Pass> createRefineShapesPass() {
  return std::make_unique<RefineShapesPass>();
}

} // namespace cairn
