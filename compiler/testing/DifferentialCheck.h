// Differential checking of generated programs: generate the program of a
// seed, verify it, run it with a reference backend and with each backend
// under test on the seed's inputs, and compare.
//
// Rewrites in Cairn's pipelines are exact (they never reassociate), so by
// default results must be equal bit for bit: a NaN equals a NaN, and -0.0
// differs from +0.0. A backend that may legitimately change float results
// (a future fast-math codegen) is compared with a relative tolerance instead.
//
// Thread-safety: checkSeed uses the given backends only; concurrent calls
// with distinct backends are safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compiler/testing/Backend.h"
#include "compiler/testing/ProgramGenerator.h"

namespace cairn {

struct DiffOptions {
  GeneratorOptions generator;
  /// 0: bitwise equality. Otherwise floats a, b match when
  /// |a - b| <= tolerance * max(1, |a|, |b|) (relative, absolute below 1),
  /// or both are NaN, or both are the same infinity. Integers and i1 are
  /// always compared exactly; results that an inexact float decides
  /// discontinuously are skipped (comparableResults).
  double tolerance = 0;
  /// Input sets per program (from seeds derived from the program's).
  int inputSets = 2;
};

/// What happened to one seed.
struct SeedReport {
  enum class Outcome {
    Ok,
    GeneratorError, ///< generation threw or the program does not verify
    ReferenceError, ///< the reference backend failed on a generated program
    Mismatch,       ///< a backend failed or computed something else
    Crash,          ///< the check died (cairn-fuzz-diff --isolate reports it)
  };
  uint64_t seed = 0;
  Outcome outcome = Outcome::Ok;
  std::string backend;  ///< the backend at fault (Mismatch)
  std::string message;  ///< what went wrong, with the first differing element
  std::string program;  ///< the generated module's IR (failures only)
  std::string compiled; ///< the backend's IR after its rewrites (Mismatch only)
  bool ok() const { return outcome == Outcome::Ok; }
};

/// Empty when `actual` matches `expected` (see DiffOptions::tolerance), else
/// a description of the first difference. Results with comparable[r] false
/// are skipped (empty: compare all).
std::string compareResults(const std::vector<Tensor>& expected, const std::vector<Tensor>& actual,
                           double tolerance, const std::vector<bool>& comparable = {});

/// Per result of `f`: false when it is unpinned, i.e. a discontinuous
/// function (a float -> integer cast, a comparison, argmax, or control flow
/// on one) of a value an approximating backend computes inexactly (exp, log,
/// tanh, sigmoid, pow, dot, reductions). Within any float tolerance such a
/// result may legitimately differ by a whole unit (a tanh that is 1 ulp from
/// 1.0, cast to i32); a check with a tolerance skips it.
/// Calls are followed into their callees in `m` (unknown callees: unpinned).
std::vector<bool> comparableResults(const Function& f, const Module* m);

/// Checks one seed: every backend's results must match `reference`'s.
SeedReport checkSeed(uint64_t seed, Backend& reference, const std::vector<Backend*>& backends,
                     const DiffOptions& options);

/// The seed of input set `set` of program `seed` (set 0 uses `seed`).
uint64_t inputSeed(uint64_t seed, int set);

/// Whether `backend` still disagrees with `reference` on `m` (a variant of
/// the program of `seed`, with its signature) for the seed's inputs: the
/// minimizer's test. False when `m` does not verify or the reference fails.
bool stillMismatches(const Module& m, uint64_t seed, Backend& reference, Backend& backend,
                     const DiffOptions& options);

} // namespace cairn
