// The pass interface: one Module -> Module transformation with a name.
//
// Shaped like XLA's HloPassInterface: a pass reports whether it changed the
// module, so a pipeline can iterate to a fixed point or skip a re-verify,
// and fails with a Status (a user-facing error, e.g. IR it cannot handle)
// rather than aborting. Passes assume their input has been verified and
// must leave it verifiable; the pipeline checks that with verifyEach.
//
// Thread-safety: a Pass object is used by one thread at a time.
#pragma once

#include <string_view>

#include "ir/IR.h"
#include "ir/Status.h"

namespace cairn {

/// A transformation of a whole module.
class Pass {
public:
  virtual ~Pass() = default;

  /// The name used by the registry, `cairn-opt --pass` and IR dumps.
  virtual std::string_view name() const = 0;

  /// Rewrites `m` in place. Returns whether anything changed, or an error
  /// when the pass cannot proceed (the module may then be partly rewritten
  /// but still valid).
  virtual StatusOr<bool> run(Module& m) = 0;
};

} // namespace cairn
