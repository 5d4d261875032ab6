// Pairs of loops on two threads, each with the producers only it reads.
//
// Adjacent `while` instructions where the second reads nothing the first
// defines (pair-independent-loops put them there) become one `parallel`
// instruction. Then the instructions just before the pair whose results one
// of the two loops reads and nothing else does (transitively) move into that
// loop's block, to run on its thread. Why: a BiRNN's second layer starts
// with each direction's input projection, a product only that direction's
// loop reads. Left before the pair, the two products ran one after the
// other while the side thread idled: at batch 1 they were 0.55 of a BiGRU's
// 1.47 ms (two [35, 512] x [512, 768] products), the one stretch of its run
// on one CPU.
//
// What ran in order now runs side by side, so three hazards are checked:
//  - a result read after the pair, or by both blocks: it stays before the
//    pair (and so do earlier instructions that read what it frees);
//  - a slot one block reads and the other frees (its last use in the old
//    order): the free moves to the pair, after both blocks;
//  - a slot one block reads and the other takes over: a loop's moved-in
//    initial value is copied instead; an in-place update or an aliasing
//    reshape stays before the pair.
// Run serially (one CPU, the device's one stream) the blocks run in order,
// which is still a valid order: nothing in the second block is read by the
// first.
//
// Not weighed: a product that only one loop reads moves even when the other
// loop is short, where it would have run on two BLAS threads before the
// pair. The pairs this meets (a BiRNN's directions) are symmetric.
#include "compiler/lowering/PairLoops.h"

#include <algorithm>
#include <set>

#include "compiler/RewriteUtils.h"

namespace cairn::codegen {

using exec::Block;
using exec::Instruction;
using exec::Slot;

namespace {

exec::SlotEffects effectsOf(const Instruction& in) {
  exec::SlotEffects e;
  e.add(in);
  return e;
}

/// Whether `in` takes a slot in `slots` over in place (a loop's moved-in
/// initial values are not counted: those can be copied instead).
bool takesOverAny(const Instruction& in, const std::set<Slot>& slots) {
  return in.inPlace && !in.operands.empty() && slots.count(in.operands[0]) > 0;
}

bool isControlFlow(const Instruction& in) {
  return in.kind == exec::InstKind::While || in.kind == exec::InstKind::If ||
         in.kind == exec::InstKind::Parallel;
}

/// One block of the pair: its loop last, the producers moved in before it.
struct PairBlock {
  std::vector<Instruction> insts;
  std::set<Slot> reads;
};

/// Moves into `side` the instructions of `before` (back to the last control
/// flow) whose results one side reads and nothing else does; returns how
/// many moved. Those that stay are stepped over: what they read is read
/// outside the pair, and an earlier instruction reading what they free or
/// take over stays too (moved, it would run after them).
int moveProducers(std::vector<Instruction>& before, PairBlock side[2], std::set<Slot> readOutside) {
  std::set<Slot> releasedBetween;
  std::vector<Instruction> staying; // last first
  int moved = 0;
  while (!before.empty() && !isControlFlow(before.back())) {
    Instruction c = std::move(before.back());
    before.pop_back();
    exec::SlotEffects effects = effectsOf(c);
    const std::set<Slot>& reads = effects.reads;
    bool outside = c.results.empty(), read[2] = {false, false};
    for (Slot r : c.results) {
      outside |= readOutside.count(r) > 0;
      for (int s = 0; s < 2; ++s)
        read[s] |= side[s].reads.count(r) > 0;
    }
    for (Slot r : reads)
      outside |= releasedBetween.count(r) > 0;
    int to = read[0] ? 0 : 1;
    bool movable = !outside && read[0] != read[1];
    for (const Instruction& o : side[1 - to].insts)
      if (movable && takesOverAny(o, reads)) movable = false;
    if (movable) {
      side[to].reads.insert(reads.begin(), reads.end());
      side[to].insts.insert(side[to].insts.begin(), std::move(c));
      ++moved;
      continue;
    }
    readOutside.insert(reads.begin(), reads.end());
    releasedBetween.insert(effects.releases.begin(), effects.releases.end());
    staying.push_back(std::move(c));
  }
  for (auto it = staying.rbegin(); it != staying.rend(); ++it)
    before.push_back(std::move(*it));
  return moved;
}

/// The pair of `a` and `b` (their blocks get the producers at the end of
/// `before`).
Instruction makePair(Instruction a, Instruction b, std::vector<Instruction>& before,
                     const std::set<Slot>& readLater, LowerReport& report) {
  Instruction par;
  par.kind = exec::InstKind::Parallel;
  par.op = a.op;
  // What the loops free is freed after both (each may free what the other
  // reads).
  for (Instruction* loop : {&a, &b}) {
    par.frees.insert(par.frees.end(), loop->frees.begin(), loop->frees.end());
    loop->frees.clear();
  }
  PairBlock side[2];
  side[0].reads = effectsOf(a).reads;
  side[1].reads = effectsOf(b).reads;
  side[0].insts.push_back(std::move(a));
  side[1].insts.push_back(std::move(b));
  report.pairedProducers += moveProducers(before, side, readLater);
  for (int s = 0; s < 2; ++s) {
    const std::set<Slot>& otherReads = side[1 - s].reads;
    for (Instruction& in : side[s].insts)
      std::erase_if(in.frees, [&](Slot f) {
        if (!otherReads.count(f)) return false;
        par.frees.push_back(f);
        return true;
      });
    Instruction& loop = side[s].insts.back();
    for (size_t k = 0; k < loop.moveInit.size(); ++k)
      if (loop.moveInit[k] && otherReads.count(loop.operands[k])) loop.moveInit[k] = false;
  }
  par.blocks.resize(2);
  for (int s = 0; s < 2; ++s)
    par.blocks[static_cast<size_t>(s)].insts = std::move(side[s].insts);
  ++report.parallel;
  return par;
}

} // namespace

Status pairLoops(Block& block, LowerReport& report) {
  std::vector<Instruction> out;
  for (size_t i = 0; i < block.insts.size(); ++i) {
    Instruction& a = block.insts[i];
    if (i + 1 < block.insts.size() && a.kind == exec::InstKind::While &&
        block.insts[i + 1].kind == exec::InstKind::While) {
      Instruction& b = block.insts[i + 1];
      bool independent = true;
      for (const Value* v : externalUses(*b.op))
        for (const Value* r : a.op->results())
          independent &= v != r;
      if (independent) {
        exec::SlotEffects later; // of what runs after the pair
        later.reads.insert(block.yields.begin(), block.yields.end());
        for (size_t k = i + 2; k < block.insts.size(); ++k)
          later.add(block.insts[k]);
        Instruction par = makePair(std::move(a), std::move(b), out, later.reads, report);
        std::string hazard = exec::parallelHazard(par);
        if (!hazard.empty())
          return errorf("{}internal error: loops paired unsafely: {}", par.op->where(), hazard);
        out.push_back(std::move(par));
        ++i;
        continue;
      }
    }
    out.push_back(std::move(a));
  }
  block.insts = std::move(out);
  return Status::ok();
}

} // namespace cairn::codegen
