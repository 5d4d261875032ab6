// Markdown generation for the op reference.
#include "OpDocs.h"

#include <map>
#include <vector>

#include <fmt/format.h>

#include "ir/OpKind.h"

namespace cairn {
namespace {

std::string_view familyTitle(OpFamily f) {
  switch (f) {
  case OpFamily::UnaryNumeric:
    return "Unary numeric";
  case OpFamily::UnaryFloat:
    return "Unary float";
  case OpFamily::UnaryLogical:
    return "Unary logical";
  case OpFamily::BinaryNumeric:
    return "Binary numeric";
  case OpFamily::BinaryFloat:
    return "Binary float";
  case OpFamily::BinaryLogical:
    return "Binary logical";
  case OpFamily::Compare:
    return "Comparison";
  case OpFamily::Select:
    return "Select";
  case OpFamily::Cast:
    return "Cast";
  case OpFamily::Broadcast:
    return "Broadcast";
  case OpFamily::Reshape:
    return "Reshape";
  case OpFamily::Transpose:
    return "Transpose";
  case OpFamily::Concat:
    return "Concatenation";
  case OpFamily::Slice:
    return "Static slice";
  case OpFamily::DynamicSlice:
    return "Dynamic slice";
  case OpFamily::DynamicUpdateSlice:
    return "Dynamic update slice";
  case OpFamily::Gather:
    return "Gather";
  case OpFamily::Scatter:
    return "Scatter";
  case OpFamily::Iota:
    return "Iota";
  case OpFamily::Reduce:
    return "Reduction";
  case OpFamily::Argmax:
    return "Argmax";
  case OpFamily::Nonzero:
    return "Nonzero";
  case OpFamily::Dot:
    return "Dot";
  case OpFamily::Constant:
    return "Constant";
  case OpFamily::Dim:
    return "Dim";
  case OpFamily::RngUniform:
    return "Random: uniform";
  case OpFamily::RngCategorical:
    return "Random: categorical";
  case OpFamily::Identity:
    return "Identity";
  case OpFamily::Call:
    return "Call";
  case OpFamily::Fusion:
    return "Fusion";
  case OpFamily::While:
    return "While loop";
  case OpFamily::If:
    return "Conditional";
  case OpFamily::Return:
    return "Function terminator";
  case OpFamily::Yield:
    return "Region terminator";
  case OpFamily::Rnn:
    return "Recurrent layer";
  case OpFamily::RnnGrad:
    return "Recurrent layer gradient";
  }
  return "Other";
}

std::string arity(int n) {
  return n < 0 ? "variadic" : std::to_string(n);
}

/// The op's worked example from ir/OpExamples.def (tests/unit/OpExamplesTest
/// checks there is exactly one per op and that each parses, verifies and runs).
std::string_view example(OpKind kind) {
  switch (kind) {
#define CAIRN_OP_EXAMPLE(Enum, Text)                                                              \
  case OpKind::Enum:                                                                               \
    return Text;
#include "ir/OpExamples.def"
  }
  return {};
}

} // namespace

std::string emitOpDocs() {
  size_t count = 0;
  const OpInfo* ops = allOps(&count);
  // Families in order of first appearance in the table, which groups them
  // the way Ops.def's sections do.
  std::vector<OpFamily> order;
  std::map<OpFamily, std::vector<const OpInfo*>> byFamily;
  for (size_t i = 0; i < count; ++i) {
    if (!byFamily.count(ops[i].family)) order.push_back(ops[i].family);
    byFamily[ops[i].family].push_back(&ops[i]);
  }
  std::string out = "# Op reference\n\n"
                    "Generated from `ir/Ops.def` (the table) and `ir/OpExamples.def` (the "
                    "examples) by `cairn-opt --emit-op-docs`; edit those, not this text, and "
                    "regenerate with `build/bin/cairn-opt --emit-op-docs > docs/ops.md`. The IR "
                    "itself (types, text form, conventions) is described in [ir.md](ir.md).\n\n";
  out += "| op | family | operands | results | regions | summary |\n";
  out += "| --- | --- | --- | --- | --- | --- |\n";
  for (size_t i = 0; i < count; ++i)
    out += fmt::format("| `{}` | {} | {} | {} | {} | {} |\n", ops[i].mnemonic,
                       familyTitle(ops[i].family), arity(ops[i].numOperands),
                       arity(ops[i].numResults), ops[i].numRegions, ops[i].summary);
  for (OpFamily family : order) {
    out += fmt::format("\n## {}\n", familyTitle(family));
    for (const OpInfo* op : byFamily[family]) {
      out += fmt::format("\n### `{}`: {}\n\n", op->mnemonic, op->summary);
      out += fmt::format("Operands: {}. Results: {}. Regions: {}.\n\n", arity(op->numOperands),
                         arity(op->numResults), op->numRegions);
      out += fmt::format("{}\n", op->description);
      std::string_view text = example(op->kind);
      if (!text.empty()) out += fmt::format("\nExample:\n\n```mlir\n{}```\n", text);
    }
  }
  return out;
}

} // namespace cairn
