// Progress lines for training tools (Progress.h).
#include "frontend/training/Progress.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>
#include <unistd.h>

namespace cairn::training {

std::string formatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  int64_t s = static_cast<int64_t>(std::llround(seconds));
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

std::string formatProgress(const ProgressSnapshot& s, const std::string& label) {
  std::string line = label.empty() ? "" : label + ": ";
  if (s.total > 0)
    line += fmt::format("step {}/{} ({:.1f}%)", s.step, s.total,
                        100.0 * static_cast<double>(s.step) / static_cast<double>(s.total));
  else
    line += fmt::format("step {}", s.step);
  line += fmt::format(" | loss {:.4f}", s.loss);
  if (s.accuracy) line += fmt::format(" | acc {:.1f}%", 100.0 * *s.accuracy);
  if (s.lr) line += fmt::format(" | lr {:.2e}", *s.lr);
  line += fmt::format(" | {:.1f} ex/s | {} elapsed", s.examplesPerSecond,
                      formatDuration(s.elapsedSeconds));
  if (s.total > 0 && s.step > 0) {
    double eta = s.elapsedSeconds / static_cast<double>(s.step) *
                 static_cast<double>(std::max<int64_t>(s.total - s.step, 0));
    line += fmt::format(" | ETA {}", formatDuration(eta));
  }
  return line;
}

Progress::Progress(std::ostream& out, ProgressOptions opts, bool terminal, double startSeconds)
    : out_(out), opts_(std::move(opts)), terminal_(terminal), start_(startSeconds) {
  if (opts_.plainEvery < 1) opts_.plainEvery = 1;
}

Progress::~Progress() {
  finish();
}

void Progress::update(int64_t step, double nowSeconds, double loss, int64_t examples,
                      std::optional<double> accuracy, std::optional<double> lr) {
  examples_ += examples;
  lossSum_ += loss;
  ++lossCount_;
  if (accuracy) {
    accSum_ += *accuracy;
    ++accCount_;
  }
  bool last = opts_.totalSteps > 0 && step >= opts_.totalSteps;
  bool due = terminal_ ? last || nowSeconds - lastDraw_ >= opts_.minRedrawSeconds
                       : last || step % opts_.plainEvery == 0 ||
                             nowSeconds - std::max(lastDraw_, start_) >= opts_.plainMaxSeconds;
  if (!due) return;
  ProgressSnapshot s;
  s.step = step;
  s.total = opts_.totalSteps;
  s.loss = lossSum_ / static_cast<double>(lossCount_);
  if (accCount_) s.accuracy = accSum_ / static_cast<double>(accCount_);
  s.lr = lr;
  s.elapsedSeconds = nowSeconds - start_;
  s.examplesPerSecond =
      s.elapsedSeconds > 0 ? static_cast<double>(examples_) / s.elapsedSeconds : 0.0;
  emit(s);
  lastDraw_ = nowSeconds;
  lossSum_ = accSum_ = 0;
  lossCount_ = accCount_ = 0;
}

void Progress::emit(const ProgressSnapshot& s) {
  std::string line = formatProgress(s, opts_.label);
  if (!terminal_) {
    out_ << line << '\n';
    out_.flush();
    return;
  }
  size_t width = line.size();
  if (width < drawnWidth_) line.append(drawnWidth_ - width, ' '); // blank the old tail
  out_ << '\r' << line;
  out_.flush();
  drawnWidth_ = width;
}

void Progress::finish() {
  if (terminal_ && drawnWidth_ > 0) {
    out_ << '\n';
    out_.flush();
  }
  drawnWidth_ = 0;
}

bool stdoutIsTerminal() {
  return ::isatty(STDOUT_FILENO) == 1;
}

double monotonicSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

} // namespace cairn::training
