// Elementwise helpers of the builder: numpy-style broadcasting made explicit,
// number promotion, unary/binary/compare ops, select, cast and operators.
//
// The IR requires both operands of a binary op to have one type, so every
// binary helper first promotes numbers to constants of the other operand's
// dtype, then broadcasts both operands to the common shape with `broadcast`
// ops. Dtypes are never promoted implicitly: f32 + f64 is an error, because a
// silent widening in a model is usually a bug.
#include <cmath>

#include "frontend/BuilderInternal.h"

namespace cairn {

Shape broadcastShapes(std::string_view opName, const TensorType& a, const TensorType& b) {
  int64_t rank = std::max(a.rank(), b.rank());
  Shape out(static_cast<size_t>(rank));
  for (int64_t i = 0; i < rank; ++i) {
    int64_t ai = i - (rank - a.rank()), bi = i - (rank - b.rank());
    int64_t x = ai >= 0 ? a.shape[ai] : 1;
    int64_t y = bi >= 0 ? b.shape[bi] : 1;
    int64_t& r = out[static_cast<size_t>(i)];
    if (x == y || y == 1)
      r = x;
    else if (x == 1)
      r = y;
    // A `?` against a static size n != 1 must be n (or 1) at run time: n wins,
    // as in the IR's own type rules. Two `?` are taken to be equal.
    else if (x == kDynamic)
      r = y;
    else if (y == kDynamic)
      r = x;
    else
      throw BuildError(fmt::format("'{}' op: shapes {} and {} do not broadcast (dim {}: {} vs {})",
                                   opName, a.toString(), b.toString(), i, x, y));
  }
  return out;
}

Val expandTo(Val x, const Shape& target, const ValueList& sources) {
  int64_t rank = static_cast<int64_t>(target.size());
  int64_t offset = rank - x.rank();
  CAIRN_CHECK(offset >= 0, "expanding rank {} to rank {}", x.rank(), rank);
  bool fits = offset == 0;
  for (int64_t i = 0; fits && i < x.rank(); ++i)
    fits = x.shape()[i] == target[i] || x.shape()[i] == kDynamic;
  if (fits) return x;

  Sizes sizes;
  for (int64_t d = 0; d < rank; ++d) {
    if (target[d] != kDynamic) {
      sizes.emplace_back(target[d]);
      continue;
    }
    Val size;
    for (const Val& s : sources) {
      int64_t sd = d - (rank - s.rank());
      if (sd >= 0 && s.shape()[sd] == kDynamic) {
        size = dim(s, sd);
        break;
      }
    }
    CAIRN_CHECK(size.valid(), "no source for dynamic dim {}", d);
    sizes.emplace_back(size);
  }
  std::vector<int64_t> dims;
  for (int64_t i = 0; i < x.rank(); ++i)
    dims.push_back(offset + i);
  return broadcastInDim(x, sizes, dims);
}

namespace {

/// A constant `number` of `like`'s dtype and shape (a splat when static, a
/// broadcast scalar when dynamic).
Val promote(std::string_view opName, double number, const Val& like) {
  DType dt = like.dtype();
  if (!isFloat(dt) && number != std::trunc(number))
    throw BuildError(fmt::format("'{}' op: {} cannot be used with a {} operand", opName, number,
                                 like.type().toString()));
  if (isBool(dt) && number != 0 && number != 1)
    throw BuildError(fmt::format("'{}' op: {} is not a boolean", opName, number));
  FunctionBuilder& b = like.builder();
  if (like.type().hasStaticShape()) return b.constant(number, like.type());
  return expandTo(b.scalar(number, dt), like.shape(), {like});
}

/// Resolves two Args into two Vals of one dtype and one shape.
std::pair<Val, Val> unifyOperands(std::string_view opName, const Arg& a, const Arg& b) {
  if (!a.isVal() && !b.isVal())
    throw BuildError(fmt::format("'{}' op: at least one operand must be a Val", opName));
  Val x = a.isVal() ? a.val() : promote(opName, a.number(), b.val());
  Val y = b.isVal() ? b.val() : promote(opName, b.number(), x);
  checkValid(opName, x, "lhs");
  checkValid(opName, y, "rhs");
  if (x.dtype() != y.dtype())
    throw BuildError(fmt::format("'{}' op: operands have different dtypes ({} and {}); use cast()",
                                 opName, x.type().toString(), y.type().toString()));
  Shape shape = broadcastShapes(opName, x.type(), y.type());
  return {expandTo(x, shape, {x, y}), expandTo(y, shape, {x, y})};
}

Val unary(OpKind kind, const Val& x) {
  checkValid(opName(kind), x, "the operand");
  return x.builder().create1(kind, {x});
}

Val binary(OpKind kind, const Arg& a, const Arg& b) {
  auto [x, y] = unifyOperands(opName(kind), a, b);
  return x.builder().create1(kind, {x, y});
}

} // namespace

Val neg(Val x) {
  return unary(OpKind::Neg, x);
}
Val abs(Val x) {
  return unary(OpKind::Abs, x);
}
Val exp(Val x) {
  return unary(OpKind::Exp, x);
}
Val log(Val x) {
  return unary(OpKind::Log, x);
}
Val tanh(Val x) {
  return unary(OpKind::Tanh, x);
}
Val sigmoid(Val x) {
  return unary(OpKind::Sigmoid, x);
}
Val erf(Val x) {
  return unary(OpKind::Erf, x);
}
Val sin(Val x) {
  return unary(OpKind::Sin, x);
}
Val cos(Val x) {
  return unary(OpKind::Cos, x);
}
Val tan(Val x) {
  return unary(OpKind::Tan, x);
}
Val asin(Val x) {
  return unary(OpKind::Asin, x);
}
Val acos(Val x) {
  return unary(OpKind::Acos, x);
}
Val atan(Val x) {
  return unary(OpKind::Atan, x);
}
Val sinh(Val x) {
  return unary(OpKind::Sinh, x);
}
Val cosh(Val x) {
  return unary(OpKind::Cosh, x);
}
Val asinh(Val x) {
  return unary(OpKind::Asinh, x);
}
Val acosh(Val x) {
  return unary(OpKind::Acosh, x);
}
Val atanh(Val x) {
  return unary(OpKind::Atanh, x);
}
Val relu(Val x) {
  return unary(OpKind::Relu, x);
}
Val sqrt(Val x) {
  return unary(OpKind::Sqrt, x);
}
Val rsqrt(Val x) {
  return unary(OpKind::Rsqrt, x);
}
Val logicalNot(Val x) {
  return unary(OpKind::Not, x);
}

Val add(Arg a, Arg b) {
  return binary(OpKind::Add, a, b);
}
Val sub(Arg a, Arg b) {
  return binary(OpKind::Sub, a, b);
}
Val mul(Arg a, Arg b) {
  return binary(OpKind::Mul, a, b);
}
Val div(Arg a, Arg b) {
  return binary(OpKind::Div, a, b);
}
Val max(Arg a, Arg b) {
  return binary(OpKind::Max, a, b);
}
Val min(Arg a, Arg b) {
  return binary(OpKind::Min, a, b);
}
Val pow(Arg a, Arg b) {
  return binary(OpKind::Pow, a, b);
}
Val logicalAnd(Arg a, Arg b) {
  return binary(OpKind::And, a, b);
}
Val logicalOr(Arg a, Arg b) {
  return binary(OpKind::Or, a, b);
}
Val eq(Arg a, Arg b) {
  return binary(OpKind::Eq, a, b);
}
Val ne(Arg a, Arg b) {
  return binary(OpKind::Ne, a, b);
}
Val lt(Arg a, Arg b) {
  return binary(OpKind::Lt, a, b);
}
Val le(Arg a, Arg b) {
  return binary(OpKind::Le, a, b);
}
Val gt(Arg a, Arg b) {
  return binary(OpKind::Gt, a, b);
}
Val ge(Arg a, Arg b) {
  return binary(OpKind::Ge, a, b);
}

Val select(Val pred, Arg a, Arg b) {
  checkValid("select", pred, "the predicate");
  if (pred.dtype() != DType::I1)
    throw BuildError(
        fmt::format("'select' op: predicate must be i1, got {}", pred.type().toString()));
  auto [x, y] = unifyOperands("select", a, b);
  if (pred.type().isScalar()) return pred.builder().create1(OpKind::Select, {pred, x, y});
  Shape shape = broadcastShapes("select", x.type(), pred.type());
  ValueList sources{x, y, pred};
  return pred.builder().create1(
      OpKind::Select,
      {expandTo(pred, shape, sources), expandTo(x, shape, sources), expandTo(y, shape, sources)});
}

Val cast(Val x, DType dtype) {
  checkValid("cast", x, "the operand");
  if (x.dtype() == dtype) return x;
  return x.builder().create1(OpKind::Cast, {x}, {}, {TensorType(dtype, x.shape())});
}

Val operator-(Val x) {
  return neg(x);
}
Val operator+(Val a, Val b) {
  return add(a, b);
}
Val operator+(Val a, double b) {
  return add(a, b);
}
Val operator+(double a, Val b) {
  return add(a, b);
}
Val operator-(Val a, Val b) {
  return sub(a, b);
}
Val operator-(Val a, double b) {
  return sub(a, b);
}
Val operator-(double a, Val b) {
  return sub(a, b);
}
Val operator*(Val a, Val b) {
  return mul(a, b);
}
Val operator*(Val a, double b) {
  return mul(a, b);
}
Val operator*(double a, Val b) {
  return mul(a, b);
}
Val operator/(Val a, Val b) {
  return div(a, b);
}
Val operator/(Val a, double b) {
  return div(a, b);
}
Val operator/(double a, Val b) {
  return div(a, b);
}

} // namespace cairn
