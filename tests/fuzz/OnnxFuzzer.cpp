// libFuzzer target for the ONNX importer (frontend/onnx): a model file is
// untrusted input. Any bytes must import or fail with a Status (no crash,
// hang, leak, out-of-bounds read or huge allocation), and what imports must
// be a module the verifier accepts: IR the importer builds wrong would reach
// the user as a verifier error about a module they never wrote. External
// data is forbidden (no base folder), so no input reaches the file system.
// Seeds: tests/fuzz/make_onnx_corpus.py.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "frontend/onnx/OnnxImport.h"
#include "ir/Verifier.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto imported = cairn::importOnnxBytes(bytes, "", "fuzz");
  if (!imported.isOk()) return 0;
  cairn::Status verified = cairn::verify(**imported);
  if (!verified.isOk()) {
    std::fprintf(stderr, "an imported module does not verify: %s\n",
                 verified.message().c_str());
    std::abort();
  }
  return 0;
}
