// Helpers for the layer and model tests: build a one-function module whose
// arguments are some data inputs followed by a ParamStore's parameters, run
// it on the reference interpreter with initialized parameters, and compare
// against hand-written loops in double precision.
#pragma once

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "frontend/Builder.h"
#include "frontend/layers/Layers.h"
#include "frontend/layers/Params.h"
#include "ir/Verifier.h"
#include "runtime/reference/Interpreter.h"

namespace cairn::testing {

/// Uniform(-scale, scale) f32 tensor from a fixed seed.
inline Tensor randomTensor(const Shape& shape, uint32_t seed, double scale = 1.0) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(-scale, scale);
  Tensor t(TensorType(DType::F32, shape));
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.setDouble(i, u(gen));
  return t;
}

inline double maxAbsDiff(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

/// A module with one function `f(data..., params...)`.
struct LayerHarness {
  using BodyFn = std::function<ValueList(FunctionBuilder&, const ValueList& data)>;

  Module m;
  ParamStore ps;
  Function* f = nullptr;
  std::vector<Tensor> params;

  /// Builds f; the layers must already be declared in `ps`.
  Function* build(const std::vector<TensorType>& data, const BodyFn& body) {
    std::vector<TensorType> types = data;
    std::vector<std::string> names;
    for (size_t i = 0; i < data.size(); ++i)
      names.push_back("x" + std::to_string(i));
    for (const TensorType& t : ps.types())
      types.push_back(t);
    for (const std::string& n : ps.names())
      names.push_back(n);
    FunctionBuilder fb(m, "f", types, names);
    ps.bind(fb, data.size());
    ValueList args;
    for (size_t i = 0; i < data.size(); ++i)
      args.push_back(fb.arg(i));
    f = fb.ret(body(fb, args));
    EXPECT_TRUE(verify(m).isOk());
    return f;
  }

  /// Initializes the parameters (once) from `seed`, scaled up so the layers
  /// see values of order 1.
  void init(uint64_t seed = 7, double gain = 5.0) {
    if (!params.empty()) return;
    params = ps.initialize(seed);
    for (size_t i = 0; i < params.size(); ++i)
      if (ps.specs()[i].init == Init::Uniform)
        for (int64_t k = 0; k < params[i].numElements(); ++k)
          params[i].setDouble(k, gain * params[i].getDouble(k));
  }
  /// The parameter named `name` (after init()).
  Tensor& param(const std::string& name) {
    init();
    for (size_t i = 0; i < ps.size(); ++i)
      if (ps.specs()[i].name == name) return params[i];
    ADD_FAILURE() << "no parameter " << name;
    return params[0];
  }
  std::vector<double> paramD(const std::string& name) { return param(name).toDoubles(); }

  /// Runs f on data followed by the parameters; fails the test on error.
  std::vector<Tensor> run(const std::vector<Tensor>& data) {
    init();
    std::vector<Tensor> inputs = data;
    inputs.insert(inputs.end(), params.begin(), params.end());
    StatusOr<std::vector<Tensor>> r = interpret(*f, inputs);
    EXPECT_TRUE(r.isOk()) << r.status().message();
    if (!r.isOk()) return {};
    return *r;
  }
};

// ---- Hand-written math in double, row-major ---------------------------------

inline double sigm(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

/// y[r, :] = x[r, :] . w (+ b) for x [rows, in], w [in, out].
inline std::vector<double> affine(const std::vector<double>& x, const std::vector<double>& w,
                                  const std::vector<double>* b, int64_t in, int64_t out) {
  int64_t rows = static_cast<int64_t>(x.size()) / in;
  std::vector<double> y(static_cast<size_t>(rows * out), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < out; ++j) {
      double s = b ? (*b)[j] : 0.0;
      for (int64_t k = 0; k < in; ++k)
        s += x[r * in + k] * w[k * out + j];
      y[r * out + j] = s;
    }
  return y;
}

/// One LSTM step on rows: x [rows, in], h and c [rows, H] (updated in place).
inline void lstmStep(const std::vector<double>& x, std::vector<double>& h, std::vector<double>& c,
                     const std::vector<double>& wx, const std::vector<double>& wh,
                     const std::vector<double>& b, int64_t in, int64_t H) {
  std::vector<double> gx = affine(x, wx, &b, in, 4 * H), gh = affine(h, wh, nullptr, H, 4 * H);
  int64_t rows = static_cast<int64_t>(h.size()) / H;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < H; ++j) {
      auto g = [&](int64_t part) {
        return gx[r * 4 * H + part * H + j] + gh[r * 4 * H + part * H + j];
      };
      double i = sigm(g(0)), f = sigm(g(1)), cand = std::tanh(g(2)), o = sigm(g(3));
      double cn = f * c[r * H + j] + i * cand;
      c[r * H + j] = cn;
      h[r * H + j] = o * std::tanh(cn);
    }
}

/// One GRU step on rows (PyTorch's formulation); h updated in place.
inline void gruStep(const std::vector<double>& x, std::vector<double>& h,
                    const std::vector<double>& wx, const std::vector<double>& wh,
                    const std::vector<double>& bx, const std::vector<double>& bh, int64_t in,
                    int64_t H) {
  std::vector<double> gx = affine(x, wx, &bx, in, 3 * H), gh = affine(h, wh, &bh, H, 3 * H);
  int64_t rows = static_cast<int64_t>(h.size()) / H;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < H; ++j) {
      auto at = [&](const std::vector<double>& g, int64_t part) {
        return g[r * 3 * H + part * H + j];
      };
      double rr = sigm(at(gx, 0) + at(gh, 0)), z = sigm(at(gx, 1) + at(gh, 1));
      double n = std::tanh(at(gx, 2) + rr * at(gh, 2));
      h[r * H + j] = (1 - z) * n + z * h[r * H + j];
    }
}

} // namespace cairn::testing
