// OpKind, OpFamily and the static per-op facts, all derived from ir/Ops.def.
#pragma once

#include <optional>
#include <string_view>

namespace cairn {

enum class OpKind : uint16_t {
#define CAIRN_OP(Enum, ...) Enum,
#include "ir/Ops.def"
};

/// The type rule (and interpreter dispatch) shared by a group of ops.
enum class OpFamily : uint8_t {
  UnaryNumeric, UnaryFloat, UnaryLogical, BinaryNumeric, BinaryFloat, BinaryLogical, Compare,
  Select, Cast, Broadcast, Reshape, Transpose, Concat, Slice, DynamicSlice, DynamicUpdateSlice,
  Gather, Scatter, Iota, Reduce, Argmax, Nonzero, Dot, Constant, Dim, RngUniform, RngCategorical,
  Identity, Call, Fusion, While, If, Return, Yield, Rnn, RnnGrad,
};

struct OpInfo {
  OpKind kind;
  std::string_view mnemonic;
  OpFamily family;
  int numOperands; ///< -1: variadic
  int numResults;  ///< -1: variadic
  int numRegions;
  std::string_view summary;
  std::string_view description;
};

const OpInfo& opInfo(OpKind kind);
std::string_view opName(OpKind kind);
std::optional<OpKind> lookupOp(std::string_view mnemonic);
/// Every op in table order.
const OpInfo* allOps(size_t* count);

inline bool isElementwise(OpKind k) {
  switch (opInfo(k).family) {
  case OpFamily::UnaryNumeric: case OpFamily::UnaryFloat: case OpFamily::UnaryLogical:
  case OpFamily::BinaryNumeric: case OpFamily::BinaryFloat: case OpFamily::BinaryLogical:
  case OpFamily::Compare: case OpFamily::Select: case OpFamily::Cast:
    return true;
  default:
    return false;
  }
}
inline bool isTerminator(OpKind k) { return k == OpKind::Return || k == OpKind::Yield; }
/// Ops whose result depends on more than their operands' values (none today:
/// rng is explicit-state), or that must not be removed/merged.
inline bool isPure(OpKind k) { return !isTerminator(k); }

} // namespace cairn
