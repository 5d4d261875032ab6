// The program generator's skeleton: functions, the value pool, the makers of
// values of a wanted type, index and predicate values, control flow (while,
// sequence loops, if, calls) and input generation. The data-flow op families
// live in GeneratorOps.cpp.
#include <algorithm>
#include <cmath>

#include "compiler/testing/GeneratorInternal.h"

namespace cairn {
namespace gen {

Generator::Generator(uint64_t seed, const GeneratorOptions& options)
    : rng(seed * 0x9e3779b97f4a7c15ULL + 0x5851f42d4c957f2dULL), opt(options) {}

// ---- Pool --------------------------------------------------------------------

void Generator::add(BVal b) {
  pool_.push_back({b, 0});
}

std::optional<BVal> Generator::choose(const Filter& f, bool localOnly, size_t before) {
  size_t start = localOnly && !scopes_.empty() ? scopes_.back() : 0;
  std::vector<size_t> found;
  for (size_t i = start; i < std::min(pool_.size(), before); ++i)
    if (f(pool_[i].b)) found.push_back(i);
  if (found.empty()) return std::nullopt;
  // Recent values more often: chains of ops, not a flat fan-out.
  size_t k = rng.chance(3, 5) ? found.size() - 1 - rng.below(std::min<int64_t>(4, found.size()))
                              : rng.below(found.size());
  Item& it = pool_[found[k]];
  ++it.uses;
  return it.b;
}

void Generator::closeScope() {
  pool_.resize(scopes_.back());
  scopes_.pop_back();
}

// ---- Shapes and types ----------------------------------------------------------

Shape Generator::randomShape(int64_t minRank, int64_t maxRank) {
  Shape s(rng.range(minRank, maxRank));
  for (int64_t& d : s)
    d = rng.range(1, kMaxDim);
  return s;
}

DType Generator::randomDType() {
  int64_t r = rng.below(10);
  return r < 7 ? DType::F32 : r < 9 ? DType::I32 : DType::I1;
}

bool Generator::broadcastable(const Shape& a, const Shape& b) {
  for (size_t i = 1; i <= std::min(a.size(), b.size()); ++i) {
    int64_t x = a[a.size() - i], y = b[b.size() - i];
    if (x != y && x != 1 && y != 1) return false;
  }
  return true;
}

// ---- Values of a wanted kind ------------------------------------------------------

BVal Generator::tame(BVal x) {
  if (!isFloat(x.v.dtype()) || x.bound <= opt.floatLimit) return x;
  switch (rng.below(3)) {
  case 0:
    return {tanh(x.v), 1};
  case 1: {
    static const double kClamps[] = {1, 8, 100};
    double c = kClamps[rng.below(3)];
    return {min(max(x.v, -c), c), c};
  }
  default: {
    // A power of two scales exactly.
    double s = std::exp2(-std::ceil(std::log2(x.bound)));
    return {x.v * s, 1};
  }
  }
}

BVal Generator::tameTo(BVal x, double target) {
  if (x.bound <= target) return x;
  if (isFloat(x.v.dtype()) && rng.chance(1, 2)) return {tanh(x.v), 1};
  return {min(max(x.v, -target), target), target};
}

BVal Generator::literal(const TensorType& t) {
  static const double kFloats[] = {-2, -1.5, -1, -0.5, -0.25, -0.0, 0, 0.25, 0.5, 1, 1.5, 2, 0.1};
  Tensor value(t);
  bool splat = rng.chance(1, 3);
  double bound = 0;
  for (int64_t i = 0; i < value.numElements(); ++i) {
    if (i == 0 || !splat) {
      double x = isFloat(t.dtype)  ? (rng.chance(1, 2) ? kFloats[rng.below(std::size(kFloats))]
                                                       : 4 * rng.uniform() - 2)
                 : isBool(t.dtype) ? static_cast<double>(rng.below(2))
                                   : static_cast<double>(rng.range(-4, 8));
      value.setDouble(i, x);
    } else {
      value.setDouble(i, value.getDouble(0));
    }
    bound = std::max(bound, std::abs(value.getDouble(i)));
  }
  return {fb->constant(value), bound};
}

BVal Generator::makeOfType(const TensorType& t, bool preferLocal, int depth) {
  DType dt = t.dtype;
  auto exact = [&](const BVal& b) { return b.v.type() == t; };
  if (!t.hasStaticShape()) {
    // Only a value of exactly this type has the right `?` dims.
    std::optional<BVal> b = choose(exact, preferLocal);
    if (!b) b = choose(exact);
    CAIRN_CHECK(b.has_value(), "no value of type {} to build from", t.toString());
    if (rng.chance(1, 3)) {
      OpKind k = isBool(dt)                        ? OpKind::Not
                 : isFloat(dt) && rng.chance(1, 2) ? OpKind::Tanh
                                                   : OpKind::Neg;
      return applyUnary(*this, k, *b);
    }
    return *b;
  }
  if (rng.chance(2, 3))
    if (auto b = choose(exact, preferLocal && rng.chance(3, 4))) return *b;
  int64_t n = t.numElements();
  for (int attempt = 0; attempt < 4; ++attempt) {
    switch (rng.below(6)) {
    case 0: // same elements, another shape
      if (auto b = choose([&](const BVal& b) {
            return b.v.dtype() == dt && b.v.type().hasStaticShape() &&
                   b.v.type().numElements() == n;
          }))
        return {reshape(b->v, Sizes(t.shape.begin(), t.shape.end())), b->bound};
      break;
    case 1: // broadcast into it
      if (auto b = choose([&](const BVal& b) {
            const TensorType& bt = b.v.type();
            if (bt.dtype != dt || !bt.hasStaticShape() || bt.rank() > t.rank()) return false;
            for (int64_t i = 1; i <= bt.rank(); ++i)
              if (bt.shape[bt.rank() - i] != 1 && bt.shape[bt.rank() - i] != t.shape[t.rank() - i])
                return false;
            return true;
          }))
        return {broadcastTo(b->v, Sizes(t.shape.begin(), t.shape.end())), b->bound};
      break;
    case 2: { // reduce something to a scalar, broadcast that
      DType from = isBool(dt) ? DType::F32 : dt;
      auto b = choose([&](const BVal& b) { return b.v.dtype() == from; });
      if (!b) break;
      std::vector<int64_t> all;
      double count = 1;
      for (int64_t d = 0; d < b->v.rank(); ++d) {
        all.push_back(d);
        count *= b->v.shape()[d] == kDynamic ? kMaxDim : b->v.shape()[d];
      }
      BVal s = rng.chance(1, 2)   ? BVal{reduceSum(b->v, all), b->bound * count}
               : rng.chance(1, 2) ? BVal{reduceMax(b->v, all), b->bound}
                                  : BVal{reduceMin(b->v, all), b->bound};
      if (isInteger(dt)) s.bound = std::min(s.bound, kIntUnknown);
      s = tame(s);
      if (isBool(dt)) s = {gt(s.v, 0.0), 1};
      if (t.rank() == 0) return s;
      return {broadcastTo(s.v, Sizes(t.shape.begin(), t.shape.end())), s.bound};
    }
    case 3: { // another dtype, cast
      if (depth >= 2) break;
      DType other = dt == DType::F32 ? (rng.chance(1, 2) ? DType::I32 : DType::I1) : DType::F32;
      return tame(castTo(makeOfType(TensorType(other, t.shape), false, depth + 1), dt));
    }
    case 4:
      if (isBool(dt) || t.rank() == 0) break;
      {
        int64_t axis = rng.below(t.rank());
        return {fb->iota(dt, Sizes(t.shape.begin(), t.shape.end()), axis),
                static_cast<double>(t.shape[axis] - 1)};
      }
    default:
      break;
    }
  }
  return literal(t);
}

Val Generator::indexScalar(int64_t lo, int64_t hi) {
  if (lo == hi || rng.chance(1, 6))
    return fb->scalar(static_cast<double>(rng.range(lo, hi)), DType::I32);
  std::optional<Val> s;
  switch (rng.below(4)) {
  case 0:
    if (auto b = choose([](const BVal& b) { return b.v.type() == TensorType(DType::I32); }))
      s = b->v;
    break;
  case 1:
    if (auto b = choose([](const BVal& b) { return b.v.type() == TensorType(DType::F32); }))
      s = cast(b->v * static_cast<double>(rng.range(1, 4)), DType::I32);
    break;
  case 2:
    if (auto b = choose([](const BVal& b) { return !isBool(b.v.dtype()) && b.v.rank() > 0; })) {
      std::vector<int64_t> all(b->v.rank());
      for (size_t d = 0; d < all.size(); ++d)
        all[d] = static_cast<int64_t>(d);
      Val r = rng.chance(1, 2) ? reduceMax(b->v, all) : reduceSum(b->v, all);
      s = cast(r, DType::I32);
    }
    break;
  default:
    if (auto b = choose([](const BVal& b) { return !isBool(b.v.dtype()) && b.v.rank() == 1; }))
      s = argmax(b->v, 0, DType::I32);
    break;
  }
  if (!s) s = cast(makeOfType(TensorType(DType::F32)).v * 2.0, DType::I32);
  // Half the raw values are negative: fold most of them up, so that clamping
  // does not make lo (a zero-trip loop, the first row) the common case.
  if (rng.chance(2, 3)) s = abs(*s);
  if (rng.chance(1, 3)) s = *s + static_cast<double>(rng.range(1, 2));
  if (rng.chance(1, 2)) return max(min(*s, hi), lo);
  return min(max(*s, lo), hi);
}

Val Generator::indexTensor(const Shape& shape, int64_t n) {
  TensorType t(DType::I32, shape);
  Val idx;
  switch (rng.below(4)) {
  case 0:
    if (!shape.empty()) {
      idx = fb->iota(DType::I32, Sizes(shape.begin(), shape.end()), rng.below(t.rank()));
      if (rng.chance(1, 2)) idx = idx + indexScalar(0, n - 1);
      break;
    }
    [[fallthrough]];
  case 1:
    idx = makeOfType(t).v;
    break;
  case 2:
    idx = cast(makeOfType(TensorType(DType::F32, shape)).v * 3.0, DType::I32);
    break;
  default: {
    Tensor lit(t);
    for (int64_t i = 0; i < lit.numElements(); ++i)
      lit.setInt(i, rng.below(n));
    return fb->constant(lit);
  }
  }
  return max(min(idx, n - 1), 0);
}

Val Generator::predicate() {
  std::optional<Val> p;
  switch (rng.below(4)) {
  case 0:
    if (auto b = choose([](const BVal& b) { return b.v.type() == TensorType(DType::I1); }))
      p = b->v;
    break;
  case 1:
    if (auto b = choose([](const BVal& b) { return b.v.type() == TensorType(DType::I32); }))
      p = rng.chance(1, 2) ? cast(b->v, DType::I1)
                           : lt(b->v, static_cast<double>(rng.range(-1, 4)));
    break;
  default:
    break;
  }
  if (!p) {
    // Compare a reduction of some float value with a threshold.
    auto b = choose([](const BVal& b) { return b.v.dtype() == DType::F32; });
    BVal x = b ? *b : makeOfType(TensorType(DType::F32));
    std::vector<int64_t> all(x.v.rank());
    for (size_t d = 0; d < all.size(); ++d)
      all[d] = static_cast<int64_t>(d);
    Val r = all.empty() ? x.v : rng.chance(1, 2) ? reduceSum(x.v, all) : reduceMax(x.v, all);
    double c = 0.25 * static_cast<double>(rng.range(-4, 4));
    p = rng.chance(1, 2) ? gt(r, c) : le(r, c);
  }
  return rng.chance(1, 5) ? logicalNot(*p) : *p;
}

// ---- Steps --------------------------------------------------------------------------

namespace {

struct StepKind {
  int weight;
  bool (Generator::*emit)();
  bool controlFlow;
};

const StepKind kSteps[] = {
    {10, &Generator::emitUnary, false},
    {12, &Generator::emitBinary, false},
    {4, &Generator::emitCompare, false},
    {4, &Generator::emitSelect, false},
    {4, &Generator::emitCast, false},
    {5, &Generator::emitIdentity, false},
    {3, &Generator::emitBroadcast, false},
    {3, &Generator::emitReshape, false},
    {3, &Generator::emitTranspose, false},
    {3, &Generator::emitConcat, false},
    {3, &Generator::emitSlice, false},
    {3, &Generator::emitDynamicSlice, false},
    {3, &Generator::emitDynamicUpdateSlice, false},
    {3, &Generator::emitGather, false},
    {4, &Generator::emitScatter, false},
    {5, &Generator::emitReduce, false},
    {2, &Generator::emitArgmax, false},
    {5, &Generator::emitDot, false},
    {2, &Generator::emitConstant, false},
    {2, &Generator::emitIota, false},
    {1, &Generator::emitMisc, false},
    {3, &Generator::emitTwin, false},
    {6, &Generator::emitHazard, false},
    {4, &Generator::emitWhile, true},
    {2, &Generator::emitSequenceLoop, true},
    {2, &Generator::emitLoopPair, true},
    {4, &Generator::emitIf, true},
    {5, &Generator::emitCall, true},
};

} // namespace

bool Generator::step() {
  bool control = depth < opt.maxDepth;
  int total = 0;
  for (const StepKind& k : kSteps)
    total += control || !k.controlFlow ? k.weight : 0;
  int64_t r = rng.below(total);
  for (const StepKind& k : kSteps) {
    if (!control && k.controlFlow) continue;
    if (r < k.weight) return (this->*k.emit)();
    r -= k.weight;
  }
  return false;
}

void Generator::steps(int n) {
  for (int i = 0; i < n; ++i)
    for (int attempt = 0; attempt < 8 && !step(); ++attempt) {
    }
}

// ---- Control flow ----------------------------------------------------------------------

namespace {

/// The bound a loop-carried value keeps across iterations.
double carriedBound(const BVal& b) {
  if (isFloat(b.v.dtype())) return std::max(b.bound, 1.0);
  return isBool(b.v.dtype()) ? 1 : kIntUnknown;
}

} // namespace

bool Generator::emitWhile() {
  Val n = indexScalar(0, kMaxTrip);
  Val runs = gt(n, 0); // the body runs only if n > 0, whichever way it counts
  bool down = rng.chance(1, 3);
  bool extraCond = rng.chance(1, 3);
  ValueList inits{down ? n : fb->scalar(0, DType::I32)};
  std::vector<double> bounds{static_cast<double>(kMaxTrip)};
  for (int64_t k = rng.range(1, 3); k > 0; --k) {
    auto b = choose([](const BVal&) { return true; });
    BVal init = b ? *b : makeOfType(TensorType(DType::F32, randomShape()));
    inits.push_back(init.v);
    bounds.push_back(carriedBound(init));
  }
  std::optional<IntOrVal> maxTrip;
  switch (rng.below(5)) {
  case 0:
    maxTrip = n;
    break;
  case 1:
    break; // none: the counter still bounds it
  default:
    maxTrip = IntOrVal(kMaxTrip);
    break;
  }
  auto enter = [&](const ValueList& c) {
    openScope();
    for (size_t i = 0; i < c.size(); ++i)
      add({c[i], bounds[i]});
  };
  ValueList out = fb->whileLoop(
      inits,
      [&](const ValueList& c) {
        enter(c);
        Val go = down ? gt(c[0], 0) : lt(c[0], n);
        // A data-dependent early exit; `and` keeps the counter's bound.
        if (extraCond) go = logicalAnd(go, predicate());
        closeScope();
        return go;
      },
      [&](const ValueList& c) {
        enter(c);
        ++depth;
        pushGuard(runs);
        steps(static_cast<int>(rng.range(1, opt.regionSteps)));
        ValueList next{down ? c[0] - 1.0 : c[0] + 1.0};
        for (size_t i = 1; i < c.size(); ++i)
          next.push_back(tameTo(makeOfType(c[i].type(), true), bounds[i]).v);
        guards.pop_back();
        --depth;
        closeScope();
        return next;
      },
      maxTrip);
  for (size_t i = 0; i < out.size(); ++i)
    add({out[i], bounds[i]});
  return true;
}

BVal Generator::sequenceInput() {
  auto picked = choose([](const BVal& b) {
    return b.v.dtype() == DType::F32 && b.v.type().hasStaticShape() && b.v.rank() >= 2 &&
           b.v.rank() <= 3;
  });
  return picked ? *picked : makeOfType(TensorType(DType::F32, randomShape(2, 3)));
}

// The shape hoist-input-projection looks for: a counter t stepping by one
// over the rows of an invariant `xs`, each row multiplied by an invariant W.
bool Generator::emitSequenceLoop() {
  sequenceLoop(sequenceInput(), rng.chance(1, 3));
  return true;
}

// A bidirectional layer's shape: two sequence loops over the same rows, one
// each way, each with its own weight. pair-independent-loops pairs them,
// hoist-input-projection gives each a product of `xs` only it reads, and
// lowering moves that product onto its loop's thread
// (compiler/lowering/PairLoops.cpp), so the executor runs each product
// beside the other loop.
bool Generator::emitLoopPair() {
  BVal xs = sequenceInput();
  sequenceLoop(xs, false);
  sequenceLoop(xs, true);
  return true;
}

void Generator::sequenceLoop(const BVal& xs, bool down) {
  int64_t rows = xs.v.shape()[0];
  Shape rowShape(xs.v.shape().begin() + 1, xs.v.shape().end());
  int64_t n = rng.range(1, kMaxDim);
  BVal w = tameTo(makeOfType(TensorType(DType::F32, {rowShape.back(), n})), 4);
  Shape hShape(rowShape.begin(), rowShape.end() - 1);
  hShape.push_back(n);
  BVal h0 = makeOfType(TensorType(DType::F32, hShape));
  double hBound = carriedBound(h0);
  double pBound = xs.bound * w.bound * static_cast<double>(rowShape.back());
  Val trips = indexScalar(0, rows);
  Val runs = gt(trips, 0);
  bool useGather = rng.chance(1, 3);
  IntOrVal maxTrip = rng.chance(1, 2) ? IntOrVal(trips) : IntOrVal(rows);
  ValueList out = fb->whileLoop(
      {down ? trips - 1.0 : fb->scalar(0, DType::I32), h0.v},
      [&](const ValueList& c) { return down ? ge(c[0], 0) : lt(c[0], trips); },
      [&](const ValueList& c) {
        openScope();
        ++depth;
        Val t = c[0];
        add({t, static_cast<double>(rows)});
        add({c[1], hBound});
        Val row;
        if (useGather) {
          row = gather(xs.v, t, 0);
        } else {
          std::vector<IntOrVal> starts(xs.v.rank(), IntOrVal(0));
          starts[0] = t;
          Shape sizes = xs.v.shape();
          sizes[0] = 1;
          row = reshape(dynamicSlice(xs.v, starts, sizes), Sizes(rowShape.begin(), rowShape.end()));
        }
        BVal p = tame({dot(row, w.v), pBound});
        add(p);
        pushGuard(runs);
        steps(static_cast<int>(rng.range(0, opt.regionSteps - 1)));
        guards.pop_back();
        BVal next =
            rng.chance(1, 2) ? tame({p.v + c[1], p.bound + hBound}) : makeOfType(c[1].type(), true);
        Val y = tameTo(next, hBound).v;
        --depth;
        closeScope();
        return ValueList{t + (down ? -1.0 : 1.0), y};
      },
      maxTrip);
  add({out[0], static_cast<double>(rows)});
  add({out[1], hBound});
}

bool Generator::emitIf() {
  Val p = predicate();
  std::vector<TensorType> types;
  for (int64_t k = rng.range(1, 2); k > 0; --k) {
    auto b = rng.chance(2, 3) ? choose([](const BVal&) { return true; }) : std::nullopt;
    if (b) {
      types.push_back(b->v.type());
    } else {
      DType dt = randomDType();
      types.emplace_back(dt, randomShape());
    }
  }
  std::vector<double> bounds(types.size(), 0);
  Val branchGuards[] = {p, logicalNot(p)};
  int branchIndex = 0;
  auto branch = [&]() {
    openScope();
    ++depth;
    pushGuard(branchGuards[branchIndex++]);
    if (rng.chance(4, 5)) steps(static_cast<int>(rng.range(1, opt.regionSteps)));
    guards.pop_back();
    ValueList out;
    for (size_t i = 0; i < types.size(); ++i) {
      BVal y = makeOfType(types[i], true);
      bounds[i] = std::max(bounds[i], y.bound);
      out.push_back(y.v);
    }
    --depth;
    closeScope();
    return out;
  };
  ValueList out = fb->ifElse(p, branch, branch);
  for (size_t i = 0; i < out.size(); ++i)
    add({out[i], bounds[i]});
  return true;
}

bool Generator::emitCall() {
  if (helpers_.empty()) return false;
  const Helper& h = helpers_[rng.below(helpers_.size())];
  int64_t size = rng.range(1, kMaxDim); // this call's `?` size
  auto concrete = [&](Shape s) {
    for (int64_t& d : s)
      if (d == kDynamic) d = size;
    return s;
  };
  ValueList args;
  for (const TensorType& p : h.fn->argumentTypes()) {
    BVal a = makeOfType(TensorType(p.dtype, concrete(p.shape)));
    if (isFloat(p.dtype)) a = tameTo(a, h.paramBound);
    args.push_back(a.v);
  }
  ValueList out = fb->call(*h.fn, args);
  for (size_t i = 0; i < out.size(); ++i) {
    Val r = out[i];
    if (!r.type().hasStaticShape()) {
      Shape s = concrete(r.shape());
      r = reshape(r, Sizes(s.begin(), s.end()));
    }
    add({r, h.resultBounds[i]});
  }
  return true;
}

// ---- Functions ------------------------------------------------------------------------

std::vector<Val> Generator::pickResults(size_t max) {
  std::vector<Val> out;
  size_t args = fb->numArgs();
  for (size_t i = pool_.size(); i > args && out.size() < max; --i)
    if (pool_[i - 1].uses == 0) out.push_back(pool_[i - 1].b.v);
  if (out.empty()) out.push_back(pool_.back().b.v);
  return out;
}

void Generator::buildHelper(int index) {
  dynamicFn = opt.dynamicHelpers && rng.chance(1, 2);
  std::vector<TensorType> params;
  bool anyDynamic = false;
  for (int64_t k = rng.range(1, 3); k > 0; --k) {
    DType dt = k == 1 ? DType::F32 : randomDType();
    TensorType t(dt, randomShape());
    for (int64_t& d : t.shape)
      if (dynamicFn && rng.chance(1, 2)) {
        d = kDynamic;
        anyDynamic = true;
      }
    params.push_back(t);
  }
  dynamicFn = anyDynamic;
  static const double kParamBounds[] = {1, 2, 4};
  Helper h;
  h.paramBound = kParamBounds[rng.below(3)];
  FunctionBuilder b(*module_, "helper" + std::to_string(index), params);
  fb = &b;
  pool_.clear();
  scopes_.clear();
  for (size_t i = 0; i < params.size(); ++i) {
    DType dt = params[i].dtype;
    add({b.arg(i), isFloat(dt) ? h.paramBound : isBool(dt) ? 1 : kIntUnknown});
  }
  steps(static_cast<int>(rng.range(2, opt.helperSteps)));
  std::vector<Val> results = pickResults(static_cast<size_t>(rng.range(1, 2)));
  for (const Val& r : results)
    for (const Item& it : pool_)
      if (it.b.v.value() == r.value()) {
        h.resultBounds.push_back(it.b.bound);
        break;
      }
  h.fn = b.ret(ValueList(results.begin(), results.end()));
  helpers_.push_back(h);
  dynamicFn = false;
}

void Generator::buildMain() {
  std::vector<TensorType> params{TensorType(DType::F32, randomShape())};
  for (int64_t k = rng.range(0, opt.maxArgs - 1); k > 0; --k) {
    int64_t r = rng.below(20);
    if (r < 14)
      params.emplace_back(DType::F32, randomShape());
    else if (r < 17)
      params.emplace_back(DType::I32, randomShape(0, 2));
    else
      params.emplace_back(DType::I1, randomShape(0, 1));
  }
  FunctionBuilder b(*module_, kGeneratedEntry, params);
  fb = &b;
  pool_.clear();
  scopes_.clear();
  for (size_t i = 0; i < params.size(); ++i) {
    DType dt = params[i].dtype;
    add({b.arg(i), isFloat(dt) ? 2.0 : isBool(dt) ? 1.0 : 8.0});
  }
  steps(std::max(1, opt.mainSteps + static_cast<int>(rng.range(-3, 3))));
  std::vector<Val> results = pickResults(static_cast<size_t>(opt.maxResults));
  b.ret(ValueList(results.begin(), results.end()));
}

std::unique_ptr<Module> Generator::run() {
  module_ = std::make_unique<Module>();
  for (int64_t i = 0, n = rng.range(0, opt.maxHelpers); i < n; ++i)
    buildHelper(static_cast<int>(i));
  buildMain();
  fb = nullptr;
  return std::move(module_);
}

} // namespace gen

std::unique_ptr<Module> generateProgram(uint64_t seed, const GeneratorOptions& options) {
  return gen::Generator(seed, options).run();
}

std::vector<Tensor> generateInputs(const Function& f, uint64_t seed) {
  std::vector<Tensor> out;
  std::vector<TensorType> types = f.argumentTypes();
  for (size_t k = 0; k < types.size(); ++k) {
    TensorType type = types[k];
    for (int64_t& d : type.shape)
      if (d == kDynamic) d = 3;
    // One stream per parameter: a new parameter does not shift the others.
    gen::Rng rng(seed * 0x2545f4914f6cdd1dULL + k + 1);
    Tensor t(type);
    for (int64_t i = 0; i < t.numElements(); ++i) {
      if (isFloat(type.dtype)) {
        int64_t r = rng.below(16);
        t.setDouble(i, r == 0 ? -0.0 : r == 1 ? 0.0 : 4 * rng.uniform() - 2);
      } else if (isBool(type.dtype)) {
        t.setInt(i, rng.below(2));
      } else {
        t.setInt(i, rng.range(-4, 8));
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

} // namespace cairn
