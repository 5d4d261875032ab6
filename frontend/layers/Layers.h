// The model library: layers on the builder. Each layer declares its
// parameters in a ParamStore when constructed and applies itself to Vals once
// the store is bound (see Params.h). Names, shapes and formulas are the
// contract of docs/models.md, shared with the PyTorch reference.
#pragma once

#include <string>
#include <utility>

#include "frontend/Builder.h"
#include "frontend/layers/Params.h"

namespace cairn {

/// x · weight + bias over the last dim: [..., in] -> [..., out].
class Linear {
public:
  Linear() = default;
  Linear(ParamStore& ps, std::string name, int64_t in, int64_t out, bool bias = true);
  Val operator()(Val x) const;
  int64_t in = 0, out = 0;

private:
  ParamStore* ps_ = nullptr;
  std::string name_;
  bool bias_ = true;
};

/// Rows of weight [V, E] by id: ids [...] -> [..., E].
class Embedding {
public:
  Embedding() = default;
  Embedding(ParamStore& ps, std::string name, int64_t vocab, int64_t dim);
  Val operator()(Val ids) const;
  int64_t vocab = 0, dim = 0;

private:
  ParamStore* ps_ = nullptr;
  std::string name_;
};

struct LstmState {
  Val h, c;
};

/// LSTM cell, gates in order i, f, g, o (PyTorch's).
class LSTMCell {
public:
  LSTMCell() = default;
  LSTMCell(ParamStore& ps, std::string name, int64_t in, int64_t hidden);
  LstmState operator()(Val x, LstmState s) const;
  /// The input's share of the gates, x wx + b ([..., 4H]): computed for many
  /// steps at once outside a loop (packed sequences), then fed to step().
  Val projectInput(Val x) const;
  /// The cell on a projected input: gates = projected + h wh.
  LstmState step(Val projected, LstmState s) const;
  int64_t in = 0, hidden = 0;

private:
  ParamStore* ps_ = nullptr;
  std::string name_;
};

/// GRU cell, PyTorch's formulation (r, z, n; n = tanh(gx_n + r * gh_n)).
class GRUCell {
public:
  GRUCell() = default;
  GRUCell(ParamStore& ps, std::string name, int64_t in, int64_t hidden);
  Val operator()(Val x, Val h) const; ///< step(projectInput(x), h)
  /// The input's share of the gates, x wx + bx ([..., 3H]).
  Val projectInput(Val x) const;
  /// The cell on a projected input.
  Val step(Val projected, Val h) const;
  int64_t in = 0, hidden = 0;

private:
  ParamStore* ps_ = nullptr;
  std::string name_;
};

/// SPINN's TreeLSTM composition of two children (and the tracker state).
class TreeLSTMReduce {
public:
  TreeLSTMReduce() = default;
  /// trackerSize 0: no tracker input.
  TreeLSTMReduce(ParamStore& ps, std::string name, int64_t hidden, int64_t trackerSize);
  /// left/right: (h, c) of the children, [B, H] each; trackerH [B, T] or invalid.
  LstmState operator()(LstmState left, LstmState right, Val trackerH = Val()) const;
  int64_t hidden = 0, trackerSize = 0;

private:
  ParamStore* ps_ = nullptr;
  std::string name_;
  Linear left_, right_, track_;
};

/// SPINN's tracker: an LSTMCell over [buffer top h, stack top h, second h].
class Tracker {
public:
  Tracker() = default;
  Tracker(ParamStore& ps, std::string name, int64_t hidden, int64_t trackerSize);
  LstmState operator()(Val bufferTopH, Val stackTopH, Val stackSecondH, LstmState s) const;
  int64_t hidden = 0, trackerSize = 0;

private:
  LSTMCell cell_;
};

/// Linear(tracker h -> 2): logits over {0: shift, 1: reduce}.
class TransitionPredictor {
public:
  TransitionPredictor() = default;
  TransitionPredictor(ParamStore& ps, std::string name, int64_t trackerSize);
  Val operator()(Val trackerH) const { return linear_(trackerH); }

private:
  Linear linear_;
};

/// `layers` x (Linear, ReLU), then Linear to `out`; layers named name.0 ...
class Mlp {
public:
  Mlp() = default;
  Mlp(ParamStore& ps, std::string name, int64_t in, int64_t hidden, int64_t layers, int64_t out);
  Val operator()(Val x) const;

private:
  std::vector<Linear> linears_;
};

/// Batch normalization over the last dim (channels C).
class BatchNorm {
public:
  BatchNorm() = default;
  BatchNorm(ParamStore& ps, std::string name, int64_t channels, double eps = 1e-5,
            double momentum = 0.1);
  /// Inference: running statistics.
  Val infer(Val x) const;
  struct TrainResult {
    Val y, newMean, newVar;
  };
  /// Training: batch statistics over every dim but the last; returns the
  /// updated running statistics (unbiased batch variance, as PyTorch).
  TrainResult train(Val x) const;

private:
  ParamStore* ps_ = nullptr;
  std::string name_;
  double eps_ = 1e-5, momentum_ = 0.1;
};

/// Inverted dropout with an explicit Philox state: returns (y, new state).
/// Identity (and the state unchanged) when !training or p == 0.
std::pair<Val, Val> dropout(Val x, Val rngState, double p, bool training);

// ---- Composites built from core ops ------------------------------------------
Val softmax(Val x, int64_t axis = -1);
Val logSoftmax(Val x, int64_t axis = -1);
/// Mean over rows of -log_softmax(logits)[label]; logits [B, C], labels [B] int.
Val crossEntropy(Val logits, Val labels);
/// Per row -log_softmax(logits)[label]: [B].
Val crossEntropyPerRow(Val logits, Val labels);
/// REINFORCE (score-function) surrogate: -mean(stop_gradient(reward -
/// baseline) * logProb), for logProb [B] = sum of log pi(action) of the
/// actions sampled in row b. Its gradient w.r.t. the policy's parameters is
/// the unbiased estimate of -d E[reward]; the baseline (a scalar or [B])
/// only lowers the variance.
Val reinforceSurrogate(Val logProb, Val reward, Val baseline);
/// Fraction of rows whose argmax equals the label (f32 scalar).
Val accuracy(Val logits, Val labels);

} // namespace cairn
