// cairn-compile: ahead-of-time compilation of a text-IR module to an object
// file and a C header (compiler/codegen/cpu/CompileAot.h).
//
//   cairn-compile model.cairn -o model.o --header model.h --prefix model
//   cc -c main.c -I<cairn> && c++ main.o model.o -lcairn_capi ... (see examples/aot)
//
// Bad input (an unreadable or malformed module, a prefix that is not a C
// identifier, an unknown CPU, an unwritable output) is an error naming the
// problem, exit status 1.
#include <fstream>
#include <iostream>
#include <iterator>

#include <CLI/CLI.hpp>

#include "compiler/codegen/cpu/CompileAot.h"
#include "frontend/onnx/OnnxImport.h"
#include "ir/Parser.h"
#include "ir/Verifier.h"

using namespace cairn;

int main(int argc, char** argv) {
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
  CLI11_PARSE(app, argc, argv);

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

  std::ifstream in(model, std::ios::binary);
  if (!in) {
    std::cerr << "cairn-compile: cannot read " << model << "\n";
    return 1;
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto m = isOnnxPath(model) ? importOnnxFile(model) : parseModule(text, model);
  if (!m.isOk()) {
    std::cerr << m.status().message() << "\n";
    return 1;
  }
  if (Status v = verify(**m); !v.isOk()) {
    std::cerr << v.message() << "\n";
    return 1;
  }
  codegen::cpu::AotReport report;
  auto h = codegen::cpu::compileAot(**m, options, object, &report);
  if (!h.isOk()) {
    std::cerr << "cairn-compile: " << h.status().message() << "\n";
    return 1;
  }
  std::ofstream out(header, std::ios::binary);
  out << *h;
  if (!out) {
    std::cerr << "cairn-compile: cannot write " << header << "\n";
    return 1;
  }
  if (time)
    std::cerr << "cairn-compile: " << report.functions << " functions, " << report.kernels
              << " kernels; passes " << report.passesMs << " ms, lowering " << report.lowerMs
              << " ms, LLVM " << report.codegenMs << " ms\n";
  return 0;
}
