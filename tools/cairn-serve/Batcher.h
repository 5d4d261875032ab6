// Dynamic batching (docs/serving.md, "Batching"): requests for one function
// whose results all lead with a dynamic batch dim are queued, and a worker
// runs the requests that fit together as one run, then splits the results.
//
// An argument with a dynamic dim is batched along its first one (the
// requests' rows concatenated there: dim 0 of [?, 64]; dim 1 of SPINN's
// pair tokens [2, ?, ?]); any other argument is shared and must be the same
// in every request of a batch (a weight sent along). Requests fit together
// when their batched arguments agree on every other dim and their shared
// arguments are equal, so a batch never changes what a request computes.
//
// With padding (BatchOptions::pad, `--batch-pad`), requests whose batched
// arguments differ in their other dynamic dims (sentences and trees of
// different lengths: SPINN's tokens [?, ?] and transitions [?, ?]) join one
// batch too: each argument is zero-padded past a request's own extent to
// the batch's largest. That is right only for a model whose rows ignore
// what lies past their own extent (SPINN given each row's length, a masked
// or summing model), which the operator asserts by asking for it. A
// result's dynamic dims past the first (a tagger's [?, ?, tags]) are cut
// back to each request's own extent of the argument dim they follow
// (resultSources); a result with a dynamic dim that follows none is never
// padded. A worker
// waits for the first request, then up to `wait` (or the first request's
// deadline) for `maxRows` rows that fit, unless every request the server
// is handling is already queued (one client: no wait); a batch runs under the earliest
// deadline of its requests. A batch that fails is run again one request at
// a time, so one bad request fails alone.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "ServedModel.h"

namespace cairn::serve {

struct BatchOptions {
  int64_t maxRows = 0; ///< rows per batch; 0: no batching
  std::chrono::microseconds wait{2000};
  int workers = 2; ///< batches run at once for one function
  /// Requests the server is handling (all functions): with `eager`, when
  /// every one is already queued here, no other can join, so a batch does
  /// not wait (one client sees no batching delay).
  std::function<int64_t()> inFlight;
  bool eager = true;
  /// Batch requests whose batched arguments differ in dynamic dims past the
  /// first, zero-padded (above).
  bool pad = false;
};

class Batcher {
public:
  /// Whether `f` can be batched: every result leads with a dynamic dim and
  /// at least one argument has one.
  static bool batchable(const FunctionInfo& f);
  /// Whether `f`'s requests can be padded to each other: batchable, some
  /// batched argument has a dynamic dim past its batch dim, and every
  /// dynamic dim of a result past the first has a source (below).
  static bool paddable(const FunctionInfo& f);
  /// Where a result's dynamic dim d >= 1 takes its extent from: the first
  /// batched argument whose dim d places past its batch dim is dynamic (a
  /// tagger's [?, ?, tags] from its tokens [?, ?]; SPINN's pair tokens
  /// [2, ?, ?] give dim 1 from their dim 2). In a padded batch that dim of
  /// each request's answer is cut back to the request's own extent of the
  /// argument's dim. arg -1: none (a static dim, or no source).
  struct Source {
    int arg = -1, dim = -1;
  };
  static std::vector<std::vector<Source>> resultSources(const FunctionInfo& f);

  Batcher(const ServedModel& model, FunctionInfo f, BatchOptions options);
  ~Batcher(); ///< answers what is queued, then stops the workers
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  /// Runs `inputs` (checked against the signature by the caller) in a
  /// batch; blocks until answered. Thread-safe.
  StatusOr<std::vector<Tensor>> run(std::vector<Tensor> inputs, const RunLimits& limits);

  struct Stats {
    int64_t requests = 0, batches = 0, rows = 0, retriedAlone = 0;
    int64_t paddedBatches = 0; ///< batches whose requests were padded to each other
  };
  Stats stats() const;

private:
  struct Pending {
    std::vector<Tensor> inputs;
    RunLimits limits;
    int64_t rows = 0;
    std::promise<StatusOr<std::vector<Tensor>>> done;
  };
  void work();
  bool fits(const Pending& a, const Pending& b) const;
  void runBatch(std::vector<std::shared_ptr<Pending>>& batch);

  const ServedModel& model_;
  FunctionInfo f_;
  BatchOptions o_;
  std::vector<int> axis_; ///< per argument: its batch dim (its first dynamic one), or -1: shared
  bool pad_ = false;      ///< o_.pad, and the function is paddable
  std::vector<std::vector<Source>> sources_; ///< resultSources(f_) when padding
  mutable std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Pending>> queue_;
  bool stop_ = false;
  Stats stats_;
  std::vector<std::thread> workers_;
};

} // namespace cairn::serve
