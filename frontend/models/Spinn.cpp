// The SPINN model functions (see Spinn.h): the bare encoder, the SNLI
// classifier and its loss, and a tree classifier (ListOps). Each is one
// function whose only loop is the encoder's `while`: premise and hypothesis
// share it by being stacked into one batch of 2B rows.
#include "frontend/models/Spinn.h"

namespace cairn {
namespace {

constexpr DType kI32 = DType::I32;

TensorType ints(Shape shape) {
  return TensorType(kI32, std::move(shape));
}

/// The data inputs of a SPINN function in order: tokens, [transitions,]
/// lengths, [labels,] [rng]; `pairs` prefixes a static 2 (premise/hypothesis).
struct DataInputs {
  std::vector<TensorType> types;
  std::vector<std::string> names;
  int tokens = -1, transitions = -1, lengths = -1, labels = -1, rng = -1, baseline = -1;

  DataInputs(const SpinnConfig& cfg, bool pairs, bool withTransitions, bool withLabels) {
    Shape rows = pairs ? Shape{2, kDynamic} : Shape{kDynamic};
    Shape grid = rows;
    grid.push_back(kDynamic);
    tokens = add(ints(grid), "tokens");
    if (withTransitions) transitions = add(ints(grid), "transitions");
    lengths = add(ints(rows), "lengths");
    if (withLabels) labels = add(ints({kDynamic}), "labels");
    if (cfg.predictTransitions && cfg.training) rng = add(TensorType(DType::I64, {2}), "rng");
    // Losses of sampled transitions carry REINFORCE's moving-average baseline.
    if (withLabels && rng >= 0) baseline = add(TensorType(DType::F32, {}), "baseline");
  }
  int add(TensorType t, std::string n) {
    types.push_back(std::move(t));
    names.push_back(std::move(n));
    return static_cast<int>(types.size()) - 1;
  }
  Val get(FunctionBuilder& fb, int i) const {
    return i < 0 ? Val() : fb.arg(static_cast<size_t>(i));
  }
};

/// A FunctionBuilder over `data` followed by the parameters of `ps`, bound.
std::unique_ptr<FunctionBuilder> makeBuilder(Module& m, ParamStore& ps, const std::string& name,
                                             const DataInputs& data) {
  std::vector<TensorType> types = data.types;
  std::vector<std::string> names = data.names;
  for (const TensorType& t : ps.types())
    types.push_back(t);
  for (const std::string& n : ps.names())
    names.push_back(n);
  auto fb = std::make_unique<FunctionBuilder>(m, name, types, names);
  ps.bind(*fb, data.types.size());
  return fb;
}

/// [2, B, ...] -> [2B, ...].
Val mergePairs(Val x) {
  Sizes shape{kDynamic};
  for (int64_t d = 2; d < x.rank(); ++d)
    shape.push_back(dim(x, d));
  return reshape(x, shape);
}

struct SnliForward {
  Val logits;
  SpinnOutputs enc;
};

/// The SNLI classifier on bound inputs; `encoderTransitions` is what the
/// encoder reads (absent in predicted mode).
SnliForward snliForward(const SpinnEncoder& encoder, const Mlp& mlp, Val tokens,
                        Val encoderTransitions, Val lengths, Val rng) {
  const int64_t H = encoder.config().hidden;
  Val p, h;
  SpinnOutputs enc;
  if (encoder.config().splitPairs && encoderTransitions.valid() && !rng.valid()) {
    // Two loops, one per side; h concatenated as the merged loop's rows are
    // (premises first).
    auto side = [&](int64_t k) {
      return encoder(sliceAt(tokens, k, 0), sliceAt(encoderTransitions, k, 0),
                     sliceAt(lengths, k, 0), Val());
    };
    SpinnOutputs ep = side(0), eh = side(1);
    p = ep.h.named("premise");
    h = eh.h.named("hypothesis");
    enc.h = concat({p, h}, 0);
  } else {
    Val trans = encoderTransitions.valid() ? mergePairs(encoderTransitions) : Val();
    enc = encoder(mergePairs(tokens).named("rows_tokens"), trans,
                  mergePairs(lengths).named("rows_lengths"), rng);
    Val merged = reshape(enc.h, {2, kDynamic, H});
    p = sliceAt(merged, 0, 0).named("premise");
    h = sliceAt(merged, 1, 0).named("hypothesis");
  }
  Val features = concat({p, h, p - h, p * h}, 1).named("features");
  return {mlp(features).named("class_logits"), enc};
}

/// Sampled transitions (REINFORCE): adds the policy-gradient surrogate for
/// reward = -(per-example class loss) to `loss` and appends the updated
/// moving-average baseline (0.9 b + 0.1 mean reward) to `results`.
/// `logProb` is per example (premise + hypothesis rows summed for SNLI).
Val addPolicyGradient(FunctionBuilder& fb, const DataInputs& data, Val loss, Val logits,
                      Val labels, Val logProb, ValueList& results) {
  Val reward = neg(crossEntropyPerRow(logits, labels)).named("reward");
  Val baseline = data.get(fb, data.baseline);
  Val meanReward = reduceSum(reward, {0}) / cast(dim(reward, 0), DType::F32);
  results.push_back(stopGradient(baseline * 0.9 + meanReward * 0.1).named("baseline_next"));
  return (loss + reinforceSurrogate(logProb, reward, baseline)).named("loss");
}

/// The tree classifiers' head: root h -> Mlp(mlp, H, mlpHidden, mlpLayers,
/// classes); declared after the encoder's parameters.
Mlp treeHead(ParamStore& ps, const SpinnConfig& cfg, int64_t classes) {
  if (classes <= 0)
    throw BuildError(
        fmt::format("spinn tree classifier: classes must be positive, got {}", classes));
  return Mlp(ps, "mlp", cfg.hidden, cfg.mlpHidden, cfg.mlpLayers, classes);
}

Mlp snliHead(ParamStore& ps, const SpinnConfig& cfg) {
  return Mlp(ps, "mlp", 4 * cfg.hidden, cfg.mlpHidden, cfg.mlpLayers, 3);
}

} // namespace

Function* buildSpinnEncoder(Module& m, ParamStore& ps, const SpinnConfig& cfg,
                            const std::string& name) {
  SpinnEncoder encoder(ps, cfg);
  DataInputs data(cfg, false, !cfg.predictTransitions, false);
  auto fb = makeBuilder(m, ps, name, data);
  SpinnOutputs out = encoder(data.get(*fb, data.tokens), data.get(*fb, data.transitions),
                             data.get(*fb, data.lengths), data.get(*fb, data.rng));
  ValueList results{out.h};
  if (out.transitions.valid()) results.push_back(out.transitions);
  if (out.rng.valid()) results.push_back(out.rng);
  return fb->ret(results);
}

Function* buildSpinnSnli(Module& m, ParamStore& ps, const SpinnConfig& cfg,
                         const std::string& name) {
  SpinnEncoder encoder(ps, cfg);
  Mlp mlp = snliHead(ps, cfg);
  DataInputs data(cfg, true, !cfg.predictTransitions, false);
  auto fb = makeBuilder(m, ps, name, data);
  SnliForward f =
      snliForward(encoder, mlp, data.get(*fb, data.tokens), data.get(*fb, data.transitions),
                  data.get(*fb, data.lengths), data.get(*fb, data.rng));
  ValueList results{f.logits};
  if (f.enc.transitions.valid() && !cfg.logitsOnly) results.push_back(f.enc.transitions);
  if (f.enc.rng.valid() && !cfg.logitsOnly) results.push_back(f.enc.rng);
  return fb->ret(results);
}

Function* buildSpinnSnliLoss(Module& m, ParamStore& ps, const SpinnConfig& cfg,
                             const std::string& name) {
  SpinnEncoder encoder(ps, cfg);
  Mlp mlp = snliHead(ps, cfg);
  DataInputs data(cfg, true, true, true);
  auto fb = makeBuilder(m, ps, name, data);
  Val given = data.get(*fb, data.transitions);
  SnliForward f =
      snliForward(encoder, mlp, data.get(*fb, data.tokens), cfg.predictTransitions ? Val() : given,
                  data.get(*fb, data.lengths), data.get(*fb, data.rng));
  Val labels = data.get(*fb, data.labels);
  Val loss = crossEntropy(f.logits, labels).named("class_loss");
  if (cfg.predictTransitions)
    loss = (loss + transitionCrossEntropy(f.enc.logits, mergePairs(given))).named("loss");
  ValueList extra;
  if (f.enc.rng.valid()) extra.push_back(f.enc.rng);
  if (f.enc.logProb.valid()) {
    Val perPair = reduceSum(reshape(f.enc.logProb, {2, kDynamic}), {0});
    loss = addPolicyGradient(*fb, data, loss, f.logits, labels, perPair, extra);
  }
  ValueList results{loss};
  results.insert(results.end(), extra.begin(), extra.end());
  return fb->ret(results);
}

Function* buildSpinnTreeClassifier(Module& m, ParamStore& ps, const SpinnConfig& cfg,
                                   int64_t classes, const std::string& name) {
  SpinnEncoder encoder(ps, cfg);
  Mlp mlp = treeHead(ps, cfg, classes);
  DataInputs data(cfg, false, !cfg.predictTransitions, false);
  auto fb = makeBuilder(m, ps, name, data);
  SpinnOutputs out = encoder(data.get(*fb, data.tokens), data.get(*fb, data.transitions),
                             data.get(*fb, data.lengths), data.get(*fb, data.rng));
  ValueList results{mlp(out.h).named("class_logits")};
  if (out.transitions.valid()) results.push_back(out.transitions);
  if (out.rng.valid()) results.push_back(out.rng);
  return fb->ret(results);
}

Function* buildSpinnTreeClassifierLoss(Module& m, ParamStore& ps, const SpinnConfig& cfg,
                                       int64_t classes, const std::string& name) {
  SpinnEncoder encoder(ps, cfg);
  Mlp mlp = treeHead(ps, cfg, classes);
  DataInputs data(cfg, false, true, true);
  auto fb = makeBuilder(m, ps, name, data);
  Val given = data.get(*fb, data.transitions);
  SpinnOutputs out = encoder(data.get(*fb, data.tokens), cfg.predictTransitions ? Val() : given,
                             data.get(*fb, data.lengths), data.get(*fb, data.rng));
  Val logits = mlp(out.h).named("class_logits");
  Val labels = data.get(*fb, data.labels);
  Val loss = crossEntropy(logits, labels).named("class_loss");
  if (cfg.predictTransitions)
    loss = (loss + transitionCrossEntropy(out.logits, given)).named("loss");
  ValueList extra;
  if (out.rng.valid()) extra.push_back(out.rng);
  if (out.logProb.valid())
    loss = addPolicyGradient(*fb, data, loss, logits, labels, out.logProb, extra);
  ValueList results{loss, accuracy(logits, labels).named("accuracy")};
  results.insert(results.end(), extra.begin(), extra.end());
  return fb->ret(results);
}

} // namespace cairn
