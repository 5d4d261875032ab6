// Whether this host can run code compiled for a list of LLVM target
// features ("+avx2,+fma,..."), without LLVM: an ahead-of-time object
// records every feature its target had (cairn-compile derives the list from
// LLVM's processor table), and the loader checks each one against cpuid and
// the OS's saved-state mask before binding any kernel. A feature this table
// does not know is refused, not assumed present: running code for an
// unknown feature is how a host dies on an illegal instruction.
#pragma once

#include <string>
#include <string_view>

namespace cairn::exec {

enum class IsaSupport {
  kPresent,
  kMissing,
  /// Only reachable through intrinsics (system instructions: mwaitx,
  /// wbnoinvd, sgx, ...), which Cairn's generated kernels never call: not
  /// required of the host even when the target CPU had it.
  kNotUsedByCairn,
  kUnknown,
};

/// Whether the host supports LLVM x86 feature `name` ("avx512f", "sse4.2").
IsaSupport hostIsaSupport(std::string_view name);

/// What a host lacks to run code for `features` (comma-separated, "+x"
/// entries required, "-x" ignored): "" when it can run it, else a message
/// naming the missing and unknown features.
std::string missingIsaFeatures(std::string_view features);

} // namespace cairn::exec
