// splitmix64-based input generation.
#include "RandomInputs.h"

namespace cairn {
namespace {

class SplitMix64 {
public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

private:
  uint64_t state_;
};

} // namespace

std::vector<Tensor> randomInputs(const std::vector<TensorType>& types, uint64_t seed,
                                 int64_t dynamicDim) {
  std::vector<Tensor> out;
  for (size_t k = 0; k < types.size(); ++k) {
    TensorType type = types[k];
    for (int64_t& d : type.shape)
      if (d == kDynamic) d = dynamicDim;
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
