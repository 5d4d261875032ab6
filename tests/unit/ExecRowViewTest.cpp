// A loop body's gather of one row of a value defined outside the loop is
// given as a view into that value, not a copy (Executable::mayViewRow), only
// where the row cannot outlive the iteration: read by kernels and GEMMs of
// the body. Each case runs compiled against the interpreter and counts the
// views (ExecStats::rowViews).
#include <string>

#include <gtest/gtest.h>

#include "ExecTestUtil.h"

namespace cairn {
namespace {

using exectest::compileOk;
using exectest::expectMatches;
using exectest::inputOf;
using exectest::parseOk;

Tensor i32(int v) { return Tensor::fromInts(TensorType(DType::I32, {}), {v}); }

/// for t in [0, n): h <- tanh(x[t] + h) (x [T, 2, 4], h [2, 4]); `use` is
/// what the body does with the row %row = gather(x, t) besides that, and
/// `yield` the body's yields.
std::string rowLoop(const std::string& use, const std::string& yield = "%i1, %h1, %acc") {
  return "func @f(%x0: tensor<?x2x4xf32>, %h0: tensor<2x4xf32>, %n: tensor<i32>) -> "
         "(tensor<2x4xf32>, tensor<2x4xf32>) {\n"
         "  %z = constant 0 : tensor<i32>\n"
         "  %x = exp %x0 : tensor<?x2x4xf32>\n" // computed outside the loop, not a constant
         "  %r:3 = while (%i = %z, %h = %h0, %acc = %h0) : (tensor<i32>, tensor<2x4xf32>, "
         "tensor<2x4xf32>) max_trip %n cond {\n"
         "    %go = lt %i, %n : tensor<i1>\n    yield %go\n"
         "  } body {\n"
         "    %row = gather %x, %i {axis = 0, batch_dims = 0} : tensor<2x4xf32>\n"
         "    %s = add %row, %h : tensor<2x4xf32>\n"
         "    %h1 = tanh %s : tensor<2x4xf32>\n" +
         use +
         "    %one = constant 1 : tensor<i32>\n    %i1 = add %i, %one : tensor<i32>\n"
         "    yield " +
         yield +
         "\n  }\n"
         "  return %r#1, %r#2\n}\n";
}

struct Case {
  const char* name;
  std::string use, yield;
  bool views;
};

int64_t viewsOf(const std::string& ir, int steps) {
  auto m = parseOk(ir);
  if (!m) return -1;
  auto exe = compileOk(*m);
  if (!exe) return -1;
  exec::ExecutionContext ctx;
  expectMatches(*m, *exe, "f",
                {inputOf(TensorType(DType::F32, {steps, 2, 4}), 1),
                 inputOf(TensorType(DType::F32, {2, 4}), 2), i32(steps)},
                1e-6, &ctx);
  return ctx.stats().rowViews;
}

TEST(ExecRowViewTest, ARowReadOnlyByKernelsAndGemmsIsAView) {
  CAIRN_REQUIRE_JIT();
  const Case cases[] = {
      {"read by a kernel", "    %acc1 = mul %acc, %h1 : tensor<2x4xf32>\n", "%i1, %h1, %acc1",
       true},
      {"read by a GEMM too",
       "    %p = dot %row, %h1 {lhs_contract = [1], rhs_contract = [1]} : tensor<2x2xf32>\n"
       "    %q = dot %p, %h1 : tensor<2x4xf32>\n    %acc1 = add %acc, %q : tensor<2x4xf32>\n",
       "%i1, %h1, %acc1", true},
      {"yielded", "", "%i1, %h1, %row", false},
      {"updated in place",
       "    %zero = constant 0 : tensor<i32>\n"
       "    %u = dynamic_update_slice %row, %h1, %zero, %zero : tensor<2x4xf32>\n"
       "    %acc1 = add %acc, %u : tensor<2x4xf32>\n",
       "%i1, %h1, %acc1", false},
      {"reshaped (an alias)",
       "    %flat = reshape %row : tensor<8xf32>\n" // an alias: it takes the row's buffer
       "    %k8 = constant [7, 6, 5, 4, 3, 2, 1, 0] : tensor<8xi64>\n"
       "    %e = gather %flat, %k8 {axis = 0, batch_dims = 0} : tensor<8xf32>\n"
       "    %back = reshape %e : tensor<2x4xf32>\n"
       "    %acc1 = add %acc, %back : tensor<2x4xf32>\n",
       "%i1, %h1, %acc1", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    int64_t views = viewsOf(rowLoop(c.use, c.yield), 5);
    EXPECT_EQ(views, c.views ? 5 : 0);
  }
}

TEST(ExecRowViewTest, ABadIndexStillFailsAsTheGather) {
  CAIRN_REQUIRE_JIT();
  // One step more than x has rows: the view is not taken, and the gather
  // reports the index as the interpreter does.
  auto m = parseOk(rowLoop("    %acc1 = mul %acc, %h1 : tensor<2x4xf32>\n", "%i1, %h1, %acc1"));
  ASSERT_TRUE(m);
  auto exe = compileOk(*m);
  ASSERT_TRUE(exe);
  std::vector<Tensor> in = {inputOf(TensorType(DType::F32, {3, 2, 4}), 1),
                            inputOf(TensorType(DType::F32, {2, 4}), 2), i32(4)};
  auto want = interpret(*m, "f", in);
  auto got = exe->run("f", in);
  ASSERT_FALSE(want.isOk());
  ASSERT_FALSE(got.isOk());
  EXPECT_NE(got.status().message().find("gather"), std::string::npos) << got.status().message();
}

} // namespace
} // namespace cairn
