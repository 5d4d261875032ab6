// splitmix64-based input generation.
#include "RandomInputs.h"

#include <fmt/format.h>

#include "ir/SplitMix64.h"
#include "runtime/RunLimits.h"

namespace cairn {

StatusOr<std::vector<Tensor>> randomInputs(const std::vector<TensorType>& types, uint64_t seed,
                                           int64_t dynamicDim, int64_t maxBytes) {
  std::vector<Tensor> out;
  int64_t held = 0;
  for (size_t k = 0; k < types.size(); ++k) {
    TensorType type = types[k];
    for (int64_t& d : type.shape)
      if (d == kDynamic) d = dynamicDim;
    StatusOr<int64_t> bytes = checkRunTimeSize(type.shape, type.dtype, maxBytes, held);
    if (!bytes.isOk())
      return bytes.status().withMessage(
          fmt::format("--input-random: parameter #{}: {} (--dim {}, --max-memory-mb)", k,
                      bytes.status().message(), dynamicDim));
    held += *bytes;
    // One stream per parameter: adding a parameter does not shift the others.
    SplitMix64 rng(seed * 0x2545f4914f6cdd1dULL + k);
    Tensor t(type);
    for (int64_t i = 0; i < t.numElements(); ++i) {
      if (isFloat(type.dtype))
        t.setDouble(i, 2.0 * rng.uniform() - 1.0);
      else if (isBool(type.dtype))
        t.setInt(i, static_cast<int64_t>(rng.next() >> 63));
      else
        t.setInt(i, static_cast<int64_t>(rng.next() % 4));
    }
    out.push_back(std::move(t));
  }
  return out;
}

} // namespace cairn
