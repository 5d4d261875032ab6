// The verifier: structural checks the type rules cannot see, then the type
// rules themselves.
//
// Type rules that depend on one op alone (operand types, attributes, result
// types) live in ir/TypeInference.cpp and are shared with the builder; this
// file adds what needs context: op-table arity, terminators, region
// signatures of `while`/`if`/`fusion` (a fusion's kind rules live in
// ir/Fusion.cpp), function and callee signatures, and SSA visibility. It
// keeps going after an error wherever that cannot crash on the broken op, so
// one run reports every independent problem.
#include "ir/Verifier.h"

#include <unordered_set>

#include "ir/Fusion.h"
#include "ir/TypeInference.h"

namespace cairn {
namespace {

std::string typeList(const std::vector<TensorType>& types) {
  std::string s;
  for (size_t i = 0; i < types.size(); ++i)
    s += (i ? ", " : "") + types[i].toString();
  return s;
}

/// Whether a value of type `actual` may flow into a slot declared `declared`:
/// same dtype and rank, and every static declared dim equal (a `?` accepts any
/// size). Used where a value meets a signature: return, yield, call, inits.
bool accepts(const TensorType& declared, const TensorType& actual) {
  if (declared.dtype != actual.dtype || declared.rank() != actual.rank()) return false;
  for (int64_t i = 0; i < declared.rank(); ++i)
    if (declared.shape[i] != kDynamic && declared.shape[i] != actual.shape[i]) return false;
  return true;
}

const Region* definingRegion(const Value* v) {
  if (v->isRegionArgument()) return v->ownerRegion();
  return v->definingOp() ? v->definingOp()->parentRegion() : nullptr;
}

const Function* functionOf(const Region* r) {
  while (r && r->parentOp())
    r = r->parentOp()->parentRegion();
  return r ? r->parentFunction() : nullptr;
}

/// Whether `outer` is `inner` or encloses it.
bool encloses(const Region* outer, const Region* inner) {
  for (const Region* r = inner; r; r = r->parentOp() ? r->parentOp()->parentRegion() : nullptr)
    if (r == outer) return true;
  return false;
}

class FunctionVerifier {
public:
  FunctionVerifier(const Function& f, std::vector<Diagnostic>& diags) : f_(f), diags_(diags) {}

  void run() {
    const Region& body = f_.body();
    Op* term = body.empty() ? nullptr : body.ops().back().get();
    if (!term || term->kind() != OpKind::Return) {
      // A `yield` in last place is reported by verifyRegion; say it once.
      if (!term || !isTerminator(term->kind()))
        diags_.push_back({f_.loc, fmt::format("'func' op @{} body must end in 'return'", f_.name)});
    }
    verifyRegion(body, OpKind::Return);
  }

private:
  void error(const Op& op, std::string msg) {
    diags_.push_back({op.loc, fmt::format("'{}' op {}", op.name(), msg)});
  }

  /// Verifies the ops of `r` in order with `r`'s arguments and everything
  /// visible at the region's start in scope; `terminator` is the one
  /// terminator kind allowed (last) in this region.
  void verifyRegion(const Region& r, OpKind terminator) {
    std::vector<const Value*> added;
    for (size_t i = 0; i < r.numArguments(); ++i)
      if (visible_.insert(r.argument(i)).second) added.push_back(r.argument(i));
    const auto& ops = r.ops();
    for (size_t i = 0; i < ops.size(); ++i) {
      const Op& op = *ops[i];
      if (isTerminator(op.kind())) {
        if (i + 1 != ops.size())
          error(op, "must be the last op in its region");
        else if (op.kind() != terminator)
          error(op, fmt::format("cannot terminate {}; expected '{}'",
                                r.parentOp() ? fmt::format("a '{}' region", r.parentOp()->name())
                                             : std::string("a function body"),
                                opName(terminator)));
      }
      verifyOp(op);
      for (Value* res : op.results())
        if (visible_.insert(res).second) added.push_back(res);
    }
    // Values defined in a region are not visible after it.
    for (const Value* v : added)
      visible_.erase(v);
  }

  /// The op's own rules first, then its regions' contents, so diagnostics
  /// come out in source order.
  void verifyOp(const Op& op) {
    // Both checks run (each reports its own errors) before combining.
    bool arityOk = checkArity(op);
    bool visibleOk = checkOperandsVisible(op);
    bool ok = arityOk && visibleOk;
    for (size_t i = 0; i < op.numRegions(); ++i)
      if (!op.region(i).terminator())
        error(op, fmt::format("{} region must end in 'yield'", regionName(op, i)));
    // The checks below index operands, results and regions by position, so
    // they need the arity right; nested regions are verified regardless.
    if (ok) {
      switch (op.kind()) {
      case OpKind::Return:
        ok = checkReturn(op);
        break;
      case OpKind::While:
        ok = checkWhile(op);
        break;
      case OpKind::If:
        ok = checkIf(op);
        break;
      case OpKind::Call:
        ok = checkCall(op);
        break;
      case OpKind::Fusion:
        ok = checkFusion(op);
        break;
      default:
        break;
      }
      if (ok) checkInferredTypes(op);
    }
    for (size_t i = 0; i < op.numRegions(); ++i)
      verifyRegion(op.region(i), OpKind::Yield);
  }

  bool checkArity(const Op& op) {
    const OpInfo& info = op.info();
    bool ok = true;
    auto count = [&](const char* what, int expected, size_t actual) {
      if (expected >= 0 && actual != static_cast<size_t>(expected)) {
        error(op, fmt::format("expects {} {}{} but has {}", expected, what,
                              expected == 1 ? "" : "s", actual));
        ok = false;
      }
    };
    count("operand", info.numOperands, op.numOperands());
    count("result", info.numResults, op.numResults());
    count("region", info.numRegions, op.numRegions());
    for (size_t i = 0; i < op.numOperands(); ++i) {
      if (!op.operand(i)) {
        error(op, fmt::format("operand #{} is null", i));
        ok = false;
      }
    }
    return ok;
  }

  bool checkOperandsVisible(const Op& op) {
    bool ok = true;
    for (size_t i = 0; i < op.numOperands(); ++i) {
      const Value* v = op.operand(i);
      if (!v || visible_.count(v)) continue;
      ok = false;
      const Region* def = definingRegion(v);
      const Function* owner = functionOf(def);
      if (owner != &f_)
        error(op, fmt::format("operand #{} is defined {}", i,
                              owner ? fmt::format("in another function (@{})", owner->name)
                                    : std::string("outside any function")));
      else if (encloses(def, op.parentRegion()))
        error(op, fmt::format("operand #{} is used before its definition", i));
      else
        error(op, fmt::format("operand #{} is defined inside a region that does not enclose "
                              "this use",
                              i));
    }
    return ok;
  }

  /// The `yield` ending `r`, or nullptr (a missing or wrong terminator is
  /// reported by verifyRegion).
  static const Op* yieldOf(const Region& r) {
    const Op* t = r.terminator();
    return t && t->kind() == OpKind::Yield ? t : nullptr;
  }

  static std::string regionName(const Op& op, size_t i) {
    if (op.kind() == OpKind::While && i < 2) return i == 0 ? "cond" : "body";
    if (op.kind() == OpKind::If && i < 2) return i == 0 ? "then" : "else";
    if (op.kind() == OpKind::Fusion && i == 0) return "fusion";
    return fmt::format("#{}", i);
  }

  /// Checks `values` against `types` as a region's or function's results.
  bool checkYields(const Op& op, const std::string& what, const std::vector<Value*>& values,
                   const std::vector<TensorType>& types) {
    if (values.size() != types.size()) {
      error(op, fmt::format("{} yields {} value{} but {} expected", what, values.size(),
                            values.size() == 1 ? "" : "s", types.size()));
      return false;
    }
    bool ok = true;
    for (size_t i = 0; i < values.size(); ++i) {
      if (values[i] && !accepts(types[i], values[i]->type)) {
        error(op, fmt::format("{} yields {} as value #{} but {} is expected", what,
                              values[i]->type.toString(), i, types[i].toString()));
        ok = false;
      }
    }
    return ok;
  }

  bool checkReturn(const Op& op) {
    const std::vector<TensorType>& types = f_.resultTypes;
    if (op.numOperands() != types.size()) {
      error(op, fmt::format("has {} operand{} but function @{} returns {} value{}",
                            op.numOperands(), op.numOperands() == 1 ? "" : "s", f_.name,
                            types.size(), types.size() == 1 ? "" : "s"));
      return false;
    }
    bool ok = true;
    for (size_t i = 0; i < types.size(); ++i) {
      if (!accepts(types[i], op.operand(i)->type)) {
        error(op, fmt::format("operand #{} has type {} but function @{} returns {}", i,
                              op.operand(i)->type.toString(), f_.name, types[i].toString()));
        ok = false;
      }
    }
    return ok;
  }

  bool checkRegionArgs(const Op& op, const char* name, const Region& r,
                       const std::vector<TensorType>& types) {
    if (r.numArguments() != types.size()) {
      error(op, fmt::format("{} region has {} argument{} but {} carried value{}", name,
                            r.numArguments(), r.numArguments() == 1 ? "" : "s", types.size(),
                            types.size() == 1 ? "" : "s"));
      return false;
    }
    bool ok = true;
    for (size_t i = 0; i < types.size(); ++i) {
      if (r.argument(i)->type != types[i]) {
        error(op, fmt::format("{} region argument #{} has type {} but the carried type is {}", name,
                              i, r.argument(i)->type.toString(), types[i].toString()));
        ok = false;
      }
    }
    return ok;
  }

  bool checkWhile(const Op& op) {
    std::vector<TensorType> carried;
    for (Value* r : op.results())
      carried.push_back(r->type);
    size_t n = carried.size();
    if (op.numOperands() != n && op.numOperands() != n + 1) {
      error(op, fmt::format("has {} operands but {} carried value{} (plus an optional max_trip)",
                            op.numOperands(), n, n == 1 ? "" : "s"));
      return false;
    }
    bool ok = true;
    for (size_t i = 0; i < n; ++i) {
      if (!accepts(carried[i], op.operand(i)->type)) {
        error(op, fmt::format("initial value #{} has type {} but the carried type is {}", i,
                              op.operand(i)->type.toString(), carried[i].toString()));
        ok = false;
      }
    }
    if (op.numOperands() == n + 1) {
      const TensorType& t = op.operand(n)->type;
      if (!t.isScalar() || !isInteger(t.dtype)) {
        error(op, fmt::format("max_trip must be an i32 or i64 scalar, not {}", t.toString()));
        ok = false;
      }
    }
    const Region& cond = op.region(0);
    const Region& body = op.region(1);
    ok &= checkRegionArgs(op, "cond", cond, carried);
    ok &= checkRegionArgs(op, "body", body, carried);
    if (const Op* y = yieldOf(cond)) {
      const std::vector<Value*>& c = y->operands;
      if (c.size() != 1 || !c[0] || c[0]->type != TensorType(DType::I1)) {
        error(op,
              fmt::format("cond region must yield one tensor<i1>, not ({})", typeList(typesOf(c))));
        ok = false;
      }
    }
    if (const Op* y = yieldOf(body)) ok &= checkYields(op, "body region", y->operands, carried);
    return ok;
  }

  bool checkIf(const Op& op) {
    bool ok = true;
    const TensorType& p = op.operand(0)->type;
    if (p != TensorType(DType::I1)) {
      error(op, fmt::format("predicate must be a tensor<i1> scalar, not {}", p.toString()));
      ok = false;
    }
    std::vector<TensorType> results;
    for (Value* r : op.results())
      results.push_back(r->type);
    for (size_t i = 0; i < 2; ++i) {
      const Region& r = op.region(i);
      if (r.numArguments() != 0) {
        error(op, fmt::format("{} region must take no arguments but has {}", regionName(op, i),
                              r.numArguments()));
        ok = false;
      }
      if (const Op* y = yieldOf(r))
        ok &= checkYields(op, regionName(op, i) + " region", y->operands, results);
    }
    return ok;
  }

  bool checkFusion(const Op& op) {
    bool ok =
        checkFusionRegion(op, [&](const Op& at, std::string msg) { error(at, std::move(msg)); });
    std::vector<TensorType> results;
    for (Value* r : op.results())
      results.push_back(r->type);
    if (const Op* y = yieldOf(op.region(0)))
      ok &= checkYields(op, "fusion region", y->operands, results);
    return ok;
  }

  bool checkCall(const Op& op) {
    auto it = op.attrs.find("callee");
    if (it == op.attrs.end() || !std::holds_alternative<SymbolRef>(it->second)) {
      error(op, "requires a 'callee' symbol attribute");
      return false;
    }
    const std::string& name = std::get<SymbolRef>(it->second).name;
    const Module* m = f_.parentModule();
    if (!m) return true; // a detached function cannot resolve callees; nothing to check
    const Function* callee = m->lookup(name);
    if (!callee) {
      error(op, fmt::format("callee @{} does not exist in the module", name));
      return false;
    }
    std::vector<TensorType> params = callee->argumentTypes();
    if (op.numOperands() != params.size()) {
      error(op, fmt::format("passes {} argument{} but @{} takes {}", op.numOperands(),
                            op.numOperands() == 1 ? "" : "s", name, params.size()));
      return false;
    }
    bool ok = true;
    for (size_t i = 0; i < params.size(); ++i) {
      if (!accepts(params[i], op.operand(i)->type)) {
        error(op, fmt::format("argument #{} has type {} but @{} takes {}", i,
                              op.operand(i)->type.toString(), name, params[i].toString()));
        ok = false;
      }
    }
    std::vector<TensorType> results;
    for (Value* r : op.results())
      results.push_back(r->type);
    if (results != callee->resultTypes) {
      error(op, fmt::format("result types ({}) do not match @{}'s ({})", typeList(results), name,
                            typeList(callee->resultTypes)));
      ok = false;
    }
    return ok;
  }

  void checkInferredTypes(const Op& op) {
    std::vector<TensorType> declared;
    for (Value* r : op.results())
      declared.push_back(r->type);
    auto inferred = inferResultTypes(op.kind(), typesOf(op.operands), op.attrs, declared);
    if (!inferred.isOk()) {
      error(op, inferred.status().message());
      return;
    }
    if (inferred->size() != declared.size()) {
      error(op,
            fmt::format("has {} results but {} were inferred", declared.size(), inferred->size()));
      return;
    }
    for (size_t i = 0; i < declared.size(); ++i)
      if (declared[i] != (*inferred)[i])
        error(op, fmt::format("result #{} has type {} but {} was inferred", i,
                              declared[i].toString(), (*inferred)[i].toString()));
  }

  static std::vector<TensorType> typesOf(const std::vector<Value*>& values) {
    std::vector<TensorType> types;
    for (Value* v : values)
      types.push_back(v ? v->type : TensorType());
    return types;
  }

  const Function& f_;
  std::vector<Diagnostic>& diags_;
  /// Values usable at the current point: arguments and results defined
  /// earlier in the current region or in enclosing regions before their op.
  std::unordered_set<const Value*> visible_;
};

Status firstError(const std::vector<Diagnostic>& found, size_t from) {
  if (found.size() == from) return Status::ok();
  return Status::error(found[from].toString());
}

} // namespace

Status verify(const Function& f, std::vector<Diagnostic>* diags) {
  std::vector<Diagnostic> local;
  std::vector<Diagnostic>& out = diags ? *diags : local;
  size_t before = out.size();
  FunctionVerifier(f, out).run();
  return firstError(out, before);
}

Status verify(const Module& m, std::vector<Diagnostic>* diags) {
  std::vector<Diagnostic> local;
  std::vector<Diagnostic>& out = diags ? *diags : local;
  size_t before = out.size();
  std::unordered_set<std::string> names;
  for (const auto& f : m.functions()) {
    if (!names.insert(f->name).second)
      out.push_back({f->loc, fmt::format("'func' op @{} is defined more than once", f->name)});
    FunctionVerifier(*f, out).run();
  }
  return firstError(out, before);
}

} // namespace cairn
