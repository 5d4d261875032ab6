// Whether a served run may use a second thread: a model's independent
// loops (a BiRNN's two directions) side by side, each polling up to 200 us
// for the other (runtime/exec/SideThread.h).
//
// Alone on the machine that is the faster way: the BiLSTM tagger answered
// a lone client in 195-277 us with its loops paired against 299-320 us
// without. Under load it is the slower one: every CPU already runs a
// request, and each pair's second thread (polling included) takes a CPU
// from another request; at 16 and 64 connections on 2 CPUs the tagger
// served 2.1-2.8x more requests with each run on one thread
// (docs/serving.md, "Loop pairs under load"). So by default (`auto`) a run
// pairs its loops only while the requests in flight leave a CPU for the
// second thread: 2 x runs in flight <= CPUs.
#pragma once

#include <string>

#include "ir/Status.h"

namespace cairn::serve {

enum class PairPolicy { kAuto, kAlways, kNever };

/// "auto", "on" or "off" (--pairs).
StatusOr<PairPolicy> parsePairPolicy(const std::string& s);

/// Whether a run started when `inFlight` runs (itself included) were in
/// flight on `cpus` CPUs keeps to its calling thread.
bool runsOnOneThread(PairPolicy policy, int inFlight, int cpus);

/// The server's policy, process-wide (set once at startup).
void setPairPolicy(PairPolicy policy);

/// A run in flight while it lives, counted across every served model.
class RunInFlight {
public:
  RunInFlight();
  ~RunInFlight();
  RunInFlight(const RunInFlight&) = delete;
  RunInFlight& operator=(const RunInFlight&) = delete;
  /// What runsOnOneThread says under the server's policy and the process's
  /// CPUs (its affinity, read once).
  bool oneThread() const { return oneThread_; }

private:
  bool oneThread_;
};

} // namespace cairn::serve
