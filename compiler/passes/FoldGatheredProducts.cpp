// Fold gathered products: the rewrite. Each dot in the module (nested
// regions included) is matched against
//   dot(gather(C, idx, axis 0), W)  or  dot(transpose(gather(C, idx, axis 0)), W)
// with C and W constants; the table C . W is evaluated by the reference
// interpreter (the same evaluateOp constant folding uses) and the dot
// becomes a gather of the table's rows. The old gather and transpose are
// left for dce when nothing else reads them.
#include "compiler/passes/FoldGatheredProducts.h"

#include <optional>

#include "compiler/RewriteUtils.h"
#include "runtime/reference/Interpreter.h"

namespace cairn {
namespace {

/// A match: the constants, the indices and, when a transpose sits between
/// the gather and the dot, its permutation of the index dims.
struct Match {
  Value* embedding;    // C [V, K]
  Value* weight;       // W
  int64_t rhsContract; // W's contracted dim: 0 ([K, N]) or 1 ([N, K])
  Value* indices;      // idx
  std::optional<std::vector<int64_t>> indexPerm;
};

/// `g` as a row gather of a rank-2 constant: gather(C, idx) along axis 0.
bool isRowGatherOfConstant(const Op* g) {
  return g && g->kind() == OpKind::Gather && g->getIntOr("axis", 0) == 0 &&
         g->getIntOr("batch_dims", 0) == 0 && constantValue(g->operand(0)) &&
         g->operand(0)->type.rank() == 2;
}

std::optional<Match> match(const Op& dot) {
  const Value* lhs = dot.operand(0);
  Value* w = dot.operand(1);
  int64_t rank = lhs->type.rank();
  // Only the plain product contracting the lhs's last dim: its result dims
  // are the lhs's leading dims then W's free dim, a gather's layout.
  if (!dot.getIntsOr("lhs_batch", {}).empty() || !dot.getIntsOr("rhs_batch", {}).empty())
    return std::nullopt;
  if (dot.getIntsOr("lhs_contract", {rank - 1}) != std::vector<int64_t>{rank - 1})
    return std::nullopt;
  std::vector<int64_t> rc = dot.getIntsOr("rhs_contract", {0});
  if (rc.size() != 1 || w->type.rank() != 2 || !constantValue(w)) return std::nullopt;
  const Op* def = lhs->definingOp();
  std::optional<std::vector<int64_t>> perm;
  if (def && def->kind() == OpKind::Transpose) {
    std::vector<int64_t> p = def->getIntsOr("perm", {});
    if (static_cast<int64_t>(p.size()) != rank || p.back() != rank - 1) return std::nullopt;
    perm = std::vector<int64_t>(p.begin(), p.end() - 1); // the row stays last
    def = def->operand(0)->definingOp();
  }
  if (!isRowGatherOfConstant(def)) return std::nullopt;
  return Match{def->operand(0), w, rc[0], def->operand(1), perm};
}

/// C . W as the dot `dot` computes it row by row, or nullopt when it is too
/// large or cannot be evaluated.
std::optional<Tensor> evaluateTable(const Op& dot, const Match& mt,
                                    const FoldGatheredProductsOptions& options) {
  const Tensor& c = *constantValue(mt.embedding);
  const Tensor& w = *constantValue(mt.weight);
  int64_t v = c.shape()[0], n = w.shape()[static_cast<size_t>(1 - mt.rhsContract)];
  if (v * n > options.maxTableElements) return std::nullopt;
  AttrMap attrs;
  attrs["rhs_contract"] = std::vector<int64_t>{mt.rhsContract};
  std::unique_ptr<Op> product = Op::create(OpKind::Dot, {mt.embedding, mt.weight},
                                           {TensorType(c.dtype(), Shape{v, n})}, attrs, 0, dot.loc);
  StatusOr<std::vector<Tensor>> values = evaluateOp(*product, {c, w});
  if (!values.isOk() || values->size() != 1) return std::nullopt;
  return std::move((*values)[0]);
}

/// Replaces `dot` (in `r`) by a gather of the table's rows.
void rewrite(Region& r, Op* dot, const Match& mt, Tensor table) {
  size_t at = r.indexOf(dot);
  Op* t = r.insert(at++, makeConstantOp(std::move(table), dot->loc));
  Value* idx = mt.indices;
  if (mt.indexPerm) {
    Shape shape;
    for (int64_t d : *mt.indexPerm)
      shape.push_back(idx->type.shape[static_cast<size_t>(d)]);
    AttrMap attrs;
    attrs["perm"] = *mt.indexPerm;
    idx = r.insert(at++, Op::create(OpKind::Transpose, {idx}, {TensorType(idx->type.dtype, shape)},
                                    attrs, 0, dot->loc))
              ->result();
  }
  AttrMap attrs;
  attrs["axis"] = int64_t{0};
  attrs["batch_dims"] = int64_t{0};
  Op* g = r.insert(at, Op::create(OpKind::Gather, {t->result(), idx}, {dot->result()->type}, attrs,
                                  0, dot->loc));
  g->result()->name = dot->result()->name;
  replaceAllUsesWith(r, dot->result(), g->result());
  r.erase(dot);
}

int64_t foldIn(Region& r, const FoldGatheredProductsOptions& options) {
  int64_t folded = 0;
  for (size_t i = 0; i < r.ops().size(); ++i) {
    Op* op = r.ops()[i].get();
    for (size_t k = 0; k < op->numRegions(); ++k)
      folded += foldIn(op->region(k), options);
    if (op->kind() != OpKind::Dot) continue;
    std::optional<Match> mt = match(*op);
    if (!mt) continue;
    std::optional<Tensor> table = evaluateTable(*op, *mt, options);
    if (!table) continue;
    rewrite(r, op, *mt, std::move(*table));
    ++folded;
    // The rewrite put the table, maybe a transpose, and the gather at i..;
    // none is a dot, so the scan goes on from the next op.
  }
  return folded;
}

class FoldGatheredProductsPass : public Pass {
public:
  std::string_view name() const override { return "fold-gathered-products"; }
  StatusOr<bool> run(Module& m) override { return foldGatheredProducts(m); }
};

} // namespace

StatusOr<bool> foldGatheredProducts(Module& m, const FoldGatheredProductsOptions& options,
                                    int64_t* numFolded) {
  int64_t folded = 0;
  for (auto& f : m.functions())
    folded += foldIn(f->body(), options);
  if (numFolded) *numFolded += folded;
  return folded > 0;
}

std::unique_ptr<Pass> createFoldGatheredProductsPass() {
  return std::make_unique<FoldGatheredProductsPass>();
}

} // namespace cairn
