// The type rules of ir/TypeInference.cpp, family by family: what they infer
// and what they reject.
#include <gtest/gtest.h>

#include "ir/TypeInference.h"

using namespace cairn;

namespace {

TensorType f32(Shape s) { return TensorType(DType::F32, std::move(s)); }
TensorType i32(Shape s = {}) { return TensorType(DType::I32, std::move(s)); }
TensorType i1(Shape s = {}) { return TensorType(DType::I1, std::move(s)); }
constexpr int64_t Q = kDynamic;

TensorType infer1(OpKind k, std::vector<TensorType> ops, AttrMap attrs = {},
                  std::vector<TensorType> declared = {}) {
  auto r = inferResultTypes(k, ops, attrs, declared);
  EXPECT_TRUE(r.isOk()) << r.status().message();
  if (!r.isOk() || r->empty()) return TensorType();
  return r->front();
}

std::string error(OpKind k, std::vector<TensorType> ops, AttrMap attrs = {},
                  std::vector<TensorType> declared = {}) {
  auto r = inferResultTypes(k, ops, attrs, declared);
  EXPECT_FALSE(r.isOk());
  return r.status().message();
}

} // namespace

TEST(TypeInference, UnaryKeepsType) {
  EXPECT_EQ(infer1(OpKind::Tanh, {f32({2, Q})}), f32({2, Q}));
  EXPECT_EQ(infer1(OpKind::Neg, {i32({3})}), i32({3}));
  EXPECT_EQ(infer1(OpKind::Not, {i1({3})}), i1({3}));
}

TEST(TypeInference, UnaryChecksDType) {
  EXPECT_NE(error(OpKind::Exp, {i32({2})}).find("float"), std::string::npos);
  EXPECT_NE(error(OpKind::Neg, {i1({2})}).find("i1"), std::string::npos);
  EXPECT_NE(error(OpKind::Not, {f32({2})}).find("i1/i32/i64"), std::string::npos);
}

TEST(TypeInference, BinaryUnifiesDynamicDims) {
  EXPECT_EQ(infer1(OpKind::Add, {f32({Q, 4}), f32({3, Q})}), f32({3, 4}));
  EXPECT_EQ(infer1(OpKind::Mul, {f32({}), f32({})}), f32({}));
}

TEST(TypeInference, BinaryRejectsMismatch) {
  EXPECT_NE(error(OpKind::Add, {f32({4}), f32({3})}).find("same type"), std::string::npos);
  error(OpKind::Add, {f32({4}), TensorType(DType::F64, {4})});
  error(OpKind::Add, {f32({4})});
  error(OpKind::Pow, {i32({4}), i32({4})});
  error(OpKind::And, {f32({4}), f32({4})});
}

TEST(TypeInference, CompareGivesI1) {
  EXPECT_EQ(infer1(OpKind::Lt, {i32({}), i32({})}), i1({}));
  EXPECT_EQ(infer1(OpKind::Eq, {f32({2, 3}), f32({2, 3})}), i1({2, 3}));
}

TEST(TypeInference, SelectAcceptsScalarOrFullPredicate) {
  EXPECT_EQ(infer1(OpKind::Select, {i1({}), f32({2}), f32({2})}), f32({2}));
  EXPECT_EQ(infer1(OpKind::Select, {i1({2}), f32({Q}), f32({Q})}), f32({2}));
  error(OpKind::Select, {i1({3}), f32({2}), f32({2})});
  error(OpKind::Select, {i32({2}), f32({2}), f32({2})});
}

TEST(TypeInference, CastTakesDeclaredDType) {
  EXPECT_EQ(infer1(OpKind::Cast, {f32({2})}, {}, {i32({9})}), i32({2}));
}

TEST(TypeInference, Broadcast) {
  AttrMap a{{"dims", std::vector<int64_t>{1}}};
  EXPECT_EQ(infer1(OpKind::Broadcast, {f32({3})}, a, {f32({2, 3})}), f32({2, 3}));
  AttrMap ones{{"dims", std::vector<int64_t>{0, 1}}};
  EXPECT_EQ(infer1(OpKind::Broadcast, {f32({1, 3})}, ones, {f32({5, 3})}), f32({5, 3}));
  EXPECT_EQ(infer1(OpKind::Broadcast, {f32({3}), i32()}, a, {f32({Q, 3})}), f32({Q, 3}));
  EXPECT_NE(error(OpKind::Broadcast, {f32({3})}, a, {f32({Q, 3})}).find("size operands"),
            std::string::npos);
  EXPECT_NE(error(OpKind::Broadcast, {f32({4})}, a, {f32({2, 3})}).find("cannot broadcast"),
            std::string::npos);
  error(OpKind::Broadcast, {f32({3})}, {}, {f32({2, 3})});
}

TEST(TypeInference, Reshape) {
  EXPECT_EQ(infer1(OpKind::Reshape, {f32({2, 3})}, {}, {f32({6})}), f32({6}));
  EXPECT_NE(error(OpKind::Reshape, {f32({2, 3})}, {}, {f32({5})}).find("cannot reshape"),
            std::string::npos);
  EXPECT_EQ(infer1(OpKind::Reshape, {f32({Q, 3}), i32()}, {}, {f32({Q})}), f32({Q}));
}

TEST(TypeInference, Transpose) {
  AttrMap a{{"perm", std::vector<int64_t>{2, 0, 1}}};
  EXPECT_EQ(infer1(OpKind::Transpose, {f32({2, 3, 4})}, a), f32({4, 2, 3}));
  error(OpKind::Transpose, {f32({2, 3, 4})}, {{"perm", std::vector<int64_t>{0, 0, 1}}});
}

TEST(TypeInference, Concat) {
  AttrMap a{{"axis", int64_t{1}}};
  EXPECT_EQ(infer1(OpKind::Concat, {f32({2, 3}), f32({2, 4})}, a), f32({2, 7}));
  EXPECT_EQ(infer1(OpKind::Concat, {f32({Q, 3}), f32({2, Q})}, a), f32({2, Q}));
  error(OpKind::Concat, {f32({2, 3}), f32({3, 4})}, a);
  error(OpKind::Concat, {f32({2, 3})}, {{"axis", int64_t{2}}});
}

TEST(TypeInference, Slice) {
  AttrMap a{{"start", std::vector<int64_t>{1, 0}},
            {"limit", std::vector<int64_t>{4, 5}},
            {"stride", std::vector<int64_t>{2, 1}}};
  EXPECT_EQ(infer1(OpKind::Slice, {f32({4, 5})}, a), f32({2, 5}));
  error(OpKind::Slice, {f32({3, 5})}, a);
}

TEST(TypeInference, DynamicSliceAndUpdate) {
  AttrMap a{{"sizes", std::vector<int64_t>{1, 4}}};
  EXPECT_EQ(infer1(OpKind::DynamicSlice, {f32({Q, 4}), i32(), i32()}, a), f32({1, 4}));
  error(OpKind::DynamicSlice, {f32({Q, 4}), i32()}, a);
  error(OpKind::DynamicSlice, {f32({Q, 4}), f32({}), i32()}, a);
  EXPECT_EQ(infer1(OpKind::DynamicUpdateSlice, {f32({5, 4}), f32({1, 4}), i32(), i32()}),
            f32({5, 4}));
  error(OpKind::DynamicUpdateSlice, {f32({5, 4}), f32({1, 5}), i32(), i32()});
}

TEST(TypeInference, GatherWithBatchDims) {
  AttrMap emb{{"axis", int64_t{0}}};
  EXPECT_EQ(infer1(OpKind::Gather, {f32({100, 8}), i32({2, 5})}, emb), f32({2, 5, 8}));
  AttrMap stack{{"axis", int64_t{1}}, {"batch_dims", int64_t{1}}};
  EXPECT_EQ(infer1(OpKind::Gather, {f32({4, 10, 6}), i32({4})}, stack), f32({4, 6}));
  error(OpKind::Gather, {f32({4, 10, 6}), i32({3})}, stack);
  error(OpKind::Gather, {f32({4, 10}), f32({3})}, emb);
}

TEST(TypeInference, ScatterUpdatesHaveGatherShape) {
  AttrMap stack{{"axis", int64_t{1}}, {"batch_dims", int64_t{1}}};
  EXPECT_EQ(infer1(OpKind::Scatter, {f32({4, 10, 6}), i32({4}), f32({4, 6})}, stack),
            f32({4, 10, 6}));
  error(OpKind::ScatterAdd, {f32({4, 10, 6}), i32({4}), f32({4, 5})}, stack);
}

TEST(TypeInference, IotaAndDim) {
  EXPECT_EQ(infer1(OpKind::Iota, {}, {{"axis", int64_t{0}}}, {i32({5})}), i32({5}));
  error(OpKind::Iota, {}, {{"axis", int64_t{1}}}, {i32({5})});
  EXPECT_EQ(infer1(OpKind::Dim, {f32({Q, 2})}, {{"axis", int64_t{0}}}, {i32()}), i32());
  error(OpKind::Dim, {f32({Q, 2})}, {{"axis", int64_t{0}}}, {f32({})});
}

TEST(TypeInference, ReduceAndArgmax) {
  EXPECT_EQ(infer1(OpKind::ReduceSum, {f32({2, 3, 4})}, {{"dims", std::vector<int64_t>{0, 2}}}),
            f32({3}));
  error(OpKind::ReduceMax, {f32({2, 3})}, {{"dims", std::vector<int64_t>{1, 0}}});
  EXPECT_EQ(infer1(OpKind::Argmax, {f32({2, 3})}, {{"axis", int64_t{1}}}, {i32({})}), i32({2}));
}

TEST(TypeInference, DotGeneral) {
  EXPECT_EQ(infer1(OpKind::Dot, {f32({2, 3}), f32({3, 4})}), f32({2, 4}));
  AttrMap bmm{{"lhs_batch", std::vector<int64_t>{0}},
              {"rhs_batch", std::vector<int64_t>{0}},
              {"lhs_contract", std::vector<int64_t>{2}},
              {"rhs_contract", std::vector<int64_t>{1}}};
  EXPECT_EQ(infer1(OpKind::Dot, {f32({8, 2, 3}), f32({8, 3, 5})}, bmm), f32({8, 2, 5}));
  EXPECT_NE(error(OpKind::Dot, {f32({2, 3}), f32({4, 5})}).find("contracting"), std::string::npos);
  EXPECT_EQ(infer1(OpKind::Dot, {f32({3}), f32({3})}), f32({}));
}

TEST(TypeInference, ConstantAndRng) {
  Tensor t = Tensor::fromDoubles(f32({2}), {1, 2});
  EXPECT_EQ(infer1(OpKind::Constant, {}, {{"value", t}}), f32({2}));
  error(OpKind::Constant, {}, {{"value", t}}, {f32({3})});
  TensorType state(DType::I64, {2});
  auto r = inferResultTypes(OpKind::RngUniform, {state}, {}, {state, f32({3})});
  ASSERT_TRUE(r.isOk());
  error(OpKind::RngUniform, {i32({2})}, {}, {state, f32({3})});
  auto c = inferResultTypes(OpKind::RngCategorical, {state, f32({4, 3})}, {}, {state, i32({9})});
  ASSERT_TRUE(c.isOk());
  EXPECT_EQ((*c)[1], i32({4}));
}

TEST(TypeInference, ControlFlow) {
  EXPECT_EQ(infer1(OpKind::While, {i32(), f32({2}), i32()}, {}, {i32(), f32({2})}), i32());
  error(OpKind::While, {i32(), f32({2}), f32({})}, {}, {i32(), f32({2})});
  error(OpKind::While, {i32(), f32({3})}, {}, {i32(), f32({2})});
  EXPECT_EQ(infer1(OpKind::If, {i1()}, {}, {f32({2})}), f32({2}));
  error(OpKind::If, {i1({2})}, {}, {f32({2})});
}

TEST(TypeInference, RejectsUnknownAttributes) {
  EXPECT_NE(error(OpKind::Add, {f32({2}), f32({2})}, {{"axis", int64_t{0}}}).find("unknown attribute"),
            std::string::npos);
  error(OpKind::Transpose, {f32({2, 2})}, {{"perm", int64_t{0}}});
}
