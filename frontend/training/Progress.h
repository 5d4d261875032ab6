// A progress reporter for training tools: step/total, loss, accuracy,
// examples/s, elapsed time and ETA on one line.
//
// On a terminal it redraws the line in place ('\r', padded over the previous
// one) at most every minRedrawSeconds; elsewhere (CI logs, files) it prints a
// plain line every `plainEvery` steps and on the last step. The loss and
// accuracy shown are means over the steps since the previous line, so a log
// line summarizes its interval; examples/s and the ETA use the whole run.
//
// Time is passed in (seconds from any monotonic clock, e.g.
// monotonicSeconds()), so the formatting is testable without a terminal or a
// clock.
//
// Thread-safety: none; one reporter per training loop.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

namespace cairn::training {

/// What one progress line shows.
struct ProgressSnapshot {
  int64_t step = 0;
  int64_t total = 0; ///< 0 = unknown: no percentage, no ETA
  double loss = 0;
  std::optional<double> accuracy; ///< in [0, 1]
  std::optional<double> lr;
  double examplesPerSecond = 0;
  double elapsedSeconds = 0;
};

/// "step 120/1000 (12.0%) | loss 0.6931 | acc 71.2% | lr 1.00e-03 | 1234.5 ex/s |
/// 0:12 elapsed | ETA 1:28" (the label, when given, first: "train: step ...").
std::string formatProgress(const ProgressSnapshot& s, const std::string& label = "");
/// "0:07", "3:05", "1:02:03"; "?" for a negative or non-finite time.
std::string formatDuration(double seconds);

struct ProgressOptions {
  int64_t totalSteps = 0;
  int64_t plainEvery = 50;       ///< plain mode: a line every N steps
  /// Plain mode: a line at least this often too, so a log written under
  /// nohup, a scheduler or `| tee` shows progress while steps are slow.
  double plainMaxSeconds = 30;
  double minRedrawSeconds = 0.1; ///< terminal mode: redraw at most this often
  std::string label;
};

class Progress {
public:
  /// `terminal`: redraw in place (pass stdoutIsTerminal() for std::cout).
  Progress(std::ostream& out, ProgressOptions opts, bool terminal, double startSeconds);
  ~Progress();

  /// Step `step` (1-based) finished at `nowSeconds`, having seen `examples`
  /// examples. Prints or redraws a line when due.
  void update(int64_t step, double nowSeconds, double loss, int64_t examples,
              std::optional<double> accuracy = std::nullopt,
              std::optional<double> lr = std::nullopt);
  /// Ends a redrawn line with a newline (idempotent; the destructor calls it).
  void finish();

private:
  void emit(const ProgressSnapshot& s);

  std::ostream& out_;
  ProgressOptions opts_;
  bool terminal_;
  double start_;
  double lastDraw_ = -1e300;
  int64_t examples_ = 0;
  // Means over the interval since the last line.
  double lossSum_ = 0, accSum_ = 0;
  int64_t lossCount_ = 0, accCount_ = 0;
  size_t drawnWidth_ = 0; ///< terminal: length of the line on screen
};

/// isatty(stdout).
bool stdoutIsTerminal();
/// A monotonic clock in seconds.
double monotonicSeconds();

} // namespace cairn::training
