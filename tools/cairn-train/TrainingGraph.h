// What cairn-train compiles before its first step: the model's loss, its
// gradient (compiler/autodiff), the whole training step (frontend/training)
// and the forward classifier used for evaluation, all in one module.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "frontend/data/Corpus.h"
#include "frontend/models/Spinn.h"
#include "frontend/training/TrainStep.h"

namespace cairn::train_tool {

struct TrainConfig {
  data::Format format = data::Format::ListOps;
  SpinnConfig model; ///< vocab is filled in from the corpus
  int64_t classes = 10;
  std::string optimizer = "adam"; ///< adam | adamw | sgd | rmsprop
  /// Predicted mode: sample the moves (rng_categorical) and add REINFORCE's
  /// policy-gradient term with a moving-average baseline to the loss.
  bool sample = false;
  double lr = 1e-2;
  double momentum = 0.0; ///< sgd, rmsprop
  double weightDecay = 0.0;
  std::optional<double> clip;
  training::LrSchedule schedule;
};

/// The training graph: one module with the loss, its gradient, the
/// train_step and the classifier (not an exec::LoweredFunction, which is what a
/// function compiles to). Functions take the data inputs first:
///   loss / train_step batch: tokens, transitions, lengths, labels
///   classify:                tokens, [transitions,] lengths
/// (transitions are the target only in predicted mode).
struct TrainingGraph {
  Module module;
  ParamStore params;     ///< the loss's parameters: what train_step updates
  ParamStore evalParams; ///< the classifier's: the same specs, in the same order
  Function* loss = nullptr;
  Function* grad = nullptr;
  Function* classify = nullptr;
  training::TrainStep step;
  bool predicted = false;       ///< predicted transitions (the classifier takes none)
  bool lossHasAccuracy = false; ///< the tree loss reports batch accuracy as a metric
  /// Sampled moves: train_step's batch also takes the generator state and
  /// the REINFORCE baseline (after labels), and its metrics end with their
  /// next values (at sampledStateMetric and + 1).
  bool sampled = false;
  size_t sampledStateMetric = 0;
  /// Compile time: building the IR, the gradient, the train step.
  double irSeconds = 0, gradSeconds = 0, stepSeconds = 0;
};

/// Builds everything; errors (a model the builder rejects, a gradient that
/// cannot be taken, a bad optimizer setting) come back as a Status.
StatusOr<std::unique_ptr<TrainingGraph>> buildTrainingGraph(const TrainConfig& cfg);

/// The classifier's data inputs for batch `b`.
std::vector<Tensor> classifyInputs(const TrainingGraph& p, const data::Batch& b);

} // namespace cairn::train_tool
