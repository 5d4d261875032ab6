#include "ir/IR.h"

#include "ir/Diagnostic.h"

#include <algorithm>

namespace cairn {

std::string Location::toString() const {
  if (!known()) return "";
  return fmt::format("{}:{}:{}", file.empty() ? "<input>" : file, line, column);
}

std::unique_ptr<Op> Op::create(OpKind kind, std::vector<Value*> operands,
                               const std::vector<TensorType>& resultTypes, AttrMap attrs,
                               int numRegions, Location loc) {
  std::unique_ptr<Op> op(new Op());
  op->kind_ = kind;
  op->operands = std::move(operands);
  op->attrs = std::move(attrs);
  op->loc = std::move(loc);
  for (size_t i = 0; i < resultTypes.size(); ++i) {
    auto v = std::make_unique<Value>();
    v->type = resultTypes[i];
    v->def_ = op.get();
    v->index_ = static_cast<unsigned>(i);
    op->results_.push_back(std::move(v));
  }
  for (int i = 0; i < numRegions; ++i) {
    auto r = std::make_unique<Region>();
    r->parentOp_ = op.get();
    op->regions_.push_back(std::move(r));
  }
  return op;
}

std::vector<Value*> Op::results() const {
  std::vector<Value*> out;
  for (auto& r : results_) out.push_back(r.get());
  return out;
}

Op* Op::parentOp() const { return parent_ ? parent_->parentOp() : nullptr; }

Function* Op::parentFunction() const {
  const Region* r = parent_;
  while (r && r->parentOp()) r = r->parentOp()->parentRegion();
  return r ? r->parentFunction() : nullptr;
}

static const Attribute& findAttr(const Op& op, const std::string& n) {
  auto it = op.attrs.find(n);
  CAIRN_CHECK(it != op.attrs.end(), "op {} has no attribute '{}'", op.name(), n);
  return it->second;
}

int64_t Op::getInt(const std::string& n) const {
  const Attribute& a = findAttr(*this, n);
  CAIRN_CHECK(std::holds_alternative<int64_t>(a), "attribute '{}' is not an integer", n);
  return std::get<int64_t>(a);
}

int64_t Op::getIntOr(const std::string& n, int64_t dflt) const {
  return hasAttr(n) ? getInt(n) : dflt;
}

const std::vector<int64_t>& Op::getInts(const std::string& n) const {
  const Attribute& a = findAttr(*this, n);
  CAIRN_CHECK(std::holds_alternative<std::vector<int64_t>>(a), "attribute '{}' is not a list", n);
  return std::get<std::vector<int64_t>>(a);
}

std::vector<int64_t> Op::getIntsOr(const std::string& n, std::vector<int64_t> dflt) const {
  return hasAttr(n) ? getInts(n) : dflt;
}

const Tensor& Op::getTensor(const std::string& n) const {
  const Attribute& a = findAttr(*this, n);
  CAIRN_CHECK(std::holds_alternative<Tensor>(a), "attribute '{}' is not a tensor", n);
  return std::get<Tensor>(a);
}

const std::string& Op::getSymbol(const std::string& n) const {
  const Attribute& a = findAttr(*this, n);
  CAIRN_CHECK(std::holds_alternative<SymbolRef>(a), "attribute '{}' is not a symbol", n);
  return std::get<SymbolRef>(a).name;
}

std::string locPrefix(const Location& loc) {
  std::string s = loc.toString();
  return s.empty() ? s : s + ": ";
}

std::string Op::where() const { return locPrefix(loc); }

Status opError(const Op& op, const std::string& what, StatusCode code) {
  return Status::error(fmt::format("{}error: '{}' op {}", op.where(), op.name(), what), code);
}

static void cloneRegionInto(const Region& src, Region& dst, std::map<const Value*, Value*>& m);

std::unique_ptr<Op> Op::clone(std::map<const Value*, Value*>& mapping) const {
  std::vector<Value*> ops;
  for (Value* v : operands) {
    auto it = mapping.find(v);
    ops.push_back(it == mapping.end() ? v : it->second);
  }
  std::vector<TensorType> types;
  for (auto& r : results_) types.push_back(r->type);
  auto copy = create(kind_, std::move(ops), types, attrs, static_cast<int>(regions_.size()), loc);
  for (size_t i = 0; i < results_.size(); ++i) {
    copy->results_[i]->name = results_[i]->name;
    mapping[results_[i].get()] = copy->results_[i].get();
  }
  for (size_t i = 0; i < regions_.size(); ++i) cloneRegionInto(*regions_[i], *copy->regions_[i], mapping);
  return copy;
}

static void cloneRegionInto(const Region& src, Region& dst, std::map<const Value*, Value*>& m) {
  for (size_t i = 0; i < src.numArguments(); ++i) {
    Value* a = src.argument(i);
    m[a] = dst.addArgument(a->type, a->name);
  }
  for (auto& op : src.ops()) dst.append(op->clone(m));
}

Value* Region::addArgument(TensorType type, std::string name) {
  auto v = std::make_unique<Value>();
  v->type = std::move(type);
  v->name = std::move(name);
  v->region_ = this;
  v->index_ = static_cast<unsigned>(args_.size());
  args_.push_back(std::move(v));
  return args_.back().get();
}

std::vector<Value*> Region::arguments() const {
  std::vector<Value*> out;
  for (auto& a : args_) out.push_back(a.get());
  return out;
}

Op* Region::append(std::unique_ptr<Op> op) { return insert(ops_.size(), std::move(op)); }

Op* Region::insert(size_t index, std::unique_ptr<Op> op) {
  CAIRN_CHECK(index <= ops_.size());
  op->parent_ = this;
  Op* raw = op.get();
  ops_.insert(ops_.begin() + static_cast<std::ptrdiff_t>(index), std::move(op));
  return raw;
}

size_t Region::indexOf(const Op* op) const {
  for (size_t i = 0; i < ops_.size(); ++i)
    if (ops_[i].get() == op) return i;
  CAIRN_CHECK(false, "op {} not in region", op->name());
  return 0;
}

std::unique_ptr<Op> Region::take(Op* op) {
  size_t i = indexOf(op);
  std::unique_ptr<Op> owned = std::move(ops_[i]);
  ops_.erase(ops_.begin() + static_cast<std::ptrdiff_t>(i));
  owned->parent_ = nullptr;
  return owned;
}

void Region::erase(Op* op) { take(op); }

Op* Region::terminator() const {
  if (ops_.empty() || !isTerminator(ops_.back()->kind())) return nullptr;
  return ops_.back().get();
}

Function::Function(std::string n) : name(std::move(n)), body_(std::make_unique<Region>()) {
  body_->parentFunction_ = this;
}

std::vector<TensorType> Function::argumentTypes() const {
  std::vector<TensorType> out;
  for (size_t i = 0; i < body_->numArguments(); ++i) out.push_back(body_->argument(i)->type);
  return out;
}

Function* Module::addFunction(std::unique_ptr<Function> f) {
  f->module_ = this;
  functions_.push_back(std::move(f));
  return functions_.back().get();
}

Function* Module::lookup(std::string_view name) const {
  for (auto& f : functions_)
    if (f->name == name) return f.get();
  return nullptr;
}

void Module::eraseFunction(Function* f) {
  functions_.erase(std::remove_if(functions_.begin(), functions_.end(),
                                  [&](auto& p) { return p.get() == f; }),
                   functions_.end());
}

std::unique_ptr<Function> Module::takeFunction(Function* f) {
  for (auto it = functions_.begin(); it != functions_.end(); ++it) {
    if (it->get() != f) continue;
    std::unique_ptr<Function> out = std::move(*it);
    functions_.erase(it);
    out->module_ = nullptr;
    return out;
  }
  return nullptr;
}

std::unique_ptr<Function> cloneFunction(const Function& f, std::string name) {
  auto copy = std::make_unique<Function>(std::move(name));
  copy->resultTypes = f.resultTypes;
  copy->loc = f.loc;
  std::map<const Value*, Value*> mapping;
  cloneRegionInto(f.body(), copy->body(), mapping);
  return copy;
}

void walk(const Region& region, const std::function<void(Op&)>& fn) {
  for (auto& op : region.ops()) {
    fn(*op);
    for (size_t i = 0; i < op->numRegions(); ++i) walk(op->region(i), fn);
  }
}

void walk(const Function& f, const std::function<void(Op&)>& fn) { walk(f.body(), fn); }

void replaceAllUsesWith(Region& scope, Value* from, Value* to) {
  walk(scope, [&](Op& op) {
    for (Value*& v : op.operands)
      if (v == from) v = to;
  });
}

void replaceAllUsesWith(Region& scope, const std::map<Value*, Value*>& mapping) {
  if (mapping.empty()) return;
  walk(scope, [&](Op& op) {
    for (Value*& v : op.operands) {
      auto it = mapping.find(v);
      if (it != mapping.end()) v = it->second;
    }
  });
}

bool hasUses(const Region& scope, const Value* v) {
  bool found = false;
  walk(scope, [&](Op& op) {
    for (Value* u : op.operands)
      if (u == v) found = true;
  });
  return found;
}

std::map<const Value*, int> countUses(const Region& scope) {
  std::map<const Value*, int> uses;
  walk(scope, [&](Op& op) {
    for (Value* u : op.operands) ++uses[u];
  });
  return uses;
}

} // namespace cairn
