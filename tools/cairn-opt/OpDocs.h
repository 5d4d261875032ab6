// The op reference in Markdown, generated from the op table (ir/Ops.def).
//
// `cairn-opt --emit-op-docs` prints it; docs/ops.md is this output (a lit
// test checks), so the documentation cannot drift from the ops the code knows.
#pragma once

#include <string>

namespace cairn {

/// The whole op reference: one section per op family, one entry per op with
/// its mnemonic, arity, summary and description.
std::string emitOpDocs();

} // namespace cairn
