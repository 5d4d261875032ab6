// A user-facing error with a source location, as the parser and verifier
// report them. Printed "file:line:col: error: message" like a compiler.
#pragma once

#include <string>
#include <vector>

#include "ir/IR.h"

namespace cairn {

struct Diagnostic {
  Location loc;
  std::string message;
  std::string toString() const {
    std::string where = loc.toString();
    return (where.empty() ? std::string() : where + ": ") + "error: " + message;
  }
};

} // namespace cairn
