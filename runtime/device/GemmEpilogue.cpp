// The recognition of GEMM epilogues (GemmEpilogue.h): a structural match on
// the fused kernel's IR.
#include "runtime/device/GemmEpilogue.h"

#include <algorithm>
#include <functional>
#include <vector>

namespace cairn::device {

using exec::InstKind;
using exec::Instruction;

std::optional<EpilogueFusion> matchGemmEpilogue(const Instruction& gemm,
                                                const Instruction& kernel) {
  if (gemm.kind != InstKind::Gemm || kernel.kind != InstKind::Kernel) return std::nullopt;
  if (gemm.results.size() != 1 || gemm.gemm.batchDims != 0 || gemm.operands.size() != 2)
    return std::nullopt;
  // Static shapes, one result, two operands: the product and the bias.
  const Op& fusion = *kernel.op;
  if (kernel.shape || kernel.results.size() != 1 || kernel.operands.size() != 2 ||
      fusion.kind() != OpKind::Fusion || fusion.numRegions() != 1 || fusion.numResults() != 1 ||
      fusion.numOperands() != 2)
    return std::nullopt;
  exec::Slot product = gemm.results[0];
  size_t c = kernel.operands[0] == product ? 0 : 1;
  if (kernel.operands[c] != product || kernel.operands[1 - c] == product) return std::nullopt;
  // The product dies at the kernel: nothing else reads it.
  if (std::find(kernel.frees.begin(), kernel.frees.end(), product) == kernel.frees.end())
    return std::nullopt;
  const TensorType& type = gemm.op->result()->type;
  if (type.dtype != DType::F32 || !type.hasStaticShape() || type.rank() < 1 ||
      fusion.result()->type != type)
    return std::nullopt;
  const Region& region = fusion.region(0);
  if (region.numArguments() != 2) return std::nullopt;
  const Value* pc = region.argument(c);
  const Value* pb = region.argument(1 - c);
  // [broadcast,] add, [relu,] yield: nothing else.
  const auto& ops = region.ops();
  bool matrix = pb->type == type;
  if (!matrix && pb->type != TensorType(DType::F32, {type.shape.back()})) return std::nullopt;
  size_t first = matrix ? 0 : 1; // the add's position
  if (ops.size() != first + 2 && ops.size() != first + 3) return std::nullopt;
  const Value* addend = pb;
  if (!matrix) {
    const Op& bcast = *ops[0];
    if (bcast.kind() != OpKind::Broadcast || bcast.operand(0) != pb ||
        bcast.result()->type != type ||
        bcast.getIntsOr("dims", {}) != std::vector<int64_t>{type.rank() - 1})
      return std::nullopt;
    addend = bcast.result();
  }
  const Op& add = *ops[first];
  if (add.kind() != OpKind::Add || add.numOperands() != 2 || add.result()->type != type)
    return std::nullopt;
  bool plain = add.operand(0) == pc && add.operand(1) == addend;
  bool swapped = add.operand(1) == pc && add.operand(0) == addend;
  if (!plain && !swapped) return std::nullopt;
  const Value* last = add.result();
  bool relu = ops.size() == first + 3;
  if (relu) {
    const Op& act = *ops[first + 1];
    if (act.kind() != OpKind::Relu || act.operand(0) != last) return std::nullopt;
    last = act.result();
  }
  const Op& yield = *ops.back();
  if (yield.kind() != OpKind::Yield || yield.numOperands() != 1 || yield.operand(0) != last)
    return std::nullopt;
  return EpilogueFusion{relu, matrix, 1 - c};
}

std::map<const Instruction*, EpilogueFusion>
planGemmEpilogues(const std::map<std::string, exec::Program, std::less<>>& programs) {
  std::map<const Instruction*, EpilogueFusion> plan;
  std::function<void(const exec::Block&)> scan = [&](const exec::Block& b) {
    for (size_t i = 0; i < b.insts.size(); ++i) {
      for (const exec::Block& nested : b.insts[i].blocks)
        scan(nested);
      if (i + 1 < b.insts.size())
        if (auto f = matchGemmEpilogue(b.insts[i], b.insts[i + 1])) plan[&b.insts[i]] = *f;
    }
  };
  for (const auto& [name, program] : programs)
    scan(program.body);
  return plan;
}

} // namespace cairn::device
