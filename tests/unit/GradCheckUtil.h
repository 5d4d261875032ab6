// Gradient checks: buildGradient's output, run in the reference
// interpreter, against central finite differences of the function itself.
#pragma once

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "compiler/autodiff/Autodiff.h"
#include "frontend/Builder.h"
#include "ir/Printer.h"
#include "ir/SplitMix64.h"
#include "ir/Verifier.h"
#include "runtime/reference/Interpreter.h"

namespace cairn::testing {

struct GradCheckOptions {
  double h = 1e-6;     ///< central-difference step (f64 functions)
  double rtol = 1e-6;  ///< |ad - fd| <= atol + rtol * max(|fd|, |ad|)
  double atol = 1e-8;
  int maxElements = 16; ///< checked elements per argument (a seeded sample)
  uint64_t seed = 7;
  size_t lossResult = 0;
  int64_t loopCheckpointEvery = 0; ///< GradOptions::loopCheckpointEvery
};

/// Builds the gradient of `f` w.r.t. `wrt`, runs it on `inputs`, and checks
/// each sampled element against (L(x + h) - L(x - h)) / 2h. Returns the
/// gradient function (nullptr on failure).
inline Function* expectGradientsMatchFiniteDifferences(Module& m, const Function& f,
                                                       const std::vector<Tensor>& inputs,
                                                       const std::vector<size_t>& wrt,
                                                       const GradCheckOptions& o = {}) {
  GradOptions go;
  go.wrt = wrt;
  go.lossResult = o.lossResult;
  go.loopCheckpointEvery = o.loopCheckpointEvery;
  auto g = buildGradient(m, f, go);
  EXPECT_TRUE(g.isOk()) << g.status().message();
  if (!g.isOk()) return nullptr;
  Status v = verify(**g);
  EXPECT_TRUE(v.isOk()) << v.message();
  auto out = interpret(**g, inputs);
  EXPECT_TRUE(out.isOk()) << out.status().message();
  if (!out.isOk()) return nullptr;
  auto plain = interpret(f, inputs);
  EXPECT_TRUE(plain.isOk()) << plain.status().message();
  if (!plain.isOk()) return nullptr;
  size_t nres = f.resultTypes.size();
  EXPECT_EQ(out->size(), nres + wrt.size());
  for (size_t r = 0; r < nres; ++r)
    EXPECT_EQ((*out)[r].toDoubles(), (*plain)[r].toDoubles()) << "forward result #" << r;

  auto lossAt = [&](const std::vector<Tensor>& in) {
    auto r = interpret(f, in);
    EXPECT_TRUE(r.isOk()) << r.status().message();
    return r.isOk() ? (*r)[o.lossResult].getDouble(0) : NAN;
  };
  SplitMix64 rng(o.seed);
  bool failed = false;
  for (size_t w = 0; w < wrt.size(); ++w) {
    const Tensor& x = inputs[wrt[w]];
    const Tensor& grad = (*out)[nres + w];
    EXPECT_EQ(grad.shape(), x.shape()) << "gradient #" << w << " has the wrong shape";
    if (grad.shape() != x.shape()) continue;
    int64_t n = x.numElements();
    std::vector<int64_t> picks;
    if (n <= o.maxElements) {
      for (int64_t i = 0; i < n; ++i) picks.push_back(i);
    } else {
      for (int k = 0; k < o.maxElements; ++k) picks.push_back(static_cast<int64_t>(rng.next() % n));
    }
    for (int64_t i : picks) {
      std::vector<Tensor> plus = inputs, minus = inputs;
      plus[wrt[w]].setDouble(i, x.getDouble(i) + o.h);
      minus[wrt[w]].setDouble(i, x.getDouble(i) - o.h);
      double fd = (lossAt(plus) - lossAt(minus)) / (2 * o.h);
      double ad = grad.getDouble(i);
      failed |= !(std::abs(ad - fd) <= o.atol + o.rtol * std::max(std::abs(fd), std::abs(ad)));
      EXPECT_LE(std::abs(ad - fd), o.atol + o.rtol * std::max(std::abs(fd), std::abs(ad)))
          << "d loss / d arg#" << wrt[w] << "[" << i << "]: autodiff " << ad
          << ", finite differences " << fd;
    }
  }
  if (failed && std::getenv("CAIRN_GRADCHECK_DUMP"))
    std::cerr << printFunction(f) << "\n" << printFunction(**g) << "\n";
  return *g;
}

/// Rewrites every f32 in `f` (values, results, constants) as f64, so whole
/// models can be checked against finite differences in double precision.
inline void promoteToF64(Function& f) {
  auto fix = [](TensorType& t) {
    if (t.dtype == DType::F32) t.dtype = DType::F64;
  };
  for (TensorType& t : f.resultTypes)
    fix(t);
  std::function<void(Region&)> visit = [&](Region& r) {
    for (Value* a : r.arguments())
      fix(a->type);
    for (const auto& op : r.ops()) {
      for (Value* v : op->results())
        fix(v->type);
      for (auto& [name, attr] : op->attrs) {
        Tensor* t = std::get_if<Tensor>(&attr);
        if (!t || t->dtype() != DType::F32) continue;
        Tensor wide(TensorType(DType::F64, t->shape()));
        for (int64_t i = 0; i < t->numElements(); ++i)
          wide.setDouble(i, t->getDouble(i));
        *t = wide;
      }
      for (size_t i = 0; i < op->numRegions(); ++i)
        visit(op->region(i));
    }
  };
  visit(f.body());
}

/// f32 tensors widened to f64 (others unchanged).
inline std::vector<Tensor> widen(const std::vector<Tensor>& ts) {
  std::vector<Tensor> out;
  for (const Tensor& t : ts) {
    if (t.dtype() != DType::F32) {
      out.push_back(t);
      continue;
    }
    Tensor wide(TensorType(DType::F64, t.shape()));
    for (int64_t i = 0; i < t.numElements(); ++i)
      wide.setDouble(i, t.getDouble(i));
    out.push_back(wide);
  }
  return out;
}

/// Uniform values in [lo, hi) of `type` (static shape).
inline Tensor randomTensor(const TensorType& type, uint64_t seed, double lo = -1, double hi = 1) {
  SplitMix64 rng(seed);
  Tensor t(type);
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.setDouble(i, lo + (hi - lo) * rng.uniform());
  return t;
}

/// For one op (or a small expression) `y = body(args)`: builds
/// loss(args..., w) = sum(y * w) with a random w of y's shape and checks the
/// gradient w.r.t. `wrt` against finite differences.
inline void checkExpressionGradient(const std::vector<TensorType>& argTypes,
                                    const std::function<Val(const ValueList&)>& body,
                                    const std::vector<Tensor>& inputs,
                                    const std::vector<size_t>& wrt,
                                    const GradCheckOptions& o = {}) {
  Module m;
  // A first build to learn y's type, then a run for its concrete shape.
  TensorType yType;
  {
    FunctionBuilder fb(m, "probe", argTypes);
    ValueList args;
    for (size_t i = 0; i < argTypes.size(); ++i)
      args.push_back(fb.arg(i));
    Val y = body(args);
    yType = y.type();
    fb.ret({y});
  }
  auto probe = interpret(m, "probe", inputs);
  ASSERT_TRUE(probe.isOk()) << probe.status().message();
  std::vector<TensorType> types = argTypes;
  types.push_back(yType);
  FunctionBuilder fb(m, "loss", types);
  ValueList args;
  for (size_t i = 0; i < argTypes.size(); ++i)
    args.push_back(fb.arg(i));
  Val y = body(args);
  std::vector<int64_t> all;
  for (int64_t d = 0; d < y.rank(); ++d)
    all.push_back(d);
  Val loss = y.rank() ? reduceSum(y * fb.arg(argTypes.size()), all) : y * fb.arg(argTypes.size());
  Function* f = fb.ret({loss});
  std::vector<Tensor> in = inputs;
  in.push_back(randomTensor((*probe)[0].type(), o.seed * 31 + 5));
  expectGradientsMatchFiniteDifferences(m, *f, in, wrt, o);
}

} // namespace cairn::testing
