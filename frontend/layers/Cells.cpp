// The recurrent cells, LSTMCell and GRUCell, exactly as docs/models.md (and
// PyTorch) define them. Each applies to [..., in] inputs and [..., H] states
// with any leading dims, dynamic ones included.
#include "frontend/layers/Layers.h"
#include "frontend/layers/LayersInternal.h"

namespace cairn {

LSTMCell::LSTMCell(ParamStore& ps, std::string name, int64_t in, int64_t hidden)
    : in(in), hidden(hidden), ps_(&ps), name_(std::move(name)) {
  layers::checkPositive("LSTMCell", name_, "in", in);
  layers::checkPositive("LSTMCell", name_, "hidden", hidden);
  ps.declare({name_ + ".wx", TensorType(DType::F32, {in, 4 * hidden})});
  ps.declare({name_ + ".wh", TensorType(DType::F32, {hidden, 4 * hidden})});
  ps.declare({name_ + ".b", TensorType(DType::F32, {4 * hidden})});
}

namespace {

/// The LSTM's update from its pre-activation gates [..., 4H] (i, f, g, o).
LstmState lstmUpdate(Val gates, Val c) {
  ValueList g = split(gates, 4, -1);
  Val i = sigmoid(g[0]).named("i"), f = sigmoid(g[1]).named("f");
  Val cand = tanh(g[2]).named("g"), o = sigmoid(g[3]).named("o");
  Val keep = f * c;
  Val write = i * cand;
  Val cNext = (keep + write).named("c_next");
  Val h = (o * tanh(cNext)).named("h_next");
  return {h, cNext};
}

} // namespace

LstmState LSTMCell::operator()(Val x, LstmState s) const {
  if (!ps_) throw BuildError("LSTMCell: applied before construction");
  layers::checkLastDim("LSTMCell", name_, x, in);
  layers::checkLastDim("LSTMCell", name_, s.h, hidden, "h");
  layers::checkLastDim("LSTMCell", name_, s.c, hidden, "c");
  const ParamStore& ps = *ps_;
  Val xw = matmul(x, ps[name_ + ".wx"]).named("xw");
  Val hw = matmul(s.h, ps[name_ + ".wh"]).named("hw");
  return lstmUpdate((xw + hw + ps[name_ + ".b"]).named("gates"), s.c);
}

Val LSTMCell::projectInput(Val x) const {
  if (!ps_) throw BuildError("LSTMCell: applied before construction");
  layers::checkLastDim("LSTMCell", name_, x, in);
  const ParamStore& ps = *ps_;
  return (matmul(x, ps[name_ + ".wx"]) + ps[name_ + ".b"]).named("xw");
}

LstmState LSTMCell::step(Val projected, LstmState s) const {
  if (!ps_) throw BuildError("LSTMCell: applied before construction");
  layers::checkLastDim("LSTMCell", name_, projected, 4 * hidden, "projected input");
  layers::checkLastDim("LSTMCell", name_, s.h, hidden, "h");
  layers::checkLastDim("LSTMCell", name_, s.c, hidden, "c");
  Val hw = matmul(s.h, (*ps_)[name_ + ".wh"]).named("hw");
  return lstmUpdate((projected + hw).named("gates"), s.c);
}

GRUCell::GRUCell(ParamStore& ps, std::string name, int64_t in, int64_t hidden)
    : in(in), hidden(hidden), ps_(&ps), name_(std::move(name)) {
  layers::checkPositive("GRUCell", name_, "in", in);
  layers::checkPositive("GRUCell", name_, "hidden", hidden);
  ps.declare({name_ + ".wx", TensorType(DType::F32, {in, 3 * hidden})});
  ps.declare({name_ + ".wh", TensorType(DType::F32, {hidden, 3 * hidden})});
  ps.declare({name_ + ".bx", TensorType(DType::F32, {3 * hidden})});
  ps.declare({name_ + ".bh", TensorType(DType::F32, {3 * hidden})});
}

Val GRUCell::operator()(Val x, Val h) const { return step(projectInput(x), h); }

Val GRUCell::projectInput(Val x) const {
  if (!ps_) throw BuildError("GRUCell: applied before construction");
  layers::checkLastDim("GRUCell", name_, x, in);
  const ParamStore& ps = *ps_;
  return (matmul(x, ps[name_ + ".wx"]) + ps[name_ + ".bx"]).named("gx");
}

Val GRUCell::step(Val gx, Val h) const {
  if (!ps_) throw BuildError("GRUCell: applied before construction");
  layers::checkLastDim("GRUCell", name_, gx, 3 * hidden, "projected input");
  layers::checkLastDim("GRUCell", name_, h, hidden, "h");
  const ParamStore& ps = *ps_;
  Val hw = matmul(h, ps[name_ + ".wh"]);
  Val gh = (hw + ps[name_ + ".bh"]).named("gh");
  ValueList x3 = split(gx, 3, -1), h3 = split(gh, 3, -1);
  Val r = sigmoid(x3[0] + h3[0]).named("r");
  Val z = sigmoid(x3[1] + h3[1]).named("z");
  Val rn = r * h3[2];
  Val n = tanh(x3[2] + rn).named("n");
  Val fresh = (1.0 - z) * n;
  Val kept = z * h;
  return (fresh + kept).named("h_next");
}

} // namespace cairn
