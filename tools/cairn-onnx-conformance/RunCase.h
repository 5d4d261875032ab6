// One case of ONNX's backend node tests: import model.onnx, run it on
// test_data_set_0's inputs, compare with its expected outputs.
#pragma once

#include <string>

namespace cairn {

enum class CaseResult { Pass, Fail, Unsupported, Crash, Timeout };

struct CaseReport {
  CaseResult result = CaseResult::Fail;
  std::string detail; ///< the reason, one line
};

struct CaseOptions {
  bool compiled = false; ///< also run the compiled executor (JIT), compared too
  double rtol = 1e-3, atol = 1e-7;
  int64_t maxTrip = 1 << 20; ///< a loop running longer is an error, not a hang
};

/// Runs the case in `dir` in this process (the caller isolates it).
CaseReport runCase(const std::string& dir, const CaseOptions& options);

/// Runs the case in a forked child limited to `seconds` of CPU time and
/// `memoryMiB` of address space: a crash or a hang becomes a report.
CaseReport runCaseIsolated(const std::string& dir, const CaseOptions& options, int seconds,
                           int memoryMiB);

const char* resultName(CaseResult r);

} // namespace cairn
