// The approximations of MathApprox.h against libm in higher precision
// (double for f32, long double for f64): dense sweeps over every binade
// (denormals, huge magnitudes, both signs, inf and NaN bit patterns
// included) plus fine linear sweeps where each function does its work, the
// worst error in ulps of the exact result checked against the documented
// bound and printed; and the IEEE special values checked exactly.
#include <cfloat>

#include "CodegenTestUtil.h"

namespace cairn {
namespace {

using codegentest::fusionFunction;

/// Runs `op` (unary, or binary when `y` is given) compiled on `x`, by `jit`
/// or the shared JIT.
Tensor runCompiled(const std::string& op, const Tensor& x, const Tensor* y = nullptr,
                   codegen::cpu::CpuJit* jit = nullptr) {
  std::string t = x.type().toString();
  std::string body = y ? fmt::format("    %r = {} %a0, %a1 : {}\n    yield %r\n", op, t)
                       : fmt::format("    %r = {} %a0 : {}\n    yield %r\n", op, t);
  auto m =
      passtest::parseOk(y ? fusionFunction({t, t}, {t}, body) : fusionFunction({t}, {t}, body));
  EXPECT_TRUE(m);
  if (!m) return Tensor();
  std::vector<Tensor> in{x};
  if (y) in.push_back(*y);
  StatusOr<std::vector<Tensor>> r = Status::error("not run");
  if (jit) {
    auto k = codegen::describeKernel(*codegentest::firstFusion(*m));
    EXPECT_TRUE(k.isOk()) << k.status().message();
    auto fn = jit->compile(*k);
    EXPECT_TRUE(fn.isOk()) << fn.status().message();
    if (fn.isOk()) r = codegen::cpu::runKernel(*k, *fn, in);
  } else {
    r = codegen::cpu::runFusionCompiled(*codegentest::firstFusion(*m), in);
  }
  EXPECT_TRUE(r.isOk()) << r.status().message();
  return r.isOk() ? (*r)[0] : Tensor();
}

/// The exact value (to far below the format's ulp): libm in double for f32
/// inputs, in long double for f64 inputs; sigmoid arranged as the reference.
template <typename T> T exactIn(const std::string& op, T x) {
  using std::exp, std::log, std::tanh, std::erf;
  if (op == "exp") return exp(x);
  if (op == "erf") return erf(x);
  if (op == "log") return log(x);
  if (op == "tanh") return tanh(x);
  if (x >= 0) return T(1) / (T(1) + exp(-x));
  T e = exp(x);
  return e / (T(1) + e);
}

long double exactOf(const std::string& op, double x, DType d) {
  return d == DType::F32 ? exactIn<double>(op, x) : exactIn<long double>(op, x);
}

/// |approx - exact| in ulps of `exact` in the format of `dtype`. An exact
/// value that rounds to infinity must give infinity (error 0); otherwise an
/// infinite approximation counts as the first power of two past the largest
/// finite value.
double ulpError(double approx, long double exact, DType dtype) {
  bool f32 = dtype == DType::F32;
  if (std::isnan(exact)) return std::isnan(approx) ? 0 : INFINITY;
  if (std::isnan(approx)) return INFINITY;
  int maxExp = f32 ? 128 : 1024, minExp = f32 ? -126 : -1022, digits = f32 ? 24 : 53;
  long double overflow = std::ldexp(1.0L, maxExp) - std::ldexp(1.0L, maxExp - digits - 1);
  if (std::fabs(exact) >= overflow) {
    bool inf = std::isinf(approx) && std::signbit(approx) == std::signbit(exact);
    if (inf) return 0;
    exact = std::copysign(overflow, exact); // measure from the rounding boundary
  }
  long double a = approx;
  if (std::isinf(approx)) a = std::copysign(std::ldexp(1.0L, maxExp), approx);
  long double mag = std::fabs(exact);
  int e = mag == 0 ? minExp : std::max(std::ilogb(mag), minExp);
  long double ulp = std::ldexp(1.0L, e - digits + 1);
  return static_cast<double>(std::fabs(a - exact) / ulp);
}

struct Measured {
  double maxUlp = 0;
  double worstX = 0;
};

Measured measure(const std::string& op, const Tensor& x, const Tensor& r) {
  Measured m;
  for (int64_t i = 0; i < x.numElements(); ++i) {
    double xi = x.getDouble(i);
    long double exact = exactOf(op, xi, x.dtype());
    double err = ulpError(r.getDouble(i), exact, x.dtype());
    if (err > m.maxUlp || std::isnan(err)) m = {err, xi};
  }
  return m;
}

/// Every binade: f32 bit patterns at a stride of 2^shift (2^(32-shift)
/// patterns: every sign and exponent, mantissas spread), f64 2^(30-shift)
/// random patterns and 4095 denormals; then a linear sweep of [lo, hi] in
/// 2^20 steps.
Tensor sweep(DType d, double lo, double hi, int shift = 9) {
  std::vector<double> xs;
  if (d == DType::F32) {
    for (uint64_t k = 0; k < (uint64_t(1) << (32 - shift)); ++k)
      xs.push_back(bitsFloat(static_cast<uint32_t>((k << shift) | (k & ((1u << shift) - 1)))));
  } else {
    std::mt19937_64 rng(42);
    for (int k = 0; k < (1 << (30 - shift)); ++k) {
      uint64_t b = rng();
      double v;
      std::memcpy(&v, &b, 8);
      xs.push_back(v);
    }
    for (int k = 1; k < (1 << 12); ++k) // denormals
      xs.push_back(std::ldexp(static_cast<double>(k * 977), -1074));
  }
  const int linear = 1 << 20;
  for (int k = 0; k <= linear; ++k)
    xs.push_back(lo + (hi - lo) * k / linear);
  Tensor t(TensorType(d, {static_cast<int64_t>(xs.size())}));
  for (size_t k = 0; k < xs.size(); ++k)
    t.setDouble(static_cast<int64_t>(k), xs[k]); // f32: the f32 values themselves
  return t;
}

struct SweepCase {
  std::string op;
  DType dtype;
  double lo, hi;
};

void PrintTo(const SweepCase& c, std::ostream* os) {
  *os << c.op << " " << dtypeName(c.dtype) << " on [" << c.lo << ", " << c.hi << "]";
}

class CodegenCpuMathSweepTest : public ::testing::TestWithParam<SweepCase> {};

TEST_P(CodegenCpuMathSweepTest, WithinDocumentedUlpBound) {
  CAIRN_SKIP_WITHOUT_JIT();
  const SweepCase& c = GetParam();
  double bound = codegen::cpu::approximationMaxUlp(lookupOp(c.op).value(), c.dtype);
  Tensor x = sweep(c.dtype, c.lo, c.hi);
  Tensor r = runCompiled(c.op, x);
  ASSERT_EQ(r.numElements(), x.numElements());
  Measured m = measure(c.op, x, r);
  std::printf(
      "[ codegen  ] %s %s: max error %.3f ulp (at x = %.17g) over %lld inputs; bound %.1f\n",
      c.op.c_str(), std::string(dtypeName(c.dtype)).c_str(), m.maxUlp, m.worstX,
      static_cast<long long>(x.numElements()), bound);
  ::testing::Test::RecordProperty("max_ulp", std::to_string(m.maxUlp));
  EXPECT_LE(m.maxUlp, bound) << "worst at x = " << m.worstX;
}

INSTANTIATE_TEST_SUITE_P(Approximations, CodegenCpuMathSweepTest,
                         ::testing::Values(SweepCase{"exp", DType::F32, -110, 90},
                                           SweepCase{"exp", DType::F64, -750, 712},
                                           SweepCase{"log", DType::F32, 0, 4},
                                           SweepCase{"log", DType::F64, 0, 4},
                                           SweepCase{"tanh", DType::F32, -12, 12},
                                           SweepCase{"tanh", DType::F64, -22, 22},
                                           SweepCase{"sigmoid", DType::F32, -110, 110},
                                           SweepCase{"sigmoid", DType::F64, -750, 750},
                                           SweepCase{"erf", DType::F32, -5, 5}),
                         [](const auto& info) {
                           return fmt::format("{}_{}", info.param.op, dtypeName(info.param.dtype));
                         });

#if defined(__x86_64__)
TEST(CodegenCpuMathTest, BaselineX86WithoutFmaStaysWithinBounds) {
  // The bounds must not depend on the host: generate code for plain x86-64
  // (SSE2: no FMA, so fmuladd rounds twice; no SSE4.1 round instructions).
  CAIRN_SKIP_WITHOUT_JIT();
  codegen::cpu::JitOptions options;
  options.cpu = "x86-64";
  auto jit = codegen::cpu::CpuJit::create(options);
  ASSERT_TRUE(jit.isOk()) << jit.status().message();
  const SweepCase cases[] = {
      {"exp", DType::F32, -110, 90},      {"exp", DType::F64, -750, 712},
      {"log", DType::F32, 0, 4},          {"log", DType::F64, 0, 4},
      {"tanh", DType::F32, -12, 12},      {"tanh", DType::F64, -22, 22},
      {"sigmoid", DType::F32, -110, 110}, {"sigmoid", DType::F64, -750, 750},
      {"erf", DType::F32, -5, 5}};
  for (const SweepCase& c : cases) {
    Tensor x = sweep(c.dtype, c.lo, c.hi, 12);
    Measured m = measure(c.op, x, runCompiled(c.op, x, nullptr, jit->get()));
    double bound = codegen::cpu::approximationMaxUlp(lookupOp(c.op).value(), c.dtype);
    std::printf("[ codegen  ] x86-64 baseline %s %s: max error %.3f ulp (at x = %.17g)\n",
                c.op.c_str(), std::string(dtypeName(c.dtype)).c_str(), m.maxUlp, m.worstX);
    EXPECT_LE(m.maxUlp, bound) << c.op << " " << dtypeName(c.dtype) << " at x = " << m.worstX;
  }
}
#endif

/// (input, expected) pairs checked bit for bit (NaN matching any NaN).
void expectExact(const std::string& op, DType d,
                 const std::vector<std::pair<double, double>>& cases) {
  Tensor x(TensorType(d, {static_cast<int64_t>(cases.size())}));
  for (size_t k = 0; k < cases.size(); ++k)
    x.setDouble(static_cast<int64_t>(k), cases[k].first);
  Tensor r = runCompiled(op, x);
  for (size_t k = 0; k < cases.size(); ++k) {
    double got = r.getDouble(static_cast<int64_t>(k)), want = cases[k].second;
    if (d == DType::F32) want = static_cast<float>(want);
    bool ok = (std::isnan(got) && std::isnan(want)) ||
              (got == want && std::signbit(got) == std::signbit(want));
    EXPECT_TRUE(ok) << op << " " << dtypeName(d) << "(" << cases[k].first << ") = " << got
                    << ", expected " << want;
  }
}

TEST(CodegenCpuMathTest, SpecialValuesAreExact) {
  CAIRN_SKIP_WITHOUT_JIT();
  const double inf = HUGE_VAL;
  for (DType d : {DType::F32, DType::F64}) {
    bool f32 = d == DType::F32;
    double overflow = f32 ? 89.0 : 710.0, underflow = f32 ? -104.0 : -746.0;
    double minDenormal = f32 ? 0x1p-149 : 0x1p-1074;
    expectExact("exp", d,
                {{0.0, 1.0},
                 {-0.0, 1.0},
                 {inf, inf},
                 {-inf, 0.0},
                 {NAN, NAN},
                 {overflow, inf},
                 {underflow, 0.0},
                 {1e-30, 1.0}});
    expectExact("log", d,
                {{0.0, -inf},
                 {-0.0, -inf},
                 {1.0, 0.0},
                 {-1.0, NAN},
                 {inf, inf},
                 {-inf, NAN},
                 {NAN, NAN},
                 {-minDenormal, NAN}});
    expectExact("tanh", d,
                {{0.0, 0.0},
                 {-0.0, -0.0},
                 {inf, 1.0},
                 {-inf, -1.0},
                 {NAN, NAN},
                 {minDenormal, minDenormal},
                 {-minDenormal, -minDenormal},
                 {25.0, 1.0},
                 {-25.0, -1.0},
                 {1e300, 1.0}});
    expectExact("sigmoid", d,
                {{0.0, 0.5},
                 {-0.0, 0.5},
                 {inf, 1.0},
                 {-inf, 0.0},
                 {NAN, NAN},
                 {800.0, 1.0},
                 {-800.0, 0.0}});
  }
  // erf, f32 only (f64 erf is not compiled): odd, +-1 from |x| = 4 on
  // (where erf rounds to 1), the smallest denormal to itself (2/sqrt(pi)
  // times it rounds back down).
  expectExact("erf", DType::F32,
              {{0.0, 0.0},
               {-0.0, -0.0},
               {HUGE_VAL, 1.0},
               {-HUGE_VAL, -1.0},
               {NAN, NAN},
               {4.0, 1.0},
               {-10.0, -1.0},
               {1e30, 1.0},
               {0x1p-149, 0x1p-149},
               {-0x1p-149, -0x1p-149}});
  // Denormal results of exp and log of denormals land within the bound.
  Tensor x = Tensor::fromDoubles(TensorType(DType::F32, {3}), {-100.0, -103.5, 0x1p-149});
  Tensor e = runCompiled("exp", x);
  EXPECT_LE(ulpError(e.getDouble(0), std::exp(-100.0), DType::F32), 1.0);
  EXPECT_LE(ulpError(e.getDouble(1), std::exp(-103.5), DType::F32), 1.0);
  Tensor l = runCompiled("log", x);
  EXPECT_LE(ulpError(l.getDouble(2), std::log(0x1p-149), DType::F32), 1.0);
}

TEST(CodegenCpuMathTest, PowFollowsCRulesForSpecialOperands) {
  CAIRN_SKIP_WITHOUT_JIT();
  const std::vector<float> xs = {0.0f,     -0.0f,     1.0f, -1.0f, 0.5f,  -0.5f,  2.0f,    -2.0f,
                                 INFINITY, -INFINITY, NAN,  3.0f,  -3.0f, 1e-40f, -1e-40f, 1e30f};
  const std::vector<float> ys = {0.0f,  -0.0f,  1.0f,  -1.0f,    2.0f,      -2.0f, 3.0f,
                                 -3.0f, 0.5f,   -0.5f, INFINITY, -INFINITY, NAN,   16777218.0f,
                                 1e10f, -1e10f, 0.3f,  7.0f,     -7.0f};
  int64_t n = static_cast<int64_t>(xs.size() * ys.size());
  Tensor x(TensorType(DType::F32, {n})), y(TensorType(DType::F32, {n}));
  for (size_t a = 0; a < xs.size(); ++a)
    for (size_t b = 0; b < ys.size(); ++b) {
      x.data<float>()[a * ys.size() + b] = xs[a];
      y.data<float>()[a * ys.size() + b] = ys[b];
    }
  Tensor r = runCompiled("pow", x, &y);
  for (int64_t i = 0; i < n; ++i) {
    float xi = x.data<float>()[i], yi = y.data<float>()[i], got = r.data<float>()[i];
    float want = std::pow(xi, yi);
    bool ok;
    if (std::isnan(want) || std::isnan(got))
      ok = std::isnan(want) && std::isnan(got);
    else if (want == 0 || std::isinf(want) || std::fabs(want) == 1)
      ok = floatBits(got) == floatBits(want); // signs of zeros and infinities too
    else
      ok = ulpError(got, std::pow(static_cast<double>(xi), static_cast<double>(yi)), DType::F32) <=
           codegen::cpu::approximationMaxUlp(OpKind::Pow, DType::F32);
    EXPECT_TRUE(ok) << "pow(" << xi << ", " << yi << ") = " << got << ", C gives " << want;
  }
}

TEST(CodegenCpuMathTest, PowSweepWithinDocumentedUlpBound) {
  CAIRN_SKIP_WITHOUT_JIT();
  // Positive x over every binade, y in [-40, 40] (fractions and integers),
  // and negative x with integer y.
  std::vector<float> xs, ys;
  for (uint32_t k = 0; k < 4096; ++k)
    xs.push_back(bitsFloat((k << 19) | (k * 2654435761u >> 13))); // every exponent
  for (int k = 0; k < 512; ++k)
    ys.push_back(-40.0f + 80.0f * k / 511);
  int64_t n = static_cast<int64_t>(xs.size() * ys.size()) + 2 * 4096;
  Tensor x(TensorType(DType::F32, {n})), y(TensorType(DType::F32, {n}));
  int64_t i = 0;
  for (float a : xs)
    for (float b : ys) {
      x.data<float>()[i] = std::fabs(a);
      y.data<float>()[i++] = b;
    }
  for (int k = 0; k < 2 * 4096; ++k) {
    x.data<float>()[i] = -(0.5f + k * 0.001f);
    y.data<float>()[i++] = static_cast<float>(k % 61 - 30);
  }
  Tensor r = runCompiled("pow", x, &y);
  double worst = 0, wx = 0, wy = 0;
  for (int64_t k = 0; k < n; ++k) {
    double xd = x.data<float>()[k], yd = y.data<float>()[k];
    double err = ulpError(r.data<float>()[k], std::pow(xd, yd), DType::F32);
    if (err > worst || std::isnan(err)) worst = err, wx = xd, wy = yd;
  }
  double bound = codegen::cpu::approximationMaxUlp(OpKind::Pow, DType::F32);
  std::printf(
      "[ codegen  ] pow f32: max error %.3f ulp (at %.9g^%.9g) over %lld pairs; bound %.1f\n",
      worst, wx, wy, static_cast<long long>(n), bound);
  EXPECT_LE(worst, bound) << "worst at pow(" << wx << ", " << wy << ")";
}

} // namespace
} // namespace cairn
