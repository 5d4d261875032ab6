// cairn-peer-bench: Cairn's side of the peers benchmark (bench/peers/bench.py,
// README.md there). It builds each workload's model with Cairn's frontend
// exactly as the exported case describes it, so PyTorch and JAX run the same
// shapes, data and parameters; and it serves compiled runs on request so the
// driver can interleave Cairn with the peers one repetition at a time.
//
//   cairn-peer-bench list
//   cairn-peer-bench export --workload NAME --out DIR [--run]
//       DIR/{config.json, inputs/, params/} (bench/reference/common.py reads
//       them); --run adds outputs/cairn_<i>.npy from the compiled executor
//   cairn-peer-bench serve --workload NAME --mode forward|train [--export DIR]
//                          [--threads N] [--backend cpu|cuda] [--no-loop-graphs]
//       prints one JSON line (compile times), then answers commands on stdin,
//       one JSON line each:
//         run K      K runs: {"ms": [K wall times], "gemm_flops": per run, ...}
//         save DIR   one run, its results written
//                    to DIR/cairn_<i>.npy (train: DIR/cairn_loss.npy,
//                    DIR/cairn_grad_norm.npy)
//         profile    the fastest of 3 runs with ExecOptions::profile: time by
//                    instruction kind
//         quit
//   cairn-peer-bench peak [--threads N] [--reps R] [--backend cpu|cuda]
//       sgemm GFLOP/s through the executor's GEMM (exec::runGemm, OpenBLAS)
//       at the SPINN shapes and two BiRNN shapes; --backend cuda: through
//       Device::gemm (cuBLAS on a GPU, OpenBLAS on the emulated device)
//
// --backend cuda compiles with codegen::cuda::compileForDevice for the device
// device::openDevice(Auto) picks (the GPU, else the emulated device;
// CAIRN_DEVICE=gpu|emulated forces one; the ready line names it) and runs
// DeviceExecutable::runOnDevice on one DeviceContext reused across runs: the
// inputs (parameters, optimizer state, the batch) are uploaded once as
// DeviceTensors and stay there, as the peers keep theirs; a timed run
// downloads its first result (the loss or the logits), which synchronizes
// it (`run` reports the bytes each way); `save` runs from host tensors. --no-loop-graphs sets DeviceRunOptions::loopGraphs = false
// (every loop host-synchronized, as XLA runs them). SPINN is compiled with
// the pairs merged into one loop on the device (splitPairs only pays where
// two CPU cores run the two loops; on one stream they would run one after
// the other); the BiRNNs with `rnn` ops (each layer direction one cuDNN
// call on a GPU). `profile` on the device has no per-instruction times: it
// reports the fastest of 3 runs and what one run did (DeviceStats).
//
// Train mode is the training step of bench/exec/exec_bench.cpp (mean
// cross-entropy against labels b % classes, gradient, clipping by global norm
// 5, Adam lr 1e-3). Every run is the first step from the exported parameters
// and a fresh optimizer state (as exec_bench times it, and as bench.py times
// the peers), so every repetition does the same work: carried forward, the
// steps drift (with these parameters the gradients hold denormal floats, and
// how many changes from step to step). Times are wall clock around
// Executable::run, in milliseconds; the compile is timed after one throwaway
// compile of a tiny module, so LLVM's one-time start-up is not charged to it.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>

#include <xmmintrin.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench/BenchStep.h"
#include "compiler/autodiff/Autodiff.h"
#include "compiler/codegen/cpu/CompileExecutable.h"
#include "compiler/codegen/cuda/CompileForDevice.h"
#include "frontend/layers/Layers.h"
#include "frontend/models/BiRnn.h"
#include "frontend/models/Spinn.h"
#include "frontend/models/TreeLstmSentiment.h"
#include "frontend/training/TrainStep.h"
#include "runtime/Npy.h"
#include "runtime/device/DeviceExecutable.h"
#include "runtime/device/OpenDevice.h"
#include "runtime/exec/Blas.h"
#include "runtime/exec/Gemm.h"
#include "tests/golden/GoldenCases.h"

using namespace cairn;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

[[noreturn]] void die(const std::string& message) {
  std::cerr << "cairn-peer-bench: error: " << message << "\n";
  std::exit(1);
}
void check(const Status& s) {
  if (!s.isOk()) die(s.message());
}
template <typename T> T check(StatusOr<T> v) {
  check(v.status());
  return std::move(v).value();
}

double msSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

using Cases = StatusOr<std::vector<golden::GoldenCase>>;

Cases one(StatusOr<golden::GoldenCase> c) {
  if (!c.isOk()) return c.status();
  std::vector<golden::GoldenCase> v;
  v.push_back(std::move(c).value());
  return v;
}

/// A benchmark workload: a model on one batch, or (`pass`) on every batch of
/// a dev file in turn: one run is the whole pass, every batch through the
/// same compiled function.
struct Workload {
  std::string name;
  std::string description;
  bool train; ///< has a training step
  std::function<Cases(const std::string& dataDir)> make; ///< one case per batch
  bool pass = false;
};

golden::TimingBatches nearPercentile(double p) {
  golden::TimingBatches w;
  w.which = golden::TimingBatches::NearPercentile;
  w.percentile = p;
  return w;
}

golden::TimingBatches everyBatch() {
  golden::TimingBatches w;
  w.which = golden::TimingBatches::Every;
  return w;
}

const std::vector<Workload>& workloads() {
  using golden::makeBiRnnTimingCase;
  using golden::makeTimingCases;
  using golden::makeTreeLstmTimingCases;
  static const std::vector<Workload> all = {
      {"spinn_pi_b128", "SPINN-PI + tracker, SNLI dev, 128 pairs, h300 (tracker 150, MLP 600)", true,
       [](const std::string& d) { return makeTimingCases(d, 128, 1, 300); }},
      {"spinn_pi_b512", "SPINN-PI + tracker, SNLI dev, 512 pairs, h300 (tracker 150, MLP 600)", true,
       [](const std::string& d) { return makeTimingCases(d, 512, 1, 300); }},
      {"spinn_pi_b8", "SPINN-PI + tracker, SNLI dev, 8 pairs, h300", false,
       [](const std::string& d) { return makeTimingCases(d, 8, 1, 300); }},
      {"spinn_pi_b1", "SPINN-PI + tracker, SNLI dev, 1 pair, h300", false,
       [](const std::string& d) { return makeTimingCases(d, 1, 1, 300); }},
      {"spinn_pred_b128", "SPINN, predicted transitions (argmax), SNLI dev, 128 pairs, h300", false,
       [](const std::string& d) { return makeTimingCases(d, 128, 1, 300, true); }},
      {"bilstm_b64", "BiLSTM classifier, 2 layers, h = e = 256, seq 35, batch 64", true,
       [](const std::string&) { return one(makeBiRnnTimingCase("lstm", 64, 35, 256)); }},
      {"bilstm_b1", "BiLSTM classifier, 2 layers, h = e = 256, seq 35, batch 1", false,
       [](const std::string&) { return one(makeBiRnnTimingCase("lstm", 1, 35, 256)); }},
      {"bigru_b64", "BiGRU classifier, 2 layers, h = e = 256, seq 35, batch 64", true,
       [](const std::string&) { return one(makeBiRnnTimingCase("gru", 64, 35, 256)); }},
      {"bigru_b1", "BiGRU classifier, 2 layers, h = e = 256, seq 35, batch 1", false,
       [](const std::string&) { return one(makeBiRnnTimingCase("gru", 1, 35, 256)); }},
      {"treelstm_b128", "TreeLSTM sentiment, SST dev, 128 trees, h = e = 300", true,
       [](const std::string& d) { return makeTreeLstmTimingCases(d, 128, 1, 300); }},
      // Batches that look like the data: the full bucket of 128 whose median
      // length is nearest the dev file's median / 90th-percentile length
      // (golden::TimingBatches::NearPercentile), and whole passes.
      {"spinn_pi_p50", "SPINN-PI + tracker, SNLI dev, the 128 pairs at the median length, h300", true,
       [](const std::string& d) { return makeTimingCases(d, 128, nearPercentile(50), 300); }},
      {"spinn_pi_p90", "SPINN-PI + tracker, SNLI dev, the 128 pairs at the 90th-percentile length, h300",
       true, [](const std::string& d) { return makeTimingCases(d, 128, nearPercentile(90), 300); }},
      {"treelstm_p50", "TreeLSTM sentiment, SST dev, the 128 trees at the median length, h300", true,
       [](const std::string& d) { return makeTreeLstmTimingCases(d, 128, nearPercentile(50), 300); }},
      {"treelstm_p90", "TreeLSTM sentiment, SST dev, the 128 trees at the 90th-percentile length, h300",
       true, [](const std::string& d) { return makeTreeLstmTimingCases(d, 128, nearPercentile(90), 300); }},
      {"spinn_pi_dev", "SPINN-PI + tracker, whole pass over SNLI dev, batches of 128 in bucket order, h300",
       true, [](const std::string& d) { return makeTimingCases(d, 128, everyBatch(), 300); }, true},
      {"treelstm_sst_dev", "TreeLSTM sentiment, whole pass over SST dev, batches of 128 in bucket order, h300",
       true, [](const std::string& d) { return makeTreeLstmTimingCases(d, 128, everyBatch(), 300); },
       true},
      {"treelstm_tiny_dev", "TreeLSTM, whole pass over SST dev, batches of 512, h 8 (smoke test)",
       true, [](const std::string& d) { return makeTreeLstmTimingCases(d, 512, everyBatch(), 8); },
       true},
      {"bilstm_tiny", "BiLSTM classifier, h 8, seq 5, batch 2 (smoke test: no data needed)", true,
       [](const std::string&) { return one(makeBiRnnTimingCase("lstm", 2, 5, 8, 50)); }},
  };
  return all;
}

const Workload& findWorkload(const std::string& name) {
  for (const Workload& w : workloads())
    if (w.name == name) return w;
  std::string known;
  for (const Workload& w : workloads())
    known += " " + w.name;
  die(fmt::format("unknown workload '{}' (known:{})", name, known));
}

/// What serve runs: one function of a compiled module and its arguments.
struct Runnable {
  std::unique_ptr<Module> ownModule; ///< the train step's module (forward: the case's)
  const Module* module = nullptr;
  std::string function;
  std::vector<Tensor> args;
  /// Where the batch starts in `args` (forward: 0; train: after the
  /// parameters and the optimizer state).
  size_t batchAt = 0;
  /// The batch part of `args` (inputs; train: and labels) for each batch of
  /// a whole pass, put in place by useBatch (a one-batch workload: its own).
  /// Only the batches are stored per batch: the parameters (and Adam state)
  /// are tens of MB, and SNLI dev has 77 batches.
  std::vector<std::vector<Tensor>> batches;
  std::optional<size_t> lossResult, gradNormResult;
  double buildMs = 0; ///< train: gradient + train_step built (the model is not counted)
};

/// The benchmarks' training step (bench/BenchStep.h) around `loss` of `m`.
training::TrainStep buildStep(Module& m, const ParamStore& ps, const Function& loss,
                              size_t batchFirst, size_t batchLast, bool keepRnnOps = false) {
  return check(bench::buildAdamClipStep(m, ps, loss, batchFirst, batchLast, keepRnnOps));
}

/// Labels b % classes for the case's batch (SNLI: pairs).
Tensor labelsFor(const golden::GoldenCase& c) {
  int64_t classes = c.model.value("classes", 3);
  int64_t batch = c.kind == "spinn_snli" ? c.inputs[0].shape()[1] : c.inputs[0].shape()[0];
  Tensor labels(TensorType(DType::I32, {batch}));
  for (int64_t b = 0; b < batch; ++b)
    labels.setInt(b, b % classes);
  return labels;
}

/// How a case's tree model is built for the device (the results do not
/// depend on it): SPINN's pairs merged into one loop (one stream would run
/// two loops in turn), and optionally the Reduce on every row, selected by
/// the transitions, instead of on the reducing rows only (compactReduce's
/// nonzero runs on the host, so its loops cannot be recorded).
struct TreeChoices {
  bool mergePairs = false;
  bool fullReduce = false;
  /// BiRNNs built with `rnn` ops whose gradient keeps them whole
  /// (rebuildBiRnnWithRnnOps; GradOptions::keepRnnOps): cuDNN on a GPU.
  bool rnnOps = false;
};

SpinnConfig spinnConfig(const golden::GoldenCase& c, TreeChoices t) {
  SpinnConfig cfg = golden::timingSpinnConfig(c);
  if (t.mergePairs) cfg.splitPairs = false;
  if (t.fullReduce) cfg.compactReduce = false;
  return cfg;
}

/// Rebuilds a SPINN or TreeLSTM case's forward function as `t` asks (same
/// parameters, same results); other cases stay as they are.
void rebuildTreeModel(golden::GoldenCase& c, TreeChoices t) {
  auto m = std::make_unique<Module>();
  ParamStore ps;
  const Function* f = nullptr;
  if (c.kind == "spinn_snli") {
    SpinnConfig base = golden::timingSpinnConfig(c), cfg = spinnConfig(c, t);
    if (cfg.splitPairs == base.splitPairs && cfg.compactReduce == base.compactReduce) return;
    f = buildSpinnSnli(*m, ps, cfg);
  } else if (c.kind == "treelstm_sst" && t.fullReduce) {
    TreeLstmConfig cfg;
    cfg.vocab = c.model.at("vocab");
    cfg.embed = c.model.at("embed");
    cfg.hidden = c.model.at("hidden");
    cfg.classes = c.model.value("classes", 5);
    cfg.compactReduce = false;
    f = buildTreeLstmSentiment(*m, ps, cfg);
  } else {
    return;
  }
  if (ps.names() != c.params.names()) die("the rebuilt model declares other parameters than the case");
  c.module = std::move(m);
  c.function = f;
}

/// A BiRNN case rebuilt with `rnn` ops (BiRnnConfig::useRnnOp, the same
/// parameters and results) for the device, where each layer direction is
/// one cuDNN call (docs/gpu.md, "cuDNN: the rnn op"); compactRows, which the
/// op excludes, is the CPU's way to skip padding, and cuDNN skips it itself.
void rebuildBiRnnWithRnnOps(golden::GoldenCase& c) {
  if (c.kind != "birnn_classify") return;
  BiRnnConfig cfg;
  cfg.cell = c.model.at("cell") == "lstm" ? BiRnnConfig::Lstm : BiRnnConfig::Gru;
  cfg.vocab = c.model.at("vocab");
  cfg.embed = c.model.at("embed");
  cfg.hidden = c.model.at("hidden");
  cfg.layers = c.model.at("layers");
  cfg.classes = c.model.at("classes");
  cfg.useRnnOp = true;
  auto m = std::make_unique<Module>();
  ParamStore ps;
  const Function* f = buildBiRnnClassifier(*m, ps, cfg);
  if (ps.names() != c.params.names()) die("the rnn-op BiRNN declares other parameters than the case");
  c.module = std::move(m);
  c.function = f;
}

Runnable forwardRunnable(golden::GoldenCase& c) {
  Runnable r;
  r.module = c.module.get();
  r.function = c.function->name;
  r.args = c.inputs;
  r.args.insert(r.args.end(), c.paramValues.begin(), c.paramValues.end());
  r.batches = {c.inputs};
  return r;
}

/// The training step of the case's classifier. SPINN's loss is
/// buildSpinnSnliLoss (as exec_bench's); the others' is the mean
/// cross-entropy of the case's logits function, called from a `loss`
/// function added to its module.
Runnable trainRunnable(golden::GoldenCase& c, TreeChoices t) {
  if (c.kind == "spinn_snli" && c.model.value("mode", "pi") != "pi")
    die("predicted-mode SPINN has no training step here");
  Runnable r;
  r.ownModule = std::make_unique<Module>();
  training::TrainStep step;
  std::vector<Tensor> batch = c.inputs;
  batch.push_back(labelsFor(c));
  if (c.kind == "spinn_snli") {
    SpinnConfig cfg = spinnConfig(c, t); // PI (checked above)
    ParamStore ps;
    Function* loss = buildSpinnSnliLoss(*r.ownModule, ps, cfg);
    if (ps.names() != c.params.names()) die("the SPINN loss declares other parameters than the case");
    auto t0 = std::chrono::steady_clock::now();
    step = buildStep(*r.ownModule, ps, *loss, batch.size(), 0);
    r.buildMs = msSince(t0);
  } else {
    // The loss goes into the case's module, next to the logits function it
    // calls (so that module is the one compiled).
    r.ownModule.reset();
    std::vector<TensorType> types = c.function->argumentTypes();
    types.push_back(TensorType(DType::I32, {kDynamic}));
    FunctionBuilder fb(*c.module, "loss", types);
    ValueList args;
    for (size_t i = 0; i + 1 < types.size(); ++i)
      args.push_back(fb.arg(i));
    Function* loss = fb.ret({crossEntropy(fb.call(*c.function, args)[0], fb.arg(types.size() - 1))});
    auto t0 = std::chrono::steady_clock::now();
    step = buildStep(*c.module, c.params, *loss, c.inputs.size(), 1, t.rnnOps);
    r.buildMs = msSince(t0);
  }
  r.module = r.ownModule ? r.ownModule.get() : c.module.get();
  r.function = step.function->name;
  r.args = c.paramValues;
  for (const Tensor& t : training::initialState(step.state))
    r.args.push_back(t);
  r.batchAt = r.args.size();
  r.args.insert(r.args.end(), batch.begin(), batch.end());
  r.batches = {batch};
  r.lossResult = step.lossResult();
  if (step.hasGradNorm) r.gradNormResult = step.gradNormResult();
  return r;
}

/// The batches of a whole pass: each case's inputs (and for a training step
/// its labels), to take the place of the first one's in `r.args` (useBatch).
/// The cases share their parameters and model (one compiled function runs
/// every batch); their own copies of the parameters are dropped here.
void setPassBatches(Runnable& r, std::vector<golden::GoldenCase>& cases, bool train) {
  r.batches.clear();
  for (golden::GoldenCase& c : cases) {
    if (c.kind != cases[0].kind || c.inputs.size() != cases[0].inputs.size())
      die("the batches of a pass differ in kind");
    std::vector<Tensor> b = c.inputs;
    if (train) b.push_back(labelsFor(c));
    r.batches.push_back(std::move(b));
    if (&c != &cases[0]) c.paramValues.clear();
  }
}

/// Puts batch `b`'s inputs in `r.args` (a copy of a few KB, outside the timing).
void useBatch(Runnable& r, size_t b) {
  for (size_t i = 0; i < r.batches[b].size(); ++i)
    r.args[r.batchAt + i] = r.batches[b][i];
}

/// What the batches are, for people and bench.py: per batch its size and
/// padded shapes (tokens, transitions), and why it was chosen (a percentile
/// batch: the percentile, its length, the batch's min / median / max length).
json selectionNote(const std::vector<golden::GoldenCase>& cases) {
  json batches = json::array();
  int64_t examples = 0;
  for (const golden::GoldenCase& c : cases) {
    json b = {{"examples", c.data.contains("examples") ? c.data.at("examples").size() : 0}};
    examples += b["examples"].get<int64_t>();
    for (size_t i = 0; i < c.inputs.size(); ++i)
      if (c.inputNames[i] == "tokens" || c.inputNames[i] == "transitions")
        b[c.inputNames[i]] = c.inputs[i].shape();
    batches.push_back(b);
  }
  json note = {{"examples", examples}};
  for (const char* k : {"percentile", "percentile_length", "bucket", "batch_lengths"})
    if (cases.size() == 1 && cases[0].data.contains(k)) note[k] = cases[0].data.at(k);
  if (cases.size() <= 3) note["batches"] = batches;
  return note;
}

/// Writes a whole pass's batches next to its first case's export in `dir`:
/// batches/<k>/inputs/<input>.npy for every batch and pass.json (how many, their
/// sizes and lengths), read by bench.py.
void exportPass(const std::vector<golden::GoldenCase>& cases, const std::string& dir) {
  json batches = json::array();
  int64_t examples = 0;
  for (size_t k = 0; k < cases.size(); ++k) {
    const golden::GoldenCase& c = cases[k];
    fs::path to = fs::path(dir) / "batches" / std::to_string(k) / "inputs";
    fs::create_directories(to);
    for (size_t i = 0; i < c.inputs.size(); ++i)
      check(writeNpy((to / (c.inputNames[i] + ".npy")).string(), c.inputs[i]));
    int64_t n = int64_t(c.data.at("examples").size());
    examples += n;
    batches.push_back({{"examples", n}, {"batch_lengths", c.data.value("batch_lengths", json())}});
  }
  std::ofstream f(fs::path(dir) / "pass.json");
  f << json({{"batches", batches}, {"examples", examples}}).dump(1) << "\n";
  if (!f) die(fmt::format("cannot write {}/pass.json", dir));
}

/// Compiles a tiny module once, so that the timed compile does not pay for
/// LLVM's start-up in this process.
void warmJit() {
  Module m;
  FunctionBuilder fb(m, "warm", {TensorType(DType::F32, {kDynamic})});
  fb.ret({fb.arg(0) * fb.arg(0) + 1.0});
  check(codegen::cpu::compileExecutable(m).status());
}

void setThreads(int threads) {
  if (threads > 0) exec::setBlasThreads(threads);
}

/// Denormal floats flushed to zero (MXCSR FTZ and DAZ) in this thread: a
/// diagnostic, not Cairn's default. OpenBLAS's worker threads (started
/// before main) keep their own MXCSR, so it covers 1 thread only.
void flushDenormals() { _mm_setcsr(_mm_getcsr() | 0x8040); }

void printJson(const json& j) { std::cout << j.dump() << std::endl; }

struct ServeOptions {
  std::string workload, mode, exportDir, dataDir;
  std::string backend = "cpu"; ///< cpu: the compiled executor; cuda: the CUDA backend
  int threads = 0;
  bool ftz = false, exactFloats = false;
  bool loopGraphs = true; ///< cuda: DeviceRunOptions::loopGraphs
  bool fullReduce = false; ///< SPINN, TreeLSTM: compactReduce off (TreeChoices)
  bool pass = false; ///< a whole-pass workload (Workload::pass)
};

/// The commands after the ready line, on either backend: `runOnce(k)` is one
/// run of batch k on the serve loop's context (its results), `runStats` the
/// JSON extras of a `run K` (what the last run did), `profile` the answer to
/// `profile`. A run of a whole pass (several batches) is every batch's run in
/// turn, its time the sum of theirs.
struct Served {
  std::function<std::vector<Tensor>(size_t)> runOnce;
  std::function<std::vector<Tensor>(size_t)> saveOnce; ///< the run `save` writes
  std::function<void()> beforeRun;
  std::function<json()> runStats;
  std::function<json()> profile;
};

void serveLoop(const ServeOptions& o, Runnable& r, Served& s) {
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    if (cmd == "quit") break;
    if (cmd == "run") {
      int k = 1;
      in >> k;
      json ms = json::array(), batchMs = json::array();
      for (int i = 0; i < k; ++i) {
        s.beforeRun();
        double total = 0;
        batchMs = json::array();
        for (size_t b = 0; b < r.batches.size(); ++b) {
          if (r.batches.size() > 1) useBatch(r, b);
          auto t1 = std::chrono::steady_clock::now();
          std::vector<Tensor> out = s.runOnce(b);
          double t = msSince(t1);
          total += t;
          batchMs.push_back(t);
        }
        ms.push_back(total);
      }
      json reply = s.runStats();
      reply["ms"] = ms;
      if (o.pass) reply["batch_ms"] = batchMs; // the last run's, per batch
      printJson(reply);
    } else if (cmd == "save") {
      std::string dir;
      in >> dir;
      // A whole pass: every batch's results in DIR/<batch>/.
      json written = json::array();
      for (size_t b = 0; b < r.batches.size(); ++b) {
        if (r.batches.size() > 1) useBatch(r, b);
        std::vector<Tensor> out = s.saveOnce(b);
        fs::path to = o.pass ? fs::path(dir) / std::to_string(b) : fs::path(dir);
        fs::create_directories(to);
        auto write = [&](const std::string& name, const Tensor& t) {
          check(writeNpy((to / (name + ".npy")).string(), t));
          if (b == 0) written.push_back(name);
        };
        if (o.mode == "forward") {
          for (size_t i = 0; i < out.size(); ++i)
            write(fmt::format("cairn_{}", i), out[i]);
        } else {
          write("cairn_loss", out[*r.lossResult]);
          if (r.gradNormResult) write("cairn_grad_norm", out[*r.gradNormResult]);
        }
      }
      json reply = {{"saved", written}};
      if (o.pass) reply["batches"] = r.batches.size();
      printJson(reply);
    } else if (cmd == "profile") {
      if (r.batches.size() > 1) useBatch(r, 0); // a whole pass: its first batch
      json p = s.profile();
      if (o.pass) p["batch"] = 0;
      printJson(p);
    } else {
      printJson({{"error", fmt::format("unknown command '{}' (run K, save DIR, profile, quit)", cmd)}});
    }
  }
}

/// b - a for the counters of one run (peakDeviceBytes: b's, the context's
/// high-water mark).
json deviceStatsDelta(const device::DeviceStats& a, const device::DeviceStats& b) {
  auto mapDelta = [](const std::map<std::string, int64_t>& x,
                     const std::map<std::string, int64_t>& y) {
    json d = json::object();
    for (const auto& [k, v] : y) {
      auto it = x.find(k);
      int64_t n = v - (it == x.end() ? 0 : it->second);
      if (n != 0) d[k] = n;
    }
    return d;
  };
  return {{"kernel_launches", b.kernelLaunches - a.kernelLaunches},
          {"row_launches", b.rowLaunches - a.rowLaunches},
          {"in_place_updates", b.inPlaceUpdates - a.inPlaceUpdates},
          {"gemm_calls", b.gemmCalls - a.gemmCalls},
          {"host_ops", b.hostOps - a.hostOps},
          {"host_ops_by_name", mapDelta(a.hostOpsByName, b.hostOpsByName)},
          {"condition_reads", b.conditionReads - a.conditionReads},
          {"while_iterations", b.whileIterations - a.whileIterations},
          {"loop_recordings", b.loopRecordings - a.loopRecordings},
          {"graph_launches", b.graphLaunches - a.graphLaunches},
          {"host_loops", mapDelta(a.hostLoops, b.hostLoops)},
          {"rnn_calls", b.rnnCalls - a.rnnCalls},
          {"rnn_backward_calls", b.rnnBackwardCalls - a.rnnBackwardCalls},
          {"bytes_to_device", b.bytesToDevice - a.bytesToDevice},
          {"bytes_to_host", b.bytesToHost - a.bytesToHost},
          {"aliases", b.aliases - a.aliases},
          {"peak_device_bytes", b.peakDeviceBytes}};
}

/// Compiles a tiny module for `dev` once, so that the timed compile does not
/// pay for LLVM's (NVPTX or host JIT) start-up in this process.
void warmDevice(const std::shared_ptr<device::Device>& dev) {
  Module m;
  FunctionBuilder fb(m, "warm", {TensorType(DType::F32, {kDynamic})});
  fb.ret({fb.arg(0) * fb.arg(0) + 1.0});
  check(codegen::cuda::compileForDevice(m, dev).status());
}

int serve(const ServeOptions& o) {
  const Workload& w = findWorkload(o.workload);
  if (o.mode != "forward" && o.mode != "train") die("--mode is forward or train");
  if (o.mode == "train" && !w.train) die(fmt::format("workload {} has no training step", o.workload));
  if (o.backend != "cpu" && o.backend != "cuda") die("--backend is cpu or cuda");
  const bool cuda = o.backend == "cuda";
  if (!o.loopGraphs && !cuda) die("--no-loop-graphs is for --backend cuda");
  setThreads(o.threads);
  if (o.ftz) flushDenormals();
  if (w.pass && cuda) die("the whole-pass workloads run on the CPU backend only");
  std::vector<golden::GoldenCase> cases = check(w.make(o.dataDir));
  golden::GoldenCase& c = cases.front();
  if (!o.exportDir.empty()) {
    check(golden::exportCase(c, {}, o.exportDir));
    if (w.pass) exportPass(cases, o.exportDir);
  }
  TreeChoices tree;
  if (cuda) tree.mergePairs = tree.rnnOps = true;
  tree.fullReduce = o.fullReduce;
  rebuildTreeModel(c, tree); // train: SPINN's loss is built anew by trainRunnable
  if (tree.rnnOps) rebuildBiRnnWithRnnOps(c);

  json ready = {{"event", "ready"}, {"workload", o.workload}, {"mode", o.mode},
                {"backend", o.backend}, {"blas", exec::blasDescription()},
                {"blas_threads", exec::blasThreads()}, {"flush_denormals", o.ftz},
                {"exact_floats", o.exactFloats}, {"full_reduce", o.fullReduce},
                {"batches", cases.size()}, {"data", selectionNote(cases)}};
  const FloatRewrites rewrites = o.exactFloats ? FloatRewrites::Exact // the diagnostic
                                               : FloatRewrites::Reassociate; // XLA and cuDNN do too
  if (!cuda) {
    warmJit();
    Runnable r = o.mode == "train" ? trainRunnable(c, tree) : forwardRunnable(c);
    if (w.pass) setPassBatches(r, cases, o.mode == "train");
    codegen::cpu::CompileReport report;
    auto t0 = std::chrono::steady_clock::now();
    codegen::cpu::CompileOptions options;
    options.floatRewrites = rewrites;
    std::unique_ptr<exec::Executable> exe =
        check(codegen::cpu::compileExecutable(*r.module, options, &report));
    double compileMs = msSince(t0);
    ready.update({{"build_ms", r.buildMs},
                  {"compile_ms", compileMs},
                  {"ir_to_runnable_ms", r.buildMs + compileMs},
                  {"passes_ms", report.passesMs},
                  {"lower_ms", report.lowerMs},
                  {"jit_ms", report.jitMs},
                  {"kernels", report.kernels},
                  {"gemms", report.gemms},
                  {"fallbacks", report.fallbacks}});
    printJson(ready);

    exec::ExecutionContext ctx;
    exec::ExecStats before;
    Served s;
    s.runOnce = [&](size_t) { return check(exe->run(r.function, r.args, ctx)); };
    s.saveOnce = [&](size_t) { return check(exe->run(r.function, r.args)); };
    s.beforeRun = [&] { before = ctx.stats(); };
    s.runStats = [&]() -> json {
      return {{"gemm_flops", ctx.stats().gemmFlops - before.gemmFlops},
              {"gemm_calls", ctx.stats().gemmCalls - before.gemmCalls}};
    };
    s.profile = [&]() -> json {
      // The fastest of 3 profiled runs (a shared machine's hiccups inflate
      // single runs), each on a context whose pool one plain run warmed.
      exec::ExecOptions eo;
      eo.profile = true;
      double total = 0;
      exec::ExecStats best;
      for (int i = 0; i < 3; ++i) {
        exec::ExecutionContext pctx;
        check(exe->run(r.function, r.args, pctx).status());
        pctx.resetStats();
        auto t1 = std::chrono::steady_clock::now();
        check(exe->run(r.function, r.args, pctx, eo).status());
        double ms = msSince(t1);
        if (i == 0 || ms < total) {
          total = ms;
          best = pctx.stats();
        }
      }
      json rows = json::array();
      for (const auto& [what, p] : best.profile) {
        if (what.rfind("copy", 0) == 0) continue; // these count bytes, not time
        rows.push_back({{"what", what}, {"ms", p.nanos / 1e6}, {"calls", p.calls}});
      }
      std::sort(rows.begin(), rows.end(),
                [](const json& a, const json& b) { return a["ms"] > b["ms"]; });
      return {{"total_ms", total}, {"rows", rows}};
    };
    serveLoop(o, r, s);
    return 0;
  }

  // The CUDA backend.
  std::string note;
  std::shared_ptr<device::Device> dev = check(device::openDevice(device::DeviceChoice::Auto, &note));
  warmDevice(dev);
  Runnable r = o.mode == "train" ? trainRunnable(c, tree) : forwardRunnable(c);
  codegen::cuda::DeviceCompileOptions options;
  options.floatRewrites = rewrites;
  codegen::cuda::DeviceCompileReport report;
  auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<device::DeviceExecutable> exe =
      check(codegen::cuda::compileForDevice(*r.module, dev, options, &report));
  double compileMs = msSince(t0);
  ready.update({{"device", dev->name()},
                {"emulated", dev->isEmulated()},
                {"device_note", note},
                {"loop_graphs", o.loopGraphs},
                {"loop_graphs_supported", dev->supportsLoopGraphs()},
                {"split_pairs", c.kind == "spinn_snli" ? json(false) : json(nullptr)},
                {"build_ms", r.buildMs},
                {"compile_ms", compileMs},
                {"ir_to_runnable_ms", r.buildMs + compileMs},
                {"passes_ms", report.passesMs},
                {"lower_ms", report.lowerMs},
                {"codegen_ms", report.codegenMs},
                {"kernels", report.kernels},
                {"gemms", report.gemms},
                {"fallbacks", report.fallbacks}});
  printJson(ready);

  device::DeviceRunOptions ro;
  ro.loopGraphs = o.loopGraphs;
  device::DeviceContext ctx;
  device::DeviceStats before;
  // The inputs (parameters, optimizer state, the batch) go up once and stay
  // on the device, as the peers keep theirs; a timed run brings back its
  // first result only (the loss or the logits), which also waits for it.
  std::vector<device::DeviceArg> onDevice;
  for (const Tensor& t : r.args)
    onDevice.push_back(check(exe->upload(t, ctx)));
  Served s;
  s.runOnce = [&](size_t) {
    std::vector<device::DeviceTensor> out = check(exe->runOnDevice(r.function, onDevice, ctx, ro));
    std::vector<Tensor> first;
    if (!out.empty()) first.push_back(check(out[0].download()));
    return first;
  };
  s.saveOnce = [&](size_t) { return check(exe->run(r.function, r.args, ctx, ro)); };
  s.beforeRun = [&] { before = ctx.stats(); };
  s.runStats = [&]() -> json {
    json d = deviceStatsDelta(before, ctx.stats());
    return {{"gemm_calls", d["gemm_calls"]}, {"device_stats", d}};
  };
  s.profile = [&]() -> json {
    // No per-instruction times on the device: the fastest of 3 runs on the
    // serve context (warm) and what one run does.
    double total = 0;
    json stats;
    for (int i = 0; i < 3; ++i) {
      device::DeviceStats b = ctx.stats();
      auto t1 = std::chrono::steady_clock::now();
      check(exe->run(r.function, r.args, ctx, ro).status());
      double ms = msSince(t1);
      if (i == 0 || ms < total) {
        total = ms;
        stats = deviceStatsDelta(b, ctx.stats());
      }
    }
    // Why loops were not recorded is noted when they are first met (the
    // first run of a shape), so the context's totals.
    json hostLoops = json::object();
    for (const auto& [why, n] : ctx.stats().hostLoops)
      hostLoops[why] = n;
    return {{"total_ms", total}, {"rows", json::array()}, {"device_stats", stats},
            {"host_loops_seen", hostLoops}};
  };
  serveLoop(o, r, s);
  return 0;
}

int exportWorkload(const std::string& workload, const std::string& out, const std::string& dataDir,
                   bool run) {
  const Workload& w = findWorkload(workload);
  std::vector<golden::GoldenCase> cases = check(w.make(dataDir));
  golden::GoldenCase& c = cases.front();
  std::vector<Tensor> outputs;
  if (run) {
    Runnable r = forwardRunnable(c);
    auto exe = check(codegen::cpu::compileExecutable(*r.module));
    outputs = check(exe->run(r.function, r.args));
  }
  check(golden::exportCase(c, outputs, out));
  if (w.pass) exportPass(cases, out);
  fmt::print("exported {} ({}, {} batch{}) to {}: {}\n", workload, c.kind, cases.size(),
             cases.size() == 1 ? "" : "es", out, selectionNote(cases).dump());
  return 0;
}

/// sgemm through exec::runGemm: the median of at least `reps` timed calls
/// (and ~0.2 s) after 3 warm-up calls, per shape.
int peak(int threads, int reps) {
  setThreads(threads);
  struct Shape {
    int64_t m, k, n;
    const char* role;
  };
  const std::vector<Shape> shapes = {{128, 300, 1500, "SPINN: 2B x H @ H x 5H (reduce)"},
                                     {128, 600, 1024, "SPINN MLP-like 128 x 600 @ 600 x 1024"},
                                     {64, 256, 1024, "BiLSTM b64: h @ wh"},
                                     {2240, 256, 1024, "BiLSTM b64: all steps' x @ wx"}};
  json rows = json::array();
  double best = 0;
  for (const Shape& s : shapes) {
    Tensor a(TensorType(DType::F32, {s.m, s.k})), b(TensorType(DType::F32, {s.k, s.n}));
    Tensor c(TensorType(DType::F32, {s.m, s.n}));
    for (int64_t i = 0; i < a.numElements(); ++i)
      a.setDouble(i, double(i % 17) * 0.01);
    for (int64_t i = 0; i < b.numElements(); ++i)
      b.setDouble(i, double(i % 13) * 0.01);
    int64_t calls = 0;
    exec::GemmShape g;
    for (int i = 0; i < 3; ++i)
      check(exec::runGemm(g, a, b, c, &calls));
    std::vector<double> us;
    auto start = std::chrono::steady_clock::now();
    while (us.size() < size_t(std::max(reps, 1)) ||
           (reps > 1 && msSince(start) < 200)) {
      auto t0 = std::chrono::steady_clock::now();
      check(exec::runGemm(g, a, b, c, &calls));
      us.push_back(msSince(t0) * 1e3);
    }
    std::sort(us.begin(), us.end());
    double med = us[us.size() / 2];
    double gflops = 2.0 * s.m * s.k * s.n / med / 1e3;
    if (s.role[0] == 'S') best = std::max(best, gflops); // the SPINN shapes define the peak
    rows.push_back({{"m", s.m}, {"k", s.k}, {"n", s.n}, {"role", s.role}, {"us", med},
                    {"gflops", gflops}, {"samples", us.size()}});
  }
  printJson({{"threads", exec::blasThreads()}, {"blas", exec::blasDescription()},
             {"blas_warning", exec::blasKernels().warning}, {"shapes", rows}, {"peak_gflops", best}});
  return 0;
}

/// sgemm through Device::gemm (cuBLAS on a GPU) at the shapes of peak():
/// per shape, the median over batches of back-to-back calls (one
/// synchronize per batch of 10), after 3 warm-up calls.
int devicePeak(int reps) {
  std::string note;
  std::shared_ptr<device::Device> dev = check(device::openDevice(device::DeviceChoice::Auto, &note));
  struct Shape {
    int64_t m, k, n;
    const char* role;
  };
  const std::vector<Shape> shapes = {{128, 300, 1500, "SPINN: 2B x H @ H x 5H (reduce)"},
                                     {1024, 300, 1500, "SPINN b512: 2B x H @ H x 5H"},
                                     {64, 256, 1024, "BiLSTM b64: h @ wh"},
                                     {2240, 256, 1024, "BiLSTM b64: all steps' x @ wx"}};
  json rows = json::array();
  double best = 0;
  for (const Shape& s : shapes) {
    std::vector<float> a(size_t(s.m * s.k)), b(size_t(s.k * s.n));
    for (size_t i = 0; i < a.size(); ++i)
      a[i] = float(i % 17) * 0.01f;
    for (size_t i = 0; i < b.size(); ++i)
      b[i] = float(i % 13) * 0.01f;
    void* da = check(dev->allocate(a.size() * 4));
    void* db = check(dev->allocate(b.size() * 4));
    void* dc = check(dev->allocate(size_t(s.m * s.n) * 4));
    check(dev->copyToDevice(da, a.data(), a.size() * 4));
    check(dev->copyToDevice(db, b.data(), b.size() * 4));
    device::GemmArgs g;
    g.m = s.m, g.n = s.n, g.k = s.k, g.a = da, g.b = db, g.c = dc;
    for (int i = 0; i < 3; ++i)
      check(dev->gemm(g));
    check(dev->synchronize());
    const int inner = dev->isEmulated() ? 1 : 10;
    std::vector<double> us;
    auto start = std::chrono::steady_clock::now();
    while (us.size() < size_t(std::max(reps, 1)) || (reps > 1 && msSince(start) < 200)) {
      auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < inner; ++i)
        check(dev->gemm(g));
      check(dev->synchronize());
      us.push_back(msSince(t0) * 1e3 / inner);
    }
    dev->release(da);
    dev->release(db);
    dev->release(dc);
    std::sort(us.begin(), us.end());
    double med = us[us.size() / 2];
    double gflops = 2.0 * s.m * s.k * s.n / med / 1e3;
    if (s.role[0] == 'S') best = std::max(best, gflops);
    rows.push_back({{"m", s.m}, {"k", s.k}, {"n", s.n}, {"role", s.role}, {"us", med},
                    {"gflops", gflops}, {"samples", us.size()}});
  }
  printJson({{"backend", "cuda"}, {"device", dev->name()}, {"emulated", dev->isEmulated()},
             {"device_note", note}, {"blas", dev->isEmulated() ? exec::blasDescription() : "cuBLAS"},
             {"threads", exec::blasThreads()}, {"shapes", rows}, {"peak_gflops", best}});
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"cairn-peer-bench: Cairn's side of the peers benchmark (bench/peers/)"};
  app.require_subcommand(1);
  std::string workload, out, mode = "forward", dataDir = golden::defaultDataDir(CAIRN_SOURCE_DIR);
  int threads = 0, reps = 15;
  bool run = false;
  app.add_option("--data", dataDir, "data directory (default: ../shared/data)");

  CLI::App* list = app.add_subcommand("list", "the workloads");
  CLI::App* exp = app.add_subcommand("export", "write a workload's case directory");
  exp->add_option("--workload", workload)->required();
  exp->add_option("--out", out)->required();
  exp->add_flag("--run", run, "also write outputs/cairn_<i>.npy (compiled forward)");
  CLI::App* srv = app.add_subcommand("serve", "compile a workload, then run it on request");
  srv->add_option("--workload", workload)->required();
  srv->add_option("--mode", mode, "forward or train")->capture_default_str();
  srv->add_option("--export", out, "first write the case directory here");
  srv->add_option("--threads", threads, "OpenBLAS threads (default: OPENBLAS_NUM_THREADS)");
  std::string backend = "cpu";
  srv->add_option("--backend", backend,
                  "cpu (the compiled executor) or cuda (the GPU, else the emulated device; "
                  "CAIRN_DEVICE=gpu|emulated forces one)")
      ->capture_default_str();
  bool noLoopGraphs = false;
  srv->add_flag("--no-loop-graphs", noLoopGraphs,
                "cuda: every loop host-synchronized (DeviceRunOptions::loopGraphs = false)");
  bool fullReduce = false;
  srv->add_flag("--full-reduce", fullReduce,
                "SPINN, TreeLSTM: the Reduce on every row, selected by the transitions (static "
                "shapes: on the device the loop can be recorded), instead of the reducing rows only");
  bool ftz = false;
  srv->add_flag("--flush-denormals", ftz,
                "diagnostic: set FTZ/DAZ on the running thread (not OpenBLAS's workers)");
  bool exactFloats = false;
  srv->add_flag("--exact-floats", exactFloats,
                "diagnostic: compile without the passes that reassociate float sums");
  CLI::App* pk = app.add_subcommand("peak", "sgemm GFLOP/s at the SPINN shapes");
  pk->add_option("--threads", threads, "OpenBLAS threads (default: OPENBLAS_NUM_THREADS)");
  pk->add_option("--reps", reps, "timed calls per shape (at least)")->capture_default_str();
  pk->add_option("--backend", backend, "cpu (exec::runGemm) or cuda (Device::gemm)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  if (*list) {
    for (const Workload& w : workloads())
      fmt::print("{:18} {}{}\n", w.name, w.description, w.train ? " [forward, train]" : " [forward]");
    return 0;
  }
  if (*exp) return exportWorkload(workload, out, dataDir, run);
  if (*srv) {
    ServeOptions o;
    o.workload = workload, o.mode = mode, o.exportDir = out, o.dataDir = dataDir;
    o.backend = backend, o.threads = threads, o.ftz = ftz, o.exactFloats = exactFloats;
    o.loopGraphs = !noLoopGraphs;
    o.fullReduce = fullReduce;
    o.pass = findWorkload(workload).pass;
    return serve(o);
  }
  if (backend == "cuda") {
    setThreads(threads);
    return devicePeak(reps);
  }
  if (backend != "cpu") die("--backend is cpu or cuda");
  return peak(threads, reps);
}
