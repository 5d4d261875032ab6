// Random well-typed Cairn programs for differential testing.
//
// generateProgram(seed) builds, with the C++ builder, a module whose @main
// mixes every op family a pass or a code generator must get right:
// elementwise unary/binary/compare/select chains with explicit broadcasts,
// casts between f32, i32 and i1, reshape/transpose/concat/slice, dynamic
// slices and updates, gathers and scatters (batch dims included), reductions,
// argmax, dots (with batch dims), constants and iotas, nested `while` loops
// whose trip counts depend on the inputs, `if`s on data-dependent predicates,
// and calls to helper functions (some with `?` parameters). It also plants
// work for the passes: duplicated ops (cse), identities and look-alikes
// (canonicalize: `x + -0.0` folds, `x + 0.0` must not), and hazards, ops
// that would fail (index out of range, division by zero) unless the guard
// of their loop or branch holds, so a pass that hoists one out of a loop
// that runs zero times turns a result into an error. The same seed
// gives the same program on every machine and build: the generator draws
// from its own splitmix64 stream, never from <random>'s distributions.
//
// Programs are safe by construction, for any inputs: indices are clamped
// into range, integer divisors are at least 1 in magnitude, trip counts are
// clamped to [0, kMaxTrip] (or to the rows of the sequence a loop walks) and
// most loops also have a max_trip. With the inputs of generateInputs
// (floats in [-2, 2], integers in [-4, 8]) they are also free of NaN and
// infinities: the generator tracks a bound on every float value, keeps
// log/sqrt/rsqrt/pow/div in their domains (abs(x) + c, ...), and tames a
// value that could grow past a limit with tanh, a clamp or an exact scale.
//
// Thread-safety: generateProgram and generateInputs keep no shared state;
// concurrent calls are safe.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "ir/IR.h"

namespace cairn {

/// The shape of generated programs. The defaults are what the fixed-seed CI
/// batch and `cairn-fuzz-diff` use; changing one changes every program.
struct GeneratorOptions {
  /// Data-flow steps at the top of @main (a step makes one to a few ops).
  int mainSteps = 20;
  /// Steps in a loop body or branch, and in a helper function.
  int regionSteps = 6;
  int helperSteps = 8;
  /// Nesting depth of while/if regions.
  int maxDepth = 3;
  /// Helper functions @helper0 ... (each may call the ones before it).
  int maxHelpers = 2;
  /// Parameters of @main, and results it returns (values nothing else reads,
  /// the latest first, so that little of the program is dead).
  int maxArgs = 5;
  int maxResults = 8;
  /// Let helpers take parameters with `?` dims (all of one run-time size).
  bool dynamicHelpers = true;
  /// Values grow at most to this magnitude before being tamed (floats).
  double floatLimit = 1e4;
};

/// Largest trip count of a generated loop (one that walks the rows of a
/// sequence runs at most once per row).
inline constexpr int64_t kMaxTrip = 5;
/// The entry function of every generated module.
inline constexpr const char* kGeneratedEntry = "main";

/// A new module for `seed`; it verifies (the builder checks every function).
std::unique_ptr<Module> generateProgram(uint64_t seed, const GeneratorOptions& options = {});

/// Inputs for `f` drawn from `seed`: floats uniform in [-2, 2] with some
/// exact zeros of both signs, integers in [-4, 8], i1 a fair coin; `?` dims
/// are 3. Deterministic like generateProgram.
std::vector<Tensor> generateInputs(const Function& f, uint64_t seed);

} // namespace cairn
