// cairn-run: runs one function of a text-IR module with the reference
// interpreter (or, with --compile, the compiled executor), on .npy inputs or
// deterministic random ones.
//
//   cairn-run model.cairn --input x.npy --input w.npy --print
//   cairn-run model.cairn --function step --input-random 7 --dim 16 --output-dir out/
//   cairn-run model.cairn --input-random 7 --compile --time
//
// It is the quickest way to see what a model computes, and what lit tests
// use to check results end to end. Bad inputs (wrong count, dtype or shape,
// unreadable files) are errors naming the offending argument, exit status 1.
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include <CLI/CLI.hpp>

#include "RandomInputs.h"
#include "compiler/codegen/cpu/CompileExecutable.h"
#include "frontend/onnx/OnnxImport.h"
#include "ir/Parser.h"
#include "ir/Verifier.h"
#include "runtime/Npy.h"
#include "runtime/reference/Interpreter.h"
#include "runtime/ReadFile.h"
#include "runtime/RunLimits.h"
#include "runtime/exec/Gemm.h"
#include "tools/ToolMain.h"

using namespace cairn;

namespace {

struct Options {
  std::string model;
  std::string function;
  std::vector<std::string> inputs;
  std::optional<uint64_t> randomSeed;
  int64_t dynamicDim = 4;
  int64_t maxMemoryMb = physicalMemoryBytes() / 4 * 3 >> 20; ///< 0: no cap
  double timeoutSeconds = 0;                                 ///< 0: none
  std::string outputDir;
  std::vector<std::string> save;
  bool print = false;
  bool printInputs = false;
  int64_t printLimit = 64;
  int64_t maxTrip = 0;
  bool compile = false;
  bool time = false;
};

StatusOr<std::unique_ptr<Module>> loadModule(const std::string& path) {
  if (isOnnxPath(path)) { // imported (frontend/onnx), then verified as text IR is
    CAIRN_ASSIGN_OR_RETURN(auto m, importOnnxFile(path));
    CAIRN_RETURN_IF_ERROR(verify(*m));
    return m;
  }
  StatusOr<std::string> read = readWholeFile(path);
  if (!read.isOk()) return errorf("cairn-run: error: {}", read.status().message());
  const std::string& text = *read;
  CAIRN_ASSIGN_OR_RETURN(auto m, parseModule(text, path));
  std::vector<Diagnostic> diags;
  Status valid = verify(*m, &diags);
  if (!valid.isOk()) {
    std::string message;
    for (const Diagnostic& d : diags)
      message += (message.empty() ? "" : "\n") + d.toString();
    return Status::error(message.empty() ? valid.message() : message);
  }
  return m;
}

StatusOr<const Function*> pickFunction(const Module& m, const std::string& name) {
  if (!name.empty()) {
    if (const Function* f = m.lookup(name)) return f;
    std::string known;
    for (auto& f : m.functions())
      known += (known.empty() ? "@" : ", @") + f->name;
    return errorf("cairn-run: error: --function: no function @{} in the module (it has: {})", name,
                  known.empty() ? "none" : known);
  }
  if (m.functions().empty()) return errorf("cairn-run: error: the module has no function");
  return m.functions().front().get();
}

std::string describeParam(const Function& f, size_t i) {
  const std::string& n = f.body().argument(i)->name;
  return n.empty() ? fmt::format("parameter #{}", i) : fmt::format("parameter %{}", n);
}

/// Reads the --input files and checks them against `f`'s signature.
StatusOr<std::vector<Tensor>> loadInputs(const Function& f, const Options& o) {
  const size_t want = f.body().numArguments();
  if (o.inputs.size() != want)
    return errorf("cairn-run: error: --input: @{} takes {} input(s), got {}", f.name, want,
                  o.inputs.size());
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < want; ++i) {
    std::string what =
        fmt::format("--input #{} ('{}', {} of @{})", i, o.inputs[i], describeParam(f, i), f.name);
    StatusOr<Tensor> t = readNpy(o.inputs[i]);
    if (!t.isOk()) return errorf("cairn-run: error: {}: {}", what, t.status().message());
    const TensorType& expected = f.body().argument(i)->type;
    bool shapeOk = expected.rank() == t->rank();
    for (int64_t d = 0; shapeOk && d < expected.rank(); ++d)
      shapeOk = dimsCompatible(expected.shape[d], t->shape()[d]);
    if (expected.dtype != t->dtype() || !shapeOk)
      return errorf("cairn-run: error: {}: expected {}, got {}", what, expected.toString(),
                    t->type().toString());
    inputs.push_back(std::move(*t));
  }
  return inputs;
}

/// Prints a tensor in full when small, else its first `limit` elements.
std::string formatTensor(const Tensor& t, int64_t limit) {
  if (t.numElements() <= limit) return t.toString();
  std::string s = "[";
  for (int64_t i = 0; i < limit; ++i) {
    if (i) s += ", ";
    if (t.dtype() == DType::F64)
      s += fmt::format("{}", t.getDouble(i));
    else if (isFloat(t.dtype())) // shortest form of the narrow value, not of its double
      s += fmt::format("{}", static_cast<float>(t.getDouble(i)));
    else
      s += std::to_string(t.getInt(i));
  }
  return s + fmt::format(", ...] ({} elements, row-major, truncated)", t.numElements());
}

Status saveOutputs(const std::vector<Tensor>& outputs, const Options& o) {
  std::vector<std::pair<std::string, const Tensor*>> files;
  if (!o.save.empty()) {
    if (o.save.size() != outputs.size())
      return errorf("cairn-run: error: --save: the function returns {} value(s), got {} path(s)",
                    outputs.size(), o.save.size());
    for (size_t i = 0; i < outputs.size(); ++i)
      files.emplace_back(o.save[i], &outputs[i]);
  }
  if (!o.outputDir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(o.outputDir, ec);
    if (ec)
      return errorf("cairn-run: error: --output-dir: cannot create '{}': {}", o.outputDir,
                    ec.message());
    for (size_t i = 0; i < outputs.size(); ++i)
      files.emplace_back(
          (std::filesystem::path(o.outputDir) / fmt::format("out{}.npy", i)).string(), &outputs[i]);
  }
  for (auto& [path, tensor] : files) {
    Status s = writeNpy(path, *tensor);
    if (!s.isOk()) return errorf("cairn-run: error: cannot save '{}': {}", path, s.message());
  }
  return Status::ok();
}

int run(const Options& o) {
  auto fail = [](const Status& s) {
    std::cerr << s.message() << "\n";
    return 1;
  };
  if (!o.inputs.empty() && o.randomSeed)
    return fail(errorf("cairn-run: error: give either --input or --input-random, not both"));
  if (o.dynamicDim < 0) return fail(errorf("cairn-run: error: --dim must be >= 0"));
  if (o.maxMemoryMb < 0 || o.timeoutSeconds < 0)
    return fail(errorf("cairn-run: error: --max-memory-mb and --timeout must be >= 0"));
  // Memory: the inputs and the run's values; the deadline is set when the run starts.
  RunLimits limits;
  limits.maxBytes = o.maxMemoryMb > 0 ? o.maxMemoryMb << 20 : 0;
  StatusOr<std::unique_ptr<Module>> m = loadModule(o.model);
  if (!m.isOk()) return fail(m.status());
  StatusOr<const Function*> f = pickFunction(**m, o.function);
  if (!f.isOk()) return fail(f.status());
  const Function& fn = **f;

  std::vector<Tensor> inputs;
  if (o.randomSeed) {
    StatusOr<std::vector<Tensor>> generated =
        randomInputs(fn.argumentTypes(), *o.randomSeed, o.dynamicDim, limits.maxBytes);
    if (!generated.isOk())
      return fail(generated.status().withMessage("cairn-run: error: " + generated.status().message()));
    inputs = std::move(*generated);
  } else if (!o.inputs.empty() || fn.body().numArguments() > 0) {
    StatusOr<std::vector<Tensor>> loaded = loadInputs(fn, o);
    if (!loaded.isOk()) return fail(loaded.status());
    inputs = std::move(*loaded);
  }
  if (o.printInputs)
    for (size_t i = 0; i < inputs.size(); ++i)
      std::cout << fmt::format("input {}: {}\n{}\n", i, inputs[i].type().toString(),
                               formatTensor(inputs[i], o.printLimit));

  if (limits.maxBytes > 0) { // the inputs count against the cap, as in the C API
    int64_t held = 0;
    for (const Tensor& t : inputs)
      held += static_cast<int64_t>(t.byteSize());
    if (held >= limits.maxBytes)
      return fail(errorf("cairn-run: error: the inputs hold {} bytes, the --max-memory-mb cap is {}",
                         held, limits.maxBytes));
    limits.maxBytes -= held;
  }

  auto start = std::chrono::steady_clock::now();
  auto msSince = [](auto t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
        .count();
  };
  StatusOr<std::vector<Tensor>> outputs = Status::error("not run");
  if (o.compile) {
    codegen::cpu::CompileReport report;
    auto exe = codegen::cpu::compileExecutable(*fn.parentModule(), {}, &report);
    if (!exe.isOk()) return fail(exe.status());
    if (o.time)
      std::cerr << fmt::format("cairn-run: compiled in {:.1f} ms ({} static kernels, {} dynamic, "
                               "{} GEMMs, {} fallbacks)\n",
                               msSince(start), report.kernelsStatic, report.kernelsDynamic,
                               report.gemms, report.fallbacks);
    exec::ExecOptions execOptions;
    execOptions.defaultMaxTrip = o.maxTrip;
    execOptions.limits = limits.withTimeout(std::chrono::duration<double>(o.timeoutSeconds));
    start = std::chrono::steady_clock::now();
    outputs = (*exe)->run(fn.name, inputs, execOptions);
  } else {
    InterpreterOptions interpOptions;
    interpOptions.defaultMaxTrip = o.maxTrip;
    interpOptions.limits = limits.withTimeout(std::chrono::duration<double>(o.timeoutSeconds));
    outputs = interpret(fn, inputs, interpOptions);
  }
  if (!outputs.isOk()) return fail(outputs.status());
  if (o.time)
    std::cerr << fmt::format("cairn-run: ran in {:.2f} ms ({}{})\n", msSince(start),
                             o.compile ? "compiled executor; products: " : "reference interpreter",
                             o.compile ? exec::blasDescription() : "");

  bool saving = !o.save.empty() || !o.outputDir.empty();
  if (o.print || !saving)
    for (size_t i = 0; i < outputs->size(); ++i)
      std::cout << fmt::format("output {}: {}\n{}\n", i, (*outputs)[i].type().toString(),
                               formatTensor((*outputs)[i], o.printLimit));
  if (saving) {
    Status saved = saveOutputs(*outputs, o);
    if (!saved.isOk()) return fail(saved);
  }
  return 0;
}

} // namespace

static int runTool(int argc, char** argv) {
  CLI::App app{"cairn-run: run a function of a Cairn module with the reference interpreter or "
               "the compiled executor"};
  Options o;
  app.add_option("model", o.model, "The .cairn module")->required();
  app.add_option("--function", o.function, "Function to run (default: the first)");
  app.add_option("--input", o.inputs, "One .npy file per parameter, in order")->delimiter(',');
  app.add_option("--input-random", o.randomSeed,
                 "Generate inputs deterministically from this seed");
  app.add_option("--dim", o.dynamicDim, "Size of dynamic (?) dims of generated inputs")
      ->capture_default_str();
  app.add_option("--output-dir", o.outputDir, "Save outputs as <dir>/out<i>.npy");
  app.add_option("--save", o.save, "Save outputs to these .npy files, in order")->delimiter(',');
  app.add_flag("--print", o.print, "Print outputs (the default unless saving)");
  app.add_flag("--print-inputs", o.printInputs, "Print the inputs too");
  app.add_option("--print-limit", o.printLimit, "Print at most this many elements per tensor")
      ->capture_default_str();
  app.add_option("--max-trip", o.maxTrip,
                 "Fail a while loop without max_trip after this many iterations (0: unbounded)")
      ->capture_default_str();
  app.add_option("--max-memory-mb", o.maxMemoryMb,
                 "Fail (naming the value) when inputs and live values pass this many MiB "
                 "(default: 3/4 of physical memory; 0: no cap)")
      ->capture_default_str();
  app.add_option("--timeout", o.timeoutSeconds, "Stop the run after this many seconds (0: none)");
  app.add_flag("--compile", o.compile,
               "Compile (optimize pipeline, JIT kernels, BLAS) and run with the executor");
  app.add_flag("--time", o.time,
               "Report compile and run wall times on stderr (and, compiled, the BLAS libraries)");
  CLI11_PARSE(app, argc, argv);
  return run(o);
}

int main(int argc, char** argv) {
  return cairn::toolMain("cairn-run", [&] { return runTool(argc, argv); });
}
