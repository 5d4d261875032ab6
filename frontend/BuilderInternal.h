// Helpers shared by the builder's source files (not part of the public API).
#pragma once

#include <string_view>

#include "frontend/Builder.h"

namespace cairn {

/// "tensor<2xf32>, tensor<i1>" for error messages.
std::string typeListString(const ValueList& values);
/// Throws BuildError when `v` is empty.
void checkValid(std::string_view opName, const Val& v, const char* what);
/// Maps a possibly negative axis into [0, rank) or throws BuildError.
int64_t normalizeAxis(std::string_view opName, int64_t axis, int64_t rank);
/// Whether a value of type `actual` fits a slot declared `declared` (a `?`
/// accepts any size), as the verifier checks calls, yields and returns.
bool acceptsType(const TensorType& declared, const TensorType& actual);

/// numpy broadcast of `a`'s and `b`'s shapes (dims aligned right); throws
/// BuildError naming `opName` when they do not broadcast.
Shape broadcastShapes(std::string_view opName, const TensorType& a, const TensorType& b);
/// Broadcasts `x` to `target` (x's dims aligned right) unless it already
/// fits; a dynamic target dim takes its size from the first of `sources`
/// whose aligned dim is dynamic.
Val expandTo(Val x, const Shape& target, const ValueList& sources);

} // namespace cairn
