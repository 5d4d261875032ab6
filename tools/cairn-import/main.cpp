// cairn-import: an ONNX model in, a Cairn text-IR module out.
//
//   cairn-import model.onnx -o model.cairn
//   cairn-import model.onnx            # prints the module
//   cairn-import model.onnx --pass ""  # exactly what the importer built
//
// By default canonicalize, cse and dce tidy the module (the importer leaves
// the ops of shape computations it folded, and repeats small constants).
//
// The module is verified before it is written (frontend/onnx; docs/onnx.md).
// A malformed file, an unsupported opset or dtype, or a node Cairn cannot
// import is an error naming the node, its op type and the reason, exit 1.
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>

#include "compiler/Pipeline.h"
#include "frontend/onnx/OnnxImport.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "tools/ToolMain.h"

using namespace cairn;

static int runTool(int argc, char** argv) {
  CLI::App app{"cairn-import: convert an ONNX model to a Cairn text-IR module"};
  std::string model, output;
  OnnxImportOptions options;
  app.add_option("model", model, "The .onnx model")->required();
  app.add_option("-o,--output", output, "Where to write the .cairn module (default: stdout)");
  app.add_option("--function", options.functionName, "Name of the function made from the graph")
      ->capture_default_str();
  std::string passList = "canonicalize,cse,dce";
  app.add_option("--pass", passList, "Comma-separated passes run on the imported module")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  StatusOr<std::unique_ptr<Module>> m = importOnnxFile(model, options);
  if (!m.isOk()) {
    std::cerr << "cairn-import: error: " << m.status().message() << "\n";
    return 1;
  }
  Status valid = verify(**m);
  if (!valid.isOk()) {
    std::cerr << "cairn-import: internal error: the imported module does not verify: "
              << valid.message() << "\n";
    return 1;
  }
  std::vector<std::string> passes;
  for (size_t start = 0; start < passList.size();) {
    size_t comma = passList.find(',', start);
    if (comma == std::string::npos) comma = passList.size();
    if (comma > start) passes.push_back(passList.substr(start, comma - start));
    start = comma + 1;
  }
  if (Status ran = runPipeline(**m, passes); !ran.isOk()) {
    std::cerr << "cairn-import: error: " << ran.message() << "\n";
    return 1;
  }
  std::string text = printModule(**m);
  if (output.empty()) {
    std::cout << text;
    return 0;
  }
  std::ofstream out(output, std::ios::binary);
  out << text;
  if (!out) {
    std::cerr << "cairn-import: error: cannot write '" << output << "'\n";
    return 1;
  }
  return 0;
}

int main(int argc, char** argv) {
  return cairn::toolMain("cairn-import", [&] { return runTool(argc, argv); });
}
