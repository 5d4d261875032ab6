// libFuzzer target for cairn-serve's request decoding (tools/cairn-serve/
// TensorJson): any body must decode to tensors within the element limit or
// fail with a message, and what decodes must encode and decode again to the
// same tensor.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tools/cairn-serve/TensorJson.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  nlohmann::json body = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) return 0;
  auto inputs = body.find("inputs");
  if (inputs == body.end() || !inputs->is_array()) return 0;
  for (size_t i = 0; i < inputs->size(); ++i) {
    auto t = cairn::serve::tensorFromJson((*inputs)[i], i, 1 << 16);
    if (!t.isOk()) continue;
    if (t->numElements() > (1 << 16)) std::abort();
    nlohmann::json again = cairn::serve::tensorToJson(*t);
    auto back = cairn::serve::tensorFromJson(again, i, 1 << 16);
    // NaN and infinities encode as null, which does not decode: skip those.
    if (!back.isOk()) continue;
    if (back->type() != t->type() || back->byteSize() != t->byteSize()) {
      std::fprintf(stderr, "decode(encode(x)) changed the type\n");
      std::abort();
    }
  }
  return 0;
}
