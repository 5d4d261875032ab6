// ONNX elementwise ops: arithmetic, comparisons, logic, activations, Cast,
// Clip, Where, Constant, Identity and Dropout (inference).
//
// ONNX broadcasts numpy-style; the builder's helpers do the same and make
// the `broadcast` ops explicit. Activations Cairn has no op for (Elu, Selu,
// Softplus, HardSigmoid, ...) are written with core ops, as their ONNX
// function bodies define them. Floor/Ceil/Round go through an integer cast,
// guarded so that values too large to have a fraction (and NaN, inf) pass
// through unchanged.
#include <cmath>

#include "frontend/onnx/OnnxInternal.h"

namespace cairn::onnx_import {
namespace {

template <Val (*F)(Arg, Arg)> ValueList binaryOp(NodeContext& c) {
  return {F(c.input(0), c.input(1))};
}
template <Val (*F)(Val)> ValueList unaryOp(NodeContext& c) {
  return {F(c.input(0))};
}

void requireFloat(const Val& x, std::string_view op) {
  if (!isFloat(x.dtype()))
    throw Unsupported(
        fmt::format("{} of {} (Cairn computes it for float types only)", op, x.type().toString()));
}

/// Folds a variadic op (Max, Min, Sum, Mean) left to right.
template <Val (*F)(Arg, Arg)> ValueList variadic(NodeContext& c) {
  Val acc = c.input(0);
  for (size_t i = 1; i < c.numInputs(); ++i)
    acc = F(acc, c.input(i));
  return {acc};
}

ValueList mean(NodeContext& c) {
  Val acc = c.input(0);
  for (size_t i = 1; i < c.numInputs(); ++i)
    acc = acc + c.input(i);
  return {acc / static_cast<double>(c.numInputs())};
}

ValueList pow(NodeContext& c) {
  Val x = c.input(0), y = c.input(1);
  if (isFloat(x.dtype())) return {cairn::pow(x, cast(y, x.dtype()))};
  // Integer bases: exact in f64 for the results integers can hold.
  Val r = cairn::pow(cast(x, DType::F64), cast(y, DType::F64));
  return {cast(r, x.dtype())};
}

ValueList xorOp(NodeContext& c) {
  return {ne(c.input(0), c.input(1))};
}

ValueList reciprocal(NodeContext& c) {
  return {1.0 / c.input(0)};
}
ValueList identity(NodeContext& c) {
  return {c.input(0)};
}

/// floor for floats: truncation, minus one where it rounded up.
Val floorOf(const Val& x) {
  Val t = cast(cast(x, DType::I64), x.dtype());
  Val f = select(gt(t, x), t - 1.0, t);
  return select(lt(abs(x), 4503599627370496.0), f, x); // 2^52: no fraction above
}
Val ceilOf(const Val& x) {
  Val t = cast(cast(x, DType::I64), x.dtype());
  Val f = select(lt(t, x), t + 1.0, t);
  return select(lt(abs(x), 4503599627370496.0), f, x);
}
ValueList floorOp(NodeContext& c) {
  requireFloat(c.input(0), "Floor");
  return {floorOf(c.input(0))};
}
ValueList ceilOp(NodeContext& c) {
  requireFloat(c.input(0), "Ceil");
  return {ceilOf(c.input(0))};
}
/// Round half to even, as ONNX (and numpy) round.
ValueList roundOp(NodeContext& c) {
  Val x = c.input(0);
  requireFloat(x, "Round");
  Val f = floorOf(x);
  Val frac = x - f;
  Val half = floorOf(f * 0.5) * 2.0;
  Val fIsOdd = ne(half, f);
  Val up = f + 1.0;
  Val tie = select(fIsOdd, up, f);
  return {select(gt(frac, 0.5), up, select(lt(frac, 0.5), f, tie))};
}

ValueList sign(NodeContext& c) {
  Val x = c.input(0);
  return {cast(gt(x, 0), x.dtype()) - cast(lt(x, 0), x.dtype())};
}

ValueList isNan(NodeContext& c) {
  return {ne(c.input(0), c.input(0))};
}
ValueList isInf(NodeContext& c) {
  Val x = c.input(0);
  bool pos = c.attrInt("detect_positive", 1) != 0, neg = c.attrInt("detect_negative", 1) != 0;
  Val p = eq(x, INFINITY), n = eq(x, -INFINITY);
  if (pos && neg) return {logicalOr(p, n)};
  if (pos) return {p};
  if (neg) return {n};
  return {logicalAnd(p, logicalNot(p))}; // neither: all false
}

ValueList leakyRelu(NodeContext& c) {
  Val x = c.input(0);
  return {select(lt(x, 0), x * c.attrFloat("alpha", 0.01f), x)};
}
ValueList elu(NodeContext& c) {
  Val x = c.input(0);
  return {select(lt(x, 0), (exp(x) - 1.0) * c.attrFloat("alpha", 1.0f), x)};
}
ValueList selu(NodeContext& c) {
  Val x = c.input(0);
  double alpha = c.attrFloat("alpha", 1.67326319217681884765625f);
  double gamma = c.attrFloat("gamma", 1.05070102214813232421875f);
  return {select(le(x, 0), exp(x) * alpha - alpha, x) * gamma};
}
ValueList celu(NodeContext& c) {
  Val x = c.input(0);
  double alpha = c.attrFloat("alpha", 1.0f);
  return {max(x, 0) + min(Arg(0.0), (exp(x / alpha) - 1.0) * alpha)};
}
ValueList softplus(NodeContext& c) {
  Val x = c.input(0);
  // log(1 + e^x) without overflow: max(x, 0) + log(1 + e^-|x|).
  return {max(x, 0) + log(exp(neg(abs(x))) + 1.0)};
}
ValueList softsign(NodeContext& c) {
  Val x = c.input(0);
  return {x / (abs(x) + 1.0)};
}
ValueList hardSigmoid(NodeContext& c) {
  Val x = c.input(0);
  double a = c.attrFloat("alpha", 0.2f), b = c.attrFloat("beta", 0.5f);
  return {max(Arg(0.0), min(Arg(1.0), x * a + b))};
}
ValueList hardSwish(NodeContext& c) {
  Val x = c.input(0);
  return {x * max(Arg(0.0), min(Arg(1.0), x * (1.0 / 6.0) + 0.5))};
}
ValueList thresholdedRelu(NodeContext& c) {
  Val x = c.input(0);
  return {select(gt(x, c.attrFloat("alpha", 1.0f)), x, 0)};
}
ValueList prelu(NodeContext& c) {
  Val x = c.input(0), slope = c.input(1);
  ValueList v = broadcastTogether({x, slope});
  return {select(lt(v[0], 0), v[0] * v[1], v[0])};
}

ValueList clip(NodeContext& c) {
  Val x = c.input(0);
  if (c.opset() < 11) {
    Val r = x;
    if (c.hasAttr("min")) r = max(r, c.attrFloat("min", 0));
    if (c.hasAttr("max")) r = min(r, c.attrFloat("max", 0));
    return {r};
  }
  Val r = x;
  // The bounds are scalars; broadcasting them keeps the dtype rules simple.
  if (c.hasInput(1)) r = max(r, c.input(1));
  if (c.hasInput(2)) r = min(r, c.input(2));
  return {r};
}

ValueList where(NodeContext& c) {
  ValueList v = broadcastTogether({c.input(0), c.input(1), c.input(2)});
  return {select(v[0], v[1], v[2])};
}

ValueList castOp(NodeContext& c) {
  StatusOr<DType> dt = dtypeFromOnnx(static_cast<int32_t>(c.attrInt("to", 0)));
  if (!dt.isOk()) throw Unsupported(dt.status().message());
  return {cast(c.input(0), *dt)};
}
ValueList castLike(NodeContext& c) {
  return {cast(c.input(0), c.input(1).dtype())};
}

ValueList constantOp(NodeContext& c) {
  auto floats = [&](std::vector<float> v, Shape s) {
    Tensor t(TensorType(DType::F32, std::move(s)));
    for (size_t i = 0; i < v.size(); ++i)
      t.setDouble(static_cast<int64_t>(i), v[i]);
    return t;
  };
  Tensor t;
  if (c.hasAttr("value"))
    t = c.attrTensor("value");
  else if (c.hasAttr("value_float"))
    t = floats({c.attrFloat("value_float", 0)}, {});
  else if (c.hasAttr("value_floats")) {
    auto v = c.attrFloats("value_floats");
    t = floats(v, {static_cast<int64_t>(v.size())});
  } else if (c.hasAttr("value_int"))
    t = Tensor::fromInts(TensorType(DType::I64, {}), {c.attrInt("value_int", 0)});
  else if (c.hasAttr("value_ints")) {
    auto v = c.attrInts("value_ints");
    t = Tensor::fromInts(TensorType(DType::I64, {static_cast<int64_t>(v.size())}), v);
  } else
    throw Unsupported("Constant with sparse or string values");
  Val v = c.b.constant(t);
  return {v};
}

ValueList dropout(NodeContext& c) {
  Val x = c.input(0);
  if (c.hasInput(2)) {
    std::optional<Tensor> training = c.constInput(2);
    if (!training || oneElement(*training, "training_mode").getInt(0) != 0)
      throw Unsupported("Dropout in training mode (random masks are not imported)");
  }
  ValueList out{x};
  if (c.wantsOutput(1)) {
    Sizes s = sizesOf(x);
    out.push_back(broadcastTo(c.b.scalar(1, DType::I1), s));
  }
  return out;
}

} // namespace

void registerElementwiseOps(ConverterTable& t) {
  t["Add"] = binaryOp<add>;
  t["Sub"] = binaryOp<sub>;
  t["Mul"] = binaryOp<mul>;
  t["Div"] = binaryOp<div>;
  t["Pow"] = pow;
  t["And"] = binaryOp<logicalAnd>;
  t["Or"] = binaryOp<logicalOr>;
  t["Xor"] = xorOp;
  t["Equal"] = binaryOp<eq>;
  t["Less"] = binaryOp<lt>;
  t["LessOrEqual"] = binaryOp<le>;
  t["Greater"] = binaryOp<gt>;
  t["GreaterOrEqual"] = binaryOp<ge>;
  t["Max"] = variadic<max>;
  t["Min"] = variadic<min>;
  t["Sum"] = variadic<add>;
  t["Mean"] = mean;
  t["Not"] = unaryOp<logicalNot>;
  t["Neg"] = unaryOp<neg>;
  t["Abs"] = unaryOp<abs>;
  t["Exp"] = unaryOp<exp>;
  t["Log"] = unaryOp<log>;
  t["Tanh"] = unaryOp<tanh>;
  t["Sigmoid"] = unaryOp<sigmoid>;
  t["Erf"] = unaryOp<erf>;
  t["Sin"] = unaryOp<sin>;
  t["Cos"] = unaryOp<cos>;
  t["Tan"] = unaryOp<tan>;
  t["Asin"] = unaryOp<asin>;
  t["Acos"] = unaryOp<acos>;
  t["Atan"] = unaryOp<atan>;
  t["Sinh"] = unaryOp<sinh>;
  t["Cosh"] = unaryOp<cosh>;
  t["Asinh"] = unaryOp<asinh>;
  t["Acosh"] = unaryOp<acosh>;
  t["Atanh"] = unaryOp<atanh>;
  t["Relu"] = unaryOp<relu>;
  t["Sqrt"] = unaryOp<sqrt>;
  t["Reciprocal"] = reciprocal;
  t["Identity"] = identity;
  t["Floor"] = floorOp;
  t["Ceil"] = ceilOp;
  t["Round"] = roundOp;
  t["Sign"] = sign;
  t["IsNaN"] = isNan;
  t["IsInf"] = isInf;
  t["LeakyRelu"] = leakyRelu;
  t["Elu"] = elu;
  t["Selu"] = selu;
  t["Celu"] = celu;
  t["Softplus"] = softplus;
  t["Softsign"] = softsign;
  t["HardSigmoid"] = hardSigmoid;
  t["HardSwish"] = hardSwish;
  t["ThresholdedRelu"] = thresholdedRelu;
  t["PRelu"] = prelu;
  t["Clip"] = clip;
  t["Where"] = where;
  t["Cast"] = castOp;
  t["CastLike"] = castLike;
  t["Constant"] = constantOp;
  t["Dropout"] = dropout;
}

} // namespace cairn::onnx_import
