// describeKernel: from a fusion's region (or one elementwise op) to the
// scalar body of a KernelDesc.
//
// Algorithm:
//  1. The iteration space is the results' common element count N; every
//     value of the region with N elements is computed at the iteration index
//     i itself (elementwise ops keep the shape, reshape keeps row-major order).
//  2. Each yielded value is described at the identity map by walking its
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
//  3. Instructions are appended after their operands, so the body is in
//     dependency order; identical constants and maps are shared.
#include "compiler/codegen/KernelDesc.h"

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

/// Row-major strides of `shape`, in elements.
std::vector<int64_t> rowMajorStrides(const Shape& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t d = shape.size(); d-- > 1;)
    s[d - 1] = s[d] * shape[d];
  return s;
}

/// The stage mapping a broadcast's result index to its operand's index, or
/// std::nullopt when it is the identity.
std::optional<IndexStage> broadcastStage(const Shape& result, const Shape& operand,
                                         const std::vector<int64_t>& dims) {
  std::vector<int64_t> stride(result.size(), 0);
  std::vector<int64_t> operandStrides = rowMajorStrides(operand);
  for (size_t j = 0; j < dims.size(); ++j)
    if (operand[j] != 1) stride[dims[j]] = operandStrides[j];
  std::vector<int64_t> inner = rowMajorStrides(result);
  IndexStage stage;
  for (size_t d = 0; d < result.size(); ++d) {
    if (result[d] == 1 || stride[d] == 0) continue;
    IndexTerm t{inner[d], result[d], stride[d]};
    if (!stage.terms.empty()) {
      IndexTerm& outer = stage.terms.back();
      // Adjacent in the result and contiguous in the operand: one term.
      if (outer.div == t.div * t.mod && outer.stride == t.stride * t.mod) {
        outer = IndexTerm{t.div, outer.mod * t.mod, t.stride};
        continue;
      }
    }
    stage.terms.push_back(t);
  }
  // The outermost term needs no modulus when it spans the whole index range.
  if (!stage.terms.empty() &&
      stage.terms.front().div * stage.terms.front().mod >= numElements(result))
    stage.terms.front().mod = 0;
  if (stage.terms.size() == 1 && stage.terms[0] == IndexTerm{1, 0, 1}) return std::nullopt;
  return stage;
}

Status staticError(const Op& at, const TensorType& t) {
  return errorf("{}'{}' op has type {}: codegen needs static shapes (dynamic shapes are not "
                "supported yet)",
                at.where(), at.name(), t.toString());
}

class Describer {
public:
  KernelDesc desc;

  /// Registers the values read as inputs (region arguments or operands).
  void addInput(const Value* v) {
    inputOf_.emplace(v, static_cast<int32_t>(desc.inputs.size()));
    desc.inputs.push_back(v->type);
  }

  Status addOutput(const Value* v, const TensorType& type, const Op& at) {
    if (!type.hasStaticShape()) return staticError(at, type);
    if (desc.outputs.empty()) {
      desc.numElements = type.numElements();
      identity_ = mapId(IndexMap{});
    } else if (type.numElements() != desc.numElements) {
      return errorf("{}'{}' op results differ in element count ({} and {}); a kernel has one "
                    "iteration space",
                    at.where(), at.name(), desc.numElements, type.numElements());
    }
    if (v->type.dtype != type.dtype)
      return errorf("{}'{}' op yields {} for a result of type {}", at.where(), at.name(),
                    v->type.toString(), type.toString());
    CAIRN_ASSIGN_OR_RETURN(int32_t inst, valueAt(v, identity_));
    desc.outputs.push_back(KernelOutput{type, inst});
    return Status::ok();
  }

private:
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
    if (!v->type.hasStaticShape()) {
      const Op* at = v->definingOp() ? v->definingOp() : v->ownerRegion()->parentOp();
      if (!at)
        return errorf("a kernel input has type {}: codegen needs static shapes",
                      v->type.toString());
      return staticError(*at, v->type);
    }
    if (v->type.numElements() == 1 && !desc.indexMaps[map].zero) map = mapId(IndexMap{true, {}});
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
      if (op->numOperands() != 1) return staticError(*op, v->type);
      return valueAt(op->operand(0), map);
    case OpKind::Broadcast: {
      if (op->numOperands() != 1) return staticError(*op, v->type);
      const Value* x = op->operand(0);
      if (!x->type.hasStaticShape()) return staticError(*op, x->type);
      IndexMap composed = desc.indexMaps[map];
      if (!composed.zero)
        if (auto stage = broadcastStage(v->type.shape, x->type.shape, op->getInts("dims")))
          composed.stages.push_back(*stage);
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
  std::map<std::pair<const Value*, int32_t>, int32_t> memo_;
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

std::string termToString(const IndexTerm& t, const std::string& in) {
  std::string s = t.div == 1 ? in : fmt::format("{}/{}", in, t.div);
  if (t.mod) s = fmt::format("({}%{})", s, t.mod);
  if (t.stride != 1) s = fmt::format("{}*{}", s, t.stride);
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
    if (!yield || yield->numOperands() != op.numResults() || op.numResults() == 0)
      return errorf("{}'fusion' op must yield one value per result (and have one)", op.where());
    for (size_t k = 0; k < op.numOperands(); ++k) {
      if (!op.operand(k)->type.hasStaticShape()) return staticError(op, op.operand(k)->type);
      d.addInput(body.argument(k));
    }
    for (size_t k = 0; k < op.numResults(); ++k)
      CAIRN_RETURN_IF_ERROR(d.addOutput(yield->operand(k), op.result(k)->type, op));
    return std::move(d.desc);
  }
  if (!fusionKindAllows(kElementwiseFusion, op.kind()) || op.kind() == OpKind::Constant ||
      op.numResults() != 1)
    return errorf("{}'{}' op is neither an elementwise fusion nor an elementwise op", op.where(),
                  op.name());
  for (const Value* x : op.operands) {
    if (!x->type.hasStaticShape()) return staticError(op, x->type);
    d.addInput(x);
  }
  CAIRN_RETURN_IF_ERROR(d.addOutput(op.result(), op.result()->type, op));
  return std::move(d.desc);
}

size_t hashKernel(const KernelDesc& k) {
  size_t h = 0;
  hashCombine(h, static_cast<uint64_t>(k.numElements));
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

std::string indexMapToString(const IndexMap& m) {
  if (m.zero) return "0";
  std::string in = "i";
  for (const IndexStage& s : m.stages) {
    std::vector<std::string> terms;
    for (const IndexTerm& t : s.terms)
      terms.push_back(termToString(t, in == "i" ? in : "(" + in + ")"));
    in = terms.empty() ? "0" : fmt::format("{}", fmt::join(terms, " + "));
  }
  return in;
}

std::string kernelToString(const KernelDesc& k) {
  std::vector<std::string> inputs;
  for (const TensorType& t : k.inputs)
    inputs.push_back(t.toString());
  std::string s = fmt::format("kernel N={} inputs ({})\n", k.numElements, fmt::join(inputs, ", "));
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
