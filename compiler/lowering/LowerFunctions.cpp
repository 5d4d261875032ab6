// Algorithm of the buffer plan (see LowerFunctions.h for the instructions);
// per region, in lowerBlock:
//  1. Every SSA value gets its own slot in the function's flat frame. A
//     while's carried values get one set of slots that its cond arguments,
//     body arguments and results all name: the body's yield moves its buffers
//     into them, so a carried value never round-trips through a copy.
//  2. A region's local values are its ops' results, plus its arguments when
//     the region owns them (a while body and the function do; a while cond
//     only reads the carried values, which must survive into the body).
//  3. Last use of a local value: the index of the last op of the region that
//     reads it, directly or from inside its nested regions (a value a loop
//     body captures lives until the loop ends). The instruction at that index
//     frees it; an unused result is freed by the instruction defining it.
//  4. In place: an update op (dynamic_update_slice, scatter, scatter_add), or
//     a reshape, whose operand 0 is local, dies at it and is not also another
//     of its operands, takes that operand's buffer. A while's initial value
//     that dies at the while and is not used inside it is moved in; a yield
//     moves its local operands (the first occurrence of one yielded twice;
//     the rest are copied), and an `if` branch's yield also moves a value of
//     the enclosing block that dies at the `if`.
// Everything else is a fresh buffer from the context's pool. Compiled
// kernels never write into an input's buffer: their loops read inputs as
// `noalias` (LowerToLLVM.h), so reuse happens through the pool instead, one
// instruction later.
#include "compiler/lowering/LowerFunctions.h"
#include "compiler/lowering/PairLoops.h"

#include <functional>
#include <map>
#include <set>

#include "compiler/RewriteUtils.h"
#include "ir/Fusion.h"
#include "kernels/reference/Dot.h"
#include "kernels/reference/Shape.h"

namespace cairn::codegen {
namespace {

using exec::Block;
using exec::InstKind;
using exec::Instruction;
using exec::Slot;

/// The GEMM plan of a `dot`, or nullopt when it is not one (batch dims not
/// leading and in order, contracting dims not one contiguous group on an end
/// of each operand, no contracting dim, or a dtype BLAS lacks).
std::optional<exec::GemmShape> planGemm(const Op& op) {
  if (op.numOperands() != 2) return std::nullopt;
  const TensorType& a = op.operand(0)->type;
  const TensorType& b = op.operand(1)->type;
  if (a.dtype != b.dtype || (a.dtype != DType::F32 && a.dtype != DType::F64)) return std::nullopt;
  kernels::DotDims d = kernels::DotDims::fromAttrs(op.attrs, a.rank());
  size_t nb = d.lhsBatch.size(), nc = d.lhsContract.size();
  if (d.rhsBatch.size() != nb || d.rhsContract.size() != nc || nc == 0) return std::nullopt;
  for (size_t i = 0; i < nb; ++i)
    if (d.lhsBatch[i] != static_cast<int64_t>(i) || d.rhsBatch[i] != static_cast<int64_t>(i))
      return std::nullopt;
  for (size_t i = 1; i < nc; ++i)
    if (d.lhsContract[i] != d.lhsContract[0] + static_cast<int64_t>(i) ||
        d.rhsContract[i] != d.rhsContract[0] + static_cast<int64_t>(i))
      return std::nullopt;
  int64_t first = static_cast<int64_t>(nb), lastA = a.rank() - static_cast<int64_t>(nc),
          lastB = b.rank() - static_cast<int64_t>(nc);
  exec::GemmShape g;
  g.batchDims = static_cast<int>(nb);
  g.contractDims = static_cast<int>(nc);
  if (d.lhsContract[0] == lastA)
    g.transA = false; // [batch, M, K]
  else if (d.lhsContract[0] == first)
    g.transA = true; // [batch, K, M]
  else
    return std::nullopt;
  if (d.rhsContract[0] == first)
    g.transB = false; // [batch, K, N]
  else if (d.rhsContract[0] == lastB)
    g.transB = true; // [batch, N, K]
  else
    return std::nullopt;
  return g;
}

class ProgramBuilder {
public:
  ProgramBuilder(const LowerOptions& o, KernelSource* kernels, LowerReport& report,
                 exec::LoweredFunction& p)
      : o_(o), kernels_(kernels), report_(report), p_(p) {}

  Status build(const Function& f) {
    p_.name = f.name;
    p_.loc = f.loc;
    p_.argTypes = f.argumentTypes();
    p_.resultTypes = f.resultTypes;
    for (Value* a : f.body().arguments())
      p_.args.push_back(slot(a));
    CAIRN_ASSIGN_OR_RETURN(p_.body, lowerBlock(f.body(), true));
    p_.numSlots = next_;
    return Status::ok();
  }

private:
  Slot slot(const Value* v) {
    auto [it, added] = slots_.emplace(v, next_);
    if (added) ++next_;
    return it->second;
  }
  std::vector<Slot> slots(const std::vector<Value*>& vs) {
    std::vector<Slot> out;
    for (const Value* v : vs)
      out.push_back(slot(v));
    return out;
  }

  /// `movable`: values of the enclosing block that die at the op owning
  /// `region` (an `if`), which its yields may move out.
  StatusOr<Block> lowerBlock(const Region& region, bool ownsArgs,
                             const std::set<const Value*>& movable = {});
  /// `dying`: the local values whose last use is `op`.
  Status lowerOp(const Op& op, Instruction& in, const std::function<bool(size_t)>& diesHere,
                 const std::vector<const Value*>& dying);
  void lowerKernel(const Op& op, Instruction& in);

  const LowerOptions& o_;
  KernelSource* kernels_;
  LowerReport& report_;
  exec::LoweredFunction& p_;
  std::map<const Value*, Slot> slots_;
  Slot next_ = 0;
};

StatusOr<Block> ProgramBuilder::lowerBlock(const Region& region, bool ownsArgs,
                                           const std::set<const Value*>& movable) {
  const auto& ops = region.ops();
  if (ops.empty() || !isTerminator(ops.back()->kind()))
    return errorf("error: region does not end in a terminator");
  // The values local to the region, numbered in definition order.
  std::map<const Value*, size_t> local;
  if (ownsArgs)
    for (Value* a : region.arguments())
      local.emplace(a, local.size());
  for (const auto& op : ops)
    for (Value* r : op->results())
      local.emplace(r, local.size());
  std::map<const Value*, size_t> lastUse;
  for (size_t i = 0; i < ops.size(); ++i)
    for (Value* v : externalUses(*ops[i]))
      if (local.count(v)) lastUse[v] = i;
  // In definition order, not the map's (the values' addresses): the same
  // module must lower to the same program, and an AOT object to the same
  // bytes.
  std::vector<std::vector<const Value*>> dyingAt(ops.size());
  for (const auto& [v, at] : lastUse)
    dyingAt[at].push_back(v);
  for (std::vector<const Value*>& dying : dyingAt)
    std::sort(dying.begin(), dying.end(),
              [&](const Value* a, const Value* b) { return local[a] < local[b]; });

  Block block;
  for (size_t i = 0; i + 1 < ops.size(); ++i) {
    const Op& op = *ops[i];
    Instruction in;
    in.op = &op;
    in.operands = slots(op.operands);
    in.results = slots(op.results());
    // Operand k of `op` is local, dies here and is read by no other operand
    // and by nothing nested in `op`.
    auto diesHere = [&](size_t k) {
      const Value* v = op.operand(k);
      if (!local.count(v) || lastUse[v] != i) return false;
      for (size_t j = 0; j < op.numOperands(); ++j)
        if (j != k && op.operand(j) == v) return false;
      for (size_t r = 0; r < op.numRegions(); ++r) {
        bool used = false;
        walk(op.region(r), [&](Op& inner) { used |= opUses(inner, v); });
        if (used) return false;
      }
      return true;
    };
    CAIRN_RETURN_IF_ERROR(lowerOp(op, in, diesHere, dyingAt[i]));
    for (const Value* v : dyingAt[i])
      in.frees.push_back(slot(v));
    for (Value* r : op.results())
      if (!lastUse.count(r)) in.frees.push_back(slot(r));
    block.insts.push_back(std::move(in));
  }
  std::set<const Value*> moved;
  for (Value* v : ops.back()->operands) {
    block.yields.push_back(slot(v));
    bool move = (local.count(v) || movable.count(v)) && moved.insert(v).second;
    block.moveYield.push_back(move);
  }
  if (o_.parallelLoops) CAIRN_RETURN_IF_ERROR(pairLoops(block, report_));
  return block;
}

void ProgramBuilder::lowerKernel(const Op& op, Instruction& in) {
  StatusOr<KernelDesc> desc = describeKernel(op);
  if (!desc.isOk() || !kernels_) return;
  int32_t index = kernels_->add(*desc);
  if (index < 0) return;
  in.kind = InstKind::Kernel;
  in.kernel = index;
  for (const KernelOutput& out : desc->outputs)
    in.outputTypes.push_back(out.type);
  if (desc->shape.isStatic()) {
    ++report_.kernelsStatic;
  } else {
    in.shape = std::make_shared<exec::KernelShape>(desc->shape);
    ++report_.kernelsDynamic;
  }
}

Status ProgramBuilder::lowerOp(const Op& op, Instruction& in,
                               const std::function<bool(size_t)>& diesHere,
                               const std::vector<const Value*>& dying) {
  in.kind = InstKind::Fallback;
  OpKind k = op.kind();
  if (k == OpKind::Constant) {
    auto it = op.attrs.find("value");
    if (it != op.attrs.end() && std::holds_alternative<Tensor>(it->second)) {
      StatusOr<Tensor> t =
          kernels::materializeConstant(std::get<Tensor>(it->second), op.result()->type);
      if (t.isOk()) {
        in.kind = InstKind::Constant;
        in.constant = static_cast<int32_t>(p_.constants.size());
        p_.constants.push_back(std::move(t).value());
      }
    }
  } else if (o_.kernels &&
             ((k == OpKind::Fusion && fusionKind(op) == kElementwiseFusion) || isElementwise(k))) {
    lowerKernel(op, in);
  } else if (k == OpKind::Dot && o_.blas) {
    if (auto g = planGemm(op)) {
      in.kind = InstKind::Gemm;
      in.gemm = *g;
      ++report_.gemms;
    }
  } else if (exec::isRowOp(k)) {
    in.kind = InstKind::Rows;
    ++report_.rows;
    bool update =
        k == OpKind::DynamicUpdateSlice || k == OpKind::Scatter || k == OpKind::ScatterAdd;
    if (update && o_.inPlace && diesHere(0)) {
      in.inPlace = true;
      ++report_.inPlace;
    }
  } else if (k == OpKind::Reshape || k == OpKind::StopGradient) {
    in.kind = InstKind::Alias;
    in.inPlace = o_.inPlace && op.numOperands() >= 1 && diesHere(0);
  } else if (k == OpKind::While) {
    in.kind = InstKind::While;
    size_t n = op.numResults();
    for (size_t i = 0; i < n; ++i) {
      Slot s = slot(op.result(i));
      in.carried.push_back(s);
      slots_[op.region(0).argument(i)] = s;
      slots_[op.region(1).argument(i)] = s;
      in.moveInit.push_back(i < op.numOperands() && diesHere(i));
    }
    CAIRN_ASSIGN_OR_RETURN(Block cond, lowerBlock(op.region(0), false));
    CAIRN_ASSIGN_OR_RETURN(Block body, lowerBlock(op.region(1), true));
    if (cond.yields.size() != 1)
      return errorf("{}error: 'while' op cond must yield one value", op.where());
    in.blocks.push_back(std::move(cond));
    in.blocks.push_back(std::move(body));
  } else if (k == OpKind::If) {
    in.kind = InstKind::If;
    // Only one branch runs, so each may move out a value that dies here
    // (a loop's tape passed through the branch that does not grow it).
    std::set<const Value*> movable(dying.begin(), dying.end());
    CAIRN_ASSIGN_OR_RETURN(Block thenB, lowerBlock(op.region(0), false, movable));
    CAIRN_ASSIGN_OR_RETURN(Block elseB, lowerBlock(op.region(1), false, movable));
    in.blocks.push_back(std::move(thenB));
    in.blocks.push_back(std::move(elseB));
  }
  if (in.kind == InstKind::Fallback) ++report_.fallbacks;
  return Status::ok();
}

} // namespace

StatusOr<LoweredFunctions> lowerFunctions(const Module& m, const LowerOptions& options,
                                          KernelSource* kernels, LowerReport* report) {
  LowerReport local;
  LowerReport& r = report ? *report : local;
  r = LowerReport();
  LoweredFunctions programs;
  for (const auto& f : m.functions()) {
    exec::LoweredFunction p;
    ProgramBuilder b(options, kernels, r, p);
    CAIRN_RETURN_IF_ERROR(b.build(*f));
    programs.emplace(f->name, std::move(p));
  }
  return programs;
}

} // namespace cairn::codegen
