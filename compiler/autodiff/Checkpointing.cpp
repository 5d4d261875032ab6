// Checkpointing for long loops (GradOptions::loopCheckpointEvery = k):
// trade compute for tape memory, as in Griewank's checkpointing.
//
// Each `while` is strip-mined into segments of k iterations:
//
//   while (x = x0, t = 0) [max_trip ceil(m / k)] cond { C(x) } body {
//     %r = while (y = x, j = 0) max_trip min(k, m - t) cond { C(y) && j < k }
//                                                      body { B(y), j + 1 }
//     yield %r#0, t + %r#1
//   }
//
// (m: the loop's max_trip; without one the inner bound is k and the outer
// loop has none.) The inner loops carry kRecomputeAttr: their gradient
// re-runs the segment from its taped inputs inside the outer backward body
// and tapes only that segment (WhileGradient.cpp). So the forward pass
// stores the carried values once per segment, the backward pass k rows of
// residuals at a time: O(n/k + k) rows instead of O(n), for one extra
// forward pass. Running past max_trip stays the same run-time error.
#include "compiler/autodiff/GradientContext.h"

namespace cairn::autodiff {

namespace {

/// Clones `from`'s ops (not its terminator) at the insertion point, with
/// its arguments bound to `args`; returns the values its terminator yields.
ValueList inlineRegion(FunctionBuilder& fb, const Region& from, const ValueList& args) {
  std::map<const Value*, Value*> mapping;
  for (size_t i = 0; i < args.size(); ++i)
    mapping[from.argument(i)] = args[i].value();
  for (const auto& op : from.ops())
    if (!isTerminator(op->kind())) fb.insert(op->clone(mapping));
  ValueList out;
  for (Value* v : from.terminator()->operands) {
    auto it = mapping.find(v);
    out.emplace_back(fb, it != mapping.end() ? it->second : v);
  }
  return out;
}

void stripMine(FunctionBuilder& fb, Op& loop, int64_t k) {
  const size_t n = loop.numResults();
  const bool hasMax = loop.numOperands() > n;
  Region& home = *loop.parentRegion();
  ValueList results;
  {
    FunctionBuilder::InsertionGuard guard(fb, home, &loop);
    ValueList inits;
    for (size_t i = 0; i < n; ++i)
      inits.emplace_back(fb, loop.operand(i));
    Val total0 = fb.scalar(0, DType::I64);
    Val maxTrip = hasMax ? cast(Val(fb, loop.operand(n)), DType::I64) : Val();
    inits.push_back(total0);
    std::optional<IntOrVal> outerBound;
    if (hasMax) outerBound = IntOrVal((maxTrip + static_cast<double>(k - 1)) / static_cast<double>(k));
    Op* inner = nullptr;
    results = fb.whileLoop(
        inits,
        [&](const ValueList& c) {
          return inlineRegion(fb, loop.region(0), ValueList(c.begin(), c.begin() + n))[0];
        },
        [&](const ValueList& c) {
          ValueList segInits(c.begin(), c.begin() + n);
          segInits.push_back(fb.scalar(0, DType::I64));
          Val bound = hasMax ? min(maxTrip - c[n], static_cast<double>(k)) : fb.scalar(k, DType::I64);
          ValueList seg = fb.whileLoop(
              segInits,
              [&](const ValueList& d) {
                Val go = inlineRegion(fb, loop.region(0), ValueList(d.begin(), d.begin() + n))[0];
                return logicalAnd(go, lt(d[n], static_cast<double>(k)));
              },
              [&](const ValueList& d) {
                ValueList next =
                    inlineRegion(fb, loop.region(1), ValueList(d.begin(), d.begin() + n));
                next.push_back(d[n] + 1.0);
                return next;
              },
              IntOrVal(bound));
          inner = seg[0].value()->definingOp();
          ValueList next(seg.begin(), seg.begin() + n);
          next.push_back(c[n] + seg[n]);
          return next;
        },
        outerBound);
    inner->attrs[kRecomputeAttr] = int64_t{1};
  }
  std::map<Value*, Value*> mapping;
  for (size_t i = 0; i < n; ++i)
    mapping[loop.result(i)] = results[i].value();
  replaceAllUsesWith(rootRegion(home), mapping);
  home.erase(&loop);
}

} // namespace

void checkpointLoops(FunctionBuilder& fb, Function& g, int64_t k) {
  std::vector<Op*> loops;
  walk(g, [&](Op& op) {
    if (op.kind() == OpKind::While) loops.push_back(&op);
  });
  // Innermost first, so an outer loop's copy of its body holds the
  // strip-mined inner loops.
  for (auto it = loops.rbegin(); it != loops.rend(); ++it)
    stripMine(fb, **it, k);
}

} // namespace cairn::autodiff
