// End to end: programs from the frontend's layers (an LSTM cell, a GRU cell)
// and from text IR go through `fuse-elementwise`; then every op of the
// function runs in order, each fusion through the JIT and everything else
// through the reference interpreter's evaluateOp, and the results are
// compared with the interpreter on the unfused program, as are the outputs
// of each fusion with the interpreter on that fusion. The fusions of one
// program are also compiled together in one module, and the time logged.
#include "CodegenTestUtil.h"
#include "LayersTestUtil.h"
#include "compiler/passes/FuseElementwise.h"

namespace cairn {
namespace {

using codegen::cpu::CompileStats;

/// Equal (infinities and NaN included) or within `tol` relative to max(1, |b|).
bool close(double a, double b, double tol) {
  return a == b || (std::isnan(a) && std::isnan(b)) ||
         std::fabs(a - b) <= tol * std::max(1.0, std::fabs(b));
}

/// The first element where `got` and `want` are not close, or -1.
int64_t firstMismatch(const Tensor& got, const Tensor& want, double tol) {
  std::vector<double> a = got.toDoubles(), b = want.toDoubles();
  for (size_t i = 0; i < a.size(); ++i)
    if (!close(a[i], b[i], tol)) return static_cast<int64_t>(i);
  return -1;
}

/// Runs a flat function (no while/if) with its fusions compiled; checks each
/// fusion's outputs against the interpreter within `tol` (relative to
/// max(1, |x|)) on the way.
StatusOr<std::vector<Tensor>> runWithCompiledFusions(const Function& f,
                                                     const std::vector<Tensor>& args, double tol,
                                                     int* fusionsRun) {
  std::map<const Value*, Tensor> env;
  for (size_t k = 0; k < args.size(); ++k)
    env[f.body().argument(k)] = args[k];
  for (const auto& op : f.body().ops()) {
    std::vector<Tensor> in;
    for (const Value* v : op->operands)
      in.push_back(env.at(v));
    if (op->kind() == OpKind::Return) return in;
    EXPECT_EQ(op->numRegions() == 0 || op->kind() == OpKind::Fusion, true) << "flat functions only";
    bool fused = op->kind() == OpKind::Fusion;
    auto out = fused ? codegen::cpu::runFusionCompiled(*op, in) : evaluateOp(*op, in);
    if (!out.isOk()) return out.status();
    if (fused) {
      ++*fusionsRun;
      auto want = evaluateOp(*op, in);
      if (!want.isOk()) return want.status();
      for (size_t r = 0; r < out->size(); ++r)
        if (int64_t i = firstMismatch((*out)[r], (*want)[r], tol); i >= 0)
          return errorf("fusion result {} element {}: compiled {} vs interpreter {}", r, i,
                        (*out)[r].getDouble(i), (*want)[r].getDouble(i));
    }
    for (size_t r = 0; r < op->numResults(); ++r)
      env[op->result(r)] = (*out)[r];
  }
  return Status::error("function has no return");
}

/// Fuses `m`, runs @f both ways and compares; compiles all fusions in one
/// module on a fresh JIT and logs the time. Returns the number of fusions.
int checkFusedProgram(Module& m, const std::vector<Tensor>& inputs, double tol) {
  Function* f = m.functions()[0].get();
  auto before = interpret(*f, inputs);
  EXPECT_TRUE(before.isOk()) << before.status().message();
  int64_t made = 0;
  auto fused = fuseElementwise(m, {}, &made);
  EXPECT_TRUE(fused.isOk()) << fused.status().message();
  EXPECT_TRUE(verify(m).isOk());
  int ran = 0;
  auto after = runWithCompiledFusions(*f, inputs, tol, &ran);
  EXPECT_TRUE(after.isOk()) << after.status().message();
  if (!before.isOk() || !after.isOk()) return ran;
  EXPECT_EQ(ran, made);
  EXPECT_EQ(after->size(), before->size());
  for (size_t r = 0; r < after->size() && r < before->size(); ++r) {
    EXPECT_EQ((*after)[r].type(), (*before)[r].type());
    EXPECT_EQ(firstMismatch((*after)[r], (*before)[r], tol), -1) << "result " << r;
  }
  std::vector<codegen::KernelDesc> kernels;
  walk(*f, [&](Op& op) {
    if (op.kind() == OpKind::Fusion) {
      auto k = codegen::describeKernel(op);
      EXPECT_TRUE(k.isOk()) << k.status().message();
      if (k.isOk()) kernels.push_back(*k);
    }
  });
  auto jit = codegen::cpu::CpuJit::create();
  EXPECT_TRUE(jit.isOk());
  CompileStats stats;
  if (jit.isOk()) {
    EXPECT_TRUE((*jit)->compile(kernels, &stats).isOk());
  }
  std::printf("[ codegen  ] %d fusions, %d distinct kernels in one module: %.1f ms (lower %.1f, "
              "O3 %.1f, codegen %.1f), %.1f ms per kernel\n",
              static_cast<int>(kernels.size()), stats.compiled, stats.totalMs, stats.lowerMs,
              stats.optimizeMs, stats.codegenMs,
              stats.compiled ? stats.totalMs / stats.compiled : 0.0);
  return ran;
}

TEST(CodegenCpuEndToEndTest, LstmCellGateMath) {
  CAIRN_SKIP_WITHOUT_JIT();
  const int64_t batch = 8, in = 16, H = 32;
  testing::LayerHarness h;
  LSTMCell cell(h.ps, "lstm", in, H);
  h.build({TensorType(DType::F32, {batch, in}), TensorType(DType::F32, {batch, H}),
           TensorType(DType::F32, {batch, H})},
          [&](FunctionBuilder&, const ValueList& d) {
            LstmState s = cell(d[0], {d[1], d[2]});
            return ValueList{s.h, s.c};
          });
  h.init();
  std::vector<Tensor> inputs = {testing::randomTensor({batch, in}, 1),
                                testing::randomTensor({batch, H}, 2),
                                testing::randomTensor({batch, H}, 3)};
  inputs.insert(inputs.end(), h.params.begin(), h.params.end());
  EXPECT_GE(checkFusedProgram(h.m, inputs, 1e-5), 1);
}

TEST(CodegenCpuEndToEndTest, GruCell) {
  CAIRN_SKIP_WITHOUT_JIT();
  const int64_t batch = 5, in = 12, H = 24;
  testing::LayerHarness h;
  GRUCell cell(h.ps, "gru", in, H);
  h.build({TensorType(DType::F32, {batch, in}), TensorType(DType::F32, {batch, H})},
          [&](FunctionBuilder&, const ValueList& d) { return ValueList{cell(d[0], d[1])}; });
  h.init();
  std::vector<Tensor> inputs = {testing::randomTensor({batch, in}, 4),
                                testing::randomTensor({batch, H}, 5)};
  inputs.insert(inputs.end(), h.params.begin(), h.params.end());
  EXPECT_GE(checkFusedProgram(h.m, inputs, 1e-5), 1);
}

TEST(CodegenCpuEndToEndTest, TextProgramWithBroadcastsMasksAndCasts) {
  CAIRN_SKIP_WITHOUT_JIT();
  auto m = passtest::parseOk(
      R"(func @f(%x: tensor<6x40xf32>, %w: tensor<40x40xf32>, %b: tensor<40xf32>, %len: tensor<6xi32>) -> (tensor<6x40xf32>, tensor<6x40xf64>) {
  %a = dot %x, %w : tensor<6x40xf32>
  %bb = broadcast %b {dims = [1]} : tensor<6x40xf32>
  %z = add %a, %bb : tensor<6x40xf32>
  %t = tanh %z : tensor<6x40xf32>
  %pos = iota {axis = 1} : tensor<6x40xi32>
  %lb = broadcast %len {dims = [0]} : tensor<6x40xi32>
  %valid = lt %pos, %lb : tensor<6x40xi1>
  %zero = constant 0.0 : tensor<6x40xf32>
  %masked = select %valid, %t, %zero : tensor<6x40xf32>
  %s = reduce_sum %masked {dims = [1]} : tensor<6xf32>
  %sb = broadcast %s {dims = [0]} : tensor<6x40xf32>
  %e = exp %masked : tensor<6x40xf32>
  %r = div %e, %sb : tensor<6x40xf32>
  %wide = cast %r : tensor<6x40xf64>
  %lg = log %wide : tensor<6x40xf64>
  %sq = mul %lg, %lg : tensor<6x40xf64>
  return %r, %sq
})");
  ASSERT_TRUE(m);
  std::vector<Tensor> inputs = {
      testing::randomTensor({6, 40}, 6), testing::randomTensor({40, 40}, 7, 0.3),
      testing::randomTensor({40}, 8),
      Tensor::fromInts(TensorType(DType::I32, {6}), {0, 1, 17, 39, 40, 3})};
  EXPECT_GE(checkFusedProgram(*m, inputs, 1e-5), 2);
}

} // namespace
} // namespace cairn
