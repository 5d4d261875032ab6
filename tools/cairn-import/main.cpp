// cairn-import: an ONNX model in, a Cairn text-IR module out.
//
//   cairn-import model.onnx -o model.cairn
//   cairn-import model.onnx            # prints the module
//
// The module is verified before it is written (frontend/onnx; docs/onnx.md).
// A malformed file, an unsupported opset or dtype, or a node Cairn cannot
// import is an error naming the node, its op type and the reason, exit 1.
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>

#include "frontend/onnx/OnnxImport.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"

using namespace cairn;

int main(int argc, char** argv) {
  CLI::App app{"cairn-import: convert an ONNX model to a Cairn text-IR module"};
  std::string model, output;
  OnnxImportOptions options;
  app.add_option("model", model, "The .onnx model")->required();
  app.add_option("-o,--output", output, "Where to write the .cairn module (default: stdout)");
  app.add_option("--function", options.functionName, "Name of the function made from the graph")
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
