// Result comparison and the per-seed differential check.
#include "compiler/testing/DifferentialCheck.h"

#include <cmath>
#include <cstring>
#include <exception>
#include <set>

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

/// Forward dataflow over a function for comparisons with a tolerance: which
/// values may be inexact (computed by an approximated or reassociated op:
/// exp, log, tanh, sigmoid, pow, dot, reductions, or from such a value), and
/// which are unpinned (a discontinuous function of an inexact value: a float
/// to integer or i1 cast, a comparison, argmax, or anything computed from
/// an unpinned value, control flow included). A 1-ulp difference in tanh
/// flips `cast(tanh(x)) : i32` from 0 to 1, so no tolerance on floats pins
/// such a result; the check skips it.
class Exactness {
public:
  explicit Exactness(const Module* m) : module_(m) {}
  void run(const Region& r) {
    for (const auto& op : r.ops())
      visit(*op);
  }
  bool unpinned(const Value* v) const { return unpinned_.count(v) > 0; }

private:
  void visit(const Op& op) {
    bool inexactIn = false, unpinnedIn = false;
    for (const Value* v : op.operands) {
      inexactIn |= inexact_.count(v) > 0;
      unpinnedIn |= unpinned_.count(v) > 0;
    }
    for (size_t r = 0; r < op.numRegions(); ++r) {
      // Loop-carried values feed back: two passes settle one level of
      // nesting; whatever a region computes inexactly taints its results.
      for (int pass = 0; pass < 2; ++pass) {
        const Region& region = op.region(r);
        for (size_t a = 0; a < region.numArguments(); ++a) {
          if (inexactIn || (a < op.numResults() && inexact_.count(op.result(a))))
            inexact_.insert(region.argument(a));
          if (unpinnedIn) unpinned_.insert(region.argument(a));
        }
        run(region);
        for (const auto& inner : region.ops())
          for (const Value* v : inner->results()) {
            inexactIn |= inexact_.count(v) > 0;
            unpinnedIn |= unpinned_.count(v) > 0;
          }
        if (const Op* t = region.terminator())
          for (const Value* v : t->operands) {
            inexactIn |= inexact_.count(v) > 0;
            unpinnedIn |= unpinned_.count(v) > 0;
          }
      }
    }
    if (op.kind() == OpKind::Call) {
      // The callee, with its arguments as tainted as the operands.
      const Function* callee = nullptr;
      if (auto it = op.attrs.find("callee"); module_ && it != op.attrs.end())
        if (const auto* ref = std::get_if<SymbolRef>(&it->second)) callee = module_->lookup(ref->name);
      if (!callee) {
        for (const Value* v : op.results()) { // unknown: assume the worst
          unpinned_.insert(v);
          inexact_.insert(v);
        }
        return;
      }
      Exactness inner(module_);
      const Region& body = callee->body();
      for (size_t a = 0; a < body.numArguments() && a < op.numOperands(); ++a) {
        if (inexact_.count(op.operand(a))) inner.inexact_.insert(body.argument(a));
        if (unpinned_.count(op.operand(a))) inner.unpinned_.insert(body.argument(a));
      }
      inner.run(body);
      if (const Op* ret = body.terminator())
        for (size_t k = 0; k < ret->numOperands() && k < op.numResults(); ++k) {
          if (inner.inexact_.count(ret->operand(k))) inexact_.insert(op.result(k));
          if (inner.unpinned_.count(ret->operand(k))) unpinned_.insert(op.result(k));
        }
      return;
    }
    OpFamily family = opInfo(op.kind()).family;
    bool approximated = op.kind() == OpKind::Exp || op.kind() == OpKind::Log ||
                        op.kind() == OpKind::Tanh || op.kind() == OpKind::Sigmoid ||
                        op.kind() == OpKind::Erf ||
                        op.kind() == OpKind::Pow || op.kind() == OpKind::Dot ||
                        family == OpFamily::Reduce || op.kind() == OpKind::ScatterAdd;
    bool discontinuous = family == OpFamily::Compare || family == OpFamily::Argmax ||
                         (family == OpFamily::Cast && op.numOperands() == 1 &&
                          isFloat(op.operand(0)->type.dtype));
    for (const Value* v : op.results()) {
      if (unpinnedIn || (inexactIn && discontinuous)) unpinned_.insert(v);
      if (inexactIn || approximated) inexact_.insert(v);
    }
  }

  const Module* module_;
  std::set<const Value*> inexact_, unpinned_;
};

} // namespace

std::vector<bool> comparableResults(const Function& f, const Module* m) {
  Exactness e(m);
  e.run(f.body());
  std::vector<bool> out;
  if (const Op* ret = f.body().terminator())
    for (const Value* v : ret->operands)
      out.push_back(!e.unpinned(v));
  return out;
}

uint64_t inputSeed(uint64_t seed, int set) {
  return set == 0 ? seed : seed ^ (0xd1b54a32d192ed03ULL * static_cast<uint64_t>(set));
}

std::string compareResults(const std::vector<Tensor>& expected, const std::vector<Tensor>& actual,
                           double tolerance, const std::vector<bool>& comparable) {
  if (expected.size() != actual.size())
    return fmt::format("{} results, expected {}", actual.size(), expected.size());
  for (size_t r = 0; r < expected.size(); ++r) {
    if (r < comparable.size() && !comparable[r]) continue;
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
  // With a tolerance, results that an inexact value decides discontinuously
  // cannot be compared (comparableResults); bit-exact checks compare all.
  std::vector<bool> comparable;
  if (options.tolerance > 0) comparable = comparableResults(*entry, m.get());
  for (Backend* b : backends) {
    auto exe = b->compile(*m);
    if (!exe.isOk()) {
      report.program = printModule(*m);
      return fail(SeedReport::Outcome::Mismatch, b->name(), exe.status().message());
    }
    for (int k = 0; k < options.inputSets; ++k) {
      auto out = (*exe)->run(kGeneratedEntry, inputs[k]);
      std::string diff = out.isOk() ? compareResults(expected[k], *out, options.tolerance, comparable)
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
    std::vector<bool> comparable;
    if (options.tolerance > 0) comparable = comparableResults(*entry, &m);
    if (!actual.isOk() ||
        !compareResults(*expected, *actual, options.tolerance, comparable).empty())
      return true;
  }
  return false;
}

} // namespace cairn
