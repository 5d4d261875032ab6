// cairn-compile: ahead-of-time compilation of a text-IR module to an object
// file and a C header (compiler/codegen/cpu/CompileAot.h; for a CUDA device,
// compiler/codegen/cuda/CompileAotDevice.h).
//
//   cairn-compile model.cairn -o model.o --header model.h --prefix model
//   cairn-compile model.cairn --target cuda --arch sm_80,sm_90 -o model.o
//   cc -c main.c -I<cairn> && c++ main.o model.o -lcairn_capi ... (see examples/aot)
//
// Bad input (an unreadable or malformed module, a prefix that is not a C
// identifier, an unknown CPU, an unwritable output) is an error naming the
// problem, exit status 1.
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <vector>

#include <CLI/CLI.hpp>

#include "compiler/codegen/Subprocess.h"
#include "compiler/codegen/cpu/CompileAot.h"
#include "compiler/codegen/cuda/CompileAotDevice.h"
#include "frontend/onnx/OnnxImport.h"
#include "ir/Parser.h"
#include "ir/Verifier.h"
#include "runtime/ReadFile.h"
#include "tools/ToolMain.h"

using namespace cairn;

/// `$CC -shared -o <so> <object>`: the system's linker turns the object into
/// a shared object (LLVM writes objects, not shared libraries).
Status linkShared(const std::string& object, const std::string& so) {
  const char* env = std::getenv("CC");
  return codegen::runCommand({env && *env ? env : "cc", "-shared", "-o", so, object});
}

static int runTool(int argc, char** argv) {
  CLI::App app{"cairn-compile: compile a Cairn module ahead of time to an object file and a C header"};
  std::string model, object, header;
  codegen::cpu::AotOptions options;
  bool time = false;
  app.add_option("model", model, "The .cairn module")->required();
  app.add_option("-o,--output", object, "The object file to write")->required();
  app.add_option("--header", header, "The C header to write (default: the object's name with .h)");
  app.add_option("--prefix", options.prefix,
                 "C identifier prefixing the model's symbols (default: the object's base name)");
  app.add_option("--cpu", options.cpu,
                 "CPU to compile the kernels for: an LLVM CPU name (x86-64-v3, x86-64-v4, znver4, "
                 "...) or 'host'")
      ->capture_default_str();
  app.add_flag("--time", time, "Report the compile's phases on stderr");
  bool shared = false;
  app.add_flag("--shared", shared,
               "Write a shared object (-o model.so) that cairn_model_load_file and "
               "cairn_model_load_memory load at run time; links with $CC (default cc)");
  bool showTarget = false;
  app.add_flag("--print-target", showTarget,
               "Print the CPU and the target features the object records (the loader refuses a "
               "host lacking any)");
  std::string target = "cpu";
  app.add_option("--target", target,
                 "Where the model runs: cpu, or cuda (kernels as PTX and cubins for --arch, run "
                 "by the C API on the GPU; --cpu then names the CPU of the emulated device's "
                 "host entries)")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  codegen::cuda::DeviceAotOptions device;
  std::string archs = fmt::format("{}", fmt::join(device.architectures, ","));
  app.add_option("--arch", archs, "GPU architectures for --target cuda, comma-separated")
      ->capture_default_str();
  device.ptxas = codegen::cuda::defaultPtxas();
  app.add_option("--ptxas", device.ptxas,
                 "ptxas to assemble a cubin per architecture (--target cuda); 'none': PTX only")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (device.ptxas == "none") device.ptxas.clear();
  device.architectures.clear();
  for (size_t at = 0; at <= archs.size();) {
    size_t comma = std::min(archs.find(',', at), archs.size());
    if (comma > at) device.architectures.push_back(archs.substr(at, comma - at));
    at = comma + 1;
  }

  std::string base = object.substr(object.find_last_of('/') + 1);
  base = base.substr(0, base.find('.'));
  if (header.empty()) {
    size_t dot = object.rfind('.'), slash = object.rfind('/');
    header = (dot != std::string::npos && (slash == std::string::npos || dot > slash)
                  ? object.substr(0, dot)
                  : object) +
             ".h";
  }
  if (app.count("--prefix") == 0) {
    options.prefix = base;
    for (char& c : options.prefix)
      if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }

  StatusOr<std::string> read = readWholeFile(model);
  if (!read.isOk()) {
    std::cerr << "cairn-compile: error: " << read.status().message() << "\n";
    return 1;
  }
  const std::string& text = *read;
  auto m = isOnnxPath(model) ? importOnnxFile(model) : parseModule(text, model);
  if (!m.isOk()) {
    std::cerr << m.status().message() << "\n";
    return 1;
  }
  if (Status v = verify(**m); !v.isOk()) {
    std::cerr << v.message() << "\n";
    return 1;
  }
  codegen::cuda::DeviceAotReport report;
  options.sharedEntry = shared;
  std::string objectPath = shared ? object + ".o" : object;
  StatusOr<std::string> h = std::string();
  if (target == "cuda") {
    device.aot = options;
    h = codegen::cuda::compileAotForDevice(**m, device, objectPath, &report);
  } else {
    h = codegen::cpu::compileAot(**m, options, objectPath, &report);
  }
  if (!h.isOk()) {
    std::cerr << "cairn-compile: " << h.status().message() << "\n";
    return 1;
  }
  if (shared) {
    Status linked = linkShared(objectPath, object);
    std::remove(objectPath.c_str());
    if (!linked.isOk()) {
      std::cerr << "cairn-compile: error: " << linked.message() << "\n";
      return 1;
    }
  }
  std::ofstream out(header, std::ios::binary);
  out << *h;
  if (!out) {
    std::cerr << "cairn-compile: cannot write " << header << "\n";
    return 1;
  }
  if (showTarget)
    std::cout << "cpu: " << report.targetCpu << "\nfeatures: " << report.targetFeatures << "\n";
  if (time)
    std::cerr << "cairn-compile: " << report.functions << " functions, " << report.kernels
              << " kernels; passes " << report.passesMs << " ms, lowering " << report.lowerMs
              << " ms, LLVM " << report.codegenMs << " ms\n";
  if (time && target == "cuda")
    std::cerr << "cairn-compile: cuda: " << report.architectures << " architectures, "
              << report.cubins << " cubins (ptxas: "
              << (device.ptxas.empty() ? "none" : device.ptxas) << "), " << report.rowKernels
              << " row kernels, " << report.opKernels << " op kernels\n";
  return 0;
}

int main(int argc, char** argv) {
  return cairn::toolMain("cairn-compile", [&] { return runTool(argc, argv); });
}
