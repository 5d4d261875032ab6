// cairn-export-reference: writes Cairn's golden cases for the PyTorch
// reference (bench/reference/run_reference.py), and times Cairn's reference
// interpreter on SNLI dev batches.
//
//   cairn-export-reference --out DIR [--case NAME]... [--data DATA_DIR]
//       DIR/<case>/{config.json, inputs/, params/, outputs/cairn_<i>.npy}
//   cairn-export-reference --time --out DIR [--batch-size 128] [--batches 3] [--repeat 3]
//                          [--hidden H]
//       DIR/batch_<k>/ likewise, plus the interpreter's forward time per batch
//       (the fastest of --repeat runs)
//
// Exit status 1 with a message on any error (unknown case, missing data, a
// model that fails to build or run).
#include <chrono>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>

#include "tests/golden/GoldenCases.h"

using namespace cairn;
using namespace cairn::golden;

namespace {

int fail(const std::string& message) {
  std::cerr << "cairn-export-reference: error: " << message << "\n";
  return 1;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Exports Cairn's golden cases for the PyTorch reference"};
  std::string out, dataDir = defaultDataDir(CAIRN_SOURCE_DIR);
  std::vector<std::string> cases;
  bool time = false, list = false;
  size_t batchSize = 128, batches = 3, repeat = 3;
  int64_t hidden = 0;
  app.add_option("--out", out, "Directory to write the cases into");
  app.add_option("--case", cases, "A case to export (default: all)");
  app.add_option("--data", dataDir, "The data directory (default: ../shared/data)");
  app.add_flag("--list", list, "Print the case names and exit");
  app.add_flag("--time", time, "Export and time SNLI dev batches instead of the golden cases");
  app.add_option("--batch-size", batchSize, "Timing: pairs per batch")->check(CLI::PositiveNumber);
  app.add_option("--batches", batches, "Timing: how many batches")->check(CLI::PositiveNumber);
  app.add_option("--repeat", repeat, "Timing: runs per batch (the fastest counts)")
      ->check(CLI::PositiveNumber);
  app.add_option("--hidden", hidden, "Timing: model size (embed = hidden, tracker = hidden/2)");
  CLI11_PARSE(app, argc, argv);

  if (list) {
    for (const auto& n : caseNames())
      std::cout << n << "\n";
    return 0;
  }
  if (out.empty()) return fail("--out is required");
  if (!haveData(dataDir)) return fail("no SNLI/SST data under '" + dataDir + "'");

  if (time) {
    auto timing = makeTimingCases(dataDir, batchSize, batches, hidden);
    if (!timing.isOk()) return fail(timing.status().message());
    double total = 0;
    for (const GoldenCase& c : *timing) {
      StatusOr<std::vector<Tensor>> r = Status::error("not run");
      double s = 0;
      for (size_t k = 0; k < repeat; ++k) {
        auto t0 = std::chrono::steady_clock::now();
        r = runCase(c);
        double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (!r.isOk()) return fail(r.status().message());
        s = k == 0 ? dt : std::min(s, dt);
      }
      total += s;
      std::cout << fmt::format("cairn reference interpreter: {}: B={} N={} T={}: {:.1f} ms\n",
                               c.name, c.inputs[0].shape()[1], c.inputs[0].shape()[2],
                               c.inputs[1].shape()[2], 1e3 * s);
      Status st = exportCase(c, *r, (std::filesystem::path(out) / c.name).string());
      if (!st.isOk()) return fail(st.message());
    }
    std::cout << fmt::format("cairn reference interpreter: mean forward {:.1f} ms per batch of "
                             "{} pairs over {} batches (fastest of {} runs each)\n",
                             1e3 * total / static_cast<double>(timing->size()), batchSize,
                             timing->size(), repeat);
    return 0;
  }

  if (cases.empty()) cases = caseNames();
  for (const std::string& name : cases) {
    auto c = makeCase(name, dataDir);
    if (!c.isOk()) return fail(c.status().message());
    auto r = runCase(*c);
    if (!r.isOk()) return fail(r.status().message());
    Status st = exportCase(*c, *r, (std::filesystem::path(out) / name).string());
    if (!st.isOk()) return fail(st.message());
    std::cout << "exported " << name << "\n";
  }
  return 0;
}
