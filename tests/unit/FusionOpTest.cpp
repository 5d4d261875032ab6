// The `fusion` op: built in C++, it prints in its special form and parses
// back; the verifier holds its region to the kind's rules (ir/Fusion.h); the
// reference interpreter runs its region in isolation; and the passes that
// predate it respect the isolation (CSE does not reach into it).
#include "PassesTestUtil.h"
#include "compiler/passes/CSE.h"
#include "ir/Fusion.h"

namespace cairn {
namespace {

using passtest::parseOk;

const char* kFused =
    R"(func @f(%x: tensor<3xf32>, %y: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xi1>) {
  %r:2 = fusion (%a = %x, %b = %y) : (tensor<3xf32>, tensor<3xf32>) -> (tensor<3xf32>, tensor<3xi1>) {
    %s = add %a, %b : tensor<3xf32>
    %t = tanh %s : tensor<3xf32>
    %p = gt %t, %a : tensor<3xi1>
    yield %t, %p
  } {kind = "elementwise"}
  return %r#0, %r#1
}
)";

TEST(FusionOpTest, BuiltInCxxPrintsAndParsesBack) {
  Module m;
  Function* f = m.addFunction("g");
  TensorType t(DType::F32, {4});
  Value* x = f->body().addArgument(t, "x");
  f->resultTypes = {t};
  AttrMap attrs{{kFusionKindAttr, std::string(kElementwiseFusion)}};
  Op* fusion = f->body().append(Op::create(OpKind::Fusion, {x}, {t}, attrs, 1));
  Region& body = fusion->region(0);
  Value* a = body.addArgument(t, "a");
  Op* e = body.append(Op::create(OpKind::Exp, {a}, {t}));
  body.append(Op::create(OpKind::Yield, {e->result()}, {}));
  f->body().append(Op::create(OpKind::Return, {fusion->result()}, {}));
  ASSERT_TRUE(verify(m).isOk()) << verify(m).message();
  std::string text = printModule(m);
  EXPECT_NE(text.find("%0 = fusion (%a = %x) : (tensor<4xf32>) -> (tensor<4xf32>) {"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("} {kind = \"elementwise\"}"), std::string::npos) << text;
  auto again = parseOk(text);
  ASSERT_TRUE(again);
  EXPECT_EQ(printModule(*again), text);
}

TEST(FusionOpTest, InterpreterRunsTheRegion) {
  auto m = parseOk(kFused);
  ASSERT_TRUE(m);
  Tensor x(TensorType(DType::F32, {3})), y(TensorType(DType::F32, {3}));
  for (int i = 0; i < 3; ++i) {
    x.setDouble(i, i - 1.0);
    y.setDouble(i, 0.5);
  }
  auto r = interpret(*m, "f", {x, y});
  ASSERT_TRUE(r.isOk()) << r.status().message();
  ASSERT_EQ(r->size(), 2u);
  for (int i = 0; i < 3; ++i) {
    double t = (*r)[0].getDouble(i);
    EXPECT_NEAR(t, std::tanh(i - 0.5), 1e-6);
    EXPECT_EQ((*r)[1].getInt(i), t > i - 1.0 ? 1 : 0);
  }
}

TEST(FusionOpTest, ErrorsInsideTheRegionNameTheInnerOp) {
  auto m = parseOk(R"(func @f(%x: tensor<2xi32>) -> tensor<2xi32> {
  %r = fusion (%a = %x) : (tensor<2xi32>) -> (tensor<2xi32>) {
    %q = div %a, %a : tensor<2xi32>
    yield %q
  } {kind = "elementwise"}
  return %r
})");
  ASSERT_TRUE(m);
  Tensor zero(TensorType(DType::I32, {2}));
  auto r = interpret(*m, "f", {zero});
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("'div' op"), std::string::npos) << r.status().message();
}

TEST(FusionOpTest, VerifierEnforcesKindAndIsolation) {
  EXPECT_TRUE(isFusionKind("elementwise"));
  EXPECT_FALSE(isFusionKind("gemm"));
  EXPECT_TRUE(fusionKindAllows("elementwise", OpKind::Select));
  EXPECT_TRUE(fusionKindAllows("elementwise", OpKind::Broadcast));
  EXPECT_FALSE(fusionKindAllows("elementwise", OpKind::Dot));
  EXPECT_FALSE(fusionKindAllows("elementwise", OpKind::Yield));
  auto capture = parseModule(R"(func @f(%x: tensor<3xf32>, %y: tensor<3xf32>) -> tensor<3xf32> {
  %r = fusion (%a = %x) : (tensor<3xf32>) -> (tensor<3xf32>) {
    %s = add %a, %y : tensor<3xf32>
    yield %s
  } {kind = "elementwise"}
  return %r
})");
  ASSERT_TRUE(capture.isOk());
  Status s = verify(**capture);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("defined outside its fusion"), std::string::npos) << s.message();
  auto reduce = parseModule(R"(func @f(%x: tensor<3xf32>) -> tensor<f32> {
  %r = fusion (%a = %x) : (tensor<3xf32>) -> (tensor<f32>) {
    %s = reduce_sum %a {dims = [0]} : tensor<f32>
    yield %s
  } {kind = "elementwise"}
  return %r
})");
  ASSERT_TRUE(reduce.isOk());
  s = verify(**reduce);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("'reduce_sum' op is not allowed in a fusion of kind"),
            std::string::npos)
      << s.message();
}

TEST(FusionOpTest, CSEDoesNotReachIntoTheRegion) {
  // The outer constant equals the inner one, but the region must not read
  // outer values: CSE merges neither way.
  auto m = parseOk(R"(func @f(%x: tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>) {
  %c = constant 2.0 : tensor<2xf32>
  %y = mul %x, %c : tensor<2xf32>
  %r = fusion (%a = %x) : (tensor<2xf32>) -> (tensor<2xf32>) {
    %c2 = constant 2.0 : tensor<2xf32>
    %m = mul %a, %c2 : tensor<2xf32>
    %m2 = mul %a, %c2 : tensor<2xf32>
    %s = add %m, %m2 : tensor<2xf32>
    yield %s
  } {kind = "elementwise"}
  return %y, %r
})");
  ASSERT_TRUE(m);
  int64_t merged = 0;
  ASSERT_TRUE(eliminateCommonSubexpressions(*m, &merged).isOk());
  EXPECT_EQ(merged, 1); // %m2 into %m, inside the region
  EXPECT_TRUE(verify(*m).isOk()) << verify(*m).message();
  EXPECT_EQ(passtest::countOps(*m, OpKind::Constant), 2);
}

TEST(FusionOpTest, EveryPassPreservesAFusionsResults) {
  passtest::expectPreservesResults(kFused, {"canonicalize", "cse", "dce", "inline", "licm",
                                            "hoist-input-projection", "fuse-elementwise"});
}

} // namespace
} // namespace cairn
