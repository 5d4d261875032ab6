// Shrinking a failing program: a greedy test-case reducer over the IR.
//
// Algorithm:
//  1. Try dropping each result of @main (the last first).
//  2. Try erasing each function but the entry (the last function).
//  3. Visit the ops of every function, last to first in walk order (so a
//     region's users go before what they read); for each op with results
//     try, in order, replacing every result by an operand of the same type,
//     then by a zero constant placed at the top of the function (static
//     types only); erase the op and run `dce` on the candidate.
//  4. Keep a candidate when it verifies and `stillFails` holds; repeat 1-3
//     until a round changes nothing (or `maxRounds`).
// Replacing a `while` or `if` by its operands or by zeros removes the whole
// region at once, which is what makes the result short.
//
// Thread-safety: none beyond what `stillFails` allows.
#pragma once

#include <functional>
#include <memory>

#include "ir/IR.h"

namespace cairn {

/// A smaller module for which `stillFails` still holds (`m` itself, copied,
/// when nothing smaller does). `stillFails(m)` should be true.
std::unique_ptr<Module> reduceProgram(const Module& m,
                                      const std::function<bool(const Module&)>& stillFails,
                                      int maxRounds = 6);

} // namespace cairn
