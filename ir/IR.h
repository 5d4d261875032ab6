// The IR's data structures: Module > Function > Region > Op > Value.
//
// Structured control flow only: a Region is one block of ops with typed
// arguments, ending in a terminator (`return` in a function body, `yield` in a
// `while`/`if` region). Values are SSA; an op in a region may use any value
// defined earlier in its region or in an enclosing region (implicit capture),
// which is how loop bodies read weights.
//
// Ownership: a Region owns its argument Values and its Ops; an Op owns its
// result Values and nested Regions. There are no use lists: passes that
// rewrite uses walk the function (`replaceAllUsesWith`), which keeps the core
// small; revisit when a pass needs it hot.
//
// Thread-safety: none; a Module is built and transformed by one thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "ir/OpKind.h"
#include "ir/Tensor.h"
#include "ir/Types.h"

namespace cairn {

class Op;
class Region;
class Function;
class Module;

/// Where an op came from: file (may be empty), 1-based line and column (0 when unknown).
struct Location {
  std::string file;
  int line = 0;
  int column = 0;
  bool known() const { return line > 0; }
  std::string toString() const; ///< "file:line:col", or "" when unknown
};

/// A reference to a function by name, printed `@name`.
struct SymbolRef {
  std::string name;
  bool operator==(const SymbolRef&) const = default;
};

/// An attribute value: integer, float, string, integer list, symbol or tensor.
using Attribute = std::variant<int64_t, double, std::string, std::vector<int64_t>, SymbolRef, Tensor>;
/// Sorted by name, which makes the printed form canonical.
using AttrMap = std::map<std::string, Attribute>;

/// An SSA value: an op result or a region argument.
class Value {
public:
  TensorType type;
  /// Name hint from the text form or the builder ("" = none). Printing keeps
  /// non-numeric hints (made unique) and numbers the rest.
  std::string name;

  Op* definingOp() const { return def_; }
  Region* ownerRegion() const { return region_; } ///< set for region arguments
  unsigned index() const { return index_; }       ///< result or argument position
  bool isRegionArgument() const { return region_ != nullptr; }

private:
  friend class Op;
  friend class Region;
  Op* def_ = nullptr;
  Region* region_ = nullptr;
  unsigned index_ = 0;
};

class Op {
public:
  /// Makes a detached op; insert it into a region with Region::append/insert.
  static std::unique_ptr<Op> create(OpKind kind, std::vector<Value*> operands,
                                    const std::vector<TensorType>& resultTypes, AttrMap attrs = {},
                                    int numRegions = 0, Location loc = {});

  OpKind kind() const { return kind_; }
  std::string_view name() const { return opName(kind_); }
  const OpInfo& info() const { return opInfo(kind_); }

  std::vector<Value*> operands;
  AttrMap attrs;
  Location loc;

  size_t numOperands() const { return operands.size(); }
  Value* operand(size_t i) const { return operands.at(i); }
  size_t numResults() const { return results_.size(); }
  Value* result(size_t i = 0) const { return results_.at(i).get(); }
  std::vector<Value*> results() const;
  size_t numRegions() const { return regions_.size(); }
  Region& region(size_t i) const { return *regions_.at(i); }

  Region* parentRegion() const { return parent_; }
  /// The op whose region contains this op (nullptr at function level).
  Op* parentOp() const;
  Function* parentFunction() const;

  // Attribute access. get* abort if the attribute is missing or of another
  // kind (the verifier has checked); *Or variants take a default.
  bool hasAttr(const std::string& n) const { return attrs.count(n) != 0; }
  int64_t getInt(const std::string& n) const;
  int64_t getIntOr(const std::string& n, int64_t dflt) const;
  const std::vector<int64_t>& getInts(const std::string& n) const;
  std::vector<int64_t> getIntsOr(const std::string& n, std::vector<int64_t> dflt) const;
  const Tensor& getTensor(const std::string& n) const;
  const std::string& getSymbol(const std::string& n) const;

  /// Location string for diagnostics: "file:line:col: " or "".
  std::string where() const;

  /// Deep copy (nested regions included). Operands that refer to values
  /// inside the cloned op are remapped; others use `mapping` when present.
  std::unique_ptr<Op> clone(std::map<const Value*, Value*>& mapping) const;

private:
  Op() = default;
  friend class Region;
  OpKind kind_ = OpKind::Add;
  std::vector<std::unique_ptr<Value>> results_;
  std::vector<std::unique_ptr<Region>> regions_;
  Region* parent_ = nullptr;
};

class Region {
public:
  Region() = default;
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;

  Value* addArgument(TensorType type, std::string name = "");
  size_t numArguments() const { return args_.size(); }
  Value* argument(size_t i) const { return args_.at(i).get(); }
  std::vector<Value*> arguments() const;

  const std::vector<std::unique_ptr<Op>>& ops() const { return ops_; }
  bool empty() const { return ops_.empty(); }
  Op* append(std::unique_ptr<Op> op);
  /// Inserts before position `index` (0 = front).
  Op* insert(size_t index, std::unique_ptr<Op> op);
  /// Position of `op` in this region; aborts when absent.
  size_t indexOf(const Op* op) const;
  /// Removes and destroys `op`; its results must have no remaining uses.
  void erase(Op* op);
  /// Removes `op` and hands ownership to the caller.
  std::unique_ptr<Op> take(Op* op);
  /// The last op when it is a terminator, else nullptr.
  Op* terminator() const;

  Op* parentOp() const { return parentOp_; }
  Function* parentFunction() const { return parentFunction_; }

private:
  friend class Op;
  friend class Function;
  std::vector<std::unique_ptr<Value>> args_;
  std::vector<std::unique_ptr<Op>> ops_;
  Op* parentOp_ = nullptr;
  Function* parentFunction_ = nullptr;
};

class Function {
public:
  explicit Function(std::string name);
  std::string name;
  std::vector<TensorType> resultTypes;
  Location loc;

  Region& body() { return *body_; }
  const Region& body() const { return *body_; }
  std::vector<TensorType> argumentTypes() const;
  Module* parentModule() const { return module_; }

private:
  friend class Module;
  std::unique_ptr<Region> body_;
  Module* module_ = nullptr;
};

class Module {
public:
  Function* addFunction(std::unique_ptr<Function> f);
  Function* addFunction(std::string name) { return addFunction(std::make_unique<Function>(name)); }
  Function* lookup(std::string_view name) const;
  const std::vector<std::unique_ptr<Function>>& functions() const { return functions_; }
  void eraseFunction(Function* f);
  /// Removes `f` from the module and hands it to the caller.
  std::unique_ptr<Function> takeFunction(Function* f);

private:
  std::vector<std::unique_ptr<Function>> functions_;
};

/// Deep copy of `f` named `name` (not in any module).
std::unique_ptr<Function> cloneFunction(const Function& f, std::string name);

/// Visits every op in `region` and nested regions, pre-order (an op before the
/// ops of its regions). The callback must not erase ops.
void walk(const Region& region, const std::function<void(Op&)>& fn);
void walk(const Function& f, const std::function<void(Op&)>& fn);

/// Rewrites every use of `from` within `scope` (nested regions included) to `to`.
void replaceAllUsesWith(Region& scope, Value* from, Value* to);
/// Replaces uses by a mapping, in one walk.
void replaceAllUsesWith(Region& scope, const std::map<Value*, Value*>& mapping);
/// Whether any op in `scope` (nested included) uses `v`.
bool hasUses(const Region& scope, const Value* v);
/// Counts uses of every value used in `scope`.
std::map<const Value*, int> countUses(const Region& scope);

} // namespace cairn
