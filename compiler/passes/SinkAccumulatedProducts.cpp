// Sink accumulated products: the match, then one rebuild of the loop with a
// collecting buffer per (product operand, row index), then the products
// after the loop. The header has the rewrite and why it is sound.
#include "compiler/passes/SinkAccumulatedProducts.h"

#include <map>
#include <optional>

#include "compiler/RewriteUtils.h"

namespace cairn {
namespace {

std::vector<int64_t> shifted(std::vector<int64_t> dims) {
  for (int64_t& d : dims)
    ++d;
  dims.insert(dims.begin(), 0);
  return dims;
}

/// One accumulation `%acc_next = add %acc, %d` of carried slot `slot`.
struct Accumulation {
  size_t slot = 0;
  Op* add = nullptr;
  Op* product = nullptr; ///< the dot defining %d
  Op* row = nullptr;     ///< the gather reading row k of X
  int side = 0;          ///< which operand of the dot is the row

  Value* collected() const { return product->operand(static_cast<size_t>(1 - side)); } ///< %g
  Value* index() const { return row->operand(1); } ///< %k
  Value* rows() const { return row->operand(0); }  ///< X
};

class Sinker {
public:
  int64_t sunk = 0;

  void runOnLoop(Op* loop) {
    const size_t n = loop->numResults();
    Region& cond = loop->region(0);
    Region& body = loop->region(1);
    Op* yield = body.terminator();
    if (!yield || yield->numOperands() != n || body.numArguments() != n ||
        cond.numArguments() != n || loop->numOperands() < n)
      return;
    std::map<const Value*, int> uses = countUses(body);
    std::vector<Accumulation> found;
    for (size_t i = 0; i < n; ++i)
      if (auto a = matchSlot(*loop, i, uses)) found.push_back(*a);
    if (!found.empty()) rewrite(loop, found);
  }

private:
  /// Whether carried slot `i` of `loop` is an accumulation this pass sinks.
  std::optional<Accumulation> matchSlot(const Op& loop, size_t i,
                                        const std::map<const Value*, int>& uses) {
    Region& body = loop.region(1);
    Value* acc = body.argument(i);
    Value* next = body.terminator()->operand(i);
    Op* add = next->definingOp();
    if (!add || add->kind() != OpKind::Add || add->parentRegion() != &body ||
        !isFloat(acc->type.dtype) || count(uses, acc) != 1 || count(uses, next) != 1 ||
        hasUses(loop.region(0), loop.region(0).argument(i)))
      return std::nullopt;
    Accumulation a;
    a.slot = i;
    a.add = add;
    Value* d = add->operand(0) == acc ? add->operand(1) : add->operand(0);
    if (d == acc || d->type != acc->type || count(uses, d) != 1) return std::nullopt;
    a.product = d->definingOp();
    if (!a.product || a.product->parentRegion() != &body) return std::nullopt;
    if (a.product->kind() != OpKind::Dot || !a.product->getIntsOr("lhs_batch", {}).empty() ||
        !a.product->getIntsOr("rhs_batch", {}).empty())
      return std::nullopt;
    for (int side = 0; side < 2; ++side)
      if (matchRow(loop, a, side)) return a;
    return std::nullopt;
  }

  static int count(const std::map<const Value*, int>& uses, const Value* v) {
    auto it = uses.find(v);
    return it == uses.end() ? 0 : it->second;
  }

  /// Whether operand `side` of the dot is `gather %X, %k {axis = 0}` of a
  /// loop-invariant X at a scalar k, and every dim of the other operand is
  /// static or contracted with one of the row's dims.
  bool matchRow(const Op& loop, Accumulation& a, int side) {
    Op& dot = *a.product;
    Op* row = dot.operand(static_cast<size_t>(side))->definingOp();
    if (!row || row->kind() != OpKind::Gather || row->parentRegion() != dot.parentRegion() ||
        row->getIntOr("axis", 0) != 0 || row->getIntOr("batch_dims", 0) != 0 ||
        row->operand(1)->type.rank() != 0 || definedWithin(row->operand(0), &loop))
      return false;
    Value* g = dot.operand(static_cast<size_t>(1 - side));
    if (!isFloat(g->type.dtype) || g->type.rank() == 0) return false;
    auto [rowContract, gContract] = contracts(dot, side);
    for (int64_t d = 0; d < g->type.rank(); ++d) {
      if (g->type.shape[d] != kDynamic) continue;
      bool contracted = false;
      for (size_t c = 0; c < gContract.size(); ++c)
        contracted |= gContract[c] == d;
      if (!contracted) return false;
    }
    a.row = row;
    a.side = side;
    return true;
  }

  /// The dot's contracting dims of the row operand and of the other one.
  static std::pair<std::vector<int64_t>, std::vector<int64_t>> contracts(const Op& dot, int side) {
    int64_t lhsRank = dot.operand(0)->type.rank();
    std::vector<int64_t> lhs = dot.getIntsOr("lhs_contract", {lhsRank - 1});
    std::vector<int64_t> rhs = dot.getIntsOr("rhs_contract", {0});
    return side == 0 ? std::pair{lhs, rhs} : std::pair{rhs, lhs};
  }

  /// A collecting buffer: where its zeros come from and its carried slot.
  struct Buffer {
    Value* collected;
    Value* index;
    Value* init = nullptr;
    size_t slot = 0;
  };

  void rewrite(Op* loop, const std::vector<Accumulation>& accs) {
    Region& parent = *loop->parentRegion();
    size_t at = parent.indexOf(loop);
    std::vector<Buffer> buffers;
    std::vector<size_t> bufferOf;
    for (const Accumulation& a : accs) {
      size_t b = 0;
      while (b < buffers.size() &&
             (buffers[b].collected != a.collected() || buffers[b].index != a.index()))
        ++b;
      if (b == buffers.size()) {
        buffers.push_back({a.collected(), a.index()});
        buffers.back().init = zeros(parent, at, *a.collected(), *a.rows(), a);
      }
      bufferOf.push_back(b);
    }

    // The loop with one more carried value per buffer.
    const size_t n = loop->numResults();
    std::vector<Value*> operands(loop->operands.begin(), loop->operands.begin() + n);
    std::vector<TensorType> types;
    for (size_t i = 0; i < n; ++i)
      types.push_back(loop->result(i)->type);
    for (Buffer& b : buffers) {
      b.slot = operands.size();
      operands.push_back(b.init);
      types.push_back(b.init->type);
    }
    operands.insert(operands.end(), loop->operands.begin() + n, loop->operands.end());
    auto rebuilt = Op::create(OpKind::While, operands, types, loop->attrs, 2, loop->loc);
    std::map<Value*, Value*> args; // old region arguments -> new
    for (size_t r = 0; r < 2; ++r) {
      Region& from = loop->region(r);
      Region& to = rebuilt->region(r);
      for (size_t i = 0; i < n; ++i)
        args[from.argument(i)] = to.addArgument(from.argument(i)->type, from.argument(i)->name);
      for (const Buffer& b : buffers)
        to.addArgument(b.init->type, "collected");
      while (!from.empty())
        to.append(from.take(from.ops().front().get()));
      replaceAllUsesWith(to, args);
    }
    auto remap = [&](Value* v) { return args.count(v) ? args.at(v) : v; };
    Region& body = rebuilt->region(1);
    Op* yield = body.terminator();
    for (const Buffer& b : buffers) {
      auto scatter = Op::create(OpKind::ScatterAdd,
                                {body.argument(b.slot), remap(b.index), remap(b.collected)},
                                {b.init->type}, {{"axis", int64_t{0}}, {"batch_dims", int64_t{0}}},
                                0, yield->loc);
      yield->operands.push_back(body.insert(body.indexOf(yield), std::move(scatter))->result());
    }
    for (const Accumulation& a : accs)
      yield->operands[a.slot] = body.argument(a.slot); // invariant now; canonicalize drops it

    std::map<Value*, Value*> results;
    for (size_t i = 0; i < n; ++i) {
      rebuilt->result(i)->name = loop->result(i)->name;
      results[loop->result(i)] = rebuilt->result(i);
    }
    replaceAllUsesWith(parent, results);
    Op* inserted = parent.insert(at, std::move(rebuilt));
    parent.erase(loop);

    // After the loop: each accumulation's total, added to the carried result.
    size_t after = parent.indexOf(inserted) + 1;
    for (size_t k = 0; k < accs.size(); ++k) {
      const Accumulation& a = accs[k];
      Value* all = inserted->result(buffers[bufferOf[k]].slot);
      Value* carried = inserted->result(a.slot);
      auto [rowContract, gContract] = contracts(*a.product, a.side);
      std::vector<Value*> ins = {a.rows(), all};
      std::vector<int64_t> lhs = shifted(rowContract), rhs = shifted(gContract);
      if (a.side == 1) {
        std::swap(ins[0], ins[1]);
        std::swap(lhs, rhs);
      }
      auto total = Op::create(OpKind::Dot, ins, {a.product->result()->type},
                              {{"lhs_contract", lhs}, {"rhs_contract", rhs}}, 0, a.product->loc);
      Value* sum = parent.insert(after++, std::move(total))->result();
      auto add = Op::create(OpKind::Add, {carried, sum}, {carried->type}, {}, 0, a.add->loc);
      add->result()->name = carried->name;
      replaceAllUsesWith(parent, carried, add->result()); // before the add exists
      parent.insert(after++, std::move(add));
    }
    for (const Accumulation& a : accs) {
      Region& r = *a.add->parentRegion();
      r.erase(a.add);
      r.erase(a.product);
      if (!hasUses(r, a.row->result())) r.erase(a.row);
    }
    sunk += static_cast<int64_t>(accs.size());
  }

  /// `broadcast 0` of shape [rows of X, ...shape of g], placed at `at` in
  /// `region` (before the loop); dynamic dims of g are contracted ones, whose
  /// sizes are the row's, i.e. X's.
  Value* zeros(Region& region, size_t& at, const Value& g, Value& rows, const Accumulation& a) {
    Tensor zero(TensorType(g.type.dtype, {}));
    Value* scalar = region.insert(at++, makeConstantOp(zero, a.add->loc))->result();
    std::vector<Value*> operands = {scalar};
    Shape shape = {rows.type.shape[0]};
    auto size = [&](int64_t axis) {
      auto dim = Op::create(OpKind::Dim, {&rows}, {TensorType(DType::I64, {})},
                            {{"axis", axis}}, 0, a.add->loc);
      operands.push_back(region.insert(at++, std::move(dim))->result());
    };
    if (shape[0] == kDynamic) size(0);
    auto [rowContract, gContract] = contracts(*a.product, a.side);
    for (int64_t d = 0; d < g.type.rank(); ++d) {
      shape.push_back(g.type.shape[d]);
      if (g.type.shape[d] != kDynamic) continue;
      for (size_t c = 0; c < gContract.size(); ++c)
        if (gContract[c] == d) size(rowContract[c] + 1);
    }
    auto fill = Op::create(OpKind::Broadcast, operands, {TensorType(g.type.dtype, shape)},
                           {{"dims", std::vector<int64_t>{}}}, 0, a.add->loc);
    fill->result()->name = "collected";
    return region.insert(at++, std::move(fill))->result();
  }
};

class SinkAccumulatedProductsPass : public Pass {
public:
  std::string_view name() const override { return "sink-accumulated-products"; }
  StatusOr<bool> run(Module& m) override { return sinkAccumulatedProducts(m); }
};

} // namespace

StatusOr<bool> sinkAccumulatedProducts(Module& m, int64_t* numSunk) {
  Sinker sinker;
  for (auto& f : m.functions()) {
    std::vector<Op*> loops;
    walk(*f, [&](Op& op) {
      if (op.kind() == OpKind::While) loops.push_back(&op);
    });
    // Innermost first: rebuilding a loop replaces it, so an outer loop is
    // only visited (and maybe rebuilt) after every loop it contains.
    for (auto it = loops.rbegin(); it != loops.rend(); ++it)
      sinker.runOnLoop(*it);
  }
  if (numSunk) *numSunk = sinker.sunk;
  return sinker.sunk > 0;
}

std::unique_ptr<Pass> createSinkAccumulatedProductsPass() {
  return std::make_unique<SinkAccumulatedProductsPass>();
}

} // namespace cairn
