// describeKernel: from a fusion's region (or one elementwise op) to the
// scalar body of a KernelDesc.
//
// Algorithm:
//  1. Typing (typeOp): every value's shape in extents, products of constants
//     and run-time sizes s_k (a `?` dim of an input, or a broadcast/reshape
//     size operand that is an input). Dims the IR makes equal are unified
//     (union-find over the sizes); what cannot be unified or is assumed (a
//     broadcast dim that is not 1, a reshape's element count) becomes a
//     run-time check (runtime/exec/KernelShape.h).
//  2. The iteration space is the results' common element count N; every
//     value of the region with N elements is computed at the iteration index
//     i itself (elementwise ops keep the shape, reshape keeps row-major order).
//  3. Each yielded value is described at the identity map by walking its
//     operands depth-first, memoized on (value, index map):
//     - a region argument becomes a Load of that input at the current map;
//     - a one-element value is read at element 0 whatever the map;
//     - a splat constant becomes a Constant, another constant a table read;
//     - `reshape` passes the map through; `broadcast` appends the stage that
//       maps its result index to its operand index (stride 0 on repeated
//       dims, dims of size 1 dropped, contiguous dims merged, so a bias row
//       is read at i % H and a column at i / H);
//     - an elementwise op describes its operands at the same map.
//     A value reached through two different maps (the same row broadcast
//     along two axes) is computed once per map: the kernel stays a pure
//     function of i.
//     Extents that are not constants become the kernel's parameters
//     (KernelShape::params), which IndexTerms and numElements name.
//  4. Instructions are appended after their operands, so the body is in
//     dependency order; identical constants and maps are shared.
#include "compiler/lowering/KernelDesc.h"

#include <cstring>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "compiler/RewriteUtils.h"
#include "ir/Fusion.h"

namespace cairn::codegen {
namespace {

/// Element i's bit pattern as KernelInst::bits stores it.
uint64_t elementBits(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
  case DType::I1:
    return t.data<bool>()[i] ? 1 : 0;
  case DType::I32:
    return static_cast<uint64_t>(static_cast<int64_t>(t.data<int32_t>()[i]));
  case DType::I64:
    return static_cast<uint64_t>(t.data<int64_t>()[i]);
  default: {
    uint64_t bits = 0;
    size_t size = static_cast<size_t>(dtypeSize(t.dtype()));
    std::memcpy(&bits, t.rawData() + i * size, size); // little-endian hosts
    return bits;
  }
  }
}

using exec::Extent;
using SymShape = std::vector<Extent>;

Extent product(const SymShape& s, size_t from = 0) {
  Extent p = Extent::constant(1);
  for (size_t d = from; d < s.size(); ++d)
    p = p * s[d];
  return p;
}

bool isOne(const Extent& e) { return e.isConstant() && e.factor == 1; }

SymShape staticShape(const TensorType& t) {
  SymShape s;
  for (int64_t d : t.shape)
    s.push_back(Extent::constant(d));
  return s;
}

/// An index term over extents; `mod` empty: no modulus.
struct SymTerm {
  Extent div, mod, stride;
  bool hasMod = true;
};

/// Appends the term of the next (inner) dim to `stage`, merged into the
/// last one when the two dims are adjacent in the result and contiguous in
/// the operand.
void appendTerm(std::vector<SymTerm>& stage, const SymTerm& t) {
  if (!stage.empty()) {
    SymTerm& outer = stage.back();
    if (outer.div == t.div * t.mod && outer.stride == t.stride * t.mod) {
      outer = SymTerm{t.div, outer.mod * t.mod, t.stride};
      return;
    }
  }
  stage.push_back(t);
}

/// The stage mapping a broadcast's result index to its operand's index, or
/// std::nullopt when it is the identity. Dims of size 1 repeat (stride 0);
/// a dynamic operand dim is assumed to equal its result dim (a check).
std::optional<std::vector<SymTerm>> broadcastStage(const SymShape& result, const SymShape& operand,
                                                   const std::vector<int64_t>& dims) {
  std::vector<std::optional<Extent>> stride(result.size());
  for (size_t j = 0; j < dims.size(); ++j)
    if (!isOne(operand[j])) stride[static_cast<size_t>(dims[j])] = product(operand, j + 1);
  std::vector<SymTerm> stage;
  for (size_t d = 0; d < result.size(); ++d) {
    if (isOne(result[d]) || !stride[d]) continue;
    appendTerm(stage, SymTerm{product(result, d + 1), result[d], *stride[d]});
  }
  // The outermost term needs no modulus when it spans the whole index range.
  if (!stage.empty()) {
    Extent span = stage.front().div * stage.front().mod, all = product(result);
    if (span == all || (span.isConstant() && all.isConstant() && span.factor >= all.factor))
      stage.front().hasMod = false;
  }
  if (stage.size() == 1 && !stage[0].hasMod && isOne(stage[0].div) && isOne(stage[0].stride))
    return std::nullopt;
  return stage;
}

class Describer {
public:
  KernelDesc desc;

  /// Registers the values read as inputs (region arguments or operands); a
  /// `?` dim becomes a run-time size.
  void addInput(const Value* v) {
    int32_t input = static_cast<int32_t>(desc.inputs.size());
    inputOf_.emplace(v, input);
    desc.inputs.push_back(v->type);
    SymShape s;
    for (size_t d = 0; d < v->type.shape.size(); ++d)
      s.push_back(v->type.shape[d] == kDynamic
                      ? Extent::size(sizeOf({input, static_cast<int32_t>(d)}))
                      : Extent::constant(v->type.shape[d]));
    shapes_[v] = s;
  }

  /// Types the ops of a fusion region (or a lone op) in order: every value's
  /// shape in extents, with the checks its ops imply.
  Status typeOp(const Op& op) {
    if (isTerminator(op.kind())) return Status::ok();
    if (op.numResults() != 1)
      return errorf("{}'{}' op cannot be part of an elementwise kernel", op.where(), op.name());
    const Value* r = op.result();
    SymShape s;
    switch (op.kind()) {
    case OpKind::Constant:
      if (!r->type.hasStaticShape())
        return errorf("{}'constant' op has dynamic type {}", op.where(), r->type.toString());
      s = staticShape(r->type);
      break;
    case OpKind::Broadcast:
    case OpKind::Reshape: {
      CAIRN_ASSIGN_OR_RETURN(s, withSizes(op));
      CAIRN_ASSIGN_OR_RETURN(SymShape x, shapeOf(op.operand(0), op));
      if (op.kind() == OpKind::Reshape) {
        check(product(x), product(s));
      } else {
        std::vector<int64_t> dims = op.getInts("dims");
        if (dims.size() != x.size())
          return errorf("{}'broadcast' op has {} dims for an operand of rank {}", op.where(),
                        dims.size(), x.size());
        for (size_t j = 0; j < dims.size(); ++j) {
          if (dims[j] < 0 || static_cast<size_t>(dims[j]) >= s.size())
            return errorf("{}'broadcast' op maps dim {} out of range", op.where(), j);
          if (!isOne(x[j])) check(x[j], s[static_cast<size_t>(dims[j])]);
        }
      }
      break;
    }
    case OpKind::Gather: {
      if (!isBlockGather(op))
        return errorf("{}'gather' op is not a block gather (constant contiguous indices along a "
                      "static axis), which is all a kernel reads",
                      op.where());
      CAIRN_ASSIGN_OR_RETURN(s, shapeOf(op.operand(0), op));
      s[static_cast<size_t>(op.getIntOr("axis", 0))] =
          Extent::constant(op.operand(1)->type.shape[0]);
      break;
    }
    default: {
      if (!isElementwise(op.kind()) || op.numOperands() == 0)
        return errorf("{}'{}' op cannot be part of an elementwise kernel", op.where(), op.name());
      size_t first = op.kind() == OpKind::Select ? 1 : 0;
      CAIRN_ASSIGN_OR_RETURN(s, shapeOf(op.operand(first), op));
      for (size_t k = 0; k < op.numOperands(); ++k) {
        CAIRN_ASSIGN_OR_RETURN(SymShape o, shapeOf(op.operand(k), op));
        if (o.size() == s.size()) {
          for (size_t d = 0; d < s.size(); ++d)
            unify(o[d], s[d]);
        } else if (!(o.empty() || (k == 0 && first == 1))) {
          check(product(o), product(s));
        }
      }
    }
    }
    shapes_[r] = s;
    return Status::ok();
  }

  Status addOutput(const Value* v, const TensorType& type, const Op& at) {
    CAIRN_ASSIGN_OR_RETURN(SymShape s, shapeOf(v, at));
    if (s.size() != type.shape.size())
      return errorf("{}'{}' op yields {} for a result of type {}", at.where(), at.name(),
                    v->type.toString(), type.toString());
    for (size_t d = 0; d < s.size(); ++d)
      if (type.shape[d] != kDynamic) unify(s[d], Extent::constant(type.shape[d]));
    if (v->type.dtype != type.dtype)
      return errorf("{}'{}' op yields {} for a result of type {}", at.where(), at.name(),
                    v->type.toString(), type.toString());
    outputs_.push_back({v, s});
    desc.outputs.push_back(KernelOutput{type, -1});
    return Status::ok();
  }

  /// Describes the outputs' bodies once every value is typed, and fills the
  /// kernel's shape. Fails on a contradiction found at compile time.
  Status finish(const Op& at) {
    // The checks that justified a union stand as recorded (their sides are
    // canonically equal now); the rest are compared canonically.
    for (const exec::ShapeCheck& c : unions_)
      desc.shape.checks.push_back(c);
    for (const exec::ShapeCheck& c : checks_) {
      Extent a = canon(c.a), b = canon(c.b);
      if (a.isConstant() && b.isConstant() && a.factor != b.factor)
        return errorf("{}'{}' op combines extents {} and {}, which differ", at.where(), at.name(),
                      a.factor, b.factor);
      if (!(a == b)) desc.shape.checks.push_back({a, b});
    }
    for (size_t o = 0; o < outputs_.size(); ++o) {
      Extent n = canon(product(outputs_[o].second));
      if (o == 0) {
        numElements_ = n;
        desc.numElements = encode(n);
        identity_ = mapId(IndexMap{});
      } else if (!(n == numElements_)) {
        if (n.isConstant() && numElements_.isConstant())
          return errorf("{}'{}' op results differ in element count ({} and {}); a kernel has "
                        "one iteration space",
                        at.where(), at.name(), numElements_.factor, n.factor);
        desc.shape.checks.push_back({numElements_, n});
      }
      std::vector<Extent> dims;
      for (const Extent& e : outputs_[o].second)
        dims.push_back(canon(e));
      desc.shape.outputs.push_back(dims);
    }
    for (size_t o = 0; o < outputs_.size(); ++o) {
      CAIRN_ASSIGN_OR_RETURN(desc.outputs[o].value, valueAt(outputs_[o].first, identity_));
    }
    if (desc.shape.sizes.empty()) { // static: no run-time shape at all; a `?`
      // declared for an output was given by a constant size
      for (size_t o = 0; o < desc.outputs.size(); ++o)
        for (size_t d = 0; d < desc.outputs[o].type.shape.size(); ++d)
          desc.outputs[o].type.shape[d] = desc.shape.outputs[o][d].factor;
      desc.shape = exec::KernelShape();
    }
    return Status::ok();
  }

private:
  int32_t sizeOf(exec::SizeSource src) {
    for (size_t k = 0; k < desc.shape.sizes.size(); ++k)
      if (desc.shape.sizes[k] == src) return static_cast<int32_t>(k);
    desc.shape.sizes.push_back(src);
    parent_.push_back(static_cast<int32_t>(parent_.size()));
    return static_cast<int32_t>(desc.shape.sizes.size() - 1);
  }

  int32_t find(int32_t s) {
    while (parent_[static_cast<size_t>(s)] != s)
      s = parent_[static_cast<size_t>(s)] = parent_[static_cast<size_t>(parent_[static_cast<size_t>(s)])];
    return s;
  }

  Extent canon(const Extent& e) {
    Extent r{e.factor, {}};
    for (int32_t s : e.syms)
      r = r * Extent::size(find(s));
    return r;
  }

  void check(const Extent& a, const Extent& b) {
    if (!(canon(a) == canon(b))) checks_.push_back({a, b});
  }

  /// Records that `a` and `b` are equal at run time: the same size from now
  /// on when both are single sizes, else a check.
  void unify(const Extent& a, const Extent& b) {
    Extent x = canon(a), y = canon(b);
    if (x == y) return;
    if (x.factor == 1 && y.factor == 1 && x.syms.size() == 1 && y.syms.size() == 1) {
      unions_.push_back({x, y});
      parent_[static_cast<size_t>(std::max(x.syms[0], y.syms[0]))] = std::min(x.syms[0], y.syms[0]);
    } else {
      checks_.push_back({a, b});
    }
  }

  StatusOr<SymShape> shapeOf(const Value* v, const Op& at) {
    auto it = shapes_.find(v);
    if (it != shapes_.end()) return it->second;
    if (v->type.hasStaticShape()) return staticShape(v->type);
    return errorf("{}'{}' op reads a value of type {} from outside the kernel", at.where(),
                  at.name(), v->type.toString());
  }

  /// A broadcast's or reshape's result shape: `?` dims from its size operands.
  StatusOr<SymShape> withSizes(const Op& op) {
    SymShape s;
    size_t next = 1;
    for (int64_t d : op.result()->type.shape) {
      if (d != kDynamic) {
        s.push_back(Extent::constant(d));
        continue;
      }
      if (next >= op.numOperands())
        return errorf("{}'{}' op lacks a size operand", op.where(), op.name());
      const Value* size = op.operand(next++);
      if (const Tensor* c = constantValue(size); c && c->numElements() == 1 && isInteger(c->dtype())) {
        if (c->getInt(0) < 0)
          return errorf("{}'{}' op has a negative size {}", op.where(), op.name(), c->getInt(0));
        s.push_back(Extent::constant(c->getInt(0)));
        continue;
      }
      auto in = inputOf_.find(size);
      if (in == inputOf_.end() || size->type.rank() != 0 || !isInteger(size->type.dtype))
        return errorf("{}'{}' op takes a size that is neither a kernel input nor a constant",
                      op.where(), op.name());
      s.push_back(Extent::size(sizeOf({in->second, -1})));
    }
    return s;
  }

  IndexStage indexStage(const std::vector<SymTerm>& terms) {
    IndexStage st;
    for (const SymTerm& t : terms)
      st.terms.push_back(IndexTerm{encode(t.div), t.hasMod ? encode(t.mod) : 0, encode(t.stride)});
    return st;
  }

  /// The stage mapping a block gather's result index to its operand's:
  /// every dim at the operand's stride, plus start x the axis's stride.
  /// Dims contiguous in both (those after the axis) merge into one term.
  IndexStage blockStage(const SymShape& result, const SymShape& operand, size_t axis,
                        int64_t start) {
    std::vector<SymTerm> terms;
    for (size_t d = 0; d < result.size(); ++d) {
      if (!isOne(result[d]))
        appendTerm(terms, SymTerm{product(result, d + 1), result[d], product(operand, d + 1)});
    }
    if (!terms.empty()) terms.front().hasMod = false; // spans the whole index range
    IndexStage st = indexStage(terms);
    Extent axisStride = product(operand, axis + 1);
    CAIRN_CHECK(axisStride.isConstant(), "a block gather's axis and the dims after it are static");
    st.offset = start * axisStride.factor;
    return st;
  }

  int64_t encode(const Extent& e) {
    if (e.isConstant()) return e.factor;
    for (size_t k = 0; k < desc.shape.params.size(); ++k)
      if (desc.shape.params[k] == e) return paramExtent(static_cast<int32_t>(k));
    desc.shape.params.push_back(e);
    return paramExtent(static_cast<int32_t>(desc.shape.params.size() - 1));
  }

  int32_t mapId(const IndexMap& m) {
    for (size_t k = 0; k < desc.indexMaps.size(); ++k)
      if (desc.indexMaps[k] == m) return static_cast<int32_t>(k);
    desc.indexMaps.push_back(m);
    return static_cast<int32_t>(desc.indexMaps.size() - 1);
  }

  int32_t append(KernelInst inst) {
    for (size_t k = 0; k < desc.body.size(); ++k) // share constants and repeated loads
      if (inst.kind != InstKind::Compute && desc.body[k] == inst) return static_cast<int32_t>(k);
    desc.body.push_back(std::move(inst));
    return static_cast<int32_t>(desc.body.size() - 1);
  }

  StatusOr<int32_t> valueAt(const Value* v, int32_t map) {
    if (v->type.hasStaticShape() && v->type.numElements() == 1 && !desc.indexMaps[map].zero)
      map = mapId(IndexMap{true, {}});
    auto key = std::make_pair(v, map);
    if (auto it = memo_.find(key); it != memo_.end()) return it->second;
    CAIRN_ASSIGN_OR_RETURN(int32_t inst, describe(v, map));
    memo_[key] = inst;
    return inst;
  }

  StatusOr<int32_t> describe(const Value* v, int32_t map) {
    if (auto it = inputOf_.find(v); it != inputOf_.end())
      return append(KernelInst{InstKind::Load, v->type.dtype, OpKind::Add, {}, it->second, map});
    const Op* op = v->definingOp();
    CAIRN_CHECK(op, "a kernel value is neither an input nor an op result");
    switch (op->kind()) {
    case OpKind::Constant: {
      const Tensor* t = constantValue(v);
      if (!t) return errorf("{}'constant' op has no tensor value", op->where());
      if (t->numElements() == 0 || t->isSplat()) {
        uint64_t bits = t->numElements() ? elementBits(*t, 0) : 0;
        return append(KernelInst{InstKind::Constant, v->type.dtype, OpKind::Add, {}, -1, -1, bits});
      }
      int32_t table = -1;
      for (size_t k = 0; k < desc.tables.size(); ++k)
        if (desc.tables[k] == *t) table = static_cast<int32_t>(k);
      if (table < 0) {
        desc.tables.push_back(*t);
        table = static_cast<int32_t>(desc.tables.size() - 1);
      }
      return append(KernelInst{InstKind::LoadConstant, v->type.dtype, OpKind::Add, {}, table, map});
    }
    case OpKind::Reshape:
      return valueAt(op->operand(0), map);
    case OpKind::Broadcast:
    case OpKind::Gather: { // a broadcast's repeats, or a block gather's offset (typeOp checked)
      const Value* x = op->operand(0);
      IndexMap composed = desc.indexMaps[map];
      if (composed.zero && op->kind() == OpKind::Gather) {
        // Element 0 of a block gather (valueAt reads a one-element value
        // so) is its operand's element at the block's start, not element 0:
        // dropping the offset read x[0] for x[1:2] (an exported model's size
        // arithmetic, Shape -> Gather(1), computed the batch for the width).
        CAIRN_ASSIGN_OR_RETURN(SymShape xs, shapeOf(x, *op));
        IndexStage at;
        at.offset = blockStage({}, xs, static_cast<size_t>(op->getIntOr("axis", 0)),
                               constantValue(op->operand(1))->getInt(0))
                        .offset;
        composed = IndexMap{false, {at}};
      } else if (!composed.zero) {
        SymShape rs = shapes_.at(v);
        CAIRN_ASSIGN_OR_RETURN(SymShape xs, shapeOf(x, *op));
        for (Extent& e : rs) e = canon(e);
        for (Extent& e : xs) e = canon(e);
        if (op->kind() == OpKind::Gather) {
          composed.stages.push_back(blockStage(rs, xs, static_cast<size_t>(op->getIntOr("axis", 0)),
                                               constantValue(op->operand(1))->getInt(0)));
        } else if (auto stage = broadcastStage(rs, xs, op->getInts("dims"))) {
          composed.stages.push_back(indexStage(*stage));
        }
      }
      return valueAt(x, mapId(composed));
    }
    default:
      break;
    }
    if (!isElementwise(op->kind()) || op->numResults() != 1)
      return errorf("{}'{}' op cannot be part of an elementwise kernel", op->where(), op->name());
    KernelInst inst{InstKind::Compute, v->type.dtype, op->kind(), {}};
    for (const Value* x : op->operands) {
      CAIRN_ASSIGN_OR_RETURN(int32_t arg, valueAt(x, map));
      inst.args.push_back(arg);
    }
    return append(std::move(inst));
  }

  std::map<const Value*, int32_t> inputOf_;
  std::map<const Value*, SymShape> shapes_;
  std::vector<std::pair<const Value*, SymShape>> outputs_;
  std::vector<exec::ShapeCheck> checks_;
  std::vector<exec::ShapeCheck> unions_;
  std::vector<int32_t> parent_;
  std::map<std::pair<const Value*, int32_t>, int32_t> memo_;
  Extent numElements_;
  int32_t identity_ = -1;
};

void hashCombine(size_t& h, uint64_t v) {
  h ^= std::hash<uint64_t>{}(v) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
}

void hashType(size_t& h, const TensorType& t) {
  hashCombine(h, static_cast<uint64_t>(t.dtype));
  hashCombine(h, t.shape.size());
  for (int64_t d : t.shape)
    hashCombine(h, static_cast<uint64_t>(d));
}

/// An extent as printed: the constant, or p<k> for a run-time parameter.
std::string extentToString(int64_t v) {
  return isParam(v) ? fmt::format("p{}", paramOf(v)) : std::to_string(v);
}

std::string termToString(const IndexTerm& t, const std::string& in) {
  std::string s = t.div == 1 ? in : fmt::format("{}/{}", in, extentToString(t.div));
  if (t.mod) s = fmt::format("({}%{})", s, extentToString(t.mod));
  if (t.stride != 1) s = fmt::format("{}*{}", s, extentToString(t.stride));
  return s;
}

} // namespace

StatusOr<KernelDesc> describeKernel(const Op& op) {
  Describer d;
  if (op.kind() == OpKind::Fusion) {
    std::string kind = fusionKind(op);
    if (kind != kElementwiseFusion)
      return errorf("{}'fusion' op of kind \"{}\" has no elementwise kernel", op.where(), kind);
    const Region& body = op.region(0);
    const Op* yield = body.terminator();
    if (!yield || yield->numOperands() != op.numResults() || op.numResults() == 0 ||
        body.numArguments() != op.numOperands())
      return errorf("{}'fusion' op must yield one value per result (and have one)", op.where());
    for (size_t k = 0; k < op.numOperands(); ++k)
      d.addInput(body.argument(k));
    for (const auto& inner : body.ops())
      CAIRN_RETURN_IF_ERROR(d.typeOp(*inner));
    for (size_t k = 0; k < op.numResults(); ++k)
      CAIRN_RETURN_IF_ERROR(d.addOutput(yield->operand(k), op.result(k)->type, op));
    CAIRN_RETURN_IF_ERROR(d.finish(op));
    return std::move(d.desc);
  }
  if (!fusionKindAllows(kElementwiseFusion, op.kind()) || op.kind() == OpKind::Constant ||
      op.kind() == OpKind::Gather || op.numResults() != 1)
    return errorf("{}'{}' op is neither an elementwise fusion nor an elementwise op", op.where(),
                  op.name());
  for (const Value* x : op.operands)
    d.addInput(x);
  CAIRN_RETURN_IF_ERROR(d.typeOp(op));
  CAIRN_RETURN_IF_ERROR(d.addOutput(op.result(), op.result()->type, op));
  CAIRN_RETURN_IF_ERROR(d.finish(op));
  return std::move(d.desc);
}

size_t hashKernel(const KernelDesc& k) {
  size_t h = 0;
  hashCombine(h, static_cast<uint64_t>(k.numElements));
  hashCombine(h, k.shape.sizes.size());
  hashCombine(h, k.shape.params.size());
  hashCombine(h, k.inputs.size());
  for (const TensorType& t : k.inputs)
    hashType(h, t);
  for (const KernelOutput& o : k.outputs) {
    hashType(h, o.type);
    hashCombine(h, static_cast<uint64_t>(o.value));
  }
  for (const IndexMap& m : k.indexMaps) {
    hashCombine(h, m.zero ? 1 : 2);
    for (const IndexStage& s : m.stages) {
      hashCombine(h, s.terms.size());
      hashCombine(h, static_cast<uint64_t>(s.offset));
      for (const IndexTerm& t : s.terms) {
        hashCombine(h, static_cast<uint64_t>(t.div));
        hashCombine(h, static_cast<uint64_t>(t.mod));
        hashCombine(h, static_cast<uint64_t>(t.stride));
      }
    }
  }
  for (const Tensor& t : k.tables) {
    hashType(h, t.type());
    hashCombine(h, std::hash<std::string_view>{}(
                       std::string_view(reinterpret_cast<const char*>(t.rawData()), t.byteSize())));
  }
  for (const KernelInst& inst : k.body) {
    hashCombine(h, static_cast<uint64_t>(inst.kind));
    hashCombine(h, static_cast<uint64_t>(inst.dtype));
    hashCombine(h, static_cast<uint64_t>(inst.op));
    for (int32_t a : inst.args)
      hashCombine(h, static_cast<uint64_t>(a));
    hashCombine(h, static_cast<uint64_t>(inst.source));
    hashCombine(h, static_cast<uint64_t>(inst.index));
    hashCombine(h, inst.bits);
  }
  return h;
}

uint64_t kernelFingerprint(const KernelDesc& k) {
  uint64_t h = 0xcbf29ce484222325ull;
  auto add = [&](std::string_view bytes) {
    for (char c : bytes) {
      h ^= static_cast<unsigned char>(c);
      h *= 0x100000001b3ull;
    }
  };
  add(kernelToString(k));
  for (const exec::ShapeCheck& c : k.shape.checks)
    add(c.a.toString() + "=" + c.b.toString() + ";");
  for (const Tensor& t : k.tables) {
    add(t.type().toString());
    add(std::string_view(reinterpret_cast<const char*>(t.rawData()), t.byteSize()));
  }
  return h;
}

std::string indexMapToString(const IndexMap& m) {
  if (m.zero) return "0";
  std::string in = "i";
  for (const IndexStage& s : m.stages) {
    std::vector<std::string> terms;
    for (const IndexTerm& t : s.terms)
      terms.push_back(termToString(t, in == "i" ? in : "(" + in + ")"));
    if (s.offset != 0 || terms.empty()) terms.push_back(std::to_string(s.offset));
    in = fmt::format("{}", fmt::join(terms, " + "));
  }
  return in;
}

std::string kernelToString(const KernelDesc& k) {
  std::vector<std::string> inputs;
  for (const TensorType& t : k.inputs)
    inputs.push_back(t.toString());
  std::string s = fmt::format("kernel N={} inputs ({})\n", extentToString(k.numElements),
                              fmt::join(inputs, ", "));
  for (size_t n = 0; n < k.shape.sizes.size(); ++n) {
    const exec::SizeSource& src = k.shape.sizes[n];
    s += src.dim < 0 ? fmt::format("  s{} = value of in{}\n", n, src.input)
                     : fmt::format("  s{} = dim {} of in{}\n", n, src.dim, src.input);
  }
  for (size_t n = 0; n < k.shape.params.size(); ++n)
    s += fmt::format("  p{} = {}\n", n, k.shape.params[n].toString());
  for (const exec::ShapeCheck& c : k.shape.checks)
    s += fmt::format("  check {} == {}\n", c.a.toString(), c.b.toString());
  for (size_t n = 0; n < k.body.size(); ++n) {
    const KernelInst& inst = k.body[n];
    std::string_view dt = dtypeName(inst.dtype);
    switch (inst.kind) {
    case InstKind::Load:
      s += fmt::format("  %{} = load {} in{} [{}]\n", n, dt, inst.source,
                       indexMapToString(k.indexMaps[inst.index]));
      break;
    case InstKind::LoadConstant:
      s += fmt::format("  %{} = load {} table{} [{}]\n", n, dt, inst.source,
                       indexMapToString(k.indexMaps[inst.index]));
      break;
    case InstKind::Constant:
      s += fmt::format("  %{} = constant {} 0x{:x}\n", n, dt, inst.bits);
      break;
    case InstKind::Compute: {
      std::vector<std::string> args;
      for (int32_t a : inst.args)
        args.push_back(fmt::format("%{}", a));
      s += fmt::format("  %{} = {} {} {}\n", n, opName(inst.op), dt, fmt::join(args, ", "));
      break;
    }
    }
  }
  for (size_t o = 0; o < k.outputs.size(); ++o)
    s += fmt::format("  out{} {} = %{}\n", o, k.outputs[o].type.toString(), k.outputs[o].value);
  return s;
}

} // namespace cairn::codegen
