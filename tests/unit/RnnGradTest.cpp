// The `rnn_grad` op (ir/Ops.def) and autodiff's GradOptions::keepRnnOps:
// the reference kernel against the gradient autodiff derives from
// expand-rnn's loop (lstm/gru x forward/reverse x f32/f64, lengths 0 and T
// present, dynamic T), against central differences in f64, the rule's
// one-op gradient against the loop's, the BiLSTM/BiGRU built with rnn ops
// differentiated both ways (interpreter, CPU executor, and the kept one on
// the test device), and run-time
// errors (a length outside [0, T], adjoints of the wrong shape).
#include <random>

#include <gtest/gtest.h>

#include "compiler/autodiff/Autodiff.h"
#include "frontend/Builder.h"
#include "frontend/layers/Layers.h"
#include "frontend/models/BiRnn.h"
#include "frontend/training/Optimizers.h"
#include "frontend/training/TrainStep.h"
#include "ir/Verifier.h"
#include "tests/unit/DeviceTestUtil.h"
#include "tests/unit/ExecTestUtil.h"
#include "tests/unit/ModelLossTestUtil.h"

namespace cairn {
namespace {

struct GradCase {
  bool lstm = true, reverse = false;
  DType dtype = DType::F64;
  int64_t T = 4, B = 4, I = 3, H = 3;
  bool dynamicT = false;
  size_t w() const { return lstm ? 4 : 3; } ///< index of w_ih among the layer's operands
  size_t numLayerOperands() const { return lstm ? 8 : 7; }
};

std::string describe(const GradCase& c) {
  return fmt::format("{} {} {} T={}{} B={} I={} H={}", c.lstm ? "lstm" : "gru",
                     c.reverse ? "reverse" : "forward", dtypeName(c.dtype), c.T,
                     c.dynamicT ? "(?)" : "", c.B, c.I, c.H);
}

/// The layer's operand types, then the adjoints' d_ys, d_hn [, d_cn].
std::vector<TensorType> argTypes(const GradCase& c) {
  const int64_t T = c.dynamicT ? kDynamic : c.T, B = c.B, G = c.lstm ? 4 : 3;
  std::vector<TensorType> args{TensorType(c.dtype, {T, B, c.I}), TensorType(DType::I32, {B}),
                               TensorType(c.dtype, {B, c.H})};
  if (c.lstm) args.push_back(TensorType(c.dtype, {B, c.H}));
  for (Shape s : {Shape{G * c.H, c.I}, Shape{G * c.H, c.H}, Shape{G * c.H}, Shape{G * c.H}})
    args.push_back(TensorType(c.dtype, s));
  args.push_back(TensorType(c.dtype, {T, B, c.H}));
  args.push_back(TensorType(c.dtype, {B, c.H}));
  if (c.lstm) args.push_back(TensorType(c.dtype, {B, c.H}));
  return args;
}

/// @pairing(layer operands..., d_ys, d_hn [, d_cn]) = <ys, d_ys> + <h_n,
/// d_hn> [+ <c_n, d_cn>]: its gradient w.r.t. the layer's float operands is
/// exactly what rnn_grad computes from those adjoints.
Function* buildPairing(Module& m, const GradCase& c) {
  FunctionBuilder fb(m, "pairing", argTypes(c));
  const size_t w = c.w(), d = w + 4;
  RnnResult r = rnn(c.lstm ? RnnCell::Lstm : RnnCell::Gru, fb.arg(0), fb.arg(1), fb.arg(2),
                    c.lstm ? fb.arg(3) : Val(), fb.arg(w), fb.arg(w + 1), fb.arg(w + 2),
                    fb.arg(w + 3), c.reverse);
  Val loss = reduceSum(r.ys * fb.arg(d), {0, 1, 2}) + reduceSum(r.h * fb.arg(d + 1), {0, 1});
  if (c.lstm) loss = loss + reduceSum(r.c * fb.arg(d + 2), {0, 1});
  return fb.ret({loss});
}

/// @direct(the same arguments) -> rnn_grad's results: one rnn_grad op.
Function* buildDirect(Module& m, const GradCase& c) {
  FunctionBuilder fb(m, "direct", argTypes(c));
  ValueList operands;
  for (size_t i = 0; i < fb.numArgs(); ++i)
    operands.push_back(fb.arg(i));
  AttrMap attrs{{"cell", std::string(c.lstm ? "lstm" : "gru")},
                {"reverse", int64_t{c.reverse ? 1 : 0}}};
  return fb.ret(fb.create(OpKind::RnnGrad, operands, std::move(attrs)));
}

/// The layer's float operands, in rnn_grad's result order.
std::vector<size_t> wrtOf(const GradCase& c) {
  std::vector<size_t> wrt{0, 2};
  if (c.lstm) wrt.push_back(3);
  for (size_t k = 0; k < 4; ++k)
    wrt.push_back(c.w() + k);
  return wrt;
}

/// Random arguments for argTypes(c) (values in [-1.5, 1.5]); lengths T, 0,
/// then random in [0, T].
std::vector<Tensor> randomArgs(const GradCase& c, std::mt19937& gen) {
  std::uniform_real_distribution<double> u(-1.5, 1.5);
  std::uniform_int_distribution<int64_t> len(0, c.T);
  std::vector<Tensor> in;
  for (TensorType t : argTypes(c)) {
    if (t.shape.size() == 3) t.shape[0] = c.T;
    Tensor v(t);
    for (int64_t i = 0; i < v.numElements(); ++i) {
      if (isFloat(t.dtype))
        v.setDouble(i, u(gen));
      else
        v.setInt(i, i == 0 ? c.T : i == 1 ? 0 : len(gen));
    }
    in.push_back(std::move(v));
  }
  return in;
}

size_t countOps(const Function& f, OpKind kind) {
  size_t n = 0;
  walk(f, [&](Op& op) { n += op.kind() == kind; });
  return n;
}

std::vector<GradCase> allCases(std::mt19937& gen) {
  std::uniform_int_distribution<int64_t> small(1, 4);
  std::vector<GradCase> cases;
  for (int i = 0; i < 16; ++i) {
    GradCase c;
    c.lstm = i % 2 == 0;
    c.reverse = (i / 2) % 2 == 1;
    c.dtype = (i / 4) % 2 ? DType::F64 : DType::F32;
    c.dynamicT = (i / 8) % 2 == 1;
    c.T = 2 + small(gen);
    c.B = 2 + small(gen); // room for lengths T and 0 and random ones
    c.I = small(gen);
    c.H = small(gen);
    cases.push_back(c);
  }
  return cases;
}

// (a) The kernel against autodiff's gradient of expand-rnn's loop (today's
// path, keepRnnOps off): 1e-5 relative in f32 (the loop rounds every step in
// f32, the kernel once), 1e-10 in f64. With keepRnnOps the gradient function
// is that one rnn_grad op: no loop, the kernel's bits.
TEST(RnnGradTest, ReferenceMatchesTheExpandedLoopsGradient) {
  std::mt19937 gen(7);
  double magnitude = 0;
  for (const GradCase& c : allCases(gen)) {
    SCOPED_TRACE(describe(c));
    Module m;
    Function* pairing = buildPairing(m, c);
    Function* direct = buildDirect(m, c);
    ASSERT_TRUE(verify(m).isOk()) << verify(m).message();
    GradOptions go;
    go.wrt = wrtOf(c);
    go.name = "loop_grad";
    auto loopGrad = buildGradient(m, *pairing, go);
    ASSERT_TRUE(loopGrad.isOk()) << loopGrad.status().message();
    EXPECT_EQ(countOps(**loopGrad, OpKind::RnnGrad), 0u);
    go.keepRnnOps = true;
    go.name = "op_grad";
    auto opGrad = buildGradient(m, *pairing, go);
    ASSERT_TRUE(opGrad.isOk()) << opGrad.status().message();
    EXPECT_EQ(countOps(**opGrad, OpKind::RnnGrad), 1u);
    EXPECT_EQ(countOps(**opGrad, OpKind::While), 0u);

    std::vector<Tensor> in = randomArgs(c, gen);
    auto want = interpret(**loopGrad, in);
    auto got = interpret(*direct, in);
    auto viaRule = interpret(**opGrad, in);
    ASSERT_TRUE(want.isOk()) << want.status().message();
    ASSERT_TRUE(got.isOk()) << got.status().message();
    ASSERT_TRUE(viaRule.isOk()) << viaRule.status().message();
    ASSERT_EQ(want->size(), got->size() + 1); // the loss, then the gradients
    ASSERT_EQ(viaRule->size(), want->size());
    const double tol = c.dtype == DType::F32 ? 1e-5 : 1e-10;
    for (size_t k = 0; k < got->size(); ++k) {
      EXPECT_LE(exectest::relDiff((*got)[k], (*want)[k + 1]), tol)
          << "result #" << k << "\n got " << (*got)[k].toString() << "\nwant "
          << (*want)[k + 1].toString();
      EXPECT_TRUE((*viaRule)[k + 1] == (*got)[k]) << "result #" << k;
      for (double v : (*want)[k + 1].toDoubles())
        magnitude += std::fabs(v);
    }
  }
  EXPECT_GT(magnitude, 10.0); // real gradients, not empty tensors
}

// (b) Central differences of the pairing in f64 against the kernel: every
// element of x, h0, c0 and the weights, 1e-7 relative to the gradient's
// largest entry (h = 1e-5: truncation ~1e-10, rounding ~1e-11).
TEST(RnnGradTest, MatchesFiniteDifferences) {
  for (bool lstm : {true, false})
    for (bool reverse : {false, true}) {
      GradCase c;
      c.lstm = lstm;
      c.reverse = reverse;
      c.T = 3;
      c.B = 3;
      c.I = 2;
      c.H = 2;
      SCOPED_TRACE(describe(c));
      Module m;
      Function* pairing = buildPairing(m, c);
      Function* direct = buildDirect(m, c);
      std::mt19937 gen(lstm * 2 + reverse);
      std::vector<Tensor> in = randomArgs(c, gen);
      in[1] = Tensor::fromInts(TensorType(DType::I32, {3}), {3, 0, 2});
      auto grads = interpret(*direct, in);
      ASSERT_TRUE(grads.isOk()) << grads.status().message();
      std::vector<size_t> wrt = wrtOf(c);
      for (size_t k = 0; k < wrt.size(); ++k) {
        const Tensor& g = (*grads)[k];
        double scale = 1e-3;
        for (double v : g.toDoubles())
          scale = std::max(scale, std::fabs(v));
        for (int64_t i = 0; i < g.numElements(); ++i) {
          auto at = [&](double delta) {
            std::vector<Tensor> moved = in;
            Tensor& t = moved[wrt[k]];
            t.setDouble(i, t.getDouble(i) + delta);
            auto r = interpret(*pairing, moved);
            EXPECT_TRUE(r.isOk()) << r.status().message();
            return r.isOk() ? (*r)[0].getDouble(0) : NAN;
          };
          const double h = 1e-5, fd = (at(h) - at(-h)) / (2 * h);
          EXPECT_NEAR(g.getDouble(i), fd, 1e-7 * scale) << "operand #" << wrt[k] << " element " << i;
        }
      }
      // Padded steps get no input gradient; the length-0 row passes the
      // adjoint of h_n (and c_n) straight to h0 (and c0).
      const Tensor& dx = (*grads)[0];
      for (int64_t j = 0; j < c.I; ++j) {
        EXPECT_EQ(dx.getDouble((0 * c.B + 1) * c.I + j), 0.0);
        EXPECT_EQ(dx.getDouble((2 * c.B + 2) * c.I + j), 0.0);
      }
      const size_t d = c.w() + 4;
      for (int64_t j = 0; j < c.H; ++j) {
        EXPECT_EQ((*grads)[1].getDouble(1 * c.H + j), in[d + 1].getDouble(1 * c.H + j));
        if (lstm) {
          EXPECT_EQ((*grads)[2].getDouble(1 * c.H + j), in[d + 2].getDouble(1 * c.H + j));
        }
      }
    }
}

// A loss reading only h_n: the rule passes zeros for the other results'
// adjoints, and agrees with the loop's gradient.
TEST(RnnGradTest, UnusedResultsGetZeroAdjoints) {
  for (bool lstm : {true, false}) {
    GradCase c;
    c.lstm = lstm;
    c.reverse = true;
    SCOPED_TRACE(describe(c));
    Module m;
    std::vector<TensorType> types = argTypes(c);
    types.resize(c.numLayerOperands());
    FunctionBuilder fb(m, "loss", types);
    const size_t w = c.w();
    RnnResult r = rnn(lstm ? RnnCell::Lstm : RnnCell::Gru, fb.arg(0), fb.arg(1), fb.arg(2),
                      lstm ? fb.arg(3) : Val(), fb.arg(w), fb.arg(w + 1), fb.arg(w + 2),
                      fb.arg(w + 3), c.reverse);
    Function* loss = fb.ret({reduceSum(tanh(r.h), {0, 1})});
    GradOptions go;
    go.wrt = wrtOf(c);
    auto loopGrad = buildGradient(m, *loss, go);
    go.keepRnnOps = true;
    go.name = "loss_op_grad";
    auto opGrad = buildGradient(m, *loss, go);
    ASSERT_TRUE(loopGrad.isOk() && opGrad.isOk());
    EXPECT_EQ(countOps(**opGrad, OpKind::RnnGrad), 1u);
    std::mt19937 gen(lstm ? 31 : 37);
    std::vector<Tensor> in = randomArgs(c, gen);
    in.resize(c.numLayerOperands());
    auto want = interpret(**loopGrad, in);
    auto got = interpret(**opGrad, in);
    ASSERT_TRUE(want.isOk() && got.isOk());
    for (size_t k = 0; k < want->size(); ++k)
      EXPECT_LE(exectest::relDiff((*got)[k], (*want)[k]), 1e-10) << "result #" << k;
  }
}

// An rnn op in a loop's body: its operands (the carried h) are read from
// the loop's tapes by the rule, as any other op's.
TEST(RnnGradTest, RnnInsideALoop) {
  auto m = exectest::parseOk(R"(
func @f(%x: tensor<3x2x3xf64>, %len: tensor<2xi32>, %h0: tensor<2x4xf64>, %wi: tensor<12x3xf64>, %wh: tensor<12x4xf64>, %b: tensor<12xf64>, %n: tensor<i32>) -> tensor<f64> {
  %z = constant 0 : tensor<i32>
  %one = constant 1 : tensor<i32>
  %r:2 = while (%t = %z, %h = %h0) : (tensor<i32>, tensor<2x4xf64>) max_trip %n cond {
    %c = lt %t, %n : tensor<i1>
    yield %c
  } body {
    %q:2 = rnn %x, %len, %h, %wi, %wh, %b, %b {cell = "gru", reverse = 1} : tensor<3x2x4xf64>, tensor<2x4xf64>
    %s = reduce_sum %q#0 {dims = [0]} : tensor<2x4xf64>
    %h2 = add %q#1, %s : tensor<2x4xf64>
    %t2 = add %t, %one : tensor<i32>
    yield %t2, %h2
  }
  %s = reduce_sum %r#1 {dims = [0, 1]} : tensor<f64>
  return %s
}
)");
  ASSERT_NE(m, nullptr);
  GradOptions go;
  go.wrt = {0, 2, 3, 4, 5};
  auto loopGrad = buildGradient(*m, *m->lookup("f"), go);
  go.keepRnnOps = true;
  go.name = "f_op_grad";
  auto opGrad = buildGradient(*m, *m->lookup("f"), go);
  ASSERT_TRUE(loopGrad.isOk()) << loopGrad.status().message();
  ASSERT_TRUE(opGrad.isOk()) << opGrad.status().message();
  EXPECT_EQ(countOps(**opGrad, OpKind::RnnGrad), 1u);
  GradCase c;
  c.lstm = false;
  c.T = 3;
  c.B = 2;
  c.H = 4;
  std::mt19937 gen(41);
  std::vector<Tensor> in = randomArgs(c, gen);
  in.resize(c.numLayerOperands() - 1); // x, lengths, h0, w_ih, w_hh, b
  for (Tensor& t : in)
    if (isFloat(t.dtype()))
      for (int64_t i = 0; i < t.numElements(); ++i)
        t.setDouble(i, 0.3 * t.getDouble(i)); // three layers deep: keep the gates live
  in.push_back(Tensor::fromInts(TensorType(DType::I32, {}), {3}));
  auto want = interpret(**loopGrad, in);
  auto got = interpret(**opGrad, in);
  ASSERT_TRUE(want.isOk()) << want.status().message();
  ASSERT_TRUE(got.isOk()) << got.status().message();
  ASSERT_EQ(got->size(), want->size());
  for (size_t k = 0; k < want->size(); ++k)
    EXPECT_LE(exectest::relDiff((*got)[k], (*want)[k]), 1e-10) << "result #" << k;
}

TEST(RnnGradTest, LengthOutsideZeroToTIsARunTimeError) {
  for (int64_t bad : {-1, 5}) {
    GradCase c;
    c.dynamicT = true;
    Module m;
    buildDirect(m, c);
    std::mt19937 gen(3);
    std::vector<Tensor> in = randomArgs(c, gen);
    in[1] = Tensor::fromInts(TensorType(DType::I32, {4}), {1, bad, 0, 4});
    auto r = interpret(m, "direct", in);
    ASSERT_FALSE(r.isOk());
    EXPECT_NE(r.status().message().find("'rnn_grad' op length " + std::to_string(bad) +
                                        " of row 1 is outside [0, 4]"),
              std::string::npos)
        << r.status().message();
    auto exe = exectest::compileOk(m);
    ASSERT_NE(exe, nullptr);
    exec::ExecutionContext ctx;
    auto compiled = exe->run("direct", in, ctx);
    ASSERT_FALSE(compiled.isOk());
    EXPECT_NE(compiled.status().message().find("rnn_grad"), std::string::npos)
        << compiled.status().message();
  }
}

// `?` sequence lengths agree at verification but may not at run time.
TEST(RnnGradTest, AdjointOfTheWrongRunTimeShapeIsAnError) {
  GradCase c;
  c.dynamicT = true;
  Module m;
  buildDirect(m, c);
  std::mt19937 gen(5);
  std::vector<Tensor> in = randomArgs(c, gen);
  in[c.w() + 4] = Tensor(TensorType(c.dtype, {c.T + 1, c.B, c.H})); // d_ys one step too long
  auto r = interpret(m, "direct", in);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("'rnn_grad' op d_ys is [5, 4, 3], expected [4, 4, 3]"),
            std::string::npos)
      << r.status().message();
}

// ---- (c) The BiRNN built with rnn ops, differentiated both ways -------------

struct BiRnnModel {
  explicit BiRnnModel(BiRnnConfig::Cell cell) {
    BiRnnConfig cfg{cell, /*vocab=*/13, /*embed=*/5, /*hidden=*/4, /*layers=*/2, /*classes=*/3};
    cfg.useRnnOp = true;
    logits = buildBiRnnClassifier(m, params, cfg);
    loss = testing::crossEntropyOf(m, *logits);
    values = params.initialize(99);
    for (Tensor& t : values)
      for (int64_t i = 0; i < t.numElements(); ++i)
        t.setDouble(i, 2 * t.getDouble(i));
  }
  std::vector<Tensor> lossInputs() const {
    // Lengths 5 (= N), 2, 4 and 0: a full row, short ones and an empty one.
    std::vector<Tensor> in{Tensor::fromInts(TensorType(DType::I32, {4, 5}),
                                            {1, 2, 3, 4, 5, 6, 7, 0, 0, 0, 8, 9, 10, 11, 12, 0,
                                             0, 0, 0, 0}),
                           Tensor::fromInts(TensorType(DType::I32, {4}), {5, 2, 4, 0})};
    in.insert(in.end(), values.begin(), values.end());
    in.push_back(testing::labels({2, 0, 1, 1}));
    return in;
  }
  Module m;
  ParamStore params;
  Function *logits, *loss;
  std::vector<Tensor> values;
};

class RnnGradModelTest : public ::testing::TestWithParam<BiRnnConfig::Cell> {};

// The train step's gradient with keepRnnOps (4 rnn_grad ops, no loops)
// against the one through expand-rnn's loops: interpreter (3e-5 relative,
// f32: the loops' gradient rounds every step of two layers in f32, 6e-6
// measured) and CPU executor, where the rnn_grad ops run as fallbacks through the
// reference kernel. Then a whole SGD train step on each.
TEST_P(RnnGradModelTest, KeptRnnOpsGiveTheLoopsGradients) {
  BiRnnModel bm(GetParam());
  GradOptions go;
  go.wrt = training::trainableArgIndices(training::batchThenParams(2, bm.params.size()), bm.params);
  go.name = "loop_grad";
  auto loopGrad = buildGradient(bm.m, *bm.loss, go);
  go.keepRnnOps = true;
  go.name = "op_grad";
  auto opGrad = buildGradient(bm.m, *bm.loss, go);
  ASSERT_TRUE(loopGrad.isOk()) << loopGrad.status().message();
  ASSERT_TRUE(opGrad.isOk()) << opGrad.status().message();
  EXPECT_EQ(countOps(**opGrad, OpKind::RnnGrad), 4u); // 2 layers x 2 directions
  EXPECT_EQ(countOps(**opGrad, OpKind::While), 0u);
  EXPECT_EQ(countOps(**opGrad, OpKind::Rnn), 4u); // the forward, kept whole too
  EXPECT_EQ(countOps(**loopGrad, OpKind::RnnGrad), 0u);

  std::vector<Tensor> in = bm.lossInputs();
  auto want = interpret(**loopGrad, in);
  auto got = interpret(**opGrad, in);
  ASSERT_TRUE(want.isOk()) << want.status().message();
  ASSERT_TRUE(got.isOk()) << got.status().message();
  ASSERT_EQ(got->size(), want->size());
  double magnitude = 0;
  for (size_t r = 0; r < want->size(); ++r) {
    EXPECT_LE(exectest::relDiff((*got)[r], (*want)[r]), 3e-5) << "result #" << r;
    for (double v : (*want)[r].toDoubles())
      magnitude += std::fabs(v);
  }
  EXPECT_GT(magnitude, 1.0);

  // Both train steps, compiled for the CPU executor, against the interpreter.
  training::TrainStepOptions opts;
  opts.optimizer = training::makeSgd();
  opts.name = "loop_step";
  training::ArgMapping mapping = training::batchThenParams(2, bm.params.size());
  mapping.push_back({training::LossArg::Kind::Batch, 2}); // labels
  auto loopStep = training::buildTrainStep(bm.m, bm.params, **loopGrad, mapping, opts);
  opts.name = "op_step";
  auto opStep = training::buildTrainStep(bm.m, bm.params, **opGrad, mapping, opts);
  ASSERT_TRUE(loopStep.isOk()) << loopStep.status().message();
  ASSERT_TRUE(opStep.isOk()) << opStep.status().message();
  std::vector<Tensor> stepIn = bm.values;
  for (Tensor& t : training::initialState(opStep->state))
    stepIn.push_back(std::move(t));
  stepIn.insert(stepIn.end(), {in[0], in[1], in.back()});
  auto exe = exectest::compileOk(bm.m);
  ASSERT_NE(exe, nullptr);
  exectest::expectMatches(bm.m, *exe, "op_grad", in, 1e-4);
  exectest::expectMatches(bm.m, *exe, "op_step", stepIn, 1e-4);
  exec::ExecutionContext ctx;
  auto a = exe->run("loop_step", stepIn, ctx);
  auto b = exe->run("op_step", stepIn, ctx);
  ASSERT_TRUE(a.isOk()) << a.status().message();
  ASSERT_TRUE(b.isOk()) << b.status().message();
  ASSERT_EQ(a->size(), b->size());
  for (size_t r = 0; r < a->size(); ++r)
    EXPECT_LE(exectest::relDiff((*b)[r], (*a)[r]), 1e-4) << "train step result #" << r;
}

// On the test device (the emulated one in CI): the forward rnn ops of the
// kept gradient run as Device::rnn calls, the rnn_grad ops on the host
// (until the device executor hands them to Device::rnnBackward), and the
// gradient is the interpreter's. No row of length 0 here: such a batch
// runs its forward on the host too.
TEST_P(RnnGradModelTest, KeptRnnOpsOnTheDevice) {
  CAIRN_REQUIRE_EMULATOR();
  BiRnnModel bm(GetParam());
  GradOptions go;
  go.wrt = training::trainableArgIndices(training::batchThenParams(2, bm.params.size()), bm.params);
  go.keepRnnOps = true;
  auto opGrad = buildGradient(bm.m, *bm.loss, go);
  ASSERT_TRUE(opGrad.isOk()) << opGrad.status().message();
  std::vector<Tensor> in = bm.lossInputs();
  in[1] = Tensor::fromInts(TensorType(DType::I32, {4}), {5, 2, 4, 1});
  in[0].setInt(15, 3); // row 3's one token
  auto exe = exectest::compileForDeviceOk(bm.m);
  ASSERT_NE(exe, nullptr);
  device::DeviceContext ctx;
  exectest::expectDeviceMatches(bm.m, *exe, (*opGrad)->name, in, 1e-4, &ctx);
  // The forward's 4 layer directions and their gradients, one device call
  // each (cuDNN on a GPU), none on the host.
  EXPECT_EQ(ctx.stats().rnnCalls, 4);
  EXPECT_EQ(ctx.stats().rnnBackwardCalls, 4);
  EXPECT_EQ(ctx.stats().hostOpsByName.count("rnn"), 0u);
  EXPECT_EQ(ctx.stats().hostOpsByName.count("rnn_grad"), 0u);
}

// One rnn_grad op compiled for the test device: with every length >= 1,
// one Device::rnnBackward call (a reverse op's x, d_ys and dx rows
// reordered around it) and nothing on the host; a row of length 0 (cuDNN
// takes no empty sequence) sends the op to the host. The interpreter's
// results either way (the emulated device runs the same kernel: 1e-6; cuDNN
// on a GPU within 1e-4).
TEST(RnnGradTest, DirectOpOnTheDevice) {
  CAIRN_REQUIRE_EMULATOR();
  std::mt19937 gen(41);
  for (const GradCase& c : allCases(gen)) {
    if (c.dtype != DType::F32) continue;
    for (bool emptyRow : {false, true}) {
      SCOPED_TRACE(describe(c) + (emptyRow ? " with a row of length 0" : ""));
      Module m;
      buildDirect(m, c);
      auto exe = exectest::compileForDeviceOk(m);
      ASSERT_NE(exe, nullptr);
      std::vector<Tensor> in = randomArgs(c, gen); // lengths T, 0, random
      if (!emptyRow)
        for (int64_t b = 0; b < c.B; ++b)
          in[1].setInt(b, std::max<int64_t>(1, in[1].getInt(b)));
      device::DeviceContext ctx;
      exectest::expectDeviceMatches(m, *exe, "direct", in, 1e-4, &ctx);
      EXPECT_EQ(ctx.stats().rnnBackwardCalls, emptyRow ? 0 : 1);
      EXPECT_EQ(ctx.stats().hostOps, emptyRow ? 1 : 0);
      EXPECT_EQ(ctx.stats().rowLaunches, c.reverse && !emptyRow ? 3 : 0); // x, d_ys in; dx out
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cells, RnnGradModelTest,
                         ::testing::Values(BiRnnConfig::Lstm, BiRnnConfig::Gru),
                         [](const auto& info) {
                           return std::string(info.param == BiRnnConfig::Lstm ? "BiLstm" : "BiGru");
                         });

} // namespace
} // namespace cairn
