// The greedy IR reducer (see Reducer.h for the algorithm).
#include "compiler/testing/Reducer.h"

#include "compiler/Pipeline.h"
#include "compiler/RewriteUtils.h"
#include "compiler/testing/Backend.h"
#include "ir/Verifier.h"

namespace cairn {
namespace {

/// The `index`-th op of `m` in walk order (functions in order, pre-order).
Op* opAt(Module& m, size_t index) {
  Op* found = nullptr;
  size_t i = 0;
  for (auto& f : m.functions())
    walk(*f, [&](Op& op) {
      if (i++ == index) found = &op;
    });
  return found;
}

size_t countOps(const Module& m) {
  size_t n = 0;
  for (auto& f : m.functions())
    walk(*f, [&](Op&) { ++n; });
  return n;
}

/// Rewires the uses of `op`'s results and erases it; false when some result
/// has no replacement of its type.
bool replaceOp(Op& op, bool withZeros) {
  Function* f = op.parentFunction();
  std::map<Value*, Value*> mapping;
  for (Value* r : op.results()) {
    Value* with = nullptr;
    if (!withZeros) {
      for (Value* v : op.operands)
        if (v->type == r->type) with = v;
    } else if (r->type.hasStaticShape()) {
      with = f->body().insert(0, makeConstantOp(Tensor(r->type)))->result();
    }
    if (!with) return false;
    mapping[r] = with;
  }
  replaceAllUsesWith(f->body(), mapping);
  op.parentRegion()->erase(&op);
  return true;
}

bool isTerminatorOrConstant(const Op& op) {
  return op.kind() == OpKind::Return || op.kind() == OpKind::Yield ||
         op.kind() == OpKind::Constant || op.numResults() == 0;
}

} // namespace

std::unique_ptr<Module> reduceProgram(const Module& m,
                                      const std::function<bool(const Module&)>& stillFails,
                                      int maxRounds) {
  std::unique_ptr<Module> best = cloneModule(m);
  // Every candidate verifies before `stillFails` sees it (a call to an
  // erased function, an op used outside its region are rejected here).
  auto accept = [&](std::unique_ptr<Module>& candidate) {
    if (!verify(*candidate).isOk() || !stillFails(*candidate)) return false;
    best = std::move(candidate);
    return true;
  };
  for (int round = 0; round < maxRounds; ++round) {
    bool changed = false;
    // 1. Fewer results of the entry function (the last function).
    for (size_t r = best->functions().back()->resultTypes.size(); r-- > 1;) {
      std::unique_ptr<Module> c = cloneModule(*best);
      Function& f = *c->functions().back();
      Op* ret = f.body().terminator();
      ret->operands.erase(ret->operands.begin() + static_cast<std::ptrdiff_t>(r));
      f.resultTypes.erase(f.resultTypes.begin() + static_cast<std::ptrdiff_t>(r));
      (void)runPipeline(*c, {"dce"});
      changed |= accept(c);
    }
    // 2. Functions nothing calls any more (the entry stays).
    for (size_t i = best->functions().size() - 1; i-- > 0;) {
      std::unique_ptr<Module> c = cloneModule(*best);
      c->eraseFunction(c->functions()[i].get());
      changed |= accept(c);
    }
    // 3. Ops, last to first.
    for (size_t i = countOps(*best); i-- > 0;) {
      if (i >= countOps(*best)) continue;
      if (isTerminatorOrConstant(*opAt(*best, i))) continue;
      for (bool zeros : {false, true}) {
        std::unique_ptr<Module> c = cloneModule(*best);
        if (!replaceOp(*opAt(*c, i), zeros)) continue;
        if (!runPipeline(*c, {"dce"}).isOk()) continue;
        if (accept(c)) {
          changed = true;
          break;
        }
      }
    }
    if (!changed) break;
  }
  return best;
}

} // namespace cairn
