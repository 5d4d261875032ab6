// DCE: a back-to-front sweep with use counts, plus the liveness analysis of
// loop-carried values.
//
// Algorithm (per function):
//  1. Count the uses of every value in the function.
//  2. Sweep each region from its last op to its first. An op that is not a
//     terminator and whose results have no uses is erased, and the uses it
//     (and its nested regions) made are subtracted, so producers that fed
//     only it become dead before the sweep reaches them.
//  3. A live `while` first has its dead carried values dropped (see
//     liveCarried below), then its regions are swept; this way the body ops
//     that computed a dropped value die in the same sweep.
#include "compiler/passes/DCE.h"

#include <set>

namespace cairn {
namespace {

/// Which carried values of `loop` are live: used after the loop, read by
/// the cond, or needed to compute a live value's next value in the body.
std::vector<bool> liveCarried(const Op& loop, const std::map<const Value*, int>& uses) {
  const size_t n = loop.numResults();
  const Region& cond = loop.region(0);
  const Region& body = loop.region(1);
  std::vector<bool> live(n, false);
  std::vector<size_t> worklist;
  auto markLive = [&](size_t i) {
    if (!live[i]) {
      live[i] = true;
      worklist.push_back(i);
    }
  };
  auto used = [&](const Value* v) { return uses.count(v) && uses.at(v) > 0; };
  for (size_t i = 0; i < n; ++i)
    if (used(loop.result(i)) || used(cond.argument(i))) markLive(i);

  const Op* yield = body.terminator();
  std::set<const Value*> visited;
  // Follows operands back through the body's own ops to the body arguments.
  std::function<void(const Value*)> visit = [&](const Value* v) {
    if (!visited.insert(v).second) return;
    if (v->isRegionArgument()) {
      if (v->ownerRegion() == &body) markLive(v->index());
      return;
    }
    const Op* def = v->definingOp();
    if (!def || def->parentRegion() != &body) return; // captured from outside
    for (const Value* u : def->operands)
      visit(u);
    for (size_t r = 0; r < def->numRegions(); ++r)
      walk(def->region(r), [&](Op& inner) {
        for (const Value* u : inner.operands)
          visit(u);
      });
  };
  while (!worklist.empty()) {
    size_t i = worklist.back();
    worklist.pop_back();
    visit(yield->operand(i));
  }
  return live;
}

class DeadCodeEliminator {
public:
  explicit DeadCodeEliminator(DCEStats& stats) : stats_(stats) {}

  void runOnFunction(Function& f) {
    root_ = &f.body();
    uses_ = countUses(*root_);
    runOnRegion(*root_);
    graveyard_.clear();
  }

private:
  bool isDead(const Op& op) const {
    if (isTerminator(op.kind()) || !isPure(op.kind())) return false;
    for (const Value* r : op.results()) {
      auto it = uses_.find(r);
      if (it != uses_.end() && it->second > 0) return false;
    }
    return true;
  }

  void dropUses(const Op& op) {
    for (const Value* v : op.operands)
      --uses_[v];
    for (size_t r = 0; r < op.numRegions(); ++r)
      walk(op.region(r), [&](Op& inner) {
        for (const Value* v : inner.operands)
          --uses_[v];
      });
  }

  void runOnRegion(Region& region) {
    for (size_t i = region.ops().size(); i-- > 0;) {
      Op* op = region.ops()[i].get();
      if (isDead(*op)) {
        dropUses(*op);
        region.erase(op);
        ++stats_.opsRemoved;
        continue;
      }
      if (op->kind() == OpKind::While) op = pruneCarried(region, i, op);
      for (size_t r = 0; r < op->numRegions(); ++r)
        runOnRegion(op->region(r));
    }
  }

  /// Rebuilds `loop` (at `index` in `region`) without its dead carried
  /// values; returns the op now at `index`.
  Op* pruneCarried(Region& region, size_t index, Op* loop) {
    const size_t n = loop->numResults();
    Op* yield = loop->region(1).terminator();
    if (!yield || yield->numOperands() != n || loop->region(0).numArguments() != n ||
        loop->region(1).numArguments() != n || loop->numOperands() < n)
      return loop; // not the shape the verifier guarantees; leave it alone
    std::vector<bool> live = liveCarried(*loop, uses_);
    std::vector<size_t> keep;
    for (size_t i = 0; i < n; ++i)
      if (live[i]) keep.push_back(i);
    if (keep.size() == n) return loop;

    std::vector<Value*> operands;
    std::vector<TensorType> types;
    for (size_t i : keep) {
      operands.push_back(loop->operand(i));
      types.push_back(loop->result(i)->type);
    }
    // Operands after the carried inits (max_trip) are kept as they are.
    operands.insert(operands.end(), loop->operands.begin() + n, loop->operands.end());
    auto rebuilt = Op::create(OpKind::While, operands, types, loop->attrs, 2, loop->loc);

    std::vector<Value*> trimmed;
    for (size_t i : keep)
      trimmed.push_back(yield->operand(i));
    yield->operands = trimmed;

    for (size_t r = 0; r < 2; ++r) {
      Region& from = loop->region(r);
      Region& to = rebuilt->region(r);
      std::map<Value*, Value*> args;
      for (size_t i : keep)
        args[from.argument(i)] = to.addArgument(from.argument(i)->type, from.argument(i)->name);
      while (!from.empty())
        to.append(from.take(from.ops().front().get()));
      replaceAllUsesWith(to, args);
    }
    std::map<Value*, Value*> results;
    for (size_t k = 0; k < keep.size(); ++k) {
      rebuilt->result(k)->name = loop->result(keep[k])->name;
      results[loop->result(keep[k])] = rebuilt->result(k);
    }
    replaceAllUsesWith(region, results);

    Op* inserted = region.insert(index, std::move(rebuilt));
    // The old loop still owns the dropped region arguments, which dead body
    // ops may reference until the sweep removes them: keep it alive until
    // the function is done.
    graveyard_.push_back(region.take(loop));
    stats_.carriedValuesRemoved += static_cast<int64_t>(n - keep.size());
    uses_ = countUses(*root_);
    return inserted;
  }

  DCEStats& stats_;
  Region* root_ = nullptr;
  std::map<const Value*, int> uses_;
  std::vector<std::unique_ptr<Op>> graveyard_;
};

class DCEPass : public Pass {
public:
  std::string_view name() const override { return "dce"; }
  StatusOr<bool> run(Module& m) override { return eliminateDeadCode(m); }
};

} // namespace

StatusOr<bool> eliminateDeadCode(Module& m, DCEStats* stats) {
  DCEStats local;
  DCEStats& s = stats ? *stats : local;
  DCEStats before = s;
  for (auto& f : m.functions())
    DeadCodeEliminator(s).runOnFunction(*f);
  return s.opsRemoved != before.opsRemoved || s.carriedValuesRemoved != before.carriedValuesRemoved;
}

std::unique_ptr<Pass> createDCEPass() {
  return std::make_unique<DCEPass>();
}

} // namespace cairn
