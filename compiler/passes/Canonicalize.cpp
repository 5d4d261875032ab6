// Canonicalize: the folding driver and the table of simplification patterns.
//
// A pattern looks at one op and either declines (std::nullopt), rewrites the
// op in place (an empty replacement list), or names one replacement value
// per result; the driver then redirects the uses and erases the op. Patterns
// may insert new ops before the op through the Rewriter.
#include "compiler/passes/Canonicalize.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "compiler/RewriteUtils.h"
#include "runtime/reference/Interpreter.h"

namespace cairn {
namespace {

/// Where a pattern may insert ops: before the op being rewritten.
struct Rewriter {
  Region& region;
  size_t index; ///< current position of the op being rewritten
  Op* insertBefore(std::unique_ptr<Op> op) { return region.insert(index++, std::move(op)); }
};

using Replacement = std::optional<std::vector<Value*>>;
using PatternFn = Replacement (*)(Op&, Rewriter&);

Replacement replaceWith(Value* v) {
  return std::vector<Value*>{v};
}

/// `replacement`, inserted before `op`, stands for op's one result (under
/// its printed name, so the IR stays readable).
Replacement replaceWithNew(Op& op, Rewriter& rw, std::unique_ptr<Op> replacement) {
  Op* r = rw.insertBefore(std::move(replacement));
  r->result()->name = op.result()->name;
  return replaceWith(r->result());
}

template <typename Pred> bool allElements(const Tensor& t, Pred pred) {
  for (int64_t i = 0; i < t.numElements(); ++i)
    if (!pred(i)) return false;
  return true;
}

/// `v` is a constant whose every element is the integer `k` (i32/i64 only).
bool isIntSplat(const Value* v, int64_t k) {
  const Tensor* t = constantValue(v);
  return t && isInteger(t->dtype()) &&
         allElements(*t, [&](int64_t i) { return t->getInt(i) == k; });
}

/// `v` is a float constant whose every element is `x`, sign of zero included.
bool isFloatSplat(const Value* v, double x) {
  const Tensor* t = constantValue(v);
  return t && isFloat(t->dtype()) && allElements(*t, [&](int64_t i) {
           double e = t->getDouble(i);
           return e == x && std::signbit(e) == std::signbit(x);
         });
}

bool isOne(const Value* v) {
  return isIntSplat(v, 1) || isFloatSplat(v, 1.0);
}

/// A splat i1 constant: its value, or nullopt.
std::optional<bool> constantBool(const Value* v) {
  const Tensor* t = constantValue(v);
  if (!t || t->dtype() != DType::I1 || t->numElements() == 0 || !t->isSplat()) return std::nullopt;
  return t->getInt(0) != 0;
}

bool sameType(const Value* a, const Value* b) {
  return a->type == b->type;
}

// x + 0 and 0 + x. For floats only -0.0 is an identity: -0.0 + +0.0 = +0.0.
Replacement addZero(Op& op, Rewriter&) {
  for (int side = 0; side < 2; ++side) {
    Value* zero = op.operand(side);
    if (isIntSplat(zero, 0) || isFloatSplat(zero, -0.0)) return replaceWith(op.operand(1 - side));
  }
  return std::nullopt;
}

// x - 0. For floats only +0.0 is an identity: -0.0 - -0.0 = +0.0.
Replacement subZero(Op& op, Rewriter&) {
  if (isIntSplat(op.operand(1), 0) || isFloatSplat(op.operand(1), 0.0))
    return replaceWith(op.operand(0));
  return std::nullopt;
}

// x * 1 and 1 * x (exact for every dtype).
Replacement mulOne(Op& op, Rewriter&) {
  for (int side = 0; side < 2; ++side)
    if (isOne(op.operand(side))) return replaceWith(op.operand(1 - side));
  return std::nullopt;
}

// x * 0 and 0 * x -> the zero constant, integers only (NaN * 0 is NaN).
Replacement mulZero(Op& op, Rewriter&) {
  for (int side = 0; side < 2; ++side)
    if (isIntSplat(op.operand(side), 0)) return replaceWith(op.operand(side));
  return std::nullopt;
}

// x / 1.
Replacement divOne(Op& op, Rewriter&) {
  if (isOne(op.operand(1))) return replaceWith(op.operand(0));
  return std::nullopt;
}

// neg(neg x) and not(not x): involutions (also for INT_MIN, which wraps).
Replacement involution(Op& op, Rewriter&) {
  Op* inner = op.operand(0)->definingOp();
  if (inner && inner->kind() == op.kind()) return replaceWith(inner->operand(0));
  return std::nullopt;
}

// Ops that return their single operand unchanged when the result type equals
// the operand type and no dynamic size operands are involved: cast to the
// same dtype, reshape/broadcast to the same static type, concat of one value.
Replacement sameTypeIdentity(Op& op, Rewriter&) {
  if (op.numOperands() != 1 || !sameType(op.operand(0), op.result())) return std::nullopt;
  // A dynamic reshape/broadcast result takes size operands, so one operand
  // means a static result; cast and concat never change the shape.
  if (!op.result()->type.hasStaticShape() && op.kind() != OpKind::Cast &&
      op.kind() != OpKind::Concat)
    return std::nullopt;
  return replaceWith(op.operand(0));
}

// transpose with perm [0, 1, ..., n-1].
Replacement transposeIdentity(Op& op, Rewriter&) {
  std::vector<int64_t> perm = op.getIntsOr("perm", {});
  for (size_t i = 0; i < perm.size(); ++i)
    if (perm[i] != static_cast<int64_t>(i)) return std::nullopt;
  if (!sameType(op.operand(0), op.result())) return std::nullopt;
  return replaceWith(op.operand(0));
}

// reshape(reshape(x)) -> reshape(x), in place. Both reshapes are static, so
// their element counts agree and the inner one's run-time check (when x is
// dynamic) is the same as the rewritten op's.
Replacement reshapeOfReshape(Op& op, Rewriter&) {
  Op* inner = op.operand(0)->definingOp();
  if (op.numOperands() != 1 || !inner || inner->kind() != OpKind::Reshape ||
      inner->numOperands() != 1)
    return std::nullopt;
  const TensorType& mid = inner->result()->type;
  if (!mid.hasStaticShape() || !op.result()->type.hasStaticShape() ||
      mid.numElements() != op.result()->type.numElements())
    return std::nullopt;
  op.operands[0] = inner->operand(0);
  return std::vector<Value*>{};
}

// slice with start 0, stride 1 and limit = the (static) operand shape.
Replacement wholeSlice(Op& op, Rewriter&) {
  const TensorType& t = op.operand(0)->type;
  if (!t.hasStaticShape() || !sameType(op.operand(0), op.result())) return std::nullopt;
  std::vector<int64_t> start = op.getIntsOr("start", std::vector<int64_t>(t.rank(), 0));
  std::vector<int64_t> limit = op.getIntsOr("limit", t.shape);
  std::vector<int64_t> stride = op.getIntsOr("stride", std::vector<int64_t>(t.rank(), 1));
  for (int64_t i = 0; i < t.rank(); ++i)
    if (start.at(i) != 0 || limit.at(i) != t.shape[i] || stride.at(i) != 1) return std::nullopt;
  return replaceWith(op.operand(0));
}

// dim of a static dim -> a constant (the shape is known at compile time).
Replacement staticDim(Op& op, Rewriter& rw) {
  const TensorType& t = op.operand(0)->type;
  int64_t axis = op.getIntOr("axis", -1);
  if (axis < 0 || axis >= t.rank() || t.shape[axis] == kDynamic) return std::nullopt;
  Tensor size(op.result()->type);
  size.setInt(0, t.shape[axis]);
  return replaceWithNew(op, rw, makeConstantOp(std::move(size), op.loc));
}

// dim(elementwise(x, ...), k) -> dim(x, k): an elementwise op's operands
// have its shape, so the size is x's. Why: autodiff sizes its fills by the
// value at hand (dim of a `mul`), and that extra use keeps the `mul` out of
// the elementwise fusion around it (it would have to be written out).
Replacement dimOfElementwise(Op& op, Rewriter& rw) {
  const Op* def = op.operand(0)->definingOp();
  if (!def || !isElementwise(def->kind()) || def->numOperands() == 0 ||
      def->operand(0)->type.rank() != op.operand(0)->type.rank())
    return std::nullopt;
  return replaceWithNew(
      op, rw, Op::create(OpKind::Dim, {def->operand(0)}, {op.result()->type}, op.attrs, 0, op.loc));
}

// dim(gather(x, idx), k) -> the dim of x or idx it comes from (the result
// is x.shape[:a] ++ idx.shape[b:] ++ x.shape[a+1:]). Why: as
// dimOfElementwise; a fused cell sized by dim of its gate split otherwise
// keeps the split's gathers out of the kernel (the dim must run between).
Replacement dimOfGather(Op& op, Rewriter& rw) {
  const Op* def = op.operand(0)->definingOp();
  if (!def || def->kind() != OpKind::Gather || def->numOperands() != 2) return std::nullopt;
  Value* x = def->operand(0);
  Value* idx = def->operand(1);
  int64_t a = def->getIntOr("axis", 0), b = def->getIntOr("batch_dims", 0);
  int64_t k = op.getIntOr("axis", -1), q = idx->type.rank() - b;
  if (a < 0 || a >= x->type.rank() || b < 0 || q < 0 || k < 0 ||
      k >= op.operand(0)->type.rank() || op.operand(0)->type.rank() != x->type.rank() - 1 + q)
    return std::nullopt;
  Value* from = k < a ? x : k < a + q ? idx : x;
  AttrMap attrs = op.attrs;
  attrs["axis"] = k < a ? k : k < a + q ? k - a + b : k - q + 1;
  return replaceWithNew(op, rw,
                        Op::create(OpKind::Dim, {from}, {op.result()->type}, attrs, 0, op.loc));
}

// dim(transpose(x, perm), k) -> dim(x, perm[k]). Why: as dimOfElementwise;
// an imported RNN sizes its loop by dim of its transposed input, which kept
// the embedding's gather and transpose alive after fold-gathered-products
// had replaced their only product.
Replacement dimOfTranspose(Op& op, Rewriter& rw) {
  const Op* def = op.operand(0)->definingOp();
  if (!def || def->kind() != OpKind::Transpose) return std::nullopt;
  std::vector<int64_t> perm = def->getIntsOr("perm", {});
  int64_t k = op.getIntOr("axis", -1);
  if (k < 0 || k >= static_cast<int64_t>(perm.size())) return std::nullopt;
  AttrMap attrs = op.attrs;
  attrs["axis"] = perm[static_cast<size_t>(k)];
  return replaceWithNew(op, rw, Op::create(OpKind::Dim, {def->operand(0)}, {op.result()->type},
                                           attrs, 0, op.loc));
}

// select(true, a, b) -> a; select(false, a, b) -> b; select(p, x, x) -> x.
Replacement simplifySelect(Op& op, Rewriter&) {
  if (op.operand(1) == op.operand(2)) return replaceWith(op.operand(1));
  if (std::optional<bool> p = constantBool(op.operand(0)))
    return replaceWith(op.operand(*p ? 1 : 2));
  return std::nullopt;
}

// if with a constant predicate: the taken branch's ops move before the `if`
// and its yielded values replace the results.
Replacement inlineConstantIf(Op& op, Rewriter& rw) {
  std::optional<bool> p = constantBool(op.operand(0));
  if (!p) return std::nullopt;
  Region& taken = op.region(*p ? 0 : 1);
  Op* yield = taken.terminator();
  if (!yield || yield->numOperands() != op.numResults()) return std::nullopt;
  for (size_t i = 0; i < op.numResults(); ++i)
    if (!sameType(yield->operand(i), op.result(i))) return std::nullopt;
  std::vector<Value*> replacements = yield->operands;
  while (taken.ops().front().get() != yield)
    rw.insertBefore(taken.take(taken.ops().front().get()));
  return replacements;
}

// while whose cond yields constant false: the body never runs (so max_trip
// cannot be exceeded) and the results are the initial values.
Replacement whileNeverRuns(Op& op, Rewriter&) {
  Op* yield = op.region(0).terminator();
  if (!yield || yield->numOperands() != 1 || constantBool(yield->operand(0)) != false)
    return std::nullopt;
  std::vector<Value*> inits(op.operands.begin(), op.operands.begin() + op.numResults());
  for (size_t i = 0; i < op.numResults(); ++i)
    if (!sameType(inits[i], op.result(i))) return std::nullopt;
  return inits;
}

// A carried value the body yields unchanged is its initial value on every
// iteration and after the loop: uses read the initial value instead (DCE then
// drops the carried slot, and the executor no longer copies it into the loop).
Replacement whileInvariantCarried(Op& op, Rewriter& rw) {
  const size_t n = op.numResults();
  if (op.numRegions() != 2 || op.numOperands() < n) return std::nullopt;
  Region& cond = op.region(0);
  Region& body = op.region(1);
  Op* yield = body.terminator();
  if (!yield || yield->numOperands() != n || cond.numArguments() != n || body.numArguments() != n)
    return std::nullopt;
  bool changed = false;
  for (size_t i = 0; i < n; ++i) {
    Value* arg = body.argument(i);
    Value* init = op.operand(i);
    if (yield->operand(i) != arg || !sameType(init, arg) || !sameType(init, op.result(i)))
      continue;
    bool usedInBody = false;
    for (const auto& inner : body.ops())
      if (inner.get() != yield && opUses(*inner, arg)) usedInBody = true;
    for (size_t k = 0; k < yield->numOperands(); ++k)
      if (k != i && yield->operand(k) == arg) usedInBody = true;
    if (!usedInBody && !hasUses(cond, cond.argument(i)) && !hasUses(rw.region, op.result(i)))
      continue; // nothing reads it any more
    replaceAllUsesWith(body, arg, init);
    yield->operands[i] = arg; // stays carried (unused), for DCE to drop
    replaceAllUsesWith(cond, cond.argument(i), init);
    replaceAllUsesWith(rw.region, op.result(i), init);
    changed = true;
  }
  if (!changed) return std::nullopt;
  return std::vector<Value*>{};
}

/// The operand of concat `cat` that holds positions [lo, hi) along its
/// axis, with that operand's first position, when the operands before it
/// have static extents there and it has the concat's shape elsewhere.
std::optional<std::pair<size_t, int64_t>> concatPiece(const Op& cat, int64_t lo, int64_t hi) {
  int64_t axis = cat.getIntOr("axis", -1);
  const TensorType& r = cat.result()->type;
  if (axis < 0 || axis >= r.rank() || lo < 0 || hi <= lo) return std::nullopt;
  int64_t at = 0;
  for (size_t k = 0; k < cat.numOperands(); ++k) {
    const TensorType& t = cat.operand(k)->type;
    if (t.rank() != r.rank()) return std::nullopt;
    int64_t n = t.shape[static_cast<size_t>(axis)];
    if (n == kDynamic) return std::nullopt; // where the later pieces start is unknown
    if (lo >= at && hi <= at + n) {
      for (int64_t d = 0; d < r.rank(); ++d)
        if (d != axis && t.shape[static_cast<size_t>(d)] != r.shape[static_cast<size_t>(d)])
          return std::nullopt;
      return std::make_pair(k, at);
    }
    at += n;
  }
  return std::nullopt;
}

// gather(concat(.., x, ..), c) -> gather(x, c - offset) when the constant
// indices all fall in x. Why: exporters compute sizes by gathering from a
// Shape (concat of a dim and static sizes); reading the static piece lets
// folding make the size, and what is sized by it, static (an exported
// GRU's Split: its gate blocks become offset reads in the fused cell).
Replacement gatherOfConcat(Op& op, Rewriter& rw) {
  const Op* cat = op.operand(0)->definingOp();
  const Tensor* idx = constantValue(op.operand(1));
  if (!cat || cat->kind() != OpKind::Concat || !idx || idx->numElements() == 0 ||
      !isInteger(idx->dtype()) || idx->dtype() == DType::I1 || op.getIntOr("batch_dims", 0) != 0 ||
      op.getIntOr("axis", 0) != cat->getIntOr("axis", -1))
    return std::nullopt;
  int64_t lo = idx->getInt(0), hi = lo;
  for (int64_t i = 0; i < idx->numElements(); ++i) {
    lo = std::min(lo, idx->getInt(i));
    hi = std::max(hi, idx->getInt(i));
  }
  auto piece = concatPiece(*cat, lo, hi + 1);
  if (!piece) return std::nullopt;
  Tensor shifted(idx->type());
  for (int64_t i = 0; i < idx->numElements(); ++i)
    shifted.setInt(i, idx->getInt(i) - piece->second);
  Op* c = rw.insertBefore(makeConstantOp(std::move(shifted), op.loc));
  return replaceWithNew(op, rw,
                        Op::create(OpKind::Gather, {cat->operand(piece->first), c->result()},
                                   {op.result()->type}, op.attrs, 0, op.loc));
}

// slice(concat(.., x, ..)) -> slice(x) when the slice along the concat's
// axis lies in x (an exporter's Slice of a Shape, as gatherOfConcat).
Replacement sliceOfConcat(Op& op, Rewriter& rw) {
  const Op* cat = op.operand(0)->definingOp();
  if (!cat || cat->kind() != OpKind::Concat) return std::nullopt;
  int64_t axis = cat->getIntOr("axis", -1);
  std::vector<int64_t> start = op.getIntsOr("start", {}), limit = op.getIntsOr("limit", {});
  std::vector<int64_t> stride = op.getIntsOr("stride", std::vector<int64_t>(start.size(), 1));
  const int64_t rank = op.operand(0)->type.rank();
  if (axis < 0 || axis >= rank || static_cast<int64_t>(start.size()) != rank ||
      limit.size() != start.size() || stride.size() != start.size())
    return std::nullopt;
  const size_t a = static_cast<size_t>(axis);
  auto piece = concatPiece(*cat, start[a], limit[a]);
  if (!piece || stride[a] < 1) return std::nullopt;
  start[a] -= piece->second;
  limit[a] -= piece->second;
  AttrMap attrs = op.attrs;
  attrs["start"] = start;
  attrs["limit"] = limit;
  return replaceWithNew(op, rw,
                        Op::create(OpKind::Slice, {cat->operand(piece->first)},
                                   {op.result()->type}, attrs, 0, op.loc));
}

struct Pattern {
  const char* name;
  OpKind kind;
  PatternFn fn;
};

// The simplification table. Each entry is exact: it preserves every result
// bit for bit, for every input including NaN, infinities and -0.0.
const Pattern kPatterns[] = {
    {"add-zero", OpKind::Add, addZero},
    {"sub-zero", OpKind::Sub, subZero},
    {"mul-one", OpKind::Mul, mulOne},
    {"mul-zero", OpKind::Mul, mulZero},
    {"div-one", OpKind::Div, divOne},
    {"neg-neg", OpKind::Neg, involution},
    {"not-not", OpKind::Not, involution},
    {"transpose-identity", OpKind::Transpose, transposeIdentity},
    {"reshape-same-type", OpKind::Reshape, sameTypeIdentity},
    {"reshape-reshape", OpKind::Reshape, reshapeOfReshape},
    {"cast-same-type", OpKind::Cast, sameTypeIdentity},
    {"broadcast-same-type", OpKind::Broadcast, sameTypeIdentity},
    {"concat-single", OpKind::Concat, sameTypeIdentity},
    {"slice-whole", OpKind::Slice, wholeSlice},
    {"slice-of-concat", OpKind::Slice, sliceOfConcat},
    {"gather-of-concat", OpKind::Gather, gatherOfConcat},
    {"dim-static", OpKind::Dim, staticDim},
    {"dim-of-elementwise", OpKind::Dim, dimOfElementwise},
    {"dim-of-gather", OpKind::Dim, dimOfGather},
    {"dim-of-transpose", OpKind::Dim, dimOfTranspose},
    {"select", OpKind::Select, simplifySelect},
    {"if-constant", OpKind::If, inlineConstantIf},
    {"while-false", OpKind::While, whileNeverRuns},
    {"while-invariant-carried", OpKind::While, whileInvariantCarried},
};

/// Sweeps one function until no rewrite applies.
class Canonicalizer {
public:
  Canonicalizer(const CanonicalizeOptions& options, CanonicalizeStats& stats)
      : options_(options), stats_(stats) {}

  bool runOnFunction(Function& f) {
    bool everChanged = false;
    // Each sweep strictly simplifies, so this bound is only a safety net.
    for (int sweep = 0; sweep < 100; ++sweep) {
      changed_ = false;
      runOnRegion(f.body());
      removeDeadConstants(f.body(), countUses(f.body()));
      if (!changed_) break;
      everChanged = true;
    }
    return everChanged;
  }

private:
  void hit(const std::string& name) {
    ++stats_.hits[name];
    changed_ = true;
  }

  void runOnRegion(Region& region) {
    size_t i = 0;
    while (i < region.ops().size()) {
      Op* op = region.ops()[i].get();
      for (size_t r = 0; r < op->numRegions(); ++r)
        runOnRegion(op->region(r));
      Rewriter rw{region, i};
      Replacement repl = rewrite(*op, rw);
      i = rw.index;
      if (repl && !repl->empty()) {
        std::map<Value*, Value*> mapping;
        for (size_t k = 0; k < op->numResults(); ++k)
          mapping[op->result(k)] = (*repl)[k];
        // SSA: the results are only used after the op, in its region.
        replaceAllUsesWith(region, mapping);
        region.erase(op);
        continue;
      }
      ++i;
    }
  }

  Replacement rewrite(Op& op, Rewriter& rw) {
    if (isTerminator(op.kind())) return std::nullopt;
    if (options_.fold)
      if (Replacement r = fold(op, rw)) {
        hit("fold");
        return r;
      }
    if (!options_.simplify) return std::nullopt;
    for (const Pattern& p : kPatterns) {
      if (p.kind != op.kind()) continue;
      if (Replacement r = p.fn(op, rw)) {
        hit(p.name);
        return r;
      }
    }
    return std::nullopt;
  }

  Replacement fold(Op& op, Rewriter& rw) {
    switch (op.kind()) {
    case OpKind::Constant:
    case OpKind::Call:         // a call may be arbitrarily expensive
    case OpKind::StopGradient: // kept for autodiff
      return std::nullopt;
    default:
      break;
    }
    // An iota of static shape has no operands, and is a constant all the same.
    if (op.numRegions() != 0 || (op.numOperands() == 0 && op.kind() != OpKind::Iota))
      return std::nullopt;
    std::vector<Tensor> operands;
    for (Value* v : op.operands) {
      const Tensor* t = constantValue(v);
      if (!t) return std::nullopt;
      operands.push_back(*t);
    }
    int64_t elements = 0;
    for (Value* r : op.results()) {
      if (!r->type.hasStaticShape()) return std::nullopt;
      elements += r->type.numElements();
    }
    if (elements > options_.maxFoldElements) return std::nullopt;
    StatusOr<std::vector<Tensor>> values = evaluateOp(op, operands);
    if (!values.isOk() || values->size() != op.numResults()) return std::nullopt;
    for (size_t k = 0; k < op.numResults(); ++k)
      if ((*values)[k].type() != op.result(k)->type) return std::nullopt;
    std::vector<Value*> replacements;
    for (size_t k = 0; k < op.numResults(); ++k) {
      Op* c = rw.insertBefore(makeConstantOp(std::move((*values)[k]), op.loc));
      c->result()->name = op.result(k)->name; // keep the printed name readable
      replacements.push_back(c->result());
    }
    return replacements;
  }

  void removeDeadConstants(Region& region, const std::map<const Value*, int>& uses) {
    for (size_t i = 0; i < region.ops().size();) {
      Op* op = region.ops()[i].get();
      for (size_t r = 0; r < op->numRegions(); ++r)
        removeDeadConstants(op->region(r), uses);
      if (op->kind() == OpKind::Constant && !uses.count(op->result())) {
        region.erase(op);
        hit("dead-constant");
        continue;
      }
      ++i;
    }
  }

  const CanonicalizeOptions& options_;
  CanonicalizeStats& stats_;
  bool changed_ = false;
};

class CanonicalizePass : public Pass {
public:
  std::string_view name() const override { return "canonicalize"; }
  StatusOr<bool> run(Module& m) override { return canonicalize(m); }
};

} // namespace

StatusOr<bool> canonicalize(Module& m, const CanonicalizeOptions& options,
                            CanonicalizeStats* stats) {
  CanonicalizeStats local;
  Canonicalizer c(options, stats ? *stats : local);
  bool changed = false;
  for (auto& f : m.functions())
    changed |= c.runOnFunction(*f);
  return changed;
}

std::vector<std::string> canonicalizePatternNames() {
  std::vector<std::string> names;
  for (const Pattern& p : kPatterns)
    names.push_back(p.name);
  return names;
}

std::unique_ptr<Pass> createCanonicalizePass() {
  return std::make_unique<CanonicalizePass>();
}

} // namespace cairn
