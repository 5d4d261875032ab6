// ONNX recurrent layers (LSTM, GRU, RNN) as `while` loops of Cairn ops, so
// they are differentiated, hoisted and fused like any other loop.
//
// Algorithm (one direction; bidirectional runs two and stacks them):
//  1. Bring everything to layout 0: X [T, B, I], states [dirs, B, H].
//  2. Loop over steps s = 0..T-1, carrying (s, h, c?, Y [T, B, H]). The
//     step reads x = X[t] with t = s (forward) or T-1-s (reverse), computes
//     the gates from x W^T + h R^T + biases (ONNX's gate order: LSTM i,o,f,c;
//     GRU z,r,h), writes the new h into Y[t].
//  3. With sequence_lens (forward only), a batch row past its length keeps
//     its state and writes zeros, as the spec's reference does.
// Activations come from the `activations` attribute (per direction, with
// activation_alpha/beta by position); `clip` bounds the gates' inputs.
// A direction in PyTorch's and cuDNN's form (fitsRnnOp) is instead one `rnn`
// op with its gates reordered: the CPU expands it into the same kind of
// loop, the device hands it to cuDNN, and sequence_lens then works in both
// directions (a reverse row reverses its own first length steps).
#include <fmt/ranges.h>

#include "frontend/onnx/OnnxInternal.h"

namespace cairn::onnx_import {
namespace {

enum class Cell { Lstm, Gru, Rnn };

struct Activation {
  std::string name;
  std::optional<float> alpha, beta;
};

Val activate(const Activation& a, const Val& x) {
  auto alpha = [&](float d) { return static_cast<double>(a.alpha.value_or(d)); };
  auto beta = [&](float d) { return static_cast<double>(a.beta.value_or(d)); };
  const std::string& n = a.name;
  if (n == "Sigmoid") return sigmoid(x);
  if (n == "Tanh") return tanh(x);
  if (n == "Relu") return relu(x);
  if (n == "HardSigmoid") return max(Arg(0.0), min(Arg(1.0), x * alpha(0.2f) + beta(0.5f)));
  if (n == "LeakyRelu") return select(lt(x, 0), x * alpha(0.01f), x);
  if (n == "ThresholdedRelu") return select(gt(x, alpha(1.0f)), x, 0);
  if (n == "ScaledTanh") return tanh(x * beta(1.0f)) * alpha(1.0f);
  if (n == "Affine") return x * alpha(1.0f) + beta(0.0f);
  if (n == "Elu") return select(lt(x, 0), (exp(x) - 1.0) * alpha(1.0f), x);
  if (n == "Softsign") return x / (abs(x) + 1.0);
  if (n == "Softplus") return max(x, 0) + log(exp(neg(abs(x))) + 1.0);
  throw Unsupported(fmt::format("activation '{}'", n));
}

struct RnnSpec {
  Cell cell;
  int64_t gates; // 4, 3, 1
  int64_t nActs; // activations per direction: 3, 2, 1
  int64_t hidden;
  std::vector<Activation> acts; // nActs per direction, directions in order
  std::optional<double> clip;
  bool linearBeforeReset = false;
  bool inputForget = false;
};

Val clipped(const RnnSpec& s, const Val& x) {
  if (!s.clip) return x;
  return min(max(x, -*s.clip), *s.clip);
}

/// Columns [k*H, (k+1)*H) of a [B, G*H] value: gate k.
Val gate(const Val& all, int64_t k, int64_t h) {
  return sliceAxis(all, 1, k * h, (k + 1) * h);
}

struct DirectionOut {
  Val y;    // [T, B, H]
  Val h, c; // [B, H]
};

/// One direction of the layer. W [G*H, I], R [G*H, H], bias [2*G*H] or
/// absent, peep [3H] or absent, h0/c0 [B, H], lens [B] or absent.
DirectionOut runDirection(FunctionBuilder& b, const RnnSpec& s, int dir, bool reverse, Val x, Val w,
                          Val r, std::optional<Val> bias, std::optional<Val> peep, Val h0,
                          std::optional<Val> c0, std::optional<Val> lens) {
  const int64_t H = s.hidden, G = s.gates;
  const Activation* act = &s.acts[static_cast<size_t>(dir * s.nActs)];
  Val wt = transpose(w, {1, 0}), rt = transpose(r, {1, 0}); // [I, GH], [H, GH]
  std::optional<Val> wb, rb;
  if (bias) {
    wb = sliceAxis(*bias, 0, 0, G * H);
    rb = sliceAxis(*bias, 0, G * H, 2 * G * H);
  }
  IntOrVal steps = sizeOf(x, 0);
  Val stepsVal = b.intValue(steps, DType::I64);
  // A static empty sequence still has to type-check a step's read and write
  // (that never run): make the time dim dynamic.
  if (steps.isStatic() && steps.staticValue() == 0) {
    steps = IntOrVal(stepsVal);
    TensorType t = x.type();
    t.shape[0] = kDynamic;
    x = generalizeTo(x, t);
  }
  Val y0 = broadcastTo(b.scalar(0, x.dtype()), {steps, sizeOf(h0, 0), IntOrVal(H)});
  ValueList inits{b.scalar(0, DType::I64), h0, y0};
  if (s.cell == Cell::Lstm) inits.push_back(*c0);

  ValueList out = b.whileLoop(
      inits, [&](const ValueList& a) { return lt(a[0], stepsVal); },
      [&](const ValueList& a) {
        Val step = a[0], h = a[1], y = a[2];
        Val t = reverse ? (stepsVal - 1.0) - step : step;
        Val xt = sliceAt(x, t, 0); // [B, I]
        Val xw = dot(xt, wt);
        if (wb) xw = xw + *wb;
        Val hr = dot(h, rt);
        if (rb) hr = hr + *rb;
        Val hNew, cNew;
        if (s.cell == Cell::Rnn) {
          hNew = activate(act[0], clipped(s, xw + hr));
        } else if (s.cell == Cell::Gru) {
          Val z = activate(act[0], clipped(s, gate(xw, 0, H) + gate(hr, 0, H)));
          Val rg = activate(act[0], clipped(s, gate(xw, 1, H) + gate(hr, 1, H)));
          Val cand;
          if (s.linearBeforeReset) {
            cand = gate(xw, 2, H) + rg * gate(hr, 2, H);
          } else {
            // (r * h) R_h^T + Rb_h: the reset gate applies before the product.
            Val rh = dot(rg * h, sliceAxis(rt, 1, 2 * H, 3 * H));
            if (rb) rh = rh + sliceAxis(*rb, 0, 2 * H, 3 * H);
            cand = gate(xw, 2, H) + rh;
          }
          Val hh = activate(act[1], clipped(s, cand));
          hNew = (1.0 - z) * hh + z * h;
        } else {
          Val c = a[3];
          Val pre = xw + hr;
          Val pi = gate(pre, 0, H), po = gate(pre, 1, H), pf = gate(pre, 2, H),
              pc = gate(pre, 3, H);
          if (peep) {
            pi = pi + sliceAxis(*peep, 0, 0, H) * c;
            pf = pf + sliceAxis(*peep, 0, 2 * H, 3 * H) * c;
          }
          Val i = activate(act[0], clipped(s, pi));
          Val f = s.inputForget ? 1.0 - i : activate(act[0], clipped(s, pf));
          Val g = activate(act[1], clipped(s, pc));
          cNew = f * c + i * g;
          if (peep) po = po + sliceAxis(*peep, 0, H, 2 * H) * cNew;
          Val o = activate(act[0], clipped(s, po));
          hNew = o * activate(act[2], cNew);
        }
        Val yRow = hNew;
        if (lens) { // rows past their length keep their state and emit zeros
          Val live = broadcastTo(reshape(lt(step, *lens), {sizeOf(h, 0), IntOrVal(1)}), sizesOf(h));
          hNew = select(live, hNew, h);
          if (s.cell == Cell::Lstm) cNew = select(live, cNew, a[3]);
          yRow = select(live, hNew, 0);
        }
        ValueList next{step + 1.0, hNew, updateAt(y, t, yRow, 0)};
        if (s.cell == Cell::Lstm) next.push_back(cNew);
        return next;
      });
  DirectionOut d{out[2], out[1], {}};
  if (s.cell == Cell::Lstm) d.c = out[3];
  return d;
}

/// Whether direction `dir` is the `rnn` op's layer (ir/Ops.def: PyTorch's
/// and cuDNN's LSTM and GRU): the default activations, no clip, no
/// peepholes, no coupled input-forget gate, and for a GRU the reset gate
/// applied after the recurrent product (linear_before_reset = 1, what
/// PyTorch exports); f32/f64 with a static input size. Such a direction
/// becomes one op, which the device runs through cuDNN and the CPU expands
/// into the BiRnn model's loop.
bool fitsRnnOp(const RnnSpec& s, int dir, bool hasPeep, const Val& x) {
  if (s.cell == Cell::Rnn || s.clip || s.inputForget || hasPeep) return false;
  if (s.cell == Cell::Gru && !s.linearBeforeReset) return false;
  if (x.dtype() != DType::F32 && x.dtype() != DType::F64) return false;
  if (x.shape()[2] == kDynamic) return false;
  static const std::vector<std::string> lstm{"Sigmoid", "Tanh", "Tanh"}, gru{"Sigmoid", "Tanh"};
  const std::vector<std::string>& want = s.cell == Cell::Lstm ? lstm : gru;
  for (int64_t k = 0; k < s.nActs; ++k)
    if (s.acts[static_cast<size_t>(dir * s.nActs + k)].name != want[static_cast<size_t>(k)])
      return false;
  return true;
}

/// ONNX's gate blocks along axis 0 ([G*H, ...]) in the `rnn` op's order:
/// LSTM i, o, f, c -> i, f, g(c), o; GRU z, r, h -> r, z, n(h).
Val toOpGateOrder(Cell cell, const Val& v, int64_t h) {
  auto block = [&](int64_t k) { return sliceAxis(v, 0, k * h, (k + 1) * h); };
  if (cell == Cell::Lstm) return concat({block(0), block(2), block(3), block(1)}, 0);
  return concat({block(1), block(0), block(2)}, 0);
}

/// One direction as an `rnn` op (fitsRnnOp): the gates reordered, absent
/// biases zero, absent lengths all T.
DirectionOut runDirectionAsOp(FunctionBuilder& b, const RnnSpec& s, bool reverse, Val x, Val w,
                              Val r, std::optional<Val> bias, Val h0, std::optional<Val> c0,
                              std::optional<Val> lens) {
  const int64_t H = s.hidden, G = s.gates;
  Val wb, rb;
  if (bias) {
    wb = sliceAxis(*bias, 0, 0, G * H);
    rb = sliceAxis(*bias, 0, G * H, 2 * G * H);
  } else {
    wb = rb = broadcastTo(b.scalar(0, x.dtype()), {IntOrVal(G * H)});
  }
  Val lengths = lens ? *lens : broadcastTo(dim(x, 0, DType::I64), {sizeOf(x, 1)});
  // The op wants H static in the states; an exporter's initial state may be
  // computed with both dims dynamic (ConstantOfShape of a Shape).
  auto withStaticH = [&](Val v) { return reshape(v, {sizeOf(v, 0), IntOrVal(H)}); };
  h0 = withStaticH(h0);
  if (c0) c0 = withStaticH(*c0);
  RnnResult o = rnn(s.cell == Cell::Lstm ? RnnCell::Lstm : RnnCell::Gru, x, lengths, h0,
                    s.cell == Cell::Lstm ? *c0 : Val(), toOpGateOrder(s.cell, w, H),
                    toOpGateOrder(s.cell, r, H), toOpGateOrder(s.cell, wb, H),
                    toOpGateOrder(s.cell, rb, H), reverse);
  return DirectionOut{o.ys, o.h, o.c};
}

template <Cell C> ValueList rnnOp(NodeContext& c) {
  FunctionBuilder& b = c.b;
  RnnSpec s;
  s.cell = C;
  s.gates = C == Cell::Lstm ? 4 : C == Cell::Gru ? 3 : 1;
  s.nActs = C == Cell::Lstm ? 3 : C == Cell::Gru ? 2 : 1;
  std::string direction = c.attrString("direction", "forward");
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional")
    throw InvalidModel(fmt::format("unknown direction '{}'", direction));
  int dirs = direction == "bidirectional" ? 2 : 1;
  int64_t layout = c.attrInt("layout", 0);
  if (c.hasAttr("clip")) s.clip = c.attrFloat("clip", 0);
  s.linearBeforeReset = c.attrInt("linear_before_reset", 0) != 0;
  s.inputForget = c.attrInt("input_forget", 0) != 0;

  std::vector<std::string> names = c.attrStrings("activations");
  std::vector<float> alphas = c.attrFloats("activation_alpha"),
                     betas = c.attrFloats("activation_beta");
  if (names.empty()) {
    for (int d = 0; d < dirs; ++d) {
      if (C == Cell::Lstm) names.insert(names.end(), {"Sigmoid", "Tanh", "Tanh"});
      if (C == Cell::Gru) names.insert(names.end(), {"Sigmoid", "Tanh"});
      if (C == Cell::Rnn) names.push_back("Tanh");
    }
  }
  if (static_cast<int64_t>(names.size()) != s.nActs * dirs)
    throw InvalidModel(fmt::format("{} activations, expected {}", names.size(), s.nActs * dirs));
  for (size_t i = 0; i < names.size(); ++i) {
    Activation a{names[i], {}, {}};
    if (i < alphas.size()) a.alpha = alphas[i];
    if (i < betas.size()) a.beta = betas[i];
    s.acts.push_back(a);
  }

  Val x = c.input(0), w = c.input(1), r = c.input(2);
  if (x.rank() != 3 || w.rank() != 3 || r.rank() != 3)
    throw InvalidModel("X, W and R must have rank 3");
  if (layout == 1) x = transpose(x, {1, 0, 2});
  // An exported stack's second layer reads the first one's output through a
  // Reshape with computed sizes, typed [?, ?, ?]; W says the input size, and
  // the `rnn` op (fitsRnnOp) wants it static. The reshape checks it at run
  // time (another size is its error).
  if (x.shape()[2] == kDynamic && w.shape()[2] != kDynamic)
    x = reshape(x, {sizeOf(x, 0), sizeOf(x, 1), IntOrVal(w.shape()[2])});
  s.hidden = c.attrInt("hidden_size", r.shape()[2]);
  if (s.hidden <= 0 || r.shape()[2] != s.hidden) throw InvalidModel("hidden_size disagrees with R");
  // The shapes the spec requires; a malformed model gets an error naming it.
  const int64_t gh = s.gates * s.hidden;
  auto expect = [&](size_t i, const char* what, std::vector<int64_t> dims) {
    if (!c.hasInput(i)) return;
    const Shape& got = c.input(i).shape();
    bool ok = got.size() == dims.size();
    for (size_t d = 0; ok && d < dims.size(); ++d)
      ok = dims[d] == kDynamic || got[d] == kDynamic || got[d] == dims[d];
    if (!ok)
      throw InvalidModel(fmt::format("{} has type {}, expected shape [{}]", what,
                                     c.input(i).type().toString(), fmt::join(dims, ", ")));
  };
  expect(1, "W", {dirs, gh, x.shape()[2]});
  expect(2, "R", {dirs, gh, s.hidden});
  expect(3, "B", {dirs, 2 * gh});
  expect(4, "sequence_lens", {kDynamic});
  Shape state = layout == 1 ? Shape{kDynamic, dirs, s.hidden} : Shape{dirs, kDynamic, s.hidden};
  expect(5, "initial_h", state);
  if (C == Cell::Lstm) {
    expect(6, "initial_c", state);
    expect(7, "P", {dirs, 3 * s.hidden});
  }
  auto perBatchState = [&](size_t i) -> std::optional<Val> {
    if (!c.hasInput(i)) return std::nullopt;
    Val v = c.input(i);
    return layout == 1 ? transpose(v, {1, 0, 2}) : v; // -> [dirs, B, H]
  };
  std::optional<Val> lens;
  if (c.hasInput(4)) lens = cast(c.input(4), DType::I64);
  std::optional<Val> h0All = perBatchState(5);
  std::optional<Val> c0All = C == Cell::Lstm ? perBatchState(6) : std::nullopt;
  if (C != Cell::Lstm && c.numInputs() > 6) throw InvalidModel("too many inputs");
  Sizes stateSizes{sizeOf(x, 1), IntOrVal(s.hidden)};

  std::vector<DirectionOut> outs;
  for (int d = 0; d < dirs; ++d) {
    bool reverse = direction == "reverse" || d == 1;
    std::optional<Val> bias, peep, c0;
    if (c.hasInput(3)) bias = sliceAt(c.input(3), d, 0);
    if (C == Cell::Lstm && c.hasInput(7)) peep = sliceAt(c.input(7), d, 0);
    Val h0 = h0All ? sliceAt(*h0All, d, 0) : broadcastTo(b.scalar(0, x.dtype()), stateSizes);
    if (C == Cell::Lstm)
      c0 = c0All ? sliceAt(*c0All, d, 0) : broadcastTo(b.scalar(0, x.dtype()), stateSizes);
    if (fitsRnnOp(s, d, peep.has_value(), x)) { // a reverse one reverses each row's own steps
      outs.push_back(runDirectionAsOp(b, s, reverse, x, sliceAt(w, d, 0), sliceAt(r, d, 0), bias,
                                      h0, c0, lens));
      continue;
    }
    // The loop reverses the padded sequence as a whole: with lengths, that
    // is not what a reverse direction means.
    if (lens && reverse)
      throw Unsupported("sequence_lens with a reverse or bidirectional direction outside the "
                        "rnn op's form (default activations, no clip or peepholes, GRU with "
                        "linear_before_reset = 1)");
    outs.push_back(runDirection(b, s, d, reverse, x, sliceAt(w, d, 0), sliceAt(r, d, 0), bias, peep,
                                h0, c0, lens));
  }
  // Y [T, dirs, B, H], Y_h and Y_c [dirs, B, H] (layout 0).
  ValueList ys, hs, cs;
  for (const DirectionOut& o : outs) {
    Sizes ysz = sizesOf(o.y);
    ys.push_back(reshape(o.y, {ysz[0], IntOrVal(1), ysz[1], ysz[2]}));
    hs.push_back(reshape(o.h, {IntOrVal(1), sizeOf(o.h, 0), sizeOf(o.h, 1)}));
    if (C == Cell::Lstm) cs.push_back(reshape(o.c, {IntOrVal(1), sizeOf(o.c, 0), sizeOf(o.c, 1)}));
  }
  Val y = concat(ys, 1), yh = concat(hs, 0);
  std::optional<Val> yc;
  if (C == Cell::Lstm) yc = concat(cs, 0);
  if (layout == 1) {
    y = transpose(y, {2, 0, 1, 3});
    yh = transpose(yh, {1, 0, 2});
    if (yc) yc = transpose(*yc, {1, 0, 2});
  }
  ValueList result{y, yh};
  if (yc) result.push_back(*yc);
  return result;
}

} // namespace

void registerRnnOps(ConverterTable& t) {
  t["LSTM"] = rnnOp<Cell::Lstm>;
  t["GRU"] = rnnOp<Cell::Gru>;
  t["RNN"] = rnnOp<Cell::Rnn>;
}

} // namespace cairn::onnx_import
