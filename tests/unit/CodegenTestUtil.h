// Helpers for the CPU codegen tests: one-fusion functions from text, inputs
// full of special values, and comparisons bit for bit (NaN matching any NaN)
// or within a number of ulps.
#pragma once

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "PassesTestUtil.h"
#include "compiler/codegen/cpu/Jit.h"
#include "compiler/codegen/cpu/MathApprox.h"
#include "compiler/codegen/cpu/RunFusion.h"
#include "compiler/lowering/KernelDesc.h"

/// Skips the test (with a message) on a host where LLVM cannot JIT.
#define CAIRN_SKIP_WITHOUT_JIT()                                                                   \
  do {                                                                                             \
    if (!::cairn::codegen::cpu::cpuJitAvailable())                                                 \
      GTEST_SKIP() << "no in-process LLVM JIT on this host (cpuJitAvailable() is false)";          \
  } while (0)

namespace cairn::codegentest {

/// `func @f` whose body is one elementwise fusion of `args` (types) yielding
/// `results` (types); `body` holds the region's ops, which read %a0, %a1, ...
/// and end with a `yield`.
inline std::string fusionFunction(const std::vector<std::string>& args,
                                  const std::vector<std::string>& results,
                                  const std::string& body) {
  std::vector<std::string> params, bindings;
  for (size_t k = 0; k < args.size(); ++k) {
    params.push_back(fmt::format("%x{}: {}", k, args[k]));
    bindings.push_back(fmt::format("%a{} = %x{}", k, k));
  }
  std::string def = results.size() == 1 ? "%r" : fmt::format("%r:{}", results.size());
  std::vector<std::string> rets;
  for (size_t k = 0; k < results.size(); ++k)
    rets.push_back(results.size() == 1 ? "%r" : fmt::format("%r#{}", k));
  return fmt::format("func @f({}) -> ({}) {{\n  {} = fusion ({}) : ({}) -> ({}) {{\n{}  }} "
                     "{{kind = \"elementwise\"}}\n  return {}\n}}\n",
                     fmt::join(params, ", "), fmt::join(results, ", "), def,
                     fmt::join(bindings, ", "), fmt::join(args, ", "), fmt::join(results, ", "),
                     body, fmt::join(rets, ", "));
}

/// An LSTM-shaped cell update as fuse-elementwise leaves it: the gates
/// [B, 4H] (a0) split by four block gathers, then a state update with c
/// (a1); yields h and c. B is `?` when `dynamic`. Exact ops only (no tanh or
/// sigmoid, whose kernels differ from the reference by ulps), so every
/// backend must match the interpreter bit for bit.
inline std::string lstmGateSplitFusion(int64_t hidden, bool dynamic) {
  std::string b = dynamic ? "?" : "3";
  std::string body;
  for (int g = 0; g < 4; ++g) {
    std::vector<int64_t> idx;
    for (int64_t k = 0; k < hidden; ++k)
      idx.push_back(g * hidden + k);
    body += fmt::format("    %i{} = constant [{}] : tensor<{}xi64>\n", g, fmt::join(idx, ", "), hidden);
    body += fmt::format("    %g{} = gather %a0, %i{} {{axis = 1}} : tensor<{}x{}xf32>\n", g, g, b, hidden);
  }
  std::string t = fmt::format("tensor<{}x{}xf32>", b, hidden);
  body += fmt::format(R"(    %i = abs %g0 : {0}
    %f = neg %g1 : {0}
    %g = max %g2, %a1 : {0}
    %o = min %g3, %a1 : {0}
    %k = mul %f, %a1 : {0}
    %w = mul %i, %g : {0}
    %c = add %k, %w : {0}
    %h = mul %o, %c : {0}
    yield %h, %c
)",
                      t);
  return fusionFunction({fmt::format("tensor<{}x{}xf32>", b, 4 * hidden), t}, {t, t}, body);
}

/// Whether `haystack` contains `needle` (a readable failure when not).
inline ::testing::AssertionResult contains(const std::string& haystack, const std::string& needle) {
  if (haystack.find(needle) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "'" << haystack << "' does not contain '" << needle << "'";
}

/// The first `fusion` op of `m` (in walk order), or nullptr.
inline Op* firstFusion(const Module& m) {
  Op* found = nullptr;
  for (auto& f : m.functions())
    walk(*f, [&](Op& op) {
      if (!found && op.kind() == OpKind::Fusion) found = &op;
    });
  return found;
}

inline const std::vector<double>& floatSpecials() {
  static const std::vector<double> v = {0.0,
                                        -0.0,
                                        1.0,
                                        -1.0,
                                        0.5,
                                        -2.5,
                                        3.0,
                                        7.25,
                                        -1e-3,
                                        1e-40,
                                        -1e-45,
                                        1e-310,
                                        HUGE_VAL,
                                        -HUGE_VAL,
                                        NAN,
                                        3.4e38,
                                        -3.4e38,
                                        1e300,
                                        2147483647.9,
                                        -2147483648.5,
                                        -2147483649.0,
                                        2147483648.0,
                                        9223372036854775808.0,
                                        -9223372036854775808.0,
                                        -9223372036854777856.0,
                                        1.5e10,
                                        1e-20,
                                        65504.0,
                                        0.1,
                                        -88.5,
                                        89.0,
                                        710.0};
  return v;
}

inline const std::vector<int64_t>& intSpecials() {
  static const std::vector<int64_t> v = {0,
                                         1,
                                         -1,
                                         2,
                                         -7,
                                         13,
                                         100,
                                         -100,
                                         255,
                                         65536,
                                         std::numeric_limits<int32_t>::max(),
                                         std::numeric_limits<int32_t>::min(),
                                         std::numeric_limits<int64_t>::max(),
                                         std::numeric_limits<int64_t>::min(),
                                         int64_t(1) << 40,
                                         -(int64_t(1) << 33),
                                         12345678901};
  return v;
}

/// A tensor whose element i is special value number (i / S^variant) % S
/// (S = number of specials for its dtype), so inputs 0 and 1 of a binary
/// op meet every pair once the tensor has S^2 elements; elements past the
/// pairs are random. i1 tensors alternate in runs of 2^variant.
inline Tensor specialTensor(const TensorType& type, int variant, uint32_t seed = 1) {
  Tensor t(type);
  std::mt19937 rng(seed + variant);
  std::normal_distribution<double> normal(0.0, 10.0);
  int64_t n = t.numElements();
  if (isBool(type.dtype)) {
    for (int64_t i = 0; i < n; ++i)
      t.setInt(i, (i >> variant) & 1);
    return t;
  }
  bool f = isFloat(type.dtype);
  int64_t s = static_cast<int64_t>(f ? floatSpecials().size() : intSpecials().size());
  int64_t div = 1;
  for (int v = 0; v < variant; ++v)
    div *= s;
  for (int64_t i = 0; i < n; ++i) {
    bool special = i < s * s;
    int64_t k = (i / div) % s;
    if (f)
      t.setDouble(i, special ? floatSpecials()[k] : normal(rng));
    else
      t.setInt(i, special ? intSpecials()[k] : static_cast<int64_t>(normal(rng) * 1000));
  }
  return t;
}

/// Bit pattern of element i of a float tensor as an ordered integer: the
/// distance between two of them is the number of floats between (ulps).
inline int64_t orderedBits(const Tensor& t, int64_t i) {
  if (t.dtype() == DType::F32) {
    int32_t b;
    std::memcpy(&b, t.data<float>() + i, 4);
    return b < 0 ? int64_t(std::numeric_limits<int32_t>::min()) - b : b;
  }
  int64_t b;
  std::memcpy(&b, t.data<double>() + i, 8);
  return b < 0 ? std::numeric_limits<int64_t>::min() - b : b;
}

inline bool isNanAt(const Tensor& t, int64_t i) {
  return isFloat(t.dtype()) && std::isnan(t.getDouble(i));
}

/// Same type and, element by element, the same bits; NaN matches any NaN.
/// With maxUlp > 0 float elements may differ by that many ulps.
inline ::testing::AssertionResult sameElements(const Tensor& got, const Tensor& want,
                                               double maxUlp = 0,
                                               const std::vector<Tensor>* inputs = nullptr) {
  if (got.type() != want.type())
    return ::testing::AssertionFailure()
           << "type " << got.type().toString() << " != " << want.type().toString();
  size_t es = static_cast<size_t>(dtypeSize(got.dtype()));
  for (int64_t i = 0; i < got.numElements(); ++i) {
    if (isNanAt(got, i) && isNanAt(want, i)) continue;
    bool same = std::memcmp(got.rawData() + i * es, want.rawData() + i * es, es) == 0;
    if (!same && maxUlp > 0 && isFloat(got.dtype()) && !isNanAt(got, i) && !isNanAt(want, i)) {
      int64_t a = orderedBits(got, i), b = orderedBits(want, i);
      same = static_cast<double>(a > b ? a - b : b - a) <= maxUlp;
    }
    if (!same) {
      auto failure = ::testing::AssertionFailure();
      failure << fmt::format("element {} is {} (bits differ) but the reference gives {}", i,
                             got.getDouble(i), want.getDouble(i));
      if (inputs)
        for (size_t k = 0; k < inputs->size(); ++k)
          failure << fmt::format("; input {} = {}", k,
                                 (*inputs)[k].getDouble((*inputs)[k].numElements() > 1 ? i : 0));
      return failure;
    }
  }
  return ::testing::AssertionSuccess();
}

/// Parses `text`, compiles its first fusion and checks every result against
/// the reference interpreter (evaluateOp on the same op and inputs).
inline void expectMatchesReference(const std::string& text, const std::vector<Tensor>& inputs,
                                   double maxUlp = 0) {
  auto m = passtest::parseOk(text);
  ASSERT_TRUE(m);
  Op* fusion = firstFusion(*m);
  ASSERT_TRUE(fusion);
  auto want = evaluateOp(*fusion, inputs);
  ASSERT_TRUE(want.isOk()) << want.status().message();
  auto got = codegen::cpu::runFusionCompiled(*fusion, inputs);
  ASSERT_TRUE(got.isOk()) << got.status().message();
  ASSERT_EQ(got->size(), want->size());
  for (size_t k = 0; k < got->size(); ++k)
    EXPECT_TRUE(sameElements((*got)[k], (*want)[k], maxUlp, &inputs)) << "result " << k << " of\n"
                                                                      << text;
}

} // namespace cairn::codegentest
