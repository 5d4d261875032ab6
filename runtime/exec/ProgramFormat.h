// The versioned binary form of compiled programs: what cairn-compile writes
// into an object so that the runtime runs it without the compiler (no
// lowering, no cairn_lowering, no LLVM at load time; docs/runtime.md).
//
// The programs point at the ops of their module by position (functions in
// order, each region's ops in order, an op's regions right after it), so
// the reader pairs the bytes with the module they were built from: the
// object holds that module's text, which the IR parser reads back in the
// same order. Reading validates everything an executor relies on (slots,
// op positions and kinds, kernel and constant indices, shapes, nesting):
// a corrupt or mismatched blob is an error naming what is wrong, never a
// program that crashes later.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ir/IR.h"
#include "ir/Status.h"
#include "runtime/exec/LoweredFunction.h"

namespace cairn::exec {

/// Bumped whenever the layout changes; a reader refuses any other.
inline constexpr uint32_t kProgramFormatVersion = 2;

/// Rewrites the trailing checksum of `bytes` (at least 8 long) to match the
/// rest: for tools and fuzzers that edit program data on purpose.
void resealPrograms(std::string& bytes);

/// `m`'s ops in the order programs refer to them by.
std::vector<const Op*> opsInOrder(const Module& m);

/// The programs (built from `m`) as bytes.
std::string writePrograms(const LoweredFunctions& programs, const Module& m);

/// Programs from `bytes`, their ops in `m`, their kernels indexing a table
/// of `numKernels` entries. The bytes end in a checksum of the rest, so
/// accidental corruption is caught before any field is read.
StatusOr<LoweredFunctions> readPrograms(std::string_view bytes, const Module& m, size_t numKernels);

} // namespace cairn::exec
