// The `rnn` op (ir/Ops.def): its reference semantics against a plain C++
// loop in double; expand-rnn's loop against the op in the interpreter (the
// same bits) and in the compiled CPU executor, on random shapes with lengths
// 0 and T, dynamic T and B, reverse, f32 and f64, i32 and i64 lengths; the
// run-time length check; the loop passes applying to the expansion; the
// BiLSTM/BiGRU built with the op against the one built with cells (forward
// and gradients); autodiff's error on an unexpanded op.
#include <random>

#include <gtest/gtest.h>

#include "compiler/Pipeline.h"
#include "compiler/RewriteUtils.h"
#include "compiler/autodiff/Autodiff.h"
#include "compiler/passes/ExpandRnn.h"
#include "compiler/passes/HoistInputProjection.h"
#include "frontend/Builder.h"
#include "frontend/layers/Layers.h"
#include "frontend/models/BiRnn.h"
#include "ir/Verifier.h"
#include "tests/unit/ExecTestUtil.h"
#include "tests/unit/ModelLossTestUtil.h"
#include "tests/unit/RnnTestUtil.h"

namespace cairn {
namespace {

using rnntest::buildRnnFunction;
using rnntest::describe;
using rnntest::randomInputs;
using rnntest::RnnCase;

double sigmoidD(double v) {
  return 1 / (1 + std::exp(-v));
}

/// The op's definition as a plain loop in double, one row at a time over
/// its own length: ys, h_n, c_n.
std::vector<std::vector<double>> naiveRnn(const RnnCase& c, const std::vector<Tensor>& in) {
  const int64_t T = c.T, B = c.B, I = c.I, H = c.H;
  std::vector<double> x = in[0].toDoubles(), h0 = in[2].toDoubles();
  std::vector<int64_t> len = in[1].toInts();
  std::vector<double> c0 = c.lstm ? in[3].toDoubles() : std::vector<double>(B * H, 0.0);
  size_t w = c.lstm ? 4 : 3;
  std::vector<double> wi = in[w].toDoubles(), wh = in[w + 1].toDoubles();
  std::vector<double> bi = in[w + 2].toDoubles(), bh = in[w + 3].toDoubles();
  const int64_t G = c.lstm ? 4 : 3;
  std::vector<double> ys(T * B * H, 0.0), hn(B * H), cn(B * H);
  for (int64_t b = 0; b < B; ++b) {
    std::vector<double> h(h0.begin() + b * H, h0.begin() + (b + 1) * H);
    std::vector<double> cs(c0.begin() + b * H, c0.begin() + (b + 1) * H);
    for (int64_t s = 0; s < len[b]; ++s) {
      int64_t t = c.reverse ? len[b] - 1 - s : s;
      std::vector<double> gx(G * H), gh(G * H);
      for (int64_t g = 0; g < G * H; ++g) {
        gx[g] = bi[g];
        gh[g] = bh[g];
        for (int64_t k = 0; k < I; ++k)
          gx[g] += x[(t * B + b) * I + k] * wi[g * I + k];
        for (int64_t k = 0; k < H; ++k)
          gh[g] += h[k] * wh[g * H + k];
      }
      std::vector<double> next(H);
      for (int64_t j = 0; j < H; ++j) {
        if (c.lstm) {
          auto pre = [&](int64_t k) { return gx[k * H + j] + gh[k * H + j]; };
          double i = sigmoidD(pre(0)), f = sigmoidD(pre(1)), g = std::tanh(pre(2)),
                 o = sigmoidD(pre(3));
          cs[j] = f * cs[j] + i * g;
          next[j] = o * std::tanh(cs[j]);
        } else {
          double r = sigmoidD(gx[j] + gh[j]), z = sigmoidD(gx[H + j] + gh[H + j]);
          double n = std::tanh(gx[2 * H + j] + r * gh[2 * H + j]);
          next[j] = (1 - z) * n + z * h[j];
        }
      }
      h = next;
      for (int64_t j = 0; j < H; ++j)
        ys[(t * B + b) * H + j] = h[j];
    }
    std::copy(h.begin(), h.end(), hn.begin() + b * H);
    std::copy(cs.begin(), cs.end(), cn.begin() + b * H);
  }
  std::vector<std::vector<double>> out{ys, hn};
  if (c.lstm) out.push_back(cn);
  return out;
}

double maxAbs(const std::vector<double>& a, const std::vector<double>& b) {
  double m = a.size() == b.size() ? 0 : INFINITY;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

RnnCase randomCase(std::mt19937& gen, int i) {
  std::uniform_int_distribution<int64_t> small(1, 4), steps(1, 6);
  RnnCase c;
  c.lstm = i % 2 == 0;
  c.reverse = (i / 2) % 2 == 1;
  c.dtype = (i / 4) % 2 ? DType::F64 : DType::F32;
  c.lengthType = (i / 8) % 2 ? DType::I64 : DType::I32;
  c.dynamicT = (i / 3) % 2 == 0;
  c.dynamicB = (i / 5) % 2 == 1;
  c.T = i % 7 == 6 ? 0 : steps(gen); // T = 0 now and then: nothing runs
  c.B = small(gen);
  c.I = small(gen);
  c.H = small(gen);
  return c;
}

// The reference interpreter's op is the documented recurrence (within
// rounding: 2e-6 for f32 through a few steps, 1e-12 for f64).
TEST(RnnOpTest, ReferenceMatchesThePlainLoop) {
  std::mt19937 gen(5);
  double magnitude = 0;
  for (int i = 0; i < 32; ++i) {
    RnnCase c = randomCase(gen, i);
    SCOPED_TRACE(describe(c));
    Module m;
    Function* f = buildRnnFunction(m, c);
    std::vector<Tensor> in = randomInputs(c, gen);
    auto got = interpret(*f, in);
    ASSERT_TRUE(got.isOk()) << got.status().message();
    std::vector<std::vector<double>> want = naiveRnn(c, in);
    ASSERT_EQ(got->size(), want.size());
    double tol = c.dtype == DType::F32 ? 2e-6 : 1e-12;
    for (size_t r = 0; r < want.size(); ++r) {
      EXPECT_LE(maxAbs((*got)[r].toDoubles(), want[r]), tol) << "result #" << r;
      for (double v : want[r])
        magnitude += std::fabs(v);
    }
  }
  EXPECT_GT(magnitude, 10.0); // the cases compare real values, not empty tensors
}

// expand-rnn's loop computes the op's bits in the interpreter, and the
// compiled executor (optimize pipeline: expand-rnn, hoisting, fusion, the
// JIT's polynomial tanh/sigmoid) agrees within 1e-5 relative (f32).
TEST(RnnOpTest, ExpansionMatchesTheOpInterpreterAndExecutor) {
  std::mt19937 gen(11);
  for (int i = 0; i < 32; ++i) {
    RnnCase c = randomCase(gen, i);
    SCOPED_TRACE(describe(c));
    Module m;
    Function* f = buildRnnFunction(m, c);
    std::unique_ptr<Module> expanded = cloneModule(m);
    int64_t n = 0;
    ASSERT_TRUE(expandRnn(*expanded, &n).isOk());
    EXPECT_EQ(n, 1);
    ASSERT_TRUE(verify(*expanded).isOk()) << verify(*expanded).message();
    int64_t left = 0;
    walk(*expanded->lookup("f"), [&](Op& op) { left += op.kind() == OpKind::Rnn; });
    EXPECT_EQ(left, 0);
    std::vector<Tensor> in = randomInputs(c, gen);
    auto want = interpret(*f, in);
    auto got = interpret(*expanded->lookup("f"), in);
    ASSERT_TRUE(want.isOk()) << want.status().message();
    ASSERT_TRUE(got.isOk()) << got.status().message();
    ASSERT_EQ(got->size(), want->size());
    for (size_t r = 0; r < want->size(); ++r)
      EXPECT_TRUE((*got)[r] == (*want)[r]) << "result #" << r << " differs from the op's";
    auto exe = exectest::compileOk(m);
    ASSERT_NE(exe, nullptr);
    exectest::expectMatches(m, *exe, "f", in, c.dtype == DType::F32 ? 1e-5 : 1e-12);
  }
}

TEST(RnnOpTest, LengthOutsideZeroToTIsARunTimeError) {
  for (int64_t bad : {-1, 4}) {
    RnnCase c;
    c.dynamicT = true;
    Module m;
    Function* f = buildRnnFunction(m, c);
    std::mt19937 gen(3);
    std::vector<Tensor> in = randomInputs(c, gen);
    in[1] = Tensor::fromInts(TensorType(DType::I32, {2}), {1, bad});
    auto op = interpret(*f, in);
    ASSERT_FALSE(op.isOk());
    EXPECT_NE(op.status().message().find("'rnn' op length " + std::to_string(bad) +
                                         " of row 1 is outside [0, 3]"),
              std::string::npos)
        << op.status().message();
    // The expansion stops in its checking gather; the compiled code too.
    std::unique_ptr<Module> expanded = cloneModule(m);
    ASSERT_TRUE(expandRnn(*expanded).isOk());
    auto loop = interpret(*expanded->lookup("f"), in);
    ASSERT_FALSE(loop.isOk());
    EXPECT_NE(loop.status().message().find(std::to_string(bad)), std::string::npos)
        << loop.status().message();
    auto exe = exectest::compileOk(m);
    ASSERT_NE(exe, nullptr);
    exec::ExecutionContext ctx;
    auto compiled = exe->run("f", in, ctx);
    EXPECT_FALSE(compiled.isOk());
  }
}

// x and lengths with a dynamic batch, h0/c0 with a static one: the op's
// results take the static B, and the expansion mixes gathers (x's rows) with
// static slices (the gates); same bits as the op.
TEST(RnnOpTest, MixedStaticAndDynamicBatchExpands) {
  for (bool lstm : {true, false}) {
    RnnCase c;
    c.lstm = lstm;
    c.B = 3;
    Module m;
    const int64_t G = lstm ? 4 : 3;
    std::vector<TensorType> args{TensorType(c.dtype, {kDynamic, kDynamic, c.I}),
                                 TensorType(c.lengthType, {kDynamic}),
                                 TensorType(c.dtype, {c.B, c.H})};
    if (lstm) args.push_back(TensorType(c.dtype, {c.B, c.H}));
    for (Shape s : {Shape{G * c.H, c.I}, Shape{G * c.H, c.H}, Shape{G * c.H}, Shape{G * c.H}})
      args.push_back(TensorType(c.dtype, s));
    FunctionBuilder fb(m, "f", args);
    size_t w = lstm ? 4 : 3;
    RnnResult r =
        rnn(lstm ? RnnCell::Lstm : RnnCell::Gru, fb.arg(0), fb.arg(1), fb.arg(2),
            lstm ? fb.arg(3) : Val(), fb.arg(w), fb.arg(w + 1), fb.arg(w + 2), fb.arg(w + 3), true);
    EXPECT_EQ(r.ys.type(), TensorType(c.dtype, {kDynamic, c.B, c.H}));
    Function* f = fb.ret({r.ys, r.h});
    std::unique_ptr<Module> expanded = cloneModule(m);
    ASSERT_TRUE(expandRnn(*expanded).isOk());
    ASSERT_TRUE(verify(*expanded).isOk()) << verify(*expanded).message();
    std::mt19937 gen(17);
    std::vector<Tensor> in = randomInputs(c, gen);
    auto want = interpret(*f, in);
    auto got = interpret(*expanded->lookup("f"), in);
    ASSERT_TRUE(want.isOk() && got.isOk());
    EXPECT_TRUE((*got)[0] == (*want)[0] && (*got)[1] == (*want)[1]);
  }
}

TEST(RnnOpTest, BuilderRejectsAMissingOrExtraCellState) {
  for (bool lstm : {true, false}) {
    RnnCase c;
    c.lstm = lstm;
    Module m;
    const int64_t G = lstm ? 4 : 3;
    std::vector<TensorType> args{TensorType(c.dtype, {c.T, c.B, c.I}),
                                 TensorType(c.lengthType, {c.B}), TensorType(c.dtype, {c.B, c.H})};
    for (Shape s : {Shape{G * c.H, c.I}, Shape{G * c.H, c.H}, Shape{G * c.H}})
      args.push_back(TensorType(c.dtype, s));
    FunctionBuilder fb(m, "f", args);
    Val c0 = lstm ? Val() : fb.arg(2); // LSTM without c0; GRU with one
    EXPECT_THROW(rnn(lstm ? RnnCell::Lstm : RnnCell::Gru, fb.arg(0), fb.arg(1), fb.arg(2), c0,
                     fb.arg(3), fb.arg(4), fb.arg(5), fb.arg(5)),
                 BuildError);
  }
}

// `?` batch dims agree at verification but may not at run time.
TEST(RnnOpTest, RunTimeBatchMismatchIsAnError) {
  RnnCase c;
  c.dynamicB = true;
  Module m;
  Function* f = buildRnnFunction(m, c);
  std::mt19937 gen(23);
  std::vector<Tensor> in = randomInputs(c, gen);
  RnnCase other = c;
  other.B = 3;
  in[2] = randomInputs(other, gen)[2]; // h0 [3, H] for x [T, 2, I]
  auto r = interpret(*f, in);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(
      r.status().message().find("'rnn' op initial state [3, 3] does not match x's batch of 2"),
      std::string::npos)
      << r.status().message();
  // The expansion and the compiled code stop too (in the loop's shape checks).
  std::unique_ptr<Module> expanded = cloneModule(m);
  ASSERT_TRUE(expandRnn(*expanded).isOk());
  EXPECT_FALSE(interpret(*expanded->lookup("f"), in).isOk());
  auto exe = exectest::compileOk(m);
  ASSERT_NE(exe, nullptr);
  exec::ExecutionContext ctx;
  EXPECT_FALSE(exe->run("f", in, ctx).isOk());
}

// The expansion is a loop the loop passes recognize: hoist-input-projection
// moves x_t W_ih^T out of it.
TEST(RnnOpTest, InputProjectionIsHoistedFromTheExpansion) {
  for (bool lstm : {true, false})
    for (bool dynamicB : {false, true}) {
      RnnCase c;
      c.lstm = lstm;
      c.dynamicB = dynamicB;
      c.dynamicT = true;
      Module m;
      buildRnnFunction(m, c);
      ASSERT_TRUE(expandRnn(m).isOk());
      int64_t hoisted = 0;
      ASSERT_TRUE(hoistInputProjections(m, &hoisted).isOk());
      EXPECT_EQ(hoisted, 1) << describe(c);
      EXPECT_TRUE(verify(m).isOk());
    }
}

TEST(RnnOpTest, AutodiffWithoutPreparationAsksForExpandRnn) {
  RnnCase c;
  Module m;
  Function* f = buildRnnFunction(m, c);
  // A scalar loss: the sum of h_n.
  FunctionBuilder fb(m, "loss", f->argumentTypes());
  ValueList args;
  for (size_t i = 0; i < fb.numArgs(); ++i)
    args.push_back(fb.arg(i));
  Val h = fb.call(*f, args)[1];
  Function* loss = fb.ret({reduceSum(h, {0, 1})});
  GradOptions go;
  go.wrt = {4};
  go.prepare = false;
  auto g = buildGradient(m, *loss, go);
  ASSERT_FALSE(g.isOk());
  EXPECT_NE(g.status().message().find("run expand-rnn first"), std::string::npos)
      << g.status().message();
  go.prepare = true; // expands, then differentiates the loop
  go.name = "loss_grad_prepared";
  auto ok = buildGradient(m, *loss, go);
  EXPECT_TRUE(ok.isOk()) << ok.status().message();
}

// ---- The BiRNN built with rnn ops against the one built with cells -----------

struct Models {
  explicit Models(BiRnnConfig::Cell cell) {
    BiRnnConfig cfg{cell, /*vocab=*/13, /*embed=*/5, /*hidden=*/4, /*layers=*/2, /*classes=*/3};
    cellsLogits = buildBiRnnClassifier(cells, cellsParams, cfg);
    cellsLoss = testing::crossEntropyOf(cells, *cellsLogits);
    cfg.useRnnOp = true;
    opLogits = buildBiRnnClassifier(ops, opParams, cfg);
    opLoss = testing::crossEntropyOf(ops, *opLogits);
    values = cellsParams.initialize(99);
    for (Tensor& t : values)
      for (int64_t i = 0; i < t.numElements(); ++i)
        t.setDouble(i, 4 * t.getDouble(i));
  }
  std::vector<Tensor> inputs(bool withLabels) const {
    std::vector<Tensor> in{Tensor::fromInts(TensorType(DType::I32, {3, 5}),
                                            {1, 2, 3, 4, 5, 6, 7, 0, 0, 0, 8, 9, 10, 11, 12}),
                           Tensor::fromInts(TensorType(DType::I32, {3}), {5, 2, 4})};
    in.insert(in.end(), values.begin(), values.end());
    if (withLabels) in.push_back(testing::labels({2, 0, 1}));
    return in;
  }
  Module cells, ops;
  ParamStore cellsParams, opParams;
  Function *cellsLogits, *cellsLoss, *opLogits, *opLoss;
  std::vector<Tensor> values;
};

class RnnOpModelTest : public ::testing::TestWithParam<BiRnnConfig::Cell> {};

TEST_P(RnnOpModelTest, SameParametersSameLogits) {
  Models ms(GetParam());
  EXPECT_EQ(ms.cellsParams.names(), ms.opParams.names());
  int64_t rnnOps = 0;
  walk(*ms.opLogits, [&](Op& op) { rnnOps += op.kind() == OpKind::Rnn; });
  EXPECT_EQ(rnnOps, 4); // 2 layers x 2 directions
  auto want = interpret(*ms.cellsLogits, ms.inputs(false));
  auto got = interpret(*ms.opLogits, ms.inputs(false));
  ASSERT_TRUE(want.isOk()) << want.status().message();
  ASSERT_TRUE(got.isOk()) << got.status().message();
  // The same products summed in the same order, the LSTM's b + 0 exact:
  // the same bits.
  EXPECT_TRUE((*got)[0] == (*want)[0]) << (*got)[0].toString() << "\n" << (*want)[0].toString();
  auto exeCells = exectest::compileOk(ms.cells);
  auto exeOp = exectest::compileOk(ms.ops);
  ASSERT_TRUE(exeCells && exeOp);
  exec::ExecutionContext ctx;
  auto a = exeCells->run("birnn_classify", ms.inputs(false), ctx);
  auto b = exeOp->run("birnn_classify", ms.inputs(false), ctx);
  ASSERT_TRUE(a.isOk() && b.isOk());
  // expand-rnn reads the transposed weights untransposed and canonicalize
  // drops the LSTM's + -0.0: the cells' loop exactly, the same bits.
  EXPECT_TRUE((*b)[0] == (*a)[0]) << (*b)[0].toString() << "\n" << (*a)[0].toString();
  EXPECT_LE(exectest::relDiff((*b)[0], (*want)[0]), 1e-5);
}

// The optimize pipeline's loop passes find the same work in both: as many
// input projections hoisted.
TEST_P(RnnOpModelTest, LoopPassesApplyAsToTheCells) {
  Models ms(GetParam());
  auto count = [](Module& m) {
    EXPECT_TRUE(runPipeline(m, {"expand-rnn", "canonicalize", "cse", "inline", "licm"}).isOk());
    int64_t hoisted = 0;
    EXPECT_TRUE(hoistInputProjections(m, &hoisted).isOk());
    return hoisted;
  };
  int64_t cells = count(ms.cells), op = count(ms.ops);
  EXPECT_EQ(cells, 8); // 4 loops in @birnn_classify, their inlined copies in @loss
  EXPECT_EQ(op, cells);
}

TEST_P(RnnOpModelTest, SameGradients) {
  Models ms(GetParam());
  std::vector<size_t> wrt;
  for (size_t i = 0; i < ms.values.size(); ++i)
    wrt.push_back(2 + i);
  GradOptions go;
  go.wrt = wrt;
  auto gCells = buildGradient(ms.cells, *ms.cellsLoss, go);
  auto gOp = buildGradient(ms.ops, *ms.opLoss, go);
  ASSERT_TRUE(gCells.isOk()) << gCells.status().message();
  ASSERT_TRUE(gOp.isOk()) << gOp.status().message();
  auto want = interpret(**gCells, ms.inputs(true));
  auto got = interpret(**gOp, ms.inputs(true));
  ASSERT_TRUE(want.isOk()) << want.status().message();
  ASSERT_TRUE(got.isOk()) << got.status().message();
  ASSERT_EQ(got->size(), want->size());
  for (size_t r = 0; r < want->size(); ++r)
    EXPECT_TRUE((*got)[r] == (*want)[r]) << "result #" << r;
  // Compiled, the op model's gradient agrees with the interpreter's.
  auto exe = exectest::compileOk(ms.ops);
  ASSERT_NE(exe, nullptr);
  exectest::expectMatches(ms.ops, *exe, (*gOp)->name, ms.inputs(true), 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Cells, RnnOpModelTest,
                         ::testing::Values(BiRnnConfig::Lstm, BiRnnConfig::Gru),
                         [](const auto& info) {
                           return std::string(info.param == BiRnnConfig::Lstm ? "BiLstm" : "BiGru");
                         });

TEST(RnnOpModelTest, UseRnnOpExcludesCompactRows) {
  BiRnnConfig cfg{BiRnnConfig::Lstm, 5, 2, 2, 1, 2, /*compactRows=*/true};
  cfg.useRnnOp = true;
  Module m;
  ParamStore ps;
  EXPECT_THROW(buildBiRnnClassifier(m, ps, cfg), BuildError);
}

} // namespace
} // namespace cairn
