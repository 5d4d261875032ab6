// Fuse elementwise: greedy grouping in program order, then one fusion op per
// group.
//
// Algorithm (per region):
//  1. Walk the ops in order. A fusible op (see the header) starts as a group
//     of its own; then, for each operand made by a fusible op of this region
//     with the same iteration key (element count, or the shape when it has
//     `?` dims), the producer's group is merged in if the union stays
//     convex: no path from a member back to a member through a non-member
//     (checked by one forward scan from the first member, tracking the
//     values that depend on the group).
//  2. For each group big enough, in program order, check convexity again
//     (earlier fusions have turned several ops into one, which can close a
//     cycle through two groups; such a group is left unfused), then build
//     the fusion: operands are the outside values the members read (splat
//     constants copied in instead), results are the member values used
//     outside the group, the region is the members cloned in order.
//  3. Re-order the span from the first to the last member: the ops that do
//     not depend on the group, then the fusion, then the ops that do. Every
//     op still follows what it reads: the fusion's operands come from the
//     first set or from before the span, and convexity means the first set
//     reads nothing from the group or the last set.
#include "compiler/passes/FuseElementwise.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "compiler/RewriteUtils.h"
#include "ir/Fusion.h"

namespace cairn {
namespace {

/// The iteration space of a fusible op: its result's element count, or its
/// shape when that has `?` dims (equal only when the shapes are).
struct Key {
  Shape shape;
  bool operator==(const Key& o) const { return shape == o.shape; }
};

std::optional<Key> fusibleKey(const Op& op) {
  if (op.kind() == OpKind::Constant || op.numResults() != 1 ||
      !fusionKindAllows(kElementwiseFusion, op.kind()))
    return std::nullopt;
  const TensorType& t = op.result()->type;
  if (t.rank() == 0) return std::nullopt;
  // What no kernel computes (integer division, f64 pow and erf) would send
  // its whole group to the reference kernels: it stays out, alone.
  if (!noKernelForm(op.kind(), t.dtype).empty()) return std::nullopt;
  // A gather fuses as a slice read at an offset (a cell's gate split).
  if (op.kind() == OpKind::Gather && !isBlockGather(op)) return std::nullopt;
  // A reshape fuses only when it provably keeps the element count.
  if (op.kind() == OpKind::Reshape &&
      (op.numOperands() != 1 || !t.hasStaticShape() || !op.operand(0)->type.hasStaticShape()))
    return std::nullopt;
  if (t.hasStaticShape()) return Key{{t.numElements()}};
  return Key{t.shape};
}

/// A constant the fusion copies instead of reading: one value repeated.
bool isSplatConstant(const Value* v) {
  const Tensor* c = constantValue(v);
  return c && c->numElements() >= 1 && c->isSplat();
}

using OpSet = std::set<const Op*>;

/// Ops a fusion may repeat per element of a broadcast (a cycle or two each).
bool isCheapToRecompute(OpKind k) {
  switch (k) {
  case OpKind::Eq:
  case OpKind::Ne:
  case OpKind::Lt:
  case OpKind::Le:
  case OpKind::Gt:
  case OpKind::Ge:
  case OpKind::And:
  case OpKind::Or:
  case OpKind::Not:
  case OpKind::Select:
  case OpKind::Add:
  case OpKind::Sub:
  case OpKind::Mul:
  case OpKind::Min:
  case OpKind::Max:
  case OpKind::Neg:
  case OpKind::Cast:
  case OpKind::Broadcast:
  case OpKind::Reshape:
    return true;
  default:
    return false;
  }
}

/// externalUses of each op, computed once; valid while the ops do not change.
class UsesCache {
public:
  const std::vector<Value*>& operator()(const Op& op) {
    auto it = cache_.find(&op);
    if (it == cache_.end()) it = cache_.emplace(&op, externalUses(op)).first;
    return it->second;
  }

private:
  std::map<const Op*, std::vector<Value*>> cache_;
};

/// Whether no path leaves `group` and re-enters it through a non-member,
/// looking at `region`'s ops from the first member to the last.
bool isConvex(const Region& region, const OpSet& group, UsesCache& uses) {
  std::set<const Value*> fromGroup;  // member results
  std::set<const Value*> viaOutside; // what depends on them through non-members
  size_t seen = 0;
  for (const auto& owned : region.ops()) {
    const Op& op = *owned;
    bool member = group.count(&op) != 0;
    if (seen == 0 && !member) continue;
    if (member) {
      for (const Value* v : op.operands)
        if (viaOutside.count(v)) return false;
      fromGroup.insert(op.result());
      if (++seen == group.size()) return true;
      continue;
    }
    bool depends = false;
    for (const Value* v : uses(op))
      depends = depends || fromGroup.count(v) || viaOutside.count(v);
    if (depends)
      for (const Value* r : op.results())
        viaOutside.insert(r);
  }
  return true;
}

class ElementwiseFuser {
public:
  explicit ElementwiseFuser(const FuseElementwiseOptions& options) : options_(options) {}

  int64_t fusions = 0;

  void runOnRegion(Region& region) {
    for (const auto& op : region.ops())
      if (op->kind() != OpKind::Fusion)
        for (size_t r = 0; r < op->numRegions(); ++r)
          runOnRegion(op->region(r));
    std::vector<std::vector<Op*>> groups = formGroups(region);
    for (const std::vector<Op*>& g : groups)
      if (worthFusing(g)) build(region, g);
  }

  /// Erases the constants copied into fusions that nothing else reads. Run
  /// once a function is done: they may sit in a region still being walked.
  void eraseDeadCopiedConstants() {
    for (Op* c : copiedConstants_)
      if (!hasUses(*c->parentRegion(), c->result())) c->parentRegion()->erase(c);
    copiedConstants_.clear();
  }

private:
  std::vector<std::vector<Op*>> formGroups(Region& region) {
    UsesCache uses;
    std::vector<std::vector<Op*>> groups; // in order of their first member
    std::map<const Op*, size_t> groupOf;
    std::vector<Key> keys;
    for (const auto& owned : region.ops()) {
      Op* op = owned.get();
      std::optional<Key> key = fusibleKey(*op);
      if (!key) continue;
      OpSet memberSet{op};
      std::vector<size_t> absorbed;
      for (Value* v : op->operands) {
        const Op* producer = v->definingOp();
        auto it = producer ? groupOf.find(producer) : groupOf.end();
        if (it == groupOf.end()) continue;
        if (!(keys[it->second] == *key) &&
            !recomputedUnderBroadcast(*op, *v, groups[it->second], region, uses))
          continue;
        size_t g = it->second;
        if (std::find(absorbed.begin(), absorbed.end(), g) != absorbed.end()) continue;
        OpSet merged = memberSet;
        merged.insert(groups[g].begin(), groups[g].end());
        if (!isConvex(region, merged, uses)) continue;
        memberSet = std::move(merged);
        absorbed.push_back(g);
      }
      size_t into =
          absorbed.empty() ? groups.size() : *std::min_element(absorbed.begin(), absorbed.end());
      if (into == groups.size()) {
        groups.emplace_back();
        keys.push_back(*key);
      }
      keys[into] = *key; // a group recomputed under a broadcast takes this space
      for (size_t g : absorbed) {
        if (g == into) continue;
        for (Op* m : groups[g])
          groupOf[m] = into;
        groups[into].insert(groups[into].end(), groups[g].begin(), groups[g].end());
        groups[g].clear();
      }
      groups[into].push_back(op);
      groupOf[op] = into;
    }
    // Members in program order (merging concatenated them by group).
    std::map<const Op*, size_t> position;
    for (size_t i = 0; i < region.ops().size(); ++i)
      position[region.ops()[i].get()] = i;
    for (auto& g : groups)
      std::sort(g.begin(), g.end(), [&](Op* a, Op* b) { return position[a] < position[b]; });
    return groups;
  }

  /// Whether `producers` (a group of another iteration space, making `v`)
  /// may join the group of `op`, a broadcast of `v`, to be recomputed at
  /// every element of the broadcast: a few cheap ops (kMaxRecomputed;
  /// compares, logic, select, add/sub/mul/min/max, casts: no
  /// transcendental, which a wide broadcast would repeat thousands of
  /// times) whose values nothing else reads, so they become no result of
  /// their own and no kernel of their own. An RNN step's mask
  /// (`t < length`, [B]) then joins its cell ([B, H]) instead of costing a
  /// kernel launch per step.
  static bool recomputedUnderBroadcast(const Op& op, const Value& v,
                                       const std::vector<Op*>& producers, const Region& region,
                                       UsesCache& uses) {
    constexpr size_t kMaxRecomputed = 4;
    if (op.kind() != OpKind::Broadcast || op.operand(0) != &v || producers.empty() ||
        producers.size() > kMaxRecomputed)
      return false;
    for (const Op* m : producers)
      if (!isCheapToRecompute(m->kind())) return false;
    OpSet members(producers.begin(), producers.end());
    std::set<const Value*> made;
    for (const Op* m : producers)
      made.insert(m->result());
    for (const auto& other : region.ops()) {
      if (other.get() == &op || members.count(other.get())) continue;
      for (const Value* u : uses(*other))
        if (made.count(u)) return false;
    }
    // Nor yielded by the region's terminator, which `uses` covers as an op.
    return true;
  }

  bool worthFusing(const std::vector<Op*>& group) const {
    bool arithmetic = false;
    for (const Op* op : group)
      arithmetic = arithmetic || isElementwise(op->kind());
    return arithmetic && static_cast<int>(group.size()) >= options_.minOps;
  }

  void build(Region& region, const std::vector<Op*>& members) {
    OpSet group(members.begin(), members.end());
    UsesCache uses; // fresh: earlier fusions have changed the region
    if (!isConvex(region, group, uses)) return;

    // Operands: outside values the members read, splat constants and block
    // gathers' indices aside (copied in: the kernel reads neither).
    std::vector<Value*> inputs, splats;
    auto addOnce = [](std::vector<Value*>& list, Value* v) {
      if (std::find(list.begin(), list.end(), v) == list.end()) list.push_back(v);
    };
    for (const Op* m : members)
      for (size_t k = 0; k < m->numOperands(); ++k) {
        Value* v = m->operand(k);
        if (group.count(v->definingOp())) continue;
        bool copied = isSplatConstant(v) || (m->kind() == OpKind::Gather && k == 1);
        addOnce(copied ? splats : inputs, v);
      }
    // Results: member values read by anything but a member.
    std::map<const Value*, int> useCounts = countUses(region);
    for (const Op* m : members)
      for (const Value* v : m->operands)
        --useCounts[v];
    std::vector<Value*> outputs;
    for (Op* m : members)
      if (useCounts[m->result()] > 0) outputs.push_back(m->result());

    std::vector<TensorType> types;
    for (Value* v : outputs)
      types.push_back(v->type);
    AttrMap attrs{{kFusionKindAttr, std::string(kElementwiseFusion)}};
    auto fusion = Op::create(OpKind::Fusion, inputs, types, attrs, 1, members.back()->loc);
    Region& body = fusion->region(0);
    std::map<const Value*, Value*> mapping;
    for (Value* v : inputs)
      mapping[v] = body.addArgument(v->type, v->name);
    for (Value* c : splats)
      body.append(c->definingOp()->clone(mapping));
    for (const Op* m : members)
      body.append(m->clone(mapping));
    std::vector<Value*> yielded;
    std::map<Value*, Value*> replacements;
    for (size_t k = 0; k < outputs.size(); ++k) {
      yielded.push_back(mapping.at(outputs[k]));
      fusion->result(k)->name = outputs[k]->name;
      replacements[outputs[k]] = fusion->result(k);
    }
    body.append(Op::create(OpKind::Yield, yielded, {}, {}, 0, members.back()->loc));
    replaceAllUsesWith(region, replacements);
    place(region, group, std::move(fusion));
    for (Value* c : splats)
      copiedConstants_.insert(c->definingOp());
    ++fusions;
  }

  /// Replaces the members by `fusion`: the span's independent ops first,
  /// then the fusion, then the ops that read the group.
  static void place(Region& region, const OpSet& group, std::unique_ptr<Op> fusion) {
    size_t first = region.ops().size(), last = 0;
    for (size_t i = 0; i < region.ops().size(); ++i)
      if (group.count(region.ops()[i].get())) {
        first = std::min(first, i);
        last = i;
      }
    std::vector<Value*> results = fusion->results();
    std::set<const Value*> tainted(results.begin(), results.end());
    std::vector<std::unique_ptr<Op>> before, after;
    for (size_t i = first; i <= last; ++i) {
      std::unique_ptr<Op> op = region.take(region.ops()[first].get());
      if (group.count(op.get())) continue; // destroyed: its uses are all replaced
      bool depends = false;
      for (const Value* v : externalUses(*op))
        depends = depends || tainted.count(v);
      if (depends)
        for (const Value* r : op->results())
          tainted.insert(r);
      (depends ? after : before).push_back(std::move(op));
    }
    size_t at = first;
    for (auto& op : before)
      region.insert(at++, std::move(op));
    region.insert(at++, std::move(fusion));
    for (auto& op : after)
      region.insert(at++, std::move(op));
  }

  const FuseElementwiseOptions& options_;
  std::set<Op*> copiedConstants_;
};

class FuseElementwisePass : public Pass {
public:
  std::string_view name() const override { return "fuse-elementwise"; }
  StatusOr<bool> run(Module& m) override { return fuseElementwise(m); }
};

} // namespace

StatusOr<bool> fuseElementwise(Module& m, const FuseElementwiseOptions& options,
                               int64_t* numFusions) {
  ElementwiseFuser fuser(options);
  for (auto& f : m.functions()) {
    fuser.runOnRegion(f->body());
    fuser.eraseDeadCopiedConstants();
  }
  if (numFusions) *numFusions = fuser.fusions;
  return fuser.fusions > 0;
}

std::unique_ptr<Pass> createFuseElementwisePass() {
  return std::make_unique<FuseElementwisePass>();
}

} // namespace cairn
