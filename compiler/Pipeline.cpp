// The pipeline runner and the named pipelines.
#include "compiler/Pipeline.h"

#include <chrono>
#include <iostream>
#include <memory>

#include "compiler/PassRegistry.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"

namespace cairn {

std::vector<std::string> defaultPipeline() {
  return {
      "canonicalize", // fold constants, simplify identities, inline constant branches
      "cse",          // merge duplicate pure ops
      "dce",          // drop dead ops and dead loop-carried values
  };
}

std::vector<std::string> optimizePipeline(FloatRewrites rewrites) {
  std::vector<std::string> passes = {
      "expand-rnn",             // rnn ops as loops, before anything looks at loops
      "canonicalize",           // fold and simplify what the frontend built
      "refine-shapes",          // make static what constants decide (exporters' size arithmetic)
      "cse",                    // merge duplicates, so calls and loops see one value
      "inline",                 // open up non-recursive calls to everything below
      "licm",                   // run weight-only work once, outside the loops
      "hoist-input-projection", // x_t * W for all t as one GEMM before the loop
      "fold-gathered-products", // embed(tokens) * W as rows of a constant table
  };
  if (rewrites == FloatRewrites::Reassociate)
    passes.push_back("sink-accumulated-products"); // sum_t x_t' g_t as one GEMM after the loop
  passes.insert(passes.end(), {
                                  "sink-block-gathers",     // a split cell's gates: one kernel
                                  "canonicalize",           // clean up after the moves
                                  "cse",                    // merge hoisted twins
                                  "licm",                   // what the cleanup made invariant
                                  "dce",                    // drop what the rewrites left unused
                                  "fuse-elementwise",       // groups become codegen's kernels
                                  "pair-independent-loops", // last: independent loops side by
                                                            // side, run at once
                              });
  return passes;
}

std::vector<std::string> deviceOptimizePipeline(FloatRewrites rewrites) {
  std::vector<std::string> passes = optimizePipeline(rewrites);
  passes.front() = "expand-rnn-off-device"; // f32 rnn ops stay whole, for cuDNN
  return passes;
}

StatusOr<std::vector<std::string>> lookupPipeline(std::string_view name) {
  if (name == "default") return defaultPipeline();
  if (name == "optimize") return optimizePipeline();
  if (name == "optimize-reassociate") return optimizePipeline(FloatRewrites::Reassociate);
  if (name == "optimize-device") return deviceOptimizePipeline();
  return errorf("unknown pipeline '{}' (known pipelines: default, optimize, optimize-reassociate, "
                "optimize-device)",
                name);
}

namespace {

void printTimingReport(std::ostream& os, const std::vector<std::pair<std::string, double>>& times) {
  double total = 0;
  for (auto& [name, secs] : times)
    total += secs;
  auto percent = [&](double s) { return total > 0 ? 100.0 * s / total : 0.0; };
  os << "===" << std::string(73, '-') << "===\n"
     << "                         ... Pass execution timing report ...\n"
     << "===" << std::string(73, '-') << "===\n"
     << fmt::format("  Total Execution Time: {:.4f} seconds\n\n", total)
     << "  ----Wall Time----  ----Name----\n";
  for (auto& [name, secs] : times)
    os << fmt::format("  {:8.4f} ({:5.1f}%)  {}\n", secs, percent(secs), name);
  os << fmt::format("  {:8.4f} ({:5.1f}%)  Total\n", total, 100.0);
}

} // namespace

Status runPipeline(Module& m, const std::vector<std::string>& passNames,
                   const PipelineOptions& options) {
  // Create every pass first so a typo fails before anything is rewritten.
  std::vector<std::unique_ptr<Pass>> passes;
  for (const std::string& name : passNames) {
    CAIRN_ASSIGN_OR_RETURN(auto pass, PassRegistry::global().create(name));
    passes.push_back(std::move(pass));
  }
  std::ostream& irStream = options.irStream ? *options.irStream : std::cerr;
  std::vector<std::pair<std::string, double>> times;
  for (auto& pass : passes) {
    auto start = std::chrono::steady_clock::now();
    StatusOr<bool> changed = pass->run(m);
    std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    times.emplace_back(std::string(pass->name()), elapsed.count());
    if (!changed.isOk())
      return errorf("pass '{}' failed: {}", pass->name(), changed.status().message());
    if (options.printAfterAll)
      irStream << "// -----// IR Dump After " << pass->name() << " //----- //\n"
               << printModule(m) << "\n";
    if (options.verifyEach) {
      Status valid = verify(m);
      if (!valid.isOk())
        return errorf("internal error: pass '{}' produced invalid IR: {}", pass->name(),
                      valid.message());
    }
  }
  if (options.timePasses)
    printTimingReport(options.timingStream ? *options.timingStream : std::cerr, times);
  return Status::ok();
}

} // namespace cairn
