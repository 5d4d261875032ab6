// Helpers shared by the layer sources (not part of the public API).
#pragma once

#include <string_view>

#include "frontend/Builder.h"

namespace cairn::layers {

/// Throws BuildError unless `x` is a valid float value whose last dim is
/// `expected` (or dynamic, which the ops check at run time).
void checkLastDim(std::string_view layer, std::string_view name, const Val& x, int64_t expected,
                  const char* what = "input");
/// Throws BuildError unless `size` is positive.
void checkPositive(std::string_view layer, std::string_view name, const char* what, int64_t size);

} // namespace cairn::layers
