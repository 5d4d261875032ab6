// SPINN (Bowman et al. 2016) as one Cairn graph: a shift-reduce
// parser-interpreter whose batched stack is a loop-carried tensor (the "thin
// stack"), run by a single `while` over the transition steps.
//
// docs/models.md is the contract (step semantics, parameter names, the SNLI
// classifier); this header adds the choices it leaves open:
//
// - Parameter names, in declaration order: `embed` (Embedding V x E),
//   `projection` (Linear E -> 2H), `tracker` (Tracker, when trackerSize > 0),
//   `predictor` (TransitionPredictor, in predicted mode), `reduce`
//   (TreeLSTMReduce), then the head: `mlp` (Mlp) or `out` (Linear).
// - A transition that cannot apply (SHIFT with an empty buffer or a full
//   stack, REDUCE with fewer than two items, any code other than 1 and 2)
//   is a no-op, as is every step s >= 2 * length - 1: malformed transitions
//   never index out of range, they just do nothing.
// - Predicted mode in training draws from `rng_categorical`; the Philox state
//   (tensor<2xi64>) is the data input after `lengths` and the final state is
//   the last result. Rows that are done sample from zero logits (the draw is
//   discarded) so a row never presents an all -inf row to the sampler.
// - The transition loss of predicted mode scores the predictor's raw logits
//   of the predicted run at step s against the given transition at step s,
//   averaged over the steps whose given transition is not padding.
//
// Thread-safety: none; build on one thread (as Module and ParamStore).
#pragma once

#include <string>

#include "frontend/Builder.h"
#include "frontend/layers/Layers.h"
#include "frontend/layers/Params.h"

namespace cairn {

struct SpinnConfig {
  int64_t vocab = 0;
  int64_t embed = 0;
  int64_t hidden = 0;
  int64_t trackerSize = 0; ///< 0 = no tracker
  bool predictTransitions = false;
  bool training = false; ///< predicted mode: sample (true) or argmax (false)
  /// Compute the Reduce only for the rows that reduce at each step (nonzero,
  /// gather, scatter): about half the encoder's GEMM work at batch 128, and
  /// none of it on a shift at batch 1. Differentiable: the loop's tapes of
  /// those rows are ragged (compiler/autodiff/WhileGradient.cpp), so a
  /// training step does the same saving in its backward pass.
  bool compactReduce = false;
  /// Run the Tracker only on the rows still moving (s < 2 * length - 1):
  /// nonzero, gather, scatter back, as compactReduce. A batch of different
  /// lengths runs as many steps as its longest row, so without it most of
  /// the tracker's products at batch 64 are for finished rows.
  bool compactTracker = false;
  /// SNLI: encode premises and hypotheses as two independent loops instead
  /// of one over both. The executor runs two such loops on one core each
  /// when two are usable (docs/runtime.md), which at batch 128 is faster
  /// than one loop over 256 rows with a 2-thread BLAS; on one core the
  /// merged loop is faster (fewer, larger steps). Given transitions only
  /// (predicted ones use the merged loop).
  bool splitPairs = false;
  int64_t mlpHidden = 0;
  int64_t mlpLayers = 1;
  /// The classifiers return their logits alone, without the predicted
  /// moves [2B, T] (whose rows are not the batch's): cairn-serve's SNLI
  /// endpoint, whose batcher splits every result by the batch's rows.
  bool logitsOnly = false;
};

/// What one encoder application returns. `transitions`, `logits` and `rng`
/// are valid in predicted mode only (`rng` in training only).
struct SpinnOutputs {
  Val h;           ///< [B, H] f32: h of the root (stack top) per row
  Val transitions; ///< [B, T] i32: the moves taken (1 shift, 2 reduce, 0 no-op)
  Val logits;      ///< [B, T, 2] f32: the predictor's raw logits per step
  Val rng;         ///< tensor<2xi64>: the final generator state
  Val logProb;     ///< [B] f32, sampled mode: sum of log pi(move) over the moves taken
};

/// The encoder as a layer: constructing it declares its parameters; calling
/// it (after ParamStore::bind) appends the embedding, projection and the one
/// `while` of the thin stack at the builder's insertion point.
class SpinnEncoder {
public:
  SpinnEncoder() = default;
  /// Throws BuildError on non-positive sizes, or predicted mode without a
  /// tracker.
  SpinnEncoder(ParamStore& ps, const SpinnConfig& cfg);
  /// tokens [B, N] i32, lengths [B] i32; transitions [B, T] i32 in PI mode
  /// (invalid Val in predicted mode, where T = 2N - 1); rng tensor<2xi64> in
  /// predicted training mode (else invalid).
  SpinnOutputs operator()(Val tokens, Val transitions, Val lengths, Val rng = Val()) const;
  const SpinnConfig& config() const { return cfg_; }

private:
  SpinnConfig cfg_;
  Embedding embed_;
  Linear projection_;
  Tracker tracker_;
  TransitionPredictor predictor_;
  TreeLSTMReduce reduce_;
};

/// Mean cross-entropy of the predictor's `logits` [B, T, 2] against the given
/// `transitions` [B, T] (1 shift, 2 reduce), over non-padding steps (0 when
/// there are none).
Val transitionCrossEntropy(Val logits, Val transitions);

/// `@<name>(%tokens: tensor<?x?xi32>, [%transitions: tensor<?x?xi32>,]
/// %lengths: tensor<?xi32>, [%rng: tensor<2xi64>,] params...)`, returning
/// `h` [B, H] and, in predicted mode, the chosen transitions [B, T] (and the
/// final rng state when training). Exactly one `while`.
Function* buildSpinnEncoder(Module& m, ParamStore& ps, const SpinnConfig& cfg,
                            const std::string& name = "spinn_encode");

/// `@<name>(%tokens: tensor<2x?x?xi32>, [%transitions: tensor<2x?x?xi32>,]
/// %lengths: tensor<2x?xi32>, [%rng,] params...)` -> logits [B, 3]
/// (+ chosen transitions [2B, T] in predicted mode, + final rng in training).
/// Premises (index 0) and hypotheses (1) run through one encoder as [2B, ...];
/// features [p, h, p - h, p * h] -> Mlp(mlp, 4H, mlpHidden, mlpLayers, 3).
Function* buildSpinnSnli(Module& m, ParamStore& ps, const SpinnConfig& cfg,
                         const std::string& name = "spinn_snli");

/// `@<name>(%tokens, %transitions, %lengths, %labels: tensor<?xi32>, [%rng,]
/// params...)` -> mean cross-entropy of the SNLI logits (+ the transition
/// cross-entropy against %transitions in predicted mode, where %transitions
/// is only the target, not the encoder's input) [, final rng]. In predicted
/// training mode (sampled transitions) a scalar f32 %baseline follows %rng,
/// the loss adds the REINFORCE surrogate (reward = -class loss per pair,
/// advantage = reward - baseline) and the results end with the new
/// moving-average baseline 0.9 b + 0.1 mean(reward).
Function* buildSpinnSnliLoss(Module& m, ParamStore& ps, const SpinnConfig& cfg,
                             const std::string& name = "spinn_snli_loss");

/// A tree classifier (ListOps: 10 classes): `@<name>(%tokens: tensor<?x?xi32>,
/// [%transitions,] %lengths, [%rng,] params...)` -> logits [B, classes]
/// (+ chosen transitions, + final rng as the encoder); root h ->
/// Mlp(mlp, H, mlpHidden, mlpLayers, classes).
Function* buildSpinnTreeClassifier(Module& m, ParamStore& ps, const SpinnConfig& cfg,
                                   int64_t classes, const std::string& name = "spinn_classify");

/// The tree classifier's training loss: `@<name>(%tokens, %transitions,
/// %lengths, %labels: tensor<?xi32>, [%rng,] params...)` -> (mean
/// cross-entropy of the class logits (+ the transition cross-entropy against
/// %transitions in predicted mode, where they are only the target), accuracy
/// of the batch [, final rng, new baseline]); REINFORCE as in the SNLI loss.
Function* buildSpinnTreeClassifierLoss(Module& m, ParamStore& ps, const SpinnConfig& cfg,
                                       int64_t classes,
                                       const std::string& name = "spinn_classify_loss");

} // namespace cairn
