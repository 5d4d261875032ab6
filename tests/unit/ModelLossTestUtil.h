// Small pieces shared by the whole-model gradient and training tests: label
// tensors, a batch of trees in SPINN's form, and a cross-entropy loss around
// a function returning logits.
#pragma once

#include <vector>

#include "frontend/Builder.h"
#include "frontend/layers/Layers.h"
#include "tests/unit/SpinnTestReference.h"

namespace cairn::testing {

inline Tensor labels(std::vector<int64_t> ys) {
  return Tensor::fromInts(TensorType(DType::I32, {static_cast<int64_t>(ys.size())}), ys);
}

/// Four trees of lengths 4, 2, 1 and 3 (right- and left-branching).
inline std::vector<spinnref::Example> fourTrees() {
  using namespace spinnref;
  return {{{1, 2, 3, 4}, rightBranching(4)}, {{5, 6}, leftBranching(2)}, {{7}, {1}},
          {{2, 8, 9}, leftBranching(3)}};
}

/// Adds `@loss(inputs..., labels)` = cross-entropy of result #0 of `logitsFn`.
inline Function* crossEntropyOf(Module& m, const Function& logitsFn) {
  std::vector<TensorType> types = logitsFn.argumentTypes();
  types.push_back(TensorType(DType::I32, {kDynamic}));
  FunctionBuilder fb(m, "loss", types);
  ValueList args;
  for (size_t i = 0; i + 1 < types.size(); ++i)
    args.push_back(fb.arg(i));
  return fb.ret({crossEntropy(fb.call(logitsFn, args)[0], fb.arg(types.size() - 1))});
}

} // namespace cairn::testing
