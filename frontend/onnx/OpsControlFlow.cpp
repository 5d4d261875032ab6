// ONNX control flow: Loop and Scan become `while`, If becomes `if`.
//
// Algorithm (Loop; Scan and If follow the same plan):
//  1. Probe: build the body once inside a throw-away `while` whose carried
//     values have the current types, and record the types of what the body
//     yields. Roll the probe back (its ops are erased).
//  2. Join: a carried value whose yielded type differs from its current type
//     (a dim that changes between iterations) becomes dynamic in that dim.
//     Repeat 1-2 until the types are stable (at most a few rounds).
//  3. Build the real `while`: carried (i, cond, values..., stacks...), cond
//     region `i < M && cond`, body the ONNX body with its outputs reshaped
//     to the carried types. Scan outputs are stacked along a new leading
//     axis: into a preallocated [M, ...] buffer with dynamic_update_slice
//     when the trip count M is known at import time, else by concatenation
//     onto a [?, ...] stack (M may be a huge "no limit" value at run time).
//     When the loop can stop early, the preallocated buffer is cut to the
//     iterations actually run.
// Scan's trip count is the scanned axis' length, so its stacks are always
// preallocated; reverse directions index from the end. Opset 8's Scan (with
// a batch axis) is unrolled over a static batch.
#include "frontend/onnx/OnnxInternal.h"

namespace cairn::onnx_import {
namespace {

/// Erases every op appended to the builder's current region after its
/// construction: how a probe build is undone.
class Rollback {
public:
  Rollback(FunctionBuilder& b, Importer& imp)
      : imp_(imp), region_(b.insertionRegion()), mark_(region_.ops().size()) {}
  void now() {
    while (region_.ops().size() > mark_) {
      Op* op = region_.ops().back().get();
      imp_.forget(*op);
      region_.erase(op);
    }
  }

private:
  Importer& imp_;
  Region& region_;
  size_t mark_;
};

std::vector<TensorType> typesOf(const ValueList& vs) {
  std::vector<TensorType> t;
  for (const Val& v : vs)
    t.push_back(v.type());
  return t;
}

ValueList generalizeAll(const ValueList& vs, const std::vector<TensorType>& types) {
  ValueList out;
  for (size_t i = 0; i < vs.size(); ++i)
    out.push_back(generalizeTo(vs[i], types[i]));
  return out;
}

/// Joins `next` into `types`; returns whether anything changed. Throws when
/// a dtype or rank changes (ONNX forbids it).
bool joinInto(std::vector<TensorType>& types, const std::vector<TensorType>& next,
              std::string_view what) {
  bool changed = false;
  for (size_t i = 0; i < types.size(); ++i) {
    std::optional<TensorType> j = joinTypes(types[i], next[i]);
    if (!j)
      throw Unsupported(fmt::format("{} #{} changes from {} to {} between iterations or branches",
                                    what, i, types[i].toString(), next[i].toString()));
    if (*j != types[i]) {
      types[i] = *j;
      changed = true;
    }
  }
  return changed;
}

/// A [?, elem...] stack holding nothing, for concatenating scan outputs.
Val emptyStack(FunctionBuilder& b, const TensorType& elem) {
  if (!elem.hasStaticShape())
    throw Unsupported(fmt::format("a scan output of dynamic shape {} (its stack needs static "
                                  "element dims)",
                                  elem.toString()));
  Sizes s{IntOrVal(b.scalar(0, DType::I64))};
  for (int64_t d : elem.shape)
    s.emplace_back(d);
  return broadcastTo(b.scalar(0, elem.dtype), s);
}

/// A zero-filled [n, elem...] buffer for n scan outputs.
Val zeroStack(FunctionBuilder& b, const TensorType& elem, IntOrVal n) {
  if (!elem.hasStaticShape())
    throw Unsupported(fmt::format("a scan output of dynamic shape {}", elem.toString()));
  Sizes s{n};
  for (int64_t d : elem.shape)
    s.emplace_back(d);
  return broadcastTo(b.scalar(0, elem.dtype), s);
}

Val asRow(const Val& elem) {
  Sizes s{IntOrVal(1)};
  for (const IntOrVal& v : sizesOf(elem))
    s.push_back(v);
  return reshape(elem, s);
}

// ---- Loop ---------------------------------------------------------------------

ValueList loopOp(NodeContext& c) {
  const onnx::GraphProto& body = c.attrGraph("body");
  FunctionBuilder& b = c.b;
  Importer& imp = c.importer;
  const size_t nState = c.numInputs() >= 2 ? c.numInputs() - 2 : 0;
  if (body.output_size() < static_cast<int>(nState) + 1)
    throw InvalidModel("the body has fewer outputs than the loop-carried values + cond");
  const size_t nScan = static_cast<size_t>(body.output_size()) - 1 - nState;

  std::optional<Val> tripCount;
  std::optional<int64_t> staticTrips;
  if (c.hasInput(0)) {
    tripCount = toScalar(c.input(0), DType::I64);
    if (std::optional<Tensor> t = c.constInput(0))
      staticTrips = oneElement(*t, "the trip count M").getInt(0);
  }
  Val cond0 = c.hasInput(1) ? toScalar(c.input(1), DType::I1) : b.scalar(1, DType::I1);
  bool condStartsTrue = false;
  if (std::optional<Tensor> t = imp.constantOf(cond0))
    condStartsTrue = oneElement(*t, "the condition").getInt(0) != 0;
  ValueList inits;
  for (size_t k = 0; k < nState; ++k)
    inits.push_back(c.input(2 + k));
  Val zero = b.scalar(0, DType::I64);

  // 1-2: probe until the carried types are stable.
  std::vector<TensorType> types = typesOf(inits), scanTypes;
  bool condPassesThrough = false;
  for (int round = 0;; ++round) {
    if (round == 4) throw Unsupported("loop-carried types do not settle");
    std::vector<TensorType> yielded;
    Rollback rb(b, imp);
    ValueList probeInits{zero, cond0};
    for (const Val& v : generalizeAll(inits, types))
      probeInits.push_back(v);
    b.whileLoop(
        probeInits, [&](const ValueList&) { return b.scalar(0, DType::I1); },
        [&](const ValueList& args) {
          ValueList outs = imp.importSubgraph(body, c.scope, args);
          condPassesThrough = outs[0].value() == args[1].value();
          for (size_t k = 0; k < nState; ++k)
            yielded.push_back(outs[1 + k].type());
          scanTypes = typesOf(ValueList(outs.begin() + 1 + nState, outs.end()));
          return args;
        });
    rb.now();
    if (!joinInto(types, yielded, "loop-carried value")) break;
  }

  // 3: the real loop.
  bool mayStopEarly = !(condStartsTrue && condPassesThrough);
  // (At least one row: a [0, ...] buffer cannot take a row update, even one
  // that never runs.)
  bool prealloc = staticTrips && *staticTrips >= 1 && *staticTrips <= (1 << 20);
  ValueList realInits{zero, cond0};
  for (const Val& v : generalizeAll(inits, types))
    realInits.push_back(v);
  std::vector<TensorType> stackTypes;
  for (const TensorType& t : scanTypes) {
    Val s = prealloc ? zeroStack(b, t, *staticTrips) : emptyStack(b, t);
    stackTypes.push_back(s.type());
    realInits.push_back(s);
  }
  ValueList r = b.whileLoop(
      realInits,
      [&](const ValueList& args) {
        if (!tripCount) return args[1];
        return logicalAnd(lt(args[0], *tripCount), args[1]);
      },
      [&](const ValueList& args) {
        ValueList bodyArgs(args.begin(), args.begin() + 2 + nState);
        ValueList outs = imp.importSubgraph(body, c.scope, bodyArgs);
        ValueList next{args[0] + 1.0, toScalar(outs[0], DType::I1)};
        for (size_t k = 0; k < nState; ++k)
          next.push_back(generalizeTo(outs[1 + k], types[k]));
        for (size_t k = 0; k < nScan; ++k) {
          Val acc = args[2 + nState + k], elem = outs[1 + nState + k];
          if (elem.type() != scanTypes[k]) elem = generalizeTo(elem, scanTypes[k]);
          std::vector<IntOrVal> starts(static_cast<size_t>(acc.rank()), IntOrVal(0));
          starts[0] = args[0];
          next.push_back(prealloc ? dynamicUpdateSlice(acc, asRow(elem), starts)
                                  : generalizeTo(concat({acc, asRow(elem)}, 0), stackTypes[k]));
        }
        return next;
      });
  ValueList results(r.begin() + 2, r.begin() + 2 + nState);
  for (size_t k = 0; k < nScan; ++k) {
    Val stack = r[2 + nState + k];
    if (prealloc && mayStopEarly) // keep the rows of the iterations that ran
      stack = gather(stack, b.iota(DType::I64, {IntOrVal(r[0])}, 0), 0);
    results.push_back(stack);
  }
  return results;
}

// ---- Scan ---------------------------------------------------------------------

struct ScanSpec {
  std::vector<bool> inputReverse, outputReverse;
  std::vector<int64_t> outputAxes;
};

/// The scan proper: `xs` have the scanned axis first; returns the final
/// states then the stacked outputs (scanned axis first).
ValueList scanCore(NodeContext& c, const onnx::GraphProto& body, const ValueList& states,
                   const ValueList& xs, const ScanSpec& spec) {
  FunctionBuilder& b = c.b;
  Importer& imp = c.importer;
  const size_t nState = states.size(), nIn = xs.size();
  if (nIn == 0) throw InvalidModel("Scan without scan inputs");
  const size_t nOut = static_cast<size_t>(body.output_size()) - nState;
  IntOrVal trips = sizeOf(xs[0], 0);
  Val tripsVal = b.intValue(trips, DType::I64);
  // A static empty scan still has to type-check a row read and a row update
  // (that never run): make the scanned dim dynamic.
  ValueList scanned = xs;
  if (trips.isStatic() && trips.staticValue() == 0) {
    trips = IntOrVal(tripsVal);
    for (Val& x : scanned) {
      TensorType t = x.type();
      t.shape[0] = kDynamic;
      x = generalizeTo(x, t);
    }
  }
  Val zero = b.scalar(0, DType::I64);

  auto elements = [&](const Val& i) {
    ValueList es;
    for (size_t k = 0; k < nIn; ++k) {
      Val idx = spec.inputReverse[k] ? (tripsVal - 1.0) - i : i;
      es.push_back(sliceAt(scanned[k], idx, 0));
    }
    return es;
  };

  std::vector<TensorType> types = typesOf(states), outTypes;
  for (int round = 0;; ++round) {
    if (round == 4) throw Unsupported("scan state types do not settle");
    std::vector<TensorType> yielded;
    Rollback rb(b, imp);
    ValueList probeInits{zero};
    for (const Val& v : generalizeAll(states, types))
      probeInits.push_back(v);
    b.whileLoop(
        probeInits, [&](const ValueList&) { return b.scalar(0, DType::I1); },
        [&](const ValueList& args) {
          ValueList bodyArgs(args.begin() + 1, args.end());
          for (const Val& e : elements(args[0]))
            bodyArgs.push_back(e);
          ValueList outs = imp.importSubgraph(body, c.scope, bodyArgs);
          for (size_t k = 0; k < nState; ++k)
            yielded.push_back(outs[k].type());
          outTypes = typesOf(ValueList(outs.begin() + nState, outs.end()));
          return args;
        });
    rb.now();
    if (!joinInto(types, yielded, "scan state")) break;
  }

  ValueList inits{zero};
  for (const Val& v : generalizeAll(states, types))
    inits.push_back(v);
  for (const TensorType& t : outTypes)
    inits.push_back(zeroStack(b, t, trips));
  ValueList r = b.whileLoop(
      inits, [&](const ValueList& args) { return lt(args[0], tripsVal); },
      [&](const ValueList& args) {
        ValueList bodyArgs(args.begin() + 1, args.begin() + 1 + nState);
        for (const Val& e : elements(args[0]))
          bodyArgs.push_back(e);
        ValueList outs = imp.importSubgraph(body, c.scope, bodyArgs);
        ValueList next{args[0] + 1.0};
        for (size_t k = 0; k < nState; ++k)
          next.push_back(generalizeTo(outs[k], types[k]));
        for (size_t k = 0; k < nOut; ++k) {
          Val acc = args[1 + nState + k], elem = outs[nState + k];
          if (elem.type() != outTypes[k]) elem = generalizeTo(elem, outTypes[k]);
          std::vector<IntOrVal> starts(static_cast<size_t>(acc.rank()), IntOrVal(0));
          starts[0] = spec.outputReverse[k] ? (tripsVal - 1.0) - args[0] : args[0];
          next.push_back(dynamicUpdateSlice(acc, asRow(elem), starts));
        }
        return next;
      });
  return ValueList(r.begin() + 1, r.end());
}

ScanSpec scanSpec(NodeContext& c, size_t nIn, size_t nOut) {
  ScanSpec s;
  auto flags = [](std::vector<int64_t> v, size_t n, std::string_view what) {
    if (v.empty()) v.assign(n, 0);
    if (v.size() != n)
      throw InvalidModel(fmt::format("{} has {} entries, expected {}", what, v.size(), n));
    return std::vector<bool>(v.begin(), v.end());
  };
  std::vector<int64_t> dirs = c.attrInts(c.opset() < 9 ? "directions" : "scan_input_directions");
  s.inputReverse = flags(dirs, nIn, "scan_input_directions");
  s.outputReverse = flags(c.attrInts("scan_output_directions"), nOut, "scan_output_directions");
  s.outputAxes = c.attrInts("scan_output_axes");
  if (s.outputAxes.empty()) s.outputAxes.assign(nOut, 0);
  if (s.outputAxes.size() != nOut) throw InvalidModel("scan_output_axes has the wrong length");
  return s;
}

ValueList scan9(NodeContext& c) {
  const onnx::GraphProto& body = c.attrGraph("body");
  const size_t nIn = static_cast<size_t>(c.attrInt("num_scan_inputs", 0));
  if (nIn == 0 || nIn > c.numInputs()) throw InvalidModel("bad num_scan_inputs");
  const size_t nState = c.numInputs() - nIn;
  if (body.output_size() < static_cast<int>(nState)) throw InvalidModel("body has too few outputs");
  const size_t nOut = static_cast<size_t>(body.output_size()) - nState;
  ScanSpec spec = scanSpec(c, nIn, nOut);
  std::vector<int64_t> inAxes = c.attrInts("scan_input_axes");
  if (inAxes.empty()) inAxes.assign(nIn, 0);
  if (inAxes.size() != nIn) throw InvalidModel("scan_input_axes has the wrong length");
  ValueList states, xs;
  for (size_t k = 0; k < nState; ++k)
    states.push_back(c.input(k));
  for (size_t k = 0; k < nIn; ++k) {
    Val x = c.input(nState + k);
    xs.push_back(moveAxis(x, normalizeAxis(inAxes[k], x.rank()), 0));
  }
  ValueList r = scanCore(c, body, states, xs, spec);
  for (size_t k = 0; k < nOut; ++k) {
    Val& o = r[nState + k];
    o = moveAxis(o, 0, normalizeAxis(spec.outputAxes[k], o.rank()));
  }
  return r;
}

/// Opset 8: inputs (sequence_lens?, states [B, ...], scans [B, T, ...]); each
/// batch row is an independent scan. Unrolled over a static batch.
ValueList scan8(NodeContext& c) {
  const onnx::GraphProto& body = c.attrGraph("body");
  if (c.hasInput(0)) throw Unsupported("Scan (opset 8) with sequence_lens");
  const size_t nIn = static_cast<size_t>(c.attrInt("num_scan_inputs", 0));
  if (nIn == 0 || nIn + 1 > c.numInputs()) throw InvalidModel("bad num_scan_inputs");
  const size_t nState = c.numInputs() - 1 - nIn;
  const size_t nOut = static_cast<size_t>(body.output_size()) - nState;
  ScanSpec spec = scanSpec(c, nIn, nOut);
  spec.outputAxes.assign(nOut, 0);
  if (c.input(1).rank() < 1) throw InvalidModel("Scan (opset 8) inputs need a batch dim");
  int64_t batch = c.input(1).shape()[0];
  if (batch == kDynamic || batch > 64)
    throw Unsupported("Scan (opset 8) over a dynamic or large batch");
  std::vector<ValueList> perRow;
  for (int64_t row = 0; row < batch; ++row) {
    ValueList states, xs;
    for (size_t k = 0; k < nState; ++k)
      states.push_back(sliceAt(c.input(1 + k), row, 0));
    for (size_t k = 0; k < nIn; ++k)
      xs.push_back(sliceAt(c.input(1 + nState + k), row, 0));
    perRow.push_back(scanCore(c, body, states, xs, spec));
  }
  ValueList out;
  for (size_t k = 0; k < nState + nOut; ++k) {
    ValueList rows;
    for (const ValueList& r : perRow)
      rows.push_back(asRow(r[k]));
    out.push_back(concat(rows, 0));
  }
  return out;
}

ValueList scanOp(NodeContext& c) {
  return c.opset() < 9 ? scan8(c) : scan9(c);
}

// ---- If -----------------------------------------------------------------------

ValueList ifOp(NodeContext& c) {
  const onnx::GraphProto& thenG = c.attrGraph("then_branch");
  const onnx::GraphProto& elseG = c.attrGraph("else_branch");
  FunctionBuilder& b = c.b;
  Importer& imp = c.importer;
  Val pred = toScalar(c.input(0), DType::I1);
  if (thenG.output_size() != elseG.output_size())
    throw InvalidModel("the branches have different numbers of outputs");
  std::vector<TensorType> thenTypes, elseTypes;
  {
    Rollback rb(b, imp);
    b.ifElse(
        pred,
        [&] {
          thenTypes = typesOf(imp.importSubgraph(thenG, c.scope, {}));
          return ValueList{};
        },
        [&] {
          elseTypes = typesOf(imp.importSubgraph(elseG, c.scope, {}));
          return ValueList{};
        });
    rb.now();
  }
  std::vector<TensorType> types = thenTypes;
  joinInto(types, elseTypes, "branch output");
  return b.ifElse(
      pred, [&] { return generalizeAll(imp.importSubgraph(thenG, c.scope, {}), types); },
      [&] { return generalizeAll(imp.importSubgraph(elseG, c.scope, {}), types); });
}

} // namespace

void registerControlFlowOps(ConverterTable& t) {
  t["Loop"] = loopOp;
  t["Scan"] = scanOp;
  t["If"] = ifOp;
}

} // namespace cairn::onnx_import
