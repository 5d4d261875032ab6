// The verifier: checks a module's types, shapes, attributes, region
// signatures, terminators, calls and SSA dominance.
#pragma once

#include <vector>

#include "ir/Diagnostic.h"
#include "ir/IR.h"
#include "ir/Status.h"

namespace cairn {

/// Verifies every function. Returns the first error (message:
/// "file:line:col: error: '<op>' op <what is wrong>"); when `diags` is given,
/// it receives every error found.
Status verify(const Module& m, std::vector<Diagnostic>* diags = nullptr);
Status verify(const Function& f, std::vector<Diagnostic>* diags = nullptr);

} // namespace cairn
