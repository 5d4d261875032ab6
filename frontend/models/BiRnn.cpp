// The bidirectional RNN classifier and tagger as graphs (see BiRnn.h).
#include "frontend/models/BiRnn.h"

#include <optional>
#include <vector>

#include "frontend/layers/Layers.h"

namespace cairn {
namespace {

/// The layers of the model, declared in the contract's order.
struct BiRnnLayers {
  BiRnnLayers(ParamStore& ps, const BiRnnConfig& cfg) : cfg(cfg), ps(&ps) {
    embed = Embedding(ps, "embed", cfg.vocab, cfg.embed);
    for (int64_t k = 0; k < cfg.layers; ++k) {
      int64_t in = k == 0 ? cfg.embed : 2 * cfg.hidden;
      for (const char* dir : {"fwd", "bwd"}) {
        std::string name = fmt::format("rnn.l{}.{}", k, dir);
        if (cfg.cell == BiRnnConfig::Lstm)
          lstms.emplace_back(ps, name, in, cfg.hidden);
        else
          grus.emplace_back(ps, name, in, cfg.hidden);
      }
    }
    out = Linear(ps, "out", 2 * cfg.hidden, cfg.classes);
  }
  BiRnnConfig cfg;
  ParamStore* ps;
  Embedding embed;
  std::vector<LSTMCell> lstms; ///< layer k: [2k] fwd, [2k + 1] bwd
  std::vector<GRUCell> grus;
  Linear out;
};

/// What one direction of one layer produces.
struct DirectionResult {
  Val outputs; ///< [N, B, H], zero at padded positions
  Val final;   ///< [B, H], h after the example's last (fwd) / first (bwd) token
};

/// Sizes and zeros shared by every direction of every layer.
struct Common {
  Val lengths;      ///< [B] i32
  Val steps, batch; ///< N and B as i32 scalars
  Val zeros;        ///< [B, H]: initial states, and the output of a padded step
  Val zeroOutputs;  ///< [N, B, H]: the initial output buffer
};

/// Cell `index` (2k or 2k + 1) over xs [N, B, in] as one `rnn` op: the
/// cell's weights ([in, G*H], [H, G*H]) transposed to the op's layout.
DirectionResult runDirectionOp(FunctionBuilder& fb, const BiRnnLayers& net, size_t index, Val xs,
                               const Common& k, bool backward) {
  const bool lstm = net.cfg.cell == BiRnnConfig::Lstm;
  const ParamStore& ps = *net.ps;
  const std::string name = fmt::format("rnn.l{}.{}", index / 2, index % 2 ? "bwd" : "fwd");
  const std::string tag = backward ? "bwd" : "fwd";
  Val wIh = transpose(ps[name + ".wx"], {1, 0}).named(tag + "_w_ih");
  Val wHh = transpose(ps[name + ".wh"], {1, 0}).named(tag + "_w_hh");
  Val bIh = lstm ? ps[name + ".b"] : ps[name + ".bx"];
  // The cell has one LSTM bias: b_hh = -0.0, as b_ih + -0.0 is b_ih for
  // every b_ih (+0.0 is not: -0.0 + +0.0 = +0.0), so canonicalize folds it
  // away. expand-rnn reads the transposed weights untransposed: the loop is
  // the cells' own.
  Val bHh = lstm ? fb.constant(-0.0, TensorType(DType::F32, {4 * net.cfg.hidden}))
                 : ps[name + ".bh"];
  RnnResult r = rnn(lstm ? RnnCell::Lstm : RnnCell::Gru, xs, k.lengths, k.zeros,
                    lstm ? k.zeros : Val(), wIh, wHh, bIh, bHh, backward);
  return {r.ys.named(tag + "_outputs"), r.h.named(tag + "_final")};
}

/// A layer's input packed as PyTorch's packed sequences are: the live
/// positions (t < length) only, time-major. Both directions of a layer read
/// the same rows, so the input projections run over sum(lengths) rows, not
/// N x B, and each step reads its live rows' projections from them.
struct PackedInput {
  Val rows;  ///< [S, in]: the live rows of xs, in (t, b) order
  Val where; ///< [N, B] i32: the row of `rows` holding xs[t, b] (0 where padded: never read)
};

PackedInput pack(FunctionBuilder& fb, Val xs, const Common& k) {
  Val nb = (k.steps * k.batch).named("packed_positions");
  Val t = fb.iota(DType::I32, {k.steps, k.batch}, 0);
  Val length = broadcastInDim(k.lengths, {k.steps, k.batch}, {1});
  Val live = reshape(lt(t, length), {nb}).named("packed_live");
  Val at = nonzero(live).named("packed_at"); // [S]: flat (t, b) positions
  PackedInput p;
  p.rows = gather(reshape(xs, {nb, xs.type().shape.back()}), at, 0).named("packed_rows");
  Val count = dim(at, 0, DType::I32);
  Val zero = broadcastTo(fb.scalar(0, DType::I32), {nb});
  Val where = scatter(zero, at, fb.iota(DType::I32, {count}, 0), 0);
  p.where = reshape(where, {k.steps, k.batch}).named("packed_where");
  return p;
}

/// Runs cell `index` (2k or 2k + 1) over xs [N, B, in], forward or backward.
/// With `packed` (compactRows), each step's cell runs on its live rows and
/// reads their input projections from one product over the packed rows.
DirectionResult runDirection(FunctionBuilder& fb, const BiRnnLayers& net, size_t index, Val xs,
                             const Common& k, bool backward, const PackedInput* packed) {
  if (net.cfg.useRnnOp) return runDirectionOp(fb, net, index, xs, k, backward);
  const bool lstm = net.cfg.cell == BiRnnConfig::Lstm;
  const int64_t H = net.cfg.hidden;
  const std::string tag = backward ? "bwd" : "fwd";
  Val one = fb.scalar(1, DType::I32);
  Val projected; // [S, gates x H], before the loop
  if (packed)
    projected = (lstm ? net.lstms[index].projectInput(packed->rows)
                      : net.grus[index].projectInput(packed->rows))
                    .named(tag + "_projected");
  Val t0 = backward ? (k.steps - one) : fb.scalar(0, DType::I32);
  ValueList inits{t0.named(tag + "_t0"), k.zeros, k.zeroOutputs};
  if (lstm) inits.push_back(k.zeros);
  // Backward counts t down to -1, forward up to N; either way N iterations.
  ValueList r = fb.whileLoop(
      inits,
      [&](const ValueList& c) {
        Val go = backward ? ge(c[0], 0) : lt(c[0], k.steps);
        return go.named(tag + "_go");
      },
      [&](const ValueList& c) {
        Val t = c[0].named(tag + "_t"), h = c[1].named(tag + "_h");
        Val buffer = c[2].named(tag + "_out");
        Val rowLive = lt(t, k.lengths);
        Val cIn = lstm ? c[3].named(tag + "_c") : Val();
        // The cell on `in`: the step's input, or (packed) its rows' projections.
        auto cell = [&](Val in, Val hIn, Val cState) -> LstmState {
          const bool projectedIn = packed != nullptr;
          if (lstm)
            return projectedIn ? net.lstms[index].step(in, {hIn, cState})
                               : net.lstms[index](in, {hIn, cState});
          return {projectedIn ? net.grus[index].step(in, hIn) : net.grus[index](in, hIn), Val()};
        };
        // Rows past their length keep their state and emit zeros.
        Val h1, emitted, c1;
        if (packed) { // the cell sees the live rows only (their indices `rows`)
          Val rows = nonzero(rowLive).named(tag + "_rows");
          Val at = gather(sliceAt(packed->where, t), rows, 0).named(tag + "_packed_at");
          Val p = gather(projected, at, 0).named(tag + "_p");
          Val hRows = gather(h, rows, 0);
          LstmState s = cell(p, hRows, lstm ? gather(cIn, rows, 0) : Val());
          h1 = scatter(h, rows, s.h, 0).named(tag + "_h_next");
          emitted = scatter(k.zeros, rows, s.h, 0).named(tag + "_emit");
          if (lstm) c1 = scatter(cIn, rows, s.c, 0).named(tag + "_c_next");
        } else {
          LstmState s = cell(sliceAt(xs, t).named(tag + "_x"), h, cIn);
          Val live = broadcastInDim(rowLive, {k.batch, H}, {0}).named(tag + "_live");
          h1 = select(live, s.h, h).named(tag + "_h_next");
          emitted = select(live, s.h, k.zeros).named(tag + "_emit");
          if (lstm) c1 = select(live, s.c, cIn).named(tag + "_c_next");
        }
        Val buffer1 = updateAt(buffer, t, emitted).named(tag + "_out_next");
        Val t1 = backward ? t - one : t + one;
        ValueList next{t1.named(tag + "_t_next"), h1, buffer1};
        if (lstm) next.push_back(c1);
        return next;
      },
      k.steps);
  return {r[2].named(tag + "_outputs"), r[1].named(tag + "_final")};
}

struct Encoded {
  Val outputs;  ///< last layer's [fwd h_t, bwd h_t], [N, B, 2H] time-major
  Val fwd, bwd; ///< last layer's final states, [B, H]
};

Encoded encode(FunctionBuilder& fb, const BiRnnLayers& net, Val tokens, Val lengths) {
  Val x = net.embed(tokens).named("embedded");  // [B, N, E]
  Val xs = transpose(x, {1, 0, 2}).named("xs"); // [N, B, E]
  Common common;
  common.lengths = lengths;
  common.steps = dim(tokens, 1, DType::I32).named("steps");
  common.batch = dim(tokens, 0, DType::I32).named("batch");
  Val zero = fb.scalar(0, DType::F32);
  const int64_t H = net.cfg.hidden;
  common.zeros = broadcastTo(zero, {common.batch, H}).named("zeros");
  common.zeroOutputs = broadcastTo(zero, {common.steps, common.batch, H}).named("zero_outputs");
  Encoded e;
  for (int64_t k = 0; k < net.cfg.layers; ++k) {
    std::optional<PackedInput> packed;
    if (net.cfg.compactRows) packed = pack(fb, xs, common);
    const PackedInput* p = packed ? &*packed : nullptr;
    DirectionResult f = runDirection(fb, net, 2 * k, xs, common, false, p);
    DirectionResult b = runDirection(fb, net, 2 * k + 1, xs, common, true, p);
    xs = concat({f.outputs, b.outputs}, -1).named(fmt::format("l{}_out", k));
    e.fwd = f.final;
    e.bwd = b.final;
  }
  e.outputs = xs;
  return e;
}

void checkConfig(const BiRnnConfig& cfg, const ParamStore& ps, const std::string& name) {
  if (cfg.vocab <= 0 || cfg.embed <= 0 || cfg.hidden <= 0 || cfg.layers <= 0 || cfg.classes <= 0)
    throw BuildError(fmt::format("{}: sizes must be positive (vocab {}, embed {}, hidden {}, "
                                 "layers {}, classes {})",
                                 name, cfg.vocab, cfg.embed, cfg.hidden, cfg.layers, cfg.classes));
  if (cfg.useRnnOp && cfg.compactRows)
    throw BuildError(fmt::format("{}: useRnnOp and compactRows do not combine (compaction is a "
                                 "choice of the cell loop)",
                                 name));
  if (ps.size() != 0)
    throw BuildError(fmt::format("{}: the parameter store must be empty (it has {} parameters)",
                                 name, ps.size()));
}

/// The function with its data inputs and bound parameters.
struct Signature {
  std::vector<TensorType> types;
  std::vector<std::string> names;
};

Signature signature(const ParamStore& ps) {
  Signature s{{TensorType(DType::I32, {kDynamic, kDynamic}), TensorType(DType::I32, {kDynamic})},
              {"tokens", "lengths"}};
  for (const TensorType& t : ps.types())
    s.types.push_back(t);
  for (const std::string& n : ps.names())
    s.names.push_back(n);
  return s;
}

} // namespace

Function* buildBiRnnClassifier(Module& m, ParamStore& ps, const BiRnnConfig& cfg,
                               const std::string& name) {
  checkConfig(cfg, ps, name);
  BiRnnLayers net(ps, cfg);
  Signature sig = signature(ps);
  FunctionBuilder fb(m, name, sig.types, sig.names);
  ps.bind(fb, 2);
  Encoded e = encode(fb, net, fb.arg(0), fb.arg(1));
  Val features = concat({e.fwd, e.bwd}, -1).named("features");
  return fb.ret({net.out(features).named("logits")});
}

Function* buildBiRnnTagger(Module& m, ParamStore& ps, const BiRnnConfig& cfg,
                           const std::string& name) {
  checkConfig(cfg, ps, name);
  BiRnnLayers net(ps, cfg);
  Signature sig = signature(ps);
  FunctionBuilder fb(m, name, sig.types, sig.names);
  ps.bind(fb, 2);
  Encoded e = encode(fb, net, fb.arg(0), fb.arg(1));
  Val perRow = transpose(e.outputs, {1, 0, 2}).named("outputs"); // [B, N, 2H]
  return fb.ret({net.out(perRow).named("logits")});
}

} // namespace cairn
