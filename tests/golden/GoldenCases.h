// Golden cases: small but real model configurations on real data, shared by
// the exporter (bench/reference/export, which writes them out for the
// PyTorch reference of bench/reference/) and the unit test
// tests/unit/GoldenReferenceTest.cpp (which compares Cairn's reference
// interpreter against the stored PyTorch outputs, tests/golden/<case>/).
//
// A case is fully determined by its name and the data directory: the data
// batch (the first examples of a dev file), the vocabulary (built from that
// whole file), the model (built with the frontend) and its parameters
// (ParamStore::initialize(seed), scaled by 5 so that the untrained models are
// far from linear: see kParamGain in GoldenCases.cpp). Nothing random is
// stored.
//
// Comparison (float outputs): rel = max|cairn - expected| /
// max(max|expected|, 1e-6) over the whole output tensor must be <= 1e-5.
// Integer outputs (predicted transitions) must be identical.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frontend/layers/Params.h"
#include "frontend/models/Spinn.h"
#include "ir/IR.h"
#include "ir/Status.h"
#include "ir/Tensor.h"

namespace cairn::golden {

/// Bound on the per-tensor relative difference of float outputs.
inline constexpr double kRelTolerance = 1e-5;

struct GoldenCase {
  std::string name;
  /// spinn_snli, treelstm_sst, birnn_classify or birnn_tag: which PyTorch
  /// model bench/reference/run_reference.py builds.
  std::string kind;
  /// Hyperparameters for the reference (config.json "model").
  nlohmann::json model;
  /// Where the data came from (config.json "data"), for people.
  nlohmann::json data;
  uint64_t seed = 0;

  std::unique_ptr<Module> module;
  const Function* function = nullptr;
  ParamStore params;
  std::vector<Tensor> paramValues;
  std::vector<std::string> inputNames;
  std::vector<Tensor> inputs;
  std::vector<std::string> outputNames;
};

/// Every golden case, in a fixed order.
const std::vector<std::string>& caseNames();

/// The default data directory: $CAIRN_DATA_DIR, else
/// <source dir>/../shared/data.
std::string defaultDataDir(const std::string& sourceDir);

/// True when the files the cases read exist under `dataDir`.
bool haveData(const std::string& dataDir);

/// Builds case `name` (an error for an unknown name or unreadable data).
StatusOr<GoldenCase> makeCase(const std::string& name, const std::string& dataDir);

/// Runs the case's function in the reference interpreter on its inputs and
/// parameters.
StatusOr<std::vector<Tensor>> runCase(const GoldenCase& c);

/// config.json for the reference: name, kind, model, data, seed, input,
/// output and parameter names.
nlohmann::json configJson(const GoldenCase& c);

/// Writes the case for the reference into `dir`: config.json,
/// inputs/<name>.npy, params/<name>.npy and, when `outputs` is not empty,
/// outputs/cairn_<i>.npy.
Status exportCase(const GoldenCase& c, const std::vector<Tensor>& outputs, const std::string& dir);

/// max|got - expected| / max(max|expected|, 1e-6); +inf when the shapes
/// differ.
double relativeDifference(const Tensor& got, const Tensor& expected);

/// Which of the length buckets (bucketByLength, seed 7) a set of timing
/// cases holds: the first `count` full batches (the default, and every
/// benchmark's case before the whole passes); every batch in bucket order,
/// the short one included (a whole pass over the file); or the one full
/// batch whose median example length is nearest the `percentile`-th
/// percentile (nearest rank) of the file's example lengths (ties: the first
/// in bucket order). An example's length is its token count (SNLI: the longer
/// of premise and hypothesis). The chosen batch's record (`data`) says which
/// and why: percentile, its length, the batch's min / median / max length.
struct TimingBatches {
  enum Which { FirstFull, Every, NearPercentile };
  Which which = FirstFull;
  size_t count = 1;      ///< FirstFull
  double percentile = 50; ///< NearPercentile, in (0, 100]
};

/// Data for timing: SNLI dev pairs bucketed by length (bucketByLength with
/// `seed`) into batches of `batchSize`; returns the first `count` batches as
/// cases of the spinn_pi_tracker model, each named batch_<k>, sharing one
/// parameter set. `hidden` (and embed = hidden, tracker = hidden / 2,
/// mlp = 2 * hidden) override the golden sizes when > 0.
/// With `predicted`, the spinn_predicted_tracker model instead (transitions
/// predicted by argmax, inputs tokens and lengths only; outputs logits and
/// the moves taken).
StatusOr<std::vector<GoldenCase>> makeTimingCases(const std::string& dataDir, size_t batchSize,
                                                  size_t count, int64_t hidden = 0,
                                                  bool predicted = false);

/// makeTimingCases with the batches chosen by `which`.
StatusOr<std::vector<GoldenCase>> makeTimingCases(const std::string& dataDir, size_t batchSize,
                                                  const TimingBatches& which, int64_t hidden,
                                                  bool predicted = false);

/// The SpinnConfig a makeTimingCases case was built with, read back from
/// its `model` record (sizes, mode) plus the computation choices every
/// timing case makes (compactReduce; splitPairs where two CPUs are usable):
/// what a training step over the case is built with too.
SpinnConfig timingSpinnConfig(const GoldenCase& c);

/// Data for timing the recurrent models: a birnn_classify case (`cell`
/// "lstm" or "gru", 2 layers, embed = hidden = `hidden`, 3 classes) on
/// synthetic tokens: [batch, length] ids uniform in [2, vocab) from
/// SplitMix64(`seed`), row 0 of full length and the others of lengths uniform
/// in [length / 5, length] (at least 1), padded with 0. Parameters are
/// ParamStore::initialize(seed) unscaled: at these sizes U(-0.1, 0.1) already
/// drives the gates far from linear, and kParamGain would saturate them.
/// Needs no data files.
StatusOr<GoldenCase> makeBiRnnTimingCase(const std::string& cell, int64_t batch, int64_t length,
                                         int64_t hidden, int64_t vocab = 20000,
                                         uint64_t seed = 20250101);

/// Data for timing TreeLSTM sentiment: SST dev trees bucketed by length
/// (bucketByLength with seed 7) into batches of `batchSize`; the first
/// `count` full batches as treelstm_sst cases named batch_<k>, embed =
/// hidden = `hidden`, sharing one parameter set (scaled as the golden ones).
StatusOr<std::vector<GoldenCase>> makeTreeLstmTimingCases(const std::string& dataDir,
                                                          size_t batchSize, size_t count,
                                                          int64_t hidden);
/// makeTreeLstmTimingCases with the batches chosen by `which`.
StatusOr<std::vector<GoldenCase>> makeTreeLstmTimingCases(const std::string& dataDir,
                                                          size_t batchSize,
                                                          const TimingBatches& which,
                                                          int64_t hidden);

} // namespace cairn::golden
