// Helpers for the reference interpreter's tests: parse a module from text,
// verify it, run a function, and build or check tensors tersely.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ir/Parser.h"
#include "ir/Verifier.h"
#include "runtime/reference/Interpreter.h"

namespace cairn::testing {

/// A tensor of the type spelled `type` (e.g. "tensor<2x3xf32>") holding
/// `values` in row-major order.
inline Tensor T(const std::string& type, const std::vector<double>& values) {
  StatusOr<TensorType> t = parseTensorType(type);
  EXPECT_TRUE(t.isOk()) << t.status().message();
  if (!t.isOk()) return Tensor();
  if (!isFloat(t->dtype)) {
    std::vector<int64_t> ints(values.begin(), values.end());
    return Tensor::fromInts(*t, ints);
  }
  return Tensor::fromDoubles(*t, values);
}

/// An integer tensor built exactly (no trip through double).
inline Tensor TI(const std::string& type, const std::vector<int64_t>& values) {
  StatusOr<TensorType> t = parseTensorType(type);
  EXPECT_TRUE(t.isOk()) << t.status().message();
  if (!t.isOk()) return Tensor();
  return Tensor::fromInts(*t, values);
}

/// Parses and verifies `ir`, then runs @fn on `inputs`.
inline StatusOr<std::vector<Tensor>> run(const std::string& ir, const std::vector<Tensor>& inputs,
                                         const std::string& fn = "f",
                                         const InterpreterOptions& opts = {}) {
  auto m = parseModule(ir, "test.cairn");
  if (!m.isOk()) return Status::error("parse failed: " + m.status().message());
  Status v = verify(**m);
  if (!v.isOk()) return Status::error("verify failed: " + v.message());
  return interpret(**m, fn, inputs, opts);
}

/// Runs and expects success; returns the results (empty on failure).
inline std::vector<Tensor> runOk(const std::string& ir, const std::vector<Tensor>& inputs = {},
                                 const InterpreterOptions& opts = {}) {
  auto r = run(ir, inputs, "f", opts);
  EXPECT_TRUE(r.isOk()) << r.status().message();
  return r.isOk() ? *r : std::vector<Tensor>{};
}

/// Runs and expects a run-time error; returns its message.
inline std::string runError(const std::string& ir, const std::vector<Tensor>& inputs = {},
                            const InterpreterOptions& opts = {}) {
  auto r = run(ir, inputs, "f", opts);
  EXPECT_FALSE(r.isOk()) << "expected an error";
  if (r.isOk()) return "";
  EXPECT_EQ(r.status().message().find("failed:"), std::string::npos) << r.status().message();
  return r.status().message();
}

/// Runs a single-result function and returns the result.
inline Tensor run1(const std::string& ir, const std::vector<Tensor>& inputs = {},
                   const InterpreterOptions& opts = {}) {
  std::vector<Tensor> r = runOk(ir, inputs, opts);
  EXPECT_EQ(r.size(), 1u);
  return r.empty() ? Tensor() : r[0];
}

/// Checks type and values; NaN matches NaN; `tol` is an absolute tolerance.
inline ::testing::AssertionResult sameTensor(const Tensor& t, const std::string& type,
                                             const std::vector<double>& values, double tol = 0) {
  if (t.type().toString() != type)
    return ::testing::AssertionFailure() << "type " << t.type().toString() << " != " << type;
  std::vector<double> got = t.toDoubles();
  if (got.size() != values.size())
    return ::testing::AssertionFailure() << got.size() << " values, expected " << values.size();
  for (size_t i = 0; i < got.size(); ++i) {
    bool ok = (std::isnan(values[i]) && std::isnan(got[i])) || got[i] == values[i] ||
              std::fabs(got[i] - values[i]) <= tol;
    if (!ok)
      return ::testing::AssertionFailure() << "element " << i << " is " << got[i] << ", expected "
                                           << values[i] << " in " << t.toString();
  }
  return ::testing::AssertionSuccess();
}

/// Whether `haystack` contains `needle` (a readable failure when not).
inline ::testing::AssertionResult contains(const std::string& haystack, const std::string& needle) {
  if (haystack.find(needle) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "'" << haystack << "' does not contain '" << needle << "'";
}

} // namespace cairn::testing
