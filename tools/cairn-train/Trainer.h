// cairn-train's loop: data splits, steps of @train_step in the reference
// interpreter, periodic evaluation, checkpoints and the final report.
#pragma once

#include <cstdint>
#include <string>

#include "TrainingGraph.h"

namespace cairn::train_tool {

struct TrainOptions {
  TrainConfig config;
  data::CorpusOptions corpus; ///< the training data (generated ListOps when path is empty)
  std::string evalData;       ///< held-out file; empty: generated, or the file's last 10%
  size_t evalExamples = 500;  ///< held-out (and train-accuracy) examples evaluated
  size_t batch = 32;
  size_t evalBatch = 128;
  int64_t steps = 0;      ///< stop after this many steps in all (0 = no bound)
  int64_t epochs = 0;     ///< or after this many passes over the data (0 = no bound)
  double timeLimit = 0;   ///< or after this many seconds of training (0 = no bound)
  int64_t evalEvery = 0;  ///< evaluate every N steps (0 = only at the end)
  std::string checkpoint; ///< write here at every evaluation and at the end
  bool resume = false;    ///< start from `checkpoint`
  uint64_t seed = 1;      ///< weights, batch order, generated data
  bool longEval = true;   ///< generated ListOps: also evaluate longer, deeper lists
  /// Generated ListOps: write the splits to PREFIX.train.tsv, PREFIX.heldout.tsv
  /// (and PREFIX.longer.tsv) in the ListOps file format and stop, so other
  /// builds and frameworks train on the very same examples.
  std::string writeData;
  /// Compiled backend: time every instruction of the training step and print
  /// where the stepping time went, by instruction kind, in the report.
  bool profile = false;
  /// "interpreter" (the reference interpreter) or "compiled" (the CPU
  /// executor: JIT kernels, BLAS, in-place updates).
  std::string backend = "interpreter";
  /// Bytes a step's values may hold at once (0: no cap): past it the step
  /// fails with a message naming the value instead of the OOM killer.
  int64_t maxBytes = 0;
};

/// Runs the whole job, printing to stdout (errors to stderr, prefixed
/// "cairn-train: error: "); returns the process exit code.
int runTraining(const TrainOptions& o);

} // namespace cairn::train_tool
