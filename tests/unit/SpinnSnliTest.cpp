// The SPINN classifiers: SNLI (premise and hypothesis through one encoder as
// 2B rows, features [p, h, p - h, p * h], Mlp to 3 logits) and its loss, in
// PI and predicted mode, and the tree classifier used for ListOps, against
// the per-example oracle.
#include "compiler/autodiff/Autodiff.h"
#include "compiler/codegen/cpu/CompileExecutable.h"
#include "compiler/codegen/cpu/RunFusion.h"
#include <cmath>

#include <gtest/gtest.h>

#include "SpinnTestReference.h"
#include "frontend/layers/Layers.h"

namespace cairn {
namespace {

using namespace spinnref;

SpinnConfig snliConfig(bool predict) {
  SpinnConfig c;
  c.vocab = 12;
  c.embed = 4;
  c.hidden = 3;
  c.trackerSize = 2;
  c.predictTransitions = predict;
  c.mlpHidden = 5;
  c.mlpLayers = 2;
  return c;
}

void randomize(std::vector<Tensor>& values, double scale) {
  for (Tensor& t : values)
    for (int64_t i = 0; i < t.numElements(); ++i)
      t.setDouble(i, t.getDouble(i) * scale);
}

/// Mlp(name) in double.
Vec mlp(const Params& p, const std::string& name, Vec x, int64_t layers) {
  for (int64_t k = 0; k < layers; ++k) {
    x = linear(p, name + "." + std::to_string(k), x);
    for (double& v : x)
      v = std::max(v, 0.0);
  }
  return linear(p, name + "." + std::to_string(layers), x);
}

struct Pair {
  Example premise, hypothesis;
  int label;
};

std::vector<Pair> pairs() {
  return {{{{3, 4, 5}, rightBranching(3)}, {{6, 7}, {1, 1, 2}}, 0},
          {{{8}, {1}}, {{2, 3, 4, 9}, {1, 1, 2, 1, 1, 2, 2}}, 2},
          {{{10, 11, 1, 2}, leftBranching(4)}, {{5}, {1}}, 1}};
}

/// tokens [2, B, N], transitions [2, B, T], lengths [2, B], labels [B].
std::vector<Tensor> snliBatch(const std::vector<Pair>& ps) {
  std::vector<Example> rows;
  for (const Pair& p : ps)
    rows.push_back(p.premise);
  for (const Pair& p : ps)
    rows.push_back(p.hypothesis);
  Batch b = makeBatch(rows);
  const int64_t n = static_cast<int64_t>(ps.size());
  auto split = [&](Tensor t) {
    Shape s = t.shape();
    s[0] = n;
    s.insert(s.begin(), 2);
    Tensor out(TensorType(t.dtype(), s));
    for (int64_t i = 0; i < t.numElements(); ++i)
      out.setInt(i, t.getInt(i));
    return out;
  };
  Tensor labels(TensorType(DType::I32, {n}));
  for (int64_t i = 0; i < n; ++i)
    labels.setInt(i, ps[static_cast<size_t>(i)].label);
  return {split(b.tokens), split(b.transitions), split(b.lengths), labels};
}

/// The oracle's SNLI logits for one pair.
Vec snliLogits(const Params& p, const SpinnConfig& c, const Pair& x) {
  Vec a = encode(p, c, x.premise.tokens, x.premise.transitions).h;
  Vec b = encode(p, c, x.hypothesis.tokens, x.hypothesis.transitions).h;
  Vec diff, prod;
  for (size_t i = 0; i < a.size(); ++i) {
    diff.push_back(a[i] - b[i]);
    prod.push_back(a[i] * b[i]);
  }
  return mlp(p, "mlp", cat({a, b, diff, prod}), c.mlpLayers);
}

double crossEntropyOf(const Vec& logits, int label) {
  double mx = *std::max_element(logits.begin(), logits.end()), sum = 0;
  for (double v : logits)
    sum += std::exp(v - mx);
  return -(logits[static_cast<size_t>(label)] - mx - std::log(sum));
}

TEST(SpinnSnliTest, SignatureStacksPremiseAndHypothesis) {
  Module m;
  ParamStore ps;
  Function* f = buildSpinnSnli(m, ps, snliConfig(false));
  std::vector<TensorType> args = f->argumentTypes();
  EXPECT_EQ(args[0], TensorType(DType::I32, {2, kDynamic, kDynamic}));
  EXPECT_EQ(args[1], TensorType(DType::I32, {2, kDynamic, kDynamic}));
  EXPECT_EQ(args[2], TensorType(DType::I32, {2, kDynamic}));
  EXPECT_EQ(f->resultTypes, std::vector<TensorType>{TensorType(DType::F32, {kDynamic, 3})});
  EXPECT_EQ(ps.names().back(), "mlp.2.bias");
}

TEST(SpinnSnliTest, PiLogitsMatchTheOracle) {
  SpinnConfig c = snliConfig(false);
  Module m;
  ParamStore ps;
  Function* f = buildSpinnSnli(m, ps, c);
  std::vector<Tensor> values = ps.initialize(3);
  randomize(values, 5.0);
  Params p = paramsOf(ps, values);
  std::vector<Tensor> data = snliBatch(pairs());
  data.pop_back(); // no labels
  std::vector<Tensor> out = runModel(*f, data, values);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].shape(), Shape({3, 3}));
  for (size_t i = 0; i < pairs().size(); ++i)
    EXPECT_LT(maxAbsDiff(rowOf(out[0], static_cast<int64_t>(i)), snliLogits(p, c, pairs()[i])),
              1e-5)
        << "pair " << i;
}

TEST(SpinnSnliTest, PiLossIsTheMeanCrossEntropy) {
  SpinnConfig c = snliConfig(false);
  Module m;
  ParamStore ps;
  Function* f = buildSpinnSnliLoss(m, ps, c);
  std::vector<Tensor> values = ps.initialize(4);
  randomize(values, 5.0);
  Params p = paramsOf(ps, values);
  std::vector<Tensor> out = runModel(*f, snliBatch(pairs()), values);
  ASSERT_EQ(out.size(), 1u);
  double want = 0;
  for (const Pair& x : pairs())
    want += crossEntropyOf(snliLogits(p, c, x), x.label) / 3.0;
  EXPECT_NEAR(out[0].getDouble(0), want, 1e-5);
}

TEST(SpinnSnliTest, PredictedModeReturnsTheMovesOfAllTwoBRows) {
  SpinnConfig c = snliConfig(true);
  Module m;
  ParamStore ps;
  Function* f = buildSpinnSnli(m, ps, c);
  std::vector<Tensor> values = ps.initialize(8);
  randomize(values, 5.0);
  Params p = paramsOf(ps, values);
  std::vector<Tensor> data = snliBatch(pairs());
  std::vector<Tensor> out = runModel(*f, {data[0], data[2]}, values);
  ASSERT_EQ(out.size(), 2u);
  ASSERT_EQ(out[1].shape(), Shape({6, 7}));
  std::vector<Example> rows;
  for (const Pair& x : pairs())
    rows.push_back(x.premise);
  for (const Pair& x : pairs())
    rows.push_back(x.hypothesis);
  for (size_t r = 0; r < rows.size(); ++r) {
    std::vector<int> want = encode(p, c, rows[r].tokens, {}).moves;
    want.resize(7, 0);
    std::vector<int> got;
    for (int64_t s = 0; s < 7; ++s)
      got.push_back(static_cast<int>(out[1].getInt(static_cast<int64_t>(r) * 7 + s)));
    EXPECT_EQ(got, want) << "row " << r;
  }
  for (size_t i = 0; i < pairs().size(); ++i)
    EXPECT_LT(maxAbsDiff(rowOf(out[0], static_cast<int64_t>(i)), snliLogits(p, c, pairs()[i])),
              1e-5);
}

TEST(SpinnSnliTest, PredictedLossAddsTheTransitionCrossEntropy) {
  SpinnConfig c = snliConfig(true);
  Module m;
  ParamStore ps;
  Function* f = buildSpinnSnliLoss(m, ps, c);
  std::vector<Tensor> values = ps.initialize(9);
  randomize(values, 5.0);
  Params p = paramsOf(ps, values);
  std::vector<Tensor> out = runModel(*f, snliBatch(pairs()), values);
  ASSERT_EQ(out.size(), 1u);
  double classLoss = 0, moveLoss = 0;
  int counted = 0;
  for (const Pair& x : pairs()) {
    classLoss += crossEntropyOf(snliLogits(p, c, x), x.label) / 3.0;
    for (const Example* e : {&x.premise, &x.hypothesis}) {
      Encoded enc = encode(p, c, e->tokens, {});
      for (size_t s = 0; s < e->transitions.size(); ++s, ++counted)
        moveLoss += crossEntropyOf({enc.logits[s][0], enc.logits[s][1]}, e->transitions[s] - 1);
    }
  }
  EXPECT_NEAR(out[0].getDouble(0), classLoss + moveLoss / counted, 1e-5);
}

TEST(SpinnSnliTest, TrainingModeThreadsTheRngStateThroughTheLoss) {
  SpinnConfig c = snliConfig(true);
  c.training = true;
  Module m;
  ParamStore ps;
  Function* f = buildSpinnSnliLoss(m, ps, c);
  EXPECT_EQ(f->body().argument(4)->name, "rng");
  std::vector<Tensor> values = ps.initialize(9);
  std::vector<Tensor> data = snliBatch(pairs());
  data.push_back(Tensor::fromInts(TensorType(DType::I64, {2}), {5, 0}));
  EXPECT_EQ(f->body().argument(5)->name, "baseline");
  data.push_back(Tensor::scalar(DType::F32, 0.25));
  std::vector<Tensor> a = runModel(*f, data, values), b = runModel(*f, data, values);
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0], b[0]);
  EXPECT_EQ(a[1], b[1]);
  EXPECT_TRUE(std::isfinite(a[0].getDouble(0)));
  // The moving-average baseline moves a tenth of the way to the mean reward,
  // a negative loss: below 0.9 * 0.25.
  EXPECT_LT(a[2].getDouble(0), 0.9 * 0.25);

  // The REINFORCE loss differentiates: finite gradients for every parameter,
  // the predictor's included (through the masked policy's log-probabilities).
  GradOptions go;
  for (size_t i = 0; i < ps.size(); ++i)
    go.wrt.push_back(data.size() + i);
  auto g = buildGradient(m, *f, go);
  ASSERT_TRUE(g.isOk()) << g.status().message();
  std::vector<Tensor> grads = runModel(**g, data, values);
  ASSERT_EQ(grads.size(), 3 + ps.size());
  double predictorNorm = 0;
  for (size_t i = 0; i < ps.size(); ++i) {
    for (double v : grads[3 + i].toDoubles()) {
      ASSERT_TRUE(std::isfinite(v)) << ps.names()[i];
      if (ps.names()[i].rfind("predictor", 0) == 0) predictorNorm += v * v;
    }
  }
  EXPECT_GT(predictorNorm, 0);
}

TEST(SpinnSnliTest, SplitPairsGiveTheMergedResults) {
  // Premises and hypotheses as two loops (SpinnConfig::splitPairs): the
  // same logits, loss and gradients as one loop over both, interpreted and
  // compiled; predicted transitions ignore it (the same function either way).
  for (bool predict : {false, true}) {
    SCOPED_TRACE(predict ? "predicted" : "given");
    std::vector<Tensor> data = snliBatch(pairs());
    std::vector<std::vector<Tensor>> outs, grads, compiled;
    for (bool split : {false, true}) {
      SpinnConfig c = snliConfig(predict);
      c.splitPairs = split;
      c.compactReduce = split; // the ragged tapes too
      c.compactTracker = split;
      Module m;
      ParamStore ps;
      Function* forward = buildSpinnSnli(m, ps, c);
      ParamStore lossPs;
      Function* loss = buildSpinnSnliLoss(m, lossPs, c);
      std::vector<Tensor> values = ps.initialize(5);
      randomize(values, 5.0);
      std::vector<Tensor> in = predict ? std::vector<Tensor>{data[0], data[2]}
                                       : std::vector<Tensor>{data[0], data[1], data[2]};
      outs.push_back(runModel(*forward, in, values));
      GradOptions go;
      for (size_t i = 0; i < lossPs.size(); ++i)
        go.wrt.push_back(data.size() + i);
      auto g = buildGradient(m, *loss, go);
      ASSERT_TRUE(g.isOk()) << g.status().message();
      grads.push_back(runModel(**g, data, values));
      if (!codegen::cpu::cpuJitAvailable()) continue;
      codegen::cpu::CompileOptions co;
      co.floatRewrites = FloatRewrites::Reassociate;
      auto exe = codegen::cpu::compileExecutable(m, co);
      ASSERT_TRUE(exe.isOk()) << exe.status().message();
      std::vector<Tensor> args = data;
      args.insert(args.end(), values.begin(), values.end());
      auto got = (*exe)->run((*g)->name, args);
      ASSERT_TRUE(got.isOk()) << got.status().message();
      compiled.push_back(*got);
    }
    ASSERT_EQ(outs[0].size(), outs[1].size());
    EXPECT_LT(maxAbsDiff(outs[0][0].toDoubles(), outs[1][0].toDoubles()), 1e-5);
    if (predict) {
      EXPECT_EQ(outs[0][1], outs[1][1]); // the moves taken
    }
    ASSERT_EQ(grads[0].size(), grads[1].size());
    for (size_t r = 0; r < grads[0].size(); ++r) {
      EXPECT_LT(maxAbsDiff(grads[0][r].toDoubles(), grads[1][r].toDoubles()), 1e-5) << "#" << r;
      if (compiled.size() == 2) {
        EXPECT_LT(maxAbsDiff(compiled[1][r].toDoubles(), grads[1][r].toDoubles()), 1e-4)
            << "compiled #" << r;
      }
    }
  }
}

TEST(SpinnTreeClassifierTest, ListOpsShapedClassifierMatchesTheOracle) {
  SpinnConfig c = snliConfig(false);
  c.mlpLayers = 1;
  Module m;
  ParamStore ps;
  Function* f = buildSpinnTreeClassifier(m, ps, c, 10);
  EXPECT_EQ(f->resultTypes[0], TensorType(DType::F32, {kDynamic, 10}));
  std::vector<Tensor> values = ps.initialize(12);
  randomize(values, 5.0);
  Params p = paramsOf(ps, values);
  std::vector<Example> xs{
      {{3, 4, 5}, rightBranching(3)}, {{8}, {1}}, {{1, 2, 3, 4}, leftBranching(4)}};
  Batch b = makeBatch(xs);
  std::vector<Tensor> out = runModel(*f, {b.tokens, b.transitions, b.lengths}, values);
  ASSERT_EQ(out.size(), 1u);
  for (size_t i = 0; i < xs.size(); ++i) {
    Vec want = mlp(p, "mlp", encode(p, c, xs[i].tokens, xs[i].transitions).h, 1);
    EXPECT_LT(maxAbsDiff(rowOf(out[0], static_cast<int64_t>(i)), want), 1e-5) << "row " << i;
  }
}

} // namespace
} // namespace cairn
