// Compiled training steps: gradient functions and whole train_steps (Adam,
// clipping) of SPINN (given and predicted transitions), BiLSTM, BiGRU and
// TreeLSTM, through the compiled executor against the reference
// interpreter, to 1e-4 relative.
#include <chrono>
#include <functional>

#include "compiler/RewriteUtils.h"
#include "compiler/autodiff/Autodiff.h"
#include "compiler/codegen/cpu/CompileExecutable.h"
#include "compiler/codegen/cpu/RunFusion.h"
#include "compiler/codegen/cuda/CompileForDevice.h"
#include "compiler/passes/SinkAccumulatedProducts.h"
#include "frontend/layers/Layers.h"
#include "frontend/models/BiRnn.h"
#include "frontend/models/Spinn.h"
#include "frontend/models/TreeLstmSentiment.h"
#include "frontend/training/Optimizers.h"
#include "frontend/training/TrainStep.h"
#include "runtime/reference/Interpreter.h"
#include "tests/unit/CudaTestUtil.h"
#include "tests/unit/ModelLossTestUtil.h"
#include "tests/unit/SpinnTestReference.h"

namespace cairn {
namespace {

using namespace spinnref;
using testing::crossEntropyOf;
using testing::fourTrees;
using testing::labels;


double msSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

/// max |a - b| / max(max |b|, 1e-6) over one tensor.
double relDiff(const Tensor& a, const Tensor& b) {
  double diff = 0, scale = 1e-6;
  for (int64_t i = 0; i < b.numElements(); ++i) {
    diff = std::max(diff, std::abs(a.getDouble(i) - b.getDouble(i)));
    scale = std::max(scale, std::abs(b.getDouble(i)));
  }
  return diff / scale;
}


/// Runs the compiled train_step on its inputs (the CPU executor or a device).
using RunStep = std::function<StatusOr<std::vector<Tensor>>(const std::vector<Tensor>&)>;

/// Two training steps compiled (`run`) against interpreted, each side
/// continuing from its own outputs.
void checkTwoSteps(const RunStep& run, const training::TrainStep& step, const ParamStore& ps,
                   const std::vector<Tensor>& batch) {
  std::vector<Tensor> params = ps.initialize(3);
  for (Tensor& t : params)
    for (int64_t i = 0; i < t.numElements(); ++i)
      t.setDouble(i, t.getDouble(i) * 3.0);
  std::vector<Tensor> state = training::initialState(step.state);
  std::vector<Tensor> refIn = params, exeIn = params;
  refIn.insert(refIn.end(), state.begin(), state.end());
  exeIn.insert(exeIn.end(), state.begin(), state.end());
  refIn.insert(refIn.end(), batch.begin(), batch.end());
  exeIn.insert(exeIn.end(), batch.begin(), batch.end());
  for (int s = 0; s < 2; ++s) {
    auto ref = interpret(*step.function, refIn);
    ASSERT_TRUE(ref.isOk()) << ref.status().message();
    auto got = run(exeIn);
    ASSERT_TRUE(got.isOk()) << got.status().message();
    ASSERT_EQ(got->size(), ref->size());
    for (size_t r = 0; r < ref->size(); ++r)
      EXPECT_LE(relDiff((*got)[r], (*ref)[r]), 1e-4) << "step " << s << ", result #" << r;
    size_t carried = step.numParams + step.state.size();
    for (size_t i = 0; i < carried; ++i) {
      refIn[i] = (*ref)[i];
      exeIn[i] = (*got)[i];
    }
  }
}

/// Where a training step is compiled to.
enum class Target { Cpu, EmulatedDevice };

/// Builds gradient + train_step for `loss` (batch inputs first, then the
/// parameters of `ps`, labels possibly last) and checks two steps compiled
/// for `target` against interpreted, with the exact and the reassociating
/// pipelines.
void checkTrainStep(Module& m, const ParamStore& ps, const Function& loss,
                    const training::ArgMapping& mapping, const std::vector<Tensor>& batch,
                    bool expectSunk = true, Target target = Target::Cpu) {
  if (!codegen::cpu::cpuJitAvailable()) GTEST_SKIP() << "no JIT on this host";
  GradOptions go;
  go.wrt = training::trainableArgIndices(mapping, ps);
  auto grad = buildGradient(m, loss, go);
  ASSERT_TRUE(grad.isOk()) << grad.status().message();
  training::TrainStepOptions opts;
  opts.optimizer = training::makeAdam({});
  opts.schedule = training::LrSchedule::constant(1e-2);
  opts.clipNorm = 5.0;
  auto step = training::buildTrainStep(m, ps, **grad, mapping, opts);
  ASSERT_TRUE(step.isOk()) << step.status().message();

  // The weight gradients of these models are accumulated per step, so the
  // reassociating pipeline has work to do (not with compacted rows: a step's
  // rows are a ragged tape's prefix, not a row of a loop-invariant value).
  std::unique_ptr<Module> probe = cloneModule(m);
  ASSERT_TRUE(runPipeline(*probe, {"inline", "licm", "hoist-input-projection"}).isOk());
  int64_t sunk = 0;
  ASSERT_TRUE(sinkAccumulatedProducts(*probe, &sunk).isOk());
  if (expectSunk) {
    EXPECT_GT(sunk, 0) << "no accumulated weight gradient was sunk";
  }

  for (FloatRewrites rewrites : {FloatRewrites::Exact, FloatRewrites::Reassociate}) {
    SCOPED_TRACE(rewrites == FloatRewrites::Exact ? "exact" : "reassociate");
    auto t0 = std::chrono::steady_clock::now();
    if (target == Target::EmulatedDevice) {
      codegen::cuda::DeviceCompileOptions options;
      options.floatRewrites = rewrites;
      // The backward kernels must assemble for the GPUs too (once: ptxas is slow).
      options.alwaysEmitPtx = rewrites == FloatRewrites::Exact;
      codegen::cuda::DeviceCompileReport report;
      auto exe =
          codegen::cuda::compileForDevice(m, cudatest::testDevice(), options, &report);
      ASSERT_TRUE(exe.isOk()) << exe.status().message();
      for (const auto& [arch, ptx] : report.ptx)
        EXPECT_TRUE(cudatest::assemblesWithPtxas(ptx, arch));
      std::cout << "  compile for the emulated device: " << msSince(t0) << " ms\n";
      device::DeviceContext ctx;
      checkTwoSteps([&](const std::vector<Tensor>& in) {
        return (*exe)->run(step->function->name, in, ctx);
      }, *step, ps, batch);
      const device::DeviceStats& s = ctx.stats();
      EXPECT_GT(s.kernelLaunches, 0);
      EXPECT_GT(s.gemmCalls, 0);
      // Each loop is recorded or says why it needs the host (the forward
      // loops are recorded from their second iteration, once the `if` that
      // allocates their dynamic tapes in the first has run on the host; the
      // backward loops use iota and dynamic broadcasts, which need it).
      int64_t hostLoops = 0;
      for (const auto& [reason, loops] : s.hostLoops)
        hostLoops += loops;
      EXPECT_GT(s.loopRecordings + hostLoops, 0);
      std::cout << "  " << s.loopRecordings << " loop(s) recorded, " << s.graphLaunches
                << " graph launches, " << s.conditionReads << " host decisions, "
                << s.peeledIterations << " first iterations on the host\n";
      for (const auto& [reason, loops] : s.hostLoops)
        std::cout << "  host-synchronized: " << loops << " loop(s): " << reason << "\n";
      continue;
    }
    codegen::cpu::CompileOptions options;
    options.floatRewrites = rewrites;
    auto exe = codegen::cpu::compileExecutable(m, options);
    ASSERT_TRUE(exe.isOk()) << exe.status().message();
    std::cout << "  compile (optimize + lower + static kernels): " << msSince(t0) << " ms\n";
    checkTwoSteps([&](const std::vector<Tensor>& in) {
      return (*exe)->run(step->function->name, in);
    }, *step, ps, batch);
  }
}

training::ArgMapping mappingFor(size_t numBatchFirst, size_t numParams, size_t numBatchLast) {
  training::ArgMapping m = training::batchThenParams(numBatchFirst, numParams);
  for (size_t i = 0; i < numBatchLast; ++i)
    m.push_back({training::LossArg::Kind::Batch, numBatchFirst + i});
  return m;
}


void spinnCase(bool predicted, bool compact = false, Target target = Target::Cpu,
               bool compactTracker = false) {
  SpinnConfig c;
  c.compactReduce = compact;
  c.compactTracker = compactTracker;
  c.vocab = 10;
  c.embed = 6;
  c.hidden = 5;
  c.trackerSize = 4;
  c.predictTransitions = predicted;
  c.mlpHidden = 7;
  Module m;
  ParamStore ps;
  Function* f = buildSpinnTreeClassifierLoss(m, ps, c, 4);
  Batch b = makeBatch(fourTrees(), 0, predicted ? 7 : 0);
  checkTrainStep(m, ps, *f, mappingFor(4, ps.size(), 0),
                 {b.tokens, b.transitions, b.lengths, labels({0, 3, 1, 2})},
                 // A compact Tracker's tape is ragged: its weight gradients
                 // stay in the loop.
                 /*expectSunk=*/!compactTracker, target);
}

TEST(ExecTraining, SpinnGivenTransitions) { spinnCase(false); }
TEST(ExecTraining, SpinnPredictedTransitions) { spinnCase(true); }
TEST(ExecTraining, SpinnCompactReduce) { spinnCase(false, true); }
TEST(ExecTraining, SpinnCompactReduceAndTracker) {
  spinnCase(false, true, Target::Cpu, /*compactTracker=*/true);
}
TEST(ExecTraining, SpinnPredictedCompactTracker) {
  spinnCase(true, true, Target::Cpu, /*compactTracker=*/true);
}

void biRnnCase(BiRnnConfig::Cell cell, bool compact = false, Target target = Target::Cpu) {
  BiRnnConfig c;
  c.cell = cell;
  c.compactRows = compact;
  c.vocab = 9;
  c.embed = 6;
  c.hidden = 5;
  c.layers = 2;
  c.classes = 3;
  Module m;
  ParamStore ps;
  Function* logits = buildBiRnnClassifier(m, ps, c);
  Function* f = crossEntropyOf(m, *logits);
  Tensor tokens = Tensor::fromInts(TensorType(DType::I32, {3, 4}), {1, 2, 3, 4, 5, 6, 0, 0, 7, 0, 0, 0});
  Tensor lengths = Tensor::fromInts(TensorType(DType::I32, {3}), {4, 2, 1});
  checkTrainStep(m, ps, *f, mappingFor(2, ps.size(), 1), {tokens, lengths, labels({2, 0, 1})},
                 !compact, target);
}

TEST(ExecTraining, BiLstm) { biRnnCase(BiRnnConfig::Lstm); }
TEST(ExecTraining, BiGru) { biRnnCase(BiRnnConfig::Gru); }
TEST(ExecTraining, BiLstmCompactRows) { biRnnCase(BiRnnConfig::Lstm, true); }

// The same training steps through the CUDA backend on the emulated device.
TEST(ExecTraining, SpinnOnEmulatedDevice) { spinnCase(false, false, Target::EmulatedDevice); }
TEST(ExecTraining, SpinnPredictedOnEmulatedDevice) {
  spinnCase(true, false, Target::EmulatedDevice);
}
TEST(ExecTraining, SpinnCompactReduceAndTrackerOnEmulatedDevice) {
  spinnCase(false, true, Target::EmulatedDevice, /*compactTracker=*/true);
}
TEST(ExecTraining, BiLstmOnEmulatedDevice) {
  biRnnCase(BiRnnConfig::Lstm, false, Target::EmulatedDevice);
}
TEST(ExecTraining, BiGruOnEmulatedDevice) {
  biRnnCase(BiRnnConfig::Gru, false, Target::EmulatedDevice);
}

void treeLstmCase(Target target) {
  TreeLstmConfig c;
  c.vocab = 10;
  c.embed = 6;
  c.hidden = 5;
  Module m;
  ParamStore ps;
  Function* logits = buildTreeLstmSentiment(m, ps, c);
  Function* f = crossEntropyOf(m, *logits);
  Batch b = makeBatch(fourTrees());
  checkTrainStep(m, ps, *f, mappingFor(3, ps.size(), 1),
                 {b.tokens, b.transitions, b.lengths, labels({4, 0, 2, 1})}, true, target);
}

TEST(ExecTraining, TreeLstm) { treeLstmCase(Target::Cpu); }
TEST(ExecTraining, TreeLstmOnEmulatedDevice) { treeLstmCase(Target::EmulatedDevice); }

} // namespace
} // namespace cairn
