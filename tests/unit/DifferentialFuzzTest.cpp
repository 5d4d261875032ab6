// Differential fuzzing in CI: a fixed batch of 1000 generated programs
// (compiler/testing/ProgramGenerator.h) must give bit-identical results on
// the reference interpreter before and after the default and optimize
// pipelines. Also checks the generator itself (deterministic, every program
// verifies, runs without error to finite results, and the batch covers every
// op family) and the harness (result comparison, backend specs, reducer).
// More seeds: scripts/fuzz-diff.sh (docs/passes.md, "Differential fuzzing").
#include <cmath>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "compiler/Pipeline.h"
#include "compiler/codegen/cpu/CompileExecutable.h"
#include "compiler/codegen/cpu/Jit.h"
#include "compiler/testing/ExecBackend.h"
#include "compiler/testing/DifferentialCheck.h"
#include "PassesTestUtil.h"
#include "compiler/testing/Reducer.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "runtime/reference/Interpreter.h"

namespace cairn {
namespace {

/// Seeds for the generator's own checks, and for the pipeline batch (about
/// 2 ms a seed for both pipelines in RelWithDebInfo).
constexpr uint64_t kSeeds = 300;
constexpr uint64_t kBatchSeeds = 1000;

//===--- The generator ---------------------------------------------------------===//

TEST(ProgramGeneratorTest, IsDeterministic) {
  std::set<std::string> distinct;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    auto a = generateProgram(seed);
    auto b = generateProgram(seed);
    std::string text = printModule(*a);
    EXPECT_EQ(text, printModule(*b)) << "seed " << seed;
    distinct.insert(text);
    const Function& f = *a->lookup(kGeneratedEntry);
    std::vector<Tensor> x = generateInputs(f, seed), y = generateInputs(f, seed);
    ASSERT_EQ(x.size(), y.size());
    for (size_t i = 0; i < x.size(); ++i)
      EXPECT_EQ(x[i], y[i]) << "seed " << seed << ", input " << i;
  }
  EXPECT_EQ(distinct.size(), 20u);
}

bool allFinite(const Tensor& t) {
  if (!isFloat(t.dtype())) return true;
  for (int64_t i = 0; i < t.numElements(); ++i)
    if (!std::isfinite(t.getDouble(i))) return false;
  return true;
}

TEST(ProgramGeneratorTest, ProgramsVerifyAndRunToFiniteResults) {
  for (uint64_t seed = 0; seed < kSeeds; ++seed) {
    auto m = generateProgram(seed);
    Status valid = verify(*m);
    ASSERT_TRUE(valid.isOk()) << "seed " << seed << ": " << valid.message() << "\n"
                              << printModule(*m);
    const Function& f = *m->lookup(kGeneratedEntry);
    auto out = interpret(*m, kGeneratedEntry, generateInputs(f, seed));
    ASSERT_TRUE(out.isOk()) << "seed " << seed << ": " << out.status().message() << "\n"
                            << printModule(*m);
    for (size_t i = 0; i < out->size(); ++i)
      EXPECT_TRUE(allFinite((*out)[i]))
          << "seed " << seed << ", result " << i << ": " << (*out)[i].toString() << "\n"
          << printModule(*m);
  }
}

/// Op kinds and structural features seen in `m`.
void collectFeatures(const Module& m, std::set<std::string>& seen) {
  for (auto& f : m.functions()) {
    for (Value* a : f->body().arguments())
      if (!a->type.hasStaticShape()) seen.insert("dynamic parameter");
    walk(*f, [&](Op& op) {
      seen.insert(std::string(op.name()));
      for (Op* p = op.parentOp(); p; p = p->parentOp()) {
        if (p->kind() == OpKind::While && op.kind() == OpKind::While) seen.insert("nested while");
        if (p->kind() == OpKind::While && op.kind() == OpKind::If) seen.insert("if in while");
        if (p->kind() != OpKind::Fusion && op.kind() == OpKind::Call) seen.insert("call in region");
      }
      if (op.kind() == OpKind::Dot && op.hasAttr("lhs_batch")) seen.insert("batched dot");
      if ((op.kind() == OpKind::Gather || op.kind() == OpKind::Scatter ||
           op.kind() == OpKind::ScatterAdd) &&
          op.getIntOr("batch_dims", 0) > 0)
        seen.insert("batched gather/scatter");
      if (op.kind() == OpKind::While && op.numOperands() > op.numResults()) {
        Value* trip = op.operands.back();
        if (!trip->definingOp() || trip->definingOp()->kind() != OpKind::Constant)
          seen.insert("data-dependent max_trip");
      }
      for (Value* r : op.results())
        seen.insert(std::string(dtypeName(r->type.dtype)));
    });
  }
}

TEST(ProgramGeneratorTest, CoversEveryOpFamily) {
  std::set<std::string> seen;
  for (uint64_t seed = 0; seed < kSeeds; ++seed)
    collectFeatures(*generateProgram(seed), seen);
  const char* wanted[] = {
      // elementwise
      "neg", "abs", "exp", "log", "tanh", "sigmoid", "relu", "sqrt", "rsqrt", "not", "add", "sub",
      "mul", "div", "max", "min", "pow", "and", "or", "eq", "ne", "lt", "le", "gt", "ge", "select",
      "cast",
      // shape and data movement
      "broadcast", "reshape", "transpose", "concat", "slice", "dynamic_slice",
      "dynamic_update_slice", "gather", "scatter", "scatter_add", "iota",
      // reductions, products, values
      "reduce_sum", "reduce_max", "reduce_min", "argmax", "dot", "constant", "dim", "stop_gradient",
      // control flow and structure
      "while", "if", "call", "nested while", "if in while", "call in region", "batched dot",
      "batched gather/scatter", "data-dependent max_trip", "dynamic parameter",
      // dtypes
      "f32", "i32", "i1"};
  for (const char* w : wanted)
    EXPECT_TRUE(seen.count(w)) << "no generated program over " << kSeeds << " seeds has " << w;
}

// Pairs of loops whose producers lowering moves onto their threads
// (compiler/lowering/PairLoops.cpp) are among the programs the compiled
// executor's batch below runs (the generator's loop pairs).
TEST(ProgramGeneratorTest, LoopPairsWithTheirProducersReachTheExecutor) {
  int pairs = 0, moved = 0;
  for (uint64_t seed = 0; seed < kSeeds; ++seed) {
    codegen::cpu::CompileOptions o;
    o.lower.kernels = false; // lowering's counts are all this needs: no JIT
    codegen::cpu::CompileReport report;
    auto exe = codegen::cpu::compileExecutable(*generateProgram(seed), o, &report);
    ASSERT_TRUE(exe.isOk()) << "seed " << seed << ": " << exe.status().message();
    pairs += report.parallel;
    moved += report.pairedProducers;
  }
  EXPECT_GT(pairs, 0) << "no pair of loops in " << kSeeds << " seeds";
  EXPECT_GT(moved, 0) << "no producer moved into a pair in " << kSeeds << " seeds";
}

//===--- The pipelines against the interpreter ------------------------------------===//

void expectBatchMatches(const std::string& spec, uint64_t seeds = kBatchSeeds,
                        double tolerance = 0) {
  auto reference = createBackend("interpreter");
  auto backend = createBackend(spec);
  ASSERT_TRUE(reference.isOk()) << reference.status().message();
  ASSERT_TRUE(backend.isOk()) << backend.status().message();
  DiffOptions options;
  options.tolerance = tolerance;
  int failures = 0;
  for (uint64_t seed = 0; seed < seeds && failures < 3; ++seed) {
    SeedReport r = checkSeed(seed, **reference, {backend->get()}, options);
    if (r.ok()) continue;
    ++failures;
    ADD_FAILURE() << "seed " << seed << " (" << r.backend << "): " << r.message
                  << "\nreproduce: cairn-fuzz-diff --seeds " << seed << " --backend " << spec
                  << (tolerance > 0 ? fmt::format(" --tolerance {}", tolerance) : "")
                  << " --minimize\nprogram:\n"
                  << r.program;
  }
}

TEST(DifferentialFuzzTest, DefaultPipelineMatchesInterpreter) {
  expectBatchMatches("pipeline:default+interpreter");
}

TEST(DifferentialFuzzTest, OptimizePipelineMatchesInterpreter) {
  auto passes = lookupPipeline("optimize");
  if (!passes.isOk()) GTEST_SKIP() << "no optimize pipeline yet: " << passes.status().message();
  expectBatchMatches("pipeline:optimize+interpreter");
}

// The compiled executor (JIT kernels, BLAS, in-place updates) on 300 random
// programs; scripts/fuzz-diff.sh runs any number. Its floats may differ from
// the interpreter's within the JIT's approximation bounds and BLAS's
// summation order, hence the tolerance.
TEST(DifferentialFuzzTest, CompiledExecutorMatchesInterpreter) {
  if (!codegen::cpu::cpuJitAvailable()) GTEST_SKIP() << "no JIT on this host";
  ASSERT_TRUE(registerExecBackend().isOk());
  expectBatchMatches("exec", 300, 1e-4);
}

// The CUDA backend on the emulated device: the generated device kernels,
// the device executor's loops, branches and host-run ops, on 1000 random
// programs (scripts/fuzz-diff.sh --backend cuda runs any number).
TEST(DifferentialFuzzTest, CudaBackendOnEmulatedDeviceMatchesInterpreter) {
  if (!codegen::cpu::cpuJitAvailable()) GTEST_SKIP() << "no JIT on this host";
  ASSERT_TRUE(registerExecBackend().isOk());
  expectBatchMatches("cuda", 1000, 1e-4);
}

// cairn-fuzz-diff --backend cuda --jobs 2 gives each worker thread its own
// backends; the two compiled and ran on one shared device and crashed. Two
// threads checking seeds at once must each see every seed match.
TEST(DifferentialFuzzTest, CudaBackendFromTwoThreadsAtOnce) {
  if (!codegen::cpu::cpuJitAvailable()) GTEST_SKIP() << "no JIT on this host";
  ASSERT_TRUE(registerExecBackend().isOk());
  std::vector<std::string> failures(2);
  auto work = [&](int j) {
    auto reference = createBackend("interpreter");
    auto backend = createBackend("cuda");
    if (!reference.isOk() || !backend.isOk()) {
      failures[j] = "no backend";
      return;
    }
    DiffOptions options;
    options.tolerance = 1e-4;
    for (uint64_t seed = j; seed < 60; seed += 2) {
      SeedReport r = checkSeed(seed, **reference, {backend->get()}, options);
      if (!r.ok()) {
        failures[j] = fmt::format("seed {}: {}", seed, r.message);
        return;
      }
    }
  };
  std::thread a(work, 0), b(work, 1);
  a.join();
  b.join();
  EXPECT_EQ(failures[0], "");
  EXPECT_EQ(failures[1], "");
}

// Found by the fuzzer (seeds 174 and 6652 of the first generator):
// hoist-input-projection read the last dim of a rank-0 reshape operand (a
// segfault) when a loop's dot multiplied a reshaped scalar, as an inlined
// helper left it.
TEST(DifferentialCheckTest, ResultsAnInexactValueDecidesAreNotCompared) {
  // cast(tanh(x)) : i32 flips 0 <-> 1 when tanh is 1 ulp from 1.0 (seed
  // 20523 of the exec backend); an exact float's comparison stays compared,
  // and taint flows through calls and loops.
  auto m = passtest::parseOk(R"(func @h(%a: tensor<3xf32>) -> tensor<3xi1> {
  %z = constant 0.0 : tensor<3xf32>
  %c = gt %a, %z : tensor<3xi1>
  return %c
}
func @f(%x: tensor<3xf32>, %n: tensor<i32>) -> (tensor<3xi32>, tensor<3xi1>, tensor<3xf32>, tensor<3xi1>, tensor<3xi1>, tensor<3xf32>) {
  %t = tanh %x : tensor<3xf32>
  %c = cast %t : tensor<3xi32>
  %d = add %x, %x : tensor<3xf32>
  %z = constant 0.0 : tensor<3xf32>
  %e = gt %d, %z : tensor<3xi1>
  %k1 = call @h(%t) : tensor<3xi1>
  %k2 = call @h(%d) : tensor<3xi1>
  %zero = constant 0 : tensor<i32>
  %r:2 = while (%i = %zero, %v = %d) : (tensor<i32>, tensor<3xf32>) cond {
    %g = lt %i, %n : tensor<i1>
    yield %g
  } body {
    %one = constant 1 : tensor<i32>
    %i1 = add %i, %one : tensor<i32>
    %w = exp %v : tensor<3xf32>
    %p = gt %w, %z : tensor<3xi1>
    %q = select %p, %w, %v : tensor<3xf32>
    yield %i1, %q
  }
  return %c, %e, %t, %k1, %k2, %r#1
})");
  ASSERT_TRUE(m);
  EXPECT_EQ(comparableResults(*m->lookup("f"), m.get()),
            (std::vector<bool>{false, true, true, false, true, false}));
}

TEST(DifferentialFuzzRegressionTest, HoistInputProjectionSkipsReshapedScalars) {
  const char* text = R"(
func @f(%s: tensor<f32>, %w: tensor<1x4xf32>, %n: tensor<i32>) -> tensor<4xf32> {
  %zero = constant 0 : tensor<i32>
  %acc0 = constant 0.0 : tensor<4xf32>
  %r:2 = while (%t = %zero, %acc = %acc0) : (tensor<i32>, tensor<4xf32>) cond {
    %go = lt %t, %n : tensor<i1>
    yield %go
  } body {
    %v = reshape %s : tensor<1xf32>
    %p = dot %v, %w : tensor<4xf32>
    %one = constant 1 : tensor<i32>
    %t1 = add %t, %one : tensor<i32>
    yield %t1, %p
  }
  return %r#1
}
)";
  passtest::expectPreservesResults(text, {"hoist-input-projection"});
  passtest::expectPreservesResults(text, optimizePipeline());
}

//===--- The harness ---------------------------------------------------------------===//

TEST(DifferentialCheckTest, ComparesBitsOrWithTolerance) {
  TensorType t(DType::F32, {3});
  Tensor a = Tensor::fromDoubles(t, {-0.0, std::nan(""), 1.0});
  Tensor b = Tensor::fromDoubles(t, {0.0, std::nan(""), 1.0});
  Tensor c = Tensor::fromDoubles(t, {-0.0, std::nan(""), 1.000001});
  EXPECT_EQ(compareResults({a}, {a}, 0), "");
  EXPECT_NE(compareResults({a}, {b}, 0).find("differs at [0]: expected -0.0, got 0"),
            std::string::npos)
      << compareResults({a}, {b}, 0);
  EXPECT_EQ(compareResults({a}, {b}, 1e-5), "");
  EXPECT_NE(compareResults({a}, {c}, 0), "");
  EXPECT_EQ(compareResults({a}, {c}, 1e-5), "");
  EXPECT_NE(compareResults({a}, {c}, 1e-8), "");
  EXPECT_NE(compareResults({a}, {a, a}, 0), "");
  Tensor i = Tensor::fromInts(TensorType(DType::I32, {3}), {1, 2, 3});
  EXPECT_NE(compareResults({a}, {i}, 1e-5).find("has type"), std::string::npos);
}

TEST(BackendTest, ParsesSpecs) {
  for (const char* spec : {"interpreter", "pipeline:default+interpreter",
                           "passes:canonicalize,cse+pipeline:default+interpreter"}) {
    auto b = createBackend(spec);
    ASSERT_TRUE(b.isOk()) << spec << ": " << b.status().message();
    EXPECT_EQ((*b)->name(), spec);
  }
  auto unknown = createBackend("tpu");
  ASSERT_FALSE(unknown.isOk());
  EXPECT_NE(unknown.status().message().find("known executors: interpreter"), std::string::npos);
  EXPECT_FALSE(createBackend("pipeline:nope+interpreter").isOk());
  EXPECT_FALSE(createBackend("fold+interpreter").isOk());
  auto badPass = createBackend("passes:nope+interpreter");
  ASSERT_TRUE(badPass.isOk()); // pass names are checked when compiling
  auto m = generateProgram(0);
  EXPECT_FALSE((*badPass)->compile(*m).isOk());
}

/// An executor that computes a wrong first element whenever the module
/// holds a `tanh`: a stand-in for a miscompiling backend.
class TanhBugBackend : public Backend {
  class Exe : public Executable {
  public:
    Exe(std::unique_ptr<Executable> inner, bool buggy) : inner_(std::move(inner)), buggy_(buggy) {}
    StatusOr<std::vector<Tensor>> run(std::string_view entry,
                                      const std::vector<Tensor>& inputs) override {
      auto out = inner_->run(entry, inputs);
      if (out.isOk() && buggy_)
        for (Tensor& t : *out)
          if (isFloat(t.dtype()) && t.numElements() > 0) t.setDouble(0, t.getDouble(0) + 1);
      return out;
    }

  private:
    std::unique_ptr<Executable> inner_;
    bool buggy_;
  };

public:
  std::string name() const override { return "tanh-bug"; }
  StatusOr<std::unique_ptr<Executable>> compile(const Module& m) override {
    bool buggy = false;
    for (auto& f : m.functions())
      walk(*f, [&](Op& op) { buggy |= op.kind() == OpKind::Tanh; });
    CAIRN_ASSIGN_OR_RETURN(auto inner, interpreter_->compile(m));
    return std::unique_ptr<Executable>(std::make_unique<Exe>(std::move(inner), buggy));
  }

private:
  std::unique_ptr<Backend> interpreter_ = createBackend("interpreter").value();
};

TEST(DifferentialCheckTest, ReportsAndMinimizesAMismatch) {
  auto reference = createBackend("interpreter");
  TanhBugBackend bug;
  DiffOptions options;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    SeedReport r = checkSeed(seed, **reference, {&bug}, options);
    if (r.ok()) continue;
    ASSERT_EQ(r.outcome, SeedReport::Outcome::Mismatch) << r.message;
    EXPECT_EQ(r.backend, "tanh-bug");
    EXPECT_NE(r.message.find("differs at"), std::string::npos) << r.message;
    EXPECT_FALSE(r.program.empty());
    auto m = generateProgram(seed);
    auto small = reduceProgram(
        *m, [&](const Module& c) { return stillMismatches(c, seed, **reference, bug, options); });
    EXPECT_TRUE(stillMismatches(*small, seed, **reference, bug, options));
    int ops = 0, tanhs = 0, before = 0;
    for (auto& f : small->functions())
      walk(*f, [&](Op& op) {
        ++ops;
        tanhs += op.kind() == OpKind::Tanh;
      });
    for (auto& f : m->functions())
      walk(*f, [&](Op&) { ++before; });
    EXPECT_EQ(tanhs, 1) << printModule(*small);
    EXPECT_EQ(small->functions().size(), 1u) << printModule(*small);
    EXPECT_LT(ops, before / 3) << printModule(*small);
    return;
  }
  FAIL() << "no program in 50 seeds has a tanh whose result shows";
}

} // namespace
} // namespace cairn
