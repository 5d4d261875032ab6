// Helpers for the pass tests: parse and verify text IR, count ops, make
// inputs full of the values that catch inexact rewrites (-0.0, NaN, inf),
// and run a function before and after a pipeline to compare bit for bit.
#pragma once

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "compiler/Pipeline.h"
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "runtime/reference/Interpreter.h"

namespace cairn::passtest {

/// Parses and verifies `text`; fails the test (and returns null) otherwise.
inline std::unique_ptr<Module> parseOk(std::string_view text) {
  auto m = parseModule(text, "test.cairn");
  EXPECT_TRUE(m.isOk()) << m.status().message();
  if (!m.isOk()) return nullptr;
  Status valid = verify(**m);
  EXPECT_TRUE(valid.isOk()) << valid.message();
  return valid.isOk() ? std::move(*m) : nullptr;
}

inline int countOps(const Module& m, OpKind kind) {
  int n = 0;
  for (auto& f : m.functions())
    walk(*f, [&](Op& op) { n += op.kind() == kind; });
  return n;
}

inline int countAllOps(const Module& m) {
  int n = 0;
  for (auto& f : m.functions())
    walk(*f, [&](Op&) { ++n; });
  return n;
}

/// Deterministic inputs for `f`: floats cycle through values that break
/// inexact rewrites; integers stay in [0, 3] so they are valid trip counts
/// and indices; `variant` shifts the cycle. Dynamic dims are 3.
inline std::vector<Tensor> specialInputs(const Function& f, int variant) {
  static const double kFloats[] = {1.5,
                                   -0.0,
                                   0.0,
                                   -2.25,
                                   std::numeric_limits<double>::infinity(),
                                   0.75,
                                   std::numeric_limits<double>::quiet_NaN(),
                                   -1.0,
                                   3.0,
                                   -std::numeric_limits<double>::infinity(),
                                   1e-3,
                                   2.0};
  std::vector<Tensor> inputs;
  int k = variant * 5;
  for (TensorType type : f.argumentTypes()) {
    for (int64_t& d : type.shape)
      if (d == kDynamic) d = 3;
    Tensor t(type);
    for (int64_t i = 0; i < t.numElements(); ++i, ++k) {
      if (isFloat(type.dtype))
        t.setDouble(i, kFloats[k % std::size(kFloats)]);
      else if (isBool(type.dtype))
        t.setInt(i, (k / 2) % 2);
      else
        t.setInt(i, k % 4);
    }
    inputs.push_back(std::move(t));
  }
  return inputs;
}

/// Runs every function of `m` on two input variants; errors are results
/// too (a pass must not turn an error into a value, except by removing the
/// code that fails).
inline std::vector<std::string> runAll(const Module& m) {
  std::vector<std::string> out;
  for (auto& f : m.functions())
    for (int variant = 0; variant < 2; ++variant) {
      InterpreterOptions opts;
      opts.defaultMaxTrip = 1000;
      auto r = interpret(*f, specialInputs(*f, variant), opts);
      if (!r.isOk()) {
        out.push_back(f->name + ": error");
        continue;
      }
      for (const Tensor& t : *r) {
        // Bytes, not values: NaN == NaN and -0.0 != 0.0 here.
        std::string bytes(reinterpret_cast<const char*>(t.rawData()), t.byteSize());
        out.push_back(f->name + ": " + t.type().toString() + " " + bytes);
      }
    }
  return out;
}

/// Runs `passes` on `text` and checks every function's results are
/// bit-identical before and after, and that the result verifies and
/// round-trips through the printer.
inline void expectPreservesResults(std::string_view text, const std::vector<std::string>& passes) {
  auto m = parseOk(text);
  ASSERT_TRUE(m);
  std::vector<std::string> before = runAll(*m);
  PipelineOptions opts;
  opts.verifyEach = true;
  Status ran = runPipeline(*m, passes, opts);
  ASSERT_TRUE(ran.isOk()) << ran.message();
  std::vector<std::string> after = runAll(*m);
  ASSERT_EQ(before.size(), after.size());
  for (size_t i = 0; i < before.size(); ++i)
    EXPECT_EQ(before[i], after[i]) << "result " << i << " differs; IR after:\n" << printModule(*m);
  std::string printed = printModule(*m);
  auto reparsed = parseOk(printed);
  ASSERT_TRUE(reparsed);
  EXPECT_EQ(printModule(*reparsed), printed);
}

} // namespace cairn::passtest
