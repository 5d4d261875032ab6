// The approximations behind MathApprox.h. Coefficients are not fitted: they
// are Taylor coefficients (1/k! for expm1, 2/(2k+1) for the atanh series of
// log) evaluated on ranges small enough that truncation costs well under a
// tenth of an ulp; the error budget goes to rounding. Every special case is
// a select on the input, taken after the arithmetic, with NaNs replaced by 0
// before any float-to-int conversion (which is poison on NaN in LLVM).
//
// exp(x):  k = round(x / ln2), r = x - k*ln2 (Cody-Waite: ln2 split in a
//          hi part exact in k*hi and a lo part), |r| <= ln2/2;
//          e^x = (1 + expm1(r)) * 2^(k/2) * 2^(k - k/2): two scalings so
//          results near overflow and denormal results are rounded once.
// expm1(u) (for tanh): 2^k * expm1(r) + (2^k - 1).
// tanh(x): copysign(em / (em + 2), x) with em = expm1(2|x|), |x| clamped at
//          10 (f32) / 20 (f64) where tanh rounds to 1: no cancellation
//          anywhere, tiny x give x exactly.
// sigmoid(x): e = exp(-|x|); 1/(1+e) for x >= 0, e/(1+e) below (as the
//          reference: nothing overflows).
// log(x):  x = 2^e * m with m in [sqrt(1/2), sqrt(2)) by integer arithmetic
//          on the bits (denormals scaled up first); f = m - 1 (exact),
//          s = f/(2+f), log(1+f) = f - (f^2/2 - s*(f^2/2 + R(s^2))), where
//          R is the tail of 2*atanh(s); plus e*ln2 in hi and lo parts.
// erf(x), f32: in double, x * P(x^2) with P the Taylor series of
//          erf(x)/x, sum of (-1)^n 2/sqrt(pi) x^(2n) / (n! (2n+1)), to n = 63,
//          for |x| <= 4 (x clamped there: erf(4) = 1 - 1.5e-8 already
//          rounds to f32 1, as every larger |x| does). At x^2 = 16 the
//          largest term is ~3e4 and the last ~1e-13, so cancellation and
//          truncation cost ~1e-11 absolute, far below the f32 ulp of any
//          result not tiny; tiny x give 2/sqrt(pi) x with a double's
//          relative error. One rounding to f32 at the end.
// pow(x, y), f32: exp(y * log|x|) in double (its error is far below an f32
//          ulp), then the C rules: pow(x, +-0) = 1, pow(1, y) = 1,
//          pow(-1, +-inf) = 1, a negative base needs an integer y (else
//          NaN) and an odd y makes the result negative.
#include "compiler/codegen/cpu/MathApprox.h"

#include <cmath>
#include <vector>

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>

#include "ir/Status.h"

namespace cairn::codegen::cpu {
namespace {

using llvm::IRBuilderBase;
using llvm::Value;

/// Emits the arithmetic of one float format (f32 or f64) into `b`.
class Emitter {
public:
  Emitter(IRBuilderBase& b, llvm::Type* ft) : b_(b), ft_(ft), f64_(ft->isDoubleTy()) {
    CAIRN_CHECK(ft->isFloatTy() || ft->isDoubleTy(), "approximations are for f32/f64");
    it_ = f64_ ? b.getInt64Ty() : b.getInt32Ty();
    mant_ = f64_ ? 52 : 23;
    bias_ = f64_ ? 1023 : 127;
  }

  Value* exp(Value* x) {
    Value* nan = isNan(x);
    Value* xs = clamp(sel(nan, c(0), x), f64_ ? -746.0 : -104.0, f64_ ? 710.0 : 89.0);
    auto [kf, r] = reduce(xs);
    Value* y = b_.CreateFAdd(c(1), expm1Poly(r));
    Value* k = b_.CreateFPToSI(kf, it_);
    Value* k1 = b_.CreateAShr(k, 1);
    Value* k2 = b_.CreateSub(k, k1);
    y = b_.CreateFMul(b_.CreateFMul(y, pow2(k1)), pow2(k2));
    return sel(nan, x, y);
  }

  /// expm1(u) for u in [0, 40] (not NaN): what tanh needs.
  Value* expm1Positive(Value* u) {
    auto [kf, r] = reduce(u);
    Value* s = pow2(b_.CreateFPToSI(kf, it_));
    return fma(s, expm1Poly(r), b_.CreateFSub(s, c(1)));
  }

  Value* tanh(Value* x) {
    Value* nan = isNan(x);
    Value* a = b_.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x);
    a = clamp(sel(nan, c(0), a), 0.0, f64_ ? 20.0 : 10.0);
    Value* em = expm1Positive(b_.CreateFMul(a, c(2)));
    Value* t = b_.CreateFDiv(em, b_.CreateFAdd(em, c(2)));
    t = b_.CreateBinaryIntrinsic(llvm::Intrinsic::copysign, t, x);
    return sel(nan, x, t);
  }

  Value* sigmoid(Value* x) {
    Value* a = b_.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x);
    Value* e = exp(b_.CreateFNeg(a)); // NaN stays NaN
    Value* d = b_.CreateFAdd(c(1), e);
    Value* nonNegative = b_.CreateFCmpOGE(x, c(0));
    return sel(nonNegative, b_.CreateFDiv(c(1), d), b_.CreateFDiv(e, d));
  }

  Value* log(Value* x) {
    // Denormals: scale into the normal range first.
    double minNormal = f64_ ? 0x1p-1022 : 0x1p-126;
    int up = f64_ ? 54 : 24;
    Value* tiny = b_.CreateFCmpOLT(x, c(minNormal));
    Value* xs = sel(tiny, b_.CreateFMul(x, c(std::ldexp(1.0, up))), x);
    Value* eAdjust = sel(tiny, ci(-up), ci(0));
    // x = 2^e * m, m in [sqrt(1/2), sqrt(2)): subtract sqrt(1/2)'s bits so
    // the exponent field counts from there.
    int64_t sqrtHalf = f64_ ? 0x3fe6a09e667f3bcdll : 0x3f3504f3ll;
    Value* ix = b_.CreateSub(b_.CreateBitCast(xs, it_), ci(sqrtHalf));
    Value* e = b_.CreateAdd(b_.CreateAShr(ix, mant_), eAdjust);
    Value* mBits = b_.CreateAdd(b_.CreateAnd(ix, ci((int64_t(1) << mant_) - 1)), ci(sqrtHalf));
    Value* f = b_.CreateFSub(b_.CreateBitCast(mBits, ft_), c(1));
    Value* s = b_.CreateFDiv(f, b_.CreateFAdd(c(2), f));
    Value* z = b_.CreateFMul(s, s);
    std::vector<double> tail; // 2/(2j+1), highest first
    for (int j = f64_ ? 10 : 4; j >= 1; --j)
      tail.push_back(2.0 / (2 * j + 1));
    Value* R = b_.CreateFMul(z, horner(z, tail));
    Value* hfsq = b_.CreateFMul(c(0.5), b_.CreateFMul(f, f));
    Value* ef = b_.CreateSIToFP(e, ft_);
    auto [ln2Hi, ln2Lo] = ln2Parts();
    Value* corr = fma(s, b_.CreateFAdd(hfsq, R), b_.CreateFMul(ef, c(ln2Lo)));
    Value* lg = b_.CreateFSub(f, b_.CreateFSub(hfsq, corr));
    Value* y = b_.CreateFAdd(b_.CreateFMul(ef, c(ln2Hi)), lg);
    // Special cases, last wins: +inf, 0 (either sign), negative or NaN.
    double inf = HUGE_VAL;
    y = sel(b_.CreateFCmpOEQ(x, c(inf)), c(inf), y);
    y = sel(b_.CreateFCmpOEQ(x, c(0)), c(-inf), y);
    y = sel(b_.CreateFCmpOLT(x, c(0)), c(NAN), y);
    return sel(isNan(x), x, y);
  }

  /// Only called for f64 (pow of f32 operands is evaluated here in double).
  Value* powMagnitudeAndRules(Value* x, Value* y) {
    Value* ax = b_.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x);
    Value* mag = exp(b_.CreateFMul(y, log(ax)));
    // Integer and odd y: f32 values of magnitude >= 2^24 are even integers.
    Value* ay = b_.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, y);
    Value* small = b_.CreateFCmpOLT(ay, c(0x1p24));
    Value* yi = b_.CreateFPToSI(sel(small, y, c(0)), it_);
    Value* isInt = sel(small, b_.CreateFCmpOEQ(b_.CreateSIToFP(yi, ft_), y),
                       b_.CreateFCmpORD(y, y)); // +-inf count as (even) integers
    Value* odd = b_.CreateAnd(small, b_.CreateTrunc(yi, b_.getInt1Ty()));
    odd = b_.CreateAnd(odd, isInt);
    Value* negBase = b_.CreateICmpSLT(b_.CreateBitCast(x, it_), ci(0)); // sign bit, -0 too
    Value* r = sel(b_.CreateAnd(odd, negBase), b_.CreateFNeg(mag), mag);
    Value* finiteNeg = b_.CreateAnd(b_.CreateFCmpOLT(x, c(0)), b_.CreateFCmpOGT(x, c(-HUGE_VAL)));
    r = sel(b_.CreateAnd(finiteNeg, b_.CreateNot(isInt)), c(NAN), r);
    Value* unitInf = b_.CreateAnd(b_.CreateFCmpOEQ(ax, c(1)), b_.CreateFCmpOEQ(ay, c(HUGE_VAL)));
    r = sel(unitInf, c(1), r);
    Value* one = b_.CreateOr(b_.CreateFCmpOEQ(x, c(1)), b_.CreateFCmpOEQ(y, c(0)));
    return sel(one, c(1), r);
  }

  /// erf of a double holding an f32 value (see the file's comment): the
  /// series is accurate to ~1e-11 absolute, which is all an f32 result needs.
  Value* erfOfWide(Value* x) {
    Value* nan = isNan(x);
    Value* xc = clamp(sel(nan, c(0), x), -4.0, 4.0);
    std::vector<double> coeffs; // n = 63 .. 0: (-1)^n 2/sqrt(pi) / (n! (2n+1))
    for (int n = 63; n >= 0; --n) {
      long double fact = 1;
      for (int j = 2; j <= n; ++j)
        fact *= j;
      long double cn = 1.1283791670955125738961589031215452L / (fact * (2 * n + 1));
      coeffs.push_back(static_cast<double>(n % 2 ? -cn : cn));
    }
    Value* y = b_.CreateFMul(xc, horner(b_.CreateFMul(xc, xc), coeffs));
    return sel(nan, x, y);
  }

private:
  Value* c(double v) { return llvm::ConstantFP::get(ft_, v); }
  Value* ci(int64_t v) { return llvm::ConstantInt::get(it_, static_cast<uint64_t>(v), true); }
  Value* sel(Value* cond, Value* a, Value* b) { return b_.CreateSelect(cond, a, b); }
  Value* isNan(Value* x) { return b_.CreateFCmpUNO(x, x); }
  Value* fma(Value* a, Value* x, Value* y) {
    return b_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {ft_}, {a, x, y});
  }
  /// x clamped to [lo, hi]; x is not NaN.
  Value* clamp(Value* x, double lo, double hi) {
    x = sel(b_.CreateFCmpOLT(x, c(lo)), c(lo), x);
    return sel(b_.CreateFCmpOGT(x, c(hi)), c(hi), x);
  }
  /// coeffs[0]*x^(n-1) + ... + coeffs[n-1], by Horner's rule.
  Value* horner(Value* x, const std::vector<double>& coeffs) {
    Value* acc = c(coeffs[0]);
    for (size_t k = 1; k < coeffs.size(); ++k)
      acc = fma(acc, x, c(coeffs[k]));
    return acc;
  }
  /// 2^k for an integer k in the normal exponent range.
  Value* pow2(Value* k) {
    return b_.CreateBitCast(b_.CreateShl(b_.CreateAdd(k, ci(bias_)), mant_), ft_);
  }
  /// ln2 = hi + lo with k*hi exact for every k the reductions meet
  /// (hi has 15 / 42 significant bits); lo is ln2 - hi rounded, computed in
  /// 300-bit arithmetic.
  std::pair<double, double> ln2Parts() const {
    if (f64_) return {0x1.62e42fefa38p-1, 0x1.ef35793c7673p-45};
    return {0x1.62e4p-1, 0x1.7f7d1cp-20};
  }
  /// (k as a float, r) with x = k*ln2 + r, |r| <= ln2/2 (+ rounding).
  std::pair<Value*, Value*> reduce(Value* x) {
    // Round to nearest by adding and subtracting 1.5 * 2^mant: no rint
    // call, and exact for the |x/ln2| < 2^22 the callers allow.
    Value* magic = c(std::ldexp(1.5, mant_));
    Value* kf =
        b_.CreateFSub(b_.CreateFAdd(b_.CreateFMul(x, c(0x1.71547652b82fep+0)), magic), magic);
    auto [hi, lo] = ln2Parts();
    Value* negK = b_.CreateFNeg(kf);
    Value* r = fma(negK, c(hi), x);
    return {kf, fma(negK, c(lo), r)};
  }
  /// e^r - 1 by its Taylor series to degree 7 (f32) or 13 (f64), |r| <= 0.35.
  Value* expm1Poly(Value* r) {
    std::vector<double> coeffs; // 1/k!, k = degree .. 2
    int degree = f64_ ? 13 : 7;
    for (int k = degree; k >= 2; --k) {
      long double fact = 1;
      for (int j = 2; j <= k; ++j)
        fact *= j;
      coeffs.push_back(static_cast<double>(1.0L / fact));
    }
    return fma(b_.CreateFMul(r, r), horner(r, coeffs), r);
  }

  IRBuilderBase& b_;
  llvm::Type* ft_;
  llvm::Type* it_ = nullptr;
  bool f64_;
  int mant_ = 0, bias_ = 0;
};

// Bounds over all finite inputs, with a margin over the worst errors
// measured on an AVX-512 host (exhaustively over every f32; f64 over dense
// sweeps) and on baseline x86-64 without FMA: exp 1.06 / 0.98, log 0.85 /
// 0.74, tanh 2.42 / 2.31, sigmoid 2.40 / 1.95 (f32 / f64), pow 0.50.
// docs/codegen.md keeps the table; CodegenCpuMathTest checks the bounds.
const ApproxBound kBounds[] = {
    {OpKind::Exp, DType::F32, 1.5, "Cody-Waite reduction, expm1 Taylor degree 7"},
    {OpKind::Exp, DType::F64, 1.5, "Cody-Waite reduction, expm1 Taylor degree 13"},
    {OpKind::Log, DType::F32, 1.5, "exponent split, atanh series to s^9"},
    {OpKind::Log, DType::F64, 1.5, "exponent split, atanh series to s^21"},
    {OpKind::Tanh, DType::F32, 3.0, "expm1(2|x|) / (expm1(2|x|) + 2)"},
    {OpKind::Tanh, DType::F64, 3.0, "expm1(2|x|) / (expm1(2|x|) + 2)"},
    {OpKind::Sigmoid, DType::F32, 3.0, "exp(-|x|), one division"},
    {OpKind::Sigmoid, DType::F64, 3.0, "exp(-|x|), one division"},
    {OpKind::Pow, DType::F32, 1.0, "exp(y log|x|) in f64, C's special cases"},
    {OpKind::Erf, DType::F32, 1.0, "Taylor series of erf(x)/x in f64 to x^126, |x| <= 4"},
};

} // namespace

Value* emitExp(IRBuilderBase& b, Value* x) {
  return Emitter(b, x->getType()).exp(x);
}

Value* emitLog(IRBuilderBase& b, Value* x) {
  return Emitter(b, x->getType()).log(x);
}

Value* emitTanh(IRBuilderBase& b, Value* x) {
  return Emitter(b, x->getType()).tanh(x);
}

Value* emitSigmoid(IRBuilderBase& b, Value* x) {
  return Emitter(b, x->getType()).sigmoid(x);
}

Value* emitPow(IRBuilderBase& b, Value* x, Value* y) {
  CAIRN_CHECK(x->getType()->isFloatTy(), "pow is emitted for f32 only");
  llvm::Type* f64 = b.getDoubleTy();
  Value* r = Emitter(b, f64).powMagnitudeAndRules(b.CreateFPExt(x, f64), b.CreateFPExt(y, f64));
  return b.CreateFPTrunc(r, x->getType());
}

Value* emitErf(IRBuilderBase& b, Value* x) {
  CAIRN_CHECK(x->getType()->isFloatTy(), "erf is emitted for f32 only");
  llvm::Type* f64 = b.getDoubleTy();
  Value* r = Emitter(b, f64).erfOfWide(b.CreateFPExt(x, f64));
  return b.CreateFPTrunc(r, x->getType());
}

std::span<const ApproxBound> approximationBounds() {
  return kBounds;
}

double approximationMaxUlp(OpKind op, DType dtype) {
  for (const ApproxBound& a : kBounds)
    if (a.op == op && a.dtype == dtype) return a.maxUlp;
  return 0;
}

} // namespace cairn::codegen::cpu
