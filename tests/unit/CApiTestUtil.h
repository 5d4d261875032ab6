// Helpers for tests of the C API's loading (AotTest, DeviceAotTest).
#pragma once

#include <string>

#include "runtime/capi/cairn.h"

namespace cairn::capitest {

/// Loads `aot` and frees the model: the load's code, its message in `*message`.
inline cairn_code loadCode(const cairn_aot_model& aot, std::string* message = nullptr) {
  cairn_model* m = nullptr;
  cairn_status* s = cairn_model_load_aot(&aot, &m);
  cairn_code code = cairn_status_code(s);
  if (message) *message = cairn_status_message(s);
  cairn_status_free(s);
  cairn_model_free(m);
  return code;
}

} // namespace cairn::capitest
