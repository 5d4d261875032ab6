// A user-facing error with a source location, as the parser and verifier
// report them. Printed "file:line:col: error: message" like a compiler.
#pragma once

#include <string>
#include <vector>

#include "ir/IR.h"
#include "ir/Status.h"

namespace cairn {

struct Diagnostic {
  Location loc;
  std::string message;
  std::string toString() const {
    std::string where = loc.toString();
    return (where.empty() ? std::string() : where + ": ") + "error: " + message;
  }
};

/// "<loc>: error: '<op>' op <what>": a run-time error of `op`, as the
/// interpreter and the executors report them.
Status opError(const Op& op, const std::string& what, StatusCode code = StatusCode::kError);
/// The same around an error from below (a kernel's), keeping its code.
inline Status opError(const Op& op, const Status& cause) {
  return opError(op, cause.message(), cause.code());
}

/// "<loc>: " or "" when the location is unknown.
std::string locPrefix(const Location& loc);

} // namespace cairn
