// cairn-train's loop (see Trainer.h).
//
// The batch order is a function of the step alone (epoch e = step / batches
// per epoch is bucketed by length with a seed derived from (seed, e)), so a
// run resumed from a checkpoint at step s feeds exactly the batches an
// uninterrupted run would have fed from step s on.
#include "Trainer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "frontend/training/Accuracy.h"
#include "frontend/training/Checkpoint.h"
#include "frontend/training/Progress.h"
#include "compiler/codegen/cpu/CompileExecutable.h"
#include "compiler/codegen/cuda/CompileForDevice.h"
#include "runtime/device/OpenDevice.h"
#include "runtime/RunLimits.h"
#include "runtime/exec/Blas.h"
#include "runtime/exec/Executable.h"
#include "runtime/exec/Gemm.h"
#include "runtime/reference/Interpreter.h"

namespace cairn::train_tool {

namespace {

using training::monotonicSeconds;

int fail(const std::string& message) {
  std::cerr << "cairn-train: error: " << message << "\n";
  return 1;
}

struct Splits {
  data::Corpus train, heldout, longer; ///< longer: empty unless generated ListOps
  std::string source;
};

/// The ListOps shape of the longer/deeper evaluation set: two more levels,
/// and every example longer than anything in training.
data::ListOpsConfig longerConfig(const data::ListOpsConfig& c) {
  data::ListOpsConfig l = c;
  l.maxDepth = c.maxDepth + 2;
  l.minLength = c.maxLength + 1;
  l.maxLength = 2 * c.maxLength;
  return l;
}

StatusOr<Splits> loadSplits(const TrainOptions& o) {
  Splits s;
  auto train = data::loadCorpus(o.corpus);
  if (!train.isOk()) return train.status();
  s.train = std::move(*train);
  for (const std::string& w : s.train.warnings)
    std::cerr << "cairn-train: warning: " << w << "\n";
  if (o.corpus.path.empty()) {
    const data::ListOpsConfig& c = o.corpus.listops;
    s.source = fmt::format(
        "generated ListOps (seed {}, depth <= {}, <= {} arguments, {}-{} tokens, nesting {:g}{})",
        o.corpus.seed, c.maxDepth, c.maxArgs, c.minLength, c.maxLength, c.nestProbability,
        c.thinWithDepth ? " / depth" : " at every depth");
    // Different seeds; examples that also occur in training are dropped.
    CAIRN_ASSIGN_OR_RETURN(s.heldout,
                           data::generateListOpsCorpus(c, o.corpus.seed + 1000, 2 * o.evalExamples,
                                                       s.train.vocab, &s.train));
    s.heldout.trees.resize(std::min(s.heldout.trees.size(), o.evalExamples));
    if (o.longEval) {
      data::ListOpsConfig lc = longerConfig(c);
      StatusOr<data::Corpus> longer =
          data::generateListOpsCorpus(lc, o.corpus.seed + 2000, o.evalExamples, s.train.vocab);
      if (!longer.isOk()) {
        // At training's nesting rate long lists are too rare to draw
        // (--listops-length 100 found none in a million draws; the paper's
        // rate with 4 arguments, none past 1000 tokens). Nest at a constant
        // rate 15% above the critical one (each list then holds 1.15 lists
        // on average): about one draw in ten lands in the length range.
        lc.nestProbability = std::min(1.0, 1.15 * 2.0 / (2.0 + lc.maxArgs));
        lc.thinWithDepth = false;
        longer = data::generateListOpsCorpus(lc, o.corpus.seed + 2000, o.evalExamples,
                                             s.train.vocab);
      }
      if (!longer.isOk())
        return longer.status().withMessage("the longer/deeper evaluation set: " +
                                           longer.status().message());
      s.longer = std::move(*longer);
    }
    return s;
  }
  s.source = fmt::format("{} ({})", o.corpus.path, data::formatName(o.corpus.format));
  if (!o.evalData.empty()) {
    data::CorpusOptions e = o.corpus;
    e.path = o.evalData;
    e.limit = 0;
    auto heldout = data::loadCorpus(e);
    if (!heldout.isOk()) return heldout.status();
    s.heldout = std::move(*heldout);
    s.heldout.vocab = s.train.vocab; // the model's ids; unseen tokens are <unk>
  } else if (s.train.size() >= 2) {
    s.heldout = s.train.splitTail(std::max<size_t>(1, s.train.size() / 10));
  }
  return s;
}

struct EvalResult {
  double accuracy = 0, loss = 0;
  int64_t examples = 0;
  /// ListOps: {correct, examples} by the root's operator ("[MAX", ...).
  std::map<std::string, std::pair<int64_t, int64_t>> byOperator;
};

/// Runs the program's functions on the chosen backend: the reference
/// interpreter, or one compiled Executable with a context per function (so
/// each keeps its buffer pool warm).
struct Runner {
  RunLimits limits;                                     // --max-memory-mb
  bool profile = false;                                 // --profile
  std::unique_ptr<exec::Executable> exe;                // --backend compiled
  std::unique_ptr<device::DeviceExecutable> deviceExe; // --backend cuda
  std::map<std::string, std::unique_ptr<exec::ExecutionContext>> contexts;
  std::map<std::string, std::unique_ptr<device::DeviceContext>> deviceContexts;

  StatusOr<std::vector<Tensor>> run(const Function& f, const std::vector<Tensor>& in) {
    if (deviceExe) {
      auto& ctx = deviceContexts[f.name];
      if (!ctx) ctx = std::make_unique<device::DeviceContext>();
      device::DeviceRunOptions o;
      o.limits = limits;
      return deviceExe->run(f.name, in, *ctx, o);
    }
    if (!exe) {
      InterpreterOptions o;
      o.limits = limits;
      return interpret(f, in, o);
    }
    auto& ctx = contexts[f.name];
    if (!ctx) ctx = std::make_unique<exec::ExecutionContext>();
    exec::ExecOptions o;
    o.limits = limits;
    o.profile = profile;
    return exe->run(f.name, in, *ctx, o);
  }

  // --backend cuda: the parameters and optimizer state stay on the device
  // between steps (the step's first `kept` inputs and results), as the
  // frameworks keep theirs; the host copies are brought back for
  // evaluations and checkpoints (syncHost).
  std::vector<device::DeviceTensor> kept;
  bool hostStale = false;

  /// One training step on `inputs` (the kept values first). Its first
  /// `keep` results are the next step's first inputs: with --backend cuda
  /// they stay on the device and come back empty here.
  StatusOr<std::vector<Tensor>> step(const Function& f, const std::vector<Tensor>& inputs,
                                     size_t keep) {
    if (!deviceExe) return run(f, inputs);
    auto& ctx = deviceContexts[f.name];
    if (!ctx) ctx = std::make_unique<device::DeviceContext>();
    device::DeviceRunOptions o;
    o.limits = limits;
    std::vector<device::DeviceArg> args;
    for (size_t i = 0; i < inputs.size(); ++i)
      if (i < keep && kept.size() == keep) args.emplace_back(kept[i]);
      else args.emplace_back(inputs[i]);
    CAIRN_ASSIGN_OR_RETURN(std::vector<device::DeviceTensor> out,
                           deviceExe->runOnDevice(f.name, args, *ctx, o));
    std::vector<Tensor> results(out.size());
    for (size_t i = keep; i < out.size(); ++i) {
      CAIRN_ASSIGN_OR_RETURN(results[i], out[i].download());
    }
    out.resize(std::min(keep, out.size()));
    kept = std::move(out);
    hostStale = true;
    return results;
  }

  /// The kept values back into the host's `params` and `state`.
  Status syncHost(std::vector<Tensor>& params, std::vector<Tensor>& state) {
    if (!hostStale) return Status::ok();
    for (size_t i = 0; i < kept.size(); ++i) {
      CAIRN_ASSIGN_OR_RETURN(Tensor t, kept[i].download());
      (i < params.size() ? params[i] : state[i - params.size()]) = std::move(t);
    }
    hostStale = false;
    return Status::ok();
  }
};

/// Accuracy and mean cross-entropy of the classifier on the first `limit`
/// examples of `c`.
StatusOr<EvalResult> evaluate(Runner& runner, const TrainingGraph& p, const std::vector<Tensor>& params,
                              const data::Corpus& c, size_t limit, size_t batch) {
  EvalResult r;
  size_t n = std::min(limit, c.size());
  if (n == 0) return r;
  std::vector<int64_t> lengths = c.lengths();
  lengths.resize(n);
  int64_t correct = 0;
  double lossSum = 0;
  for (const std::vector<size_t>& indices : data::bucketByLength(lengths, batch, 0)) {
    data::Batch b = data::makeBatch(c, indices);
    std::vector<Tensor> in = classifyInputs(p, b);
    in.insert(in.end(), params.begin(), params.end());
    auto out = runner.run(*p.classify, in);
    if (!out.isOk()) return out.status();
    const Tensor& logits = (*out)[0];
    const int64_t classes = logits.shape()[1];
    for (int64_t row = 0; row < b.rows(); ++row) {
      const bool right = training::argmaxRow(logits, row) == b.labels.getInt(row);
      correct += right;
      if (c.format == data::Format::ListOps) {
        const std::string& op = c.trees[indices[static_cast<size_t>(row)]].sentence.tokens[0];
        auto& [ok, all] = r.byOperator[op.size() > 1 ? op : "digit"];
        ok += right;
        ++all;
      }
      double mx = -INFINITY, sum = 0;
      for (int64_t k = 0; k < classes; ++k)
        mx = std::max(mx, logits.getDouble(row * classes + k));
      for (int64_t k = 0; k < classes; ++k)
        sum += std::exp(logits.getDouble(row * classes + k) - mx);
      lossSum += mx + std::log(sum) - logits.getDouble(row * classes + b.labels.getInt(row));
    }
    r.examples += b.rows();
  }
  r.accuracy = static_cast<double>(correct) / static_cast<double>(r.examples);
  r.loss = lossSum / static_cast<double>(r.examples);
  return r;
}

/// What a checkpoint must agree on to be resumed: the model's shape and the
/// optimizer (the tensors' names and shapes are checked on load as well).
std::string modelKey(const TrainOptions& o, int64_t vocab) {
  const SpinnConfig& m = o.config.model;
  return fmt::format("spinn {} classes={} vocab={} embed={} hidden={} tracker={} mlp={}x{} "
                     "transitions={} optimizer={}",
                     data::formatName(o.config.format), o.config.classes, vocab, m.embed, m.hidden,
                     m.trackerSize, m.mlpLayers, m.mlpHidden,
                     m.predictTransitions ? (o.config.sample ? "sampled" : "predicted") : "given", o.config.optimizer);
}

Status saveCheckpoint(const TrainOptions& o, const TrainingGraph& p, const std::vector<Tensor>& params,
                      const std::vector<Tensor>& state, int64_t step, int64_t vocab) {
  training::Metadata meta{{"tool", "cairn-train"},
                          {"model", modelKey(o, vocab)},
                          {"step", std::to_string(step)},
                          {"seed", std::to_string(o.seed)},
                          {"batch", std::to_string(o.batch)},
                          {"schedule", o.config.schedule.toString()}};
  // Written beside the target and renamed over it, so an interrupted write
  // never leaves a torn checkpoint where a good one was.
  std::string tmp = o.checkpoint + ".tmp";
  Status st = training::saveTrainingCheckpoint(tmp, p.params, params, p.step.state, state, meta);
  if (!st.isOk()) return st;
  std::error_code ec;
  std::filesystem::rename(tmp, o.checkpoint, ec);
  if (ec) return errorf("{}: cannot rename '{}' over it: {}", o.checkpoint, tmp, ec.message());
  return Status::ok();
}

struct CurvePoint {
  int64_t step = 0;
  double seconds = 0;
  std::optional<double> trainLoss, trainAccuracy; ///< means over the steps since the last point
  EvalResult heldout;
};

std::string percent(std::optional<double> v) {
  return v ? fmt::format("{:.1f}%", 100 * *v) : std::string("-");
}

/// --profile: the training step's instruction time over the whole run, by
/// instruction kind and op, largest first.
void printStepProfile(Runner& runner, const std::string& stepName) {
  auto it = runner.contexts.find(stepName);
  if (it == runner.contexts.end()) {
    std::cout << "  profile           - (only the compiled backend is profiled)\n";
    return;
  }
  const auto& profile = it->second->stats().profile;
  std::vector<std::pair<std::string, exec::InstProfile>> rows;
  for (const auto& row : profile) // "copy ..." rows count bytes, not time
    if (row.first.rfind("copy", 0) != 0) rows.push_back(row);
  double total = 0;
  for (const auto& [what, p] : rows) total += static_cast<double>(p.nanos);
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.second.nanos > b.second.nanos; });
  std::cout << fmt::format("  profile of {} ({:.1f} s in instructions):\n", stepName, total / 1e9);
  for (size_t i = 0; i < rows.size() && i < 20; ++i)
    std::cout << fmt::format("    {:>8.2f} s {:5.1f}% {:>10} calls  {}\n",
                             static_cast<double>(rows[i].second.nanos) / 1e9,
                             100.0 * static_cast<double>(rows[i].second.nanos) / total,
                             rows[i].second.calls, rows[i].first);
}

int writeSplits(const Splits& s, const std::string& prefix) {
  std::pair<const data::Corpus*, const char*> files[] = {
      {&s.train, "train"}, {&s.heldout, "heldout"}, {&s.longer, "longer"}};
  for (auto [corpus, name] : files) {
    if (!corpus->size()) continue;
    std::string path = fmt::format("{}.{}.tsv", prefix, name);
    Status st = data::writeListOps(path, corpus->trees);
    if (!st.isOk()) return fail(st.message());
    std::cout << fmt::format("wrote {} ({} examples)\n", path, corpus->size());
  }
  return 0;
}

} // namespace

int runTraining(const TrainOptions& o) {
  auto splits = loadSplits(o);
  if (!splits.isOk()) return fail(splits.status().message());
  Splits& data = *splits;
  const int64_t vocab = data.train.vocab.size();
  std::cout << fmt::format(
      "cairn-train: {}: {} training, {} held-out{} examples, vocab {}\n", data.source,
      data.train.size(), data.heldout.size(),
      data.longer.size() ? fmt::format(", {} longer/deeper", data.longer.size()) : "", vocab);
  if (!o.writeData.empty()) return writeSplits(data, o.writeData);

  TrainConfig cfg = o.config;
  cfg.model.vocab = vocab;
  auto built = buildTrainingGraph(cfg);
  if (!built.isOk()) return fail(built.status().message());
  TrainingGraph& p = **built;
  int64_t numParams = 0;
  for (const ParamSpec& s : p.params.specs())
    numParams += s.type.numElements();
  std::cout << fmt::format("model: {} ({} parameters, {} tensors)\n", modelKey(o, vocab), numParams,
                           p.params.size());
  std::cout << fmt::format(
      "compile: {:.3f} s (model IR {:.3f} s, gradient {:.3f} s, train_step "
      "{:.3f} s; {}, clip {}, {})\n",
      p.irSeconds + p.gradSeconds + p.stepSeconds, p.irSeconds, p.gradSeconds, p.stepSeconds,
      cfg.optimizer, cfg.clip ? fmt::format("{}", *cfg.clip) : "off", cfg.schedule.toString());

  std::cout << std::flush; // the header reaches a log before the first slow step
  Runner runner;
  runner.limits.maxBytes = o.maxBytes;
  runner.profile = o.profile;
  if (o.backend == "compiled") {
    const double t0 = monotonicSeconds();
    codegen::cpu::CompileReport report;
    codegen::cpu::CompileOptions options; // a training step: batched weight gradients
    options.floatRewrites = FloatRewrites::Reassociate;
    auto exe = codegen::cpu::compileExecutable(p.module, options, &report);
    if (!exe.isOk()) return fail("compiling for the executor: " + exe.status().message());
    runner.exe = std::move(*exe);
    std::cout << fmt::format("compiled for the CPU executor in {:.3f} s ({} GEMMs, {} static + {} "
                             "shape-specialized kernels, {} in-place updates)\n",
                             monotonicSeconds() - t0, report.gemms, report.kernelsStatic,
                             report.kernelsDynamic, report.inPlace);
    const exec::BlasKernels& blas = exec::blasKernels();
    std::cout << fmt::format("blas: {}, {} thread(s)\n", exec::blasDescription(),
                             exec::blasThreads());
    if (!blas.warning.empty()) std::cout << "warning: " << blas.warning << "\n";
  } else if (o.backend == "cuda") {
    const double t0 = monotonicSeconds();
    std::string note;
    StatusOr<std::shared_ptr<device::Device>> dev =
        device::openDevice(device::DeviceChoice::Auto, &note);
    if (!note.empty()) std::cout << "cuda: " << note << "\n";
    if (!dev.isOk()) return fail("--backend cuda: " + dev.status().message());
    codegen::cuda::DeviceCompileOptions options;
    options.floatRewrites = FloatRewrites::Reassociate;
    codegen::cuda::DeviceCompileReport report;
    auto exe = codegen::cuda::compileForDevice(p.module, *dev, options, &report);
    if (!exe.isOk()) return fail("compiling for the device: " + exe.status().message());
    runner.deviceExe = std::move(*exe);
    std::cout << fmt::format("compiled for {} in {:.3f} s ({} GEMMs, {} kernels)\n",
                             (*dev)->name(), monotonicSeconds() - t0, report.gemms,
                             report.kernels);
  } else if (o.backend != "interpreter") {
    return fail(fmt::format("--backend: '{}' is not interpreter, compiled or cuda", o.backend));
  }
  std::cout << std::flush;

  std::vector<Tensor> params = p.params.initialize(o.seed);
  std::vector<Tensor> state = training::initialState(p.step.state);
  int64_t step = 0;
  if (o.resume) {
    auto loaded = training::loadTrainingCheckpoint(o.checkpoint, p.params, p.step.state);
    if (!loaded.isOk()) return fail("--resume: " + loaded.status().message());
    auto key = loaded->metadata.find("model");
    if (key == loaded->metadata.end() || key->second != modelKey(o, vocab))
      return fail(fmt::format("--resume: {} was written for '{}', this run is '{}'", o.checkpoint,
                              key == loaded->metadata.end() ? "?" : key->second,
                              modelKey(o, vocab)));
    params = std::move(loaded->params);
    state = std::move(loaded->state);
    step = state[0].getInt(0);
    std::cout << fmt::format("resumed from {} at step {}\n", o.checkpoint, step) << std::flush;
  }

  const std::vector<int64_t> lengths = data.train.lengths();
  const int64_t perEpoch = static_cast<int64_t>((lengths.size() + o.batch - 1) / o.batch);
  int64_t lastSteps = o.steps;
  if (o.epochs && (!lastSteps || o.epochs * perEpoch < lastSteps)) lastSteps = o.epochs * perEpoch;

  training::ProgressOptions po;
  po.totalSteps = lastSteps;
  po.label = "train";
  po.plainEvery = o.evalEvery ? std::max<int64_t>(1, o.evalEvery / 2) : 50;
  const double start = monotonicSeconds();
  training::Progress progress(std::cout, po, training::stdoutIsTerminal(), start);

  std::vector<CurvePoint> curve;
  double lossSum = 0, accSum = 0, evalSeconds = 0;
  int64_t sinceEval = 0, examples = 0;
  const int64_t firstStep = step;
  auto checkpointAndEval = [&]() -> int {
    progress.finish();
    double t0 = monotonicSeconds();
    if (Status st = runner.syncHost(params, state); !st.isOk())
      return fail("reading the parameters back: " + st.message());
    auto r = evaluate(runner, p, params, data.heldout, o.evalExamples, o.evalBatch);
    if (!r.isOk()) return fail("evaluation: " + r.status().message());
    CurvePoint pt;
    pt.step = step;
    pt.seconds = t0 - start;
    if (sinceEval) {
      pt.trainLoss = lossSum / static_cast<double>(sinceEval);
      if (p.lossHasAccuracy) pt.trainAccuracy = accSum / static_cast<double>(sinceEval);
    }
    pt.heldout = *r;
    curve.push_back(pt);
    lossSum = accSum = 0;
    sinceEval = 0;
    evalSeconds += monotonicSeconds() - t0;
    std::cout << fmt::format("eval: step {} | {} | held-out accuracy {} | loss {:.4f} ({} "
                             "examples)\n",
                             step, training::formatDuration(pt.seconds),
                             percent(r->examples ? std::optional(r->accuracy) : std::nullopt),
                             r->loss, r->examples)
              << std::flush;
    if (!o.checkpoint.empty()) {
      Status st = saveCheckpoint(o, p, params, state, step, vocab);
      if (!st.isOk()) return fail("--checkpoint: " + st.message());
    }
    return 0;
  };

  // Sampled moves: the generator state and REINFORCE's baseline carry from
  // step to step (not checkpointed: a resumed run draws a fresh stream).
  Tensor policyRng =
      Tensor::fromInts(TensorType(DType::I64, {2}), {static_cast<int64_t>(o.seed), step});
  Tensor policyBaseline = Tensor::scalar(DType::F32, 0.0);
  std::vector<std::vector<size_t>> epochBatches;
  int64_t cachedEpoch = -1;
  while (true) {
    if (lastSteps && step >= lastSteps) break;
    if (o.timeLimit > 0 && monotonicSeconds() - start >= o.timeLimit) break;
    const int64_t epoch = step / perEpoch;
    if (epoch != cachedEpoch) {
      epochBatches = data::bucketByLength(lengths, o.batch, o.seed * 1000003 + epoch);
      cachedEpoch = epoch;
    }
    data::Batch b = data::makeBatch(data.train, epochBatches[step % perEpoch]);
    std::vector<Tensor> in = params;
    in.insert(in.end(), state.begin(), state.end());
    in.insert(in.end(), {b.tokens, b.transitions, b.lengths, b.labels});
    if (p.sampled) in.insert(in.end(), {policyRng, policyBaseline});
    const size_t np = params.size(), ns = state.size();
    auto out = runner.step(*p.step.function, in, np + ns);
    if (!out.isOk()) return fail(fmt::format("step {}: {}", step + 1, out.status().message()));
    if (p.sampled) {
      const size_t at = p.step.firstMetricResult() + p.sampledStateMetric;
      policyRng = (*out)[at];
      policyBaseline = (*out)[at + 1];
    }
    std::vector<Tensor>& r = *out;
    if (!runner.hostStale) { // on the device they stay there (Runner::step)
      for (size_t i = 0; i < np; ++i)
        params[i] = std::move(r[i]);
      for (size_t i = 0; i < ns; ++i)
        state[i] = std::move(r[np + i]);
    }
    const double loss = r[p.step.lossResult()].getDouble(0);
    std::optional<double> acc;
    if (p.lossHasAccuracy) acc = r[p.step.firstMetricResult()].getDouble(0);
    ++step;
    examples += b.rows();
    lossSum += loss;
    accSum += acc.value_or(0);
    ++sinceEval;
    if (!std::isfinite(loss))
      return fail(fmt::format("step {}: the loss is {} (try a lower --lr or --clip)", step, loss));
    progress.update(step, monotonicSeconds(), loss, b.rows(), acc,
                    r[p.step.lrResult()].getDouble(0));
    if (o.evalEvery && step % o.evalEvery == 0)
      if (int rc = checkpointAndEval()) return rc;
  }
  progress.finish();
  if (curve.empty() || curve.back().step != step)
    if (int rc = checkpointAndEval()) return rc;
  const double trainSeconds = monotonicSeconds() - start;

  // The report.
  if (Status st = runner.syncHost(params, state); !st.isOk())
    return fail("reading the parameters back: " + st.message());
  auto trainAcc = evaluate(runner, p, params, data.train, o.evalExamples, o.evalBatch);
  if (!trainAcc.isOk()) return fail("evaluation: " + trainAcc.status().message());
  std::optional<EvalResult> longer;
  if (data.longer.size()) {
    auto r = evaluate(runner, p, params, data.longer, o.evalExamples, o.evalBatch);
    if (!r.isOk()) return fail("evaluation: " + r.status().message());
    longer = *r;
  }
  const int64_t ran = step - firstStep;
  std::cout << "\nreport:\n";
  std::cout << fmt::format("  steps {} ({} this run, {:.2f} epochs of {} batches of <= {}), {} "
                           "examples this run\n",
                           step, ran, static_cast<double>(step) / static_cast<double>(perEpoch),
                           perEpoch, o.batch, examples);
  std::cout << fmt::format("  time {} ({:.1f} s: {:.1f} s stepping, {:.1f} s evaluating); {:.2f} "
                           "steps/s, {:.1f} examples/s\n",
                           training::formatDuration(trainSeconds), trainSeconds,
                           trainSeconds - evalSeconds, evalSeconds,
                           ran / std::max(1e-9, trainSeconds - evalSeconds),
                           examples / std::max(1e-9, trainSeconds - evalSeconds));
  std::cout << "  curve:\n";
  std::cout << fmt::format("    {:>7} {:>8} {:>10} {:>9} {:>9} {:>9}\n", "step", "time",
                           "train-loss", "train-acc", "held-loss", "held-acc");
  for (const CurvePoint& c : curve)
    std::cout << fmt::format(
        "    {:>7} {:>8} {:>10} {:>9} {:>9.4f} {:>9}\n", c.step,
        training::formatDuration(c.seconds),
        c.trainLoss ? fmt::format("{:.4f}", *c.trainLoss) : "-", percent(c.trainAccuracy),
        c.heldout.loss,
        percent(c.heldout.examples ? std::optional(c.heldout.accuracy) : std::nullopt));
  std::cout << fmt::format("  train accuracy    {} ({} examples)\n", percent(trainAcc->accuracy),
                           trainAcc->examples);
  const EvalResult& last = curve.back().heldout;
  std::cout << fmt::format("  held-out accuracy {} ({} examples)",
                           last.examples ? percent(last.accuracy) : "-", last.examples);
  for (const auto& [op, counts] : last.byOperator)
    std::cout << fmt::format(
        "{} {} {}", op == last.byOperator.begin()->first ? ": by root" : ",", op,
        percent(static_cast<double>(counts.first) / static_cast<double>(counts.second)));
  std::cout << "\n";
  if (longer)
    std::cout << fmt::format(
        "  longer/deeper     {} ({} examples: depth <= {}, {}-{} tokens)\n",
        percent(longer->accuracy), longer->examples, longerConfig(o.corpus.listops).maxDepth,
        longerConfig(o.corpus.listops).minLength, longerConfig(o.corpus.listops).maxLength);
  if (!o.checkpoint.empty()) std::cout << fmt::format("  checkpoint        {}\n", o.checkpoint);
  if (o.profile) printStepProfile(runner, p.step.function->name);
  return 0;
}

} // namespace cairn::train_tool
