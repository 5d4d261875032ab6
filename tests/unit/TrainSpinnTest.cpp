// SPINN learns: cairn-train's recipe (tree classifier loss, buildGradient
// w.r.t. the parameters, buildTrainStep with Adam and clipping, steps in the
// reference interpreter) lowers the loss on a tiny generated ListOps set, and
// the train step on a checkpoint's restored state reproduces the next step.
#include <gtest/gtest.h>

#include "TrainingTestUtil.h"
#include "compiler/autodiff/Autodiff.h"
#include "frontend/data/Corpus.h"
#include "frontend/models/Spinn.h"
#include "frontend/training/Checkpoint.h"
#include "frontend/training/TrainStep.h"
#include "runtime/reference/Interpreter.h"

namespace cairn::training {
namespace {

struct SpinnSetup {
  Module m;
  ParamStore ps;
  TrainStep step;
  data::Batch batch;
};

/// 24 short ListOps examples as one batch; a small SPINN with a tracker.
void build(SpinnSetup& s, bool predicted) {
  data::CorpusOptions co;
  co.listops.maxDepth = 2;
  co.listops.maxArgs = 3;
  co.listops.maxLength = 12;
  co.generated = 24;
  co.seed = 3;
  StatusOr<data::Corpus> c = data::loadCorpus(co);
  ASSERT_TRUE(c.isOk()) << c.status().message();
  std::vector<size_t> all(c->size());
  for (size_t i = 0; i < all.size(); ++i)
    all[i] = i;
  s.batch = data::makeBatch(*c, all);

  SpinnConfig cfg;
  cfg.vocab = c->vocab.size();
  cfg.embed = 16;
  cfg.hidden = 16;
  cfg.trackerSize = 4;
  cfg.mlpHidden = 16;
  cfg.predictTransitions = predicted;
  Function* loss = buildSpinnTreeClassifierLoss(s.m, s.ps, cfg, 10);
  ArgMapping mapping = batchThenParams(4, s.ps.size());
  GradOptions gradOptions;
  gradOptions.wrt = trainableArgIndices(mapping, s.ps);
  StatusOr<Function*> grad = buildGradient(s.m, *loss, gradOptions);
  ASSERT_TRUE(grad.isOk()) << grad.status().message();
  TrainStepOptions opts;
  opts.optimizer = makeAdam();
  opts.schedule = LrSchedule::constant(3e-2);
  opts.clipNorm = 5.0;
  StatusOr<TrainStep> ts = buildTrainStep(s.m, s.ps, **grad, mapping, opts);
  ASSERT_TRUE(ts.isOk()) << ts.status().message();
  s.step = *ts;
}

/// One step: updates params and state in place, returns the loss.
double step(const SpinnSetup& s, std::vector<Tensor>& params, std::vector<Tensor>& state) {
  std::vector<Tensor> in = params;
  in.insert(in.end(), state.begin(), state.end());
  in.insert(in.end(), {s.batch.tokens, s.batch.transitions, s.batch.lengths, s.batch.labels});
  StatusOr<std::vector<Tensor>> r = interpret(*s.step.function, in);
  EXPECT_TRUE(r.isOk()) << r.status().message();
  if (!r.isOk()) return NAN;
  for (size_t i = 0; i < params.size(); ++i)
    params[i] = (*r)[i];
  for (size_t i = 0; i < state.size(); ++i)
    state[i] = (*r)[params.size() + i];
  return (*r)[s.step.lossResult()].getDouble(0);
}

void expectLossFalls(bool predicted) {
  SpinnSetup s;
  build(s, predicted);
  if (::testing::Test::HasFatalFailure()) return;
  std::vector<Tensor> params = s.ps.initialize(1), state = initialState(s.step.state);
  double first = step(s, params, state), last = first;
  for (int i = 1; i < 40; ++i)
    last = step(s, params, state);
  EXPECT_EQ(state[0].getInt(0), 40);
  // Memorizing 24 examples: the class loss at least halves from ~log(10);
  // predicted mode adds the transition loss, which falls more slowly.
  EXPECT_LT(last, (predicted ? 0.7 : 0.5) * first)
      << "first " << first << ", after 40 steps " << last;
}

TEST(TrainSpinn, LossFallsGivenTransitions) {
  expectLossFalls(false);
}
TEST(TrainSpinn, LossFallsPredictedTransitions) {
  expectLossFalls(true);
}

TEST(TrainSpinn, ResumedStepMatchesUninterrupted) {
  SpinnSetup s;
  build(s, false);
  if (::testing::Test::HasFatalFailure()) return;
  std::vector<Tensor> params = s.ps.initialize(2), state = initialState(s.step.state);
  for (int i = 0; i < 3; ++i)
    step(s, params, state);
  std::string path = testing::tempPath("spinn.safetensors");
  ASSERT_TRUE(saveTrainingCheckpoint(path, s.ps, params, s.step.state, state).isOk());
  step(s, params, state);

  StatusOr<TrainingState> loaded = loadTrainingCheckpoint(path, s.ps, s.step.state);
  ASSERT_TRUE(loaded.isOk()) << loaded.status().message();
  EXPECT_EQ(loaded->state[0].getInt(0), 3);
  step(s, loaded->params, loaded->state);
  for (size_t i = 0; i < params.size(); ++i)
    EXPECT_EQ(loaded->params[i], params[i]) << s.ps.specs()[i].name;
  for (size_t i = 0; i < state.size(); ++i)
    EXPECT_EQ(loaded->state[i], state[i]) << s.step.state[i].name;
}

} // namespace
} // namespace cairn::training
