// The vector-Jacobian rule of every differentiable op, in one place.
//
// Each rule reads the forward values it needs through ctx.primal() (which
// taping inside loops follows: what is read here is what gets stored) and
// sizes through ctx.dims() (traced, not taped, when possible). Conventions
// at non-smooth points follow PyTorch: relu'(0) = 0, |x|'(0) = 0, ties of
// max/min send the gradient to the first operand, reduce_max/min share it
// evenly among tied maxima. scatter with repeated indices (last write wins)
// hands the adjoint to every duplicate, as PyTorch's index_put does.
#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "compiler/autodiff/VjpRules.h"

namespace cairn::autodiff {

namespace {

using Grads = std::vector<Val>;

Val operandOf(GradientContext& ctx, Op& op, size_t i) { return ctx.primal(op.operand(i)); }
Val resultOf(GradientContext& ctx, Op& op) { return ctx.primal(op.result(0)); }

// ---- Elementwise -------------------------------------------------------------------

Grads negVjp(GradientContext&, Op&, const Grads& d, AdjointMap&) { return {-d[0]}; }
Grads absVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  Val x = operandOf(ctx, op, 0);
  return {select(gt(x, 0.0), d[0], select(lt(x, 0.0), -d[0], 0.0))};
}
Grads expVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  return {d[0] * resultOf(ctx, op)};
}
Grads logVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  return {d[0] / operandOf(ctx, op, 0)};
}
Grads tanhVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  Val y = resultOf(ctx, op);
  return {d[0] * (1.0 - y * y)};
}
Grads sigmoidVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  Val y = resultOf(ctx, op);
  return {d[0] * (y * (1.0 - y))};
}
Grads erfVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  Val x = operandOf(ctx, op, 0); // d/dx erf(x) = 2/sqrt(pi) e^(-x^2)
  return {d[0] * (1.1283791670955126 * exp(-(x * x)))};
}
// Trigonometric and hyperbolic functions and their inverses.
Grads sinVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  return {d[0] * cos(operandOf(ctx, op, 0))};
}
Grads cosVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  return {-(d[0] * sin(operandOf(ctx, op, 0)))};
}
Grads tanVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  Val y = resultOf(ctx, op);
  return {d[0] * (1.0 + y * y)};
}
Grads asinVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  Val x = operandOf(ctx, op, 0);
  return {d[0] * rsqrt(1.0 - x * x)};
}
Grads acosVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  Val x = operandOf(ctx, op, 0);
  return {-(d[0] * rsqrt(1.0 - x * x))};
}
Grads atanVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  Val x = operandOf(ctx, op, 0);
  return {d[0] / (1.0 + x * x)};
}
Grads sinhVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  return {d[0] * cosh(operandOf(ctx, op, 0))};
}
Grads coshVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  return {d[0] * sinh(operandOf(ctx, op, 0))};
}
Grads asinhVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  Val x = operandOf(ctx, op, 0);
  return {d[0] * rsqrt(x * x + 1.0)};
}
Grads acoshVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  Val x = operandOf(ctx, op, 0);
  return {d[0] * rsqrt(x * x - 1.0)};
}
Grads atanhVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  Val x = operandOf(ctx, op, 0);
  return {d[0] / (1.0 - x * x)};
}
Grads reluVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  return {select(gt(operandOf(ctx, op, 0), 0.0), d[0], 0.0)};
}
Grads sqrtVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  return {d[0] * 0.5 / resultOf(ctx, op)};
}
Grads rsqrtVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  Val y = resultOf(ctx, op); // d/dx x^-1/2 = -1/2 x^-3/2 = -y^3 / 2
  return {d[0] * (-0.5) * (y * y * y)};
}

bool needs(GradientContext& ctx, Op& op, size_t i) { return ctx.isActive(op.operand(i)); }

Grads addVjp(GradientContext&, Op&, const Grads& d, AdjointMap&) { return {d[0], d[0]}; }
Grads subVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  return {d[0], needs(ctx, op, 1) ? -d[0] : Val()};
}
Grads mulVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  Grads g(2);
  if (needs(ctx, op, 0)) g[0] = d[0] * operandOf(ctx, op, 1);
  if (needs(ctx, op, 1)) g[1] = d[0] * operandOf(ctx, op, 0);
  return g;
}
Grads divVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  Grads g(2);
  Val b = operandOf(ctx, op, 1);
  if (needs(ctx, op, 0)) g[0] = d[0] / b;
  if (needs(ctx, op, 1)) g[1] = -(d[0] * resultOf(ctx, op)) / b; // -dy a/b^2 = -dy y/b
  return g;
}
Grads maxMinVjp(GradientContext& ctx, Op& op, const Grads& d, bool isMax) {
  Val a = operandOf(ctx, op, 0), b = operandOf(ctx, op, 1);
  Val first = isMax ? ge(a, b) : le(a, b);
  Grads g(2);
  if (needs(ctx, op, 0)) g[0] = select(first, d[0], 0.0);
  if (needs(ctx, op, 1)) g[1] = select(first, 0.0, d[0]);
  return g;
}
Grads maxVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  return maxMinVjp(ctx, op, d, true);
}
Grads minVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  return maxMinVjp(ctx, op, d, false);
}
Grads powVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  Val a = operandOf(ctx, op, 0), b = operandOf(ctx, op, 1);
  Grads g(2);
  if (needs(ctx, op, 0)) g[0] = d[0] * b * pow(a, b - 1.0);
  // d/db a^b = a^b ln a, taken as 0 where a <= 0 (as PyTorch does at a = 0).
  if (needs(ctx, op, 1)) g[1] = select(gt(a, 0.0), d[0] * resultOf(ctx, op) * log(a), 0.0);
  return g;
}
Grads selectVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  Val p = operandOf(ctx, op, 0);
  Grads g(3);
  if (needs(ctx, op, 1)) g[1] = select(p, d[0], 0.0);
  if (needs(ctx, op, 2)) g[2] = select(p, 0.0, d[0]);
  return g;
}
Grads castVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  if (!needs(ctx, op, 0)) return {Val()};
  return {cast(d[0], op.operand(0)->type.dtype)};
}

// ---- Shape and data movement --------------------------------------------------------

Grads broadcastVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  // Sum over the new dims and over dims the operand repeats (static size 1
  // widened); a dynamic operand dim is taken to match the result's.
  Value* x = op.operand(0);
  const auto& map = op.getInts("dims");
  const Shape& rs = op.result(0)->type.shape;
  std::vector<int64_t> summed;
  for (int64_t r = 0; r < static_cast<int64_t>(rs.size()); ++r) {
    auto it = std::find(map.begin(), map.end(), r);
    if (it == map.end()) {
      summed.push_back(r);
    } else {
      int64_t xd = x->type.shape[it - map.begin()];
      if (xd == 1 && rs[r] != 1) summed.push_back(r);
    }
  }
  Val g = summed.empty() ? d[0] : reduceSum(d[0], summed);
  if (g.type() != x->type) g = reshape(g, ctx.dims(x));
  return {g};
}
Grads reshapeVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  return {reshape(d[0], ctx.dims(op.operand(0)))};
}
Grads transposeVjp(GradientContext&, Op& op, const Grads& d, AdjointMap&) {
  const auto& perm = op.getInts("perm");
  std::vector<int64_t> inverse(perm.size());
  for (size_t i = 0; i < perm.size(); ++i)
    inverse[perm[i]] = static_cast<int64_t>(i);
  return {transpose(d[0], inverse)};
}
Grads concatVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  int64_t axis = op.getInt("axis");
  Grads g(op.numOperands());
  int64_t offset = 0;
  for (size_t k = 0; k < op.numOperands(); ++k) {
    int64_t size = op.operand(k)->type.shape[axis];
    if (size == kDynamic)
      throw BuildError(fmt::format("{}autodiff: gradient of 'concat' along a dynamic axis is not "
                                   "supported",
                                   op.where()));
    if (needs(ctx, op, k)) g[k] = sliceAxis(d[0], axis, offset, offset + size);
    offset += size;
  }
  return g;
}
Grads sliceVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  const auto& start = op.getInts("start");
  for (int64_t s : op.getIntsOr("stride", {}))
    if (s != 1)
      throw BuildError(fmt::format("{}autodiff: gradient of a strided 'slice' is not supported",
                                   op.where()));
  std::vector<IntOrVal> starts(start.begin(), start.end());
  return {dynamicUpdateSlice(ctx.zerosLike(op.operand(0)), d[0], starts)};
}
std::vector<IntOrVal> startOperands(GradientContext& ctx, Op& op, size_t first) {
  std::vector<IntOrVal> starts;
  for (size_t i = first; i < op.numOperands(); ++i)
    starts.emplace_back(operandOf(ctx, op, i));
  return starts;
}
Grads dynamicSliceVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  return {dynamicUpdateSlice(ctx.zerosLike(op.operand(0)), d[0], startOperands(ctx, op, 1))};
}
Grads dynamicUpdateSliceVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  Value* update = op.operand(1);
  std::vector<IntOrVal> starts = startOperands(ctx, op, 2);
  Grads g(op.numOperands());
  // The update's gradient reads the block first, so that zeroing it in the
  // operand's gradient is the last use of d[0]: done in place, not a copy
  // of the whole operand per loop step.
  if (needs(ctx, op, 1)) {
    if (isStatic(update->type.shape)) {
      g[1] = dynamicSlice(d[0], starts, update->type.shape);
    } else {
      // dynamic_slice needs static sizes: cut each dim the update does not
      // cover whole with a gather of the index range start .. start + size.
      Sizes sizes = ctx.dims(update);
      const Shape& full = op.result(0)->type.shape;
      Val block = d[0];
      for (size_t k = 0; k < full.size(); ++k) {
        int64_t u = update->type.shape[k];
        if (u != kDynamic && u == full[k]) continue;
        Val range = ctx.fb.iota(DType::I64, {sizes[k]}, 0) + cast(starts[k].val().valid()
                                                                     ? starts[k].val()
                                                                     : ctx.fb.intValue(starts[k]),
                                                                 DType::I64);
        block = gather(block, range, static_cast<int64_t>(k));
      }
      g[1] = block;
    }
  }
  if (needs(ctx, op, 0)) g[0] = dynamicUpdateSlice(d[0], ctx.zerosLike(update), starts);
  return g;
}
Grads gatherVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  int64_t axis = op.getInt("axis"), batch = op.getIntOr("batch_dims", 0);
  if (!needs(ctx, op, 0)) return {Val(), Val()};
  return {scatterAdd(ctx.zerosLike(op.operand(0)), operandOf(ctx, op, 1), d[0], axis, batch), Val()};
}
Grads scatterVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  int64_t axis = op.getInt("axis"), batch = op.getIntOr("batch_dims", 0);
  Val idx = operandOf(ctx, op, 1);
  Grads g(3);
  // The gather reads dy first, so the scatter that zeroes its rows is dy's
  // last use and updates it in place (SPINN's stack adjoint, every step).
  if (needs(ctx, op, 2)) g[2] = gather(d[0], idx, axis, batch);
  if (needs(ctx, op, 0))
    g[0] = op.kind() == OpKind::ScatterAdd
               ? d[0]
               : scatter(d[0], idx, ctx.zerosLike(op.operand(2)), axis, batch);
  return g;
}

// ---- Reductions and products -------------------------------------------------------

std::vector<int64_t> keptDims(Op& op) {
  const auto& dims = op.getInts("dims");
  std::vector<int64_t> kept;
  for (int64_t d = 0; d < op.operand(0)->type.rank(); ++d)
    if (std::find(dims.begin(), dims.end(), d) == dims.end()) kept.push_back(d);
  return kept;
}
Grads reduceSumVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  return {broadcastInDim(d[0], ctx.dims(op.operand(0)), keptDims(op))};
}
Grads reduceMaxMinVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  Value* x = op.operand(0);
  Sizes shape = ctx.dims(x);
  std::vector<int64_t> kept = keptDims(op);
  Val hit = eq(operandOf(ctx, op, 0), broadcastInDim(resultOf(ctx, op), shape, kept));
  Val ties = reduceSum(cast(hit, x->type.dtype), op.getInts("dims"));
  return {select(hit, broadcastInDim(d[0] / ties, shape, kept), 0.0)};
}

/// A dot's dimension numbers with the defaults filled in.
DotDims dotDimsOf(const Op& op) {
  DotDims dd;
  dd.lhsBatch = op.getIntsOr("lhs_batch", {});
  dd.rhsBatch = op.getIntsOr("rhs_batch", {});
  dd.lhsContract = op.getIntsOr("lhs_contract", {op.operand(0)->type.rank() - 1});
  dd.rhsContract = op.getIntsOr("rhs_contract", {0});
  return dd;
}
std::vector<int64_t> freeDims(int64_t rank, const std::vector<int64_t>& batch,
                              const std::vector<int64_t>& contract) {
  std::vector<int64_t> out;
  for (int64_t d = 0; d < rank; ++d)
    if (std::find(batch.begin(), batch.end(), d) == batch.end() &&
        std::find(contract.begin(), contract.end(), d) == contract.end())
      out.push_back(d);
  return out;
}
std::vector<int64_t> range(int64_t from, int64_t count) {
  std::vector<int64_t> out(static_cast<size_t>(count));
  std::iota(out.begin(), out.end(), from);
  return out;
}
int64_t rankIn(const std::vector<int64_t>& dims, int64_t d) {
  std::vector<int64_t> sorted = dims;
  std::sort(sorted.begin(), sorted.end());
  return std::find(sorted.begin(), sorted.end(), d) - sorted.begin();
}
Val transposeIfNeeded(Val t, const std::vector<int64_t>& perm) {
  for (size_t i = 0; i < perm.size(); ++i)
    if (perm[i] != static_cast<int64_t>(i)) return transpose(t, perm);
  return t;
}

/// A dot with every dimension list spelled out (the builder's dot() takes
/// empty lists as "use the defaults", but an outer product needs empty
/// contractions).
Val dotExplicit(Val a, Val b, const DotDims& d) {
  AttrMap attrs{{"lhs_batch", d.lhsBatch},
                {"rhs_batch", d.rhsBatch},
                {"lhs_contract", d.lhsContract},
                {"rhs_contract", d.rhsContract}};
  return a.builder().create1(OpKind::Dot, {a, b}, std::move(attrs));
}

Grads dotVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  // dy has dims [batch, a's free, b's free].
  DotDims dd = dotDimsOf(op);
  Value *a = op.operand(0), *b = op.operand(1);
  auto fa = freeDims(a->type.rank(), dd.lhsBatch, dd.lhsContract);
  auto fb = freeDims(b->type.rank(), dd.rhsBatch, dd.rhsContract);
  int64_t nb = static_cast<int64_t>(dd.lhsBatch.size());
  int64_t nfa = static_cast<int64_t>(fa.size()), nfb = static_cast<int64_t>(fb.size());
  Grads g(2);
  if (needs(ctx, op, 0)) {
    // t = dy . b over b's free dims: [batch, a's free, b's contract (sorted)].
    Val t = dotExplicit(d[0], operandOf(ctx, op, 1),
                DotDims{range(0, nb), dd.rhsBatch, range(nb + nfa, nfb), fb});
    std::vector<int64_t> perm(static_cast<size_t>(a->type.rank()));
    for (int64_t k = 0; k < nb; ++k) perm[dd.lhsBatch[k]] = k;
    for (int64_t j = 0; j < nfa; ++j) perm[fa[j]] = nb + j;
    for (size_t m = 0; m < dd.lhsContract.size(); ++m)
      perm[dd.lhsContract[m]] = nb + nfa + rankIn(dd.rhsContract, dd.rhsContract[m]);
    g[0] = transposeIfNeeded(t, perm);
  }
  if (needs(ctx, op, 1)) {
    // t = a . dy over a's free dims: [batch, a's contract (sorted), b's free].
    Val t = dotExplicit(operandOf(ctx, op, 0), d[0],
                DotDims{dd.lhsBatch, range(0, nb), fa, range(nb, nfa)});
    std::vector<int64_t> perm(static_cast<size_t>(b->type.rank()));
    for (int64_t k = 0; k < nb; ++k) perm[dd.rhsBatch[k]] = k;
    for (size_t m = 0; m < dd.rhsContract.size(); ++m)
      perm[dd.rhsContract[m]] = nb + rankIn(dd.lhsContract, dd.lhsContract[m]);
    int64_t nc = static_cast<int64_t>(dd.lhsContract.size());
    for (int64_t j = 0; j < nfb; ++j) perm[fb[j]] = nb + nc + j;
    g[1] = transposeIfNeeded(t, perm);
  }
  return g;
}

// ---- Recurrent layers ---------------------------------------------------------------

// rnn (kept whole with GradOptions::keepRnnOps): one `rnn_grad` op taking the
// layer's operands and the adjoints of its results (zeros for results that
// have none), so a device can run the whole backward pass as one fused call
// (cuDNN's RNN backward) instead of a taped loop. Its results are the
// adjoints of x, h0, [c0,] and the weights; lengths (integer) gets none.
Grads rnnVjp(GradientContext& ctx, Op& op, const Grads& d, AdjointMap&) {
  const size_t n = op.numOperands();
  ValueList operands;
  for (size_t i = 0; i < n; ++i)
    operands.push_back(operandOf(ctx, op, i));
  for (size_t r = 0; r < op.numResults(); ++r)
    operands.push_back(d[r].valid() ? d[r] : ctx.zerosLike(op.result(r)));
  ValueList g = operands[0].builder().create(OpKind::RnnGrad, operands, op.attrs);
  // g: dx, dh0, [dc0,] dw_ih, dw_hh, db_ih, db_hh: every operand but lengths (#1).
  Grads out(n);
  for (size_t i = 0, k = 0; i < n; ++i) {
    if (i == 1) continue;
    if (needs(ctx, op, i)) out[i] = g[k];
    ++k;
  }
  return out;
}

} // namespace

VjpFn findVjpRule(OpKind kind) {
  switch (kind) {
  case OpKind::Neg: return negVjp;
  case OpKind::Abs: return absVjp;
  case OpKind::Exp: return expVjp;
  case OpKind::Log: return logVjp;
  case OpKind::Tanh: return tanhVjp;
  case OpKind::Sigmoid: return sigmoidVjp;
  case OpKind::Erf: return erfVjp;
  case OpKind::Sin: return sinVjp;
  case OpKind::Cos: return cosVjp;
  case OpKind::Tan: return tanVjp;
  case OpKind::Asin: return asinVjp;
  case OpKind::Acos: return acosVjp;
  case OpKind::Atan: return atanVjp;
  case OpKind::Sinh: return sinhVjp;
  case OpKind::Cosh: return coshVjp;
  case OpKind::Asinh: return asinhVjp;
  case OpKind::Acosh: return acoshVjp;
  case OpKind::Atanh: return atanhVjp;
  case OpKind::Relu: return reluVjp;
  case OpKind::Sqrt: return sqrtVjp;
  case OpKind::Rsqrt: return rsqrtVjp;
  case OpKind::Add: return addVjp;
  case OpKind::Sub: return subVjp;
  case OpKind::Mul: return mulVjp;
  case OpKind::Div: return divVjp;
  case OpKind::Max: return maxVjp;
  case OpKind::Min: return minVjp;
  case OpKind::Pow: return powVjp;
  case OpKind::Select: return selectVjp;
  case OpKind::Cast: return castVjp;
  case OpKind::Broadcast: return broadcastVjp;
  case OpKind::Reshape: return reshapeVjp;
  case OpKind::Transpose: return transposeVjp;
  case OpKind::Concat: return concatVjp;
  case OpKind::Slice: return sliceVjp;
  case OpKind::DynamicSlice: return dynamicSliceVjp;
  case OpKind::DynamicUpdateSlice: return dynamicUpdateSliceVjp;
  case OpKind::Gather: return gatherVjp;
  case OpKind::Scatter:
  case OpKind::ScatterAdd: return scatterVjp;
  case OpKind::ReduceSum: return reduceSumVjp;
  case OpKind::ReduceMax:
  case OpKind::ReduceMin: return reduceMaxMinVjp;
  case OpKind::Dot: return dotVjp;
  case OpKind::While: return whileVjp;
  case OpKind::If: return ifVjp;
  case OpKind::Rnn: return rnnVjp; // reached only with GradOptions::keepRnnOps
  default: return nullptr; // not differentiable: results are never active
  }
}

} // namespace cairn::autodiff
