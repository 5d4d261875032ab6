// Bidirectional recurrent networks (LSTM or GRU) over padded token batches,
// as one graph per model (docs/models.md, "Recurrent models"):
//
//   @birnn_classify(%tokens: tensor<?x?xi32>, %lengths: tensor<?xi32>, params...)
//       -> tensor<?xCxf32>
//   @birnn_tag(%tokens: tensor<?x?xi32>, %lengths: tensor<?xi32>, params...)
//       -> tensor<?x?xCxf32>
//
// Batch B and padded length N are dynamic. Parameters, in declaration order:
// `embed` (Embedding vocab x embed), then per layer k `rnn.l<k>.fwd` and
// `rnn.l<k>.bwd` (LSTMCell or GRUCell; layer 0 reads embed, later layers
// 2 x hidden), then `out` (Linear 2 x hidden -> classes).
//
// Each direction of each layer is one `while` over time steps carrying the
// state and a time-major [N, B, H] output buffer written one step at a time
// (dynamic_update_slice). A row updates its state only while t < length (a
// `select` per step), so the forward direction stops at each example's last
// token and the backward one, running t = N-1 .. 0, starts there; the outputs
// at padded positions are zero. An example's result is therefore independent
// of the padding and of the other rows of its batch.
#pragma once

#include <string>

#include "frontend/Builder.h"
#include "frontend/layers/Params.h"

namespace cairn {

struct BiRnnConfig {
  enum Cell { Lstm, Gru } cell = Lstm;
  int64_t vocab = 0, embed = 0, hidden = 0, layers = 1, classes = 0;
  /// Run each step's cell on the live rows only (t < length: `nonzero`,
  /// gather, scatter back), what PyTorch's packed sequences compute: the
  /// input projections are one product per direction over the packed live
  /// positions (sum of the lengths rows, not N x B) and the recurrent ones
  /// per step over the live rows; with lengths spread over [1, N] about half
  /// the work. The same results up to rounding (the LSTM adds its bias to
  /// the input's share first); differentiable (ragged tapes).
  bool compactRows = false;
  /// Emit each direction of each layer as one `rnn` op (the cells'
  /// parameters transposed to PyTorch's layout, the LSTM's b_hh zero) instead
  /// of the cell loop. expand-rnn (first in the optimize pipelines and in
  /// autodiff's preparation) turns it back into the same loop, so CPU results
  /// match the cell loop's; the op is what a device can hand to cuDNN. Not with
  /// compactRows (a BuildError): compaction is a loop-level choice.
  bool useRnnOp = false;
};

/// Declares the model's parameters in `ps` (which must be empty) and adds
/// the classifier: logits = Linear(out)([final fwd h, final bwd h]) of the
/// last layer, [B, classes]. Throws BuildError on non-positive sizes.
Function* buildBiRnnClassifier(Module& m, ParamStore& ps, const BiRnnConfig& cfg,
                               const std::string& name = "birnn_classify");

/// As buildBiRnnClassifier, but the tagger: Linear(out) of the last layer's
/// [fwd h_t, bwd h_t] at every position, [B, N, classes] (padded positions
/// give the bias).
Function* buildBiRnnTagger(Module& m, ParamStore& ps, const BiRnnConfig& cfg,
                           const std::string& name = "birnn_tag");

} // namespace cairn
