#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "ir/Tensor.h"
#include "ir/Types.h"

using namespace cairn;

TEST(Types, PrintsTensorTypes) {
  EXPECT_EQ(TensorType(DType::F32, {2, kDynamic, 3}).toString(), "tensor<2x?x3xf32>");
  EXPECT_EQ(TensorType(DType::I32).toString(), "tensor<i32>");
  EXPECT_EQ(TensorType(DType::BF16, {0}).toString(), "tensor<0xbf16>");
}

TEST(Types, DTypeNamesRoundTrip) {
  for (DType t : kAllDTypes) EXPECT_EQ(parseDType(dtypeName(t)), t);
  EXPECT_FALSE(parseDType("f8").has_value());
}

TEST(Types, CompatibilityTreatsDynamicAsWildcard) {
  EXPECT_TRUE(typesCompatible(TensorType(DType::F32, {kDynamic, 3}), TensorType(DType::F32, {5, 3})));
  EXPECT_FALSE(typesCompatible(TensorType(DType::F32, {4, 3}), TensorType(DType::F32, {5, 3})));
  EXPECT_FALSE(typesCompatible(TensorType(DType::F32, {3}), TensorType(DType::F64, {3})));
}

TEST(Float16, RoundsToNearestEven) {
  EXPECT_EQ(static_cast<float>(Half(1.0f)), 1.0f);
  EXPECT_EQ(static_cast<float>(Half(65504.0f)), 65504.0f);
  EXPECT_TRUE(std::isinf(static_cast<float>(Half(70000.0f))));
  EXPECT_EQ(static_cast<float>(Half(1.0f + 1.0f / 4096)), 1.0f); // tie rounds to even
  EXPECT_EQ(static_cast<float>(Half(5.960464477539063e-08f)), 5.960464477539063e-08f); // min subnormal
  EXPECT_EQ(static_cast<float>(BFloat16(1.0f)), 1.0f);
  EXPECT_EQ(static_cast<float>(BFloat16(3.140625f)), 3.140625f);
  EXPECT_TRUE(std::isnan(static_cast<float>(BFloat16(std::nanf("")))));
}

TEST(Tensor, StoresEveryDType) {
  for (DType t : kAllDTypes) {
    Tensor x = Tensor::fromDoubles(TensorType(t, {2, 2}), {0, 1, 1, 0});
    EXPECT_EQ(x.toDoubles(), (std::vector<double>{0, 1, 1, 0})) << dtypeName(t);
  }
  Tensor s = Tensor::scalar(DType::F32, 2.5);
  EXPECT_EQ(s.toString(), "2.5");
  EXPECT_TRUE(Tensor::fromInts(TensorType(DType::I32, {3}), {7, 7, 7}).isSplat());
  EXPECT_EQ(Tensor::fromInts(TensorType(DType::I64, {2, 2}), {1, 2, 3, 4}).toString(), "[[1, 2], [3, 4]]");
}

// A borrowed tensor reads the caller's memory; copies own theirs, a move
// carries the borrow, and the first mutable access copies (the caller's
// memory is never written).
TEST(Tensor, BorrowedReadsInPlaceCopiesOwnAndWritesCopyFirst) {
  std::vector<int32_t> mem = {1, 2, 3, 4, 5, 6};
  const auto* bytes = reinterpret_cast<const std::byte*>(mem.data());
  Tensor b = Tensor::borrow(TensorType(DType::I32, {2, 3}), bytes);
  EXPECT_TRUE(b.borrowed());
  EXPECT_EQ(std::as_const(b).rawData(), bytes);
  EXPECT_EQ(b.byteSize(), 24u);
  EXPECT_EQ(b.toInts(), (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(b, Tensor::fromInts(TensorType(DType::I32, {2, 3}), {1, 2, 3, 4, 5, 6}));

  Tensor copy = b; // owns its bytes
  EXPECT_FALSE(copy.borrowed());
  EXPECT_NE(std::as_const(copy).rawData(), bytes);
  Tensor assigned;
  assigned = b;
  EXPECT_FALSE(assigned.borrowed());

  Tensor moved = std::move(b); // the borrow travels
  EXPECT_TRUE(moved.borrowed());
  EXPECT_EQ(std::as_const(moved).rawData(), bytes);

  moved.setInt(0, 42); // copies first
  EXPECT_FALSE(moved.borrowed());
  EXPECT_EQ(moved.getInt(0), 42);
  EXPECT_EQ(mem[0], 1);
  mem[1] = 7; // the copies do not see later changes
  EXPECT_EQ(copy.getInt(1), 2);
  EXPECT_EQ(moved.getInt(1), 2);

  Tensor lent = Tensor::borrow(TensorType(DType::I32, {6}), bytes);
  std::vector<std::byte> taken = std::move(lent).takeBytes();
  EXPECT_EQ(taken.size(), 24u);
  EXPECT_NE(taken.data(), bytes);

  // Zero-size: nothing to borrow.
  EXPECT_FALSE(Tensor::borrow(TensorType(DType::F32, {0, 3}), nullptr).borrowed());
}
