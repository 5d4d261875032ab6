// The CPU backend op by op: every elementwise op on every dtype it supports,
// compiled through the JIT and compared with the reference interpreter on
// inputs that pair every special value (signed zeros, denormals, infinities,
// NaN, integer extremes, cast range boundaries) with every other. Exact ops
// must match bit for bit (NaN matching any NaN); exp, log, tanh, sigmoid and
// pow within their documented bound plus the reference's own rounding.
#include "CodegenTestUtil.h"

namespace cairn {
namespace {

using codegentest::expectMatchesReference;
using codegentest::fusionFunction;
using codegentest::specialTensor;

constexpr int64_t kN = 1031; // > 32^2 pairs; odd, so the vector loop has a remainder

std::string tensorType(DType d, const std::string& shape = std::to_string(kN)) {
  return fmt::format("tensor<{}{}{}>", shape, shape.empty() ? "" : "x", dtypeName(d));
}

struct OpCase {
  std::string op;
  DType dtype;
  int arity;
};

void PrintTo(const OpCase& c, std::ostream* os) { *os << c.op << " " << dtypeName(c.dtype); }

std::string caseName(const ::testing::TestParamInfo<OpCase>& info) {
  return fmt::format("{}_{}", info.param.op, dtypeName(info.param.dtype));
}

/// Runs `op` on special-value inputs of its dtype; compares are i1-valued.
void checkOp(const OpCase& c, double maxUlp) {
  CAIRN_SKIP_WITHOUT_JIT();
  std::string t = tensorType(c.dtype);
  bool compare =
      c.op == "eq" || c.op == "ne" || c.op == "lt" || c.op == "le" || c.op == "gt" || c.op == "ge";
  std::string rt = compare ? tensorType(DType::I1) : t;
  std::vector<std::string> args(c.arity, t);
  std::vector<std::string> operands;
  for (int k = 0; k < c.arity; ++k)
    operands.push_back(fmt::format("%a{}", k));
  std::string body =
      fmt::format("    %y = {} {} : {}\n    yield %y\n", c.op, fmt::join(operands, ", "), rt);
  std::vector<Tensor> inputs;
  for (int k = 0; k < c.arity; ++k)
    inputs.push_back(specialTensor(TensorType(c.dtype, {kN}), k));
  expectMatchesReference(fusionFunction(args, {rt}, body), inputs, maxUlp);
}

class CodegenCpuExactOpTest : public ::testing::TestWithParam<OpCase> {};

TEST_P(CodegenCpuExactOpTest, BitIdenticalToInterpreter) {
  checkOp(GetParam(), 0);
}

std::vector<OpCase> exactCases() {
  std::vector<OpCase> cases;
  for (DType d : {DType::F32, DType::F64}) {
    for (const char* op : {"neg", "abs", "relu", "sqrt", "rsqrt"})
      cases.push_back({op, d, 1});
    for (const char* op : {"add", "sub", "mul", "div", "max", "min"})
      cases.push_back({op, d, 2});
  }
  for (DType d : {DType::I32, DType::I64}) {
    for (const char* op : {"neg", "abs", "relu", "not"})
      cases.push_back({op, d, 1});
    for (const char* op : {"add", "sub", "mul", "max", "min", "and", "or"})
      cases.push_back({op, d, 2});
  }
  cases.push_back({"not", DType::I1, 1});
  for (const char* op : {"and", "or"})
    cases.push_back({op, DType::I1, 2});
  for (DType d : {DType::F32, DType::F64, DType::I32, DType::I64, DType::I1})
    for (const char* op : {"eq", "ne", "lt", "le", "gt", "ge"})
      cases.push_back({op, d, 2});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Ops, CodegenCpuExactOpTest, ::testing::ValuesIn(exactCases()), caseName);

class CodegenCpuApproxOpTest : public ::testing::TestWithParam<OpCase> {};

TEST_P(CodegenCpuApproxOpTest, WithinBoundOfInterpreter) {
  // The reference (libm in the same precision) is itself up to ~1 ulp off,
  // and sigmoid's reference adds its own division's rounding.
  const OpCase& c = GetParam();
  double bound = codegen::cpu::approximationMaxUlp(lookupOp(c.op).value(), c.dtype);
  ASSERT_GT(bound, 0);
  checkOp(c, std::ceil(bound) + 2);
}

INSTANTIATE_TEST_SUITE_P(
    Ops, CodegenCpuApproxOpTest,
    ::testing::Values(OpCase{"exp", DType::F32, 1}, OpCase{"exp", DType::F64, 1},
                      OpCase{"log", DType::F32, 1}, OpCase{"log", DType::F64, 1},
                      OpCase{"tanh", DType::F32, 1}, OpCase{"tanh", DType::F64, 1},
                      OpCase{"sigmoid", DType::F32, 1}, OpCase{"sigmoid", DType::F64, 1},
                      OpCase{"pow", DType::F32, 2}, OpCase{"erf", DType::F32, 1}),
    caseName);

class CodegenCpuCastTest : public ::testing::TestWithParam<std::pair<DType, DType>> {};

TEST_P(CodegenCpuCastTest, BitIdenticalToInterpreter) {
  CAIRN_SKIP_WITHOUT_JIT();
  auto [from, to] = GetParam();
  std::string body = fmt::format("    %y = cast %a0 : {}\n    yield %y\n", tensorType(to));
  expectMatchesReference(fusionFunction({tensorType(from)}, {tensorType(to)}, body),
                         {specialTensor(TensorType(from, {kN}), 0)});
}

std::vector<std::pair<DType, DType>> castCases() {
  std::vector<std::pair<DType, DType>> cases;
  const DType all[] = {DType::F32, DType::F64, DType::I32, DType::I64, DType::I1};
  for (DType a : all)
    for (DType b : all)
      if (a != b) cases.push_back({a, b});
  return cases;
}

}  // namespace

// Found by argument-dependent lookup (so not in the anonymous namespace):
// gtest prints a DType parameter, alone or in a pair, by its name.
inline void PrintTo(DType d, std::ostream* os) { *os << dtypeName(d); }

namespace {

INSTANTIATE_TEST_SUITE_P(Casts, CodegenCpuCastTest, ::testing::ValuesIn(castCases()),
                         [](const auto& info) {
                           return fmt::format("{}_to_{}", dtypeName(info.param.first),
                                              dtypeName(info.param.second));
                         });

class CodegenCpuSelectTest : public ::testing::TestWithParam<DType> {};

TEST_P(CodegenCpuSelectTest, ElementwiseAndScalarPredicate) {
  CAIRN_SKIP_WITHOUT_JIT();
  DType d = GetParam();
  std::string t = tensorType(d), p = tensorType(DType::I1), s = tensorType(DType::I1, "");
  std::string body = fmt::format("    %y = select %a0, %a1, %a2 : {}\n"
                                 "    %z = select %a3, %a1, %a2 : {}\n    yield %y, %z\n",
                                 t, t);
  for (int scalar = 0; scalar < 2; ++scalar)
    expectMatchesReference(fusionFunction({p, t, t, s}, {t, t}, body),
                           {specialTensor(TensorType(DType::I1, {kN}), 1),
                            specialTensor(TensorType(d, {kN}), 0),
                            specialTensor(TensorType(d, {kN}), 1),
                            Tensor::fromInts(TensorType(DType::I1, {}), {scalar})});
}

INSTANTIATE_TEST_SUITE_P(DTypes, CodegenCpuSelectTest,
                         ::testing::Values(DType::F32, DType::F64, DType::I32, DType::I64,
                                           DType::I1),
                         [](const auto& info) { return std::string(dtypeName(info.param)); });

TEST(CodegenCpuOpsTest, MaxMinOrderSignedZerosAndReturnCanonicalNaN) {
  CAIRN_SKIP_WITHOUT_JIT();
  std::string t = "tensor<6xf32>";
  std::string body = "    %y = max %a0, %a1 : tensor<6xf32>\n"
                     "    %z = min %a0, %a1 : tensor<6xf32>\n    yield %y, %z\n";
  auto m = passtest::parseOk(fusionFunction({t, t}, {t, t}, body));
  ASSERT_TRUE(m);
  Tensor a = Tensor::fromDoubles(TensorType(DType::F32, {6}), {-0.0, 0.0, NAN, 1.0, -0.0, 2.0});
  Tensor b = Tensor::fromDoubles(TensorType(DType::F32, {6}), {0.0, -0.0, 1.0, NAN, -0.0, -3.0});
  auto r = codegen::cpu::runFusionCompiled(*codegentest::firstFusion(*m), {a, b});
  ASSERT_TRUE(r.isOk()) << r.status().message();
  const float* mx = (*r)[0].data<float>();
  const float* mn = (*r)[1].data<float>();
  EXPECT_FALSE(std::signbit(mx[0]));
  EXPECT_FALSE(std::signbit(mx[1]));
  EXPECT_TRUE(std::signbit(mn[0]));
  EXPECT_TRUE(std::signbit(mn[1]));
  EXPECT_TRUE(std::signbit(mx[4]) && std::signbit(mn[4]));
  uint32_t canonical = floatBits(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(floatBits(mx[2]), canonical);
  EXPECT_EQ(floatBits(mn[3]), canonical);
  EXPECT_EQ(mx[5], 2.0f);
  EXPECT_EQ(mn[5], -3.0f);
}

TEST(CodegenCpuOpsTest, ChainOfMixedDTypes) {
  CAIRN_SKIP_WITHOUT_JIT();
  // f64 math, a compare, a select, casts both ways and integer wrap-around.
  std::string f = tensorType(DType::F64), i = tensorType(DType::I32), b = tensorType(DType::I1);
  std::string body = fmt::format("    %s = mul %a0, %a0 : {f}\n"
                                 "    %c = cast %s : {i}\n"
                                 "    %w = add %c, %a1 : {i}\n"
                                 "    %p = lt %w, %a1 : {b}\n"
                                 "    %back = cast %w : {f}\n"
                                 "    %y = select %p, %back, %a0 : {f}\n"
                                 "    yield %y, %p, %w\n",
                                 fmt::arg("f", f), fmt::arg("i", i), fmt::arg("b", b));
  expectMatchesReference(fusionFunction({f, i}, {f, b, i}, body),
                         {specialTensor(TensorType(DType::F64, {kN}), 0),
                          specialTensor(TensorType(DType::I32, {kN}), 1)});
}

} // namespace
} // namespace cairn
