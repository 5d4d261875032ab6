// cairn-serve: an HTTP/JSON inference server around the runtime
// (docs/runtime.md "cairn-serve"). Models are ahead-of-time shared objects
// (cairn-compile --shared), run through the C API, or text-IR modules
// compiled at startup by the JIT:
//
//   cairn-compile model.cairn -o model.so --shared
//   cairn-serve --model classifier=model.so --port 8080
//   curl -s localhost:8080/v1/models/classifier:predict -H 'Content-Type: application/json'
//        -d '{"inputs": [{"dtype": "f32", "shape": [1, 8], "data": [...]}]}'
//
// The example endpoints answer plain text from a model bundle
// (tools/cairn-serve/TextEndpoint.h, docs/serving.md "Text endpoints"):
//
//   cairn-spinn --data snli_1.0_dev.jsonl.gz --format snli --export-snli snli/
//   cairn-serve --snli snli=snli/ --batch-max-rows 64
//   curl -s localhost:8080/v1/models/snli:classify -d '{"premise": "A man sleeps.",
//        "hypothesis": "A person rests."}'
//
// SIGTERM or SIGINT stops accepting and answers the requests already
// accepted before exiting 0. A model that does not load stops the server
// before it listens, exit status 1, naming the file.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <map>
#include <tuple>
#include <unistd.h>
#include <thread>

#include <CLI/CLI.hpp>

#include "RunThreads.h"
#include "Server.h"
#include "runtime/RunLimits.h"
#include "runtime/exec/Gemm.h"
#include "tools/ToolMain.h"

using namespace cairn;
using namespace cairn::serve;

static int gSignalPipe[2] = {-1, -1};

static int runTool(int argc, char** argv) {
  CLI::App app{"cairn-serve: serve Cairn models over HTTP/JSON"};
  ServerOptions o;
  std::vector<std::string> models;
  int64_t maxMemoryMb = physicalMemoryBytes() / 4 * 3 >> 20;
  app.add_option("--model", models, "name=path: a shared object (.so, cairn-compile --shared) or a "
                                    ".cairn module (compiled at startup); repeatable");
  std::vector<std::string> snli, taggers;
  app.add_option("--snli", snli,
                 "name=dir: the SNLI example endpoint (POST /v1/models/name:classify, plain text "
                 "or binary parses) from a bundle written by cairn-spinn --export-snli; repeatable");
  app.add_option("--tagger", taggers,
                 "name=dir: the tagging example endpoint (POST /v1/models/name:tag) from a bundle "
                 "written by cairn-spinn --export-tagger; repeatable");
  app.add_option("--max-tokens", o.maxTokens,
                 "Tokens per sentence of a :classify or :tag request (413 past it)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  std::vector<std::string> weights;
  app.add_option("--weights", weights,
                 "name=file.safetensors: weights loaded once for model `name`, bound to the "
                 "arguments they are named like (requests send only the others); repeatable");
  app.add_option("--host", o.host, "Address to listen on")->capture_default_str();
  app.add_option("--port", o.port, "Port (0: any free one, see --port-file)")->capture_default_str();
  app.add_option("--port-file", o.portFile, "Write the port here once listening");
  app.add_option("--threads", o.threads, "Requests served at once")->capture_default_str();
  app.add_option("--batch-max-rows", o.batch.maxRows,
                 "Dynamic batching: rows per batch for functions whose results lead with a "
                 "dynamic dim (0: off)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  int64_t batchWaitUs = o.batch.wait.count();
  app.add_option("--batch-wait-us", batchWaitUs,
                 "Dynamic batching: how long the first request of a batch waits for others")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--batch-eager", o.batch.eager,
                 "Dynamic batching: run at once when every request in flight is queued "
                 "(false: always wait --batch-wait-us for rows)")
      ->capture_default_str();
  app.add_flag("--batch-pad", o.batch.pad,
               "Dynamic batching: also batch requests whose batched inputs differ in other "
               "dynamic dims (sentences, trees of different lengths), zero-padded to the batch's "
               "largest; only for models whose rows ignore what lies past their own extent "
               "(SPINN given lengths, masked models): docs/serving.md");
  app.add_option("--batch-workers", o.batch.workers, "Dynamic batching: batches run at once per "
                                                     "function")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-body-bytes", o.maxBodyBytes, "Larger request bodies get 413")
      ->capture_default_str();
  app.add_option("--max-elements", o.maxElements, "Elements per input tensor (413 past it)")
      ->capture_default_str();
  app.add_option("--timeout-ms", o.timeoutMs,
                 "Deadline of a request (a request's timeout_ms may only shorten it)")
      ->capture_default_str();
  app.add_option("--max-memory-mb", maxMemoryMb,
                 "Memory cap of one run, MiB (413 past it; default 3/4 of physical memory / threads)")
      ->capture_default_str();
  std::string pairs = "auto";
  app.add_option("--pairs", pairs,
                 "A model's independent loops (a BiRNN's two directions) on two threads: auto "
                 "(while 2 x runs in flight <= CPUs: faster alone, 2-3x slower under load), "
                 "on or off (docs/serving.md)")
      ->capture_default_str();
  int blasThreads = 1;
  app.add_option("--blas-threads", blasThreads,
                 "BLAS threads per product (the server's concurrency is its requests: with "
                 "OpenBLAS's threads inside each of many concurrent runs, 64 SPINN clients got "
                 "no answer within 4 s on 2 cores)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  o.batch.wait = std::chrono::microseconds(batchWaitUs);
  exec::setBlasThreads(blasThreads);
  StatusOr<serve::PairPolicy> pairPolicy = serve::parsePairPolicy(pairs);
  if (!pairPolicy.isOk()) {
    std::fprintf(stderr, "cairn-serve: error: %s\n", pairPolicy.status().message().c_str());
    return 1;
  }
  serve::setPairPolicy(*pairPolicy);
  if (o.threads < 1 || o.timeoutMs < 1 || o.maxElements < 1 || maxMemoryMb < 0) {
    std::fprintf(stderr, "cairn-serve: error: --threads, --timeout-ms and --max-elements must be "
                         ">= 1, --max-memory-mb >= 0\n");
    return 1;
  }
  o.maxBytes = (maxMemoryMb << 20) / o.threads;

  if (models.empty() && snli.empty() && taggers.empty()) {
    std::fprintf(stderr, "cairn-serve: error: nothing to serve: give --model, --snli or --tagger\n");
    return 1;
  }
  std::map<std::string, std::unique_ptr<ServedModel>> loaded;
  std::map<std::string, std::unique_ptr<TextEndpoint>> endpoints;
  // name=path, the name not taken yet; "" when malformed (said on stderr).
  auto nameOf = [&](const char* option, const std::string& spec) -> std::string {
    size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
      std::fprintf(stderr, "cairn-serve: error: %s '%s': expected name=path\n", option,
                   spec.c_str());
      return "";
    }
    std::string name = spec.substr(0, eq);
    if (loaded.count(name)) {
      std::fprintf(stderr, "cairn-serve: error: model name '%s' given twice\n", name.c_str());
      return "";
    }
    return name;
  };
  for (const std::string& spec : models) {
    std::string name = nameOf("--model", spec);
    if (name.empty()) return 1;
    StatusOr<std::unique_ptr<ServedModel>> m = loadServedModel(spec.substr(name.size() + 1));
    if (!m.isOk()) {
      std::fprintf(stderr, "cairn-serve: error: %s\n", m.status().message().c_str());
      return 1;
    }
    loaded.emplace(name, std::move(m).value());
  }
  for (auto [option, specs, load] :
       {std::tuple{"--snli", &snli, &loadSnliEndpoint}, {"--tagger", &taggers, &loadTaggerEndpoint}})
    for (const std::string& spec : *specs) {
      std::string name = nameOf(option, spec);
      if (name.empty()) return 1;
      StatusOr<LoadedEndpoint> e = load(spec.substr(name.size() + 1));
      if (!e.isOk()) {
        std::fprintf(stderr, "cairn-serve: error: %s %s: %s\n", option, name.c_str(),
                     e.status().message().c_str());
        return 1;
      }
      loaded.emplace(name, std::move(e->model));
      endpoints.emplace(name, std::move(e->endpoint));
    }
  for (const std::string& spec : weights) {
    size_t eq = spec.find('=');
    auto it = eq == std::string::npos ? loaded.end() : loaded.find(spec.substr(0, eq));
    if (it == loaded.end()) {
      std::fprintf(stderr, "cairn-serve: error: --weights '%s': expected name=file with the name "
                           "of a --model\n",
                   spec.c_str());
      return 1;
    }
    StatusOr<std::unique_ptr<ServedModel>> bound =
        bindWeights(std::move(it->second), spec.substr(eq + 1));
    if (!bound.isOk()) {
      std::fprintf(stderr, "cairn-serve: error: model '%s': %s\n", it->first.c_str(),
                   bound.status().message().c_str());
      return 1;
    }
    it->second = std::move(bound).value();
  }

  // SIGTERM and SIGINT write a byte to a pipe (async-signal-safe, whichever
  // thread takes the signal: OpenBLAS's and LLVM's threads exist before
  // main could block them); a thread reading it stops the server.
  if (::pipe(gSignalPipe) != 0) {
    std::perror("cairn-serve: error: pipe");
    return 1;
  }
  struct sigaction sa {};
  sa.sa_handler = [](int sig) {
    unsigned char b = static_cast<unsigned char>(sig);
    [[maybe_unused]] ssize_t n = ::write(gSignalPipe[1], &b, 1);
  };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN); // a client that hangs up is the socket's error, not ours

  Server server(o, std::move(loaded), std::move(endpoints));
  std::thread waiter([&] {
    unsigned char sig = 0;
    while (::read(gSignalPipe[0], &sig, 1) < 0 && errno == EINTR) {
    }
    if (sig != 0) {
      std::fprintf(stderr, "cairn-serve: signal %d: draining\n", sig);
      server.stop();
    }
  });
  bool ok = server.run();
  if (!ok) { // wake the waiter without a signal
    unsigned char zero = 0;
    [[maybe_unused]] ssize_t n = ::write(gSignalPipe[1], &zero, 1);
  }
  waiter.join();
  if (ok) std::fprintf(stderr, "cairn-serve: stopped\n");
  return ok ? 0 : 1;
}

int main(int argc, char** argv) {
  return cairn::toolMain("cairn-serve", [&] { return runTool(argc, argv); });
}
