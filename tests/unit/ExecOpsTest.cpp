// The compiled executor, op by op, against the reference interpreter: every
// op's worked example (ir/OpExamples.def) with and without the optimize
// pipeline; GEMM layouts (transposes, batches, vectors, f64); the indexed
// ops in place and copied; kernels of dynamic shape specialized per batch
// size; while/if; errors with locations; four threads on one Executable.
#include <cmath>
#include <random>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "ExecTestUtil.h"
#include "kernels/cpu/Indexing.h"
#include "kernels/cpu/Reduce.h"
#include "kernels/cpu/Shape.h"
#include "runtime/exec/Gemm.h"
#include "kernels/reference/Kernels.h"
#include "ir/OpKind.h"

namespace cairn::exectest {
namespace {

class ExecOpExamples : public ::testing::TestWithParam<size_t> {};

TEST_P(ExecOpExamples, MatchesInterpreter) {
  CAIRN_REQUIRE_JIT();
  const OpExample& ex = kOpExamples[GetParam()];
  auto m = parseOk(std::string(ex.text));
  ASSERT_TRUE(m);
  const Function& f = *m->functions().front();
  std::vector<Tensor> inputs;
  int salt = 0;
  for (const TensorType& t : f.argumentTypes())
    inputs.push_back(inputOf(t, salt++));
  // Without passes every op meets its own lowering; with optimize, fused.
  for (bool optimize : {false, true}) {
    codegen::cpu::CompileOptions o;
    if (!optimize) o.passes = std::vector<std::string>{};
    auto exe = compileOk(*m, o);
    ASSERT_TRUE(exe);
    SCOPED_TRACE(optimize ? "optimize" : "no passes");
    expectMatches(*m, *exe, f.name, inputs);
  }
}

std::string exampleName(const ::testing::TestParamInfo<size_t>& info) {
  return std::string(opName(kOpExamples[info.param].kind));
}

INSTANTIATE_TEST_SUITE_P(AllOps, ExecOpExamples,
                         ::testing::Range(size_t{0}, std::size(kOpExamples)), exampleName);

// ---- GEMM ---------------------------------------------------------------------

struct DotCase {
  const char* name;
  const char* lhs;
  const char* rhs;
  const char* result;
  const char* attrs;
};

void PrintTo(const DotCase& c, std::ostream* os) { *os << c.name; }

class ExecDot : public ::testing::TestWithParam<DotCase> {};

TEST_P(ExecDot, BlasMatchesReference) {
  CAIRN_REQUIRE_JIT();
  const DotCase& c = GetParam();
  std::string ir = fmt::format("func @f(%a: {}, %b: {}) -> {} {{\n"
                               "  %r = dot %a, %b {} : {}\n  return %r\n}}\n",
                               c.lhs, c.rhs, c.result, c.attrs, c.result);
  auto m = parseOk(ir);
  ASSERT_TRUE(m);
  codegen::cpu::CompileReport report;
  auto exe = compileOk(*m, {}, &report);
  ASSERT_TRUE(exe);
  EXPECT_EQ(report.gemms, 1) << exe->describe();
  const Function& f = *m->functions().front();
  std::vector<Tensor> in = {inputOf(f.argumentTypes()[0], 1), inputOf(f.argumentTypes()[1], 2)};
  exec::ExecutionContext ctx;
  expectMatches(*m, *exe, "f", in, 1e-6, &ctx);
  // An empty contraction is a zero fill, no BLAS call.
  if (std::string_view(c.name) != "EmptyContract") {
    EXPECT_GT(ctx.stats().gemmCalls, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, ExecDot,
    ::testing::Values(
        DotCase{"MatMul", "tensor<5x7xf32>", "tensor<7x3xf32>", "tensor<5x3xf32>", ""},
        DotCase{"TransA", "tensor<7x5xf32>", "tensor<7x3xf32>", "tensor<5x3xf32>",
                "{lhs_contract = [0], rhs_contract = [0]}"},
        DotCase{"TransB", "tensor<5x7xf32>", "tensor<3x7xf32>", "tensor<5x3xf32>",
                "{lhs_contract = [1], rhs_contract = [1]}"},
        DotCase{"TransBoth", "tensor<7x5xf32>", "tensor<3x7xf32>", "tensor<5x3xf32>",
                "{lhs_contract = [0], rhs_contract = [1]}"},
        DotCase{"Batched", "tensor<4x5x7xf32>", "tensor<4x7x3xf32>", "tensor<4x5x3xf32>",
                "{lhs_batch = [0], lhs_contract = [2], rhs_batch = [0], rhs_contract = [1]}"},
        DotCase{"Rank3TimesMatrix", "tensor<2x5x7xf32>", "tensor<7x3xf32>", "tensor<2x5x3xf32>",
                ""},
        DotCase{"VectorMatrix", "tensor<7xf32>", "tensor<7x3xf32>", "tensor<3xf32>", ""},
        DotCase{"RowTimesTransposed", "tensor<1x7xf64>", "tensor<3x7xf64>", "tensor<1x3xf64>",
                "{lhs_contract = [1], rhs_contract = [1]}"},
        DotCase{"BatchedRows", "tensor<4x1x7xf32>", "tensor<4x7x3xf32>", "tensor<4x1x3xf32>",
                "{lhs_batch = [0], lhs_contract = [2], rhs_batch = [0], rhs_contract = [1]}"},
        DotCase{"TwoContractDims", "tensor<5x2x7xf32>", "tensor<2x7x3xf32>", "tensor<5x3xf32>",
                "{lhs_contract = [1, 2], rhs_contract = [0, 1]}"},
        DotCase{"F64", "tensor<5x7xf64>", "tensor<7x3xf64>", "tensor<5x3xf64>", ""},
        DotCase{"DynamicBatch", "tensor<?x7xf32>", "tensor<7x3xf32>", "tensor<?x3xf32>", ""},
        DotCase{"EmptyContract", "tensor<5x0xf32>", "tensor<0x3xf32>", "tensor<5x3xf32>", ""}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ExecDotTest, NonGemmLayoutFallsBack) {
  CAIRN_REQUIRE_JIT();
  // Contracting the middle dim of the lhs is no GEMM without a copy.
  auto m = parseOk("func @f(%a: tensor<2x7x5xf32>, %b: tensor<7x3xf32>) -> tensor<2x5x3xf32> {\n"
                   "  %r = dot %a, %b {lhs_contract = [1], rhs_contract = [0]} : "
                   "tensor<2x5x3xf32>\n  return %r\n}\n");
  codegen::cpu::CompileReport report;
  auto exe = compileOk(*m, {}, &report);
  EXPECT_EQ(report.gemms, 0);
  const Function& f = *m->functions().front();
  expectMatches(*m, *exe, "f", {inputOf(f.argumentTypes()[0], 1), inputOf(f.argumentTypes()[1], 2)});
}

// ---- In place -------------------------------------------------------------------

/// A loop writing row i of a [rows, 64] buffer per iteration, by
/// dynamic_update_slice or scatter.
std::string updateLoop(bool scatter, bool keepOld) {
  std::string update =
      scatter ? "    %idx = broadcast %i {dims = []} : tensor<1xi32>\n"
                "    %upd = reshape %row : tensor<1x64xf32>\n"
                "    %nb = scatter %b, %idx, %upd {axis = 0} : tensor<?x64xf32>\n"
              : "    %upd = reshape %row : tensor<1x64xf32>\n"
                "    %z = constant 0 : tensor<i32>\n"
                "    %nb = dynamic_update_slice %b, %upd, %i, %z : tensor<?x64xf32>\n";
  // keepOld: the old buffer is read after the update, so it must be copied.
  std::string after = keepOld ? "    %s = reduce_sum %b {dims = [0, 1]} : tensor<f32>\n"
                                "    %sb = broadcast %s, %n {dims = []} : tensor<?x64xf32>\n"
                                "    %nb2 = add %nb, %sb : tensor<?x64xf32>\n"
                              : "";
  return "func @f(%buf: tensor<?x64xf32>, %row: tensor<64xf32>) -> tensor<?x64xf32> {\n"
         "  %zero = constant 0 : tensor<i32>\n"
         "  %n = dim %buf {axis = 0} : tensor<i32>\n"
         "  %init = add %buf, %buf : tensor<?x64xf32>\n"
         "  %r:2 = while (%i = %zero, %b = %init) : (tensor<i32>, tensor<?x64xf32>) cond {\n"
         "    %go = lt %i, %n : tensor<i1>\n    yield %go\n"
         "  } body {\n" +
         update + after +
         "    %one = constant 1 : tensor<i32>\n"
         "    %i1 = add %i, %one : tensor<i32>\n"
         "    yield %i1, " + (keepOld ? "%nb2" : "%nb") + "\n"
         "  }\n"
         "  return %r#1\n}\n";
}

TEST(ExecInPlaceTest, LoopCarriedUpdatesAreInPlace) {
  CAIRN_REQUIRE_JIT();
  for (bool scatter : {false, true}) {
    SCOPED_TRACE(scatter ? "scatter" : "dynamic_update_slice");
    auto m = parseOk(updateLoop(scatter, false));
    ASSERT_TRUE(m);
    auto exe = compileOk(*m);
    ASSERT_TRUE(exe);
    std::vector<Tensor> in = {inputOf(TensorType(DType::F32, {40, 64}), 1),
                              inputOf(TensorType(DType::F32, {64}), 2)};
    exec::ExecutionContext ctx;
    expectMatches(*m, *exe, "f", in, 0, &ctx);
    EXPECT_EQ(ctx.stats().inPlaceUpdates, 40) << exe->describe();
    // At most the loop counter's initial value (a constant) is copied in;
    // never the buffer.
    EXPECT_LE(ctx.stats().copiedBytes, 8) << exe->describe();
    EXPECT_EQ(ctx.stats().whileIterations, 40);
  }
}

TEST(ExecInPlaceTest, LiveOperandIsCopiedNotClobbered) {
  CAIRN_REQUIRE_JIT();
  auto m = parseOk(updateLoop(false, true));
  ASSERT_TRUE(m);
  auto exe = compileOk(*m);
  std::vector<Tensor> in = {inputOf(TensorType(DType::F32, {6, 64}), 1),
                            inputOf(TensorType(DType::F32, {64}), 2)};
  exec::ExecutionContext ctx;
  expectMatches(*m, *exe, "f", in, 0, &ctx);
  EXPECT_EQ(ctx.stats().inPlaceUpdates, 0);
}

TEST(ExecInPlaceTest, UpdateOfAnInputCopiesIt) {
  CAIRN_REQUIRE_JIT();
  // The caller's input must never change.
  auto m = parseOk("func @f(%x: tensor<4xf32>, %u: tensor<1xf32>) -> tensor<4xf32> {\n"
                   "  %i = constant 2 : tensor<i32>\n"
                   "  %r = dynamic_update_slice %x, %u, %i : tensor<4xf32>\n  return %r\n}\n");
  auto exe = compileOk(*m);
  Tensor x = Tensor::fromDoubles(TensorType(DType::F32, {4}), {1, 2, 3, 4});
  Tensor u = Tensor::fromDoubles(TensorType(DType::F32, {1}), {9});
  auto r = exe->run("f", {x, u});
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ((*r)[0].toDoubles(), (std::vector<double>{1, 2, 9, 4}));
  EXPECT_EQ(x.toDoubles(), (std::vector<double>{1, 2, 3, 4}));
}

// Inputs the caller lends (Tensor::borrow: the Python bindings' NumPy arrays)
// are read in place and never written: an update of one works on a copy, and
// a loop that updates its carried buffer in place leaves the caller's memory
// as it was, with the same answers as owned inputs.
TEST(ExecInPlaceTest, BorrowedInputsAreReadNotWritten) {
  CAIRN_REQUIRE_JIT();
  auto m = parseOk("func @f(%x: tensor<4xf32>, %u: tensor<1xf32>) -> tensor<4xf32> {\n"
                   "  %i = constant 2 : tensor<i32>\n"
                   "  %r = dynamic_update_slice %x, %u, %i : tensor<4xf32>\n  return %r\n}\n");
  auto exe = compileOk(*m);
  ASSERT_TRUE(exe);
  std::vector<float> x = {1, 2, 3, 4}, u = {9};
  std::vector<Tensor> in;
  in.push_back(Tensor::borrow(TensorType(DType::F32, {4}), reinterpret_cast<std::byte*>(x.data())));
  in.push_back(Tensor::borrow(TensorType(DType::F32, {1}), reinterpret_cast<std::byte*>(u.data())));
  auto r = exe->run("f", in);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ((*r)[0].toDoubles(), (std::vector<double>{1, 2, 9, 4}));
  EXPECT_FALSE((*r)[0].borrowed());
  EXPECT_EQ(x, (std::vector<float>{1, 2, 3, 4}));
  EXPECT_TRUE(in[0].borrowed()); // still reading the caller's memory
  EXPECT_EQ(std::as_const(in[0]).rawData(), reinterpret_cast<const std::byte*>(x.data()));

  auto loop = parseOk(updateLoop(true, false));
  ASSERT_TRUE(loop);
  auto loopExe = compileOk(*loop);
  ASSERT_TRUE(loopExe);
  std::vector<Tensor> owned = {inputOf(TensorType(DType::F32, {40, 64}), 1),
                               inputOf(TensorType(DType::F32, {64}), 2)};
  std::vector<Tensor> copyOfBuffer = owned;
  std::vector<Tensor> lent;
  for (const Tensor& t : copyOfBuffer)
    lent.push_back(Tensor::borrow(t.type(), std::as_const(t).rawData()));
  auto want = loopExe->run("f", owned);
  auto got = loopExe->run("f", lent);
  ASSERT_TRUE(want.isOk() && got.isOk());
  EXPECT_EQ((*got)[0], (*want)[0]);
  EXPECT_EQ(copyOfBuffer[0], owned[0]); // the lent memory is unchanged
}

// ---- Dynamic shapes and control flow -------------------------------------------

TEST(ExecDynamicTest, KernelsSpecializePerBatchSize) {
  CAIRN_REQUIRE_JIT();
  auto m = parseOk("func @f(%x: tensor<?x8xf32>, %b: tensor<8xf32>) -> tensor<?x8xf32> {\n"
                   "  %n = dim %x {axis = 0} : tensor<i64>\n"
                   "  %bb = broadcast %b, %n {dims = [1]} : tensor<?x8xf32>\n"
                   "  %s = add %x, %bb : tensor<?x8xf32>\n"
                   "  %t = tanh %s : tensor<?x8xf32>\n"
                   "  %y = mul %t, %x : tensor<?x8xf32>\n  return %y\n}\n");
  codegen::cpu::CompileReport report;
  auto exe = compileOk(*m, {}, &report);
  ASSERT_TRUE(exe);
  EXPECT_EQ(report.kernelsDynamic, 1) << exe->describe();
  for (int64_t rows : {1, 5, 128, 5}) {
    exec::ExecutionContext ctx;
    expectMatches(*m, *exe, "f",
                  {inputOf(TensorType(DType::F32, {rows, 8}), 1),
                   inputOf(TensorType(DType::F32, {8}), 2)},
                  1e-6, &ctx);
    EXPECT_EQ(ctx.stats().kernelCalls, 1);
    EXPECT_EQ(ctx.stats().fallbackCalls, 1) << exe->describe(); // the `dim`
  }
}

constexpr const char* kBranchy =
    "func @f(%x: tensor<3xf32>, %p: tensor<i1>) -> (tensor<3xf32>, tensor<3xf32>) {\n"
    "  %r = if %p -> (tensor<3xf32>) {\n"
    "    %e = exp %x : tensor<3xf32>\n    yield %e\n"
    "  } else {\n"
    "    yield %x\n"
    "  }\n"
    "  %s = add %r, %x : tensor<3xf32>\n"
    "  return %s, %r\n}\n";

TEST(ExecControlFlowTest, IfBothWays) {
  CAIRN_REQUIRE_JIT();
  auto m = parseOk(kBranchy);
  auto exe = compileOk(*m);
  for (int p : {0, 1})
    expectMatches(*m, *exe, "f",
                  {inputOf(TensorType(DType::F32, {3}), 1),
                   Tensor::fromInts(TensorType(DType::I1, {}), {p})});
}

TEST(ExecControlFlowTest, SwappedCarriedValuesAndCapturedYield) {
  CAIRN_REQUIRE_JIT();
  // The body swaps two carried values and yields a captured one: moves must
  // not lose a buffer, and the captured value must be copied, not taken.
  auto m = parseOk("func @f(%a: tensor<4xf32>, %b: tensor<4xf32>, %c: tensor<4xf32>) -> "
                   "(tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {\n"
                   "  %zero = constant 0 : tensor<i32>\n"
                   "  %a1 = add %a, %a : tensor<4xf32>\n"
                   "  %r:4 = while (%i = %zero, %x = %a1, %y = %b, %z = %a1) : (tensor<i32>, "
                   "tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) cond {\n"
                   "    %three = constant 3 : tensor<i32>\n"
                   "    %go = lt %i, %three : tensor<i1>\n    yield %go\n"
                   "  } body {\n"
                   "    %one = constant 1 : tensor<i32>\n"
                   "    %i1 = add %i, %one : tensor<i32>\n"
                   "    %x2 = add %x, %c : tensor<4xf32>\n"
                   "    yield %i1, %y, %x2, %c\n"
                   "  }\n"
                   "  %out = add %r#3, %c : tensor<4xf32>\n"
                   "  return %r#1, %r#2, %out\n}\n");
  auto exe = compileOk(*m);
  std::vector<Tensor> in = {inputOf(TensorType(DType::F32, {4}), 1),
                            inputOf(TensorType(DType::F32, {4}), 2),
                            inputOf(TensorType(DType::F32, {4}), 3)};
  expectMatches(*m, *exe, "f", in, 0);
}

TEST(ExecControlFlowTest, IfBranchMovesAValueThatDiesThere) {
  CAIRN_REQUIRE_JIT();
  // A tape-like carried buffer passes through the else branch of an `if` in
  // every iteration (as autodiff's dynamic tapes do): the branch moves it out
  // instead of copying it.
  auto m = parseOk("func @f(%t0: tensor<64x256xf32>, %n: tensor<i32>) -> tensor<64x256xf32> {\n"
                   "  %zero = constant 0 : tensor<i32>\n"
                   "  %r:2 = while (%i = %zero, %t = %t0) : (tensor<i32>, tensor<64x256xf32>) cond {\n"
                   "    %go = lt %i, %n : tensor<i1>\n    yield %go\n"
                   "  } body {\n"
                   "    %first = eq %i, %zero : tensor<i1>\n"
                   "    %u = if %first -> (tensor<64x256xf32>) {\n"
                   "      %e = exp %t : tensor<64x256xf32>\n      yield %e\n"
                   "    } else {\n      yield %t\n    }\n"
                   "    %one = constant 1 : tensor<i32>\n"
                   "    %i1 = add %i, %one : tensor<i32>\n"
                   "    %row = constant 1.5 : tensor<1x256xf32>\n"
                   "    %u2 = dynamic_update_slice %u, %row, %i, %zero : tensor<64x256xf32>\n"
                   "    yield %i1, %u2\n  }\n"
                   "  return %r#1\n}\n");
  auto exe = compileOk(*m);
  exec::ExecutionContext ctx;
  expectMatches(*m, *exe, "f",
                {inputOf(TensorType(DType::F32, {64, 256}), 1),
                 Tensor::fromInts(TensorType(DType::I32, {}), {20})},
                1e-6, &ctx);
  // Two copies, of borrowed views into the loop (the input, the constant 0);
  // none per iteration.
  EXPECT_EQ(ctx.stats().copies, 2) << exe->describe();
  EXPECT_EQ(ctx.stats().copiedBytes, 64 * 256 * 4 + 4);
  EXPECT_EQ(ctx.stats().inPlaceUpdates, 20);
}

TEST(ExecControlFlowTest, IndependentLoopsRunInParallel) {
  CAIRN_REQUIRE_JIT();
  // Two loops over the same captured and initial values (neither may take
  // the shared buffer), then an error in the second one.
  auto m = parseOk(
      "func @f(%x: tensor<64x128xf32>, %n: tensor<i32>, %m: tensor<i32>) -> tensor<64x128xf32> {\n"
      "  %z = constant 0 : tensor<i32>\n"
      "  %a = exp %x : tensor<64x128xf32>\n"
      "  %f:2 = while (%i = %z, %h = %a) : (tensor<i32>, tensor<64x128xf32>) cond {\n"
      "    %go = lt %i, %n : tensor<i1>\n    yield %go\n"
      "  } body {\n"
      "    %one = constant 1 : tensor<i32>\n    %i1 = add %i, %one : tensor<i32>\n"
      "    %h1 = tanh %h : tensor<64x128xf32>\n    %h2 = add %h1, %a : tensor<64x128xf32>\n"
      "    yield %i1, %h2\n  }\n"
      "  %b:2 = while (%j = %z, %g = %a) : (tensor<i32>, tensor<64x128xf32>) max_trip %m cond {\n"
      "    %go2 = lt %j, %n : tensor<i1>\n    yield %go2\n"
      "  } body {\n"
      "    %one2 = constant 1 : tensor<i32>\n    %j1 = add %j, %one2 : tensor<i32>\n"
      "    %g1 = sigmoid %g : tensor<64x128xf32>\n    %g2 = mul %g1, %a : tensor<64x128xf32>\n"
      "    yield %j1, %g2\n  }\n"
      "  %s = add %f#1, %b#1 : tensor<64x128xf32>\n  return %s\n}\n");
  codegen::cpu::CompileReport report;
  auto exe = compileOk(*m, {}, &report);
  ASSERT_TRUE(exe);
  EXPECT_EQ(report.parallel, 1) << exe->describe();
  // Loops run in parallel with a multi-threaded BLAS too: one BLAS thread
  // each while the pair runs, the setting restored after.
  int blas = exec::blasThreads();
  exec::setBlasThreads(2);
  struct Restore {
    int n;
    ~Restore() { exec::setBlasThreads(n); }
  } restore{blas};
  auto i32 = [](int v) { return Tensor::fromInts(TensorType(DType::I32, {}), {v}); };
  Tensor x = inputOf(TensorType(DType::F32, {64, 128}), 1);
  const int cpus = exec::usableCpus();
  const int parallelRuns = cpus >= 2 ? 1 : 0; // one CPU: one after the other
  for (int rep = 0; rep < 20; ++rep) {
    exec::ExecutionContext ctx;
    expectMatches(*m, *exe, "f", {x, i32(5), i32(10)}, 1e-6, &ctx);
    EXPECT_EQ(ctx.stats().parallelRuns, parallelRuns);
    EXPECT_EQ(exec::blasThreads(), 2);
    // The pair's second thread keeps off the caller's CPU; the caller keeps
    // every CPU it had (it once lost them when the thread ended first).
    EXPECT_EQ(exec::usableCpus(), cpus) << "rep " << rep;
  }
  // Past max_trip in the second loop: its error, whichever thread ran it.
  auto bad = exe->run("f", {x, i32(5), i32(3)});
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("test.cairn:14:3: error: 'while' op while loop exceeded its max trip count 3"), std::string::npos) << bad.status().message();
  // Serially, the same numbers.
  exec::ExecOptions serial;
  serial.parallel = false;
  exec::ExecutionContext ctx;
  auto a = exe->run("f", {x, i32(5), i32(10)}, ctx, serial);
  auto b = exe->run("f", {x, i32(5), i32(10)});
  ASSERT_TRUE(a.isOk() && b.isOk());
  EXPECT_EQ((*a)[0], (*b)[0]);
  EXPECT_EQ(ctx.stats().parallelRuns, 0);
}

TEST(ExecRowsTest, ReduceSumIsTheReferenceBitForBit) {
  struct Case {
    Shape shape;
    std::vector<int64_t> dims;
  };
  for (DType dt : {DType::F32, DType::F64})
    for (const Case& c : std::vector<Case>{{{7, 300}, {0}},
                                           {{7, 300}, {1}},
                                           {{7, 300}, {0, 1}},
                                           {{3, 5, 17}, {1}},
                                           {{3, 5, 17}, {0, 1}},
                                           {{3, 5, 17}, {1, 2}},
                                           {{4, 0, 3}, {1}},
                                           {{6}, {}},
                                           {{}, {}}}) {
      Tensor x = inputOf(TensorType(dt, c.shape), 7);
      ASSERT_TRUE(kernels::cpu::isFastReduceSum(x, c.dims));
      auto want = kernels::reduce(OpKind::ReduceSum, x, c.dims);
      ASSERT_TRUE(want.isOk()) << want.status().message();
      Tensor got(TensorType(dt, kernels::cpu::reducedShape(c.shape, c.dims)));
      kernels::cpu::reduceSumInto(x, c.dims, got);
      EXPECT_EQ(got, *want) << dtypeName(dt) << " " << x.type().toString();
    }
  Tensor x(TensorType(DType::F32, {2, 3, 4}));
  EXPECT_FALSE(kernels::cpu::isFastReduceSum(x, {0, 2}));  // not consecutive
  EXPECT_FALSE(kernels::cpu::isFastReduceSum(x, {3}));     // out of range
  EXPECT_FALSE(kernels::cpu::isFastReduceSum(Tensor(TensorType(DType::I32, {2})), {0}));
}

TEST(ExecRowsTest, GatherRangeCheckNamesTheFirstBadIndex) {
  // The check is a min/max over the raw indices, then a search for the
  // culprit: every position, both index types, both ends of the range.
  Tensor x = inputOf(TensorType(DType::F32, {5, 3}), 1);
  for (DType index : {DType::I32, DType::I64})
    for (int64_t bad : {-1, 5, 1000000})
      for (int64_t at : {0, 3, 6}) {
        Tensor idx(TensorType(index, {7}));
        for (int64_t k = 0; k < 7; ++k)
          idx.setInt(k, k % 5);
        idx.setInt(at, bad);
        Tensor out(TensorType(DType::F32, {7, 3}));
        Status s = kernels::cpu::gatherInto(x, idx, 0, 0, out);
        ASSERT_FALSE(s.isOk()) << dtypeName(index) << " " << bad << " at " << at;
        EXPECT_EQ(s.message(), fmt::format("index {} at position [{}] of the indices is out of "
                                           "range [0, 5) for axis 0",
                                           bad, at));
      }
  // In range at both ends: the rows themselves.
  Tensor idx = Tensor::fromInts(TensorType(DType::I32, {3}), {4, 0, 4});
  Tensor out(TensorType(DType::F32, {3, 3}));
  ASSERT_TRUE(kernels::cpu::gatherInto(x, idx, 0, 0, out).isOk());
  for (int64_t j = 0; j < 3; ++j) {
    EXPECT_EQ(out.getDouble(j), x.getDouble(12 + j));
    EXPECT_EQ(out.getDouble(3 + j), x.getDouble(j));
  }
}

TEST(ExecRowsTest, ArgmaxIsTheReference) {
  struct Case {
    Shape shape;
    int64_t axis;
  };
  const std::vector<Case> cases{{{7, 300}, 1}, {{7, 300}, 0},  {{3, 5, 17}, 1},
                                {{3, 5, 17}, 2}, {{4, 0, 3}, 0}, {{6}, 0}, {{1, 1}, 1}};
  for (DType dt : {DType::F32, DType::F64, DType::I32, DType::I64})
    for (DType index : {DType::I32, DType::I64})
      for (const Case& c : cases) {
        Tensor x = inputOf(TensorType(dt, c.shape), 5);
        if (dt == DType::I32 || dt == DType::I64) // ties: the first maximum
          for (int64_t k = 0; k < x.numElements(); ++k)
            x.setInt(k, x.getInt(k) % 3);
        ASSERT_TRUE(kernels::cpu::isFastArgmax(x, c.axis));
        auto want = kernels::argmax(x, c.axis, index);
        ASSERT_TRUE(want.isOk()) << want.status().message();
        Tensor got(want->type());
        kernels::cpu::argmaxInto(x, c.axis, got);
        EXPECT_EQ(got, *want) << dtypeName(dt) << " " << x.type().toString() << " axis " << c.axis;
      }
  // NaN is the maximum, the first NaN wins; ties go to the first.
  Tensor x = Tensor::fromDoubles(TensorType(DType::F32, {4, 3}),
                                 {1, NAN, NAN, NAN, 2, 2, 5, 5, 1, 0, 0, NAN});
  auto want = kernels::argmax(x, 1, DType::I64);
  ASSERT_TRUE(want.isOk());
  Tensor got(want->type());
  kernels::cpu::argmaxInto(x, 1, got);
  EXPECT_EQ(got.toInts(), (std::vector<int64_t>{1, 0, 0, 2}));
  EXPECT_EQ(got, *want);
  EXPECT_FALSE(kernels::cpu::isFastArgmax(Tensor(TensorType(DType::F32, {2, 0})), 1)); // no maximum
  EXPECT_FALSE(kernels::cpu::isFastArgmax(x, 2));
  EXPECT_FALSE(kernels::cpu::isFastArgmax(Tensor(TensorType(DType::I1, {2})), 0));
}

TEST(ExecRowsTest, ArgmaxRowsOfEveryLengthAreTheReference) {
  // The fast row scan works in lanes of 4 vectors and merges them: every
  // length around those steps, maxima tied across lanes and in the tail,
  // -0 beside +0, and a NaN at every position class.
  std::mt19937 rng(7);
  for (DType dt : {DType::F32, DType::F64, DType::I32, DType::I64})
    for (int64_t k : {1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 1000})
      for (int trial = 0; trial < 12; ++trial) {
        Tensor x(TensorType(dt, {3, k}));
        std::uniform_int_distribution<int> small(-3, 3); // many ties
        for (int64_t i = 0; i < x.numElements(); ++i)
          x.setDouble(i, small(rng));
        bool fp = dt == DType::F32 || dt == DType::F64;
        std::uniform_int_distribution<int64_t> pos(0, k - 1);
        if (fp && trial % 3 == 1) { // the maximum is zero, of both signs
          for (int64_t i = 0; i < x.numElements(); ++i)
            x.setDouble(i, std::min(0.0, x.getDouble(i)));
          x.setDouble(pos(rng), -0.0);
        }
        if (fp && trial % 3 == 2) { // NaNs at random positions of the first two rows
          x.setDouble(pos(rng), NAN);
          x.setDouble(k + pos(rng), NAN);
          x.setDouble(k + pos(rng), NAN);
        }
        auto want = kernels::argmax(x, 1, DType::I64);
        ASSERT_TRUE(want.isOk()) << want.status().message();
        Tensor got(want->type());
        kernels::cpu::argmaxInto(x, 1, got);
        ASSERT_EQ(got.toInts(), want->toInts()) << dtypeName(dt) << " k=" << k << " trial " << trial;
      }
}

TEST(ExecRowsTest, TransposeIsTheReference) {
  struct Case {
    Shape shape;
    std::vector<int64_t> perm;
  };
  for (DType dt : {DType::F32, DType::I64, DType::I1})
    for (const Case& c : std::vector<Case>{{{5, 7, 3}, {1, 0, 2}},
                                           {{5, 7, 3}, {2, 1, 0}},
                                           {{5, 7, 3}, {0, 2, 1}},
                                           {{5, 7, 3}, {0, 1, 2}},
                                           {{2, 3, 4, 5}, {3, 1, 0, 2}},
                                           {{4, 0, 3}, {1, 0, 2}},
                                           {{6}, {0}},
                                           {{}, {}}}) {
      Tensor x = inputOf(TensorType(dt, c.shape), 3);
      auto want = kernels::transpose(x, c.perm);
      ASSERT_TRUE(want.isOk()) << want.status().message();
      ASSERT_TRUE(kernels::cpu::isValidTranspose(x, c.perm, want->type()));
      Tensor got(want->type());
      kernels::cpu::transposeInto(x, c.perm, got);
      EXPECT_EQ(got, *want) << dtypeName(dt) << " " << x.type().toString();
    }
  Tensor x(TensorType(DType::F32, {2, 3}));
  EXPECT_FALSE(kernels::cpu::isValidTranspose(x, {0, 0}, TensorType(DType::F32, {2, 2})));
  EXPECT_FALSE(kernels::cpu::isValidTranspose(x, {1, 0}, TensorType(DType::F32, {2, 3})));
}

// ---- Errors ---------------------------------------------------------------------

StatusOr<std::vector<Tensor>> runText(const std::string& ir, const std::vector<Tensor>& in,
                                      const exec::ExecOptions& o = {}) {
  auto m = parseOk(ir);
  auto exe = compileOk(*m);
  if (!exe) return errorf("no executable");
  return exe->run("f", in, o);
}

TEST(ExecErrorTest, IndexOutOfRangeNamesTheOp) {
  CAIRN_REQUIRE_JIT();
  std::string ir = "func @f(%x: tensor<4x2xf32>, %i: tensor<3xi32>) -> tensor<3x2xf32> {\n"
                   "  %g = gather %x, %i {axis = 0} : tensor<3x2xf32>\n  return %g\n}\n";
  auto r = runText(ir, {inputOf(TensorType(DType::F32, {4, 2}), 0),
                        Tensor::fromInts(TensorType(DType::I32, {3}), {0, 4, 1})});
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("test.cairn:2:"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("'gather' op index 4"), std::string::npos)
      << r.status().message();
}

TEST(ExecErrorTest, UpdateOutOfRangeLeavesNoCrash) {
  CAIRN_REQUIRE_JIT();
  auto r = runText(updateLoop(false, false),
                   {inputOf(TensorType(DType::F32, {3, 64}), 0),
                    inputOf(TensorType(DType::F32, {64}), 0)});
  EXPECT_TRUE(r.isOk()) << r.status().message();
  std::string ir = "func @f(%x: tensor<4xf32>, %u: tensor<2xf32>, %i: tensor<i32>) -> "
                   "tensor<4xf32> {\n"
                   "  %y = add %x, %x : tensor<4xf32>\n"
                   "  %r = dynamic_update_slice %y, %u, %i : tensor<4xf32>\n  return %r\n}\n";
  auto bad = runText(ir, {inputOf(TensorType(DType::F32, {4}), 0),
                          inputOf(TensorType(DType::F32, {2}), 0),
                          Tensor::fromInts(TensorType(DType::I32, {}), {3})});
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("'dynamic_update_slice' op start index 3"),
            std::string::npos)
      << bad.status().message();
}

TEST(ExecErrorTest, WhilePastMaxTrip) {
  CAIRN_REQUIRE_JIT();
  std::string ir = "func @f(%n: tensor<i32>) -> tensor<i32> {\n"
                   "  %zero = constant 0 : tensor<i32>\n"
                   "  %max = constant 5 : tensor<i32>\n"
                   "  %r = while (%i = %zero) : (tensor<i32>) max_trip %max cond {\n"
                   "    %go = lt %i, %n : tensor<i1>\n    yield %go\n"
                   "  } body {\n"
                   "    %one = constant 1 : tensor<i32>\n"
                   "    %j = add %i, %one : tensor<i32>\n    yield %j\n"
                   "  }\n  return %r\n}\n";
  auto ok = runText(ir, {Tensor::fromInts(TensorType(DType::I32, {}), {5})});
  ASSERT_TRUE(ok.isOk()) << ok.status().message();
  EXPECT_EQ((*ok)[0].getInt(0), 5);
  auto r = runText(ir, {Tensor::fromInts(TensorType(DType::I32, {}), {6})});
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("test.cairn:4:"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("exceeded its max trip count 5"), std::string::npos)
      << r.status().message();
}

TEST(ExecErrorTest, BadInputs) {
  CAIRN_REQUIRE_JIT();
  std::string ir = "func @f(%x: tensor<?x3xf32>) -> tensor<?x3xf32> {\n"
                   "  %y = exp %x : tensor<?x3xf32>\n  return %y\n}\n";
  auto count = runText(ir, {});
  ASSERT_FALSE(count.isOk());
  EXPECT_NE(count.status().message().find("takes 1 argument(s), got 0"), std::string::npos);
  auto shape = runText(ir, {inputOf(TensorType(DType::F32, {2, 4}), 0)});
  ASSERT_FALSE(shape.isOk());
  EXPECT_NE(shape.status().message().find("argument #0"), std::string::npos)
      << shape.status().message();
  auto dtype = runText(ir, {inputOf(TensorType(DType::F64, {2, 3}), 0)});
  ASSERT_FALSE(dtype.isOk());
  EXPECT_NE(dtype.status().message().find("argument #0"), std::string::npos);
  auto name = compileOk(*parseOk(ir))->run("g", {});
  EXPECT_FALSE(name.isOk());
}

TEST(ExecErrorTest, IntegerDivisionByZero) {
  CAIRN_REQUIRE_JIT();
  std::string ir = "func @f(%x: tensor<3xi32>, %y: tensor<3xi32>) -> tensor<3xi32> {\n"
                   "  %d = div %x, %y : tensor<3xi32>\n  return %d\n}\n";
  auto r = runText(ir, {Tensor::fromInts(TensorType(DType::I32, {3}), {1, 2, 3}),
                        Tensor::fromInts(TensorType(DType::I32, {3}), {1, 0, 3})});
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("'div' op"), std::string::npos) << r.status().message();
}

// ---- Threads --------------------------------------------------------------------

TEST(ExecThreadsTest, FourThreadsShareOneExecutable) {
  CAIRN_REQUIRE_JIT();
  auto m = parseOk(updateLoop(true, false));
  auto exe = compileOk(*m);
  ASSERT_TRUE(exe);
  // Each thread runs its own batch sizes (dynamic kernels specialize
  // concurrently) and checks against the interpreter's answer.
  std::vector<std::thread> threads;
  std::vector<std::string> failures(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      exec::ExecutionContext ctx;
      for (int rep = 0; rep < 20; ++rep) {
        int64_t rows = 3 + (t * 7 + rep) % 11;
        std::vector<Tensor> in = {inputOf(TensorType(DType::F32, {rows, 64}), t + rep),
                                  inputOf(TensorType(DType::F32, {64}), t)};
        auto want = interpret(*m, "f", in);
        auto got = exe->run("f", in, ctx);
        if (!want.isOk() || !got.isOk() || !((*got)[0] == (*want)[0])) {
          failures[t] = fmt::format("thread {} rep {} rows {}: {}", t, rep, rows,
                                    got.isOk() ? "results differ" : got.status().message());
          return;
        }
      }
    });
  }
  for (auto& th : threads)
    th.join();
  for (const std::string& f : failures)
    EXPECT_EQ(f, "");
}

} // namespace
} // namespace cairn::exectest
