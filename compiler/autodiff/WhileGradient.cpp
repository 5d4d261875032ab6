// The gradient of `while`: tape what the backward body reads, then run the
// iterations backwards.
//
//   forward (augmented)                     backward
//   %r:.. = while (%x = %x0, ...,           %i0 = %n - 1
//                  %tape_v = zeros,          while (%i = %i0, %dx = %dr, %acc_w = 0)
//                  %k = 0)                     cond: %i >= 0
//     body: ... v ...                          body: v_i = tape_v[%i]
//           %tape_v' = tape_v[%k] <- v               (backward sweep of the body)
//           yield ..., %tape_v', %k + 1              yield %i - 1, d(body args), %acc_w + dw
//   %n = %r#counter                          d(init) += %dx_final; dw += %acc_w_final
//
// Tapes are [bound, ...shape of v]: the bound is the loop's max_trip operand,
// or, without one, the trip count of an uninstrumented copy run first. A
// tape of a value with dynamic dims is allocated in the first iteration
// (where those sizes are known). A value whose row count changes per
// iteration (it counts a `nonzero` of the body) has a ragged tape: rows
// bounded by the mask's length, each iteration's rows first in its row of
// the tape (GradientContext::raggedMask). The loop is rewritten in two
// steps (a trip counter first, so the backward loop can start from it; the
// tapes once the backward body has said which values it reads), each
// replacing the op.
#include <fmt/format.h>

#include "compiler/autodiff/VjpRules.h"

namespace cairn::autodiff {

namespace {

using ExtendFn = std::function<ValueList(const ValueList& extraArgs)>;

/// Replaces `loop` by a copy that also carries `extraInits`; `extend` emits,
/// at the end of the body, the next values of the extra carried values from
/// their body arguments. Returns the new op (results: the old ones, then the
/// extra ones).
Op* augmentWhile(GradientContext& ctx, Op& loop, const ValueList& extraInits,
                 const ExtendFn& extend) {
  size_t n = loop.numResults();
  bool hasMax = loop.numOperands() > n;
  std::vector<Value*> operands(loop.operands.begin(), loop.operands.begin() + n);
  std::vector<TensorType> types;
  for (Value* r : loop.results())
    types.push_back(r->type);
  for (const Val& v : extraInits) {
    operands.push_back(v.value());
    types.push_back(v.type());
  }
  if (hasMax) operands.push_back(loop.operand(n));
  std::unique_ptr<Op> fresh = Op::create(OpKind::While, operands, types, loop.attrs, 2, loop.loc);

  std::map<Value*, Value*> argMap;
  ValueList extraArgs;
  for (size_t r = 0; r < 2; ++r) {
    Region& from = loop.region(r);
    Region& to = fresh->region(r);
    for (size_t k = 0; k < types.size(); ++k) {
      Value* a = to.addArgument(types[k], k < n ? from.argument(k)->name : "");
      if (k < n) {
        argMap[from.argument(k)] = a;
        if (ctx.isActive(from.argument(k))) ctx.markActive(a);
      }
      else if (r == 1)
        extraArgs.emplace_back(ctx.fb, a);
    }
    while (!from.empty())
      to.append(from.take(from.ops().front().get()));
  }
  Region& body = fresh->region(1);
  Op* yield = body.terminator();
  {
    FunctionBuilder::InsertionGuard guard(ctx.fb, body, yield);
    for (const Val& v : extend(extraArgs))
      yield->operands.push_back(v.value());
  }
  // Last, so the extension's reads of old body arguments are rewritten too.
  replaceAllUsesWith(fresh->region(0), argMap);
  replaceAllUsesWith(body, argMap);

  Region& home = *loop.parentRegion();
  Op* placed = home.insert(home.indexOf(&loop), std::move(fresh));
  ctx.replaceForwardOp(&loop, placed);
  return placed;
}

/// A trip counter carried by `loop`: 0 before, +1 per iteration.
Op* addTripCounter(GradientContext& ctx, Op& loop) {
  Val zero;
  {
    FunctionBuilder::InsertionGuard guard(ctx.fb, *loop.parentRegion(), &loop);
    zero = ctx.fb.scalar(0, DType::I64);
  }
  return augmentWhile(ctx, loop, {zero}, [&](const ValueList& k) { return ValueList{k[0] + 1.0}; });
}

/// The tape bound, as a forward i64 scalar before `loop`: its max_trip
/// operand, or the trip count of a plain copy run first.
Val tapeBound(GradientContext& ctx, Op& loop) {
  Region& home = *loop.parentRegion();
  size_t n = loop.numResults();
  if (loop.numOperands() > n) {
    FunctionBuilder::InsertionGuard guard(ctx.fb, home, &loop);
    return cast(Val(ctx.fb, loop.operand(n)), DType::I64);
  }
  std::map<const Value*, Value*> mapping;
  Op* copy = home.insert(home.indexOf(&loop), loop.clone(mapping));
  Op* counted = addTripCounter(ctx, *copy);
  return Val(ctx.fb, counted->result(counted->numResults() - 1));
}

} // namespace

namespace {

std::vector<Val> whileVjpTaped(GradientContext& ctx, Op& original, const std::vector<Val>& dResults,
                               AdjointMap& adj) {
  FunctionBuilder& fb = ctx.fb;
  const size_t n = original.numResults();
  Val bound = tapeBound(ctx, original);
  Op* loop = addTripCounter(ctx, original); // `original` is gone from here on

  std::vector<size_t> carried; // active carried values
  for (size_t j = 0; j < n; ++j)
    if (ctx.isActive(loop->result(j))) carried.push_back(j);
  std::vector<Value*> captured;
  for (Value* v : freeValues(loop->region(1)))
    if (ctx.isActive(v)) captured.push_back(v);

  ValueList inits = {ctx.primal(loop->result(n)) - 1.0};
  for (size_t j : carried)
    inits.push_back(dResults[j].valid() ? dResults[j] : ctx.zerosLike(loop->result(j)));
  for (Value* c : captured)
    inits.push_back(ctx.zerosLike(c));

  LoopLevel level;
  level.forwardWhile = loop;
  ValueList out = fb.whileLoop(
      inits, [&](const ValueList& c) { return ge(c[0], 0.0); },
      [&](const ValueList& c) {
        level.index = c[0];
        ctx.levels.push_back(&level);
        Region& body = loop->region(1);
        AdjointMap local;
        Op* yield = body.terminator();
        for (size_t t = 0; t < carried.size(); ++t)
          if (ctx.isActive(yield->operand(carried[t])))
            ctx.accumulate(local, yield->operand(carried[t]), c[1 + t]);
        ctx.sweep(body, local);
        ValueList next = {c[0] - 1.0};
        for (size_t j : carried) {
          auto it = local.find(body.argument(j));
          next.push_back(it != local.end() ? it->second : ctx.zerosLike(body.argument(j)));
        }
        for (size_t t = 0; t < captured.size(); ++t) {
          Val acc = c[1 + carried.size() + t];
          auto it = local.find(captured[t]);
          next.push_back(it != local.end() ? ctx.addGradients(acc, it->second) : acc);
        }
        ctx.levels.pop_back();
        return next;
      });
  Op* backward = out[0].value()->definingOp();

  // Now the tapes the backward body asked for.
  ValueList tapeInits;
  std::vector<bool> dynamicTape;
  std::vector<Value*> raggedMasks; // a ragged tape's bound: its mask's length
  {
    FunctionBuilder::InsertionGuard guard(fb, *loop->parentRegion(), loop);
    for (Value* v : level.taped) {
      bool dyn = !isStatic(v->type.shape);
      dynamicTape.push_back(dyn);
      raggedMasks.push_back(ctx.raggedMask(v, loop->region(1)));
      // A dynamic tape starts empty and is allocated in iteration 0.
      Sizes shape = {bound};
      for (int64_t d : v->type.shape)
        shape.push_back(d == kDynamic ? IntOrVal(fb.intValue(0)) : IntOrVal(d));
      tapeInits.push_back(broadcastTo(fb.scalar(0.0, v->type.dtype), shape));
    }
  }
  std::vector<Value*> taped = level.taped;
  Op* recorded = augmentWhile(ctx, *loop, tapeInits, [&](const ValueList& tapes) {
    Val k(fb, loop->region(1).argument(n)); // the trip counter, before its update
    ValueList current = tapes;
    ValueList dynIdx;
    for (size_t t = 0; t < tapes.size(); ++t)
      if (dynamicTape[t]) dynIdx.push_back(tapes[t]);
    if (!dynIdx.empty()) {
      ValueList fresh = fb.ifElse(
          eq(k, 0.0),
          [&] {
            ValueList allocated;
            for (size_t t = 0; t < tapes.size(); ++t) {
              if (!dynamicTape[t]) continue;
              Val v(fb, taped[t]);
              Sizes shape = {bound};
              for (int64_t d = 0; d < v.rank(); ++d) {
                if (d == 0 && raggedMasks[t]) // every iteration's rows fit (same-length masks)
                  shape.push_back(dim(Val(fb, raggedMasks[t]), 0));
                else
                  shape.push_back(v.shape()[d] == kDynamic ? IntOrVal(dim(v, d)) : IntOrVal(v.shape()[d]));
              }
              allocated.push_back(broadcastTo(fb.scalar(0.0, v.dtype()), shape));
            }
            return allocated;
          },
          [&] { return dynIdx; });
      for (size_t t = 0, f = 0; t < tapes.size(); ++t)
        if (dynamicTape[t]) current[t] = fresh[f++];
    }
    ValueList next;
    for (size_t t = 0; t < tapes.size(); ++t)
      next.push_back(updateAt(current[t], k, Val(fb, taped[t])));
    return next;
  });

  // Point the backward body's placeholders at the tapes, read where the
  // backward loop runs, and move the loop after those reads.
  Region& here = *backward->parentRegion();
  std::unique_ptr<Op> moved = here.take(backward);
  std::map<Value*, Value*> tapeValues;
  for (size_t t = 0; t < taped.size(); ++t) {
    tapeValues[level.tapeOf.at(taped[t])] = ctx.primal(recorded->result(n + 1 + t)).value();
  }
  Op* placedBackward = fb.insert(std::move(moved));
  for (size_t r = 0; r < 2; ++r)
    replaceAllUsesWith(placedBackward->region(r), tapeValues);

  for (size_t t = 0; t < captured.size(); ++t)
    ctx.accumulate(adj, captured[t], Val(fb, placedBackward->result(1 + carried.size() + t)));
  std::vector<Val> dOperands(original.numOperands());
  for (size_t t = 0; t < carried.size(); ++t)
    dOperands[carried[t]] = Val(fb, placedBackward->result(1 + t));
  return dOperands;
}

/// A loop marked for recomputation (a checkpointing segment): re-run it in
/// the backward code from its inputs, read through primal() (so the
/// enclosing loop tapes only those), and differentiate the copy, whose
/// tapes live only while this backward step runs.
std::vector<Val> whileVjpRecomputed(GradientContext& ctx, Op& original,
                                    const std::vector<Val>& dResults, AdjointMap& adj) {
  std::map<const Value*, Value*> mapping;
  std::vector<Value*> inputs(original.operands.begin(), original.operands.end());
  for (size_t r = 0; r < 2; ++r)
    for (Value* v : freeValues(original.region(r)))
      inputs.push_back(v);
  for (Value* v : inputs)
    if (!mapping.count(v)) mapping[v] = ctx.primal(v).value();
  Op* copy = ctx.fb.insert(original.clone(mapping));
  for (const auto& [from, to] : mapping)
    if (ctx.isActive(from)) ctx.markActive(to);
  AdjointMap local;
  std::vector<Val> dOperands = whileVjpTaped(ctx, *copy, dResults, local);
  // The copy's captured values are the primal reads; credit the originals.
  for (Value* v : inputs) {
    auto it = local.find(mapping.at(v));
    if (it == local.end() || mapping.at(v) == v) continue;
    ctx.accumulate(adj, v, it->second);
    local.erase(it);
  }
  for (auto& [v, g] : local)
    ctx.accumulate(adj, v, g);
  return dOperands;
}

} // namespace

std::vector<Val> whileVjp(GradientContext& ctx, Op& op, const std::vector<Val>& dResults,
                          AdjointMap& adj) {
  if (op.hasAttr(kRecomputeAttr)) return whileVjpRecomputed(ctx, op, dResults, adj);
  return whileVjpTaped(ctx, op, dResults, adj);
}

} // namespace cairn::autodiff
