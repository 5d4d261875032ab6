// The state of one buildGradient run, shared by the driver (Gradient.cpp),
// the control-flow rules (WhileGradient.cpp, IfGradient.cpp) and the op rules
// (VjpRules.cpp). Internal to compiler/autodiff.
//
// Vocabulary: "forward" values are those of the function being
// differentiated (a clone of f, extended in place: loops gain tapes);
// "backward" code is appended after it. A rule reads forward values through
// primal(), which returns something usable at the current insertion point:
// the value itself, or its row of a tape when the value lives in the body of
// a loop being differentiated.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "frontend/Builder.h"
#include "ir/IR.h"

namespace cairn::autodiff {

/// Adjoints (d loss / d value) of forward values, as backward Vals.
using AdjointMap = std::map<Value*, Val>;

/// One `while` whose body is being differentiated: reading its body's values
/// goes through tapes filled by the augmented forward loop.
struct LoopLevel {
  Op* forwardWhile = nullptr;
  Val index;                      ///< the backward loop's iteration index (i64)
  std::vector<Value*> taped;      ///< body values whose tapes were requested
  std::map<Value*, Value*> tapeOf; ///< body value -> placeholder for its tape
  Region scratch;                 ///< owns the placeholders (as its arguments)
};

/// Marks a `while` whose gradient recomputes it from its inputs inside the
/// enclosing backward code instead of taping it in the forward pass
/// (checkpointing; removed from the finished gradient function).
inline constexpr const char* kRecomputeAttr = "autodiff_recompute";

/// Strip-mines every loop of `g` into segments of `k` iterations whose inner
/// loops recompute (Checkpointing.cpp).
void checkpointLoops(FunctionBuilder& fb, Function& g, int64_t k);

/// The outermost region enclosing `r` (a function body, or the region of an
/// op still being built and not yet inserted anywhere): where every use of a
/// value defined in `r` can be found.
Region& rootRegion(Region& r);

/// Values used inside `region` (nested included) but defined outside it, in
/// first-use order.
std::vector<Value*> freeValues(const Region& region);

class GradientContext {
public:
  GradientContext(FunctionBuilder& fb, Function& f) : fb(fb), f(f) {}

  FunctionBuilder& fb;
  Function& f; ///< the function being extended

  // ---- Activity: float values derived from a `wrt` argument ---------------
  bool isActive(const Value* v) const { return active_.count(v) != 0; }
  void markActive(const Value* v) { active_.insert(v); }
  /// Propagates activity through `region` (values defined outside it are
  /// already classified), to a fixpoint over loops.
  void analyzeActivity(const Region& region);

  // ---- Reading forward values from backward code ---------------------------
  /// `v` as usable at the insertion point.
  Val primal(Value* v);
  /// Sizes of `v`'s dims: static ints, and run-time Vals for dynamic dims
  /// (traced to loop-invariant values where possible, taped otherwise).
  Sizes dims(Value* v);
  /// A zero tensor shaped like forward value `v`.
  Val zerosLike(Value* v);
  /// For a value of `body` (a loop's forward body) whose dim 0 changes
  /// from iteration to iteration because it counts the set elements of a
  /// `nonzero` in that body (SPINN's reducing rows): that `nonzero`'s mask,
  /// whose length bounds it. Its tape is then ragged: [trips, mask length
  /// in the first iteration, ...], row k holding the iteration's rows
  /// first; the read takes back the first ones. Null otherwise.
  Value* raggedMask(Value* v, const Region& body) const;

  // ---- Adjoint bookkeeping --------------------------------------------------
  /// adj[v] += g (g is reshaped to v's type when only static-ness differs).
  void accumulate(AdjointMap& adj, Value* v, Val g);
  /// a + g for two gradients of one value; a scatter_add into zeros (a
  /// gather's gradient) on either side becomes a scatter_add into the other.
  Val addGradients(Val a, Val g);
  /// Runs the backward sweep of `region`'s ops (terminator excluded), in
  /// reverse, reading result adjoints from and accumulating operand adjoints
  /// into `adj`.
  void sweep(Region& region, AdjointMap& adj);
  /// The same over a list of ops in program order.
  void sweepOps(const std::vector<Op*>& ops, AdjointMap& adj);

  // ---- Loops ------------------------------------------------------------------
  std::vector<LoopLevel*> levels; ///< innermost last
  /// Replaces forward op `from` by `to` (same leading results): uses are
  /// rewritten, the context's tables are rekeyed and `from` is kept alive
  /// (never reused addresses) until the context dies.
  void replaceForwardOp(Op* from, Op* to);

private:
  /// The innermost level whose forward body defines `v` at its top level.
  LoopLevel* owningLevel(const Value* v) const;
  /// Whether `v` is defined in `region` or nested inside it.
  static bool definedWithin(const Value* v, const Region& region);
  /// (value, axis) whose run-time size equals v's dim `axis`, as far as it
  /// can be traced through shape-preserving ops and loop-invariant carries;
  /// `scalar` is set instead when the size is a scalar size operand.
  struct DimSource {
    Value* value = nullptr;
    int64_t axis = 0;
    Value* scalar = nullptr;
  };
  DimSource resolveDim(Value* v, int64_t axis, int depth = 0) const;
  bool carriedDimInvariant(const Op& loop, size_t j, int64_t axis, int depth) const;
  /// A forward `dim` of (v, axis) inserted right after v's definition (cached).
  Value* forwardDim(Value* v, int64_t axis);

  /// (loop, carried index, axis) whose invariance is being decided.
  mutable std::set<std::tuple<const Op*, size_t, int64_t>> invarianceInProgress_;
  std::set<const Value*> active_;
  /// primal() results per (insertion region, forward value).
  std::map<std::pair<const Region*, const Value*>, Val> primalCache_;
  std::map<std::pair<const Value*, int64_t>, Value*> forwardDims_;
  std::vector<std::unique_ptr<Op>> graveyard_;
};

} // namespace cairn::autodiff
