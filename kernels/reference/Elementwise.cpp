// Elementwise reference kernels: one loop per op over the row-major elements,
// with the semantics of ir/Ops.def. Integer arithmetic goes through the
// unsigned type so that overflow wraps instead of being undefined behaviour.
#include "kernels/reference/Elementwise.h"

#include <cmath>
#include <limits>

#include "kernels/reference/KernelUtil.h"

namespace cairn::kernels {

namespace {

template <typename T> T wrapAdd(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
}
template <typename T> T wrapSub(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(a) - static_cast<U>(b));
}
template <typename T> T wrapMul(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(a) * static_cast<U>(b));
}

Status dtypeError(OpKind kind, const char* accepts, DType got) {
  return errorf("'{}' accepts {} operands, got {}", opName(kind), accepts, dtypeName(got));
}

Status sameTypes(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype())
    return errorf("operand dtypes differ: {} vs {}", dtypeName(a.dtype()), dtypeName(b.dtype()));
  if (a.shape() != b.shape())
    return errorf("operand shapes differ at run time: {} vs {}", shapeStr(a.shape()),
                  shapeStr(b.shape()));
  return Status::ok();
}

/// out[i] = f(x[i]) computed in ComputeType<T>.
template <typename T, typename F> Tensor mapUnary(const Tensor& x, F f) {
  Tensor out(x.type());
  const T* in = x.data<T>();
  T* o = out.data<T>();
  for (int64_t i = 0; i < x.numElements(); ++i)
    o[i] = T(f(ComputeType<T>(in[i])));
  return out;
}

template <typename T> StatusOr<Tensor> unaryTyped(OpKind kind, const Tensor& x) {
  using C = ComputeType<T>;
  constexpr bool isF = kIsFloatStorage<T>;
  constexpr bool isB = std::is_same_v<T, bool>;
  DType dt = x.dtype();
  switch (kind) {
  case OpKind::Neg:
  case OpKind::Abs:
  case OpKind::Relu:
    if constexpr (isB) {
      return dtypeError(kind, "numeric (not i1)", dt);
    } else if constexpr (isF) {
      if (kind == OpKind::Neg) return mapUnary<T>(x, [](C v) { return -v; });
      if (kind == OpKind::Abs) return mapUnary<T>(x, [](C v) { return std::fabs(v); });
      // NaN > 0 is false, so test NaN first to keep it.
      return mapUnary<T>(x, [](C v) { return std::isnan(v) ? v : (v > C(0) ? v : C(0)); });
    } else {
      if (kind == OpKind::Neg) return mapUnary<T>(x, [](C v) { return wrapSub(C(0), v); });
      if (kind == OpKind::Abs)
        return mapUnary<T>(x, [](C v) { return v < 0 ? wrapSub(C(0), v) : v; });
      return mapUnary<T>(x, [](C v) { return v > 0 ? v : C(0); });
    }
  case OpKind::Exp:
  case OpKind::Log:
  case OpKind::Tanh:
  case OpKind::Sigmoid:
  case OpKind::Erf:
  case OpKind::Sin:
  case OpKind::Cos:
  case OpKind::Tan:
  case OpKind::Asin:
  case OpKind::Acos:
  case OpKind::Atan:
  case OpKind::Sinh:
  case OpKind::Cosh:
  case OpKind::Asinh:
  case OpKind::Acosh:
  case OpKind::Atanh:
  case OpKind::Sqrt:
  case OpKind::Rsqrt:
    if constexpr (!isF) {
      return dtypeError(kind, "float", dt);
    } else {
      switch (kind) {
      case OpKind::Exp:
        return mapUnary<T>(x, [](C v) { return std::exp(v); });
      case OpKind::Log:
        return mapUnary<T>(x, [](C v) { return std::log(v); });
      case OpKind::Tanh:
        return mapUnary<T>(x, [](C v) { return std::tanh(v); });
      case OpKind::Erf:
        return mapUnary<T>(x, [](C v) { return std::erf(v); });
      case OpKind::Sin:
        return mapUnary<T>(x, [](C v) { return std::sin(v); });
      case OpKind::Cos:
        return mapUnary<T>(x, [](C v) { return std::cos(v); });
      case OpKind::Tan:
        return mapUnary<T>(x, [](C v) { return std::tan(v); });
      case OpKind::Asin:
        return mapUnary<T>(x, [](C v) { return std::asin(v); });
      case OpKind::Acos:
        return mapUnary<T>(x, [](C v) { return std::acos(v); });
      case OpKind::Atan:
        return mapUnary<T>(x, [](C v) { return std::atan(v); });
      case OpKind::Sinh:
        return mapUnary<T>(x, [](C v) { return std::sinh(v); });
      case OpKind::Cosh:
        return mapUnary<T>(x, [](C v) { return std::cosh(v); });
      case OpKind::Asinh:
        return mapUnary<T>(x, [](C v) { return std::asinh(v); });
      case OpKind::Acosh:
        return mapUnary<T>(x, [](C v) { return std::acosh(v); });
      case OpKind::Atanh:
        return mapUnary<T>(x, [](C v) { return std::atanh(v); });
      case OpKind::Sqrt:
        return mapUnary<T>(x, [](C v) { return std::sqrt(v); });
      case OpKind::Rsqrt:
        return mapUnary<T>(x, [](C v) { return C(1) / std::sqrt(v); });
      default:
        // Only ever exponentiate a non-positive number so nothing overflows.
        return mapUnary<T>(x, [](C v) {
          if (v >= C(0)) return C(1) / (C(1) + std::exp(-v));
          C e = std::exp(v);
          return e / (C(1) + e);
        });
      }
    }
  case OpKind::Not:
    if constexpr (isB)
      return mapUnary<T>(x, [](C v) { return !v; });
    else if constexpr (isF)
      return dtypeError(kind, "i1, i32 or i64", dt);
    else
      return mapUnary<T>(x, [](C v) { return static_cast<C>(~v); });
  default:
    return errorf("'{}' is not an elementwise unary op", opName(kind));
  }
}

template <typename T, typename F> Tensor mapBinary(const Tensor& a, const Tensor& b, F f) {
  Tensor out(a.type());
  const T* x = a.data<T>();
  const T* y = b.data<T>();
  T* o = out.data<T>();
  for (int64_t i = 0; i < a.numElements(); ++i)
    o[i] = T(f(ComputeType<T>(x[i]), ComputeType<T>(y[i])));
  return out;
}

template <typename C> C floatMax(C a, C b) {
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<C>::quiet_NaN();
  if (a == b) return std::signbit(a) ? b : a; // +0 above -0
  return a > b ? a : b;
}
template <typename C> C floatMin(C a, C b) {
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<C>::quiet_NaN();
  if (a == b) return std::signbit(a) ? a : b;
  return a < b ? a : b;
}

template <typename T> StatusOr<Tensor> binaryTyped(OpKind kind, const Tensor& a, const Tensor& b) {
  using C = ComputeType<T>;
  constexpr bool isF = kIsFloatStorage<T>;
  constexpr bool isB = std::is_same_v<T, bool>;
  DType dt = a.dtype();
  switch (kind) {
  case OpKind::Max:
  case OpKind::Min:
    if constexpr (isF) {
      if (kind == OpKind::Max) return mapBinary<T>(a, b, floatMax<C>);
      return mapBinary<T>(a, b, floatMin<C>);
    } else {
      // i1 too: max is or, min is and.
      if (kind == OpKind::Max) return mapBinary<T>(a, b, [](C x, C y) { return x > y ? x : y; });
      return mapBinary<T>(a, b, [](C x, C y) { return x < y ? x : y; });
    }
  case OpKind::Add:
  case OpKind::Sub:
  case OpKind::Mul:
  case OpKind::Div:
    if constexpr (isB) {
      return dtypeError(kind, "numeric (not i1)", dt);
    } else if constexpr (isF) {
      switch (kind) {
      case OpKind::Add:
        return mapBinary<T>(a, b, [](C x, C y) { return x + y; });
      case OpKind::Sub:
        return mapBinary<T>(a, b, [](C x, C y) { return x - y; });
      case OpKind::Mul:
        return mapBinary<T>(a, b, [](C x, C y) { return x * y; });
      default:
        return mapBinary<T>(a, b, [](C x, C y) { return x / y; });
      }
    } else {
      switch (kind) {
      case OpKind::Add:
        return mapBinary<T>(a, b, wrapAdd<C>);
      case OpKind::Sub:
        return mapBinary<T>(a, b, wrapSub<C>);
      case OpKind::Mul:
        return mapBinary<T>(a, b, wrapMul<C>);
      default: {
        const T* y = b.data<T>();
        for (int64_t i = 0; i < b.numElements(); ++i)
          if (y[i] == 0)
            return errorf("integer division by zero (divisor element {} of {})", i,
                          shapeStr(b.shape()));
        return mapBinary<T>(a, b, [](C x, C y) {
          // INT_MIN / -1 overflows; wrap like the other integer ops.
          if (y == C(-1)) return wrapSub(C(0), x);
          return static_cast<C>(x / y);
        });
      }
      }
    }
  case OpKind::Pow:
    if constexpr (isF)
      return mapBinary<T>(a, b, [](C x, C y) { return std::pow(x, y); });
    else
      return dtypeError(kind, "float", dt);
  case OpKind::And:
  case OpKind::Or:
    if constexpr (isF) {
      return dtypeError(kind, "i1, i32 or i64", dt);
    } else if constexpr (isB) {
      if (kind == OpKind::And) return mapBinary<T>(a, b, [](C x, C y) { return x && y; });
      return mapBinary<T>(a, b, [](C x, C y) { return x || y; });
    } else {
      if (kind == OpKind::And) return mapBinary<T>(a, b, [](C x, C y) { return C(x & y); });
      return mapBinary<T>(a, b, [](C x, C y) { return C(x | y); });
    }
  default:
    return errorf("'{}' is not an elementwise binary op", opName(kind));
  }
}

template <typename T> StatusOr<Tensor> compareTyped(OpKind kind, const Tensor& a, const Tensor& b) {
  using C = ComputeType<T>;
  Tensor out(TensorType(DType::I1, a.shape()));
  const T* x = a.data<T>();
  const T* y = b.data<T>();
  bool* o = out.data<bool>();
  for (int64_t i = 0; i < a.numElements(); ++i) {
    C u = C(x[i]), v = C(y[i]);
    // The C++ operators already give IEEE's answers for NaN.
    switch (kind) {
    case OpKind::Eq:
      o[i] = u == v;
      break;
    case OpKind::Ne:
      o[i] = u != v;
      break;
    case OpKind::Lt:
      o[i] = u < v;
      break;
    case OpKind::Le:
      o[i] = u <= v;
      break;
    case OpKind::Gt:
      o[i] = u > v;
      break;
    case OpKind::Ge:
      o[i] = u >= v;
      break;
    default:
      return errorf("'{}' is not a comparison", opName(kind));
    }
  }
  return out;
}

/// Rounds d to float toward zero, then sets the last bit when inexact
/// ("round to odd"). A later round-to-nearest-even to a format with at least
/// two fewer significand bits then equals rounding d directly: this avoids
/// double rounding for f64 -> f16/bf16.
float roundToOddFloat(double d) {
  float f = static_cast<float>(d);
  if (std::isnan(d) || static_cast<double>(f) == d) return f;
  if (std::fabs(static_cast<double>(f)) > std::fabs(d)) f = std::nextafter(f, 0.0f);
  return bitsFloat(floatBits(f) | 1u);
}

/// As roundToOddFloat, for an integer (int64 -> double may itself round).
float roundToOddFloat(int64_t v) {
  uint64_t mag = v < 0 ? uint64_t(0) - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  int bits = 0;
  while (bits < 64 && (mag >> bits) != 0)
    ++bits;
  if (bits <= 24) return static_cast<float>(v);
  int shift = bits - 24;
  uint64_t sticky = (mag & ((uint64_t(1) << shift) - 1)) != 0 ? 1 : 0;
  float r = std::ldexp(static_cast<float>((mag >> shift) | sticky), shift);
  return v < 0 ? -r : r;
}

/// Converts one storage value S to storage type D with Cast's semantics.
template <typename D, typename S> D convert(S s) {
  constexpr bool srcF = kIsFloatStorage<S>;
  if constexpr (std::is_same_v<D, bool>) {
    return ComputeType<S>(s) != ComputeType<S>(0);
  } else if constexpr (std::is_integral_v<D>) {
    if constexpr (srcF) {
      double d = static_cast<double>(ComputeType<S>(s));
      double t = std::trunc(d);
      // 2^31 and 2^63 are exact doubles; the valid range is [-2^k, 2^k).
      double lim = std::ldexp(1.0, std::numeric_limits<D>::digits);
      if (std::isnan(t) || t < -lim || t >= lim) return D(0);
      return static_cast<D>(t);
    } else {
      // i64 -> i32 keeps the low bits (well defined in C++20).
      return static_cast<D>(s);
    }
  } else if constexpr (std::is_same_v<D, float> || std::is_same_v<D, double>) {
    return static_cast<D>(ComputeType<S>(s)); // one IEEE rounding (or exact)
  } else {                                    // D is Half or BFloat16
    if constexpr (std::is_same_v<S, double>)
      return D(roundToOddFloat(s));
    else if constexpr (std::is_integral_v<S> && !std::is_same_v<S, bool>)
      return D(roundToOddFloat(static_cast<int64_t>(s)));
    else
      return D(static_cast<float>(ComputeType<S>(s)));
  }
}

} // namespace

StatusOr<Tensor> unary(OpKind kind, const Tensor& x) {
  return dispatchDType(x.dtype(), [&](auto t) { return unaryTyped<decltype(t)>(kind, x); });
}

StatusOr<Tensor> binary(OpKind kind, const Tensor& a, const Tensor& b) {
  CAIRN_RETURN_IF_ERROR(sameTypes(a, b));
  return dispatchDType(a.dtype(), [&](auto t) { return binaryTyped<decltype(t)>(kind, a, b); });
}

StatusOr<Tensor> compare(OpKind kind, const Tensor& a, const Tensor& b) {
  CAIRN_RETURN_IF_ERROR(sameTypes(a, b));
  return dispatchDType(a.dtype(), [&](auto t) { return compareTyped<decltype(t)>(kind, a, b); });
}

StatusOr<Tensor> select(const Tensor& pred, const Tensor& a, const Tensor& b) {
  CAIRN_RETURN_IF_ERROR(sameTypes(a, b));
  if (pred.dtype() != DType::I1)
    return errorf("predicate must be i1, got {}", dtypeName(pred.dtype()));
  if (pred.rank() != 0 && pred.shape() != a.shape())
    return errorf("predicate shape {} differs from operand shape {} at run time",
                  shapeStr(pred.shape()), shapeStr(a.shape()));
  Tensor out(a.type());
  for (int64_t i = 0; i < a.numElements(); ++i) {
    bool p = pred.data<bool>()[pred.rank() == 0 ? 0 : i];
    copyElement(out, i, p ? a : b, i);
  }
  return out;
}

StatusOr<Tensor> cast(const Tensor& x, DType to) {
  Tensor out(TensorType(to, x.shape()));
  dispatchDType(x.dtype(), [&](auto s) {
    using S = decltype(s);
    dispatchDType(to, [&](auto d) {
      using D = decltype(d);
      const S* in = x.data<S>();
      D* o = out.data<D>();
      for (int64_t i = 0; i < x.numElements(); ++i)
        o[i] = convert<D, S>(in[i]);
    });
  });
  return out;
}

} // namespace cairn::kernels
