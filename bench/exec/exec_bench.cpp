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
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "compiler/codegen/cpu/CompileExecutable.h"
#include "frontend/models/BiRnn.h"
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
  std::string dataDir;
};

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
  o.inPlace = inPlace;
  codegen::cpu::CompileReport r;
  auto t0 = std::chrono::steady_clock::now();
  auto exe = check(codegen::cpu::compileExecutable(m, o, &r));
  fmt::print("  compiled in {:.0f} ms (passes {:.0f}, lowering + static kernels {:.0f}): {} static "
             "kernels, {} dynamic, {} GEMMs, {} row ops ({} in place), {} fallbacks\n",
             msSince(t0), r.passesMs, r.lowerMs, r.kernelsStatic, r.kernelsDynamic, r.gemms,
             r.rows, r.inPlace, r.fallbacks);
  return exe;
}

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

void benchBiRnn(const Options& o, BiRnnConfig::Cell cell) {
  const char* name = cell == BiRnnConfig::Lstm ? "BiLSTM" : "BiGRU";
  BiRnnConfig cfg;
  cfg.cell = cell;
  cfg.vocab = 20000;
  cfg.embed = o.hidden;
  cfg.hidden = o.hidden;
  cfg.classes = 3;
  Module m;
  ParamStore ps;
  Function* f = buildBiRnnClassifier(m, ps, cfg);
  std::vector<Tensor> params = ps.initialize(1);
  fmt::print("{} classifier, embed = hidden = {}, length 25\n", name, o.hidden);
  auto exe = compile(m);
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
  }
}

} // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"cairn-exec-bench: compiled executor vs reference interpreter"};
  app.add_option("--only", o.only, "spinn, capacity, birnn (default: all)");
  app.add_option("--hidden", o.hidden, "hidden (= embed) size")->capture_default_str();
  app.add_option("--batch", o.batch, "SPINN batch size")->capture_default_str();
  app.add_option("--batches", o.batches, "SPINN batches to time")->capture_default_str();
  app.add_option("--reps", o.reps, "runs per timing (median)")->capture_default_str();
  app.add_flag("!--no-interpreter", o.interpreter, "skip the interpreter timings");
  app.add_option("--data", o.dataDir, "data directory (default: ../shared/data)");
  CLI11_PARSE(app, argc, argv);
  if (o.dataDir.empty()) o.dataDir = golden::defaultDataDir(CAIRN_SOURCE_DIR);
  fmt::print("BLAS: {}\n", exec::blasDescription());
  if (o.only.empty() || o.only == "spinn") benchSpinn(o);
  if (o.only.empty() || o.only == "capacity") benchCapacity(o);
  if (o.only.empty() || o.only == "birnn") {
    benchBiRnn(o, BiRnnConfig::Lstm);
    benchBiRnn(o, BiRnnConfig::Gru);
  }
  return 0;
}
