// Canonicalize: constant folding and algebraic simplification.
//
// Rewrites each op, innermost regions first, until nothing changes:
//  * Folding: an op without regions whose operands are all `constant`
//    results is evaluated with the reference interpreter's evaluateOp and
//    replaced by `constant`s. Folding is skipped when a result would exceed
//    CanonicalizeOptions::maxFoldElements, when a result type is dynamic, and
//    when evaluation fails (the error stays a run-time error of the program,
//    not a compile error). `call`, `stop_gradient` and `iota` are not folded.
//  * Simplification: small patterns, one per identity (x+0, x*1, neg(neg x),
//    reshape of reshape, select with a constant predicate, `if` with a
//    constant predicate inlined, `while` whose cond is constant false, ...;
//    the table in Canonicalize.cpp lists them with their exact conditions).
//  * Constants left without uses are removed.
// Why: later passes (CSE, fusion, autodiff) see fewer, simpler ops, and the
// frontend can build naively. Every rewrite preserves results bit for bit,
// which is why, for floats, x+0 folds only when the zero is -0.0
// (-0.0 + 0.0 is +0.0) and x*0 is never folded (NaN*0 is NaN, inf*0 is NaN).
// `stop_gradient` is deliberately kept: it is an identity for values but
// not for autodiff.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "compiler/Pass.h"

namespace cairn {

struct CanonicalizeOptions {
  /// Results with more elements than this are not folded into constants.
  int64_t maxFoldElements = int64_t(1) << 20;
  /// Enables constant folding / the simplification patterns.
  bool fold = true;
  bool simplify = true;
};

/// How often each rewrite fired: "fold", "dead-constant" or a pattern name.
struct CanonicalizeStats {
  std::map<std::string, int64_t> hits;
  int64_t count(const std::string& pattern) const {
    auto it = hits.find(pattern);
    return it == hits.end() ? 0 : it->second;
  }
};

/// Canonicalizes every function of `m`; returns whether anything changed.
StatusOr<bool> canonicalize(Module& m, const CanonicalizeOptions& options = {},
                            CanonicalizeStats* stats = nullptr);

/// Names of the simplification patterns, in table order (for docs and tests).
std::vector<std::string> canonicalizePatternNames();

std::unique_ptr<Pass> createCanonicalizePass();

} // namespace cairn
