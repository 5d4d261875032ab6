// Helpers for the compiled executor's tests: compile text IR or a built
// module, run it, and compare with the reference interpreter.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "compiler/codegen/cpu/CompileExecutable.h"
#include "compiler/codegen/cpu/Jit.h"
#include "ir/OpKind.h"
#include "ir/Parser.h"
#include "ir/Verifier.h"
#include "runtime/reference/Interpreter.h"

namespace cairn::exectest {

inline std::unique_ptr<Module> parseOk(const std::string& ir) {
  auto m = parseModule(ir, "test.cairn");
  EXPECT_TRUE(m.isOk()) << m.status().message();
  if (!m.isOk()) return nullptr;
  Status v = verify(**m);
  EXPECT_TRUE(v.isOk()) << v.message();
  return std::move(m).value();
}

inline std::unique_ptr<exec::Executable> compileOk(const Module& m,
                                                   const codegen::cpu::CompileOptions& o = {},
                                                   codegen::cpu::CompileReport* report = nullptr) {
  auto exe = codegen::cpu::compileExecutable(m, o, report);
  EXPECT_TRUE(exe.isOk()) << exe.status().message();
  return exe.isOk() ? std::move(exe).value() : nullptr;
}

/// max|got - want| / max(max|want|, 1e-6) over the tensor (the golden
/// tests' measure); integers and i1 must be equal (0 or +inf). NaNs must be
/// at the same places.
inline double relDiff(const Tensor& got, const Tensor& want) {
  if (got.type() != want.type()) return INFINITY;
  if (!isFloat(want.dtype())) return got == want ? 0 : INFINITY;
  double maxDiff = 0, maxWant = 1e-6;
  for (int64_t i = 0; i < want.numElements(); ++i) {
    double a = got.getDouble(i), b = want.getDouble(i);
    if (std::isnan(a) || std::isnan(b)) {
      if (std::isnan(a) != std::isnan(b)) return INFINITY;
      continue;
    }
    if (std::isinf(a) || std::isinf(b)) {
      if (a != b) return INFINITY;
      continue;
    }
    maxDiff = std::max(maxDiff, std::fabs(a - b));
    maxWant = std::max(maxWant, std::fabs(b));
  }
  return maxDiff / maxWant;
}

/// Runs `fn` of `m` in the interpreter and of `exe`, and expects the same
/// results within `tol`.
inline void expectMatches(const Module& m, const exec::Executable& exe, const std::string& fn,
                          const std::vector<Tensor>& inputs, double tol = 1e-5,
                          exec::ExecutionContext* ctx = nullptr) {
  auto want = interpret(m, fn, inputs);
  ASSERT_TRUE(want.isOk()) << want.status().message();
  exec::ExecutionContext own;
  auto got = exe.run(fn, inputs, ctx ? *ctx : own);
  ASSERT_TRUE(got.isOk()) << got.status().message() << "\n" << exe.describe();
  ASSERT_EQ(got->size(), want->size());
  for (size_t i = 0; i < want->size(); ++i)
    EXPECT_LE(relDiff((*got)[i], (*want)[i]), tol)
        << fn << " result #" << i << "\n got " << (*got)[i].toString().substr(0, 400)
        << "\nwant " << (*want)[i].toString().substr(0, 400) << "\n"
        << exe.describe();
}

/// Every op's worked example (ir/OpExamples.def), for the executors' tests.
struct OpExample {
  OpKind kind;
  std::string_view text;
};
inline constexpr OpExample kOpExamples[] = {
#define CAIRN_OP_EXAMPLE(Enum, Text) {OpKind::Enum, Text},
#include "ir/OpExamples.def"
};

/// Deterministic non-trivial inputs (`?` dims are 3): small integers for
/// integer types, varied floats otherwise, alternating i1.
inline Tensor inputOf(TensorType type, int salt) {
  for (int64_t& d : type.shape)
    if (d == kDynamic) d = 3;
  Tensor t(type);
  for (int64_t i = 0; i < t.numElements(); ++i) {
    if (type.dtype == DType::I1) t.setInt(i, (i + salt) % 2);
    else if (isFloat(type.dtype)) t.setDouble(i, 0.25 * ((i * 7 + salt) % 11) - 1.0);
    else t.setInt(i, (i + salt) % 3);
  }
  return t;
}

#define CAIRN_REQUIRE_JIT()                                                                        \
  if (!codegen::cpu::cpuJitAvailable()) GTEST_SKIP() << "no LLVM JIT on this host"

} // namespace cairn::exectest
