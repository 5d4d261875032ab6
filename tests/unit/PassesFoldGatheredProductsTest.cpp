// Unit tests of fold-gathered-products: in the interpreter the table's rows
// are the very sums the products computed (f64, same order, rounded once),
// so every result stays bit for bit; the forms it must leave alone are
// left; the table's size limit holds; a bad index is still an error.
#include <random>

#include <fmt/format.h>

#include "PassesTestUtil.h"
#include "compiler/passes/FoldGatheredProducts.h"

namespace cairn {
namespace {

using passtest::countOps;
using passtest::expectPreservesResults;
using passtest::parseOk;

/// A constant literal [rows x cols] of normal floats, printed exactly.
std::string literal(int64_t rows, int64_t cols, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::string s = "[";
  for (int64_t r = 0; r < rows; ++r) {
    s += r ? ", [" : "[";
    for (int64_t c = 0; c < cols; ++c)
      s += fmt::format("{}{:.9g}", c ? ", " : "", normal(rng));
    s += "]";
  }
  return s + "]";
}

struct Form {
  const char* name;
  bool transposedWeight; // W stored [N, K], rhs_contract = [1]
  bool sequence;         // tokens [B, T] gathered then transposed to [T, B, K]
  bool inLoop;           // the product inside a while, on a carried token
};

void PrintTo(const Form& f, std::ostream* os) { *os << f.name; }

/// The module for `form`: V = 4 rows (the test inputs' indices are 0-3),
/// K = 5, N = 6.
std::string moduleFor(const Form& form, unsigned seed) {
  std::mt19937 rng(seed);
  std::string e = literal(4, 5, rng);
  std::string w = form.transposedWeight ? literal(6, 5, rng) : literal(5, 6, rng);
  std::string wType = form.transposedWeight ? "6x5" : "5x6";
  std::string attrs = form.transposedWeight ? " {rhs_contract = [1]}" : "";
  if (form.sequence)
    return fmt::format(R"(func @f(%tok: tensor<?x?xi64>) -> tensor<?x?x6xf32> {{
  %e = constant {} : tensor<4x5xf32>
  %w = constant {} : tensor<{}xf32>
  %x = gather %e, %tok {{axis = 0, batch_dims = 0}} : tensor<?x?x5xf32>
  %xt = transpose %x {{perm = [1, 0, 2]}} : tensor<?x?x5xf32>
  %y = dot %xt, %w{} : tensor<?x?x6xf32>
  return %y
}})",
                       e, w, wType, attrs);
  if (form.inLoop)
    return fmt::format(R"(func @f(%tok: tensor<?xi64>, %n: tensor<i64>) -> tensor<?x6xf32> {{
  %e = constant {} : tensor<4x5xf32>
  %w = constant {} : tensor<{}xf32>
  %c0 = constant 0 : tensor<i64>
  %d = dim %tok {{axis = 0}} : tensor<i64>
  %z = constant 0.0 : tensor<f32>
  %acc = broadcast %z, %d {{dims = []}} : tensor<?x6xf32>
  %r:3 = while (%i = %c0, %t = %tok, %a = %acc) : (tensor<i64>, tensor<?xi64>, tensor<?x6xf32>) cond {{
    %p = lt %i, %n : tensor<i1>
    yield %p
  }} body {{
    %x = gather %e, %t {{axis = 0, batch_dims = 0}} : tensor<?x5xf32>
    %y = dot %x, %w{} : tensor<?x6xf32>
    %a2 = add %a, %y : tensor<?x6xf32>
    %one = constant 1 : tensor<i64>
    %i2 = add %i, %one : tensor<i64>
    %three = constant 3 : tensor<i64>
    %t1 = broadcast %one, %d {{dims = []}} : tensor<?xi64>
    %t2 = add %t, %t1 : tensor<?xi64>
    %t3 = broadcast %three, %d {{dims = []}} : tensor<?xi64>
    %wrap = gt %t2, %t3 : tensor<?xi1>
    %t4 = broadcast %c0, %d {{dims = []}} : tensor<?xi64>
    %t5 = select %wrap, %t4, %t2 : tensor<?xi64>
    yield %i2, %t5, %a2
  }}
  return %r#2
}})",
                       e, w, wType, attrs);
  return fmt::format(R"(func @f(%tok: tensor<?xi64>) -> tensor<?x6xf32> {{
  %e = constant {} : tensor<4x5xf32>
  %w = constant {} : tensor<{}xf32>
  %x = gather %e, %tok {{axis = 0, batch_dims = 0}} : tensor<?x5xf32>
  %y = dot %x, %w{} : tensor<?x6xf32>
  return %y
}})",
                     e, w, wType, attrs);
}

class FoldGatheredProductsTest : public ::testing::TestWithParam<Form> {};

TEST_P(FoldGatheredProductsTest, ResultsBitForBitAndNoProductLeft) {
  for (unsigned seed : {1u, 2u, 3u}) {
    std::string text = moduleFor(GetParam(), seed);
    expectPreservesResults(text, {"fold-gathered-products", "canonicalize", "dce"});
    auto m = parseOk(text);
    ASSERT_TRUE(m);
    int64_t folded = 0;
    ASSERT_TRUE(foldGatheredProducts(*m, {}, &folded).isOk());
    EXPECT_EQ(folded, 1);
    EXPECT_EQ(countOps(*m, OpKind::Dot), 0) << printModule(*m);
  }
}

INSTANTIATE_TEST_SUITE_P(Forms, FoldGatheredProductsTest,
                         ::testing::Values(Form{"Rows", false, false, false},
                                           Form{"RowsTransposedWeight", true, false, false},
                                           Form{"Sequence", false, true, false},
                                           Form{"SequenceTransposedWeight", true, true, false},
                                           Form{"InLoop", false, false, true},
                                           Form{"InLoopTransposedWeight", true, false, true}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(FoldGatheredProductsLimitTest, TablesOverTheLimitAreNotMade) {
  auto m = parseOk(moduleFor(Form{"Rows", false, false, false}, 1)); // table 4 x 6
  ASSERT_TRUE(m);
  FoldGatheredProductsOptions small;
  small.maxTableElements = 23;
  StatusOr<bool> changed = foldGatheredProducts(*m, small);
  ASSERT_TRUE(changed.isOk());
  EXPECT_FALSE(*changed);
  EXPECT_EQ(countOps(*m, OpKind::Dot), 1);
  small.maxTableElements = 24;
  changed = foldGatheredProducts(*m, small);
  ASSERT_TRUE(changed.isOk());
  EXPECT_TRUE(*changed);
  EXPECT_EQ(countOps(*m, OpKind::Dot), 0);
}

TEST(FoldGatheredProductsLimitTest, AnIndexOutOfRangeIsStillAnError) {
  auto m = parseOk(moduleFor(Form{"Rows", false, false, false}, 1));
  ASSERT_TRUE(m);
  ASSERT_TRUE(runPipeline(*m, optimizePipeline()).isOk());
  EXPECT_EQ(countOps(*m, OpKind::Dot), 0) << printModule(*m);
  Tensor tok(TensorType(DType::I64, Shape{2}));
  tok.setInt(0, 1);
  tok.setInt(1, 4); // the table has rows 0-3, as the embedding had
  auto r = interpret(*m->functions()[0], {tok});
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("gather"), std::string::npos) << r.status().message();
}

} // namespace
} // namespace cairn
