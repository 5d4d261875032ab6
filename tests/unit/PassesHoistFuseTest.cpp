// Unit tests of hoist-input-projection and fuse-elementwise: the Elman RNN
// built by the frontend keeps its results bit for bit through the rewrite
// (random data, several lengths, zero steps included), the cases that must
// not match do not, and fusion groups what it should, never computes
// anything twice and keeps the IR valid around ops that read the group.
#include <cmath>
#include <random>

#include "PassesTestUtil.h"
#include "compiler/passes/FuseElementwise.h"
#include "compiler/passes/HoistInputProjection.h"
#include "frontend/models/ElmanRnn.h"

namespace cairn {
namespace {

using passtest::countOps;
using passtest::expectPreservesResults;
using passtest::parseOk;

Tensor randomTensor(const Shape& shape, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Tensor t(TensorType(DType::F32, shape));
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.setDouble(i, normal(rng));
  return t;
}

bool sameBytes(const Tensor& a, const Tensor& b) {
  return a.type() == b.type() && a.byteSize() == b.byteSize() &&
         std::memcmp(a.rawData(), b.rawData(), a.byteSize()) == 0;
}

/// Ops of `kind` directly in the body of `f`'s first while loop.
int countInLoopBody(const Function& f, OpKind kind) {
  int n = 0;
  walk(f, [&](Op& op) {
    if (op.parentOp() && op.parentOp()->kind() == OpKind::While && op.kind() == kind &&
        op.parentRegion() == &op.parentOp()->region(1))
      ++n;
  });
  return n;
}

class ElmanHoistTest : public ::testing::TestWithParam<int64_t> {};

TEST_P(ElmanHoistTest, ProjectionHoistedAndResultsBitIdentical) {
  const int64_t steps = GetParam(), batch = 3, in = 5, hidden = 7;
  Module m;
  Function* f = buildElmanRnn(m, batch, in, hidden);
  std::mt19937 rng(static_cast<unsigned>(steps) + 11);
  std::vector<Tensor> inputs = {randomTensor({steps, batch, in}, rng),
                                randomTensor({batch, hidden}, rng), randomTensor({in, hidden}, rng),
                                randomTensor({hidden, hidden}, rng), randomTensor({hidden}, rng)};
  auto before = interpret(*f, inputs);
  ASSERT_TRUE(before.isOk()) << before.status().message();
  EXPECT_EQ(countInLoopBody(*f, OpKind::Dot), 2);

  int64_t hoisted = 0;
  ASSERT_TRUE(hoistInputProjections(m, &hoisted).isOk());
  EXPECT_EQ(hoisted, 1);
  EXPECT_TRUE(verify(m).isOk()) << verify(m).message();
  EXPECT_EQ(countInLoopBody(*f, OpKind::Dot), 1) << printModule(m); // h * Wh only
  auto after = interpret(*f, inputs);
  ASSERT_TRUE(after.isOk()) << after.status().message();
  ASSERT_EQ(after->size(), 1u);
  EXPECT_TRUE(sameBytes((*before)[0], (*after)[0]));

  // The whole optimize pipeline: still bit-identical, now with a fusion.
  ASSERT_TRUE(runPipeline(m, optimizePipeline()).isOk());
  EXPECT_EQ(countInLoopBody(*f, OpKind::Fusion), 1) << printModule(m);
  auto optimized = interpret(*f, inputs);
  ASSERT_TRUE(optimized.isOk()) << optimized.status().message();
  EXPECT_TRUE(sameBytes((*before)[0], (*optimized)[0]));
}

INSTANTIATE_TEST_SUITE_P(Steps, ElmanHoistTest, ::testing::Values(0, 1, 4, 17));

TEST(HoistInputProjectionTest, NeedsALoopCounter) {
  // %t advances by 2: exact either way, but most of P would be wasted.
  const char* text =
      R"(func @f(%xs: tensor<6x2xf32>, %w: tensor<2x2xf32>, %n: tensor<i32>) -> tensor<1x2xf32> {
  %z = constant 0 : tensor<i32>
  %a0 = constant 0.0 : tensor<1x2xf32>
  %r:2 = while (%t = %z, %a = %a0) : (tensor<i32>, tensor<1x2xf32>) cond {
    %go = lt %t, %n : tensor<i1>
    yield %go
  } body {
    %x = dynamic_slice %xs, %t, %z {sizes = [1, 2]} : tensor<1x2xf32>
    %p = dot %x, %w : tensor<1x2xf32>
    %a1 = add %a, %p : tensor<1x2xf32>
    %two = constant 2 : tensor<i32>
    %t1 = add %t, %two : tensor<i32>
    yield %t1, %a1
  }
  return %r#1
})";
  auto m = parseOk(text);
  ASSERT_TRUE(m);
  auto changed = hoistInputProjections(*m);
  ASSERT_TRUE(changed.isOk());
  EXPECT_FALSE(*changed);
}

TEST(HoistInputProjectionTest, OutOfRangeRowsFailAsBefore) {
  // The loop reads one row past the end: an error before and after.
  const char* text = R"(func @f(%xs: tensor<3x2xf32>, %w: tensor<2x2xf32>) -> tensor<1x2xf32> {
  %z = constant 0 : tensor<i32>
  %four = constant 4 : tensor<i32>
  %a0 = constant 0.0 : tensor<1x2xf32>
  %r:2 = while (%t = %z, %a = %a0) : (tensor<i32>, tensor<1x2xf32>) cond {
    %go = lt %t, %four : tensor<i1>
    yield %go
  } body {
    %x = dynamic_slice %xs, %t, %z {sizes = [1, 2]} : tensor<1x2xf32>
    %p = dot %x, %w : tensor<1x2xf32>
    %a1 = add %a, %p : tensor<1x2xf32>
    %one = constant 1 : tensor<i32>
    %t1 = add %t, %one : tensor<i32>
    yield %t1, %a1
  }
  return %r#1
})";
  auto m = parseOk(text);
  ASSERT_TRUE(m);
  ASSERT_EQ(passtest::runAll(*m), (std::vector<std::string>{"f: error", "f: error"}));
  int64_t n = 0;
  ASSERT_TRUE(hoistInputProjections(*m, &n).isOk());
  EXPECT_EQ(n, 1);
  EXPECT_EQ(passtest::runAll(*m), (std::vector<std::string>{"f: error", "f: error"}));
}

TEST(HoistInputProjectionTest, GatherRowsWithDynamicShapes) {
  const char* text =
      R"(func @f(%xs: tensor<?x?x3xf32>, %w: tensor<3x2xf32>, %h0: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %n = dim %xs {axis = 0} : tensor<i32>
  %z = constant 0 : tensor<i32>
  %r:2 = while (%t = %z, %h = %h0) : (tensor<i32>, tensor<?x2xf32>) cond {
    %go = lt %t, %n : tensor<i1>
    yield %go
  } body {
    %x = gather %xs, %t {axis = 0} : tensor<?x3xf32>
    %p = dot %x, %w : tensor<?x2xf32>
    %h1 = add %h, %p : tensor<?x2xf32>
    %one = constant 1 : tensor<i32>
    %t1 = add %t, %one : tensor<i32>
    yield %t1, %h1
  }
  return %r#1
})";
  auto m = parseOk(text);
  ASSERT_TRUE(m);
  int64_t n = 0;
  ASSERT_TRUE(hoistInputProjections(*m, &n).isOk());
  EXPECT_EQ(n, 1);
  EXPECT_EQ(countInLoopBody(*m->lookup("f"), OpKind::Dot), 0);
  EXPECT_EQ(countInLoopBody(*m->lookup("f"), OpKind::Gather), 1);
  expectPreservesResults(text, {"hoist-input-projection"});
}

TEST(HoistInputProjection, PickedRowsOfTheRow) {
  // A compacted step (BiRnnConfig::compactRows): the live rows of the row,
  // then the product; hoisted, the same rows of P's row, bit for bit.
  const char* text = R"(func @f(%xs: tensor<?x?x3xf32>, %w: tensor<3x4xf32>, %lengths: tensor<?xi32>) -> tensor<?x4xf32> {
  %steps = dim %xs {axis = 0} : tensor<i32>
  %b = dim %xs {axis = 1} : tensor<i64>
  %zero = constant 0 : tensor<i32>
  %z = constant 0.0 : tensor<f32>
  %acc0 = broadcast %z, %b {dims = []} : tensor<?x4xf32>
  %r:2 = while (%t = %zero, %acc = %acc0) : (tensor<i32>, tensor<?x4xf32>) cond {
    %go = lt %t, %steps : tensor<i1>
    yield %go
  } body {
    %n = dim %lengths {axis = 0} : tensor<i64>
    %tb = broadcast %t, %n {dims = []} : tensor<?xi32>
    %live = lt %tb, %lengths : tensor<?xi1>
    %rows = nonzero %live : tensor<?xi32>
    %x = gather %xs, %t {axis = 0} : tensor<?x3xf32>
    %xr = gather %x, %rows {axis = 0} : tensor<?x3xf32>
    %p = dot %xr, %w : tensor<?x4xf32>
    %acc1 = scatter_add %acc, %rows, %p {axis = 0} : tensor<?x4xf32>
    %one = constant 1 : tensor<i32>
    %t1 = add %t, %one : tensor<i32>
    yield %t1, %acc1
  }
  return %r#1
})";
  auto m = parseOk(text);
  ASSERT_TRUE(m);
  int64_t n = 0;
  ASSERT_TRUE(hoistInputProjections(*m, &n).isOk());
  EXPECT_EQ(n, 1);
  EXPECT_EQ(countInLoopBody(*m->lookup("f"), OpKind::Dot), 0);
  expectPreservesResults(text, {"hoist-input-projection"});
}

//===--- fuse-elementwise ----------------------------------------------------===//

/// Ops of each kind, counting those inside fusion regions too.
std::map<OpKind, int> opCensus(const Module& m) {
  std::map<OpKind, int> n;
  for (auto& f : m.functions())
    walk(*f, [&](Op& op) { ++n[op.kind()]; });
  return n;
}

const char* kBranchy =
    R"(func @f(%x: tensor<8xf32>, %y: tensor<8xf32>, %w: tensor<8x8xf32>) -> (tensor<8xf32>, tensor<8xf32>, tensor<f32>) {
  %a = exp %x : tensor<8xf32>
  %b = mul %a, %y : tensor<8xf32>
  %s = reduce_sum %b {dims = [0]} : tensor<f32>
  %d = dot %w, %a : tensor<8xf32>
  %c = add %b, %d : tensor<8xf32>
  %e = tanh %c : tensor<8xf32>
  %g = sub %e, %b : tensor<8xf32>
  return %g, %a, %s
})";

TEST(FuseElementwiseTest, NeverComputesAnythingTwice) {
  auto m = parseOk(kBranchy);
  ASSERT_TRUE(m);
  std::map<OpKind, int> before = opCensus(*m);
  int64_t fusions = 0;
  ASSERT_TRUE(fuseElementwise(*m, {}, &fusions).isOk());
  EXPECT_TRUE(verify(*m).isOk()) << verify(*m).message();
  EXPECT_EQ(fusions, 2) << printModule(*m); // exp+mul, then add+tanh+sub
  std::map<OpKind, int> after = opCensus(*m);
  for (OpKind k : {OpKind::Exp, OpKind::Mul, OpKind::Add, OpKind::Tanh, OpKind::Sub, OpKind::Dot,
                   OpKind::ReduceSum})
    EXPECT_EQ(after[k], before[k]) << opName(k);
  expectPreservesResults(kBranchy, {"fuse-elementwise"});
}

TEST(FuseElementwiseTest, IsIdempotent) {
  auto m = parseOk(kBranchy);
  ASSERT_TRUE(m);
  ASSERT_TRUE(fuseElementwise(*m).isOk());
  std::string once = printModule(*m);
  auto again = fuseElementwise(*m);
  ASSERT_TRUE(again.isOk());
  EXPECT_FALSE(*again);
  EXPECT_EQ(printModule(*m), once);
}

TEST(FuseElementwiseTest, MinOpsOneWrapsLoneOps) {
  const char* text =
      R"(func @f(%x: tensor<4xf32>, %s: tensor<f32>) -> (tensor<4xf32>, tensor<f32>) {
  %e = exp %x : tensor<4xf32>
  %t = tanh %s : tensor<f32>
  return %e, %t
})";
  auto m = parseOk(text);
  ASSERT_TRUE(m);
  auto changed = fuseElementwise(*m);
  ASSERT_TRUE(changed.isOk());
  EXPECT_FALSE(*changed);
  FuseElementwiseOptions options;
  options.minOps = 1;
  int64_t n = 0;
  ASSERT_TRUE(fuseElementwise(*m, options, &n).isOk());
  EXPECT_EQ(n, 1); // the exp; the scalar tanh stays
  EXPECT_EQ(countOps(*m, OpKind::Fusion), 1);
  EXPECT_TRUE(verify(*m).isOk());
}

TEST(FuseElementwiseTest, SplatConstantsAreCopiedOthersAreInputs) {
  const char* text = R"(func @f(%x: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>) {
  %two = constant 2.0 : tensor<3xf32>
  %v = constant [1.0, 2.0, 3.0] : tensor<3xf32>
  %a = mul %x, %two : tensor<3xf32>
  %b = add %a, %v : tensor<3xf32>
  %c = sub %b, %two : tensor<3xf32>
  %d = mul %v, %v : tensor<3xf32>
  return %c, %d
})";
  auto m = parseOk(text);
  ASSERT_TRUE(m);
  ASSERT_TRUE(fuseElementwise(*m).isOk());
  Op* fusion = nullptr;
  walk(*m->lookup("f"), [&](Op& op) {
    if (op.kind() == OpKind::Fusion) fusion = &op;
  });
  ASSERT_TRUE(fusion) << printModule(*m);
  ASSERT_EQ(fusion->numOperands(), 2u); // %x and the non-splat %v
  EXPECT_EQ(fusion->operand(0)->name, "x");
  EXPECT_EQ(fusion->operand(1)->name, "v");
  // The splat moved in (and its original is gone); %v is still used by %d.
  int outerConstants = 0;
  for (auto& op : m->lookup("f")->body().ops())
    outerConstants += op->kind() == OpKind::Constant;
  EXPECT_EQ(outerConstants, 1);
  expectPreservesResults(text, {"fuse-elementwise"});
}

TEST(FuseElementwiseTest, FusesInsideNestedRegionsOnly) {
  const char* text = R"(func @f(%x: tensor<4xf32>, %p: tensor<i1>) -> tensor<4xf32> {
  %e = exp %x : tensor<4xf32>
  %r = if %p -> (tensor<4xf32>) {
    %a = neg %e : tensor<4xf32>
    %b = abs %a : tensor<4xf32>
    yield %b
  } else {
    %c = sqrt %e : tensor<4xf32>
    yield %c
  }
  %s = add %r, %e : tensor<4xf32>
  return %s
})";
  auto m = parseOk(text);
  ASSERT_TRUE(m);
  int64_t n = 0;
  ASSERT_TRUE(fuseElementwise(*m, {}, &n).isOk());
  EXPECT_EQ(n, 1) << printModule(*m); // neg+abs in the then branch only
  Op* fusion = nullptr;
  walk(*m->lookup("f"), [&](Op& op) {
    if (op.kind() == OpKind::Fusion) fusion = &op;
  });
  ASSERT_TRUE(fusion);
  EXPECT_EQ(fusion->parentOp()->kind(), OpKind::If);
  expectPreservesResults(text, {"fuse-elementwise"});
}

} // namespace
} // namespace cairn
