// buildGradient and the machinery every rule shares: activity analysis,
// reading forward values from backward code (primal, dims), adjoint
// accumulation and the reverse sweep over a region.
#include <fmt/format.h>

#include "compiler/Pipeline.h"
#include "compiler/RewriteUtils.h"
#include "compiler/autodiff/Autodiff.h"
#include "compiler/autodiff/GradientContext.h"
#include "compiler/autodiff/VjpRules.h"
#include "ir/Verifier.h"

namespace cairn {
namespace autodiff {

// ---- Activity ------------------------------------------------------------------

namespace {

bool anyActive(const GradientContext& ctx, const std::vector<Value*>& vs) {
  for (Value* v : vs)
    if (ctx.isActive(v)) return true;
  return false;
}

} // namespace

void GradientContext::analyzeActivity(const Region& region) {
  auto mark = [&](Value* v, bool on, bool& changed) {
    if (on && isFloat(v->type.dtype) && !isActive(v)) {
      markActive(v);
      changed = true;
    }
  };
  bool changed = true;
  while (changed) {
    changed = false;
    for (const auto& opPtr : region.ops()) {
      Op& op = *opPtr;
      switch (op.kind()) {
      case OpKind::While: {
        Region& cond = op.region(0);
        Region& body = op.region(1);
        for (size_t j = 0; j < op.numResults(); ++j) {
          bool on = isActive(op.operand(j)) || isActive(body.terminator()->operand(j));
          mark(body.argument(j), on, changed);
          mark(cond.argument(j), on, changed);
          mark(op.result(j), on, changed);
        }
        analyzeActivity(cond);
        analyzeActivity(body);
        for (size_t j = 0; j < op.numResults(); ++j)
          mark(body.argument(j), isActive(body.terminator()->operand(j)), changed);
        break;
      }
      case OpKind::If:
        for (size_t r = 0; r < 2; ++r) {
          analyzeActivity(op.region(r));
          for (size_t k = 0; k < op.numResults(); ++k)
            mark(op.result(k), isActive(op.region(r).terminator()->operand(k)), changed);
        }
        break;
      case OpKind::StopGradient:
        break;
      default:
        for (size_t r = 0; r < op.numRegions(); ++r)
          analyzeActivity(op.region(r));
        for (Value* res : op.results())
          mark(res, anyActive(*this, op.operands), changed);
      }
    }
  }
}

// ---- Reading forward values ----------------------------------------------------

Region& rootRegion(Region& r) {
  Region* root = &r;
  while (root->parentOp() && root->parentOp()->parentRegion())
    root = root->parentOp()->parentRegion();
  return *root;
}

std::vector<Value*> freeValues(const Region& region) {
  std::vector<Value*> out;
  std::set<Value*> seen;
  walk(region, [&](Op& op) {
    for (Value* v : op.operands) {
      const Region* home =
          v->isRegionArgument() ? v->ownerRegion() : v->definingOp()->parentRegion();
      bool inside = false;
      for (const Region* r = home; r && !inside;
           r = r->parentOp() ? r->parentOp()->parentRegion() : nullptr)
        inside = r == &region;
      if (!inside && seen.insert(v).second) out.push_back(v);
    }
  });
  return out;
}

bool GradientContext::definedWithin(const Value* v, const Region& region) {
  const Region* r = v->isRegionArgument() ? v->ownerRegion() : v->definingOp()->parentRegion();
  while (r) {
    if (r == &region) return true;
    Op* parent = r->parentOp();
    r = parent ? parent->parentRegion() : nullptr;
  }
  return false;
}

LoopLevel* GradientContext::owningLevel(const Value* v) const {
  const Region* home = v->isRegionArgument() ? v->ownerRegion() : v->definingOp()->parentRegion();
  for (auto it = levels.rbegin(); it != levels.rend(); ++it) {
    const Region& body = (*it)->forwardWhile->region(1);
    if (home == &body) return *it;
    CAIRN_CHECK(!definedWithin(v, body),
                "autodiff: a nested value of a loop body was read outside its own loop");
  }
  return nullptr;
}

Val GradientContext::primal(Value* v) {
  LoopLevel* level = owningLevel(v);
  if (!level) return Val(fb, v);
  auto key = std::make_pair(static_cast<const Region*>(&fb.insertionRegion()),
                            static_cast<const Value*>(v));
  if (auto it = primalCache_.find(key); it != primalCache_.end()) return it->second;
  auto [tapeIt, fresh] = level->tapeOf.try_emplace(v, nullptr);
  if (fresh) {
    Shape shape = v->type.shape;
    shape.insert(shape.begin(), kDynamic);
    tapeIt->second = level->scratch.addArgument(TensorType(v->type.dtype, shape), "tape");
    level->taped.push_back(v);
  }
  Val row = sliceAt(Val(fb, tapeIt->second), level->index, 0);
  if (raggedMask(v, level->forwardWhile->region(1))) // this iteration's rows come first
    row = gather(row, fb.iota(DType::I64, {dims(v)[0]}, 0), 0);
  primalCache_[key] = row;
  return row;
}

Value* GradientContext::raggedMask(Value* v, const Region& body) const {
  if (v->type.rank() == 0 || v->type.shape[0] != kDynamic) return nullptr;
  DimSource s = resolveDim(v, 0);
  if (s.scalar || !s.value || s.value->isRegionArgument()) return nullptr;
  const Op* count = s.value->definingOp();
  if (count->kind() != OpKind::Nonzero || count->parentRegion() != &body) return nullptr;
  return count->operand(0);
}

bool GradientContext::carriedDimInvariant(const Op& loop, size_t j, int64_t axis,
                                          int depth) const {
  // While this is being decided, reaching the carried value itself answers
  // "same size" (the induction hypothesis).
  auto key = std::make_tuple(&loop, j, axis);
  if (invarianceInProgress_.count(key)) return true;
  invarianceInProgress_.insert(key);
  const Region& body = loop.region(1);
  DimSource s = resolveDim(body.terminator()->operand(j), axis, depth + 1);
  invarianceInProgress_.erase(key);
  return !s.scalar && s.value == body.argument(j) && s.axis == axis;
}

GradientContext::DimSource GradientContext::resolveDim(Value* v, int64_t axis, int depth) const {
  DimSource self{v, axis, nullptr};
  if (depth > 64) return self;
  if (v->isRegionArgument()) {
    Op* loop = v->ownerRegion()->parentOp();
    if (loop && loop->kind() == OpKind::While && v->index() < loop->numResults() &&
        carriedDimInvariant(*loop, v->index(), axis, depth))
      return resolveDim(loop->operand(v->index()), axis, depth + 1);
    return self;
  }
  Op& op = *v->definingOp();
  auto next = [&](Value* u, int64_t a) { return resolveDim(u, a, depth + 1); };
  // The size operand that feeds dynamic result dim `axis` (ops whose `?`
  // dims take one scalar operand each, after `first` ordinary operands).
  auto sizeOperand = [&](size_t first) -> DimSource {
    size_t j = first;
    for (int64_t d = 0; d < axis; ++d)
      if (v->type.shape[d] == kDynamic) ++j;
    if (j >= op.numOperands()) return self;
    Value* s = op.operand(j);
    if (!s->isRegionArgument() && s->definingOp()->kind() == OpKind::Dim)
      return next(s->definingOp()->operand(0), s->definingOp()->getInt("axis"));
    return DimSource{nullptr, 0, s};
  };
  switch (op.info().family) {
  case OpFamily::UnaryNumeric: case OpFamily::UnaryFloat: case OpFamily::UnaryLogical:
  case OpFamily::BinaryNumeric: case OpFamily::BinaryFloat: case OpFamily::BinaryLogical:
  case OpFamily::Compare: case OpFamily::Cast: case OpFamily::Identity:
    return next(op.operand(0), axis);
  case OpFamily::Select:
    return next(op.operand(1), axis);
  case OpFamily::DynamicUpdateSlice:
    return next(op.operand(0), axis);
  case OpFamily::Scatter:
    return next(op.operand(0), axis);
  case OpFamily::Broadcast:
  case OpFamily::Reshape:
    return sizeOperand(1);
  case OpFamily::Iota:
    return sizeOperand(0);
  case OpFamily::RngUniform:
    return v->index() == 1 ? sizeOperand(1) : self;
  case OpFamily::Transpose:
    return next(op.operand(0), op.getInts("perm")[axis]);
  case OpFamily::Concat:
    return axis == op.getInt("axis") ? self : next(op.operand(0), axis);
  case OpFamily::Reduce: {
    const auto& dims = op.getInts("dims");
    int64_t d = 0, seen = -1;
    for (; d < op.operand(0)->type.rank(); ++d) {
      if (std::find(dims.begin(), dims.end(), d) != dims.end()) continue;
      if (++seen == axis) break;
    }
    return next(op.operand(0), d);
  }
  case OpFamily::Argmax:
    return next(op.operand(0), axis < op.getInt("axis") ? axis : axis + 1);
  case OpFamily::Gather: {
    int64_t a = op.getInt("axis"), b = op.getIntOr("batch_dims", 0);
    int64_t idxFree = op.operand(1)->type.rank() - b;
    if (axis < a) return next(op.operand(0), axis);
    if (axis < a + idxFree) return next(op.operand(1), axis - a + b);
    return next(op.operand(0), axis - idxFree + 1);
  }
  case OpFamily::Dot: {
    auto lb = op.getIntsOr("lhs_batch", {}), rb = op.getIntsOr("rhs_batch", {});
    auto lc = op.getIntsOr("lhs_contract", {op.operand(0)->type.rank() - 1});
    auto rc = op.getIntsOr("rhs_contract", {0});
    if (axis < static_cast<int64_t>(lb.size())) return next(op.operand(0), lb[axis]);
    int64_t k = axis - static_cast<int64_t>(lb.size());
    for (size_t side = 0; side < 2; ++side) {
      const auto& batch = side == 0 ? lb : rb;
      const auto& contract = side == 0 ? lc : rc;
      Value* x = op.operand(side);
      for (int64_t d = 0; d < x->type.rank(); ++d) {
        bool freeDim = std::find(batch.begin(), batch.end(), d) == batch.end() &&
                       std::find(contract.begin(), contract.end(), d) == contract.end();
        if (freeDim && k-- == 0) return next(x, d);
      }
    }
    return self;
  }
  case OpFamily::While:
    if (carriedDimInvariant(op, v->index(), axis, depth))
      return next(op.operand(v->index()), axis);
    return self;
  default:
    return self;
  }
}

Value* GradientContext::forwardDim(Value* v, int64_t axis) {
  auto key = std::make_pair(static_cast<const Value*>(v), axis);
  if (auto it = forwardDims_.find(key); it != forwardDims_.end()) return it->second;
  Region& home = v->isRegionArgument() ? *v->ownerRegion() : *v->definingOp()->parentRegion();
  Op* before = nullptr;
  if (v->isRegionArgument()) {
    before = home.ops().front().get();
  } else {
    size_t i = home.indexOf(v->definingOp());
    before = home.ops().at(i + 1).get(); // a region always ends in its terminator
  }
  FunctionBuilder::InsertionGuard guard(fb, home, before);
  Value* d = dim(Val(fb, v), axis).value();
  forwardDims_[key] = d;
  return d;
}

Sizes GradientContext::dims(Value* v) {
  Sizes out;
  for (int64_t k = 0; k < v->type.rank(); ++k) {
    if (v->type.shape[k] != kDynamic) {
      out.push_back(v->type.shape[k]);
      continue;
    }
    DimSource s = resolveDim(v, k);
    if (s.scalar) {
      out.push_back(cast(primal(s.scalar), DType::I64));
    } else if (!owningLevel(s.value)) {
      out.push_back(dim(Val(fb, s.value), s.axis));
    } else {
      out.push_back(primal(forwardDim(s.value, s.axis)));
    }
  }
  return out;
}

Val GradientContext::zerosLike(Value* v) {
  return broadcastTo(fb.scalar(0.0, v->type.dtype), dims(v));
}

// ---- Adjoints ------------------------------------------------------------------

namespace {

/// Whether `v` is all zeros as zerosLike makes it: a broadcast of a zero scalar.
bool isZeros(const Value* v) {
  const Op* op = v->definingOp();
  if (op && op->kind() == OpKind::Broadcast) v = op->operand(0);
  const Tensor* t = constantValue(v);
  return t && t->numElements() > 0 && t->isSplat() && t->getDouble(0) == 0.0;
}

/// `g` = scatter_add(zeros, indices, updates) (a gather's gradient): its op.
const Op* sparseUpdate(const Val& g) {
  const Op* op = g.value()->definingOp();
  return op && op->kind() == OpKind::ScatterAdd && isZeros(op->operand(0)) ? op : nullptr;
}

} // namespace

void GradientContext::accumulate(AdjointMap& adj, Value* v, Val g) {
  if (g.type() != v->type) {
    if (g.dtype() != v->type.dtype || g.rank() != v->type.rank())
      throw BuildError(fmt::format("autodiff: gradient of type {} for a value of type {}",
                                   g.type().toString(), v->type.toString()));
    g = reshape(g, dims(v));
  }
  auto it = adj.find(v);
  if (it == adj.end())
    adj.emplace(v, g);
  else
    it->second = addGradients(it->second, g);
}

Val GradientContext::addGradients(Val a, Val g) {
  // A gather's gradient is a scatter_add into zeros: adding it to a dense
  // adjoint is scattering into that adjoint instead, which the executor does
  // in place. O(rows gathered) per step rather than O(the whole operand): a
  // thin stack's gradient stays thin, and so does a loop's accumulated
  // gradient of the sequence it reads a row of per step. (Sums can differ
  // from `a + (0 + u)` only in the sign of a zero and in the order
  // duplicates are added.)
  for (int side = 0; side < 2; ++side) {
    const Val& sparse = side == 0 ? g : a;
    const Val& dense = side == 0 ? a : g;
    if (const Op* s = sparseUpdate(sparse); s && dense.type() == sparse.type()) {
      Val indices(fb, s->operand(1)), updates(fb, s->operand(2));
      return scatterAdd(dense, indices, updates, s->getInt("axis"), s->getIntOr("batch_dims", 0));
    }
  }
  return a + g;
}

void GradientContext::sweep(Region& region, AdjointMap& adj) {
  // Rules insert forward ops (dims, augmented loops) into regions being
  // swept, so walk a snapshot.
  std::vector<Op*> ops;
  for (const auto& op : region.ops())
    if (!isTerminator(op->kind())) ops.push_back(op.get());
  sweepOps(ops, adj);
}

void GradientContext::sweepOps(const std::vector<Op*>& ops, AdjointMap& adj) {
  for (auto it = ops.rbegin(); it != ops.rend(); ++it) {
    Op& op = **it;
    std::vector<Val> dResults;
    bool any = false;
    for (Value* r : op.results()) {
      auto a = adj.find(r);
      bool has = a != adj.end() && isActive(r);
      dResults.push_back(has ? a->second : Val());
      any |= has;
    }
    if (!any) continue;
    VjpFn rule = op.kind() == OpKind::While ? whileVjp
                 : op.kind() == OpKind::If  ? ifVjp
                                            : findVjpRule(op.kind());
    if (!rule)
      throw BuildError(fmt::format("{}'{}' op has no gradient rule, but its result depends on a "
                                   "differentiated argument (wrap it in stop_gradient if that "
                                   "is intended)",
                                   op.where(), op.name()));
    std::vector<Val> dOperands = rule(*this, op, dResults, adj);
    for (size_t k = 0; k < dOperands.size() && k < op.numOperands(); ++k)
      if (dOperands[k].valid() && isActive(op.operand(k)))
        accumulate(adj, op.operand(k), dOperands[k]);
  }
}

void GradientContext::replaceForwardOp(Op* from, Op* to) {
  std::map<Value*, Value*> mapping;
  for (size_t i = 0; i < from->numResults(); ++i) {
    Value *a = from->result(i), *b = to->result(i);
    mapping[a] = b;
    if (isActive(a)) markActive(b);
    for (LoopLevel* level : levels) {
      if (auto it = level->tapeOf.find(a); it != level->tapeOf.end()) {
        level->tapeOf[b] = it->second;
        level->tapeOf.erase(it);
        std::replace(level->taped.begin(), level->taped.end(), a, b);
      }
    }
    for (auto it = forwardDims_.begin(); it != forwardDims_.end();) {
      if (it->first.first == a) {
        forwardDims_[{b, it->first.second}] = it->second;
        it = forwardDims_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto it = primalCache_.begin(); it != primalCache_.end();) {
      if (it->first.second == a) {
        primalCache_[{it->first.first, b}] = it->second;
        it = primalCache_.erase(it);
      } else {
        ++it;
      }
    }
  }
  // Uses sit in from's region or below, or in backward code appended to the
  // same outermost region (which may still be detached, inside an op being
  // built).
  Region& home = *from->parentRegion();
  replaceAllUsesWith(rootRegion(home), mapping);
  graveyard_.push_back(home.take(from));
}

} // namespace autodiff

// ---- The entry point -------------------------------------------------------------

namespace {

Status checkSignature(const Function& f, const GradOptions& opts) {
  if (opts.lossResult >= f.resultTypes.size())
    return Status::error(fmt::format("buildGradient: @{} has {} results; no loss result #{}",
                                     f.name, f.resultTypes.size(), opts.lossResult));
  const TensorType& loss = f.resultTypes[opts.lossResult];
  if (!isFloat(loss.dtype) || !loss.isScalar())
    return Status::error(fmt::format("buildGradient: the loss (result #{} of @{}) must be a "
                                     "float scalar, got {}",
                                     opts.lossResult, f.name, loss.toString()));
  if (opts.loopCheckpointEvery < 0)
    return Status::error("buildGradient: loopCheckpointEvery must not be negative");
  for (size_t a : opts.wrt) {
    if (a >= f.body().numArguments())
      return Status::error(fmt::format("buildGradient: @{} has {} arguments; no argument #{}",
                                       f.name, f.body().numArguments(), a));
    const TensorType& t = f.body().argument(a)->type;
    if (!isFloat(t.dtype))
      return Status::error(fmt::format("buildGradient: argument #{} of @{} has type {}; only "
                                       "float arguments can be differentiated",
                                       a, f.name, t.toString()));
  }
  Status fused = Status::ok();
  walk(f, [&](Op& op) {
    if (op.kind() == OpKind::Fusion && fused.isOk())
      fused = Status::error(fmt::format("{}buildGradient: 'fusion' op in @{}; differentiate "
                                        "before fusing",
                                        op.where(), f.name));
  });
  return fused;
}

/// Differentiates `g` (a call-free copy of f) in place.
void differentiate(Module& scratch, Function& g, const GradOptions& opts) {
  // Backward code goes before the return, which stays until the end: rules
  // replace forward loops, and the return's operands follow the rewrites.
  Op* ret = g.body().terminator();
  FunctionBuilder fb(scratch, g);
  if (opts.loopCheckpointEvery > 0) autodiff::checkpointLoops(fb, g, opts.loopCheckpointEvery);
  autodiff::GradientContext ctx(fb, g);
  for (size_t a : opts.wrt)
    ctx.markActive(g.body().argument(a));
  ctx.analyzeActivity(g.body());

  ValueList out;
  {
    FunctionBuilder::InsertionGuard beforeReturn(fb, g.body(), ret);
    autodiff::AdjointMap adj;
    Value* loss = ret->operand(opts.lossResult);
    if (ctx.isActive(loss)) adj.emplace(loss, fb.constant(1.0, loss->type));
    ctx.sweep(g.body(), adj);
    for (Value* r : ret->operands)
      out.emplace_back(fb, r);
    for (size_t a : opts.wrt) {
      Value* arg = g.body().argument(a);
      auto it = adj.find(arg);
      out.push_back(it != adj.end() ? it->second : ctx.zerosLike(arg));
    }
  }
  g.body().erase(ret);
  walk(g, [](Op& op) { op.attrs.erase(autodiff::kRecomputeAttr); });
  fb.ret(out);
}

} // namespace

StatusOr<Function*> buildGradient(Module& m, const Function& f, const GradOptions& opts) {
  CAIRN_RETURN_IF_ERROR(checkSignature(f, opts));
  std::string name = opts.name.empty() ? f.name + "_grad" : opts.name;
  if (m.lookup(name))
    return Status::error(fmt::format("buildGradient: function @{} already exists", name));

  // Work in a scratch module holding copies of every function, so inlining
  // and cleanup touch nothing of `m` but the new function.
  Module scratch;
  for (const auto& fn : m.functions())
    scratch.addFunction(cloneFunction(*fn, fn->name));
  Function* g = scratch.addFunction(cloneFunction(f, name));
  std::vector<std::string> prepare = {"inline"};
  // rnn ops first become loops (expand-rnn), which the rules below know,
  // unless keepRnnOps asks for their one-op rule (rnn_grad).
  if (opts.prepare) {
    if (!opts.keepRnnOps) prepare.push_back("expand-rnn");
    prepare.insert(prepare.end(), {"licm", "hoist-input-projection"});
  }
  CAIRN_RETURN_IF_ERROR(runPipeline(scratch, prepare));
  Status unexpanded = Status::ok();
  walk(*g, [&](Op& op) {
    if (op.kind() == OpKind::Rnn && !opts.keepRnnOps && unexpanded.isOk())
      unexpanded = Status::error(fmt::format("{}buildGradient: 'rnn' op in @{} has no gradient "
                                             "rule; run expand-rnn first (GradOptions::prepare "
                                             "does) or set GradOptions::keepRnnOps",
                                             op.where(), f.name));
  });
  CAIRN_RETURN_IF_ERROR(unexpanded);
  try {
    differentiate(scratch, *g, opts);
  } catch (const BuildError& e) {
    return Status::error(e.what());
  }
  if (opts.simplify) {
    // Only the new function matters; the copies go away with `scratch`.
    Module alone;
    alone.addFunction(scratch.takeFunction(g));
    CAIRN_RETURN_IF_ERROR(runPipeline(alone, defaultPipeline()));
    return m.addFunction(alone.takeFunction(alone.lookup(name)));
  }
  CAIRN_RETURN_IF_ERROR(verify(*g));
  return m.addFunction(scratch.takeFunction(g));
}

} // namespace cairn
