// Optimizers as IR: three updates through the reference interpreter equal a
// double-precision C++ transcription of the torch.optim formulas (the ones
// documented in Optimizers.h and docs/training.md), state layout and
// hyperparameter checks.
#include <cmath>
#include <functional>

#include <gtest/gtest.h>

#include "TrainingTestUtil.h"
#include "frontend/Builder.h"
#include "frontend/training/Optimizers.h"
#include "runtime/reference/Interpreter.h"

namespace cairn::training {
namespace {

using testing::expectClose;
using testing::randomTensorOf;

/// Reference update of one element: p, g, slots (in slots() order) updated in
/// place; t is the 1-based step.
using RefUpdate =
    std::function<void(double& p, double g, std::vector<double>& slots, int64_t t, double lr)>;

/// Runs `opt` for three steps on two parameters through the interpreter and
/// checks parameters and state against `ref` after every step.
void checkThreeSteps(const Optimizer& opt, const RefUpdate& ref, double lr = 0.05) {
  std::vector<TensorType> types{TensorType(DType::F32, {2, 3}), TensorType(DType::F32, {4})};
  std::vector<std::string> names{"w", "b"};
  std::vector<StateSpec> specs = opt.stateSpecs(names, types);
  const size_t nSlots = opt.slots().size();
  ASSERT_EQ(specs.size(), 1 + nSlots * types.size());

  Module m;
  std::vector<TensorType> argTypes = types;
  argTypes.insert(argTypes.end(), types.begin(), types.end()); // grads
  for (const StateSpec& s : specs)
    argTypes.push_back(s.type);
  argTypes.push_back(TensorType(DType::F64, {}));
  FunctionBuilder fb(m, "update", argTypes);
  ValueList params{fb.arg(0), fb.arg(1)}, grads{fb.arg(2), fb.arg(3)}, state;
  for (size_t i = 0; i < specs.size(); ++i)
    state.push_back(fb.arg(4 + i));
  OptimizerUpdate u = opt.apply(fb, params, grads, state, fb.arg(argTypes.size() - 1));
  ValueList rets = u.params;
  rets.insert(rets.end(), u.state.begin(), u.state.end());
  Function* f = fb.ret(rets);

  std::vector<Tensor> p{randomTensorOf(types[0], 1), randomTensorOf(types[1], 2)};
  std::vector<Tensor> st = initialState(specs);
  // The reference, element by element, in double.
  std::vector<std::vector<double>> refP{p[0].toDoubles(), p[1].toDoubles()};
  std::vector<std::vector<std::vector<double>>> refSlots(2);
  for (size_t i = 0; i < 2; ++i)
    refSlots[i].assign(refP[i].size(), std::vector<double>(nSlots, 0.0));

  for (int64_t t = 1; t <= 3; ++t) {
    std::vector<Tensor> g{randomTensorOf(types[0], 10 + t), randomTensorOf(types[1], 20 + t)};
    std::vector<Tensor> in = p;
    in.insert(in.end(), g.begin(), g.end());
    in.insert(in.end(), st.begin(), st.end());
    in.push_back(Tensor::scalar(DType::F64, lr));
    StatusOr<std::vector<Tensor>> r = interpret(*f, in);
    ASSERT_TRUE(r.isOk()) << r.status().message();
    p = {(*r)[0], (*r)[1]};
    st.assign(r->begin() + 2, r->end());

    for (size_t i = 0; i < 2; ++i) {
      std::vector<double> gd = g[i].toDoubles();
      for (size_t k = 0; k < refP[i].size(); ++k)
        ref(refP[i][k], gd[k], refSlots[i][k], t, lr);
    }
    std::string at = opt.name() + " step " + std::to_string(t);
    EXPECT_EQ(st[0].toInts(), std::vector<int64_t>{t}) << at;
    for (size_t i = 0; i < 2; ++i) {
      expectClose(p[i], refP[i], 1e-6, 1e-7, at + " " + names[i]);
      for (size_t s = 0; s < nSlots; ++s) {
        std::vector<double> want;
        for (const auto& slots : refSlots[i])
          want.push_back(slots[s]);
        expectClose(st[1 + i * nSlots + s], want, 1e-6, 1e-7,
                    at + " " + specs[1 + i * nSlots + s].name);
      }
    }
  }
}

RefUpdate refSgd(SgdOptions o) {
  return [o](double& p, double g, std::vector<double>& s, int64_t t, double lr) {
    if (o.weightDecay != 0) g += o.weightDecay * p;
    if (o.momentum != 0) {
      s[0] = t == 1 ? g : o.momentum * s[0] + (1 - o.dampening) * g;
      g = o.nesterov ? g + o.momentum * s[0] : s[0];
    }
    p -= lr * g;
  };
}

RefUpdate refAdam(AdamOptions o) {
  return [o](double& p, double g, std::vector<double>& s, int64_t t, double lr) {
    if (o.weightDecay != 0) {
      if (o.decoupledWeightDecay)
        p *= 1 - lr * o.weightDecay;
      else
        g += o.weightDecay * p;
    }
    s[0] = o.beta1 * s[0] + (1 - o.beta1) * g;
    s[1] = o.beta2 * s[1] + (1 - o.beta2) * g * g;
    double v = s[1];
    if (o.amsgrad) v = s[2] = std::max(s[2], s[1]);
    double mhat = s[0] / (1 - std::pow(o.beta1, t));
    double vhat = v / (1 - std::pow(o.beta2, t));
    p -= lr * mhat / (std::sqrt(vhat) + o.eps);
  };
}

RefUpdate refRmsprop(RmspropOptions o) {
  return [o](double& p, double g, std::vector<double>& s, int64_t t, double lr) {
    if (o.weightDecay != 0) g += o.weightDecay * p;
    s[0] = o.alpha * s[0] + (1 - o.alpha) * g * g;
    size_t buf = 1, avgSlot = o.momentum != 0 ? 2 : 1;
    double denom;
    if (o.centered) {
      s[avgSlot] = o.alpha * s[avgSlot] + (1 - o.alpha) * g;
      denom = std::sqrt(s[0] - s[avgSlot] * s[avgSlot]) + o.eps;
    } else {
      denom = std::sqrt(s[0]) + o.eps;
    }
    if (o.momentum != 0) {
      s[buf] = o.momentum * s[buf] + g / denom;
      p -= lr * s[buf];
    } else {
      p -= lr * g / denom;
    }
  };
}

TEST(OptimizerSgdTest, Plain) {
  checkThreeSteps(*makeSgd({}), refSgd({}));
}

TEST(OptimizerSgdTest, MomentumDampeningWeightDecay) {
  SgdOptions o{.momentum = 0.9, .dampening = 0.3, .weightDecay = 0.01};
  checkThreeSteps(*makeSgd(o), refSgd(o));
}

TEST(OptimizerSgdTest, Nesterov) {
  SgdOptions o{.momentum = 0.8, .weightDecay = 0.05, .nesterov = true};
  checkThreeSteps(*makeSgd(o), refSgd(o));
}

TEST(OptimizerAdamTest, Defaults) {
  checkThreeSteps(*makeAdam(), refAdam({}), 1e-2);
}

TEST(OptimizerAdamTest, L2WeightDecayAndAmsgrad) {
  AdamOptions o{.beta1 = 0.8, .beta2 = 0.95, .eps = 1e-6, .weightDecay = 0.1, .amsgrad = true};
  checkThreeSteps(*makeAdam(o), refAdam(o), 1e-2);
}

TEST(OptimizerAdamTest, AdamWDecoupledWeightDecay) {
  std::unique_ptr<Optimizer> opt = makeAdamW(0.2);
  EXPECT_EQ(opt->name(), "adamw");
  AdamOptions o;
  o.weightDecay = 0.2;
  o.decoupledWeightDecay = true;
  checkThreeSteps(*opt, refAdam(o), 0.1);
}

TEST(OptimizerRmspropTest, Plain) {
  checkThreeSteps(*makeRmsprop(), refRmsprop({}), 1e-2);
}

TEST(OptimizerRmspropTest, MomentumCenteredWeightDecay) {
  RmspropOptions o{
      .alpha = 0.9, .eps = 1e-6, .weightDecay = 0.01, .momentum = 0.7, .centered = true};
  checkThreeSteps(*makeRmsprop(o), refRmsprop(o), 1e-2);
}

TEST(OptimizerRmspropTest, Centered) {
  RmspropOptions o{.alpha = 0.9, .centered = true};
  checkThreeSteps(*makeRmsprop(o), refRmsprop(o), 1e-2);
}

TEST(OptimizerStateTest, LayoutIsStepThenSlotsPerParameter) {
  std::vector<TensorType> types{TensorType(DType::F32, {3}), TensorType(DType::F64, {2, 2})};
  std::vector<StateSpec> specs = makeAdam({.amsgrad = true})->stateSpecs({"w", "b"}, types);
  std::vector<std::string> names;
  for (const StateSpec& s : specs)
    names.push_back(s.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"step", "w.exp_avg", "w.exp_avg_sq", "w.max_exp_avg_sq",
                                      "b.exp_avg", "b.exp_avg_sq", "b.max_exp_avg_sq"}));
  EXPECT_EQ(specs[0].type, TensorType(DType::I64, {}));
  EXPECT_EQ(specs[4].type, types[1]);
  EXPECT_TRUE(makeSgd()->slots().empty());
  EXPECT_EQ(makeSgd({.momentum = 0.9})->slots(), std::vector<std::string>{"momentum_buffer"});
  EXPECT_EQ(makeRmsprop({.momentum = 0.5, .centered = true})->slots(),
            (std::vector<std::string>{"square_avg", "momentum_buffer", "grad_avg"}));
  std::vector<Tensor> init = initialState(specs);
  EXPECT_EQ(init[0], Tensor::scalar(DType::I64, 0));
  EXPECT_EQ(init[4], Tensor(types[1]));
}

TEST(OptimizerStateTest, F64ParameterKeepsItsPrecision) {
  // A tiny update on a large f64 weight survives (it would round away in f32).
  Module m;
  TensorType t(DType::F64, {1});
  std::unique_ptr<Optimizer> opt = makeSgd();
  FunctionBuilder fb(m, "u", {t, t, TensorType(DType::I64, {}), TensorType(DType::F32, {})});
  OptimizerUpdate u = opt->apply(fb, {fb.arg(0)}, {fb.arg(1)}, {fb.arg(2)}, fb.arg(3));
  Function* f = fb.ret({u.params[0]});
  auto r = interpret(*f, {Tensor::fromDoubles(t, {1e6}), Tensor::fromDoubles(t, {1.0}),
                          Tensor::scalar(DType::I64, 0), Tensor::scalar(DType::F32, 1e-3)});
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_NEAR((*r)[0].getDouble(0), 1e6 - double(1e-3f), 1e-9);
}

TEST(OptimizerOptionsTest, BadHyperparametersThrow) {
  EXPECT_THROW(makeSgd({.momentum = -1}), BuildError);
  EXPECT_THROW(makeSgd({.nesterov = true}), BuildError);
  EXPECT_THROW(makeSgd({.momentum = 0.9, .dampening = 0.1, .nesterov = true}), BuildError);
  EXPECT_THROW(makeAdam({.beta1 = 1.0}), BuildError);
  EXPECT_THROW(makeAdam({.beta2 = -0.1}), BuildError);
  EXPECT_THROW(makeAdam({.eps = -1}), BuildError);
  EXPECT_THROW(makeRmsprop({.alpha = 1.5}), BuildError);
  EXPECT_THROW(makeRmsprop({.weightDecay = -1}), BuildError);
}

TEST(OptimizerOptionsTest, ApplyChecksCountsAndTypes) {
  Module m;
  TensorType t(DType::F32, {2});
  std::unique_ptr<Optimizer> opt = makeAdam();
  FunctionBuilder fb(m, "u",
                     {t, TensorType(DType::F32, {3}), TensorType(DType::I64, {}), t, t,
                      TensorType(DType::F32, {})});
  Val lr = fb.arg(5);
  ValueList state{fb.arg(2), fb.arg(3), fb.arg(4)};
  EXPECT_THROW(opt->apply(fb, {fb.arg(0)}, {}, state, lr), BuildError);
  EXPECT_THROW(opt->apply(fb, {fb.arg(0)}, {fb.arg(1)}, state, lr), BuildError); // grad type
  EXPECT_THROW(opt->apply(fb, {fb.arg(0)}, {fb.arg(0)}, {fb.arg(2)}, lr), BuildError);
  EXPECT_THROW(opt->apply(fb, {fb.arg(0)}, {fb.arg(0)}, {fb.arg(3), fb.arg(3), fb.arg(4)}, lr),
               BuildError); // step counter type
  EXPECT_THROW(opt->apply(fb, {fb.arg(0)}, {fb.arg(0)}, state, fb.arg(0)), BuildError); // lr
}

} // namespace
} // namespace cairn::training
