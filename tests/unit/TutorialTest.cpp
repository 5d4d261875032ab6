// docs/tutorial.md's code, run: the Elman RNN compiled for the executor,
// its loss differentiated, one Adam training step, and the CUDA backend on
// the emulated device. If this file changes, the tutorial changes with it.
#include <gtest/gtest.h>

#include "compiler/autodiff/Autodiff.h"
#include "compiler/codegen/cpu/CompileExecutable.h"
#include "compiler/codegen/cpu/RunFusion.h"
#include "compiler/codegen/cuda/CompileForDevice.h"
#include "frontend/Builder.h"
#include "frontend/layers/Params.h"
#include "frontend/training/Optimizers.h"
#include "frontend/training/TrainStep.h"
#include "runtime/device/OpenDevice.h"
#include "runtime/reference/Interpreter.h"

namespace cairn {
namespace {

constexpr int64_t B = 2, D = 3, H = 4;

/// Section 1's function, returning sum(h_T^2) as well when `loss`.
Function* buildRnn(Module& m, const std::string& name, bool loss) {
  FunctionBuilder fb(m, name,
                     {TensorType(DType::F32, {kDynamic, B, D}), TensorType(DType::F32, {B, H}),
                      TensorType(DType::F32, {D, H}), TensorType(DType::F32, {H, H}),
                      TensorType(DType::F32, {H})},
                     {"xs", "h0", "wx", "wh", "b"});
  Val xs = fb.arg(0), h0 = fb.arg(1), wx = fb.arg(2), wh = fb.arg(3), b = fb.arg(4);
  Val steps = dim(xs, 0);
  Val zero = fb.scalar(0, DType::I64);
  ValueList out = fb.whileLoop(
      {zero, h0}, [&](const ValueList& c) { return lt(c[0], steps); },
      [&](const ValueList& c) {
        Val x = sliceAt(xs, c[0]);
        Val h1 = tanh(matmul(x, wx) + matmul(c[1], wh) + b);
        return ValueList{c[0] + 1, h1};
      },
      steps);
  // Section 6: a scalar loss to differentiate.
  if (loss) fb.ret({reduceSum(out[1] * out[1], {0, 1})});
  else fb.ret({out[1]});
  return &fb.function();
}

Tensor filled(TensorType t, double scale) {
  Tensor x(t);
  for (int64_t i = 0; i < x.numElements(); ++i)
    x.setDouble(i, scale * static_cast<double>((i * 7) % 11 - 5));
  return x;
}

TEST(Tutorial, CompileDifferentiateTrainAndRunOnTheDevice) {
  if (!codegen::cpu::cpuJitAvailable()) GTEST_SKIP() << "no JIT on this host";
  Module m;
  buildRnn(m, "elman_rnn", false);
  Function* loss = buildRnn(m, "elman_loss", true);
  Tensor xs = filled(TensorType(DType::F32, {5, B, D}), 0.1), h0(TensorType(DType::F32, {B, H}));
  Tensor wx = filled(TensorType(DType::F32, {D, H}), 0.05);
  Tensor wh = filled(TensorType(DType::F32, {H, H}), 0.05);
  Tensor b = filled(TensorType(DType::F32, {H}), 0.01);

  // 5. Compile it.
  auto exe = codegen::cpu::compileExecutable(m);
  ASSERT_TRUE(exe.isOk()) << exe.status().message();
  exec::ExecutionContext ctx;
  auto outs = (*exe)->run("elman_rnn", {xs, h0, wx, wh, b}, ctx);
  ASSERT_TRUE(outs.isOk()) << outs.status().message();
  auto want = interpret(m, "elman_rnn", {xs, h0, wx, wh, b});
  ASSERT_TRUE(want.isOk());
  for (int64_t i = 0; i < want->at(0).numElements(); ++i)
    EXPECT_NEAR(outs->at(0).getDouble(i), want->at(0).getDouble(i), 1e-5);

  // 6. Differentiate it.
  GradOptions go;
  go.wrt = {2, 3, 4}; // wx, wh, b
  auto grad = buildGradient(m, *loss, go);
  ASSERT_TRUE(grad.isOk()) << grad.status().message();
  auto g = interpret(m, (*grad)->name, {xs, h0, wx, wh, b});
  ASSERT_TRUE(g.isOk()) << g.status().message();
  ASSERT_EQ(g->size(), 4u); // the loss, then d/dwx, d/dwh, d/db
  EXPECT_EQ(g->at(1).type(), wx.type());

  // 7. One training step.
  ParamStore ps;
  ps.declare({"wx", wx.type()});
  ps.declare({"wh", wh.type()});
  ps.declare({"b", b.type()});
  using training::LossArg;
  training::ArgMapping mapping = {{LossArg::Kind::Batch, 0},
                                  {LossArg::Kind::Batch, 1},
                                  {LossArg::Kind::Param, 0},
                                  {LossArg::Kind::Param, 1},
                                  {LossArg::Kind::Param, 2}};
  training::TrainStepOptions opts;
  opts.optimizer = training::makeAdam();
  opts.schedule = training::LrSchedule::constant(1e-2);
  auto step = training::buildTrainStep(m, ps, **grad, mapping, opts);
  ASSERT_TRUE(step.isOk()) << step.status().message();
  auto trainer = codegen::cpu::compileExecutable(m);
  ASSERT_TRUE(trainer.isOk()) << trainer.status().message();
  std::vector<Tensor> in = {wx, wh, b};                    // parameters
  for (const Tensor& s : training::initialState(step->state))
    in.push_back(s);                                       // optimizer state
  in.push_back(xs);                                        // the batch
  in.push_back(h0);
  double firstLoss = 0, lastLoss = 0;
  for (int i = 0; i < 20; ++i) {
    auto r = (*trainer)->run(step->function->name, in);
    ASSERT_TRUE(r.isOk()) << r.status().message();
    if (i == 0) { // the compiled step is the interpreted one
      auto ref = interpret(m, step->function->name, in);
      ASSERT_TRUE(ref.isOk()) << ref.status().message();
      for (size_t k = 0; k < ref->size(); ++k)
        for (int64_t e = 0; e < ref->at(k).numElements(); ++e)
          EXPECT_NEAR(r->at(k).getDouble(e), ref->at(k).getDouble(e), 1e-5) << "result " << k;
      firstLoss = r->at(step->lossResult()).getDouble(0);
    }
    lastLoss = r->at(step->lossResult()).getDouble(0);
    for (size_t k = 0; k < step->numParams + step->state.size(); ++k)
      in[k] = r->at(k); // parameters and state carry over
  }
  EXPECT_LT(lastLoss, firstLoss / 4) << "20 Adam steps reduce sum(h^2)";

  // 8. The same on the CUDA backend (the emulated device without a GPU).
  auto dev = device::openDevice();
  ASSERT_TRUE(dev.isOk()) << dev.status().message();
  auto onDevice = codegen::cuda::compileForDevice(m, *dev);
  ASSERT_TRUE(onDevice.isOk()) << onDevice.status().message();
  auto d = (*onDevice)->run("elman_rnn", {xs, h0, wx, wh, b});
  ASSERT_TRUE(d.isOk()) << d.status().message();
  for (int64_t i = 0; i < want->at(0).numElements(); ++i)
    EXPECT_NEAR(d->at(0).getDouble(i), want->at(0).getDouble(i), 1e-5);
}

} // namespace
} // namespace cairn
