// LICM: a post-order walk over the loop nest, hoisting one level at a time.
//
// Algorithm:
//  1. Walk each region in order; before looking at an op, process the
//     regions nested in it (so inner loops are done first and their
//     invariants now sit in the enclosing region, ready to climb further).
//  2. For a `while` op: scan its `cond` region, then its `body` region, in
//     op order. An op is invariant when it is not a terminator, cannot fail
//     at run time, and every value it reads from outside itself
//     (externalUses) is defined outside the loop or by an op already marked
//     invariant in this scan. Marking in op order makes chains of invariant
//     ops move together.
//  3. Move the marked ops, cond's first, each region's in their order, to
//     just before the `while` in its parent region. The relative order is
//     kept, so every moved op still follows what it reads; the cond's ops
//     and the body's never read each other (sibling regions).
#include "compiler/passes/LICM.h"

#include <set>

#include "compiler/RewriteUtils.h"

namespace cairn {
namespace {

class LoopInvariantCodeMotion {
public:
  int64_t hoisted = 0;

  void runOnRegion(Region& region) {
    for (size_t i = 0; i < region.ops().size(); ++i) {
      Op* op = region.ops()[i].get();
      if (op->kind() == OpKind::Fusion) continue; // isolated: no loops, nothing to move out
      for (size_t r = 0; r < op->numRegions(); ++r)
        runOnRegion(op->region(r));
      if (op->kind() == OpKind::While) i += hoistOutOf(region, i, op);
    }
  }

private:
  /// Moves the invariant ops of `loop` (at `index` in `region`) before it;
  /// returns how many moved.
  size_t hoistOutOf(Region& region, size_t index, Op* loop) {
    std::set<const Op*> invariant;
    std::vector<Op*> moving;
    auto outside = [&](const Value* v) {
      return !definedWithin(v, loop) || (v->definingOp() && invariant.count(v->definingOp()));
    };
    for (size_t r = 0; r < loop->numRegions(); ++r) {
      for (const auto& owned : loop->region(r).ops()) {
        Op* op = owned.get();
        if (isTerminator(op->kind()) || mayFailAtRunTime(*op)) continue;
        bool reads = true;
        for (const Value* v : externalUses(*op))
          reads = reads && outside(v);
        if (!reads) continue;
        invariant.insert(op);
        moving.push_back(op);
      }
    }
    for (Op* op : moving)
      region.insert(index++, op->parentRegion()->take(op));
    hoisted += static_cast<int64_t>(moving.size());
    return moving.size();
  }
};

class LICMPass : public Pass {
public:
  std::string_view name() const override { return "licm"; }
  StatusOr<bool> run(Module& m) override { return hoistLoopInvariants(m); }
};

} // namespace

StatusOr<bool> hoistLoopInvariants(Module& m, int64_t* numHoisted) {
  LoopInvariantCodeMotion licm;
  for (auto& f : m.functions())
    licm.runOnRegion(f->body());
  if (numHoisted) *numHoisted = licm.hoisted;
  return licm.hoisted > 0;
}

std::unique_ptr<Pass> createLICMPass() {
  return std::make_unique<LICMPass>();
}

} // namespace cairn
