// The gradient of `if`: an `if` on the same predicate whose branches
// recompute their forward branch and sweep it backwards, yielding the
// adjoints of the values the branches capture.
//
// Recomputing instead of passing the branch's intermediates out keeps the
// forward `if` unchanged (its branches may not even share result types for
// intermediates) and costs one extra evaluation of the taken branch.
#include "compiler/autodiff/VjpRules.h"

namespace cairn::autodiff {

std::vector<Val> ifVjp(GradientContext& ctx, Op& op, const std::vector<Val>& dResults,
                       AdjointMap& adj) {
  FunctionBuilder& fb = ctx.fb;
  std::vector<Value*> captured; // active values either branch reads from outside
  std::set<Value*> seen;
  for (size_t r = 0; r < 2; ++r)
    for (Value* v : freeValues(op.region(r)))
      if (ctx.isActive(v) && seen.insert(v).second) captured.push_back(v);

  auto branch = [&](size_t r) {
    Region& src = op.region(r);
    std::map<const Value*, Value*> mapping;
    for (Value* v : freeValues(src))
      mapping[v] = ctx.primal(v).value();
    std::vector<Op*> clones;
    for (const auto& fwd : src.ops())
      if (!isTerminator(fwd->kind())) clones.push_back(fb.insert(fwd->clone(mapping)));
    for (const auto& [from, to] : mapping)
      if (ctx.isActive(from)) ctx.markActive(to);

    AdjointMap local;
    Op* yield = src.terminator();
    for (size_t k = 0; k < dResults.size(); ++k) {
      Value* y = yield->operand(k);
      if (!dResults[k].valid() || !ctx.isActive(y)) continue;
      auto m = mapping.find(y);
      ctx.accumulate(local, m != mapping.end() ? m->second : y, dResults[k]);
    }
    ctx.sweepOps(clones, local);

    ValueList out;
    for (Value* c : captured) {
      auto m = mapping.find(c);
      auto a = m != mapping.end() ? local.find(m->second) : local.end();
      out.push_back(a != local.end() ? a->second : ctx.zerosLike(c));
    }
    return out;
  };
  ValueList grads = fb.ifElse(ctx.primal(op.operand(0)), [&] { return branch(0); },
                              [&] { return branch(1); });
  for (size_t t = 0; t < captured.size(); ++t)
    ctx.accumulate(adj, captured[t], grads[t]);
  return {};
}

} // namespace cairn::autodiff
