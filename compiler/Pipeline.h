// The pass pipeline: runs named passes in order, with the instrumentation a
// compiler engineer expects (IR dumps, timings, verification after each).
//
// defaultPipeline() and optimizePipeline() are the compiler's table of
// contents; read them top to bottom to see what happens to a model between
// the frontend and codegen.
//
// Thread-safety: runPipeline works on one Module; different modules may be
// compiled concurrently (the pass registry is only read).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "ir/IR.h"
#include "ir/Status.h"

namespace cairn {

struct PipelineOptions {
  /// After each pass, print "// -----// IR Dump After <pass> //----- //"
  /// and the module to `irStream` (std::cerr when null).
  bool printAfterAll = false;
  std::ostream* irStream = nullptr;
  /// At the end, report each pass's wall time to `timingStream` (std::cerr
  /// when null), as `mlir-opt --mlir-timing` does.
  bool timePasses = false;
  std::ostream* timingStream = nullptr;
  /// Verify the module after each pass; a pass that leaves invalid IR is an
  /// internal error and the returned Status names it.
  bool verifyEach = true;
};

/// The passes run by default, in order.
std::vector<std::string> defaultPipeline();

/// How the optimize pipeline may change floating-point results.
enum class FloatRewrites {
  /// Every pass preserves every function's results bit for bit (NaN, -0.0
  /// and infinities included; PassesDifferentialTest checks it).
  Exact,
  /// Also the passes that reassociate float sums, as XLA's and cuDNN's
  /// batched weight gradients do (`sink-accumulated-products`): results then
  /// differ from the interpreter by rounding (and a NaN or infinity in a
  /// row a loop never reads can reach a sum). For training steps.
  Reassociate,
};

/// The default passes plus inlining, loop-invariant code motion, input
/// projection hoisting and elementwise fusion: the IR codegen consumes.
std::vector<std::string> optimizePipeline(FloatRewrites rewrites = FloatRewrites::Exact);

/// optimizePipeline for a device that runs `rnn` ops whole (Device::rnn,
/// cuDNN): "expand-rnn-off-device" first, so only the rnn ops it cannot run
/// become loops. The pipeline "optimize-device".
std::vector<std::string> deviceOptimizePipeline(FloatRewrites rewrites = FloatRewrites::Exact);

/// Runs the passes called `passNames` (see PassRegistry) on `m` in order.
/// Fails on an unknown pass name (before running any), on a pass's error,
/// and, with verifyEach, on invalid IR after a pass.
Status runPipeline(Module& m, const std::vector<std::string>& passNames,
                   const PipelineOptions& options = {});

/// The names of a named pipeline ("default", "optimize"), or an error.
StatusOr<std::vector<std::string>> lookupPipeline(std::string_view name);

} // namespace cairn
