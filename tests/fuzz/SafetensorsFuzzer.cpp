// libFuzzer target for the safetensors reader: any input must decode or fail
// cleanly (no crash, hang, leak, out-of-bounds read or huge allocation), and
// whatever decodes must encode to bytes that decode to the same names,
// tensors and metadata, and encode to the same bytes again.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "runtime/Safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto decoded = cairn::decodeSafetensors(bytes);
  if (!decoded.isOk()) return 0;
  auto encoded = cairn::encodeSafetensors(*decoded);
  if (!encoded.isOk()) {
    std::fprintf(stderr, "decoded data does not encode: %s\n", encoded.status().message().c_str());
    std::abort();
  }
  auto again = cairn::decodeSafetensors(*encoded);
  if (!again.isOk()) {
    std::fprintf(stderr, "encoded file does not decode: %s\n", again.status().message().c_str());
    std::abort();
  }
  if (!(*again == *decoded)) {
    std::fprintf(stderr, "decode(encode(x)) differs from x\n");
    std::abort();
  }
  auto reencoded = cairn::encodeSafetensors(*again);
  if (!reencoded.isOk() || *reencoded != *encoded) {
    std::fprintf(stderr, "encoding is not stable\n");
    std::abort();
  }
  return 0;
}
