// The recognition of GEMM epilogues (GemmEpilogue.h): a structural match on
// the fused kernel's IR.
#include "runtime/device/GemmEpilogue.h"

#include <algorithm>
#include <functional>
#include <set>
#include <vector>

namespace cairn::device {

using exec::InstKind;
using exec::Instruction;
using exec::Slot;

namespace {

bool frees(const Instruction& in, Slot s) {
  return std::find(in.frees.begin(), in.frees.end(), s) != in.frees.end();
}

/// The kernel operand that region argument `v` of the kernel's fusion is.
std::optional<size_t> argumentIndex(const Op& fusion, const Value* v) {
  const Region& region = fusion.region(0);
  for (size_t i = 0; i < region.numArguments(); ++i)
    if (region.argument(i) == v) return i;
  return std::nullopt;
}

} // namespace

std::optional<EpilogueFusion> matchGemmEpilogue(const exec::Block& block, size_t at) {
  const Instruction& gemm = block.insts[at];
  if (gemm.kind != InstKind::Gemm || gemm.results.size() != 1 || gemm.gemm.batchDims != 0 ||
      gemm.operands.size() != 2)
    return std::nullopt;
  Slot product = gemm.results[0];
  const TensorType& type = gemm.op->result()->type;
  if (type.dtype != DType::F32 || type.rank() < 1) return std::nullopt;
  // Only `dim`s between (they read the product's shape, not its data): the
  // product's buffer holds the epilogue's result from the GEMM on.
  std::map<Slot, int64_t> dimsOfProduct; // a dim's result -> the product's axis
  std::set<Slot> between;                // what the `dim`s between define
  size_t k = at + 1;
  for (; k < block.insts.size(); ++k) {
    const Instruction& in = block.insts[k];
    if (in.kind != InstKind::Fallback || in.op->kind() != OpKind::Dim) break;
    between.insert(in.results.begin(), in.results.end());
    if (in.operands.size() == 1 && in.operands[0] == product && in.results.size() == 1) {
      int64_t axis = in.op->getIntOr("axis", 0);
      dimsOfProduct[in.results[0]] = axis < 0 ? axis + type.rank() : axis;
    }
  }
  if (k == block.insts.size()) return std::nullopt;
  const Instruction& kernel = block.insts[k];
  const Op& fusion = *kernel.op;
  if (kernel.kind != InstKind::Kernel || kernel.results.size() != 1 ||
      fusion.kind() != OpKind::Fusion || fusion.numRegions() != 1 || fusion.numResults() != 1 ||
      fusion.numOperands() != kernel.operands.size() || fusion.result()->type != type)
    return std::nullopt;
  // The product is one operand of the kernel and dies there: nothing else reads it.
  auto c = std::find(kernel.operands.begin(), kernel.operands.end(), product);
  if (c == kernel.operands.end() || std::count(c, kernel.operands.end(), product) != 1 ||
      !frees(kernel, product))
    return std::nullopt;
  const Region& region = fusion.region(0);
  const Value* pc = region.argument(static_cast<size_t>(c - kernel.operands.begin()));
  // [broadcast,] add, [relu,] yield: nothing else.
  const auto& ops = region.ops();
  if (ops.size() < 2) return std::nullopt;
  EpilogueFusion f;
  size_t first = 0; // the add's position
  const Value* addend = nullptr;
  if (ops[0]->kind() == OpKind::Broadcast) {
    const Op& bcast = *ops[0];
    first = 1;
    addend = bcast.result();
    const Value* pb = bcast.operand(0);
    std::optional<size_t> b = argumentIndex(fusion, pb);
    if (!b || kernel.operands[*b] == product ||
        pb->type != TensorType(DType::F32, {type.shape.back()}) || bcast.result()->type != type ||
        bcast.getIntsOr("dims", {}) != std::vector<int64_t>{type.rank() - 1})
      return std::nullopt;
    f.addendOperand = *b;
    // Dynamic result dims take size operands, in order: each must be the
    // product's own dim (a `dim` of it between, or a value checked per run).
    std::vector<int64_t> dynamicDims;
    for (int64_t d = 0; d < type.rank(); ++d)
      if (type.shape[static_cast<size_t>(d)] == kDynamic) dynamicDims.push_back(d);
    if (bcast.numOperands() != 1 + dynamicDims.size() ||
        region.numArguments() != 2 + dynamicDims.size())
      return std::nullopt;
    for (size_t s = 0; s < dynamicDims.size(); ++s) {
      std::optional<size_t> a = argumentIndex(fusion, bcast.operand(1 + s));
      if (!a || *a == *b || kernel.operands[*a] == product) return std::nullopt;
      auto known = dimsOfProduct.find(kernel.operands[*a]);
      if (known != dimsOfProduct.end() && known->second == dynamicDims[s]) continue;
      // Else a value made before the GEMM, checked when the GEMM runs.
      if (between.count(kernel.operands[*a])) return std::nullopt;
      f.sizeChecks.emplace_back(*a, dynamicDims[s]);
    }
  } else {
    // A matrix of the product's type.
    if (region.numArguments() != 2) return std::nullopt;
    addend = region.argument(c == kernel.operands.begin() ? 1 : 0);
    if (addend->type != type) return std::nullopt;
    f.matrix = true;
    f.addendOperand = c == kernel.operands.begin() ? 1 : 0;
  }
  if (ops.size() != first + 2 && ops.size() != first + 3) return std::nullopt;
  const Op& add = *ops[first];
  if (add.kind() != OpKind::Add || add.numOperands() != 2 || add.result()->type != type)
    return std::nullopt;
  bool plain = add.operand(0) == pc && add.operand(1) == addend;
  bool swapped = add.operand(1) == pc && add.operand(0) == addend;
  if (!plain && !swapped) return std::nullopt;
  const Value* last = add.result();
  f.relu = ops.size() == first + 3;
  if (f.relu) {
    const Op& act = *ops[first + 1];
    if (act.kind() != OpKind::Relu || act.operand(0) != last) return std::nullopt;
    last = act.result();
  }
  const Op& yield = *ops.back();
  if (yield.kind() != OpKind::Yield || yield.numOperands() != 1 || yield.operand(0) != last)
    return std::nullopt;
  f.kernel = &kernel;
  return f;
}

std::map<const Instruction*, EpilogueFusion>
planGemmEpilogues(const exec::LoweredFunctions& programs) {
  std::map<const Instruction*, EpilogueFusion> plan;
  std::function<void(const exec::Block&)> scan = [&](const exec::Block& b) {
    for (size_t i = 0; i < b.insts.size(); ++i) {
      for (const exec::Block& nested : b.insts[i].blocks)
        scan(nested);
      if (auto f = matchGemmEpilogue(b, i)) plan[&b.insts[i]] = *f;
    }
  };
  for (const auto& [name, program] : programs)
    scan(program.body);
  return plan;
}

} // namespace cairn::device
