// The objects the Python bindings hand out, and the errors they raise.
//
// A Module is shared (std::shared_ptr) between the Python Module object,
// every builder tracing into it and every Val of those builders, so a Val
// kept alive by Python never points into a freed module. A Val carries its
// builder so that mixing values of two traced functions is caught here with
// a clear message instead of producing IR that fails to verify later.
#pragma once

#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "frontend/Builder.h"
#include "ir/IR.h"
#include "ir/Status.h"
#include "runtime/exec/Executable.h"

namespace cairn::python {

/// A failed Status from Cairn (parse, verify, run, compile, gradient): the
/// Python side sees it as cairn.CairnError with the Status's message, which
/// names the op and its location.
class CairnError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Throws CairnError when `s` failed.
inline void check(const Status& s) {
  if (!s.isOk()) throw CairnError(s.message());
}
template <typename T> T take(StatusOr<T>&& s) {
  if (!s.isOk()) throw CairnError(s.status().message());
  return std::move(s).value();
}

struct ModuleHandle {
  std::shared_ptr<Module> module = std::make_shared<Module>();
};

/// One function being traced: the builder and the module it builds into.
struct BuildState {
  std::shared_ptr<Module> module;
  std::unique_ptr<FunctionBuilder> builder;
  bool finished = false;
  /// Set when an exception left a `while`/`if` half built: values made inside
  /// its regions are gone, so the trace refuses any further op.
  bool broken = false;
  /// The function of a trace that failed, taken out of the module but kept
  /// alive: Python may still hold values of it (a traceback does).
  std::unique_ptr<Function> abandoned;
};

/// A symbolic value while tracing (Python: cairn._cairn.Val).
struct PyVal {
  std::shared_ptr<BuildState> state;
  Val val;
};

/// A compiled module (Python: cairn._cairn.Executable). One cached execution
/// context keeps its buffer pool warm across calls; a call that finds it
/// busy (another thread running) uses a fresh one.
struct CompiledHandle {
  std::unique_ptr<exec::Executable> exe;
  std::mutex mu;
  exec::ExecutionContext ctx;
  exec::ExecOptions options;
};

/// DType <-> its text-form name ("f32", ...); unknown names throw a
/// Python ValueError.
DType dtypeFromName(const std::string& name);

} // namespace cairn::python
