// The built-in pass table and name lookup.
#include "compiler/PassRegistry.h"

#include "compiler/passes/CSE.h"
#include "compiler/passes/Canonicalize.h"
#include "compiler/passes/DCE.h"
#include "compiler/passes/ExpandRnn.h"
#include "compiler/passes/FoldGatheredProducts.h"
#include "compiler/passes/FuseElementwise.h"
#include "compiler/passes/HoistInputProjection.h"
#include "compiler/passes/Inline.h"
#include "compiler/passes/LICM.h"
#include "compiler/passes/RefineShapes.h"
#include "compiler/passes/PairIndependentLoops.h"
#include "compiler/passes/SinkAccumulatedProducts.h"
#include "compiler/passes/SinkBlockGathers.h"

namespace cairn {

PassRegistry& PassRegistry::global() {
  static PassRegistry* registry = [] {
    auto* r = new PassRegistry();
    registerBuiltinPasses(*r);
    return r;
  }();
  return *registry;
}

void PassRegistry::registerPass(std::string name, std::string description, PassFactory factory) {
  CAIRN_CHECK(lookup(name) == nullptr, "pass '{}' registered twice", name);
  passes_.push_back({std::move(name), std::move(description), std::move(factory)});
}

const PassInfo* PassRegistry::lookup(std::string_view name) const {
  for (const PassInfo& info : passes_)
    if (info.name == name) return &info;
  return nullptr;
}

StatusOr<std::unique_ptr<Pass>> PassRegistry::create(std::string_view name) const {
  if (const PassInfo* info = lookup(name)) return info->factory();
  std::string known;
  for (const PassInfo& info : passes_)
    known += (known.empty() ? "" : ", ") + info.name;
  return errorf("unknown pass '{}' (known passes: {})", name, known);
}

void registerBuiltinPasses(PassRegistry& registry) {
  // One line per pass: the default pipeline's in its order, then the
  // "optimize" pipeline's additions in theirs.
  registry.registerPass("canonicalize",
                        "fold constants and simplify algebraic identities to a fixed point",
                        createCanonicalizePass);
  registry.registerPass("cse", "merge identical pure ops (scoped by region)", createCSEPass);
  registry.registerPass("dce", "remove ops whose results are unused and dead loop-carried values",
                        createDCEPass);
  registry.registerPass("expand-rnn",
                        "replace each 'rnn' op (an LSTM/GRU layer direction) by its while loop",
                        createExpandRnnPass);
  registry.registerPass("expand-rnn-off-device",
                        "expand-rnn for the ops the device's Device::rnn (cuDNN) cannot run "
                        "(not f32); keep the others",
                        createExpandRnnOffDevicePass);
  registry.registerPass("refine-shapes",
                        "narrow ? dims that constants decide (re-inferred types, constant sizes), "
                        "folding in between",
                        createRefineShapesPass);
  registry.registerPass("inline", "replace calls to non-recursive functions by their bodies",
                        createInlinePass);
  registry.registerPass("licm", "hoist loop-invariant ops out of while loops (outermost first)",
                        createLICMPass);
  registry.registerPass("hoist-input-projection",
                        "compute a loop's per-step input projection dot(x[t], W) for all steps "
                        "before the loop",
                        createHoistInputProjectionPass);
  registry.registerPass("fold-gathered-products",
                        "replace dot(gather(C, idx), W) of constants C and W by a gather of the "
                        "table C . W, computed at compile time",
                        createFoldGatheredProductsPass);
  registry.registerPass("sink-accumulated-products",
                        "turn a loop's per-step `acc += dot(row k of X, g)` into one dot of X "
                        "with the collected g after the loop",
                        createSinkAccumulatedProductsPass);
  registry.registerPass("sink-block-gathers",
                        "rewrite block gathers of an elementwise op or broadcast as the op on "
                        "gathered operands, so that a split cell fuses into one kernel",
                        createSinkBlockGathersPass);
  registry.registerPass("fuse-elementwise",
                        "group connected elementwise ops into 'fusion' ops (multi-output)",
                        createFuseElementwisePass);
  registry.registerPass("pair-independent-loops",
                        "move independent while loops next to each other (the executor runs "
                        "them in parallel)",
                        createPairIndependentLoopsPass);
}

} // namespace cairn
