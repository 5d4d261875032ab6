// cairn-train: trains SPINN with reverse-mode autodiff and one compiled
// @train_step per step (forward, backward, clipping, schedule and optimizer
// update in one function), run by the compiled CPU executor (or, with
// --backend interpreter, by the reference interpreter).
//
//   cairn-train                                   # built-in ListOps: 4000 steps (at most 15 minutes)
//   cairn-train --steps 3 --eval-every 1          # a smoke run
//   cairn-train --data train.tsv --format listops --eval-data dev.tsv --epochs 2
//   cairn-train --data snli_1.0_train.jsonl.gz --format snli --max-examples 5000
//   cairn-train --checkpoint run.safetensors ...  # then --resume to continue
//
// ListOps and SST train the tree classifier (10 / 5 classes), SNLI the pair
// classifier (3 classes). Without --data the examples come from our ListOps
// generator (seeded), the held-out set from the same generator with another
// seed (examples also in training dropped), and a third set of longer,
// deeper lists measures generalization beyond the training lengths.
#include <iostream>

#include <CLI/CLI.hpp>

#include "Trainer.h"
#include "compiler/codegen/cpu/Jit.h"
#include "runtime/RunLimits.h"
#include "tools/ToolMain.h"

using namespace cairn;
using namespace cairn::train_tool;

static int runTool(int argc, char** argv) {
  CLI::App app{"Train SPINN with Cairn: autodiff, one compiled @train_step per step"};
  TrainOptions o;
  // Defaults: sized so the built-in ListOps job reaches its accuracy within
  // the default time limit on two cores (docs/training.md has the curve).
  SpinnConfig& model = o.config.model;
  model.embed = 32;
  model.hidden = 32;
  model.trackerSize = 16;
  model.mlpHidden = 64;
  model.mlpLayers = 1;
  o.corpus.generated = 20000;
  o.corpus.listops.maxDepth = 3;
  o.corpus.listops.maxArgs = 3;
  o.corpus.listops.maxLength = 20;
  o.corpus.listops.minLength = 4;
  o.corpus.maxTokens = 10000;
  o.steps = 4000; // the end of the cosine schedule
  o.timeLimit = 900;
  // The executor when this host can JIT; the interpreter gives the same
  // numbers (tests check it), slower.
  o.backend = codegen::cpu::cpuJitAvailable() ? "compiled" : "interpreter";
  o.evalEvery = 200;
  o.config.clip = 5.0;
  o.config.lr = 1e-2; // cosine to 1e-3 over the 4000 steps

  std::string format = "listops", schedule = "cosine";
  int64_t warmup = 0;
  double gamma = 0.5, clip = *o.config.clip, minLr = 1e-3;
  int64_t decaySteps = 4000;
  size_t maxExamples = 0;
  app.add_option("--data", o.corpus.path,
                 "Training examples (.jsonl[.gz] SNLI, label<TAB>parse ListOps, PTB-tree SST); "
                 "default: generated ListOps");
  app.add_option("--format", format, "snli | listops | sst")->capture_default_str();
  app.add_option("--eval-data", o.evalData,
                 "Held-out examples (same format); default: generated, or the last 10% of --data");
  app.add_option("--max-examples", maxExamples,
                 "Use the first N training examples (generated ListOps: generate N; default "
                 "20000)");
  app.add_option("--eval-examples", o.evalExamples, "Held-out examples evaluated")
      ->capture_default_str();
  app.add_option("--steps", o.steps, "Stop after this many steps in all (0 = no bound)")
      ->capture_default_str();
  app.add_option("--epochs", o.epochs, "Stop after this many epochs (0 = no bound)")
      ->capture_default_str();
  app.add_option("--time-limit", o.timeLimit, "Stop after this many seconds (0 = no bound)")
      ->capture_default_str();
  app.add_option("--batch", o.batch, "Examples per step")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--embed", model.embed, "Embedding size")->capture_default_str();
  app.add_option("--hidden", model.hidden, "Hidden size")->capture_default_str();
  app.add_option("--tracker", model.trackerSize, "Tracker size (0 = no tracker)")
      ->capture_default_str();
  app.add_option("--mlp-hidden", model.mlpHidden, "Classifier hidden size")->capture_default_str();
  app.add_option("--mlp-layers", model.mlpLayers, "Classifier hidden layers")
      ->capture_default_str();
  app.add_flag("--sample", o.config.sample,
               "With --predict: sample the moves while training and add REINFORCE's "
               "policy-gradient term (moving-average baseline) to the loss");
  app.add_flag("--predict", model.predictTransitions,
               "Predict transitions (the tracker's argmax; the data's are the target)");
  app.add_option("--optimizer", o.config.optimizer, "adam | adamw | sgd | rmsprop")
      ->capture_default_str();
  app.add_option("--lr", o.config.lr, "Learning rate")->capture_default_str();
  app.add_option("--momentum", o.config.momentum, "SGD / RMSprop momentum")->capture_default_str();
  app.add_option("--weight-decay", o.config.weightDecay, "Weight decay")->capture_default_str();
  app.add_option("--clip", clip, "Clip gradients to this global norm (0 = off)")
      ->capture_default_str();
  app.add_option("--schedule", schedule, "constant | cosine | step | exponential")
      ->capture_default_str();
  app.add_option("--warmup", warmup, "Linear warmup steps")->capture_default_str();
  app.add_option("--decay-steps", decaySteps,
                 "cosine: steps to --min-lr (then constant); step: steps per decay")
      ->capture_default_str();
  app.add_option("--gamma", gamma, "step / exponential decay factor")->capture_default_str();
  app.add_option("--min-lr", minLr, "cosine: final learning rate")->capture_default_str();
  app.add_option("--eval-every", o.evalEvery,
                 "Evaluate (and checkpoint) every N steps (0 = at "
                 "the end only)")
      ->capture_default_str();
  app.add_option("--checkpoint", o.checkpoint,
                 "Save parameters and optimizer state here (safetensors) at each evaluation");
  app.add_flag("--resume", o.resume, "Continue from --checkpoint");
  app.add_option("--backend", o.backend,
                 "interpreter (the reference interpreter), compiled (the CPU executor) or cuda "
                 "(the CUDA backend: the GPU, or the emulated device where there is none)")
      ->capture_default_str();
  app.add_option("--seed", o.seed, "Seed of weights, batch order and generated data")
      ->capture_default_str();
  app.add_option("--max-tokens", o.corpus.maxTokens,
                 "Drop examples longer than this many tokens, with a warning (0: no bound)")
      ->capture_default_str();
  int64_t maxMemoryMb = physicalMemoryBytes() / 4 * 3 >> 20;
  app.add_option("--max-memory-mb", maxMemoryMb,
                 "Fail a step (naming the value) whose values would hold more than this many MiB "
                 "(default: 3/4 of physical memory; 0: no cap)")
      ->capture_default_str();
  app.add_option("--listops-depth", o.corpus.listops.maxDepth, "Generated ListOps: nesting depth")
      ->capture_default_str();
  app.add_option("--listops-args", o.corpus.listops.maxArgs,
                 "Generated ListOps: arguments per list")
      ->capture_default_str();
  app.add_option("--listops-length", o.corpus.listops.maxLength,
                 "Generated ListOps: tokens per example")
      ->capture_default_str();
  app.add_option("--write-data", o.writeData,
                 "Generated ListOps: write the training, held-out and longer/deeper sets to "
                 "PREFIX.{train,heldout,longer}.tsv and stop");
  app.add_flag("--profile", o.profile,
               "Compiled backend: print the training step's time by instruction kind at the end");
  std::string listopsPreset = "small";
  app.add_option("--listops-preset", listopsPreset,
                 "Generated ListOps: small (the default job's: depth <= 3, <= 3 arguments, "
                 "4-20 tokens) | paper (the ListOps paper's distribution: depth <= 20, 2-5 "
                 "arguments, a digit with probability 0.75 at each argument, <= 1000 tokens); "
                 "--listops-depth/-args/-length given as well override it")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  auto error = [](const std::string& m) {
    std::cerr << "cairn-train: error: " << m << "\n";
    return 1;
  };
  if (maxMemoryMb < 0) return error("--max-memory-mb must be >= 0");
  o.maxBytes = maxMemoryMb << 20;
  if (listopsPreset == "paper") {
    data::ListOpsConfig& l = o.corpus.listops;
    data::ListOpsConfig given = l;
    l = data::listOpsPaperConfig();
    if (app.count("--listops-depth")) l.maxDepth = given.maxDepth;
    if (app.count("--listops-args")) l.maxArgs = given.maxArgs;
    if (app.count("--listops-length")) l.maxLength = given.maxLength;
  } else if (listopsPreset != "small") {
    return error(
        fmt::format("--listops-preset: unknown preset '{}' (small, paper)", listopsPreset));
  }
  auto fmtFormat = data::parseFormat(format);
  if (!fmtFormat.isOk()) return error(fmtFormat.status().message());
  o.config.format = *fmtFormat;
  o.config.classes = o.config.format == data::Format::Snli  ? 3
                     : o.config.format == data::Format::Sst ? 5
                                                            : 10;
  o.corpus.format = o.config.format;
  o.corpus.seed = o.seed;
  if (maxExamples) {
    if (o.corpus.path.empty())
      o.corpus.generated = maxExamples;
    else
      o.corpus.limit = maxExamples;
  }
  o.config.clip = clip > 0 ? std::optional(clip) : std::nullopt;
  if (o.config.sample && !model.predictTransitions)
    return error("--sample needs --predict (it samples the predicted transitions)");
  if (model.predictTransitions && model.trackerSize <= 0)
    return error("--predict needs the tracker (--tracker > 0)");
  if (o.resume && o.checkpoint.empty()) return error("--resume needs --checkpoint");
  if (o.steps < 0 || o.epochs < 0 || o.evalEvery < 0 || o.timeLimit < 0)
    return error("--steps, --epochs, --eval-every and --time-limit must not be negative");
  if (o.corpus.path.empty() && o.config.format != data::Format::ListOps)
    return error(fmt::format("--format {} needs --data", format));
  if (!o.writeData.empty() && !o.corpus.path.empty())
    return error("--write-data writes generated ListOps: leave out --data");

  training::LrSchedule& s = o.config.schedule;
  try {
    if (schedule == "constant") {
      s = training::LrSchedule::constant(o.config.lr, warmup);
    } else if (schedule == "cosine") {
      s = training::LrSchedule::cosine(o.config.lr, decaySteps, warmup, minLr);
    } else if (schedule == "step") {
      s = training::LrSchedule::stepDecay(o.config.lr, decaySteps, gamma, warmup);
    } else if (schedule == "exponential") {
      s = training::LrSchedule::exponential(o.config.lr, gamma, warmup);
    } else {
      return error(fmt::format("--schedule: unknown schedule '{}' (constant, cosine, step, "
                               "exponential)",
                               schedule));
    }
    s.validate();
  } catch (const BuildError& e) {
    return error(fmt::format("--schedule {}: {}", schedule, e.what()));
  }
  return runTraining(o);
}

int main(int argc, char** argv) {
  return cairn::toolMain("cairn-train", [&] { return runTool(argc, argv); });
}
