// Philox-4x32-10 and the random-op kernels built on it. The word stream and
// the number formats are specified in Random.h; this file follows that text.
#include "kernels/reference/Random.h"

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/reference/KernelUtil.h"

namespace cairn::kernels {

std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> c, std::array<uint32_t, 2> k) {
  constexpr uint64_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    if (round > 0) k = {k[0] + kWeyl0, k[1] + kWeyl1}; // key schedule: a Weyl sequence
    uint64_t p0 = kMul0 * c[0], p1 = kMul1 * c[2];
    uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    c = {hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0};
  }
  return c;
}

namespace {

/// The word stream of Random.h starting at a state's counter.
class WordStream {
public:
  WordStream(uint64_t key, uint64_t counter) : key_(key), counter_(counter) {}
  uint32_t next() {
    if (used_ % 4 == 0) {
      uint64_t c = counter_ + static_cast<uint64_t>(used_ / 4);
      block_ = philox4x32_10({static_cast<uint32_t>(c), static_cast<uint32_t>(c >> 32), 0, 0},
                             {static_cast<uint32_t>(key_), static_cast<uint32_t>(key_ >> 32)});
    }
    return block_[used_++ % 4];
  }
  /// [key, counter + blocks used] as a tensor<2xi64>.
  Tensor nextState() const {
    uint64_t blocks = static_cast<uint64_t>((used_ + 3) / 4);
    Tensor s(TensorType(DType::I64, {2}));
    s.data<int64_t>()[0] = static_cast<int64_t>(key_);
    s.data<int64_t>()[1] = static_cast<int64_t>(counter_ + blocks);
    return s;
  }

private:
  uint64_t key_, counter_;
  int64_t used_ = 0;
  std::array<uint32_t, 4> block_{};
};

StatusOr<WordStream> openStream(const Tensor& state) {
  if (state.dtype() != DType::I64 || state.shape() != Shape{2})
    return errorf("state must be tensor<2xi64> = [key, counter], got {}", state.type().toString());
  return WordStream(static_cast<uint64_t>(state.data<int64_t>()[0]),
                    static_cast<uint64_t>(state.data<int64_t>()[1]));
}

float uniformF32(WordStream& s) {
  return static_cast<float>(s.next() >> 8) * 0x1p-24f;
}

double uniformF64(WordStream& s) {
  uint64_t a = s.next() >> 5, b = s.next() >> 6;
  return static_cast<double>((a << 26) + b) * 0x1p-53;
}

/// f16/bf16 from an f32 in [0, 1), rounded toward zero so it stays below 1.
template <typename T> T roundDown(float f) {
  T t(f);
  if (static_cast<float>(t) > f) t.bits -= 1; // positive: one step toward zero
  return t;
}

} // namespace

StatusOr<RngResult> rngUniform(const Tensor& state, const TensorType& type) {
  if (!isFloat(type.dtype))
    return errorf("uniform numbers need a float result, got {}", dtypeName(type.dtype));
  if (!type.hasStaticShape()) return errorf("result type {} is not static", type.toString());
  CAIRN_ASSIGN_OR_RETURN(WordStream s, openStream(state));
  Tensor values(type);
  for (int64_t i = 0; i < values.numElements(); ++i) {
    switch (type.dtype) {
    case DType::F64:
      values.data<double>()[i] = uniformF64(s);
      break;
    case DType::F16:
      values.data<Half>()[i] = roundDown<Half>(uniformF32(s));
      break;
    case DType::BF16:
      values.data<BFloat16>()[i] = roundDown<BFloat16>(uniformF32(s));
      break;
    default:
      values.data<float>()[i] = uniformF32(s);
      break;
    }
  }
  return RngResult{s.nextState(), std::move(values)};
}

StatusOr<RngResult> rngCategorical(const Tensor& state, const Tensor& logits, DType indexType) {
  if (!isFloat(logits.dtype()))
    return errorf("logits must be float, got {}", dtypeName(logits.dtype()));
  if (!isInteger(indexType))
    return errorf("samples must be i32 or i64, got {}", dtypeName(indexType));
  if (logits.rank() < 1) return errorf("logits must have rank >= 1 (the last dim is categories)");
  CAIRN_ASSIGN_OR_RETURN(WordStream s, openStream(state));
  Shape rowShape(logits.shape().begin(), logits.shape().end() - 1);
  int64_t k = logits.shape().back(), rows = numElements(rowShape);
  if (k == 0 && rows > 0) return errorf("cannot sample from 0 categories");
  Tensor samples(TensorType(indexType, rowShape));
  std::vector<double> w(k);
  for (int64_t r = 0; r < rows; ++r) {
    double m = -std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < k; ++j) {
      w[j] = logits.getDouble(r * k + j);
      if (std::isnan(w[j])) return errorf("logits row {} has a NaN at category {}", r, j);
      m = std::max(m, w[j]);
    }
    if (m == -std::numeric_limits<double>::infinity())
      return errorf("logits row {} is all -inf: no category has a non-zero probability", r);
    double total = 0;
    for (int64_t j = 0; j < k; ++j) {
      // l == m also covers l = m = +inf, where l - m would be NaN.
      w[j] = w[j] == m ? 1.0 : std::exp(w[j] - m);
      total += w[j];
    }
    double target = uniformF64(s) * total, cum = 0;
    int64_t pick = -1, lastPositive = 0;
    for (int64_t j = 0; j < k && pick < 0; ++j) {
      cum += w[j];
      if (w[j] > 0) lastPositive = j;
      if (cum > target) pick = j;
    }
    // u * total < total always; this only guards against a rounding surprise.
    samples.setInt(r, pick >= 0 ? pick : lastPositive);
  }
  return RngResult{s.nextState(), std::move(samples)};
}

} // namespace cairn::kernels
