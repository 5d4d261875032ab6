#include "runtime/exec/LoweredFunction.h"

#include <fmt/format.h>

namespace cairn::exec {

void SlotEffects::add(const Instruction& in) {
  reads.insert(in.operands.begin(), in.operands.end());
  defines.insert(in.results.begin(), in.results.end());
  defines.insert(in.carried.begin(), in.carried.end());
  releases.insert(in.frees.begin(), in.frees.end());
  if (in.inPlace && !in.operands.empty()) releases.insert(in.operands[0]);
  for (size_t k = 0; k < in.moveInit.size() && k < in.operands.size(); ++k)
    if (in.moveInit[k]) releases.insert(in.operands[k]);
  for (const Block& b : in.blocks) {
    for (const Instruction& i : b.insts)
      add(i);
    reads.insert(b.yields.begin(), b.yields.end());
    for (size_t k = 0; k < b.moveYield.size() && k < b.yields.size(); ++k)
      if (b.moveYield[k]) releases.insert(b.yields[k]);
  }
}

namespace {

std::string firstCommon(const std::set<Slot>& a, const std::set<Slot>& b) {
  for (Slot s : a)
    if (b.count(s)) return fmt::format("%s{}", s);
  return "";
}

} // namespace

std::string parallelHazard(const Instruction& par) {
  std::vector<SlotEffects> blocks(par.blocks.size());
  for (size_t i = 0; i < par.blocks.size(); ++i)
    for (const Instruction& in : par.blocks[i].insts)
      blocks[i].add(in);
  for (size_t i = 0; i < blocks.size(); ++i)
    for (size_t j = 0; j < blocks.size(); ++j) {
      if (i == j) continue;
      std::string s = firstCommon(blocks[i].reads, blocks[j].defines);
      if (!s.empty()) return fmt::format("thread {} reads {}, which thread {} defines", i, s, j);
      s = firstCommon(blocks[i].reads, blocks[j].releases);
      if (!s.empty())
        return fmt::format("thread {} reads {}, which thread {} frees or takes over", i, s, j);
    }
  return "";
}

} // namespace cairn::exec
