// Pairs of loops with the producers only one of them reads
// (compiler/lowering/PairLoops.cpp), and exec::parallelHazard, the check
// that a pair's blocks may run at once.
#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "ExecTestUtil.h"
#include "compiler/lowering/LowerFunctions.h"
#include "runtime/exec/ProgramFormat.h"
#include "runtime/exec/SideThread.h"

namespace cairn::exectest {
namespace {

// Two loops, each fed by a product of a shared value %e only it reads.
// %e2 is read by both products and last by the second (which freed it,
// run in order); %e is moved into the second loop, which it seeds, though
// the first loop's product reads it too.
constexpr const char* kTwoLoopsWithProducers = R"(
func @f(%x: tensor<8x16xf32>, %wa: tensor<16x16xf32>, %wb: tensor<16x16xf32>, %n: tensor<i32>) -> tensor<8x16xf32> {
  %z = constant 0 : tensor<i32>
  %e = exp %x : tensor<8x16xf32>
  %e2 = tanh %x : tensor<8x16xf32>
  %qa = add %e, %e2 : tensor<8x16xf32>
  %pa = dot %qa, %wa : tensor<8x16xf32>
  %pb = dot %e2, %wb : tensor<8x16xf32>
  %fa:2 = while (%i = %z, %h = %x) : (tensor<i32>, tensor<8x16xf32>) cond {
    %go = lt %i, %n : tensor<i1>
    yield %go
  } body {
    %one = constant 1 : tensor<i32>
    %i1 = add %i, %one : tensor<i32>
    %h1 = tanh %h : tensor<8x16xf32>
    %h2 = add %h1, %pa : tensor<8x16xf32>
    yield %i1, %h2
  }
  %fb:2 = while (%j = %z, %g = %e) : (tensor<i32>, tensor<8x16xf32>) cond {
    %go2 = lt %j, %n : tensor<i1>
    yield %go2
  } body {
    %one2 = constant 1 : tensor<i32>
    %j1 = add %j, %one2 : tensor<i32>
    %g1 = sigmoid %g : tensor<8x16xf32>
    %g2 = mul %g1, %pb : tensor<8x16xf32>
    yield %j1, %g2
  }
  %s = add %fa#1, %fb#1 : tensor<8x16xf32>
  return %s
}
)";

std::vector<Tensor> inputs(int trips) {
  return {inputOf(TensorType(DType::F32, {8, 16}), 1), inputOf(TensorType(DType::F32, {16, 16}), 2),
          inputOf(TensorType(DType::F32, {16, 16}), 3),
          Tensor::fromInts(TensorType(DType::I32, {}), {trips})};
}

TEST(ExecPairedLoopsTest, EachLoopTakesTheProductsOnlyItReads) {
  CAIRN_REQUIRE_JIT();
  auto m = parseOk(kTwoLoopsWithProducers);
  ASSERT_TRUE(m);
  codegen::cpu::CompileReport report;
  auto exe = compileOk(*m, {}, &report);
  ASSERT_TRUE(exe);
  EXPECT_EQ(report.parallel, 1) << exe->describe();
  // Each product runs on its loop's thread; %e and %e2, read by both, stay
  // before the pair.
  std::string text = exe->describe();
  size_t t0 = text.find("thread 0:"), t1 = text.find("thread 1:");
  ASSERT_NE(t0, std::string::npos) << text;
  ASSERT_NE(t1, std::string::npos) << text;
  EXPECT_NE(text.substr(t0, t1 - t0).find("gemm dot"), std::string::npos) << text;
  EXPECT_NE(text.substr(t1).find("gemm dot"), std::string::npos) << text;
  EXPECT_GE(report.pairedProducers, 2) << text;
  const int parallelRuns = exec::usableCpus() >= 2 ? 1 : 0;
  exec::ExecutionContext reused;
  for (int rep = 0; rep < 30; ++rep) {
    exec::ExecutionContext fresh;
    expectMatches(*m, *exe, "f", inputs(rep % 4 + 1), 1e-5, rep % 2 ? &fresh : &reused);
    if (rep % 2) {
      EXPECT_EQ(fresh.stats().parallelRuns, parallelRuns);
    }
  }
  // In order (parallel off), the same numbers.
  exec::ExecOptions serial;
  serial.parallel = false;
  exec::ExecutionContext ctx;
  auto a = exe->run("f", inputs(3), ctx, serial);
  auto b = exe->run("f", inputs(3));
  ASSERT_TRUE(a.isOk() && b.isOk());
  EXPECT_EQ((*a)[0], (*b)[0]);
}

TEST(ExecPairedLoopsTest, NoPairedProducersWithoutParallelLoops) {
  CAIRN_REQUIRE_JIT();
  auto m = parseOk(kTwoLoopsWithProducers);
  ASSERT_TRUE(m);
  codegen::cpu::CompileOptions o;
  o.lower.parallelLoops = false;
  codegen::cpu::CompileReport report;
  auto exe = compileOk(*m, o, &report);
  ASSERT_TRUE(exe);
  EXPECT_EQ(report.parallel, 0);
  EXPECT_EQ(report.pairedProducers, 0);
  expectMatches(*m, *exe, "f", inputs(2));
}

// A pair inside the first loop of a pair: the inner pair runs one loop after
// the other (the side thread is busy with the outer pair's second loop).
// Posting it to the side thread there overwrote the outer job, and both
// threads then waited for each other for ever (found by the generator's
// loop pairs); a watchdog turns such a hang into a failure.
TEST(ExecPairedLoopsTest, APairInsideAPairsFirstLoopRunsInOrder) {
  CAIRN_REQUIRE_JIT();
  auto m = parseOk(R"(
func @f(%x: tensor<4x8xf32>, %n: tensor<i32>) -> tensor<4x8xf32> {
  %z = constant 0 : tensor<i32>
  %fa:2 = while (%i = %z, %h = %x) : (tensor<i32>, tensor<4x8xf32>) cond {
    %go = lt %i, %n : tensor<i1>
    yield %go
  } body {
    %one = constant 1 : tensor<i32>
    %i1 = add %i, %one : tensor<i32>
    %p:2 = while (%k = %z, %u = %h) : (tensor<i32>, tensor<4x8xf32>) cond {
      %gk = lt %k, %n : tensor<i1>
      yield %gk
    } body {
      %onek = constant 1 : tensor<i32>
      %k1 = add %k, %onek : tensor<i32>
      %u1 = tanh %u : tensor<4x8xf32>
      yield %k1, %u1
    }
    %q:2 = while (%l = %z, %v = %h) : (tensor<i32>, tensor<4x8xf32>) cond {
      %gl = lt %l, %n : tensor<i1>
      yield %gl
    } body {
      %onel = constant 1 : tensor<i32>
      %l1 = add %l, %onel : tensor<i32>
      %v1 = sigmoid %v : tensor<4x8xf32>
      yield %l1, %v1
    }
    %h2 = add %p#1, %q#1 : tensor<4x8xf32>
    yield %i1, %h2
  }
  %fb:2 = while (%j = %z, %g = %x) : (tensor<i32>, tensor<4x8xf32>) cond {
    %go2 = lt %j, %n : tensor<i1>
    yield %go2
  } body {
    %one2 = constant 1 : tensor<i32>
    %j1 = add %j, %one2 : tensor<i32>
    %g1 = tanh %g : tensor<4x8xf32>
    yield %j1, %g1
  }
  %s = add %fa#1, %fb#1 : tensor<4x8xf32>
  return %s
}
)");
  ASSERT_TRUE(m);
  codegen::cpu::CompileReport report;
  auto exe = compileOk(*m, {}, &report);
  ASSERT_TRUE(exe);
  EXPECT_EQ(report.parallel, 2) << exe->describe();
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false;
  std::thread watchdog([&] {
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, std::chrono::minutes(5), [&] { return finished; })) {
      fprintf(stderr, "APairInsideAPairsFirstLoopRunsInOrder: no result after 5 minutes: a hang\n");
      std::abort();
    }
  });
  exec::ExecutionContext ctx;
  for (int rep = 0; rep < 20; ++rep)
    expectMatches(*m, *exe, "f",
                  {inputOf(TensorType(DType::F32, {4, 8}), rep),
                   Tensor::fromInts(TensorType(DType::I32, {}), {rep % 4 + 1})},
                  1e-5, &ctx);
  {
    std::lock_guard<std::mutex> lock(mu);
    finished = true;
  }
  cv.notify_one();
  watchdog.join();
}

// Hand-made pairs: what parallelHazard says of each.
exec::Instruction loopReading(std::vector<exec::Slot> operands,
                              std::vector<exec::Slot> frees = {}) {
  exec::Instruction in;
  in.kind = exec::InstKind::Gemm;
  in.operands = std::move(operands);
  in.results = {100};
  in.frees = std::move(frees);
  return in;
}

exec::Instruction pairOf(exec::Instruction a, exec::Instruction b) {
  exec::Instruction par;
  par.kind = exec::InstKind::Parallel;
  par.blocks.resize(2);
  par.blocks[0].insts.push_back(std::move(a));
  par.blocks[1].insts.push_back(std::move(b));
  return par;
}

TEST(ParallelHazardTest, NamesWhatOneThreadReadsAndTheOtherReleases) {
  using exec::parallelHazard;
  auto a = loopReading({1, 2});
  a.results = {10};
  auto b = loopReading({1, 3});
  b.results = {11};
  EXPECT_EQ(parallelHazard(pairOf(a, b)), "");
  auto frees = b;
  frees.frees = {1};
  EXPECT_EQ(parallelHazard(pairOf(a, frees)),
            "thread 0 reads %s1, which thread 1 frees or takes over");
  auto inPlace = b;
  inPlace.inPlace = true;
  EXPECT_EQ(parallelHazard(pairOf(a, inPlace)),
            "thread 0 reads %s1, which thread 1 frees or takes over");
  auto movedIn = b;
  movedIn.kind = exec::InstKind::While;
  movedIn.moveInit = {false, true};
  auto reads3 = loopReading({3});
  reads3.results = {12};
  EXPECT_EQ(parallelHazard(pairOf(reads3, movedIn)),
            "thread 0 reads %s3, which thread 1 frees or takes over");
  auto readsResult = loopReading({11});
  readsResult.results = {13};
  EXPECT_EQ(parallelHazard(pairOf(readsResult, b)), "thread 0 reads %s11, which thread 1 defines");
  // Nested: a free inside the second thread's loop body counts too.
  exec::Instruction loop;
  loop.kind = exec::InstKind::While;
  loop.blocks.resize(2);
  loop.blocks[1].insts.push_back(frees);
  EXPECT_EQ(parallelHazard(pairOf(a, loop)),
            "thread 0 reads %s1, which thread 1 frees or takes over");
}

TEST(ParallelHazardTest, AnObjectWhosePairRacesIsRefused) {
  CAIRN_REQUIRE_JIT();
  auto m = parseOk(kTwoLoopsWithProducers);
  ASSERT_TRUE(m);
  auto programs = codegen::lowerFunctions(*m, {}, nullptr);
  ASSERT_TRUE(programs.isOk()) << programs.status().message();
  auto& body = programs->at("f").body;
  exec::Instruction* par = nullptr;
  for (auto& in : body.insts)
    if (in.kind == exec::InstKind::Parallel) par = &in;
  ASSERT_NE(par, nullptr);
  ASSERT_EQ(exec::parallelHazard(*par), "");
  auto good = exec::readPrograms(exec::writePrograms(*programs, *m), *m, 0);
  EXPECT_TRUE(good.isOk()) << good.status().message();
  // The second thread frees what the first reads (a product's operand).
  exec::Slot shared = par->blocks[0].insts.front().operands.front();
  par->blocks[1].insts.front().frees.push_back(shared);
  auto bad = exec::readPrograms(exec::writePrograms(*programs, *m), *m, 0);
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find(
                fmt::format("thread 0 reads %s{}, which thread 1 frees or takes over", shared)),
            std::string::npos)
      << bad.status().message();
}

} // namespace
} // namespace cairn::exectest
