// cairn-fuzz-diff: differential fuzzing of the compiler. Each seed names a
// random well-typed program (compiler/testing/ProgramGenerator.h); the
// program runs on the reference interpreter and on every backend under test
// (a pipeline followed by the interpreter, or the compiled executor,
// `--backend exec`), and the results must agree.
//
//   cairn-fuzz-diff --seeds 0:10000 --pipeline default --pipeline optimize --jobs 2
//   cairn-fuzz-diff --seeds 1234 --backend passes:canonicalize,cse+interpreter --minimize
//   cairn-fuzz-diff --seeds 1234 --print
//
// A mismatch, a compile error, a program that fails to verify or that the
// reference cannot run is reported with its seed; --save-failures writes the
// program, the backend's IR, the inputs (.npy) and the message for each.
// A crash (a pass that segfaults or aborts) ends the run naming the seeds in
// flight, or, with --isolate (each seed in a child process), is reported
// like any failure and the run goes on.
// Exit status: 0 when every seed passed, 1 otherwise, 2 on bad usage.
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "Isolation.h"
#include "compiler/testing/DifferentialCheck.h"
#include "compiler/testing/ExecBackend.h"
#include "compiler/testing/Reducer.h"
#include "ir/Printer.h"
#include "runtime/Npy.h"
#include "tools/ToolMain.h"

using namespace cairn;

namespace {

struct Options {
  std::string seeds = "0:1000";
  std::vector<std::string> pipelines;
  std::vector<std::string> backends;
  std::string reference = "interpreter";
  double tolerance = 0;
  std::string saveDir;
  int jobs = 1;
  bool print = false;
  bool isolate = false;
  bool minimize = false;
  bool verbose = false;
  size_t maxReports = 10;
  GeneratorOptions generator;
};

// ---- Crash reporting: a pass that aborts takes the process down; name the
// seeds in flight first so the crash can be reproduced. ------------------------

constexpr int kMaxJobs = 64;
std::atomic<uint64_t> gInFlight[kMaxJobs];
constexpr uint64_t kIdle = ~0ULL;

void writeNumber(uint64_t n) {
  char buf[24];
  int i = sizeof buf;
  do {
    buf[--i] = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n);
  (void)!write(2, buf + i, sizeof buf - i);
}

extern "C" void onCrash(int sig) {
  const char head[] = "\ncairn-fuzz-diff: crashed while checking seed(s):";
  (void)!write(2, head, sizeof head - 1);
  for (auto& s : gInFlight) {
    uint64_t seed = s.load();
    if (seed == kIdle) continue;
    (void)!write(2, " ", 1);
    writeNumber(seed);
  }
  (void)!write(2, "\n", 1);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

// ---- Seeds, backends, reports ----------------------------------------------------

StatusOr<std::pair<uint64_t, uint64_t>> parseSeeds(const std::string& s) {
  try {
    size_t colon = s.find(':');
    if (colon == std::string::npos) {
      uint64_t n = std::stoull(s);
      return std::pair{n, n + 1};
    }
    uint64_t lo = std::stoull(s.substr(0, colon)), hi = std::stoull(s.substr(colon + 1));
    if (hi < lo) return errorf("--seeds: empty range '{}'", s);
    return std::pair{lo, hi};
  } catch (const std::exception&) {
    return errorf("--seeds: expected N or A:B (A included, B excluded), got '{}'", s);
  }
}

std::vector<std::string> backendSpecs(const Options& o) {
  std::vector<std::string> specs;
  for (const std::string& p : o.pipelines)
    specs.push_back("pipeline:" + p + "+interpreter");
  specs.insert(specs.end(), o.backends.begin(), o.backends.end());
  if (specs.empty()) specs = {"pipeline:default+interpreter", "pipeline:optimize+interpreter"};
  return specs;
}

/// One thread's backends (a Backend is used by one thread at a time).
struct Worker {
  std::unique_ptr<Backend> reference;
  std::vector<std::unique_ptr<Backend>> owned;
  std::vector<Backend*> backends;
};

StatusOr<Worker> makeWorker(const Options& o) {
  Worker w;
  CAIRN_ASSIGN_OR_RETURN(w.reference, createBackend(o.reference));
  for (const std::string& spec : backendSpecs(o)) {
    CAIRN_ASSIGN_OR_RETURN(auto b, createBackend(spec));
    w.backends.push_back(b.get());
    w.owned.push_back(std::move(b));
  }
  return w;
}

const char* outcomeName(SeedReport::Outcome o) {
  switch (o) {
  case SeedReport::Outcome::Ok:
    return "ok";
  case SeedReport::Outcome::GeneratorError:
    return "generator error";
  case SeedReport::Outcome::ReferenceError:
    return "reference error";
  case SeedReport::Outcome::Mismatch:
    return "mismatch";
  case SeedReport::Outcome::Crash:
    return "crash";
  }
  return "?";
}

std::string fileSafe(std::string s) {
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
  return s;
}

/// Checks `seed` (each check in a child process with --isolate); a crash is
/// pinned on the first backend that crashes alone.
SeedReport check(uint64_t seed, const Options& o, Worker& w, const DiffOptions& diff) {
  auto all = [&] { return checkSeed(seed, *w.reference, w.backends, diff); };
  if (!o.isolate) return all();
  SeedReport r = runIsolated(seed, all);
  if (r.outcome != SeedReport::Outcome::Crash) return r;
  for (Backend* b : w.backends) {
    SeedReport one = runIsolated(seed, [&] { return checkSeed(seed, *w.reference, {b}, diff); });
    if (one.outcome == SeedReport::Outcome::Crash) {
      r.backend = b->name();
      break;
    }
  }
  r.program = printModule(*generateProgram(seed, o.generator));
  return r;
}

/// The report's program shrunk while the same backend still fails on it
/// (mismatch, error or crash: each candidate runs in a child process).
std::string minimized(const SeedReport& r, const Options& o, Worker& w) {
  Backend* bad = nullptr;
  for (Backend* b : w.backends)
    if (b->name() == r.backend) bad = b;
  if (!bad) return "";
  std::unique_ptr<Module> m = generateProgram(r.seed, o.generator);
  DiffOptions d;
  d.tolerance = o.tolerance;
  std::unique_ptr<Module> small = reduceProgram(*m, [&](const Module& candidate) {
    SeedReport c = runIsolated(r.seed, [&] {
      SeedReport out;
      if (stillMismatches(candidate, r.seed, *w.reference, *bad, d))
        out.outcome = SeedReport::Outcome::Mismatch;
      return out;
    });
    return !c.ok();
  });
  return printModule(*small);
}

void save(const SeedReport& r, const Options& o, const std::string& reduced) {
  const std::string& dir = o.saveDir;
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  std::string base = (fs::path(dir) / fmt::format("seed-{}", r.seed)).string();
  std::string header =
      fmt::format("// cairn-fuzz-diff seed {}: {}{}: {}\n", r.seed, outcomeName(r.outcome),
                  r.backend.empty() ? "" : " (" + r.backend + ")", r.message);
  std::ofstream(base + ".cairn") << header << r.program;
  std::ofstream(base + ".txt") << header;
  if (!r.compiled.empty())
    std::ofstream(base + "." + fileSafe(r.backend) + ".cairn") << header << r.compiled;
  if (!reduced.empty()) std::ofstream(base + ".min.cairn") << header << reduced;
  std::unique_ptr<Module> m = generateProgram(r.seed, o.generator);
  std::vector<Tensor> inputs = generateInputs(*m->lookup(kGeneratedEntry), r.seed);
  for (size_t i = 0; i < inputs.size(); ++i)
    (void)writeNpy(fmt::format("{}.in{}.npy", base, i), inputs[i]);
}

int run(const Options& o) {
  auto seeds = parseSeeds(o.seeds);
  if (!seeds.isOk()) {
    std::cerr << "cairn-fuzz-diff: error: " << seeds.status().message() << "\n";
    return 2;
  }
  auto [lo, hi] = *seeds;
  if (o.print) {
    for (uint64_t s = lo; s < hi; ++s)
      std::cout << "// seed " << s << "\n" << printModule(*generateProgram(s, o.generator)) << "\n";
    return 0;
  }
  int jobs = std::clamp(o.jobs, 1, kMaxJobs);
  std::vector<Worker> workers;
  for (int j = 0; j < jobs; ++j) {
    auto w = makeWorker(o);
    if (!w.isOk()) {
      std::cerr << "cairn-fuzz-diff: error: " << w.status().message() << "\n";
      return 2;
    }
    workers.push_back(std::move(*w));
  }
  for (auto& s : gInFlight)
    s = kIdle;
  if (!o.isolate) {
    std::signal(SIGABRT, onCrash);
    std::signal(SIGSEGV, onCrash);
  }

  DiffOptions diff;
  diff.generator = o.generator;
  diff.tolerance = o.tolerance;
  std::atomic<uint64_t> next{lo};
  std::mutex mu;
  std::vector<SeedReport> failures;
  auto start = std::chrono::steady_clock::now();
  auto work = [&](int j) {
    for (uint64_t s; (s = next.fetch_add(1)) < hi;) {
      gInFlight[j] = s;
      SeedReport r = check(s, o, workers[j], diff);
      if (o.verbose) {
        std::lock_guard<std::mutex> lock(mu);
        std::cerr << "seed " << s << ": " << outcomeName(r.outcome) << "\n";
      }
      if (!r.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        failures.push_back(std::move(r));
      }
    }
    gInFlight[j] = kIdle;
  };
  std::vector<std::thread> threads;
  for (int j = 0; j < jobs; ++j)
    threads.emplace_back(work, j);
  for (auto& t : threads)
    t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::sort(failures.begin(), failures.end(),
            [](const SeedReport& a, const SeedReport& b) { return a.seed < b.seed; });
  for (size_t i = 0; i < failures.size(); ++i) {
    const SeedReport& r = failures[i];
    std::string reduced = o.minimize && i < o.maxReports ? minimized(r, o, workers[0]) : "";
    std::cout << fmt::format("seed {}: {}{}: {}\n", r.seed, outcomeName(r.outcome),
                             r.backend.empty() ? "" : " (" + r.backend + ")", r.message);
    if (i < o.maxReports && !reduced.empty()) std::cout << "minimized program:\n" << reduced;
    if (!o.saveDir.empty()) save(r, o, reduced);
  }
  std::string specs;
  for (const std::string& s : backendSpecs(o))
    specs += (specs.empty() ? "" : ", ") + s;
  std::cout << fmt::format(
      "cairn-fuzz-diff: seeds {}:{} against {} ({}): {} failure(s) in {:.1f} s\n", lo, hi,
      o.reference, specs, failures.size(), secs);
  return failures.empty() ? 0 : 1;
}

} // namespace

static int runTool(int argc, char** argv) {
  if (Status s = registerExecBackend(); !s.isOk()) {
    std::cerr << s.message() << "\n";
    return 2;
  }
  CLI::App app{"cairn-fuzz-diff: compare backends with the reference interpreter on random "
               "programs"};
  Options o;
  app.add_option("--seeds", o.seeds, "Seed N, or range A:B (A included, B excluded)")
      ->capture_default_str();
  app.add_option("--pipeline", o.pipelines,
                 "Check pipeline NAME followed by the interpreter (repeatable); with neither "
                 "--pipeline nor --backend: default and optimize");
  app.add_option("--backend", o.backends,
                 "Check a backend spec (repeatable): interpreter, pipeline:<name>+<spec>, "
                 "passes:<a>,<b>+<spec>, or a registered executor");
  app.add_option("--reference", o.reference, "The reference backend")->capture_default_str();
  app.add_option("--tolerance", o.tolerance,
                 "Relative tolerance for floats (0: bit-exact, the default)");
  app.add_option("--save-failures", o.saveDir,
                 "Write seed-N.cairn, the backend's IR, inputs (.npy) and the message here");
  app.add_option("--jobs,-j", o.jobs, "Worker threads")->capture_default_str();
  app.add_flag("--isolate", o.isolate,
               "Check each seed in a child process: a crash is reported, the run goes on");
  app.add_flag("--minimize", o.minimize, "Shrink each reported failing program");
  app.add_option("--max-reports", o.maxReports, "Print details (and minimize) this many failures")
      ->capture_default_str();
  app.add_flag("--print", o.print, "Print the programs of the seeds and exit");
  app.add_flag("--verbose,-v", o.verbose, "One line per seed on stderr");
  app.add_option("--main-steps", o.generator.mainSteps, "Generator: steps in @main")
      ->capture_default_str();
  app.add_option("--max-depth", o.generator.maxDepth, "Generator: while/if nesting depth")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  return run(o);
}

int main(int argc, char** argv) {
  return cairn::toolMain("cairn-fuzz-diff", [&] { return runTool(argc, argv); });
}
