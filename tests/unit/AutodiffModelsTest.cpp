// Whole-model gradients: SPINN (given and predicted transitions, tree
// classifier and SNLI losses), BiLSTM, BiGRU and TreeLSTM, each promoted to
// f64 and checked against finite differences of the model itself.
#include "frontend/layers/Layers.h"
#include "frontend/models/BiRnn.h"
#include "frontend/models/Spinn.h"
#include "frontend/models/TreeLstmSentiment.h"
#include "tests/unit/GradCheckUtil.h"
#include "tests/unit/ModelLossTestUtil.h"
#include "tests/unit/PassesTestUtil.h"
#include "tests/unit/SpinnTestReference.h"

namespace cairn {
namespace {

using namespace spinnref;
using testing::crossEntropyOf;
using testing::fourTrees;
using testing::labels;
using testing::expectGradientsMatchFiniteDifferences;
using testing::GradCheckOptions;
using testing::promoteToF64;
using testing::widen;

/// Parameters initialized and scaled so the units are out of their linear
/// range (at +-0.1 a finite-difference check would be too easy).
std::vector<Tensor> paramValues(const ParamStore& ps, double scale = 4.0) {
  std::vector<Tensor> values = ps.initialize(11);
  for (Tensor& t : values)
    for (int64_t i = 0; i < t.numElements(); ++i)
      t.setDouble(i, t.getDouble(i) * scale);
  return widen(values);
}

std::vector<size_t> paramArgs(size_t firstParam, const ParamStore& ps) {
  std::vector<size_t> out;
  for (size_t i = 0; i < ps.size(); ++i)
    if (ps.specs()[i].trainable) out.push_back(firstParam + i);
  return out;
}




GradCheckOptions modelOptions() {
  GradCheckOptions o;
  o.maxElements = 6;
  o.rtol = 1e-5;
  o.atol = 1e-8;
  return o;
}

void checkSpinnTree(bool tracker, bool predicted, int64_t checkpointEvery = 0,
                    bool compact = false, bool compactTracker = false) {
  SpinnConfig c;
  c.compactReduce = compact; // ragged tapes: the reducing rows' count changes per step
  c.compactTracker = compactTracker; // and the live rows' count
  c.vocab = 10;
  c.embed = 4;
  c.hidden = 3;
  c.trackerSize = tracker ? 2 : 0;
  c.predictTransitions = predicted;
  c.mlpHidden = 5;
  Module m;
  ParamStore ps;
  Function* f = buildSpinnTreeClassifierLoss(m, ps, c, 4);
  promoteToF64(*f);
  ASSERT_TRUE(verify(*f).isOk()) << verify(*f).message();
  EXPECT_EQ(passtest::countOps(m, OpKind::Nonzero) > 0, compact || (compactTracker && tracker));
  std::vector<Example> xs = fourTrees();
  // Predicted mode: the transitions are the target, padded to 2N - 1 steps.
  Batch b = makeBatch(xs, 0, predicted ? 7 : 0);
  std::vector<Tensor> in = {b.tokens, b.transitions, b.lengths, labels({0, 3, 1, 2})};
  std::vector<Tensor> p = paramValues(ps);
  in.insert(in.end(), p.begin(), p.end());
  GradCheckOptions o = modelOptions();
  o.loopCheckpointEvery = checkpointEvery;
  expectGradientsMatchFiniteDifferences(m, *f, in, paramArgs(4, ps), o);
}

TEST(AutodiffModels, SpinnGivenTransitionsWithTracker) { checkSpinnTree(true, false); }
TEST(AutodiffModels, SpinnCheckpointedEveryThreeSteps) { checkSpinnTree(true, false, 3); }
TEST(AutodiffModels, SpinnGivenTransitionsNoTracker) { checkSpinnTree(false, false); }
TEST(AutodiffModels, SpinnPredictedTransitions) { checkSpinnTree(true, true); }
TEST(AutodiffModels, SpinnCompactReduce) { checkSpinnTree(true, false, 0, true); }
TEST(AutodiffModels, SpinnCompactReduceNoTracker) { checkSpinnTree(false, false, 0, true); }
TEST(AutodiffModels, SpinnCompactReduceCheckpointed) { checkSpinnTree(true, false, 3, true); }
TEST(AutodiffModels, SpinnCompactReducePredicted) { checkSpinnTree(true, true, 0, true); }
TEST(AutodiffModels, SpinnCompactTracker) { checkSpinnTree(true, false, 0, false, true); }
TEST(AutodiffModels, SpinnCompactTrackerAndReduce) { checkSpinnTree(true, false, 0, true, true); }
TEST(AutodiffModels, SpinnCompactTrackerCheckpointed) {
  checkSpinnTree(true, false, 3, true, true);
}
TEST(AutodiffModels, SpinnCompactTrackerPredicted) { checkSpinnTree(true, true, 0, true, true); }

TEST(AutodiffModels, SpinnSnliLoss) {
  SpinnConfig c;
  c.vocab = 10;
  c.embed = 4;
  c.hidden = 3;
  c.trackerSize = 2;
  c.mlpHidden = 5;
  Module m;
  ParamStore ps;
  Function* f = buildSpinnSnliLoss(m, ps, c);
  promoteToF64(*f);
  std::vector<Example> xs = fourTrees();
  Batch b = makeBatch(xs);
  // [2, B, ...]: premises are the first two trees, hypotheses the last two.
  auto pairs = [](const Tensor& t) {
    Shape s = t.shape();
    s[0] /= 2;
    s.insert(s.begin(), 2);
    Tensor out(TensorType(t.dtype(), s));
    for (int64_t i = 0; i < t.numElements(); ++i)
      out.setInt(i, t.getInt(i));
    return out;
  };
  std::vector<Tensor> in = {pairs(b.tokens), pairs(b.transitions), pairs(b.lengths),
                            labels({2, 0})};
  std::vector<Tensor> p = paramValues(ps);
  in.insert(in.end(), p.begin(), p.end());
  expectGradientsMatchFiniteDifferences(m, *f, in, paramArgs(4, ps), modelOptions());
}

void checkBiRnn(BiRnnConfig::Cell cell, bool compact = false, bool rnnOp = false) {
  BiRnnConfig c;
  c.cell = cell;
  c.compactRows = compact; // ragged tapes: the live rows' count changes per step
  c.useRnnOp = rnnOp;      // `rnn` ops, expanded by buildGradient's preparation
  c.vocab = 9;
  c.embed = 3;
  c.hidden = 4;
  c.layers = 2;
  c.classes = 3;
  Module m;
  ParamStore ps;
  Function* logits = buildBiRnnClassifier(m, ps, c);
  Function* f = crossEntropyOf(m, *logits);
  promoteToF64(*logits);
  promoteToF64(*f);
  Tensor tokens = Tensor::fromInts(TensorType(DType::I32, {3, 4}), {1, 2, 3, 4, 5, 6, 0, 0, 7, 0, 0, 0});
  Tensor lengths = Tensor::fromInts(TensorType(DType::I32, {3}), {4, 2, 1});
  std::vector<Tensor> in = {tokens, lengths};
  std::vector<Tensor> p = paramValues(ps, 3.0);
  in.insert(in.end(), p.begin(), p.end());
  in.push_back(labels({2, 0, 1}));
  expectGradientsMatchFiniteDifferences(m, *f, in, paramArgs(2, ps), modelOptions());
}

TEST(AutodiffModels, BiLstmTwoLayers) { checkBiRnn(BiRnnConfig::Lstm); }
TEST(AutodiffModels, BiLstmCompactRows) { checkBiRnn(BiRnnConfig::Lstm, true); }
TEST(AutodiffModels, BiGruCompactRows) { checkBiRnn(BiRnnConfig::Gru, true); }
TEST(AutodiffModels, BiGruTwoLayers) { checkBiRnn(BiRnnConfig::Gru); }
TEST(AutodiffModels, BiLstmRnnOp) { checkBiRnn(BiRnnConfig::Lstm, false, true); }
TEST(AutodiffModels, BiGruRnnOp) { checkBiRnn(BiRnnConfig::Gru, false, true); }

TEST(AutodiffModels, TreeLstmSentiment) {
  TreeLstmConfig c;
  c.vocab = 10;
  c.embed = 4;
  c.hidden = 3;
  Module m;
  ParamStore ps;
  Function* logits = buildTreeLstmSentiment(m, ps, c);
  Function* f = crossEntropyOf(m, *logits);
  promoteToF64(*logits);
  promoteToF64(*f);
  Batch b = makeBatch(fourTrees());
  std::vector<Tensor> in = {b.tokens, b.transitions, b.lengths};
  std::vector<Tensor> p = paramValues(ps);
  in.insert(in.end(), p.begin(), p.end());
  in.push_back(labels({4, 0, 2, 1}));
  expectGradientsMatchFiniteDifferences(m, *f, in, paramArgs(3, ps), modelOptions());
}

} // namespace
} // namespace cairn
