// pair-independent-loops: per region, in order, each `while` not yet paired
// and the next `while` after it: the later loop's backward slice among the
// ops between them (what it reads, transitively) is collected; when the
// slice reads nothing else defined from the earlier loop on, the slice's
// other ops move before the earlier loop and the later loop right after it.
#include "compiler/passes/PairIndependentLoops.h"

#include <set>

#include "compiler/RewriteUtils.h"

namespace cairn {
namespace {

class LoopPairer {
public:
  int64_t paired = 0;
  bool moved = false;

  void runOnRegion(Region& region) {
    for (const auto& op : region.ops())
      if (op->kind() != OpKind::Fusion)
        for (size_t r = 0; r < op->numRegions(); ++r)
          runOnRegion(op->region(r));
    auto& ops = region.ops();
    for (size_t i = 0; i + 1 < ops.size(); ++i) {
      if (ops[i]->kind() != OpKind::While) continue;
      size_t j = i + 1;
      while (j < ops.size() && ops[j]->kind() != OpKind::While)
        ++j;
      if (j == ops.size()) break;
      // The later loop and what it needs from between the two.
      std::vector<Op*> slice = {ops[j].get()};
      std::set<const Value*> needed;
      for (const Value* v : externalUses(*ops[j]))
        needed.insert(v);
      for (size_t k = j; k-- > i + 1;) {
        bool used = false;
        for (const Value* r : ops[k]->results())
          used |= needed.count(r) > 0;
        if (!used) continue;
        slice.push_back(ops[k].get());
        for (const Value* v : externalUses(*ops[k]))
          needed.insert(v);
      }
      // Independent when the slice reads nothing defined from the earlier
      // loop on but by itself.
      std::set<const Op*> inSlice(slice.begin(), slice.end());
      bool independent = true;
      for (size_t k = i; k < j && independent; ++k)
        if (!inSlice.count(ops[k].get()))
          for (const Value* r : ops[k]->results())
            independent &= needed.count(r) == 0;
      if (!independent) continue;
      if (slice.size() > 1 || j != i + 1) {
        // The slice's other ops go before the earlier loop, in order; the
        // later loop right after it.
        Op* first = ops[i].get();
        for (size_t s = slice.size(); s-- > 1;)
          region.insert(indexOf(region, first), region.take(slice[s]));
        region.insert(indexOf(region, first) + 1, region.take(slice[0]));
        moved = true;
      }
      ++paired;
      i = indexOf(region, slice[0]); // the pair is done; go on after it
    }
  }

private:
  static size_t indexOf(const Region& region, const Op* op) {
    const auto& ops = region.ops();
    for (size_t k = 0; k < ops.size(); ++k)
      if (ops[k].get() == op) return k;
    return ops.size();
  }
};

class PairIndependentLoopsPass : public Pass {
public:
  std::string_view name() const override { return "pair-independent-loops"; }
  StatusOr<bool> run(Module& m) override { return pairIndependentLoops(m); }
};

} // namespace

StatusOr<bool> pairIndependentLoops(Module& m, int64_t* numPaired) {
  LoopPairer p;
  for (auto& f : m.functions())
    p.runOnRegion(f->body());
  if (numPaired) *numPaired = p.paired;
  return p.moved;
}

std::unique_ptr<Pass> createPairIndependentLoopsPass() {
  return std::make_unique<PairIndependentLoopsPass>();
}

} // namespace cairn
