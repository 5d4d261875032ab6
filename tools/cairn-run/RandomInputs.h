// Deterministic random inputs for cairn-run --input-random.
//
// The same seed gives the same tensors on every machine and build (a
// splitmix64 stream, no <random> distributions, whose output is
// implementation-defined), so a lit test or a bug report can name a seed.
#pragma once

#include <cstdint>
#include <vector>

#include "ir/Status.h"
#include "ir/Tensor.h"

namespace cairn {

/// One tensor per type: dynamic dims become `dynamicDim`; floats are uniform
/// in [-1, 1), integers uniform in [0, 4) (valid small indices and trip
/// counts), i1 a fair coin. Inputs whose bytes overflow or together pass
/// `maxBytes` (0: no cap) are an error.
StatusOr<std::vector<Tensor>> randomInputs(const std::vector<TensorType>& types, uint64_t seed,
                                           int64_t dynamicDim, int64_t maxBytes);

} // namespace cairn
