// Direct tests of the reference kernels (kernels/reference): Philox
// known-answer vectors, correctly rounded casts, and the kernels' own
// argument checks, which the verifier normally makes unreachable from IR.
#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "kernels/reference/Kernels.h"

namespace cairn::kernels {
namespace {

Tensor ints(DType d, Shape s, std::vector<int64_t> v) {
  return Tensor::fromInts(TensorType(d, std::move(s)), v);
}
Tensor floats(DType d, Shape s, std::vector<double> v) {
  return Tensor::fromDoubles(TensorType(d, std::move(s)), v);
}

// Random123's kat_vectors for philox4x32 10: counter[4], key[2] -> result[4].
TEST(Kernels, PhiloxKnownAnswers) {
  EXPECT_EQ(philox4x32_10({0, 0, 0, 0}, {0, 0}),
            (std::array<uint32_t, 4>{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(
      philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}),
      (std::array<uint32_t, 4>{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(
      philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}),
      (std::array<uint32_t, 4>{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

TEST(Kernels, UniformF64UsesTwoWords) {
  Tensor s = ints(DType::I64, {2}, {0, 0});
  auto r = rngUniform(s, TensorType(DType::F64, {2}));
  ASSERT_TRUE(r.isOk()) << r.status().message();
  auto w = philox4x32_10({0, 0, 0, 0}, {0, 0});
  double v0 = std::ldexp(double((uint64_t(w[0] >> 5) << 26) + (w[1] >> 6)), -53);
  double v1 = std::ldexp(double((uint64_t(w[2] >> 5) << 26) + (w[3] >> 6)), -53);
  EXPECT_EQ(r->values.toDoubles(), (std::vector<double>{v0, v1}));
  EXPECT_EQ(r->state.toInts(), (std::vector<int64_t>{0, 1}));
}

TEST(Kernels, UniformCounterWrapsAt64Bits) {
  Tensor s = ints(DType::I64, {2}, {5, -1}); // counter 2^64 - 1
  auto r = rngUniform(s, TensorType(DType::F32, {8}));
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->state.toInts(), (std::vector<int64_t>{5, 1}));
}

TEST(Kernels, RngRejectsBadStateAndDType) {
  EXPECT_FALSE(rngUniform(ints(DType::I32, {2}, {0, 0}), TensorType(DType::F32, {1})).isOk());
  EXPECT_FALSE(rngUniform(ints(DType::I64, {2}, {0, 0}), TensorType(DType::I32, {1})).isOk());
  EXPECT_FALSE(
      rngCategorical(ints(DType::I64, {2}, {0, 0}), floats(DType::F32, {2, 0}, {}), DType::I32)
          .isOk());
  double nan = std::numeric_limits<double>::quiet_NaN();
  auto r =
      rngCategorical(ints(DType::I64, {2}, {0, 0}), floats(DType::F32, {2}, {0, nan}), DType::I32);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("NaN"), std::string::npos);
}

TEST(Kernels, CategoricalPlusInfTakesAllTheMass) {
  double inf = std::numeric_limits<double>::infinity();
  Tensor logits(TensorType(DType::F32, {50, 3}));
  for (int i = 0; i < 50; ++i)
    logits.setDouble(i * 3 + 2, inf);
  auto r = rngCategorical(ints(DType::I64, {2}, {3, 0}), logits, DType::I64);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  for (int64_t k : r->values.toInts())
    EXPECT_EQ(k, 2);
}

TEST(Kernels, CastInt64ToBF16RoundsOnce) {
  // 2^40 + 2^32 + 1 is just above the bf16 tie 2^40 (1 + 2^-8): it rounds up
  // to 2^40 (1 + 2^-7). Going through f32 would lose the +1 and tie to even.
  int64_t v = (int64_t(1) << 40) + (int64_t(1) << 32) + 1;
  auto r = cast(ints(DType::I64, {1}, {v}), DType::BF16);
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->getDouble(0), std::ldexp(1.0, 40) + std::ldexp(1.0, 33));
}

TEST(Kernels, CastInt64ToF32And64Extremes) {
  auto f = cast(ints(DType::I64, {2}, {INT64_MAX, INT64_MIN}), DType::F32);
  ASSERT_TRUE(f.isOk());
  EXPECT_EQ(f->getDouble(0), std::ldexp(1.0, 63));
  EXPECT_EQ(f->getDouble(1), -std::ldexp(1.0, 63));
  // 2^63 does not fit in i64: out of range gives 0; -2^63 fits.
  auto back =
      cast(floats(DType::F64, {2}, {std::ldexp(1.0, 63), -std::ldexp(1.0, 63)}), DType::I64);
  ASSERT_TRUE(back.isOk());
  EXPECT_EQ(back->toInts(), (std::vector<int64_t>{0, INT64_MIN}));
}

TEST(Kernels, CastF32ToF16Subnormal) {
  // 2^-25 is half the smallest f16 subnormal: ties to even (0); 3 * 2^-25
  // ties up to 2 * 2^-24.
  auto r =
      cast(floats(DType::F32, {2}, {std::ldexp(1.0, -25), 3 * std::ldexp(1.0, -25)}), DType::F16);
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->toDoubles(), (std::vector<double>{0, std::ldexp(1.0, -23)}));
}

TEST(Kernels, UnaryAndBinaryRejectWrongDTypes) {
  Tensor i = ints(DType::I32, {2}, {1, 2});
  Tensor b = ints(DType::I1, {2}, {1, 0});
  Tensor f = floats(DType::F32, {2}, {1, 2});
  EXPECT_FALSE(unary(OpKind::Exp, i).isOk());
  EXPECT_FALSE(unary(OpKind::Neg, b).isOk());
  EXPECT_FALSE(unary(OpKind::Not, f).isOk());
  EXPECT_FALSE(binary(OpKind::Add, b, b).isOk());
  EXPECT_FALSE(binary(OpKind::Pow, i, i).isOk());
  EXPECT_FALSE(binary(OpKind::And, f, f).isOk());
  EXPECT_FALSE(binary(OpKind::Add, i, f).isOk());
  EXPECT_FALSE(select(f, f, f).isOk());
  EXPECT_FALSE(reduce(OpKind::ReduceSum, b, {0}).isOk());
  EXPECT_FALSE(dot(b, b, DotDims{{}, {}, {0}, {0}}).isOk());
}

TEST(Kernels, BoolMaxMinAreOrAnd) {
  Tensor a = ints(DType::I1, {4}, {0, 0, 1, 1});
  Tensor b = ints(DType::I1, {4}, {0, 1, 0, 1});
  EXPECT_EQ(binary(OpKind::Max, a, b)->toInts(), (std::vector<int64_t>{0, 1, 1, 1}));
  EXPECT_EQ(binary(OpKind::Min, a, b)->toInts(), (std::vector<int64_t>{0, 0, 0, 1}));
  EXPECT_EQ(reduce(OpKind::ReduceMax, a, {0})->toInts(), std::vector<int64_t>{1});
  EXPECT_EQ(reduce(OpKind::ReduceMin, a, {0})->toInts(), std::vector<int64_t>{0});
}

TEST(Kernels, ShapeKernelArgumentErrors) {
  Tensor x = floats(DType::F32, {2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_FALSE(transpose(x, {0, 0}).isOk());
  EXPECT_FALSE(transpose(x, {0}).isOk());
  EXPECT_FALSE(broadcast(x, {1, 0}, {3, 2}).isOk()); // dims not increasing
  EXPECT_FALSE(broadcast(x, {0, 1}, {2, 4}).isOk());
  EXPECT_FALSE(concat({}, 0).isOk());
  EXPECT_FALSE(concat({x}, 2).isOk());
  EXPECT_FALSE(slice(x, {0, 0}, {2, 3}, {1, 0}).isOk());
  EXPECT_FALSE(slice(x, {1, 0}, {0, 3}, {}).isOk());
  EXPECT_FALSE(iota(TensorType(DType::I32, {2}), 1).isOk());
  EXPECT_FALSE(reduce(OpKind::ReduceSum, x, {1, 0}).isOk());
  EXPECT_FALSE(reduce(OpKind::ReduceSum, x, {2}).isOk());
  EXPECT_FALSE(argmax(x, 2, DType::I32).isOk());
  EXPECT_FALSE(argmax(x, 0, DType::F32).isOk());
}

TEST(Kernels, IndexingArgumentErrors) {
  Tensor x = floats(DType::F32, {2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor idx = ints(DType::I32, {2}, {0, 1});
  EXPECT_FALSE(gather(x, floats(DType::F32, {1}, {0}), 0, 0).isOk());
  EXPECT_FALSE(gather(x, idx, 0, 1).isOk());                              // batch_dims > axis
  EXPECT_FALSE(gather(x, ints(DType::I32, {3}, {0, 0, 0}), 1, 1).isOk()); // batch sizes differ
  auto wrongUpdates = scatter(x, idx, floats(DType::F32, {2, 2}, {0, 0, 0, 0}), 0, 0, false);
  ASSERT_FALSE(wrongUpdates.isOk());
  EXPECT_NE(wrongUpdates.status().message().find("expected [2, 3]"), std::string::npos);
  EXPECT_FALSE(dynamicSlice(x, {0}, {1, 1}).isOk());
  EXPECT_FALSE(dynamicSlice(x, {0, 0}, {3, 1}).isOk());
  EXPECT_FALSE(dynamicUpdateSlice(x, ints(DType::I32, {1, 1}, {0}), {0, 0}).isOk());
}

TEST(Kernels, GatherShape) {
  auto s = gatherShape({4, 5, 6}, {4, 2, 3}, 1, 1);
  ASSERT_TRUE(s.isOk());
  EXPECT_EQ(*s, (Shape{4, 2, 3, 6}));
}

TEST(Kernels, DotShapeAndErrors) {
  DotDims d{{0}, {0}, {2}, {1}};
  auto s = dotShape({7, 2, 3}, {7, 3, 5}, d);
  ASSERT_TRUE(s.isOk());
  EXPECT_EQ(*s, (Shape{7, 2, 5}));
  EXPECT_FALSE(dotShape({7, 2, 3}, {6, 3, 5}, d).isOk());
  EXPECT_FALSE(dotShape({2, 3}, {3, 5}, DotDims{{}, {}, {1, 1}, {0, 1}}).isOk());
  EXPECT_FALSE(dotShape({2, 3}, {3, 5}, DotDims{{0}, {}, {1}, {0}}).isOk());
}

TEST(Kernels, DotDimsFromAttrsDefaults) {
  DotDims d = DotDims::fromAttrs({}, 3);
  EXPECT_EQ(d.lhsContract, std::vector<int64_t>{2});
  EXPECT_EQ(d.rhsContract, std::vector<int64_t>{0});
  EXPECT_TRUE(d.lhsBatch.empty());
}

TEST(Kernels, MaterializeConstant) {
  Tensor one = floats(DType::F64, {}, {2.5});
  auto splat = materializeConstant(one, TensorType(DType::F32, {2, 2}));
  ASSERT_TRUE(splat.isOk());
  EXPECT_EQ(splat->toDoubles(), (std::vector<double>{2.5, 2.5, 2.5, 2.5}));
  EXPECT_FALSE(
      materializeConstant(floats(DType::F32, {3}, {1, 2, 3}), TensorType(DType::F32, {2, 2}))
          .isOk());
}

TEST(Kernels, ArgmaxOnLargeInt64sComparesExactly) {
  // 2^62 + 1 and 2^62 are the same double; argmax must still tell them apart.
  Tensor x = ints(DType::I64, {2}, {(int64_t(1) << 62), (int64_t(1) << 62) + 1});
  EXPECT_EQ(argmax(x, 0, DType::I32)->toInts(), std::vector<int64_t>{1});
}

} // namespace
} // namespace cairn::kernels
