// Checks emitted diagnostics against `expected-error` annotations in the
// source, in the style of MLIR's -verify-diagnostics. This is what lets a lit
// test of invalid IR state, next to the offending line, the error it expects:
//
//   %y = add %x, %c : tensor<4xf32>  // expected-error {{operand types differ}}
//   // expected-error@+1 {{use of undefined value '%z'}}
//   %w = neg %z : tensor<4xf32>
//
// `cairn-opt --split-input-file --verify-diagnostics` runs each `// -----`
// chunk separately and checks it with these functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ir/Diagnostic.h"
#include "ir/Status.h"

namespace cairn {

/// Splits `source` on lines consisting of `// -----` (surrounding blanks
/// ignored). Each chunk is the text between separators, so line numbers
/// inside a chunk count from 1 within the chunk. A source without separators
/// is one chunk.
std::vector<std::string> splitInputFile(std::string_view source);

/// Checks `diags` against the annotations in `source`:
///   `expected-error {{text}}`      an error on the annotation's own line,
///   `expected-error@+N {{text}}`   on the line N below it,
///   `expected-error@-N {{text}}`   on the line N above it,
/// whose message contains `text`. Each annotation consumes one matching
/// diagnostic; every annotation must be matched and every diagnostic
/// expected. The error Status lists each mismatch on its own line, in line
/// order ("expected error 'x' on line 4 was not produced", "unexpected error
/// on line 6: ..."). Only line numbers are compared, not file names.
Status checkExpectedDiagnostics(std::string_view source, const std::vector<Diagnostic>& diags);

} // namespace cairn
