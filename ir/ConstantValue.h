// The tensor a `constant` op holds: read by the passes (compiler/RewriteUtils.h
// re-exports it), by the lowering and by ir/Fusion.cpp's block-gather test,
// so it lives with the IR.
#pragma once

#include "ir/IR.h"
#include "ir/Tensor.h"

namespace cairn {

/// The attribute holding a `constant` op's tensor.
inline constexpr const char* kConstantValueAttr = "value";

/// The tensor of the `constant` op defining `v`, or nullptr when `v` is not
/// a constant result.
const Tensor* constantValue(const Value* v);

} // namespace cairn
