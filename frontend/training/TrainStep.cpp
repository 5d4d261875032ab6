// Builds @train_step around a gradient function (contract in TrainStep.h).
// Everything that can disagree is checked before the builder is created, so
// a mismatch is a Status naming it and the module is left untouched.
#include "frontend/training/TrainStep.h"

#include <fmt/format.h>

#include "frontend/training/GradClip.h"

namespace cairn::training {

ArgMapping batchThenParams(size_t numBatch, size_t numParams) {
  ArgMapping m;
  for (size_t i = 0; i < numBatch; ++i)
    m.push_back({LossArg::Kind::Batch, i});
  for (size_t i = 0; i < numParams; ++i)
    m.push_back({LossArg::Kind::Param, i});
  return m;
}

std::vector<size_t> trainableArgIndices(const ArgMapping& mapping, const ParamStore& store) {
  std::vector<size_t> out;
  for (size_t p = 0; p < store.size(); ++p) {
    if (!store.specs()[p].trainable) continue;
    size_t found = mapping.size();
    for (size_t a = 0; a < mapping.size(); ++a)
      if (mapping[a].kind == LossArg::Kind::Param && mapping[a].index == p) found = a;
    if (found == mapping.size())
      throw BuildError(fmt::format("trainable parameter '{}' is not an argument of the loss "
                                   "function's mapping",
                                   store.specs()[p].name));
    out.push_back(found);
  }
  return out;
}

namespace {

/// Checks the mapping against the store and gradFn's arguments; returns the
/// number of batch inputs.
StatusOr<size_t> checkMapping(const ParamStore& store, const Function& gradFn,
                              const ArgMapping& mapping) {
  std::vector<TensorType> argTypes = gradFn.argumentTypes();
  if (mapping.size() != argTypes.size())
    return errorf("train_step: the argument mapping has {} entries but @{} takes {} arguments",
                  mapping.size(), gradFn.name, argTypes.size());
  std::vector<int> paramUses(store.size(), 0), batchUses(mapping.size(), 0);
  size_t numBatch = 0;
  for (size_t a = 0; a < mapping.size(); ++a) {
    const LossArg& la = mapping[a];
    if (la.kind == LossArg::Kind::Param) {
      if (la.index >= store.size())
        return errorf("train_step: argument {} of @{} maps to parameter {} but the store has {}", a,
                      gradFn.name, la.index, store.size());
      const ParamSpec& s = store.specs()[la.index];
      if (paramUses[la.index]++)
        return errorf("train_step: parameter '{}' is mapped to more than one argument of @{}",
                      s.name, gradFn.name);
      if (argTypes[a] != s.type)
        return errorf("train_step: parameter '{}' is {} but argument {} of @{} is {}", s.name,
                      s.type.toString(), a, gradFn.name, argTypes[a].toString());
    } else {
      if (la.index >= mapping.size() || batchUses[la.index]++)
        return errorf("train_step: argument {} of @{} maps to batch input {}, which is out of "
                      "range or used twice",
                      a, gradFn.name, la.index);
      ++numBatch;
    }
  }
  for (size_t b = 0; b < numBatch; ++b)
    if (!batchUses[b])
      return errorf("train_step: batch inputs must be numbered 0..{} but {} is missing",
                    numBatch - 1, b);
  for (size_t p = 0; p < store.size(); ++p)
    if (store.specs()[p].trainable && !paramUses[p])
      return errorf("train_step: trainable parameter '{}' is not an argument of @{}",
                    store.specs()[p].name, gradFn.name);
  return numBatch;
}

} // namespace

StatusOr<TrainStep> buildTrainStep(Module& m, const ParamStore& store, const Function& gradFn,
                                   const ArgMapping& mapping, const TrainStepOptions& options) {
  if (!options.optimizer) return errorf("train_step: no optimizer given");
  if (m.lookup(gradFn.name) != &gradFn)
    return errorf("train_step: @{} is not a function of this module", gradFn.name);
  if (m.lookup(options.name))
    return errorf("train_step: the module already has a function @{}", options.name);
  if (options.clipNorm && !(*options.clipNorm > 0))
    return errorf("train_step: the clipping norm {} must be > 0", *options.clipNorm);
  try {
    options.schedule.validate();
  } catch (const BuildError& e) {
    return errorf("train_step: {}", e.what());
  }
  CAIRN_ASSIGN_OR_RETURN(size_t numBatch, checkMapping(store, gradFn, mapping));

  std::vector<size_t> trainable;
  std::vector<std::string> trainNames;
  std::vector<TensorType> trainTypes;
  for (size_t p = 0; p < store.size(); ++p) {
    const ParamSpec& s = store.specs()[p];
    if (!s.trainable) continue;
    if (!isFloat(s.type.dtype))
      return errorf("train_step: trainable parameter '{}' is {}, not a float tensor", s.name,
                    s.type.toString());
    trainable.push_back(p);
    trainNames.push_back(s.name);
    trainTypes.push_back(s.type);
  }
  const std::vector<TensorType>& results = gradFn.resultTypes;
  if (results.size() < 1 + trainable.size())
    return errorf("train_step: @{} returns {} results; expected the loss, metrics, then {} "
                  "gradients",
                  gradFn.name, results.size(), trainable.size());
  if (results[0].rank() != 0 || !isFloat(results[0].dtype))
    return errorf("train_step: the loss (result 0 of @{}) is {}, expected a float scalar",
                  gradFn.name, results[0].toString());
  size_t numMetrics = results.size() - 1 - trainable.size();
  for (size_t k = 0; k < trainable.size(); ++k) {
    const TensorType& g = results[1 + numMetrics + k];
    if (g != trainTypes[k])
      return errorf("train_step: the gradient of '{}' (result {} of @{}) is {}, expected {}",
                    trainNames[k], 1 + numMetrics + k, gradFn.name, g.toString(),
                    trainTypes[k].toString());
  }

  TrainStep ts;
  ts.state = options.optimizer->stateSpecs(trainNames, trainTypes);
  ts.numParams = store.size();
  ts.numBatch = numBatch;
  ts.numMetrics = numMetrics;
  ts.hasGradNorm = options.clipNorm.has_value();

  std::vector<TensorType> argTypes = store.types();
  std::vector<std::string> argNames = store.names();
  for (const StateSpec& s : ts.state) {
    argTypes.push_back(s.type);
    argNames.push_back("state." + s.name);
  }
  std::vector<TensorType> gradArgTypes = gradFn.argumentTypes();
  std::vector<TensorType> batchTypes(numBatch);
  for (size_t a = 0; a < mapping.size(); ++a)
    if (mapping[a].kind == LossArg::Kind::Batch) batchTypes[mapping[a].index] = gradArgTypes[a];
  for (size_t b = 0; b < numBatch; ++b) {
    argTypes.push_back(batchTypes[b]);
    argNames.push_back(fmt::format("batch{}", b));
  }

  FunctionBuilder fb(m, options.name, argTypes, argNames);
  ValueList params, state, batch;
  for (size_t i = 0; i < ts.numParams; ++i)
    params.push_back(fb.arg(i));
  for (size_t i = 0; i < ts.state.size(); ++i)
    state.push_back(fb.arg(ts.firstStateArg() + i));
  for (size_t i = 0; i < numBatch; ++i)
    batch.push_back(fb.arg(ts.firstBatchArg() + i));

  ValueList callArgs;
  for (const LossArg& la : mapping)
    callArgs.push_back(la.kind == LossArg::Kind::Param ? params[la.index] : batch[la.index]);
  ValueList out = fb.call(gradFn, callArgs);
  Val loss = out[0].named("loss");
  ValueList metrics(out.begin() + 1, out.begin() + 1 + numMetrics);
  ValueList grads(out.begin() + 1 + numMetrics, out.end());

  Val gradNorm;
  if (options.clipNorm) {
    ClippedGrads c = clipByGlobalNorm(fb, grads, *options.clipNorm);
    grads = c.grads;
    gradNorm = c.norm;
  }
  Val lr = options.schedule.emit(fb, state[0]);
  ValueList trainParams;
  for (size_t p : trainable)
    trainParams.push_back(params[p]);
  OptimizerUpdate upd = options.optimizer->apply(fb, trainParams, grads, state, lr);

  ValueList newParams = params; // non-trainable ones pass through
  for (size_t k = 0; k < trainable.size(); ++k)
    newParams[trainable[k]] = upd.params[k].named(trainNames[k]);
  ValueList rets = newParams;
  rets.insert(rets.end(), upd.state.begin(), upd.state.end());
  rets.push_back(loss);
  rets.insert(rets.end(), metrics.begin(), metrics.end());
  rets.push_back(cast(lr, DType::F32).named("lr"));
  if (gradNorm.valid()) rets.push_back(gradNorm);
  ts.function = fb.ret(rets);
  CAIRN_CHECK(ts.function->resultTypes.size() == ts.numResults(), "result layout");
  return ts;
}

} // namespace cairn::training
