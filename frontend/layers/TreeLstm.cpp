// SPINN's layers: the TreeLSTM Reduce, the Tracker and the transition
// predictor (docs/models.md, "SPINN encoder").
#include "frontend/layers/Layers.h"
#include "frontend/layers/LayersInternal.h"

namespace cairn {

TreeLSTMReduce::TreeLSTMReduce(ParamStore& ps, std::string name, int64_t hidden,
                               int64_t trackerSize)
    : hidden(hidden), trackerSize(trackerSize), ps_(&ps), name_(std::move(name)) {
  layers::checkPositive("TreeLSTMReduce", name_, "hidden", hidden);
  if (trackerSize < 0)
    throw BuildError(fmt::format("TreeLSTMReduce '{}': trackerSize must be >= 0", name_));
  // Declaration order is the contract: left.weight, left.bias, right.weight,
  // track.weight.
  left_ = Linear(ps, name_ + ".left", hidden, 5 * hidden, /*bias=*/true);
  right_ = Linear(ps, name_ + ".right", hidden, 5 * hidden, /*bias=*/false);
  if (trackerSize > 0) track_ = Linear(ps, name_ + ".track", trackerSize, 5 * hidden, false);
}

LstmState TreeLSTMReduce::operator()(LstmState left, LstmState right, Val trackerH) const {
  if (!ps_) throw BuildError("TreeLSTMReduce: applied before construction");
  layers::checkLastDim("TreeLSTMReduce", name_, left.c, hidden, "left c");
  layers::checkLastDim("TreeLSTMReduce", name_, right.c, hidden, "right c");
  if (trackerSize > 0 && !trackerH.valid())
    throw BuildError(fmt::format("TreeLSTMReduce '{}': needs the tracker h", name_));
  if (trackerSize == 0 && trackerH.valid())
    throw BuildError(fmt::format("TreeLSTMReduce '{}': has no tracker input", name_));
  Val lw = left_(left.h);
  Val rw = right_(right.h);
  Val g = lw + rw;
  if (trackerSize > 0) {
    Val tw = track_(trackerH);
    g = g + tw;
  }
  g = g.named("reduce_gates");
  ValueList p = split(g, 5, -1);
  Val a = tanh(p[0]), i = sigmoid(p[1]);
  Val f1 = sigmoid(p[2]), f2 = sigmoid(p[3]), o = sigmoid(p[4]);
  Val ai = a * i;
  Val fl = f1 * left.c;
  Val fr = f2 * right.c;
  Val c = (ai + fl + fr).named("reduce_c");
  Val h = (o * tanh(c)).named("reduce_h");
  return {h, c};
}

Tracker::Tracker(ParamStore& ps, std::string name, int64_t hidden, int64_t trackerSize)
    : hidden(hidden), trackerSize(trackerSize),
      cell_(ps, std::move(name) + ".cell", 3 * hidden, trackerSize) {}

LstmState Tracker::operator()(Val bufferTopH, Val stackTopH, Val stackSecondH, LstmState s) const {
  if (hidden == 0) throw BuildError("Tracker: applied before construction");
  Val x = concat({bufferTopH, stackTopH, stackSecondH}, -1).named("tracker_in");
  return cell_(x, s);
}

TransitionPredictor::TransitionPredictor(ParamStore& ps, std::string name, int64_t trackerSize)
    : linear_(ps, std::move(name), trackerSize, 2) {}

} // namespace cairn
