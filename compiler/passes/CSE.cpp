// CSE: a walk over each function with a stack of hash tables, one per open
// region, so that a lookup sees exactly the ops that dominate the current one.
#include "compiler/passes/CSE.h"

#include <cstring>
#include <functional>
#include <unordered_map>

#include "compiler/RewriteUtils.h"

namespace cairn {
namespace {

void combine(size_t& seed, size_t h) {
  seed ^= h + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
}

/// A hash consistent with equivalent(): equal ops hash alike.
size_t hashOp(const Op& op) {
  size_t h = std::hash<int>()(static_cast<int>(op.kind()));
  for (const Value* v : op.operands)
    combine(h, std::hash<const Value*>()(v));
  for (const Value* r : op.results()) {
    combine(h, static_cast<size_t>(r->type.dtype));
    for (int64_t d : r->type.shape)
      combine(h, std::hash<int64_t>()(d));
  }
  for (auto& [name, attr] : op.attrs) {
    combine(h, std::hash<std::string>()(name));
    if (const int64_t* i = std::get_if<int64_t>(&attr)) combine(h, std::hash<int64_t>()(*i));
    if (const Tensor* t = std::get_if<Tensor>(&attr)) {
      // A prefix of the bytes separates the usual small constants cheaply.
      size_t n = std::min<size_t>(t->byteSize(), 64);
      combine(h, std::hash<std::string_view>()(
                     std::string_view(reinterpret_cast<const char*>(t->rawData()), n)));
    }
  }
  return h;
}

bool equivalent(const Op& a, const Op& b) {
  if (a.kind() != b.kind() || a.operands != b.operands || a.numResults() != b.numResults())
    return false;
  for (size_t i = 0; i < a.numResults(); ++i)
    if (a.result(i)->type != b.result(i)->type) return false;
  return attributesEqual(a.attrs, b.attrs);
}

bool isCandidate(const Op& op) {
  return op.numRegions() == 0 && isPure(op.kind()) && !isTerminator(op.kind()) &&
         op.numResults() > 0;
}

class ScopedCSE {
public:
  int64_t merged = 0;

  void runOnRegion(Region& region) {
    scopes_.emplace_back();
    for (size_t i = 0; i < region.ops().size();) {
      Op* op = region.ops()[i].get();
      if (op->numRegions() > 0) {
        // Each nested region opens its own scope, closed before the next.
        // A fusion's region is isolated: it sees none of the outer scopes.
        std::vector<std::unordered_multimap<size_t, Op*>> outer;
        if (op->kind() == OpKind::Fusion) outer.swap(scopes_);
        for (size_t r = 0; r < op->numRegions(); ++r)
          runOnRegion(op->region(r));
        if (op->kind() == OpKind::Fusion) outer.swap(scopes_);
        ++i;
        continue;
      }
      if (!isCandidate(*op)) {
        ++i;
        continue;
      }
      size_t h = hashOp(*op);
      if (Op* prev = lookup(*op, h)) {
        std::map<Value*, Value*> mapping;
        for (size_t k = 0; k < op->numResults(); ++k)
          mapping[op->result(k)] = prev->result(k);
        // Uses of the duplicate all follow it in its own region.
        replaceAllUsesWith(region, mapping);
        region.erase(op);
        ++merged;
        continue;
      }
      scopes_.back().emplace(h, op);
      ++i;
    }
    scopes_.pop_back();
  }

private:
  Op* lookup(const Op& op, size_t h) const {
    for (auto scope = scopes_.rbegin(); scope != scopes_.rend(); ++scope) {
      auto [first, last] = scope->equal_range(h);
      for (auto it = first; it != last; ++it)
        if (equivalent(*it->second, op)) return it->second;
    }
    return nullptr;
  }

  std::vector<std::unordered_multimap<size_t, Op*>> scopes_;
};

class CSEPass : public Pass {
public:
  std::string_view name() const override { return "cse"; }
  StatusOr<bool> run(Module& m) override { return eliminateCommonSubexpressions(m); }
};

} // namespace

StatusOr<bool> eliminateCommonSubexpressions(Module& m, int64_t* numMerged) {
  ScopedCSE cse;
  for (auto& f : m.functions())
    cse.runOnRegion(f->body());
  if (numMerged) *numMerged = cse.merged;
  return cse.merged > 0;
}

std::unique_ptr<Pass> createCSEPass() {
  return std::make_unique<CSEPass>();
}

} // namespace cairn
