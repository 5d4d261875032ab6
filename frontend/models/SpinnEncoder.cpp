// The SPINN encoder's graph: embedding, projection into the buffer, and one
// `while` over the transition steps that moves every row of the batch at once
// on the thin stack (docs/models.md, "SPINN encoder").
//
// The loop carries the step s, the pointers sp and bp [B] i32, the stack
// [B, N, 2H] (h and c of each item side by side), the tracker state and, in
// predicted mode, the record of moves and logits and the rng state. Push and
// pop are a `scatter` and `gather`s with batch_dims = 1 on the slot axis: one
// op for the whole batch whatever each row does. Per-row
// dynamic_update_slice would need a loop over rows (or a static B), and
// measured in the reference interpreter at B = 128, N = 25, 2H = 200, one
// push of the batch takes 2 ms as a scatter against 1.06 s as 128
// dynamic_update_slices (each copies the stack); the scatter also becomes
// in place once buffer assignment aliases the carried stack.
//
// Every row computes both a SHIFT and a REDUCE and `select` keeps the one
// its transition asks for; a row whose move is a no-op rewrites its own top
// item, so its stack is unchanged. Indices are clamped into range before
// every gather/scatter (out-of-range indices are run-time errors) and what a
// clamped read returns is masked where the slot does not exist.
#include <cmath>
#include <limits>

#include "frontend/models/Spinn.h"

namespace cairn {
namespace {

constexpr DType kI32 = DType::I32;

/// pred [B] i1 broadcast over the columns of a [B, width] value.
Val perRow(Val pred, Val batch, int64_t width) {
  return broadcastInDim(pred, {batch, width}, {0});
}

/// [B] -> [B, 1].
Val column(Val x, Val batch) {
  return reshape(x, {batch, 1});
}

void checkInput(bool ok, const char* what, const Val& v, const char* want) {
  if (!ok)
    throw BuildError(fmt::format("SpinnEncoder: {} must be {}, got {}", what, want,
                                 v.valid() ? v.type().toString() : std::string("nothing")));
}

bool isIntTensor(const Val& v, int64_t rank) {
  return v.valid() && isInteger(v.dtype()) && v.dtype() != DType::I1 && v.rank() == rank;
}

/// Positions of the loop-carried values.
struct Carried {
  bool tracker;
  size_t s = 0, sp = 1, bp = 2, stack = 3;
  size_t th() const { return 4; }
  size_t tc() const { return 5; }
  size_t moves() const { return tracker ? 6 : 4; }
  size_t logits() const { return moves() + 1; }
  size_t rng() const { return logits() + 1; }
  size_t logProb() const { return rng() + 1; } ///< sampled mode only
};

} // namespace

SpinnEncoder::SpinnEncoder(ParamStore& ps, const SpinnConfig& cfg) : cfg_(cfg) {
  if (cfg.vocab <= 0 || cfg.embed <= 0 || cfg.hidden <= 0 || cfg.trackerSize < 0)
    throw BuildError(fmt::format("SpinnEncoder: sizes must be positive (vocab {}, embed {}, "
                                 "hidden {}, tracker {})",
                                 cfg.vocab, cfg.embed, cfg.hidden, cfg.trackerSize));
  if (cfg.predictTransitions && cfg.trackerSize == 0)
    throw BuildError("SpinnEncoder: predicting transitions needs a tracker (trackerSize > 0)");
  embed_ = Embedding(ps, "embed", cfg.vocab, cfg.embed);
  projection_ = Linear(ps, "projection", cfg.embed, 2 * cfg.hidden);
  if (cfg.trackerSize > 0) tracker_ = Tracker(ps, "tracker", cfg.hidden, cfg.trackerSize);
  if (cfg.predictTransitions) predictor_ = TransitionPredictor(ps, "predictor", cfg.trackerSize);
  reduce_ = TreeLSTMReduce(ps, "reduce", cfg.hidden, cfg.trackerSize);
}

SpinnOutputs SpinnEncoder::operator()(Val tokens, Val transitions, Val lengths, Val rng) const {
  const SpinnConfig& cfg = cfg_;
  const bool predicted = cfg.predictTransitions, sampled = predicted && cfg.training;
  const bool tracked = cfg.trackerSize > 0;
  const int64_t H = cfg.hidden, T = cfg.trackerSize;
  checkInput(isIntTensor(tokens, 2), "tokens", tokens, "an i32/i64 tensor [B, N]");
  checkInput(isIntTensor(lengths, 1), "lengths", lengths, "an i32/i64 tensor [B]");
  if (predicted)
    checkInput(!transitions.valid(), "transitions", transitions, "absent in predicted mode");
  else
    checkInput(isIntTensor(transitions, 2), "transitions", transitions, "an i32/i64 tensor [B, T]");
  if (sampled)
    checkInput(rng.valid() && rng.type() == TensorType(DType::I64, {2}), "rng", rng,
               "tensor<2xi64> in predicted training mode");
  else
    checkInput(!rng.valid(), "rng", rng, "absent unless sampling transitions");

  FunctionBuilder& fb = tokens.builder();
  const Val lens = cast(lengths, kI32); // no name: may be the argument itself
  const Val batch = dim(tokens, 0, kI32).named("batch");
  const Val width = dim(tokens, 1, kI32).named("width"); // N: buffer and stack capacity
  const Val buffer = projection_(embed_(tokens)).named("buffer");
  const Val given = predicted ? Val() : cast(transitions, kI32);
  // Predicted mode: 2N - 1 steps (none for N = 0).
  const Val steps = (predicted ? max(width * 2.0 - 1.0, 0.0) : dim(given, 1, kI32)).named("steps");
  const Val lastSlot = (width - 1.0).named("last_slot");
  const Val doneAt = (lens * 2.0 - 1.0).named("done_at");

  auto hOf = [&](Val item) { return sliceAxis(item, -1, 0, H); };
  auto cOf = [&](Val item) { return sliceAxis(item, -1, H, 2 * H); };

  Carried at{tracked};
  const Val zero = fb.scalar(0, kI32);
  const Val zeroRows = broadcastTo(zero, {batch}).named("zero_rows");
  ValueList inits{zero, zeroRows, zeroRows,
                  broadcastTo(fb.scalar(0.0), {batch, width, 2 * H}).named("stack0")};
  if (tracked) {
    Val t0 = broadcastTo(fb.scalar(0.0), {batch, T}).named("tracker0");
    inits.push_back(t0);
    inits.push_back(t0);
  }
  if (predicted) {
    inits.push_back(broadcastTo(zero, {batch, steps}).named("moves0"));
    inits.push_back(broadcastTo(fb.scalar(0.0), {batch, steps, 2}).named("logits0"));
  }
  if (sampled) {
    inits.push_back(rng);
    inits.push_back(broadcastTo(fb.scalar(0.0), {batch}).named("log_prob0"));
  }

  ValueList out = fb.whileLoop(
      inits, [&](const ValueList& c) { return lt(c[at.s], steps).named("go"); },
      [&](const ValueList& c) {
        Val s = c[at.s].named("s"), sp = c[at.sp].named("sp"), bp = c[at.bp].named("bp");
        Val stack = c[at.stack].named("stack");

        // 1. Read the buffer top and the two stack tops (clamped, then masked).
        Val hasBuf = lt(bp, lens).named("has_buf");
        Val bufRow = gather(buffer, min(bp, lastSlot), 1, 1).named("buf_row");
        Val topRaw = gather(stack, max(sp - 1.0, 0.0), 1, 1).named("top_raw");
        Val secondRaw = gather(stack, max(sp - 2.0, 0.0), 1, 1).named("second_raw");
        Val bufTop = select(perRow(hasBuf, batch, 2 * H), bufRow, 0.0).named("buf_top");
        Val top = select(perRow(ge(sp, 1.0), batch, 2 * H), topRaw, 0.0).named("top");
        Val second = select(perRow(ge(sp, 2.0), batch, 2 * H), secondRaw, 0.0).named("second");

        // 2. Tracker. With compactTracker it runs on the live rows only
        // (gathered) and its new state is scattered over the carried one:
        // a row past its own last transition neither moves nor reads its
        // tracker again, and in a batch of different lengths most row-steps
        // are such rows.
        Val live = lt(s, doneAt).named("live");
        LstmState tracker;
        if (tracked) {
          Val th = c[at.th()].named("th"), tc = c[at.tc()].named("tc");
          if (cfg_.compactTracker) {
            Val rows = nonzero(live).named("tracker_rows");
            auto take = [&](Val x) { return gather(x, rows, 0); };
            LstmState t = tracker_(take(hOf(bufTop)), take(hOf(top)), take(hOf(second)),
                                   {take(th), take(tc)});
            tracker = {scatter(th, rows, t.h, 0).named("tracker_h"),
                       scatter(tc, rows, t.c, 0).named("tracker_c")};
          } else {
            tracker = tracker_(hOf(bufTop), hOf(top), hOf(second), {th, tc});
          }
        }

        // 3. The move: given, or predicted over the valid ones.
        Val canShift = logicalAnd(hasBuf, lt(sp, width)).named("can_shift");
        Val canReduce = ge(sp, 2.0).named("can_reduce");
        Val move, logits, nextRng, chosenLogProb;
        if (!predicted) {
          move = sliceAt(given, s, 1).named("move");
        } else {
          logits = predictor_(tracker.h).named("logits");
          Val invalid = concat(
              {column(logicalNot(canShift), batch), column(logicalNot(canReduce), batch)}, 1);
          Val masked =
              select(invalid, -std::numeric_limits<double>::infinity(), logits).named("masked");
          Val choice;
          if (sampled) {
            // Done rows may have no valid move; they draw from zeros instead.
            Val safe = select(perRow(live, batch, 2), masked, 0.0);
            RngResult r = rngCategorical(c[at.rng()], safe, kI32);
            choice = r.value;
            nextRng = r.state;
            // log pi(choice) under the masked policy actually sampled from
            // (0 for forced moves), for the REINFORCE estimator.
            chosenLogProb = reshape(gather(logSoftmax(safe, -1), choice, 1, 1), {batch});
          } else {
            choice = argmax(masked, 1, kI32); // ties: the first index, SHIFT
          }
          move = (choice + 1.0).named("move");
        }
        Val doShift = logicalAnd(logicalAnd(eq(move, 1.0), canShift), live).named("do_shift");
        Val doReduce = logicalAnd(logicalAnd(eq(move, 2.0), canReduce), live).named("do_reduce");
        Val acts = logicalOr(doShift, doReduce).named("acts");

        // 4. Apply: the item each row writes, `select` per row.
        Val slot =
            select(doShift, sp, select(doReduce, sp - 2.0, max(sp - 1.0, 0.0))).named("slot");
        // With compactReduce, the Reduce runs on the reducing rows only
        // (gathered), and its items are scattered over the others'.
        Val rows = cfg_.compactReduce ? nonzero(doReduce).named("reduce_rows") : Val();
        auto reducing = [&](Val x, const char* name) {
          return rows.valid() ? gather(x, rows, 0).named(name) : x;
        };
        Val l = reducing(second, "reduce_left"), r = reducing(top, "reduce_right");
        LstmState reduced = reduce_({hOf(l), cOf(l)}, {hOf(r), cOf(r)},
                                    tracked ? reducing(tracker.h, "reduce_track") : Val());
        Val reducedItem = concat({reduced.h, reduced.c}, 1).named("reduced");
        Val item = (rows.valid()
                        ? scatter(select(perRow(doShift, batch, 2 * H), bufRow, topRaw), rows,
                                  reducedItem, 0)
                        : select(perRow(doShift, batch, 2 * H), bufRow,
                                 select(perRow(doReduce, batch, 2 * H), reducedItem, topRaw)))
                       .named("item");
        ValueList next(c.size());
        next[at.s] = (s + 1.0).named("s_next");
        next[at.sp] = select(doShift, sp + 1.0, select(doReduce, sp - 1.0, sp)).named("sp_next");
        next[at.bp] = select(doShift, bp + 1.0, bp).named("bp_next");
        next[at.stack] = scatter(stack, slot, item, 1, 1).named("stack_next");
        if (tracked) {
          Val keep = perRow(acts, batch, T);
          next[at.th()] = select(keep, tracker.h, c[at.th()]).named("th_next");
          next[at.tc()] = select(keep, tracker.c, c[at.tc()]).named("tc_next");
        }
        if (predicted) {
          next[at.moves()] =
              updateAt(c[at.moves()], s, select(acts, move, 0.0), 1).named("moves_next");
          next[at.logits()] = updateAt(c[at.logits()], s, logits, 1).named("logits_next");
        }
        if (sampled) {
          next[at.rng()] = nextRng;
          next[at.logProb()] =
              (c[at.logProb()] + select(acts, chosenLogProb, 0.0)).named("log_prob_next");
        }
        return next;
      },
      steps);

  // 5. The root: h of the top item (zeros for an empty stack).
  Val sp = out[at.sp];
  Val root = gather(out[at.stack], max(sp - 1.0, 0.0), 1, 1);
  SpinnOutputs result;
  result.h = select(perRow(ge(sp, 1.0), batch, H), hOf(root), 0.0).named("root_h");
  if (predicted) {
    result.transitions = out[at.moves()].named("moves");
    result.logits = out[at.logits()].named("move_logits");
  }
  if (sampled) {
    result.rng = out[at.rng()].named("rng_out");
    result.logProb = out[at.logProb()].named("log_prob");
  }
  return result;
}

Val transitionCrossEntropy(Val logits, Val transitions) {
  Val given = cast(transitions, kI32);
  Val logp = logSoftmax(logits, -1);
  Val target = min(max(given - 1.0, 0.0), 1.0);
  Val picked = gather(logp, target, 2, 2); // [B, T]
  Val counted = cast(ne(given, 0.0), logits.dtype());
  Val total = reduceSum(counted * picked, {0, 1});
  Val count = max(reduceSum(counted, {0, 1}), 1.0);
  return (neg(total) / count).named("transition_loss");
}

} // namespace cairn
