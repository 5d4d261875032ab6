// cairn-opt: reads text IR, verifies it, runs passes, prints the result.
//
// The workhorse of the lit tests, in the manner of mlir-opt:
//   cairn-opt model.cairn --pass canonicalize,cse      (or --canonicalize --cse)
//   cairn-opt - --pipeline default --print-after-all   (reads stdin)
//   cairn-opt bad.cairn --split-input-file --verify-diagnostics
// User errors (unreadable input, parse or verifier errors, unknown passes)
// go to stderr as "file:line:col: error: message" with exit status 1; the
// tool never aborts on bad input.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include <CLI/CLI.hpp>

#include "OpDocs.h"
#include "compiler/PassRegistry.h"
#include "compiler/Pipeline.h"
#include "compiler/autodiff/Autodiff.h"
#include "frontend/onnx/OnnxImport.h"
#include "ir/DiagnosticVerifier.h"
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "runtime/ReadFile.h"
#include "tools/ToolMain.h"

using namespace cairn;

namespace {

struct Options {
  std::string input = "-";
  std::string output = "-";
  std::vector<std::string> passes; // in command-line order
  bool splitInputFile = false;
  bool verifyDiagnostics = false;
  bool noVerify = false;
  /// --grad f:0,2 adds @f_grad, the gradient of @f w.r.t. arguments 0 and 2
  /// (before any pass runs).
  std::string grad;
  /// --grad-keep-rnn-ops: GradOptions::keepRnnOps for --grad (each `rnn`
  /// differentiates to one `rnn_grad` instead of being expanded first).
  bool gradKeepRnnOps = false;
  PipelineOptions pipeline;
};

/// Applies --grad to `m`.
Status applyGrad(Module& m, const std::string& spec, bool keepRnnOps) {
  if (spec.empty()) return Status::ok();
  size_t colon = spec.find(':');
  std::string fn = spec.substr(0, colon);
  const Function* f = m.lookup(fn);
  if (!f) return Status::error(fmt::format("--grad: no function @{} in the module", fn));
  GradOptions go;
  go.keepRnnOps = keepRnnOps;
  if (colon != std::string::npos) {
    std::stringstream list(spec.substr(colon + 1));
    std::string item;
    while (std::getline(list, item, ',')) {
      char* end = nullptr;
      unsigned long v = std::strtoul(item.c_str(), &end, 10);
      if (item.empty() || *end)
        return Status::error(fmt::format("--grad: '{}' is not an argument index", item));
      go.wrt.push_back(v);
    }
  } else {
    for (size_t i = 0; i < f->body().numArguments(); ++i)
      if (isFloat(f->body().argument(i)->type.dtype)) go.wrt.push_back(i);
  }
  return buildGradient(m, *f, go).status();
}

/// Reads `path` ("-" = stdin) whole.
StatusOr<std::string> readInput(const std::string& path) {
  if (path == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    return ss.str();
  }
  return readWholeFile(path);
}

void ensureNewline(std::string& s) {
  if (!s.empty() && s.back() != '\n') s += '\n';
}

class Driver {
public:
  Driver(const Options& options, std::string displayName)
      : options_(options), name_(std::move(displayName)) {}

  /// Processes one input (a whole file or one split chunk); appends the
  /// printed module to `out`. Returns false when it failed.
  bool processChunk(std::string_view chunk, std::string& out) {
    return options_.verifyDiagnostics ? checkDiagnostics(chunk, out) : compile(chunk, out);
  }

private:
  bool compile(std::string_view chunk, std::string& out) {
    // An .onnx input is imported (frontend/onnx) instead of parsed.
    auto parsed = isOnnxPath(name_) ? importOnnxFile(name_) : parseModule(chunk, name_);
    if (!parsed.isOk()) return fail(parsed.status().message());
    Module& m = **parsed;
    // Passes assume valid IR, so --no-verify only skips checks when no pass runs.
    if (!options_.noVerify || !options_.passes.empty()) {
      std::vector<Diagnostic> diags;
      Status valid = verify(m, &diags);
      if (!valid.isOk()) {
        if (diags.empty()) return fail(valid.message());
        for (const Diagnostic& d : diags)
          std::cerr << d.toString() << "\n";
        return false;
      }
    }
    Status graded = applyGrad(m, options_.grad, options_.gradKeepRnnOps);
    if (!graded.isOk()) return fail(fmt::format("{}: error: {}", name_, graded.message()));
    Status ran = runPipeline(m, options_.passes, pipelineOptions());
    if (!ran.isOk()) return fail(fmt::format("{}: error: {}", name_, ran.message()));
    std::string text = printModule(m);
    ensureNewline(text);
    out += text;
    return true;
  }

  /// --verify-diagnostics: the errors reported must be exactly the chunk's
  /// `expected-error` annotations.
  bool checkDiagnostics(std::string_view chunk, std::string& out) {
    std::vector<Diagnostic> diags;
    Diagnostic parseDiag;
    auto parsed = parseModule(chunk, name_, &parseDiag);
    if (!parsed.isOk()) {
      if (parseDiag.message.empty()) parseDiag.message = parsed.status().message();
      diags.push_back(parseDiag);
    } else {
      Status valid = verify(**parsed, &diags);
      if (!valid.isOk() && diags.empty()) diags.push_back({{}, valid.message()});
      if (diags.empty()) {
        Status graded = applyGrad(**parsed, options_.grad, options_.gradKeepRnnOps);
        if (!graded.isOk()) diags.push_back({{}, graded.message()});
      }
      if (diags.empty()) {
        Status ran = runPipeline(**parsed, options_.passes, pipelineOptions());
        if (!ran.isOk()) diags.push_back({{}, ran.message()});
      }
    }
    Status matched = checkExpectedDiagnostics(chunk, diags);
    if (!matched.isOk()) return fail(matched.message());
    if (parsed.isOk() && diags.empty()) {
      std::string text = printModule(**parsed);
      ensureNewline(text);
      out += text;
    }
    return true;
  }

  PipelineOptions pipelineOptions() const {
    PipelineOptions p = options_.pipeline;
    p.verifyEach = !options_.noVerify;
    return p;
  }

  bool fail(const std::string& message) {
    std::cerr << message << "\n";
    return false;
  }

  const Options& options_;
  std::string name_;
};

void addPassOptions(CLI::App& app, Options& options) {
  // Callbacks fire as each option is parsed, so --cse --dce --pass x keeps
  // the command-line order.
  app.add_option_function<std::vector<std::string>>(
         "--pass",
         [&](const std::vector<std::string>& names) {
           options.passes.insert(options.passes.end(), names.begin(), names.end());
         },
         "Passes to run, comma-separated, in order")
      ->delimiter(',')
      ->trigger_on_parse();
  app.add_option_function<std::string>(
         "--pipeline",
         [&](const std::string& name) {
           StatusOr<std::vector<std::string>> names = lookupPipeline(name);
           if (!names.isOk()) throw CLI::ValidationError("--pipeline", names.status().message());
           options.passes.insert(options.passes.end(), names->begin(), names->end());
         },
         "A named pass pipeline (default: canonicalize, cse, dce)")
      ->trigger_on_parse();
  for (const PassInfo& info : PassRegistry::global().passes()) {
    std::string name = info.name;
    app.add_flag_callback(
           "--" + name, [&options, name] { options.passes.push_back(name); }, info.description)
        ->trigger_on_parse();
  }
}

} // namespace

static int runTool(int argc, char** argv) {
  CLI::App app{"cairn-opt: run Cairn passes on text IR"};
  Options options;
  bool emitDocs = false, listPasses = false;
  app.add_option("input", options.input, "Input .cairn file, or - for stdin");
  app.add_option("-o", options.output, "Output file (default: stdout)");
  addPassOptions(app, options);
  app.add_option("--grad", options.grad,
                 "Add @f_grad, the gradient of @f's first result w.r.t. the listed arguments "
                 "(f:0,2; all float arguments when no list is given)");
  app.add_flag("--grad-keep-rnn-ops", options.gradKeepRnnOps,
               "With --grad: keep each rnn op whole; its gradient is one rnn_grad op");
  app.add_flag("--print-after-all", options.pipeline.printAfterAll,
               "Print the IR to stderr after each pass");
  app.add_flag("--time-passes", options.pipeline.timePasses, "Report each pass's wall time");
  app.add_flag("--split-input-file", options.splitInputFile,
               "Process each '// -----'-separated chunk as its own module");
  app.add_flag("--verify-diagnostics", options.verifyDiagnostics,
               "Check errors against '// expected-error' annotations");
  app.add_flag("--no-verify", options.noVerify,
               "Do not verify the input (when no pass runs) nor after each pass");
  app.add_flag("--emit-op-docs", emitDocs, "Print the op reference (Markdown) and exit");
  app.add_flag("--list-passes", listPasses, "List the registered passes and exit");
  CLI11_PARSE(app, argc, argv);

  if (emitDocs) {
    std::cout << emitOpDocs();
    return 0;
  }
  if (listPasses) {
    for (const PassInfo& info : PassRegistry::global().passes())
      std::cout << fmt::format("  {:<14} {}\n", info.name, info.description);
    return 0;
  }
  for (const std::string& name : options.passes)
    if (!PassRegistry::global().lookup(name)) {
      std::cerr << "cairn-opt: error: " << PassRegistry::global().create(name).status().message()
                << "\n";
      return 1;
    }

  StatusOr<std::string> text = readInput(options.input);
  if (!text.isOk()) {
    std::cerr << "cairn-opt: error: " << text.status().message() << "\n";
    return 1;
  }
  std::string displayName = options.input == "-" ? "<stdin>" : options.input;
  Driver driver(options, displayName);
  std::vector<std::string> chunks;
  if (options.splitInputFile) {
    chunks = splitInputFile(*text);
    // Pad each chunk with the newlines before it, so that errors and
    // expected-error lines are the file's line numbers, not the chunk's.
    size_t linesBefore = 0;
    for (std::string& chunk : chunks) {
      size_t lines = static_cast<size_t>(std::count(chunk.begin(), chunk.end(), '\n'));
      chunk.insert(0, linesBefore, '\n');
      linesBefore += lines + 1; // the chunk and its `// -----` line
    }
  } else {
    chunks.push_back(*text);
  }

  bool ok = true;
  std::string out;
  for (size_t i = 0; i < chunks.size(); ++i) {
    if (i > 0) out += "// -----\n";
    ok &= driver.processChunk(chunks[i], out);
  }

  if (options.output == "-") {
    std::cout << out;
  } else {
    std::ofstream file(options.output, std::ios::binary);
    if (!(file << out)) {
      std::cerr << "cairn-opt: error: cannot write '" << options.output << "'\n";
      return 1;
    }
  }
  return ok ? 0 : 1;
}

int main(int argc, char** argv) {
  return cairn::toolMain("cairn-opt", [&] { return runTool(argc, argv); });
}
