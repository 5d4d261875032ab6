// cairn-onnx-bench: Cairn's side of the ONNX benchmark against onnxruntime
// (bench/onnx/run.sh; the driver bench/onnx/bench.py interleaves the two one
// repetition at a time, as bench/peers does). It imports an exported model
// (frontend/onnx), compiles it with the CPU executor and serves runs:
//
//   cairn-onnx-bench serve --model M.onnx --inputs DIR [--threads N]
//       DIR/input_<i>.npy are the graph's inputs in order. Prints one JSON
//       line (import and compile times, the function), then answers one
//       command per line of stdin with one JSON line:
//         run K      K runs: {"ms": [K wall times]}
//         save DIR   one run, its results written to DIR/cairn_<i>.npy
//         describe   the lowered program (instructions, slots)
//         profile    one run with ExecOptions::profile: time by instruction kind
//         quit
//
// Times are wall clock around Executable::run on one ExecutionContext
// reused across runs (its buffer pool warm), in milliseconds. Errors are
// one JSON line {"error": "..."} and exit status 1.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "compiler/codegen/cpu/CompileExecutable.h"
#include "frontend/onnx/OnnxImport.h"
#include "runtime/Npy.h"
#include "runtime/exec/Gemm.h"

using namespace cairn;
using json = nlohmann::json;

namespace {

double msSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

[[noreturn]] void die(const std::string& message) {
  std::cout << json{{"error", message}}.dump() << std::endl;
  std::exit(1);
}

template <typename T> T check(StatusOr<T> s) {
  if (!s.isOk()) die(s.status().message());
  return std::move(s).value();
}

int serve(const std::string& model, const std::string& inputs, int threads, bool serial) {
  if (threads > 0) exec::setBlasThreads(threads);
  auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<Module> m = check(importOnnxFile(model));
  double importMs = msSince(t0);
  if (m->functions().empty()) die("the model has no function");
  const Function& f = *m->functions().front();
  std::vector<Tensor> args;
  for (size_t i = 0; i < f.body().numArguments(); ++i)
    args.push_back(check(readNpy(fmt::format("{}/input_{}.npy", inputs, i))));
  auto t1 = std::chrono::steady_clock::now();
  std::unique_ptr<exec::Executable> exe = check(codegen::cpu::compileExecutable(*m));
  double compileMs = msSince(t1);
  exec::ExecutionContext ctx;
  exec::ExecOptions options;
  options.parallel = !serial;
  std::cout << json{{"import_ms", importMs},
                    {"compile_ms", compileMs},
                    {"function", f.name},
                    {"inputs", args.size()},
                    {"blas_threads", exec::blasThreads()},
                    {"blas", exec::blasDescription()}}
                   .dump()
            << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line == "quit") break;
    if (line.rfind("run ", 0) == 0) {
      int k = std::max(1, std::atoi(line.c_str() + 4));
      std::vector<double> ms;
      for (int i = 0; i < k; ++i) {
        auto t = std::chrono::steady_clock::now();
        check(exe->run(f.name, args, ctx, options));
        ms.push_back(msSince(t));
      }
      std::cout << json{{"ms", ms}}.dump() << std::endl;
    } else if (line == "describe") { // the lowered program, as cairn-exec-bench prints it
      std::cout << json{{"program", exe->describe()}}.dump() << std::endl;
    } else if (line == "profile") {
      // One run timed by instruction kind (a warm context of its own).
      exec::ExecutionContext pctx;
      check(exe->run(f.name, args, pctx, options));
      pctx.resetStats();
      exec::ExecOptions eo = options;
      eo.profile = true;
      auto t = std::chrono::steady_clock::now();
      check(exe->run(f.name, args, pctx, eo));
      json rows = json::array();
      for (const auto& [what, p] : pctx.stats().profile)
        if (what.rfind("copy", 0) != 0) // these count bytes, not time
          rows.push_back({{"what", what}, {"ms", p.nanos / 1e6}, {"calls", p.calls}});
      std::sort(rows.begin(), rows.end(),
                [](const json& a, const json& b) { return a["ms"] > b["ms"]; });
      const exec::ExecStats& st = pctx.stats();
      json counts = {{"gemm_calls", st.gemmCalls},
                     {"zero_products", st.zeroProducts},
                     {"split_calls", st.splitCalls},
                     {"parallel_runs", st.parallelRuns}};
      std::cout << json{{"ms", msSince(t)}, {"profile", rows}, {"counts", counts}}.dump()
                << std::endl;
    } else if (line.rfind("save ", 0) == 0) {
      std::string dir = line.substr(5);
      std::filesystem::create_directories(dir);
      std::vector<Tensor> out = check(exe->run(f.name, args, ctx));
      for (size_t i = 0; i < out.size(); ++i)
        if (Status s = writeNpy(fmt::format("{}/cairn_{}.npy", dir, i), out[i]); !s.isOk())
          die(s.message());
      std::cout << json{{"saved", out.size()}}.dump() << std::endl;
    } else {
      std::cout << json{{"error", "unknown command '" + line + "'"}}.dump() << std::endl;
    }
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"cairn-onnx-bench: Cairn's side of the ONNX benchmark (bench/onnx)"};
  app.require_subcommand(1);
  std::string model, inputs;
  int threads = 0;
  CLI::App* srv = app.add_subcommand("serve", "import, compile and serve timed runs");
  srv->add_option("--model", model, "The .onnx file")->required();
  srv->add_option("--inputs", inputs, "Directory of input_<i>.npy")->required();
  srv->add_option("--threads", threads, "OpenBLAS threads (default: OPENBLAS_NUM_THREADS)");
  bool serial = false;
  srv->add_flag("--serial-loops", serial,
                "Run independent loops one after the other (ExecOptions::parallel = false)");
  CLI11_PARSE(app, argc, argv);
  return serve(model, inputs, threads, serial);
}
