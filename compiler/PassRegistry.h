// The pass registry: creates passes by name.
//
// Tools (`cairn-opt --pass cse`, `--cse`) and tests refer to passes by the
// names listed here, so a new pass becomes usable everywhere by adding one
// line to registerBuiltinPasses() in PassRegistry.cpp. Registration is
// explicit rather than by static initializers, which a static library would
// silently drop when nothing references the pass's object file.
//
// Thread-safety: the global registry is filled once on first use (thread-safe
// static initialization); registering more passes later is not thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/Pass.h"
#include "ir/Status.h"

namespace cairn {

using PassFactory = std::function<std::unique_ptr<Pass>()>;

/// One registered pass: its name, a one-line description and a factory.
struct PassInfo {
  std::string name;
  std::string description;
  PassFactory factory;
};

class PassRegistry {
public:
  /// The registry holding the built-in passes.
  static PassRegistry& global();

  /// Adds a pass; registering a name twice is an internal error.
  void registerPass(std::string name, std::string description, PassFactory factory);

  /// Creates the pass called `name`, or an error listing the known names.
  StatusOr<std::unique_ptr<Pass>> create(std::string_view name) const;

  /// The registered pass called `name`, or nullptr.
  const PassInfo* lookup(std::string_view name) const;

  /// Every registered pass, in registration order.
  const std::vector<PassInfo>& passes() const { return passes_; }

private:
  std::vector<PassInfo> passes_;
};

/// Registers the passes that ship with Cairn into `registry`.
void registerBuiltinPasses(PassRegistry& registry);

} // namespace cairn
