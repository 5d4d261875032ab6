// Backends for differential testing: ways of compiling and running a module
// whose results are compared with the reference interpreter's.
//
// A backend is named by a spec string:
//
//   interpreter                      the reference interpreter itself
//   pipeline:<name>+<spec>           run pipeline <name> ("default",
//                                    "optimize"), then hand the result to <spec>
//   passes:<p1>,<p2>,...+<spec>      the same with an explicit pass list
//   <registered>[:<arg>]             an executor added with registerBackend
//
// so "pipeline:optimize+interpreter" checks the optimize pipeline, and
// "passes:canonicalize,cse+interpreter" narrows a mismatch down to passes.
// The compiled executor plugs in by calling registerExecBackend()
// (ExecBackend.h) before the specs are parsed (cairn-fuzz-diff does); "exec"
// and "exec:nopasses" then name it.
//
// Thread-safety: registerBackend is not thread-safe (register at start-up);
// createBackend only reads the registry. A Backend and its Executables are
// used by one thread at a time; make one per thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/RewriteUtils.h" // cloneModule
#include "ir/IR.h"
#include "ir/Status.h"

namespace cairn {

/// A compiled module, ready to run any of its functions.
class Executable {
public:
  virtual ~Executable() = default;
  /// Runs function `entry` on `inputs`. A run-time error is a Status.
  virtual StatusOr<std::vector<Tensor>> run(std::string_view entry,
                                            const std::vector<Tensor>& inputs) = 0;
  /// The IR this executable runs, after the backend's own rewrites (for a
  /// failure report); empty when the backend has no IR to show.
  virtual std::string describe() const { return ""; }
};

class Backend {
public:
  virtual ~Backend() = default;
  /// The spec this backend was created from.
  virtual std::string name() const = 0;
  /// Compiles `m` (which stays untouched: backends that rewrite work on a
  /// copy). A compile error, invalid IR after a pass included, is a Status.
  virtual StatusOr<std::unique_ptr<Executable>> compile(const Module& m) = 0;
};

/// Makes a backend from the part of a spec after its name and ':' (empty
/// when there is none).
using BackendFactory = std::function<StatusOr<std::unique_ptr<Backend>>(std::string_view arg)>;

/// Adds executor `name` (e.g. "jit"); registering a name twice is an error.
Status registerBackend(std::string name, BackendFactory factory);

/// The backend for `spec` (see the header comment), or an error naming the
/// known executors.
StatusOr<std::unique_ptr<Backend>> createBackend(std::string_view spec);

} // namespace cairn
