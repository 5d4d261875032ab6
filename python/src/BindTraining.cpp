// Python binding of frontend/training's train step: around a gradient
// function already in the module (buildGradient's contract: loss, metrics,
// then one gradient per parameter), build `@train_step(params..., state...,
// batch...)` with an optimizer, a learning-rate schedule and optional
// clipping, and hand Python the optimizer state's layout and initial values.
// The optimizers stay IR (frontend/training/Optimizers.h): a whole step is
// one compiled function.
#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include "Arrays.h"
#include "Handles.h"
#include "frontend/training/TrainStep.h"

namespace cairn::python {

namespace {

std::shared_ptr<const training::Optimizer> makeOptimizer(const std::string& kind,
                                                         const nb::dict& o) {
  auto num = [&](const char* k, double dflt) {
    return o.contains(k) ? nb::cast<double>(o[k]) : dflt;
  };
  auto flag = [&](const char* k, bool dflt) { return o.contains(k) ? nb::cast<bool>(o[k]) : dflt; };
  if (kind == "sgd") {
    training::SgdOptions s;
    s.momentum = num("momentum", 0);
    s.dampening = num("dampening", 0);
    s.weightDecay = num("weight_decay", 0);
    s.nesterov = flag("nesterov", false);
    return training::makeSgd(s);
  }
  if (kind == "adam" || kind == "adamw") {
    training::AdamOptions a;
    a.beta1 = num("beta1", 0.9);
    a.beta2 = num("beta2", 0.999);
    a.eps = num("eps", 1e-8);
    a.weightDecay = num("weight_decay", kind == "adamw" ? 0.01 : 0.0);
    a.decoupledWeightDecay = kind == "adamw";
    a.amsgrad = flag("amsgrad", false);
    return training::makeAdam(a);
  }
  if (kind == "rmsprop") {
    training::RmspropOptions r;
    r.alpha = num("alpha", 0.99);
    r.eps = num("eps", 1e-8);
    r.weightDecay = num("weight_decay", 0);
    r.momentum = num("momentum", 0);
    r.centered = flag("centered", false);
    return training::makeRmsprop(r);
  }
  throw nb::value_error(
      ("cairn: unknown optimizer '" + kind + "' (sgd, adam, adamw, rmsprop)").c_str());
}

/// The learning-rate schedule `kind` (LrSchedule.h: constant, step,
/// exponential, cosine) with its fields from `o`; validated (a bad field is
/// a BuildError naming it).
training::LrSchedule makeSchedule(const std::string& kind, double lr, int64_t warmup,
                                  const nb::dict& o) {
  auto num = [&](const char* k, double dflt) {
    return o.contains(k) ? nb::cast<double>(o[k]) : dflt;
  };
  auto integer = [&](const char* k, int64_t dflt) {
    return o.contains(k) ? nb::cast<int64_t>(o[k]) : dflt;
  };
  training::LrSchedule s;
  if (kind == "constant")
    s = training::LrSchedule::constant(lr, warmup);
  else if (kind == "step")
    s = training::LrSchedule::stepDecay(lr, integer("step_size", 1), num("gamma", 0.1), warmup);
  else if (kind == "exponential")
    s = training::LrSchedule::exponential(lr, num("gamma", 0.99), warmup);
  else if (kind == "cosine") {
    if (!o.contains("total_steps"))
      throw nb::value_error("cairn: the cosine schedule needs total_steps");
    s = training::LrSchedule::cosine(lr, integer("total_steps", 0), warmup, num("min_lr", 0.0));
  } else
    throw nb::value_error(("cairn: unknown learning-rate schedule '" + kind +
                           "' (constant, step, exponential, cosine)")
                              .c_str());
  s.validate();
  return s;
}

} // namespace

void bindTraining(nb::module_& m) {
  m.def(
      "build_train_step",
      [](ModuleHandle& h, const std::string& gradFn, size_t numBatch,
         const std::vector<std::string>& paramNames, const std::string& optimizer,
         const nb::dict& options, double lr, int64_t warmup, const std::string& schedule,
         const nb::dict& scheduleOptions, std::optional<double> clipNorm, const std::string& name) {
        const Function* g = h.module->lookup(gradFn);
        if (!g) throw CairnError("no function @" + gradFn + " in the module");
        std::vector<TensorType> args = g->argumentTypes();
        if (numBatch + paramNames.size() != args.size())
          throw CairnError("@" + gradFn + " does not take the batch inputs then the parameters");
        ParamStore store;
        for (size_t i = 0; i < paramNames.size(); ++i)
          store.declare({paramNames[i], args[numBatch + i]});
        training::TrainStepOptions o;
        o.optimizer = makeOptimizer(optimizer, options);
        o.schedule = makeSchedule(schedule, lr, warmup, scheduleOptions);
        o.clipNorm = clipNorm;
        o.name = name;
        training::TrainStep step = take(training::buildTrainStep(
            *h.module, store, *g, training::batchThenParams(numBatch, paramNames.size()), o));
        nb::list state;
        for (Tensor& t : training::initialState(step.state))
          state.append(arrayFromTensor(std::move(t)));
        return nb::make_tuple(step.function->name, state, step.numMetrics, step.hasGradNorm);
      },
      nb::arg("module"), nb::arg("grad_fn"), nb::arg("num_batch"), nb::arg("param_names"),
      nb::arg("optimizer"), nb::arg("options"), nb::arg("lr"), nb::arg("warmup"),
      nb::arg("schedule"), nb::arg("schedule_options"), nb::arg("clip_norm").none(),
      nb::arg("name"));

  // The schedule's learning rate of update s in plain C++ (LrSchedule::at),
  // the reference the in-graph schedule is tested against.
  m.def(
      "lr_schedule_at",
      [](const std::string& schedule, double lr, int64_t warmup, const nb::dict& options,
         int64_t step) { return makeSchedule(schedule, lr, warmup, options).at(step); },
      nb::arg("schedule"), nb::arg("lr"), nb::arg("warmup"), nb::arg("options"), nb::arg("step"));
}

} // namespace cairn::python
