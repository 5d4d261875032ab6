// Running a check in a child process, so that a backend that crashes (a
// segfault in a pass, an internal-error abort) becomes a reported failure
// instead of the end of the fuzzing run.
#pragma once

#include <functional>

#include "compiler/testing/DifferentialCheck.h"

namespace cairn {

/// Runs `check` in a forked child and returns its report. When the child
/// dies of a signal, the report has outcome Crash and names the signal;
/// `seed` fills in the seed. Call only while no other thread of this process
/// holds a lock the child needs (glibc keeps malloc usable after fork).
SeedReport runIsolated(uint64_t seed, const std::function<SeedReport()>& check);

} // namespace cairn
