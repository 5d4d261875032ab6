// Result comparison and the per-seed differential check.
#include "compiler/testing/DifferentialCheck.h"

#include <cmath>
#include <cstring>
#include <exception>

#include <fmt/ranges.h>

#include "ir/Printer.h"
#include "ir/Verifier.h"

namespace cairn {
namespace {

std::string elementString(const Tensor& t, int64_t i) {
  if (isFloat(t.dtype())) {
    double x = t.getDouble(i);
    return std::signbit(x) && x == 0 ? "-0.0" : fmt::format("{}", x);
  }
  if (isBool(t.dtype())) return t.getInt(i) ? "true" : "false";
  return fmt::format("{}", t.getInt(i));
}

std::string indexString(const Shape& shape, int64_t flat) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = flat % shape[d];
    flat /= shape[d];
  }
  return fmt::format("[{}]", fmt::join(idx, ", "));
}

bool elementsMatch(const Tensor& a, const Tensor& b, int64_t i, double tolerance) {
  if (tolerance == 0 || !isFloat(a.dtype())) {
    size_t size = static_cast<size_t>(dtypeSize(a.dtype()));
    return std::memcmp(a.rawData() + i * size, b.rawData() + i * size, size) == 0;
  }
  double x = a.getDouble(i), y = b.getDouble(i);
  if (std::isnan(x) || std::isnan(y)) return std::isnan(x) && std::isnan(y);
  if (std::isinf(x) || std::isinf(y)) return x == y;
  return std::abs(x - y) <= tolerance * std::max({1.0, std::abs(x), std::abs(y)});
}

} // namespace

uint64_t inputSeed(uint64_t seed, int set) {
  return set == 0 ? seed : seed ^ (0xd1b54a32d192ed03ULL * static_cast<uint64_t>(set));
}

std::string compareResults(const std::vector<Tensor>& expected, const std::vector<Tensor>& actual,
                           double tolerance) {
  if (expected.size() != actual.size())
    return fmt::format("{} results, expected {}", actual.size(), expected.size());
  for (size_t r = 0; r < expected.size(); ++r) {
    const Tensor& e = expected[r];
    const Tensor& a = actual[r];
    if (e.type() != a.type())
      return fmt::format("result #{} has type {}, expected {}", r, a.type().toString(),
                         e.type().toString());
    for (int64_t i = 0; i < e.numElements(); ++i)
      if (!elementsMatch(e, a, i, tolerance))
        return fmt::format("result #{} ({}) differs at {}: expected {}, got {}", r,
                           e.type().toString(), indexString(e.shape(), i), elementString(e, i),
                           elementString(a, i));
  }
  return "";
}

SeedReport checkSeed(uint64_t seed, Backend& reference, const std::vector<Backend*>& backends,
                     const DiffOptions& options) {
  SeedReport report;
  report.seed = seed;
  auto fail = [&](SeedReport::Outcome outcome, std::string backend, std::string message) {
    report.outcome = outcome;
    report.backend = std::move(backend);
    report.message = std::move(message);
    return report;
  };
  std::unique_ptr<Module> m;
  try {
    m = generateProgram(seed, options.generator);
  } catch (const std::exception& e) {
    return fail(SeedReport::Outcome::GeneratorError, "", e.what());
  }
  Status valid = verify(*m);
  if (!valid.isOk()) {
    report.program = printModule(*m);
    return fail(SeedReport::Outcome::GeneratorError, "", valid.message());
  }
  const Function* entry = m->lookup(kGeneratedEntry);
  std::vector<std::vector<Tensor>> inputs, expected;
  auto ref = reference.compile(*m);
  if (!ref.isOk()) {
    report.program = printModule(*m);
    return fail(SeedReport::Outcome::ReferenceError, reference.name(), ref.status().message());
  }
  for (int k = 0; k < options.inputSets; ++k) {
    inputs.push_back(generateInputs(*entry, inputSeed(seed, k)));
    auto out = (*ref)->run(kGeneratedEntry, inputs.back());
    if (!out.isOk()) {
      report.program = printModule(*m);
      return fail(SeedReport::Outcome::ReferenceError, reference.name(),
                  fmt::format("input set {}: {}", k, out.status().message()));
    }
    expected.push_back(std::move(*out));
  }
  for (Backend* b : backends) {
    auto exe = b->compile(*m);
    if (!exe.isOk()) {
      report.program = printModule(*m);
      return fail(SeedReport::Outcome::Mismatch, b->name(), exe.status().message());
    }
    for (int k = 0; k < options.inputSets; ++k) {
      auto out = (*exe)->run(kGeneratedEntry, inputs[k]);
      std::string diff = out.isOk() ? compareResults(expected[k], *out, options.tolerance)
                                    : "run error: " + out.status().message();
      if (!diff.empty()) {
        report.program = printModule(*m);
        report.compiled = (*exe)->describe();
        return fail(SeedReport::Outcome::Mismatch, b->name(),
                    fmt::format("input set {}: {}", k, diff));
      }
    }
  }
  return report;
}

bool stillMismatches(const Module& m, uint64_t seed, Backend& reference, Backend& backend,
                     const DiffOptions& options) {
  const Function* entry = m.lookup(kGeneratedEntry);
  if (!entry || !verify(m).isOk()) return false;
  auto ref = reference.compile(m);
  if (!ref.isOk()) return false;
  auto exe = backend.compile(m);
  if (!exe.isOk()) return true;
  for (int k = 0; k < options.inputSets; ++k) {
    std::vector<Tensor> inputs = generateInputs(*entry, inputSeed(seed, k));
    auto expected = (*ref)->run(kGeneratedEntry, inputs);
    if (!expected.isOk()) return false;
    auto actual = (*exe)->run(kGeneratedEntry, inputs);
    if (!actual.isOk() || !compareResults(*expected, *actual, options.tolerance).empty())
      return true;
  }
  return false;
}

} // namespace cairn
