// Inline: call-graph cycle detection, then cloning of callee bodies.
//
// Algorithm:
//  1. Build the call graph: for each function, the callees named by the
//     `call` ops anywhere in its body.
//  2. Find the recursive functions: those in a strongly connected component
//     with more than one function, or calling themselves (Tarjan's
//     algorithm).
//  3. Sweep every region of every function in order. A call to a
//     non-recursive callee is replaced in place: the callee's ops (all but
//     its `return`) are cloned before the call with parameters mapped to
//     arguments, the call's results are redirected to the mapped `return`
//     operands, and the call is erased. The sweep resumes at the first
//     cloned op, so calls inside the inlined body are inlined in turn; this
//     terminates because only acyclic call chains are followed.
#include "compiler/passes/Inline.h"

#include <algorithm>
#include <functional>
#include <set>

#include "compiler/RewriteUtils.h"

namespace cairn {
namespace {

const std::string* calleeName(const Op& op) {
  auto it = op.attrs.find("callee");
  if (op.kind() != OpKind::Call || it == op.attrs.end()) return nullptr;
  const SymbolRef* ref = std::get_if<SymbolRef>(&it->second);
  return ref ? &ref->name : nullptr;
}

/// Functions on a cycle of the call graph (Tarjan's strongly connected
/// components; a self-call is a cycle of one).
std::set<const Function*> recursiveFunctions(const Module& m) {
  std::map<const Function*, std::vector<const Function*>> callees;
  for (auto& f : m.functions())
    walk(*f, [&](Op& op) {
      if (const std::string* name = calleeName(op))
        if (const Function* g = m.lookup(*name)) callees[f.get()].push_back(g);
    });
  std::set<const Function*> recursive;
  std::map<const Function*, int> index, low;
  std::vector<const Function*> stack;
  std::set<const Function*> onStack;
  int next = 0;
  std::function<void(const Function*)> connect = [&](const Function* f) {
    index[f] = low[f] = next++;
    stack.push_back(f);
    onStack.insert(f);
    for (const Function* g : callees[f]) {
      if (g == f) recursive.insert(f);
      if (!index.count(g)) {
        connect(g);
        low[f] = std::min(low[f], low[g]);
      } else if (onStack.count(g)) {
        low[f] = std::min(low[f], index[g]);
      }
    }
    if (low[f] != index[f]) return;
    std::vector<const Function*> component;
    const Function* g = nullptr;
    do {
      g = stack.back();
      stack.pop_back();
      onStack.erase(g);
      component.push_back(g);
    } while (g != f);
    if (component.size() > 1) recursive.insert(component.begin(), component.end());
  };
  for (auto& f : m.functions())
    if (!index.count(f.get())) connect(f.get());
  return recursive;
}

class Inliner {
public:
  Inliner(const Module& m, std::set<const Function*> recursive)
      : module_(m), recursive_(std::move(recursive)) {}

  int64_t inlined = 0;

  void runOnRegion(Region& region) {
    for (size_t i = 0; i < region.ops().size();) {
      Op* op = region.ops()[i].get();
      const Function* callee = nullptr;
      if (const std::string* name = calleeName(*op)) callee = module_.lookup(*name);
      if (callee && !recursive_.count(callee) && fitsSignature(*op, *callee)) {
        inlineCall(region, i, op, *callee); // `i` now indexes the first cloned op
        ++inlined;
        continue;
      }
      for (size_t r = 0; r < op->numRegions(); ++r)
        runOnRegion(op->region(r));
      ++i;
    }
  }

private:
  /// The verifier guarantees these; checked so a bad call is left, not broken.
  static bool fitsSignature(const Op& call, const Function& callee) {
    const Op* ret = callee.body().terminator();
    return ret && ret->kind() == OpKind::Return &&
           call.numOperands() == callee.body().numArguments() &&
           call.numResults() == ret->numOperands();
  }

  /// `v` as a value of `type` (same dtype and rank, `type` less static):
  /// `v` itself when the types are equal, else a reshape whose dynamic dims
  /// take their sizes from constants (where `v`'s dim is static) or `dim`
  /// ops. Inserts at `index`, advancing it.
  static Value* asType(Region& region, size_t& index, Value* v, const TensorType& type,
                       const Location& loc) {
    if (v->type == type) return v;
    std::vector<Value*> operands{v};
    const TensorType scalar(DType::I64, {});
    for (int64_t d = 0; d < type.rank(); ++d) {
      if (type.shape[d] != kDynamic) continue;
      std::unique_ptr<Op> size;
      if (v->type.shape[d] != kDynamic) {
        Tensor t(scalar);
        t.setInt(0, v->type.shape[d]);
        size = makeConstantOp(std::move(t), loc);
      } else {
        size = Op::create(OpKind::Dim, {v}, {scalar}, {{"axis", d}}, 0, loc);
      }
      operands.push_back(region.insert(index++, std::move(size))->result());
    }
    auto reshape = Op::create(OpKind::Reshape, operands, {type}, {}, 0, loc);
    Op* r = region.insert(index++, std::move(reshape));
    r->result()->name = v->name;
    return r->result();
  }

  void inlineCall(Region& region, size_t& index, Op* call, const Function& callee) {
    const Region& body = callee.body();
    size_t first = index;
    std::map<const Value*, Value*> mapping;
    for (size_t i = 0; i < body.numArguments(); ++i)
      mapping[body.argument(i)] =
          asType(region, index, call->operand(i), body.argument(i)->type, call->loc);
    const Op* ret = body.terminator();
    for (const auto& op : body.ops())
      if (op.get() != ret) region.insert(index++, op->clone(mapping));
    std::map<Value*, Value*> results;
    for (size_t k = 0; k < call->numResults(); ++k) {
      // Every value the return can see is a parameter or a cloned result.
      Value* mapped = mapping.at(ret->operand(k));
      results[call->result(k)] = asType(region, index, mapped, call->result(k)->type, call->loc);
    }
    replaceAllUsesWith(region, results);
    region.erase(call);
    index = first;
  }

  const Module& module_;
  std::set<const Function*> recursive_;
};

class InlinePass : public Pass {
public:
  std::string_view name() const override { return "inline"; }
  StatusOr<bool> run(Module& m) override { return inlineCalls(m); }
};

} // namespace

StatusOr<bool> inlineCalls(Module& m, int64_t* numInlined) {
  Inliner inliner(m, recursiveFunctions(m));
  for (auto& f : m.functions())
    inliner.runOnRegion(f->body());
  if (numInlined) *numInlined = inliner.inlined;
  return inliner.inlined > 0;
}

std::unique_ptr<Pass> createInlinePass() {
  return std::make_unique<InlinePass>();
}

} // namespace cairn
