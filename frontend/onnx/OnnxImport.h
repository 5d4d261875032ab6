// ONNX import: an ONNX model (ModelProto) becomes a Cairn module.
//
//   auto m = importOnnxFile("model.onnx");        // StatusOr<unique_ptr<Module>>
//   if (!m.isOk()) std::cerr << m.status().message();
//
// The graph becomes one function (`@main` unless options say otherwise):
// its parameters are the graph inputs that have no initializer, in order, and
// its results the graph outputs. Symbolic or unknown dims of the inputs become
// dynamic dims (`?`). Initializers (raw or typed data, external data files
// next to the model) become constants. `Loop` becomes `while`, `If` becomes
// `if`, `Scan` becomes `while`; see docs/onnx.md for the op coverage.
//
// Every failure is a Status, never an abort: a malformed or truncated file, an
// unsupported opset or dtype, and an unsupported node, whose message names the
// node, its op type and the reason:
//   model.onnx: node 'n3' (op NonZero): unsupported: no converter for this op
//
// Thread-safety: none shared; concurrent imports of different files are safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ir/IR.h"
#include "ir/Status.h"
#include "ir/Tensor.h"

namespace cairn {

struct OnnxImportOptions {
  /// Name of the function made from the main graph.
  std::string functionName = "main";
};

/// Reads and imports `path`. External data files are looked up relative to
/// the model's folder (and must stay inside it).
StatusOr<std::unique_ptr<Module>> importOnnxFile(const std::string& path,
                                                 const OnnxImportOptions& options = {});

/// Imports a serialized ModelProto. `baseDir` is where external data lives
/// ("" forbids external data); `what` names the model in messages.
StatusOr<std::unique_ptr<Module>> importOnnxBytes(std::string_view bytes,
                                                  const std::string& baseDir,
                                                  const std::string& what,
                                                  const OnnxImportOptions& options = {});

/// Reads a serialized TensorProto file (the `input_0.pb` of ONNX's tests).
StatusOr<Tensor> readOnnxTensorFile(const std::string& path);

/// The ONNX op types the importer converts (default domain), sorted.
std::vector<std::string> onnxSupportedOps();

/// True when `path` names an ONNX file (by its extension), so tools can
/// accept `.onnx` where they take text IR.
bool isOnnxPath(std::string_view path);

} // namespace cairn
