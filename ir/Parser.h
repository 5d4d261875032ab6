// The text form's parser: `.cairn` text -> Module.
//
// Grammar (informal; docs/ir.md has the full text form):
//   module   := func*
//   func     := 'func' '@'name '(' (%arg ':' type),* ')' '->' (type | '(' type,* ')') region
//   region   := '{' op* '}'
//   op       := (results '=')? mnemonic operands? attrs? (':' type,*)?     (generic form)
//             | constant / while / if / call / fusion special forms
//   results  := %name | %name ':' N            (uses: %name, %name#i)
//   type     := 'tensor<' (dim 'x')* dtype '>' with dim an integer or '?'
//   attrs    := '{' name '=' attr, ... '}'
// `//` starts a comment to end of line.
#pragma once

#include <memory>
#include <string_view>

#include "ir/Diagnostic.h"
#include "ir/IR.h"
#include "ir/Status.h"

namespace cairn {

/// Parses a whole module. On failure the Status message is the diagnostic's
/// toString() ("file:line:col: error: ...") and `diag`, when given, receives
/// it structured. Parsing checks syntax and name binding only; run
/// verify() for types.
StatusOr<std::unique_ptr<Module>> parseModule(std::string_view text, std::string_view filename = "",
                                              Diagnostic* diag = nullptr);

/// Parses a tensor type such as `tensor<2x?xf32>`.
StatusOr<TensorType> parseTensorType(std::string_view text);

} // namespace cairn
