// The generator's data-flow steps: one op family each (elementwise, shape,
// indexing, reductions, products, constants), with the operand choices that
// keep every program well typed and every result finite and in range.
#include <algorithm>
#include <cmath>

#include "compiler/testing/GeneratorInternal.h"

namespace cairn::gen {
namespace {

/// Bound on the number of elements of a derived value: programs stay cheap.
constexpr int64_t kMaxElements = 256;

bool any(const BVal&) {
  return true;
}
bool isStaticValue(const BVal& b) {
  return b.v.type().hasStaticShape();
}
bool isNumeric(const BVal& b) {
  return !isBool(b.v.dtype());
}
double dimBound(int64_t d) {
  return d == kDynamic ? kMaxDim : static_cast<double>(d);
}
/// Integers wrap: their bound never exceeds the i32 range.
double capBound(DType dt, double b) {
  return isFloat(dt) ? b : isBool(dt) ? 1 : std::min(b, kIntUnknown);
}
std::vector<int64_t> allDims(int64_t rank) {
  std::vector<int64_t> d(static_cast<size_t>(rank));
  for (int64_t i = 0; i < rank; ++i)
    d[i] = i;
  return d;
}
template <typename T> void shuffle(Rng& rng, std::vector<T>& v) {
  for (size_t i = v.size(); i > 1; --i)
    std::swap(v[i - 1], v[rng.below(static_cast<int64_t>(i))]);
}
Sizes sizesOf(const Shape& s) {
  return Sizes(s.begin(), s.end());
}
/// The numpy broadcast of two shapes that Generator::broadcastable accepts.
Shape broadcastShape(const Shape& a, const Shape& b) {
  Shape out(std::max(a.size(), b.size()));
  for (size_t i = 1; i <= out.size(); ++i) {
    int64_t x = i <= a.size() ? a[a.size() - i] : 1;
    int64_t y = i <= b.size() ? b[b.size() - i] : 1;
    out[out.size() - i] = x == 1 ? y : x;
  }
  return out;
}

} // namespace

BVal applyUnary(Generator& g, OpKind kind, BVal x) {
  Val v = x.v;
  double b = x.bound;
  switch (kind) {
  case OpKind::Neg:
    return {neg(v), b};
  case OpKind::Abs:
    return {abs(v), b};
  case OpKind::Relu:
    return {relu(v), b};
  case OpKind::Exp:
    if (b > 8) {
      v = tanh(v);
      b = 1;
    }
    return {exp(v), std::exp(b)};
  case OpKind::Log: { // log(|x| + c): finite, c > 0
    double c = g.rng.chance(1, 2) ? 1 : 0.5;
    return {log(abs(v) + c), std::max(std::abs(std::log(c)), std::log(b + c))};
  }
  case OpKind::Tanh:
    return {tanh(v), std::min(b, 1.0)};
  case OpKind::Sigmoid:
    return {sigmoid(v), 1};
  case OpKind::Erf:
    return {erf(v), std::min(b, 1.0)};
  case OpKind::Sqrt:
    return {sqrt(abs(v)), std::sqrt(b)};
  case OpKind::Rsqrt: {
    double c = g.rng.chance(1, 2) ? 1 : 0.25;
    return {rsqrt(abs(v) + c), 1 / std::sqrt(c)};
  }
  case OpKind::Not:
    return {logicalNot(v), capBound(v.dtype(), b + 1)};
  default:
    CAIRN_CHECK(false, "not a unary op: {}", opName(kind));
  }
  return x;
}

BVal castTo(BVal x, DType to) {
  DType from = x.v.dtype();
  double b = isBool(from) || isBool(to) ? 1
             : isInteger(to)            ? std::min(std::floor(x.bound), kIntUnknown)
                                        : x.bound;
  return {cast(x.v, to), b};
}

BVal Generator::partnerFor(const BVal& a) {
  if (rng.chance(1, 10)) return a;
  if (rng.chance(2, 3))
    if (auto b = choose([&](const BVal& b) {
          return b.v.dtype() == a.v.dtype() && broadcastable(a.v.shape(), b.v.shape());
        }))
      return *b;
  // A trailing part of a's shape, some dims 1 (every `?` becomes 1: a made
  // value is static).
  Shape s(a.v.shape().begin() + rng.range(0, a.v.rank()), a.v.shape().end());
  for (int64_t& d : s)
    if (d == kDynamic || rng.chance(1, 4)) d = 1;
  return makeOfType(TensorType(a.v.dtype(), s));
}

bool Generator::emitUnary() {
  BVal x = *choose(any);
  static const OpKind kFloat[] = {OpKind::Neg,  OpKind::Abs,  OpKind::Exp,     OpKind::Log,
                                  OpKind::Tanh, OpKind::Erf,  OpKind::Sigmoid, OpKind::Relu,
                                  OpKind::Sqrt, OpKind::Rsqrt};
  static const OpKind kInt[] = {OpKind::Neg, OpKind::Abs, OpKind::Relu, OpKind::Not};
  DType dt = x.v.dtype();
  OpKind k = isFloat(dt)  ? kFloat[rng.below(std::size(kFloat))]
             : isBool(dt) ? OpKind::Not
                          : kInt[rng.below(std::size(kInt))];
  add(tame(applyUnary(*this, k, x)));
  return true;
}

bool Generator::emitBinary() {
  BVal a = *choose(any);
  BVal b = partnerFor(a);
  if (rng.chance(1, 2)) std::swap(a, b);
  DType dt = a.v.dtype();
  static const OpKind kFloat[] = {OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::Div,
                                  OpKind::Max, OpKind::Min, OpKind::Pow};
  static const OpKind kInt[] = {OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::Div,
                                OpKind::Max, OpKind::Min, OpKind::And, OpKind::Or};
  OpKind k = isFloat(dt)  ? kFloat[rng.below(std::size(kFloat))]
             : isBool(dt) ? (rng.chance(1, 2) ? OpKind::And : OpKind::Or)
                          : kInt[rng.below(std::size(kInt))];
  double ba = a.bound, bb = b.bound;
  BVal r;
  switch (k) {
  case OpKind::Add:
    r = {a.v + b.v, ba + bb};
    break;
  case OpKind::Sub:
    r = {a.v - b.v, ba + bb};
    break;
  case OpKind::Mul:
    r = {a.v * b.v, ba * bb};
    break;
  case OpKind::Div:
    if (isFloat(dt)) {
      double c = rng.chance(1, 2) ? 1 : 0.5;
      r = {a.v / (abs(b.v) + c), ba / c};
    } else { // |divisor| >= 1: never zero (INT_MIN / -1 wraps)
      r = {a.v / max(abs(b.v), 1), ba};
    }
    break;
  case OpKind::Max:
    r = {max(a.v, b.v), std::max(ba, bb)};
    break;
  case OpKind::Min:
    r = {min(a.v, b.v), std::max(ba, bb)};
    break;
  case OpKind::Pow: { // base in [0.5, ba + 0.5], exponent in [-2, 2]
    Val e = rng.chance(1, 2) ? tanh(b.v) * 2.0 : min(max(b.v, -2.0), 2.0);
    r = {pow(abs(a.v) + 0.5, e), std::max(std::pow(ba + 0.5, 2), 4.0)};
    break;
  }
  case OpKind::And:
    r = {logicalAnd(a.v, b.v), 2 * std::max(ba, bb) + 1};
    break;
  default:
    r = {logicalOr(a.v, b.v), 2 * std::max(ba, bb) + 1};
    break;
  }
  r.bound = capBound(dt, r.bound);
  add(tame(r));
  return true;
}

bool Generator::emitCompare() {
  BVal a = *choose(any);
  BVal b = partnerFor(a);
  static const OpKind kCmp[] = {OpKind::Eq, OpKind::Ne, OpKind::Lt,
                                OpKind::Le, OpKind::Gt, OpKind::Ge};
  ValueList operands{a.v, b.v};
  if (rng.chance(1, 2)) std::swap(operands[0], operands[1]);
  Val r;
  switch (kCmp[rng.below(std::size(kCmp))]) {
  case OpKind::Eq:
    r = eq(operands[0], operands[1]);
    break;
  case OpKind::Ne:
    r = ne(operands[0], operands[1]);
    break;
  case OpKind::Lt:
    r = lt(operands[0], operands[1]);
    break;
  case OpKind::Le:
    r = le(operands[0], operands[1]);
    break;
  case OpKind::Gt:
    r = gt(operands[0], operands[1]);
    break;
  default:
    r = ge(operands[0], operands[1]);
    break;
  }
  add({r, 1});
  return true;
}

bool Generator::emitSelect() {
  BVal a = *choose(any);
  BVal b = partnerFor(a);
  Shape s = broadcastShape(a.v.shape(), b.v.shape());
  std::optional<Val> pred;
  if (rng.chance(2, 3)) {
    if (auto p = choose([&](const BVal& p) {
          return p.v.dtype() == DType::I1 && p.v.rank() > 0 && broadcastable(p.v.shape(), s) &&
                 broadcastable(p.v.shape(), a.v.shape()) && broadcastable(p.v.shape(), b.v.shape());
        }))
      pred = p->v;
    else if (isNumeric(a))
      pred = gt(a.v, rng.chance(1, 2) ? 0.0 : 1.0);
  }
  if (!pred) pred = predicate();
  add({select(*pred, a.v, b.v), std::max(a.bound, b.bound)});
  return true;
}

bool Generator::emitCast() {
  BVal x = *choose(any);
  static const DType kTargets[] = {DType::F32, DType::I32, DType::I1};
  DType to = x.v.dtype();
  while (to == x.v.dtype())
    to = kTargets[rng.below(3)];
  add(tame(castTo(x, to)));
  return true;
}

// Patterns canonicalize rewrites (x + 0, x * 1, neg(neg x), identity
// transposes, broadcasts and slices, select on a constant) and the look-alike
// it must not (x + 0.0 for floats: -0.0 + 0.0 is +0.0).
bool Generator::emitIdentity() {
  BVal x = *choose(any);
  DType dt = x.v.dtype();
  bool isStatic = x.v.type().hasStaticShape();
  Val r;
  switch (rng.below(8)) {
  case 0:
    if (isBool(dt)) {
      r = logicalOr(x.v, 0);
    } else if (isFloat(dt)) {
      // Zeros of both signs make `x + 0.0 -> x` (wrong for -0.0) show.
      Val z = rng.chance(1, 2) ? x.v : rng.chance(1, 2) ? x.v * 0.0 : neg(relu(x.v));
      r = z + (rng.chance(1, 2) ? -0.0 : 0.0);
    } else {
      r = x.v + 0.0;
    }
    break;
  case 1:
    r = isBool(dt) ? logicalAnd(x.v, 1) : x.v * 1.0;
    break;
  case 2:
    r = isBool(dt) ? logicalNot(logicalNot(x.v)) : neg(neg(x.v));
    break;
  case 3:
    if (x.v.rank() == 0) return false;
    r = transpose(x.v, allDims(x.v.rank()));
    break;
  case 4:
    if (!isStatic) return false;
    r = fb->create1(OpKind::Broadcast, {x.v}, {{"dims", allDims(x.v.rank())}}, {x.v.type()});
    break;
  case 5: {
    BVal y = makeOfType(x.v.type());
    Val p = fb->constant(Tensor::scalar(DType::I1, rng.below(2)));
    add({select(p, x.v, y.v), std::max(x.bound, y.bound)});
    return true;
  }
  case 6:
    if (isBool(dt)) return false;
    r = x.v - (isFloat(dt) && rng.chance(1, 2) ? -0.0 : 0.0);
    break;
  default:
    if (!isStatic || x.v.rank() == 0) return false;
    if (rng.chance(1, 2)) {
      r = slice(x.v, std::vector<int64_t>(x.v.rank(), 0), x.v.shape());
    } else {
      r = dynamicSlice(x.v, std::vector<IntOrVal>(x.v.rank(), IntOrVal(0)), x.v.shape());
    }
    break;
  }
  add({r, x.bound});
  return true;
}

bool Generator::emitBroadcast() {
  auto x = choose([](const BVal& b) { return isStaticValue(b) && b.v.rank() < kMaxRank; });
  if (!x) return false;
  int64_t r = x->v.rank();
  int64_t rank = rng.range(r, std::min(r + 2, kMaxRank));
  std::vector<int64_t> positions = allDims(rank);
  shuffle(rng, positions);
  std::vector<int64_t> dims(positions.begin(), positions.begin() + r);
  std::sort(dims.begin(), dims.end());
  Shape shape(rank, 0);
  for (int64_t i = 0; i < r; ++i) {
    int64_t d = x->v.shape()[i];
    shape[dims[i]] = d == 1 && rng.chance(1, 2) ? rng.range(1, kMaxDim) : d;
  }
  for (int64_t& d : shape)
    if (d == 0) d = rng.range(1, 4);
  if (numElements(shape) > kMaxElements) return false;
  add({broadcastInDim(x->v, sizesOf(shape), dims), x->bound});
  return true;
}

bool Generator::emitReshape() {
  auto x = choose(isStaticValue);
  if (!x) return false;
  int64_t n = x->v.type().numElements();
  Shape shape;
  int64_t rank = rng.range(n == 1 ? 0 : 1, 3);
  int64_t rest = n;
  for (int64_t i = 0; i + 1 < rank; ++i) {
    std::vector<int64_t> divisors;
    for (int64_t d = 1; d <= rest; ++d)
      if (rest % d == 0) divisors.push_back(d);
    int64_t d = divisors[rng.below(divisors.size())];
    shape.push_back(d);
    rest /= d;
  }
  if (rank > 0) shape.push_back(rest);
  shuffle(rng, shape);
  if (shape == x->v.shape()) return false;
  add({reshape(x->v, sizesOf(shape)), x->bound});
  return true;
}

bool Generator::emitTranspose() {
  auto x = choose([](const BVal& b) { return b.v.rank() >= 2; });
  if (!x) return false;
  std::vector<int64_t> perm = allDims(x->v.rank());
  shuffle(rng, perm);
  Val r = transpose(x->v, perm);
  if (rng.chance(1, 3)) { // transposes that compose (to the identity, sometimes)
    shuffle(rng, perm);
    r = transpose(r, perm);
  }
  add({r, x->bound});
  return true;
}

bool Generator::emitConcat() {
  auto x = choose([](const BVal& b) { return isStaticValue(b) && b.v.rank() >= 1; });
  if (!x) return false;
  int64_t axis = rng.below(x->v.rank());
  ValueList parts{x->v};
  double bound = x->bound;
  Shape total = x->v.shape();
  for (int64_t k = rng.range(1, 2); k > 0; --k) {
    auto sameButAxis = [&](const BVal& b) {
      if (b.v.dtype() != x->v.dtype() || b.v.rank() != x->v.rank() || !isStaticValue(b))
        return false;
      for (int64_t d = 0; d < b.v.rank(); ++d)
        if (d != axis && b.v.shape()[d] != x->v.shape()[d]) return false;
      return true;
    };
    std::optional<BVal> y = rng.chance(1, 5) ? x : choose(sameButAxis);
    if (!y) {
      Shape s = x->v.shape();
      s[axis] = rng.range(1, 3);
      y = makeOfType(TensorType(x->v.dtype(), s));
    }
    parts.push_back(y->v);
    bound = std::max(bound, y->bound);
    total[axis] += y->v.shape()[axis];
  }
  if (numElements(total) > kMaxElements) return false;
  add({concat(parts, axis), bound});
  return true;
}

bool Generator::emitSlice() {
  auto x = choose([](const BVal& b) { return isStaticValue(b) && b.v.rank() >= 1; });
  if (!x) return false;
  std::vector<int64_t> start, limit, stride;
  bool strided = false;
  for (int64_t d : x->v.shape()) {
    start.push_back(rng.below(d));
    limit.push_back(rng.range(start.back() + 1, d));
    stride.push_back(rng.chance(1, 4) ? 2 : 1);
    strided |= stride.back() != 1;
  }
  add({slice(x->v, start, limit, strided ? stride : std::vector<int64_t>{}), x->bound});
  return true;
}

namespace {

/// Block sizes within `shape` and starts that keep the block inside it:
/// static offsets sometimes, data-dependent clamped ones otherwise.
std::vector<IntOrVal> blockStarts(Generator& g, const Shape& shape, Shape& sizes,
                                  bool staticOnly = false) {
  std::vector<IntOrVal> starts;
  sizes.clear();
  for (int64_t d : shape) {
    sizes.push_back(g.rng.range(1, d));
    int64_t room = d - sizes.back();
    if (room == 0 || staticOnly || g.rng.chance(1, 4))
      starts.emplace_back(g.rng.range(0, room));
    else
      starts.emplace_back(g.indexScalar(0, room));
  }
  return starts;
}

} // namespace

bool Generator::emitDynamicSlice() {
  auto x = choose([](const BVal& b) { return isStaticValue(b) && b.v.rank() >= 1; });
  if (!x) return false;
  Shape sizes;
  std::vector<IntOrVal> starts = blockStarts(*this, x->v.shape(), sizes);
  add({dynamicSlice(x->v, starts, sizes), x->bound});
  return true;
}

bool Generator::emitDynamicUpdateSlice() {
  auto x = choose([](const BVal& b) { return isStaticValue(b) && b.v.rank() >= 1; });
  if (!x) return false;
  Shape sizes;
  std::vector<IntOrVal> starts = blockStarts(*this, x->v.shape(), sizes);
  BVal u = makeOfType(TensorType(x->v.dtype(), sizes));
  add({dynamicUpdateSlice(x->v, u.v, starts), std::max(x->bound, u.bound)});
  return true;
}

namespace {

struct GatherSetup {
  BVal x;
  int64_t axis = 0, batch = 0;
  Shape indices, gathered; ///< index shape, gather's result shape
  int64_t extra = 1;       ///< elements of the non-batch index dims
};

std::optional<GatherSetup> gatherSetup(Generator& g, bool numeric) {
  auto x = g.choose([&](const BVal& b) {
    return isStaticValue(b) && b.v.rank() >= 1 && (!numeric || isNumeric(b));
  });
  if (!x) return std::nullopt;
  GatherSetup s;
  s.x = *x;
  const Shape& xs = x->v.shape();
  s.axis = g.rng.below(x->v.rank());
  s.batch = s.axis > 0 && g.rng.chance(1, 3) ? g.rng.range(1, s.axis) : 0;
  Shape extra = g.randomShape(0, 2);
  s.extra = numElements(extra);
  s.indices.assign(xs.begin(), xs.begin() + s.batch);
  s.indices.insert(s.indices.end(), extra.begin(), extra.end());
  s.gathered.assign(xs.begin(), xs.begin() + s.axis);
  s.gathered.insert(s.gathered.end(), extra.begin(), extra.end());
  s.gathered.insert(s.gathered.end(), xs.begin() + s.axis + 1, xs.end());
  if (static_cast<int64_t>(s.gathered.size()) > kMaxRank || numElements(s.gathered) > kMaxElements)
    return std::nullopt;
  return s;
}

} // namespace

bool Generator::emitGather() {
  auto s = gatherSetup(*this, false);
  if (!s) return false;
  Val idx = indexTensor(s->indices, s->x.v.shape()[s->axis]);
  add({gather(s->x.v, idx, s->axis, s->batch), s->x.bound});
  return true;
}

bool Generator::emitScatter() {
  bool accumulate = rng.chance(1, 2);
  auto s = gatherSetup(*this, accumulate);
  if (!s) return false;
  Val idx = indexTensor(s->indices, s->x.v.shape()[s->axis]);
  BVal u = makeOfType(TensorType(s->x.v.dtype(), s->gathered));
  DType dt = s->x.v.dtype();
  if (accumulate) {
    double bound = capBound(dt, s->x.bound + u.bound * static_cast<double>(s->extra));
    add(tame({scatterAdd(s->x.v, idx, u.v, s->axis, s->batch), bound}));
  } else {
    add({scatter(s->x.v, idx, u.v, s->axis, s->batch), std::max(s->x.bound, u.bound)});
  }
  return true;
}

bool Generator::emitReduce() {
  auto x = choose([](const BVal& b) { return isNumeric(b) && b.v.rank() >= 1; });
  if (!x) return false;
  std::vector<int64_t> dims;
  double count = 1;
  for (int64_t d = 0; d < x->v.rank(); ++d)
    if (rng.chance(1, 2)) {
      dims.push_back(d);
      count *= dimBound(x->v.shape()[d]);
    }
  if (dims.empty()) {
    dims.push_back(rng.below(x->v.rank()));
    count = dimBound(x->v.shape()[dims[0]]);
  }
  bool keep = rng.chance(1, 4);
  DType dt = x->v.dtype();
  switch (rng.below(3)) {
  case 0:
    add(tame({reduceSum(x->v, dims, keep), capBound(dt, x->bound * count)}));
    break;
  case 1:
    add({reduceMax(x->v, dims, keep), x->bound});
    break;
  default:
    add({reduceMin(x->v, dims, keep), x->bound});
    break;
  }
  return true;
}

bool Generator::emitArgmax() {
  auto x = choose([](const BVal& b) { return isNumeric(b) && b.v.rank() >= 1; });
  if (!x) return false;
  int64_t axis = rng.below(x->v.rank());
  bool wide = rng.chance(1, 4);
  Val r = argmax(x->v, axis, wide ? DType::I64 : DType::I32);
  if (wide) r = cast(r, DType::I32);
  add({r, dimBound(x->v.shape()[axis])});
  return true;
}

bool Generator::emitDot() {
  bool integer = rng.chance(1, 6);
  auto a = choose([&](const BVal& b) {
    return isStaticValue(b) && b.v.rank() >= 1 && b.v.rank() <= 3 &&
           b.v.dtype() == (integer ? DType::I32 : DType::F32);
  });
  if (!a) return false;
  int64_t r = a->v.rank();
  int64_t nb = r >= 2 && rng.chance(1, 3) ? 1 : 0;
  int64_t nc = r - nb >= 2 && rng.chance(1, 4) ? 2 : 1;
  int64_t nf = rng.range(0, 2);
  std::vector<int64_t> lhs = allDims(r);
  shuffle(rng, lhs);
  std::vector<int64_t> rhs = allDims(nb + nc + nf);
  shuffle(rng, rhs);
  DotDims dd;
  Shape rhsShape(rhs.size(), 0);
  double count = 1;
  for (int64_t i = 0; i < nb; ++i) {
    dd.lhsBatch.push_back(lhs[i]);
    dd.rhsBatch.push_back(rhs[i]);
    rhsShape[rhs[i]] = a->v.shape()[lhs[i]];
  }
  for (int64_t i = nb; i < nb + nc; ++i) {
    dd.lhsContract.push_back(lhs[i]);
    dd.rhsContract.push_back(rhs[i]);
    rhsShape[rhs[i]] = a->v.shape()[lhs[i]];
    count *= static_cast<double>(a->v.shape()[lhs[i]]);
  }
  int64_t outElements = 1;
  for (int64_t i = nb + nc; i < r; ++i)
    outElements *= a->v.shape()[lhs[i]];
  for (int64_t i = 0; i < nb; ++i)
    outElements *= a->v.shape()[lhs[i]];
  for (int64_t i = nb + nc; i < nb + nc + nf; ++i) {
    rhsShape[rhs[i]] = rng.range(1, kMaxDim);
    outElements *= rhsShape[rhs[i]];
  }
  if (outElements > kMaxElements) return false;
  // The op's default (a's last dim with b's first) prints without attributes.
  bool plain = nb == 0 && nc == 1 && dd.lhsContract[0] == r - 1 && dd.rhsContract[0] == 0;
  if (plain && rng.chance(1, 2)) dd = {};
  DType dt = a->v.dtype();
  BVal b = makeOfType(TensorType(dt, rhsShape));
  add(tame({dot(a->v, b.v, dd), capBound(dt, a->bound * b.bound * count)}));
  return true;
}

bool Generator::emitConstant() {
  DType dt = randomDType(); // one draw per statement: argument order is unspecified
  add(literal(TensorType(dt, randomShape())));
  return true;
}

bool Generator::emitIota() {
  Shape s = randomShape(1, 3);
  int64_t axis = rng.below(static_cast<int64_t>(s.size()));
  DType dt = rng.chance(1, 2) ? DType::I32 : DType::F32;
  add({fb->iota(dt, sizesOf(s), axis), static_cast<double>(s[axis] - 1)});
  return true;
}

bool Generator::emitMisc() {
  // One element of a static vector at a constant index, used elementwise: a
  // one-element block gather that fusion reads at an offset (exporters' size
  // arithmetic reads a Shape so; that read once lost its offset).
  auto vec = choose([](const BVal& b) {
    return isNumeric(b) && b.v.rank() == 1 && b.v.shape()[0] >= 2 && b.v.dtype() != DType::I1;
  });
  if (vec && rng.chance(1, 3)) {
    int64_t k = rng.range(1, vec->v.shape()[0] - 1);
    Val at = fb->constant(Tensor::fromInts(TensorType(DType::I32, {1}), {k}));
    add({neg(gather(vec->v, at, 0)), vec->bound});
    return true;
  }
  BVal x = *choose(any);
  if (x.v.rank() >= 1 && rng.chance(1, 2)) {
    int64_t axis = rng.below(x.v.rank());
    add({dim(x.v, axis, DType::I32), dimBound(x.v.shape()[axis])});
  } else {
    add({stopGradient(x.v), x.bound});
  }
  return true;
}

// The same op again on the same operands (CSE merges it), or a sibling with
// other attributes (a transpose, slice or max/min reduction) that CSE must
// keep apart. Both keep the original's bound.
bool Generator::emitTwin() {
  auto x = choose([](const BVal& b) {
    const Op* d = b.v.value()->definingOp();
    return d && d->numRegions() == 0 && d->numResults() == 1 && d->kind() != OpKind::Call;
  });
  if (!x) return false;
  const Op& d = *x->v.value()->definingOp();
  ValueList operands;
  for (Value* v : d.operands)
    operands.emplace_back(*fb, v);
  AttrMap attrs = d.attrs;
  bool variant = rng.chance(1, 2);
  if (variant && d.kind() == OpKind::Transpose) {
    auto perm = d.getInts("perm");
    shuffle(rng, perm);
    attrs["perm"] = perm;
  } else if (variant && d.kind() == OpKind::Slice) {
    auto start = d.getInts("start"), limit = d.getInts("limit");
    const Shape& shape = d.operand(0)->type.shape;
    for (size_t i = 0; i < start.size(); ++i) {
      int64_t shift = rng.range(-start[i], shape[i] - limit[i]);
      start[i] += shift;
      limit[i] += shift;
    }
    attrs["start"] = start;
    attrs["limit"] = limit;
  } else if (variant && (d.kind() == OpKind::ReduceMax || d.kind() == OpKind::ReduceMin)) {
    std::vector<int64_t> dims;
    for (int64_t i = 0; i < d.operand(0)->type.rank(); ++i)
      if (rng.chance(1, 2)) dims.push_back(i);
    attrs["dims"] = dims;
  }
  try {
    add({fb->create1(d.kind(), operands, attrs, {d.result()->type}), x->bound});
  } catch (const BuildError&) {
    return false; // a variant whose types do not work out
  }
  return true;
}

// Ops that fail at run time unless a guard of an enclosing region holds, so
// they are safe where they are and fail if a pass hoists them (out of a loop
// that runs zero times, out of the branch not taken): a dynamic_slice or a
// gather whose index is out of range, or an integer division by zero.
bool Generator::emitHazard() {
  if (guards.empty()) return false;
  // The innermost region's guard mostly: hoisting one level already breaks it.
  const Guard& guard = rng.chance(2, 3) ? guards.back() : guards[rng.below(guards.size())];
  Val g = guard.holds;
  // Mostly from values defined outside the guarded region, with a constant
  // safe index: the op is then invariant there, which tempts hoisting.
  bool invariant = rng.chance(2, 3);
  size_t before = invariant ? guard.outerValues : SIZE_MAX;
  switch (rng.below(3)) {
  case 0: {
    auto x =
        choose([](const BVal& b) { return isStaticValue(b) && b.v.rank() >= 1; }, false, before);
    if (!x) return false;
    Shape sizes;
    std::vector<IntOrVal> starts = blockStarts(*this, x->v.shape(), sizes, invariant);
    size_t d = rng.below(starts.size());
    int64_t room = x->v.shape()[d] - sizes[d];
    int64_t bad = rng.chance(1, 2) ? -1 : room + 1;
    Val safe = fb->intValue(starts[d], DType::I32);
    starts[d] = select(g, safe, static_cast<double>(bad));
    add({dynamicSlice(x->v, starts, sizes), x->bound});
    return true;
  }
  case 1: {
    auto x = choose([](const BVal& b) { return b.v.dtype() == DType::I32; }, false, before);
    if (!x) return false;
    Val nonzero = invariant ? fb->scalar(static_cast<double>(rng.range(1, 4)), DType::I32)
                            : indexScalar(1, 4);
    Val divisor = select(g, nonzero, 0);
    add({x->v / divisor, x->bound});
    return true;
  }
  default: {
    auto x =
        choose([](const BVal& b) { return isStaticValue(b) && b.v.rank() >= 1; }, false, before);
    if (!x) return false;
    int64_t axis = rng.below(x->v.rank());
    int64_t n = x->v.shape()[axis];
    Shape idxShape = randomShape(0, 1);
    Tensor safe(TensorType(DType::I32, idxShape));
    for (int64_t i = 0; i < safe.numElements(); ++i)
      safe.setInt(i, rng.below(n));
    Val idx = invariant ? fb->constant(safe) : indexTensor(idxShape, n);
    idx = select(g, idx, static_cast<double>(n));
    add({gather(x->v, idx, axis), x->bound});
    return true;
  }
  }
}

} // namespace cairn::gen
