// The fusion kinds' tables and the checks of a fusion's region.
#include "ir/Fusion.h"

#include <optional>

#include <fmt/format.h>

#include "ir/ConstantValue.h"

namespace cairn {
namespace {

/// Elementwise ops no kernel computes: the trigonometric and hyperbolic
/// functions and their inverses (ONNX's Sin ... Atanh) have no
/// approximation in code generation, so they run alone, by the reference
/// kernels (libm).
bool hasNoKernelForm(OpKind op) {
  switch (op) {
  case OpKind::Sin:
  case OpKind::Cos:
  case OpKind::Tan:
  case OpKind::Asin:
  case OpKind::Acos:
  case OpKind::Atan:
  case OpKind::Sinh:
  case OpKind::Cosh:
  case OpKind::Asinh:
  case OpKind::Acosh:
  case OpKind::Atanh:
    return true;
  default:
    return false;
  }
}

} // namespace

std::string noKernelForm(OpKind op, DType dtype) {
  if (hasNoKernelForm(op))
    return fmt::format("'{}' (no approximation in code generation; libm runs it)", opName(op));
  if (op == OpKind::Div && !isFloat(dtype))
    return "integer 'div' (it must fail on a zero divisor; kernels never fail, so it stays "
           "unfused)";
  if ((op == OpKind::Pow || op == OpKind::Erf) && isFloat(dtype) && dtype != DType::F32)
    return fmt::format("'{}' on {} (only f32 {} is compiled)", opName(op), dtypeName(dtype),
                       opName(op));
  return "";
}

namespace {

bool elementwiseAllows(OpKind op) {
  return (isElementwise(op) && !hasNoKernelForm(op)) || op == OpKind::Broadcast ||
         op == OpKind::Reshape || op == OpKind::Constant ||
         op == OpKind::Gather; // block gathers only: checked per op
}

struct FusionKindInfo {
  std::string_view name;
  bool (*allows)(OpKind);
};

const FusionKindInfo kFusionKinds[] = {
    {kElementwiseFusion, elementwiseAllows},
};

const FusionKindInfo* lookupKind(std::string_view kind) {
  for (const FusionKindInfo& k : kFusionKinds)
    if (k.name == kind) return &k;
  return nullptr;
}

} // namespace

std::vector<std::string_view> fusionKinds() {
  std::vector<std::string_view> out;
  for (const FusionKindInfo& k : kFusionKinds)
    out.push_back(k.name);
  return out;
}

bool isFusionKind(std::string_view kind) {
  return lookupKind(kind) != nullptr;
}

bool fusionKindAllows(std::string_view kind, OpKind op) {
  const FusionKindInfo* k = lookupKind(kind);
  return k && !isTerminator(op) && k->allows(op);
}

namespace {

/// An integer attribute, `dflt` when absent, std::nullopt when of another
/// type (malformed IR: the verifier reports it; this must not abort).
std::optional<int64_t> intAttr(const Op& op, const std::string& name, int64_t dflt) {
  auto it = op.attrs.find(name);
  if (it == op.attrs.end()) return dflt;
  if (const int64_t* v = std::get_if<int64_t>(&it->second)) return *v;
  return std::nullopt;
}

} // namespace

bool isBlockGather(const Op& op) {
  if (op.kind() != OpKind::Gather || op.numOperands() != 2 || op.numResults() != 1 ||
      intAttr(op, "batch_dims", 0) != std::optional<int64_t>(0))
    return false;
  const Value* x = op.operand(0);
  const Tensor* idx = constantValue(op.operand(1));
  if (!x || !idx || idx->type().rank() != 1 || idx->numElements() < 1 || !isInteger(idx->dtype()) ||
      idx->dtype() == DType::I1)
    return false;
  std::optional<int64_t> a = intAttr(op, "axis", 0);
  if (!a) return false;
  int64_t axis = *a;
  if (axis < 0 || axis >= x->type.rank() || x->type.shape[static_cast<size_t>(axis)] == kDynamic)
    return false;
  int64_t start = idx->getInt(0), n = idx->numElements();
  for (int64_t k = 1; k < n; ++k)
    if (idx->getInt(k) != start + k) return false;
  return start >= 0 && start + n <= x->type.shape[static_cast<size_t>(axis)];
}

std::string fusionKind(const Op& fusion) {
  auto it = fusion.attrs.find(kFusionKindAttr);
  if (it == fusion.attrs.end()) return "";
  const std::string* s = std::get_if<std::string>(&it->second);
  return s ? *s : "";
}

bool checkFusionRegion(const Op& fusion,
                       const std::function<void(const Op& at, std::string message)>& error) {
  bool ok = true;
  std::string kind = fusionKind(fusion);
  if (!kind.empty() && !isFusionKind(kind)) {
    error(fusion,
          fmt::format("has unknown kind \"{}\" (known: {})", kind, fmt::join(fusionKinds(), ", ")));
    ok = false;
  }
  const Region& body = fusion.region(0);
  if (body.numArguments() != fusion.numOperands()) {
    error(fusion, fmt::format("region has {} arguments but the op has {} operands",
                              body.numArguments(), fusion.numOperands()));
    return false;
  }
  for (size_t i = 0; i < body.numArguments(); ++i) {
    const TensorType& arg = body.argument(i)->type;
    if (fusion.operand(i) && arg != fusion.operand(i)->type) {
      error(fusion, fmt::format("region argument #{} has type {} but operand #{} is {}", i,
                                arg.toString(), i, fusion.operand(i)->type.toString()));
      ok = false;
    }
  }
  // Isolation: the region is a kernel whose inputs are exactly its arguments.
  // (A use before its definition inside the region is the verifier's usual
  // visibility error.)
  auto definedInBody = [&](const Value* v) {
    const Region* r = v->isRegionArgument() ? v->ownerRegion()
                      : v->definingOp()     ? v->definingOp()->parentRegion()
                                            : nullptr;
    return r == &body;
  };
  for (const auto& op : body.ops()) {
    if (!isTerminator(op->kind()) && isFusionKind(kind) && !fusionKindAllows(kind, op->kind())) {
      error(*op, fmt::format("is not allowed in a fusion of kind \"{}\"", kind));
      ok = false;
    } else if (op->kind() == OpKind::Gather && !isBlockGather(*op)) {
      error(*op, "in a fusion must gather a contiguous block of one static axis with constant "
                 "indices [s, s+1, ...] (a slice): a kernel reads it at an offset");
      ok = false;
    }
    for (size_t i = 0; i < op->numOperands(); ++i) {
      const Value* v = op->operand(i);
      if (v && !definedInBody(v)) {
        error(*op, fmt::format("operand #{} is defined outside its fusion (a fusion's region "
                               "reads only its arguments)",
                               i));
        ok = false;
      }
    }
  }
  return ok;
}

} // namespace cairn
