// Interpreter tests of rng_uniform and rng_categorical: determinism, counter
// advance, value range, and sample frequencies against the softmax.
#include <cmath>

#include "kernels/reference/Random.h"
#include "tests/unit/InterpreterTestUtil.h"

namespace cairn::testing {
namespace {

Tensor state(int64_t key, int64_t counter) {
  return TI("tensor<2xi64>", {key, counter});
}

std::string uniformIR(const std::string& type) {
  return "func @f(%s: tensor<2xi64>) -> (tensor<2xi64>, " + type +
         ") {\n  %r:2 = rng_uniform %s : tensor<2xi64>, " + type + "\n  return %r#0, %r#1\n}\n";
}

TEST(InterpreterRandom, UniformIsDeterministic) {
  auto a = runOk(uniformIR("tensor<3x2xf32>"), {state(42, 7)});
  auto b = runOk(uniformIR("tensor<3x2xf32>"), {state(42, 7)});
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(a[1], b[1]);
  auto c = runOk(uniformIR("tensor<3x2xf32>"), {state(43, 7)});
  ASSERT_EQ(c.size(), 2u);
  EXPECT_NE(a[1], c[1]);
}

TEST(InterpreterRandom, UniformAdvancesTheCounterByBlocksUsed) {
  // 6 f32 numbers = 6 words = 2 blocks; 3 f64 numbers = 6 words = 2 blocks;
  // 4 f32 = exactly 1 block; none = 0 blocks.
  EXPECT_EQ(runOk(uniformIR("tensor<3x2xf32>"), {state(1, 10)})[0].toInts(),
            (std::vector<int64_t>{1, 12}));
  EXPECT_EQ(runOk(uniformIR("tensor<3xf64>"), {state(1, 10)})[0].toInts(),
            (std::vector<int64_t>{1, 12}));
  EXPECT_EQ(runOk(uniformIR("tensor<4xf32>"), {state(1, 10)})[0].toInts(),
            (std::vector<int64_t>{1, 11}));
  EXPECT_EQ(runOk(uniformIR("tensor<0xf32>"), {state(1, 10)})[0].toInts(),
            (std::vector<int64_t>{1, 10}));
}

TEST(InterpreterRandom, UniformStreamContinuesAcrossCalls) {
  // Two draws of 4 chained through the state equal one draw of 8.
  const char* ir = R"(func @f(%s: tensor<2xi64>) -> (tensor<4xf32>, tensor<4xf32>, tensor<8xf32>) {
  %a:2 = rng_uniform %s : tensor<2xi64>, tensor<4xf32>
  %b:2 = rng_uniform %a#0 : tensor<2xi64>, tensor<4xf32>
  %c:2 = rng_uniform %s : tensor<2xi64>, tensor<8xf32>
  return %a#1, %b#1, %c#1
}
)";
  auto r = runOk(ir, {state(5, 0)});
  ASSERT_EQ(r.size(), 3u);
  std::vector<double> two = r[0].toDoubles(), second = r[1].toDoubles();
  two.insert(two.end(), second.begin(), second.end());
  EXPECT_EQ(two, r[2].toDoubles());
}

TEST(InterpreterRandom, UniformMatchesTheDocumentedBitLayout) {
  int64_t key = 0x0123456789abcdefLL, counter = 0x00000002fffffffeLL;
  auto r = runOk(uniformIR("tensor<5xf32>"), {state(key, counter)});
  ASSERT_EQ(r.size(), 2u);
  auto block0 = kernels::philox4x32_10({0xfffffffeu, 2u, 0, 0}, {0x89abcdefu, 0x01234567u});
  auto block1 = kernels::philox4x32_10({0xffffffffu, 2u, 0, 0}, {0x89abcdefu, 0x01234567u});
  std::vector<double> expected;
  for (uint32_t u : block0)
    expected.push_back(std::ldexp(double(u >> 8), -24));
  expected.push_back(std::ldexp(double(block1[0] >> 8), -24));
  EXPECT_EQ(r[1].toDoubles(), expected);
  EXPECT_EQ(r[0].toInts(), (std::vector<int64_t>{key, counter + 2}));
}

TEST(InterpreterRandom, UniformRangeAndMean) {
  for (const char* type :
       {"tensor<4000xf32>", "tensor<4000xf64>", "tensor<4000xf16>", "tensor<4000xbf16>"}) {
    auto r = runOk(uniformIR(type), {state(2024, 0)});
    ASSERT_EQ(r.size(), 2u);
    double sum = 0;
    for (double v : r[1].toDoubles()) {
      EXPECT_GE(v, 0.0);
      EXPECT_LT(v, 1.0);
      sum += v;
    }
    // The mean of 4000 uniforms has standard deviation 0.0046.
    EXPECT_NEAR(sum / 4000, 0.5, 0.025) << type;
  }
}

TEST(InterpreterRandom, UniformDynamicShape) {
  const char* ir = R"(func @f(%s: tensor<2xi64>, %n: tensor<i32>) -> tensor<?xf32> {
  %r:2 = rng_uniform %s, %n : tensor<2xi64>, tensor<?xf32>
  return %r#1
}
)";
  Tensor r = run1(ir, {state(3, 3), TI("tensor<i32>", {6})});
  EXPECT_EQ(r.type().toString(), "tensor<6xf32>");
}

std::string categoricalIR(const std::string& logits, const std::string& out) {
  return "func @f(%s: tensor<2xi64>, %l: " + logits + ") -> (tensor<2xi64>, " + out +
         ") {\n  %r:2 = rng_categorical %s, %l : tensor<2xi64>, " + out +
         "\n  return %r#0, %r#1\n}\n";
}

TEST(InterpreterRandom, CategoricalFrequenciesMatchSoftmax) {
  const int n = 20000;
  std::vector<double> logits;
  for (int i = 0; i < n; ++i)
    logits.insert(logits.end(), {0.0, 1.0, 2.0, -1.0});
  std::string lt = "tensor<" + std::to_string(n) + "x4xf32>";
  std::string st = "tensor<" + std::to_string(n) + "xi32>";
  auto r = runOk(categoricalIR(lt, st), {state(99, 0), T(lt, logits)});
  ASSERT_EQ(r.size(), 2u);
  // 2 words per row: n / 2 blocks.
  EXPECT_EQ(r[0].toInts(), (std::vector<int64_t>{99, n / 2}));
  std::vector<int> counts(4, 0);
  for (int64_t k : r[1].toInts()) {
    ASSERT_GE(k, 0);
    ASSERT_LT(k, 4);
    ++counts[k];
  }
  double z = 1 + std::exp(1.0) + std::exp(2.0) + std::exp(-1.0);
  double expected[4] = {1 / z, std::exp(1.0) / z, std::exp(2.0) / z, std::exp(-1.0) / z};
  for (int k = 0; k < 4; ++k)
    EXPECT_NEAR(double(counts[k]) / n, expected[k], 0.012) << k;
}

TEST(InterpreterRandom, CategoricalDominantLogitAlwaysWins) {
  std::vector<double> logits;
  for (int i = 0; i < 500; ++i)
    logits.insert(logits.end(), {0.0, 60.0, -3.0});
  auto r = runOk(categoricalIR("tensor<500x3xf64>", "tensor<500xi64>"),
                 {state(7, 123), T("tensor<500x3xf64>", logits)});
  ASSERT_EQ(r.size(), 2u);
  for (int64_t k : r[1].toInts())
    EXPECT_EQ(k, 1);
}

TEST(InterpreterRandom, CategoricalNeverPicksMinusInf) {
  std::vector<double> logits;
  double ninf = -std::numeric_limits<double>::infinity();
  for (int i = 0; i < 300; ++i)
    logits.insert(logits.end(), {ninf, 0.0, ninf, 0.0});
  auto r = runOk(categoricalIR("tensor<300x4xf32>", "tensor<300xi32>"),
                 {state(1, 1), T("tensor<300x4xf32>", logits)});
  ASSERT_EQ(r.size(), 2u);
  int ones = 0;
  for (int64_t k : r[1].toInts()) {
    EXPECT_TRUE(k == 1 || k == 3) << k;
    ones += k == 1;
  }
  EXPECT_GT(ones, 100);
  EXPECT_LT(ones, 200);
}

TEST(InterpreterRandom, CategoricalIsDeterministicAndScalarRow) {
  auto ir = categoricalIR("tensor<3xf32>", "tensor<i32>");
  Tensor l = T("tensor<3xf32>", {0.1, 0.2, 0.3});
  auto a = runOk(ir, {state(11, 4), l});
  auto b = runOk(ir, {state(11, 4), l});
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(a[1], b[1]);
  EXPECT_EQ(a[1].type().toString(), "tensor<i32>");
  EXPECT_EQ(a[0].toInts(), (std::vector<int64_t>{11, 5}));
}

TEST(InterpreterRandom, CategoricalAllMinusInfIsAnError) {
  double ninf = -std::numeric_limits<double>::infinity();
  std::string msg = runError(categoricalIR("tensor<2x2xf32>", "tensor<2xi32>"),
                             {state(1, 1), T("tensor<2x2xf32>", {0, 0, ninf, ninf})});
  EXPECT_TRUE(contains(msg, "'rng_categorical' op logits row 1 is all -inf"));
}

} // namespace
} // namespace cairn::testing
