// exec_bench: the compiled executor against the reference interpreter on
// the models, and the SPINN stack-capacity test.
//
//   build/bin/cairn-exec-bench                 # everything, defaults below
//   build/bin/cairn-exec-bench --only spinn --hidden 300 --batches 10
//
// SPINN: SNLI dev pairs bucketed by length into batches of --batch (the
// golden timing cases, tests/golden/GoldenCases.h, at --hidden), compiled
// once and run on --batches batches; the interpreter runs the first batch.
// BiLSTM/BiGRU classifiers: synthetic tokens (vocab 20000, length 25, random
// lengths), batch 128 and 1. Capacity: one SPINN batch with its tokens padded
// to width N, 2N, 4N, 8N (the stack is [2B, N, 2H]), same transitions; time per
// transition inside the loop (ExecStats::loopNanos / outer iterations), with
// in-place updates on and off, and the executor's peak bytes.
// Times are medians of --reps runs (after one warm-up run that compiles the
// dynamic kernels), in milliseconds, wall clock.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "compiler/autodiff/Autodiff.h"
#include "compiler/codegen/cpu/CompileExecutable.h"
#include "frontend/layers/Layers.h"
#include "frontend/models/Spinn.h"
#include "frontend/training/TrainStep.h"
#include "bench/BenchStep.h"
#include "frontend/models/BiRnn.h"
#include "ir/Printer.h"
#include "runtime/exec/Blas.h"
#include "runtime/exec/Gemm.h"
#include "runtime/reference/Interpreter.h"
#include "tests/golden/GoldenCases.h"

using namespace cairn;

namespace {

struct Options {
  std::string only;
  int64_t hidden = 300;
  size_t batch = 128;
  size_t batches = 5;
  int reps = 5;
  bool interpreter = true;
  bool profile = false;
  bool parallel = true;
  bool compactRows = false; ///< BiRnnConfig::compactRows
  bool printPrograms = false;
  bool rnnOp = false;       ///< BiRnnConfig::useRnnOp
  std::string dataDir;
};

bool gParallelLoops = true; // --no-parallel

double msSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

template <typename F> double medianMs(int reps, F&& f) {
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(msSince(t0));
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

void check(const Status& s) {
  if (!s.isOk()) {
    std::cerr << s.message() << "\n";
    std::exit(1);
  }
}
template <typename T> T check(StatusOr<T> v) {
  check(v.status());
  return std::move(v).value();
}

std::vector<Tensor> argsOf(const std::vector<Tensor>& inputs, const std::vector<Tensor>& params) {
  std::vector<Tensor> a = inputs;
  a.insert(a.end(), params.begin(), params.end());
  return a;
}

std::unique_ptr<exec::Executable> compile(const Module& m, bool inPlace = true) {
  codegen::cpu::CompileOptions o;
  o.lower.inPlace = inPlace;
  o.lower.parallelLoops = gParallelLoops;
  o.floatRewrites = FloatRewrites::Reassociate; // as the peers' compilers may
  codegen::cpu::CompileReport r;
  auto t0 = std::chrono::steady_clock::now();
  auto exe = check(codegen::cpu::compileExecutable(m, o, &r));
  fmt::print("  compiled in {:.0f} ms (passes {:.0f}, lowering {:.0f}, LLVM {:.0f} for {} distinct "
             "kernels): kernel instructions {} static + {} dynamic, {} GEMMs, {} row ops ({} in "
             "place), {} fallbacks, {} parallel loop pairs\n",
             msSince(t0), r.passesMs, r.lowerMs, r.jitMs, r.kernels, r.kernelsStatic,
             r.kernelsDynamic, r.gemms, r.rows, r.inPlace, r.fallbacks, r.parallel);
  return exe;
}

void printProfile(const exec::Executable& exe, const std::string& fn,
                  const std::vector<Tensor>& args);

void benchSpinn(const Options& o) {
  fmt::print("SPINN (PI, tracker) on SNLI dev, batch {}, hidden {}\n", o.batch, o.hidden);
  auto cases = check(golden::makeTimingCases(o.dataDir, o.batch, o.batches, o.hidden));
  const golden::GoldenCase& c0 = cases.at(0);
  auto exe = compile(*c0.module);
  exec::ExecutionContext ctx;
  double total = 0;
  for (const auto& c : cases) {
    auto args = argsOf(c.inputs, c.paramValues);
    check(exe->run(c0.function->name, args, ctx).status()); // warm-up: specializes kernels
    double ms = medianMs(o.reps, [&] { check(exe->run(c0.function->name, args, ctx).status()); });
    total += ms;
    fmt::print("  {} tokens {}: compiled {:.1f} ms\n", c.name, c.inputs[0].type().toString(), ms);
    if (o.profile && &c == &cases.front()) printProfile(*exe, c0.function->name, args);
  }
  fmt::print("  compiled mean {:.1f} ms/batch = {:.0f} pairs/s\n", total / cases.size(),
             1000.0 * o.batch * cases.size() / total);
  if (o.interpreter) {
    auto args = argsOf(c0.inputs, c0.paramValues);
    double ms = medianMs(1, [&] { check(interpret(*c0.function, args).status()); });
    fmt::print("  interpreter {}: {:.1f} ms (compiled is {:.0f}x faster)\n", c0.name, ms,
               ms / (total / cases.size()));
  }
}

/// The tokens [2, B, N] of `t` padded with 0 to width `width`.
Tensor padTokens(const Tensor& t, int64_t width) {
  Shape s = t.shape();
  Tensor out(TensorType(t.dtype(), {s[0], s[1], width}));
  for (int64_t a = 0; a < s[0] * s[1]; ++a)
    for (int64_t k = 0; k < s[2]; ++k)
      out.setInt(a * width + k, t.getInt(a * s[2] + k));
  return out;
}

void benchCapacity(const Options& o) {
  fmt::print("SPINN stack capacity: time per transition at stack width N and 2N (batch {}, "
             "hidden {})\n",
             o.batch, o.hidden);
  auto cases = check(golden::makeTimingCases(o.dataDir, o.batch, 1, o.hidden));
  const golden::GoldenCase& c = cases.at(0);
  int64_t n = c.inputs[0].shape()[2];
  for (bool inPlace : {true, false}) {
    auto exe = compile(*c.module, inPlace);
    for (int64_t width : {n, 2 * n, 4 * n, 8 * n}) {
      std::vector<Tensor> inputs = c.inputs;
      inputs[0] = padTokens(c.inputs[0], width);
      auto args = argsOf(inputs, c.paramValues);
      exec::ExecutionContext ctx;
      check(exe->run(c.function->name, args, ctx).status());
      ctx.resetStats();
      std::vector<double> perStep;
      for (int r = 0; r < o.reps; ++r) {
        exec::ExecStats before = ctx.stats();
        check(exe->run(c.function->name, args, ctx).status());
        perStep.push_back(double(ctx.stats().loopNanos - before.loopNanos) / 1e3 /
                          double(ctx.stats().outerLoopIterations - before.outerLoopIterations));
      }
      std::sort(perStep.begin(), perStep.end());
      const exec::ExecStats& s = ctx.stats();
      fmt::print("  in place {:3}: width {:3} (stack {:.1f} MB): {:.1f} us/transition (min {:.1f}), "
                 "peak {:.1f} MB, copies/run {}, copied {:.1f} MB/run, in-place updates/run {}\n",
                 inPlace ? "on" : "off", width,
                 2.0 * o.batch * width * 2 * o.hidden * 4 / 1e6, perStep[perStep.size() / 2],
                 perStep.front(),
                 s.peakBytes / 1e6, s.copies / o.reps, s.copiedBytes / 1e6 / o.reps,
                 s.inPlaceUpdates / o.reps);
    }
  }
}

/// The BiRNN benchmarks' classifier: vocab 20000, embed = hidden = --hidden,
/// 3 classes.
BiRnnConfig biRnnConfig(const Options& o, BiRnnConfig::Cell cell) {
  BiRnnConfig cfg;
  cfg.cell = cell;
  cfg.vocab = 20000;
  cfg.embed = o.hidden;
  cfg.hidden = o.hidden;
  cfg.classes = 3;
  cfg.compactRows = o.compactRows;
  cfg.useRnnOp = o.rnnOp;
  return cfg;
}

void benchBiRnn(const Options& o, BiRnnConfig::Cell cell) {
  const char* name = cell == BiRnnConfig::Lstm ? "BiLSTM" : "BiGRU";
  BiRnnConfig cfg = biRnnConfig(o, cell);
  Module m;
  ParamStore ps;
  Function* f = buildBiRnnClassifier(m, ps, cfg);
  std::vector<Tensor> params = ps.initialize(1);
  fmt::print("{} classifier, embed = hidden = {}, length 25\n", name, o.hidden);
  auto exe = compile(m);
  if (o.printPrograms) fmt::print("{}\n", exe->describe());
  for (int64_t batch : {int64_t{128}, int64_t{1}}) {
    const int64_t len = 25;
    Tensor tokens(TensorType(DType::I32, {batch, len}));
    Tensor lengths(TensorType(DType::I32, {batch}));
    uint64_t s = 12345;
    auto next = [&] { return (s = s * 6364136223846793005ULL + 1442695040888963407ULL) >> 33; };
    for (int64_t i = 0; i < tokens.numElements(); ++i)
      tokens.setInt(i, static_cast<int64_t>(next() % cfg.vocab));
    for (int64_t b = 0; b < batch; ++b)
      lengths.setInt(b, b == 0 ? len : 5 + static_cast<int64_t>(next() % (len - 4)));
    auto args = argsOf({tokens, lengths}, params);
    exec::ExecutionContext ctx;
    check(exe->run(f->name, args, ctx).status());
    double ms = medianMs(o.reps, [&] { check(exe->run(f->name, args, ctx).status()); });
    std::string interp = "";
    if (o.interpreter) {
      double ims = medianMs(1, [&] { check(interpret(*f, args).status()); });
      interp = fmt::format(", interpreter {:.1f} ms ({:.0f}x)", ims, ims / ms);
    }
    fmt::print("  batch {:3}: compiled {:.2f} ms{}\n", batch, ms, interp);
    if (o.profile) printProfile(*exe, f->name, args);
  }
}

/// A training step (gradient, clipping at 5, Adam at 1e-3) of `loss` built
/// into `m`; `batchFirst` batch inputs precede the parameters, `batchLast`
/// follow them.
training::TrainStep buildStep(Module& m, const ParamStore& ps, const Function& loss,
                              size_t batchFirst, size_t batchLast, double* buildMs) {
  auto t0 = std::chrono::steady_clock::now();
  training::TrainStep step = check(bench::buildAdamClipStep(m, ps, loss, batchFirst, batchLast));
  *buildMs = msSince(t0);
  return step;
}

/// One run of `fn` with ExecOptions::profile (after a warm-up run on the same
/// context), printed by total time.
void printProfile(const exec::Executable& exe, const std::string& fn,
                  const std::vector<Tensor>& args) {
  exec::ExecutionContext ctx;
  check(exe.run(fn, args, ctx).status()); // warm the context's buffer pool
  ctx.resetStats();
  exec::ExecOptions eo;
  eo.profile = true;
  auto t0 = std::chrono::steady_clock::now();
  check(exe.run(fn, args, ctx, eo).status());
  double total = msSince(t0);
  const exec::ExecStats& st = ctx.stats();
  fmt::print("    {} copies ({:.1f} MB), {} in-place updates, peak {:.1f} MB\n", st.copies,
             st.copiedBytes / 1e6, st.inPlaceUpdates, st.peakBytes / 1e6);
  std::vector<std::pair<std::string, exec::InstProfile>> rows(ctx.stats().profile.begin(),
                                                               ctx.stats().profile.end());
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.second.nanos > b.second.nanos; });
  fmt::print("    profile of one run ({:.1f} ms):\n", total);
  for (size_t i = 0, shown = 0; i < rows.size() && shown < 16; ++i) {
    if (rows[i].first.rfind("copy", 0) == 0) continue;
    fmt::print("      {:>8.2f} ms {:5.1f}% {:>7} calls  {}\n", rows[i].second.nanos / 1e6,
               100 * rows[i].second.nanos / 1e6 / total, rows[i].second.calls, rows[i].first);
    ++shown;
  }
  for (size_t i = 0, shown = 0; i < rows.size() && shown < 8; ++i) {
    if (rows[i].first.rfind("copy", 0) != 0) continue;
    fmt::print("      {:>8.1f} MB {:>7} copies {}\n", rows[i].second.nanos / 1e6,
               rows[i].second.calls, rows[i].first);
    ++shown;
  }
}

/// Times `step` compiled (the compile, then the first run and the median
/// run) and interpreted.
void timeStep(const Options& o, const Module& m, const training::TrainStep& step,
              const ParamStore& ps, const std::vector<Tensor>& batch, double buildMs) {
  std::vector<Tensor> args = ps.initialize(1);
  for (const Tensor& t : training::initialState(step.state))
    args.push_back(t);
  args.insert(args.end(), batch.begin(), batch.end());
  auto t0 = std::chrono::steady_clock::now();
  auto exe = compile(m);
  double compileMs = msSince(t0);
  exec::ExecutionContext ctx;
  auto t1 = std::chrono::steady_clock::now();
  check(exe->run(step.function->name, args, ctx).status());
  double firstMs = msSince(t1);
  double ms = medianMs(o.reps, [&] { check(exe->run(step.function->name, args, ctx).status()); });
  fmt::print("  IR -> runnable: gradient + train_step built in {:.0f} ms, compiled in {:.0f} ms "
             "(IR to runnable: {:.0f} ms); first step {:.1f} ms, then {:.1f} ms/step",
             buildMs, compileMs, buildMs + compileMs, firstMs, ms);
  if (o.profile) {
    fmt::print("\n");
    printProfile(*exe, step.function->name, args);
  }
  if (const char* dump = std::getenv("CAIRN_BENCH_DUMP_DIR")) { // the compiled IR and program
    std::ofstream(fmt::format("{}/{}.cairn", dump, step.function->name + std::to_string(buildMs)))
        << printModule(exe->module()) << "\n// program\n" << exe->describe();
  }
  if (o.interpreter) {
    double ims = medianMs(1, [&] { check(interpret(*step.function, args).status()); });
    fmt::print(", interpreter {:.1f} ms ({:.0f}x)", ims, ims / ms);
  }
  fmt::print("\n");
}

void benchTrainSpinn(const Options& o) {
  fmt::print("SPINN training step (PI, tracker, SNLI loss, Adam, clip 5) on SNLI dev, batch {}, "
             "hidden {}\n",
             o.batch, o.hidden);
  auto cases = check(golden::makeTimingCases(o.dataDir, o.batch, 1, o.hidden));
  const golden::GoldenCase& c0 = cases.at(0);
  SpinnConfig cfg = golden::timingSpinnConfig(c0);
  Module m;
  ParamStore ps;
  Function* loss = buildSpinnSnliLoss(m, ps, cfg);
  std::vector<Tensor> batch(c0.inputs.begin(), c0.inputs.begin() + 3); // tokens, transitions, lengths
  int64_t pairs = c0.inputs[2].shape()[1];
  Tensor labels(TensorType(DType::I32, {pairs}));
  for (int64_t i = 0; i < pairs; ++i)
    labels.setInt(i, i % 3);
  batch.push_back(labels);
  double buildMs = 0;
  training::TrainStep step = buildStep(m, ps, *loss, 4, 0, &buildMs);
  timeStep(o, m, step, ps, batch, buildMs);
}

void benchTrainBiRnn(const Options& o, BiRnnConfig::Cell cell) {
  BiRnnConfig cfg = biRnnConfig(o, cell);
  Module m;
  ParamStore ps;
  Function* logits = buildBiRnnClassifier(m, ps, cfg);
  std::vector<TensorType> types = logits->argumentTypes();
  types.push_back(TensorType(DType::I32, {kDynamic}));
  FunctionBuilder fb(m, "loss", types);
  ValueList args;
  for (size_t i = 0; i + 1 < types.size(); ++i)
    args.push_back(fb.arg(i));
  Function* loss = fb.ret({crossEntropy(fb.call(*logits, args)[0], fb.arg(types.size() - 1))});
  fmt::print("{} training step (CE, Adam, clip 5), embed = hidden = {}, length 25, batch 64\n",
             cell == BiRnnConfig::Lstm ? "BiLSTM" : "BiGRU", o.hidden);
  const int64_t batchSize = 64, len = 25;
  Tensor tokens(TensorType(DType::I32, {batchSize, len}));
  Tensor lengths(TensorType(DType::I32, {batchSize}));
  Tensor labels(TensorType(DType::I32, {batchSize}));
  for (int64_t i = 0; i < tokens.numElements(); ++i)
    tokens.setInt(i, (i * 7919) % cfg.vocab);
  for (int64_t b = 0; b < batchSize; ++b) {
    lengths.setInt(b, b == 0 ? len : 5 + (b * 13) % (len - 4));
    labels.setInt(b, b % 3);
  }
  double buildMs = 0;
  training::TrainStep step = buildStep(m, ps, *loss, 2, 1, &buildMs);
  timeStep(o, m, step, ps, {tokens, lengths, labels}, buildMs);
}

} // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"cairn-exec-bench: compiled executor vs reference interpreter"};
  app.add_option("--only", o.only, "spinn, capacity, birnn, train (default: all)");
  app.add_option("--hidden", o.hidden, "hidden (= embed) size")->capture_default_str();
  app.add_option("--batch", o.batch, "SPINN batch size")->capture_default_str();
  app.add_option("--batches", o.batches, "SPINN batches to time")->capture_default_str();
  app.add_option("--reps", o.reps, "runs per timing (median)")->capture_default_str();
  app.add_flag("!--no-interpreter", o.interpreter, "skip the interpreter timings");
  app.add_flag("!--no-parallel", o.parallel, "run independent loops one after the other");
  app.add_flag("--profile", o.profile, "after each timing, one profiled run: time by instruction kind and op");
  app.add_flag("--compact-rows", o.compactRows,
               "BiRNNs: each step on the live rows only (BiRnnConfig::compactRows)");
  app.add_flag("--print-programs", o.printPrograms,
               "BiRNNs: print the executor's programs (instructions by loop) after compiling");
  app.add_flag("--rnn-op", o.rnnOp, "build the BiRNNs with `rnn` ops (expanded by the pipeline)");
  app.add_option("--data", o.dataDir, "data directory (default: ../shared/data)");
  CLI11_PARSE(app, argc, argv);
  gParallelLoops = o.parallel;
  if (o.dataDir.empty()) o.dataDir = golden::defaultDataDir(CAIRN_SOURCE_DIR);
  fmt::print("BLAS: {}\n", exec::blasDescription());
  if (!exec::blasKernels().warning.empty())
    fmt::print("warning: {}\n", exec::blasKernels().warning);
  if (o.only.empty() || o.only == "spinn") benchSpinn(o);
  if (o.only.empty() || o.only == "capacity") benchCapacity(o);
  if (o.only.empty() || o.only == "birnn") {
    benchBiRnn(o, BiRnnConfig::Lstm);
    benchBiRnn(o, BiRnnConfig::Gru);
  }
  if (o.only.empty() || o.only == "train") {
    benchTrainSpinn(o);
    benchTrainBiRnn(o, BiRnnConfig::Lstm);
    benchTrainBiRnn(o, BiRnnConfig::Gru);
  }
  return 0;
}
