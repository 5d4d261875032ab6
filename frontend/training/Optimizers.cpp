// SGD, Adam(W) and RMSprop as IR (formulas in Optimizers.h and
// docs/training.md). Each update is written the way torch.optim computes it,
// operation for operation where that matters for rounding (e.g. Adam divides
// sqrt(v) by sqrt(1 - beta2^t) rather than v by (1 - beta2^t)).
#include "frontend/training/Optimizers.h"

#include <cmath>

#include <fmt/format.h>

namespace cairn::training {

namespace {

void require(bool ok, std::string_view optimizer, const std::string& what) {
  if (!ok) throw BuildError(fmt::format("{}: {}", optimizer, what));
}

/// `x` rounded to `like`'s dtype (a scalar f64 hyperparameter Val).
Val as(Val x, Val like) {
  return cast(x, like.dtype());
}

class Sgd final : public Optimizer {
public:
  explicit Sgd(const SgdOptions& o) : o_(o) {
    require(o.momentum >= 0, "sgd", fmt::format("momentum {} is negative", o.momentum));
    require(o.weightDecay >= 0, "sgd", fmt::format("weight decay {} is negative", o.weightDecay));
    require(!o.nesterov || (o.momentum > 0 && o.dampening == 0), "sgd",
            "nesterov momentum needs momentum > 0 and dampening == 0");
  }
  std::string name() const override { return "sgd"; }
  std::vector<std::string> slots() const override {
    if (o_.momentum != 0) return {"momentum_buffer"};
    return {};
  }

protected:
  ValueList update(FunctionBuilder& fb, Val p, Val g, const ValueList& slots,
                   const StepScalars& s) const override {
    if (o_.weightDecay != 0) g = g + p * o_.weightDecay;
    ValueList out{Val()};
    if (o_.momentum != 0) {
      Val b = select(s.first, g, slots[0] * o_.momentum + g * (1.0 - o_.dampening));
      out.push_back(b);
      g = o_.nesterov ? g + b * o_.momentum : b;
    }
    out[0] = p - as(s.lr, p) * g;
    return out;
  }

private:
  SgdOptions o_;
};

class Adam final : public Optimizer {
public:
  explicit Adam(const AdamOptions& o) : o_(o) {
    require(o.beta1 >= 0 && o.beta1 < 1, "adam", fmt::format("beta1 {} is not in [0, 1)", o.beta1));
    require(o.beta2 >= 0 && o.beta2 < 1, "adam", fmt::format("beta2 {} is not in [0, 1)", o.beta2));
    require(o.eps >= 0, "adam", fmt::format("eps {} is negative", o.eps));
    require(o.weightDecay >= 0, "adam", fmt::format("weight decay {} is negative", o.weightDecay));
  }
  std::string name() const override { return o_.decoupledWeightDecay ? "adamw" : "adam"; }
  std::vector<std::string> slots() const override {
    std::vector<std::string> s{"exp_avg", "exp_avg_sq"};
    if (o_.amsgrad) s.push_back("max_exp_avg_sq");
    return s;
  }

protected:
  ValueList update(FunctionBuilder& fb, Val p, Val g, const ValueList& slots,
                   const StepScalars& s) const override {
    if (o_.weightDecay != 0) {
      if (o_.decoupledWeightDecay)
        p = p * as(1.0 - s.lr * o_.weightDecay, p);
      else
        g = g + p * o_.weightDecay;
    }
    Val m = slots[0] * o_.beta1 + g * (1.0 - o_.beta1);
    Val v = slots[1] * o_.beta2 + g * g * (1.0 - o_.beta2);
    ValueList out{Val(), m, v};
    Val denomBase = v;
    if (o_.amsgrad) {
      denomBase = max(slots[2], v);
      out.push_back(denomBase);
    }
    Val bc1 = 1.0 - pow(fb.scalar(o_.beta1, DType::F64), s.t);
    Val bc2Sqrt = sqrt(1.0 - pow(fb.scalar(o_.beta2, DType::F64), s.t));
    Val stepSize = as(s.lr / bc1, p);
    Val denom = sqrt(denomBase) / as(bc2Sqrt, p) + o_.eps;
    out[0] = p - stepSize * (m / denom);
    return out;
  }

private:
  AdamOptions o_;
};

class Rmsprop final : public Optimizer {
public:
  explicit Rmsprop(const RmspropOptions& o) : o_(o) {
    require(o.alpha >= 0 && o.alpha <= 1, "rmsprop",
            fmt::format("alpha {} is not in [0, 1]", o.alpha));
    require(o.eps >= 0, "rmsprop", fmt::format("eps {} is negative", o.eps));
    require(o.momentum >= 0, "rmsprop", fmt::format("momentum {} is negative", o.momentum));
    require(o.weightDecay >= 0, "rmsprop",
            fmt::format("weight decay {} is negative", o.weightDecay));
  }
  std::string name() const override { return "rmsprop"; }
  std::vector<std::string> slots() const override {
    std::vector<std::string> s{"square_avg"};
    if (o_.momentum != 0) s.push_back("momentum_buffer");
    if (o_.centered) s.push_back("grad_avg");
    return s;
  }

protected:
  ValueList update(FunctionBuilder& fb, Val p, Val g, const ValueList& slots,
                   const StepScalars& s) const override {
    if (o_.weightDecay != 0) g = g + p * o_.weightDecay;
    Val v = slots[0] * o_.alpha + g * g * (1.0 - o_.alpha);
    Val a, avg;
    if (o_.centered) {
      // torch writes grad_avg.lerp_(g, 1 - alpha): the same average.
      a = slots[o_.momentum != 0 ? 2 : 1] * o_.alpha + g * (1.0 - o_.alpha);
      avg = sqrt(v - a * a) + o_.eps;
    } else {
      avg = sqrt(v) + o_.eps;
    }
    ValueList out{Val(), v};
    if (o_.momentum != 0) {
      Val b = slots[1] * o_.momentum + g / avg;
      out.push_back(b);
      out[0] = p - as(s.lr, p) * b;
    } else {
      out[0] = p - as(s.lr, p) * (g / avg);
    }
    if (o_.centered) out.push_back(a);
    return out;
  }

private:
  RmspropOptions o_;
};

} // namespace

std::vector<Tensor> initialState(const std::vector<StateSpec>& specs) {
  std::vector<Tensor> out;
  out.reserve(specs.size());
  for (const StateSpec& s : specs) {
    Tensor t(s.type);
    if (s.init != 0)
      for (int64_t i = 0; i < t.numElements(); ++i)
        t.setDouble(i, s.init);
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<StateSpec> Optimizer::stateSpecs(const std::vector<std::string>& names,
                                             const std::vector<TensorType>& types) const {
  if (names.size() != types.size())
    throw BuildError(
        fmt::format("{}: {} parameter names for {} types", name(), names.size(), types.size()));
  std::vector<StateSpec> out{{"step", TensorType(DType::I64, {}), 0.0}};
  std::vector<std::string> sl = slots();
  for (size_t i = 0; i < names.size(); ++i)
    for (const std::string& slot : sl)
      out.push_back({names[i] + "." + slot, types[i], 0.0});
  return out;
}

OptimizerUpdate Optimizer::apply(FunctionBuilder& fb, const ValueList& params,
                                 const ValueList& grads, const ValueList& state, Val lr) const {
  const size_t perParam = slots().size();
  if (grads.size() != params.size())
    throw BuildError(
        fmt::format("{}: {} gradients for {} parameters", name(), grads.size(), params.size()));
  if (state.size() != 1 + perParam * params.size())
    throw BuildError(fmt::format("{}: {} state values, expected 1 + {} x {} parameters", name(),
                                 state.size(), perParam, params.size()));
  if (state[0].type() != TensorType(DType::I64, {}))
    throw BuildError(fmt::format("{}: state[0] (the step counter) is {}, expected tensor<i64>",
                                 name(), state[0].type().toString()));
  if (!lr.valid() || lr.rank() != 0 || !isFloat(lr.dtype()))
    throw BuildError(fmt::format("{}: the learning rate must be a float scalar", name()));
  Val step = state[0] + int64_t{1};
  StepScalars s{cast(step, DType::F64), cast(lr, DType::F64), eq(step, int64_t{1})};
  OptimizerUpdate out;
  out.state.push_back(step.named("step"));
  for (size_t i = 0; i < params.size(); ++i) {
    const TensorType& t = params[i].type();
    if (!isFloat(t.dtype))
      throw BuildError(
          fmt::format("{}: parameter {} is {}, not a float tensor", name(), i, t.toString()));
    if (grads[i].type() != t)
      throw BuildError(fmt::format("{}: gradient {} is {} but its parameter is {}", name(), i,
                                   grads[i].type().toString(), t.toString()));
    ValueList slotVals(state.begin() + 1 + i * perParam, state.begin() + 1 + (i + 1) * perParam);
    for (size_t k = 0; k < perParam; ++k)
      if (slotVals[k].type() != t)
        throw BuildError(fmt::format("{}: state '{}' of parameter {} is {}, expected {}", name(),
                                     slots()[k], i, slotVals[k].type().toString(), t.toString()));
    ValueList r = update(fb, params[i], grads[i], slotVals, s);
    CAIRN_CHECK(r.size() == 1 + perParam, "{} returned {} values", name(), r.size());
    out.params.push_back(r[0]);
    out.state.insert(out.state.end(), r.begin() + 1, r.end());
  }
  return out;
}

std::unique_ptr<Optimizer> makeSgd(const SgdOptions& opts) {
  return std::make_unique<Sgd>(opts);
}
std::unique_ptr<Optimizer> makeAdam(const AdamOptions& opts) {
  return std::make_unique<Adam>(opts);
}
std::unique_ptr<Optimizer> makeAdamW(double weightDecay, AdamOptions opts) {
  opts.weightDecay = weightDecay;
  opts.decoupledWeightDecay = true;
  return std::make_unique<Adam>(opts);
}
std::unique_ptr<Optimizer> makeRmsprop(const RmspropOptions& opts) {
  return std::make_unique<Rmsprop>(opts);
}

} // namespace cairn::training
