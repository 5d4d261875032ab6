// Expand rnn: the rewrite of one `rnn` op into a `while` (see the header).
#include "compiler/passes/ExpandRnn.h"

#include "compiler/RewriteUtils.h"
#include "ir/TypeInference.h"

namespace cairn {
namespace {

/// Appends ops to a region (at the end, or before a fixed op), inferring
/// their result types with the verifier's rules.
class Emitter {
public:
  Emitter(Region& region, Location loc, Op* before = nullptr)
      : region_(region), loc_(std::move(loc)), before_(before) {}

  Value* op(OpKind kind, std::vector<Value*> operands, AttrMap attrs = {},
            std::vector<TensorType> declared = {}) {
    std::vector<TensorType> types;
    for (Value* v : operands)
      types.push_back(v->type);
    StatusOr<std::vector<TensorType>> results = inferResultTypes(kind, types, attrs, declared);
    CAIRN_CHECK(results.isOk(), "expand-rnn built an ill-typed '{}': {}", opName(kind),
                results.status().message());
    return put(Op::create(kind, std::move(operands), *results, std::move(attrs), 0, loc_))
        ->result();
  }
  Op* put(std::unique_ptr<Op> op) {
    return before_ ? region_.insert(region_.indexOf(before_), std::move(op))
                   : region_.append(std::move(op));
  }
  Value* constant(double v, const TensorType& type) {
    Tensor t(type);
    for (int64_t i = 0; i < t.numElements(); ++i)
      t.setDouble(i, v);
    return put(makeConstantOp(std::move(t), loc_))->result();
  }
  Value* index(int64_t v, DType dtype) {
    Tensor t{TensorType(dtype, {})};
    t.setInt(0, v);
    return put(makeConstantOp(std::move(t), loc_))->result();
  }
  const Location& loc() const { return loc_; }

private:
  Region& region_;
  Location loc_;
  Op* before_;
};

/// The run-time sizes of one rnn: T and B as scalars of the lengths' dtype.
struct Sizes {
  Value* steps;
  Value* batch;
  /// One size operand per `?` of `shape`, whose dims are T, B or static
  /// (`axisOf[d]`: 'T', 'B' or 0).
  std::vector<Value*> dynamic(const Shape& shape, std::string_view axisOf) const {
    std::vector<Value*> out;
    for (size_t d = 0; d < shape.size(); ++d)
      if (shape[d] == kDynamic) out.push_back(axisOf[d] == 'T' ? steps : batch);
    return out;
  }
};

/// A weight given as `transpose %w {perm = [1, 0]}` (a model whose
/// weights are stored [in, G*H], as the frontend's cells): its product reads
/// %w directly, contracting its first dim. Exact: the same products summed
/// in the same order; the transpose then dies, and the loop is the cells'.
Value* transposedFrom(Value* w) {
  Op* def = w->definingOp();
  if (def && def->kind() == OpKind::Transpose && def->getInts("perm") == std::vector<int64_t>{1, 0})
    return def->operand(0);
  return nullptr;
}
Value* untransposed(Value* w) {
  Value* inner = transposedFrom(w);
  return inner ? inner : w;
}
/// x W^T: W [G*H, in] contracts its dim 1; an untransposed [in, G*H] its dim 0
/// (dot's default).
AttrMap contraction(Value* w) {
  if (transposedFrom(w)) return {};
  return {{"rhs_contract", std::vector<int64_t>{1}}};
}

class RnnExpander {
public:
  int64_t expanded = 0;

  void expand(Op* rnn) {
    const bool lstm = std::get<std::string>(rnn->attrs.at("cell")) == "lstm";
    const bool reverse = rnn->getIntOr("reverse", 0) != 0;
    Value* x = rnn->operand(0);
    Value* lengths = rnn->operand(1);
    Value* h0 = rnn->operand(2);
    Value* c0 = lstm ? rnn->operand(3) : nullptr;
    const size_t w = lstm ? 4 : 3;
    Value *wIh = rnn->operand(w), *wHh = rnn->operand(w + 1);
    Value *bIh = rnn->operand(w + 2), *bHh = rnn->operand(w + 3);
    const DType dt = x->type.dtype, L = lengths->type.dtype;
    const TensorType ysType = rnn->result(0)->type, stateType = rnn->result(1)->type;
    const int64_t H = stateType.shape[1], B = stateType.shape[0], T = ysType.shape[0];
    const int64_t G = lstm ? 4 : 3;
    Region& parent = *rnn->parentRegion();
    Emitter out(parent, rnn->loc, rnn);

    // Sizes, the checked lengths and the loop-invariant values.
    Sizes sz;
    sz.steps = out.op(OpKind::Dim, {x}, {{"axis", int64_t{0}}}, {TensorType(L, {})});
    sz.batch = out.op(OpKind::Dim, {x}, {{"axis", int64_t{1}}}, {TensorType(L, {})});
    Value* one = out.index(1, L);
    Value* zeroIndex = out.index(0, L);
    TensorType rampType(L, {T == kDynamic ? kDynamic : T + 1});
    std::vector<Value*> rampOps;
    if (T == kDynamic) rampOps.push_back(out.op(OpKind::Add, {sz.steps, one}));
    Value* ramp = out.op(OpKind::Iota, rampOps, {{"axis", int64_t{0}}}, {rampType});
    // Equal to %lengths where every length is in [0, T]; the gather stops
    // the program (at the rnn's location) on any other.
    Value* len = out.op(OpKind::Gather, {ramp, lengths}, {{"axis", int64_t{0}}});
    len->name = "lengths_checked";
    sz.steps->name = "steps";
    sz.batch->name = "batch";
    Value* zero = out.constant(0.0, TensorType(dt, {}));
    auto splat = [&](Emitter& e, Value* scalar, const Shape& shape, std::string_view axes) {
      std::vector<Value*> ops{scalar};
      for (Value* s : sz.dynamic(shape, axes))
        ops.push_back(s);
      return e.op(OpKind::Broadcast, ops, {{"dims", std::vector<int64_t>{}}},
                  {TensorType(scalar->type.dtype, shape)});
    };
    Value* zeros = splat(out, zero, {B, H}, "B");
    // A static T = 0 would make the body's row update ill-typed (a row of a
    // [0, B, H] buffer): the loop then carries a [?, B, H] buffer, reshaped
    // back after it (it runs no step, but still checks the lengths).
    const TensorType bufferType(dt, {T == 0 ? kDynamic : T, ysType.shape[1], H});
    Value* zeroOutputs = splat(out, zero, bufferType.shape, "TB");
    Value* bias = lstm ? out.op(OpKind::Add, {bIh, bHh}) : nullptr;
    Value* t0 = reverse ? out.op(OpKind::Sub, {sz.steps, one}) : zeroIndex;

    // The loop: carried t, h, the output buffer and (LSTM) c; max_trip T.
    std::vector<Value*> inits{t0, h0, zeroOutputs};
    std::vector<TensorType> carried{TensorType(L, {}), stateType, bufferType};
    if (lstm) {
      inits.push_back(c0);
      carried.push_back(rnn->result(2)->type);
    }
    std::vector<Value*> operands = inits;
    operands.push_back(sz.steps);
    Op* loop = out.put(Op::create(OpKind::While, operands, carried, {}, 2, rnn->loc));
    const char* argNames[] = {"t", "h", "ys", "c"};
    for (int r = 0; r < 2; ++r)
      for (size_t i = 0; i < carried.size(); ++i)
        loop->region(r).addArgument(carried[i], argNames[i]);

    {
      Emitter cond(loop->region(0), rnn->loc);
      Value* t = loop->region(0).argument(0);
      Value* go =
          reverse ? cond.op(OpKind::Ge, {t, cond.index(0, L)}) : cond.op(OpKind::Lt, {t, sz.steps});
      cond.put(Op::create(OpKind::Yield, {go}, {}, {}, 0, rnn->loc));
    }

    Region& body = loop->region(1);
    Emitter e(body, rnn->loc);
    Value* t = body.argument(0);
    Value* h = body.argument(1);
    Value* buffer = body.argument(2);
    Value* c = lstm ? body.argument(3) : nullptr;
    const Shape bh{B, H};
    // Row t of x: a dynamic_slice and a reshape when [1, B, I] is static,
    // else a gather with the scalar index (frontend sliceAt's choice).
    const int64_t I = x->type.shape[2];
    Value* xt;
    if (B != kDynamic && x->type.shape[1] != kDynamic) {
      Value* z = e.index(0, L);
      Value* block =
          e.op(OpKind::DynamicSlice, {x, t, z, z}, {{"sizes", std::vector<int64_t>{1, B, I}}});
      xt = e.op(OpKind::Reshape, {block}, {}, {TensorType(dt, {B, I})});
    } else {
      xt = e.op(OpKind::Gather, {x, t}, {{"axis", int64_t{0}}});
    }
    Value* xw = e.op(OpKind::Dot, {xt, untransposed(wIh)}, contraction(wIh));
    Value* hw = e.op(OpKind::Dot, {h, untransposed(wHh)}, contraction(wHh));
    xt->name = "x_t";
    xw->name = "xw";
    hw->name = "hw";
    const Shape rows{xw->type.shape[0], G * H};
    auto overRows = [&](Value* v) {
      std::vector<Value*> ops{v};
      for (Value* s : sz.dynamic(rows, "B"))
        ops.push_back(s);
      return e.op(OpKind::Broadcast, ops, {{"dims", std::vector<int64_t>{1}}},
                  {TensorType(dt, rows)});
    };
    // Gate k: columns [kH, (k+1)H); a gather of the column range when the
    // batch is dynamic (frontend split's choice: `slice` needs static limits).
    auto gate = [&](Value* all, int64_t k) {
      int64_t b = all->type.shape[0];
      if (b != kDynamic)
        return e.op(OpKind::Slice, {all},
                    {{"start", std::vector<int64_t>{0, k * H}},
                     {"limit", std::vector<int64_t>{b, (k + 1) * H}}});
      Tensor idx(TensorType(DType::I64, {H}));
      for (int64_t j = 0; j < H; ++j)
        idx.setInt(j, k * H + j);
      Value* cols = e.put(makeConstantOp(std::move(idx), e.loc()))->result();
      return e.op(OpKind::Gather, {all, cols}, {{"axis", int64_t{1}}});
    };
    Value *hNew, *cNew = nullptr;
    if (lstm) {
      Value* gates = e.op(OpKind::Add, {e.op(OpKind::Add, {xw, hw}), overRows(bias)});
      Value* i = e.op(OpKind::Sigmoid, {gate(gates, 0)});
      Value* f = e.op(OpKind::Sigmoid, {gate(gates, 1)});
      Value* g = e.op(OpKind::Tanh, {gate(gates, 2)});
      Value* o = e.op(OpKind::Sigmoid, {gate(gates, 3)});
      Value* keep = e.op(OpKind::Mul, {f, c});
      Value* write = e.op(OpKind::Mul, {i, g});
      cNew = e.op(OpKind::Add, {keep, write});
      hNew = e.op(OpKind::Mul, {o, e.op(OpKind::Tanh, {cNew})});
    } else {
      Value* gx = e.op(OpKind::Add, {xw, overRows(bIh)});
      Value* gh = e.op(OpKind::Add, {hw, overRows(bHh)});
      Value* r = e.op(OpKind::Sigmoid, {e.op(OpKind::Add, {gate(gx, 0), gate(gh, 0)})});
      Value* z = e.op(OpKind::Sigmoid, {e.op(OpKind::Add, {gate(gx, 1), gate(gh, 1)})});
      Value* rn = e.op(OpKind::Mul, {r, gate(gh, 2)});
      Value* n = e.op(OpKind::Tanh, {e.op(OpKind::Add, {gate(gx, 2), rn})});
      Value* ones = splat(e, e.constant(1.0, TensorType(dt, {})), z->type.shape, "B");
      Value* fresh = e.op(OpKind::Mul, {e.op(OpKind::Sub, {ones, z}), n});
      Value* kept = e.op(OpKind::Mul, {z, h});
      hNew = e.op(OpKind::Add, {fresh, kept});
    }
    // Rows at or past their length keep their state and emit zeros.
    Value* tRows = splat(e, t, len->type.shape, "B");
    Value* rowLive = e.op(OpKind::Lt, {tRows, len});
    std::vector<Value*> liveOps{rowLive};
    for (Value* s : sz.dynamic(bh, "B"))
      liveOps.push_back(s);
    Value* live = e.op(OpKind::Broadcast, liveOps, {{"dims", std::vector<int64_t>{0}}},
                       {TensorType(DType::I1, bh)});
    hNew->name = "h_new";
    live->name = "live";
    Value* h1 = e.op(OpKind::Select, {live, hNew, h});
    Value* emitted = e.op(OpKind::Select, {live, hNew, zeros});
    Value* c1 = lstm ? e.op(OpKind::Select, {live, cNew, c}) : nullptr;
    const Shape block{1, B, H};
    std::vector<Value*> reshapeOps{emitted};
    for (Value* s : sz.dynamic(block, "0B"))
      reshapeOps.push_back(s);
    Value* row = e.op(OpKind::Reshape, reshapeOps, {}, {TensorType(dt, block)});
    Value* z = e.index(0, L);
    Value* buffer1 = e.op(OpKind::DynamicUpdateSlice, {buffer, row, t, z, z});
    Value* t1 = e.op(reverse ? OpKind::Sub : OpKind::Add, {t, e.index(1, L)});
    std::vector<Value*> next{t1, h1, buffer1};
    if (lstm) next.push_back(c1);
    e.put(Op::create(OpKind::Yield, next, {}, {}, 0, rnn->loc));

    // The op's results are the loop's: ys, h_n, c_n.
    Value* ys = loop->result(2);
    if (ys->type != ysType) {
      std::vector<Value*> ops{ys};
      for (Value* s : sz.dynamic(ysType.shape, "TB"))
        ops.push_back(s);
      ys = out.op(OpKind::Reshape, ops, {}, {ysType});
    }
    std::map<Value*, Value*> mapping{{rnn->result(0), ys}, {rnn->result(1), loop->result(1)}};
    if (lstm) mapping[rnn->result(2)] = loop->result(3);
    for (auto& [from, to] : mapping)
      to->name = from->name;
    replaceAllUsesWith(parent, mapping);
    parent.erase(rnn);
    ++expanded;
  }
};

class ExpandRnnPass : public Pass {
public:
  explicit ExpandRnnPass(bool keepForDevice) : keepForDevice_(keepForDevice) {}
  std::string_view name() const override {
    return keepForDevice_ ? "expand-rnn-off-device" : "expand-rnn";
  }
  StatusOr<bool> run(Module& m) override {
    return expandRnn(m, nullptr, keepForDevice_ ? rnnRunsOnDevice : nullptr);
  }

private:
  bool keepForDevice_;
};

} // namespace

bool rnnRunsOnDevice(const Op& rnn) {
  // cuDNN's RNN path (runtime/device/cuda/CudnnRnn.h) is f32; the shapes
  // were checked by the verifier, the lengths are checked when it runs.
  return rnn.kind() == OpKind::Rnn && rnn.numOperands() > 0 &&
         rnn.operand(0)->type.dtype == DType::F32;
}

StatusOr<bool> expandRnn(Module& m, int64_t* numExpanded, bool (*keep)(const Op&)) {
  RnnExpander expander;
  for (auto& f : m.functions()) {
    std::vector<Op*> rnns;
    walk(*f, [&](Op& op) {
      if (op.kind() == OpKind::Rnn && !(keep && keep(op))) rnns.push_back(&op);
    });
    for (Op* rnn : rnns)
      expander.expand(rnn);
  }
  if (numExpanded) *numExpanded = expander.expanded;
  return expander.expanded > 0;
}

std::unique_ptr<Pass> createExpandRnnPass() {
  return std::make_unique<ExpandRnnPass>(false);
}

std::unique_ptr<Pass> createExpandRnnOffDevicePass() {
  return std::make_unique<ExpandRnnPass>(true);
}

} // namespace cairn
