// The reference interpreter's driver: walks a function's regions op by op,
// keeps the value of every SSA value in an environment (one per region
// execution, chained to the enclosing one so that regions see captured
// values), and runs the ops with regions (while, if, fusion) and call itself.
// Every other op goes to evalSimpleOp (OpEval.cpp) and the kernels.
//
// Run-time checks beyond the kernels' own: inputs against the signature,
// every op result against its declared type (a mismatch means the IR lied
// about a static dim, or a dynamic dim disagreed with what the IR implied),
// while/if/call/return values against their declared types, max trip counts.
#include "runtime/reference/Interpreter.h"

#include <unordered_map>

#include "ir/Diagnostic.h"
#include "runtime/reference/OpEval.h"

namespace cairn {

namespace {

/// Nested calls deeper than this are an error rather than a stack overflow
/// (a level costs about 6 KB of stack in a Debug build).
constexpr int kMaxCallDepth = 256;

/// A region-free op through the kernels; their errors carry only "<what>",
/// so name the op here (region ops format their own and nested errors).
StatusOr<std::vector<Tensor>> evalSimple(const Op& op, const std::vector<const Tensor*>& in,
                                         int64_t maxBytes) {
  StatusOr<std::vector<Tensor>> r = interp::evalSimpleOp(op, in, maxBytes);
  if (!r.isOk()) return opError(op, r.status());
  return r;
}

/// The values visible to a region execution: its own, then its parent's.
class Env {
public:
  explicit Env(const Env* parent = nullptr) : parent_(parent) {}
  void bind(const Value* v, Tensor t) { values_[v] = std::move(t); }
  const Tensor* lookup(const Value* v) const {
    for (const Env* e = this; e; e = e->parent_) {
      auto it = e->values_.find(v);
      if (it != e->values_.end()) return &it->second;
    }
    return nullptr;
  }

private:
  const Env* parent_;
  std::unordered_map<const Value*, Tensor> values_;
};

class Interpreter {
public:
  explicit Interpreter(const InterpreterOptions& opts) : opts_(opts) {}

  StatusOr<std::vector<Tensor>> runFunction(const Function& f, const std::vector<Tensor>& inputs);
  StatusOr<std::vector<Tensor>> execOp(const Op& op, const Env& env);

private:
  /// Runs `region` with `args` bound to its arguments; returns the operands
  /// of its terminator.
  StatusOr<std::vector<Tensor>> runRegion(const Region& region, const std::vector<Tensor>& args,
                                          const Env& parent);
  StatusOr<std::vector<Tensor>> runWhile(const Op& op, const std::vector<const Tensor*>& in,
                                         const Env& env);
  StatusOr<std::vector<Tensor>> runIf(const Op& op, const std::vector<const Tensor*>& in,
                                      const Env& env);
  StatusOr<std::vector<Tensor>> runCall(const Op& op, const std::vector<const Tensor*>& in);
  StatusOr<std::vector<Tensor>> runFusion(const Op& op, const std::vector<const Tensor*>& in);
  /// Checks `values` against `types`; `what` names them in the message.
  static Status checkValues(const Op& op, const std::string& what,
                            const std::vector<Tensor>& values,
                            const std::vector<TensorType>& types);

  const InterpreterOptions& opts_;
  int callDepth_ = 0;
};

std::vector<TensorType> resultTypes(const Op& op) {
  std::vector<TensorType> types;
  for (Value* v : op.results())
    types.push_back(v->type);
  return types;
}

Status Interpreter::checkValues(const Op& op, const std::string& what,
                                const std::vector<Tensor>& values,
                                const std::vector<TensorType>& types) {
  if (values.size() != types.size())
    return opError(op,
                   fmt::format("{}: {} values but {} declared", what, values.size(), types.size()));
  for (size_t i = 0; i < values.size(); ++i) {
    std::string m = interp::typeMismatch(types[i], values[i].type());
    if (!m.empty()) return opError(op, fmt::format("{} #{}: {}", what, i, m));
  }
  return Status::ok();
}

StatusOr<std::vector<Tensor>> Interpreter::runFunction(const Function& f,
                                                       const std::vector<Tensor>& inputs) {
  std::string where = locPrefix(f.loc);
  const Region& body = f.body();
  if (inputs.size() != body.numArguments())
    return errorf("{}error: function @{} takes {} argument(s), got {}", where, f.name,
                  body.numArguments(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::string m = interp::typeMismatch(body.argument(i)->type, inputs[i].type());
    if (!m.empty()) return errorf("{}error: function @{} argument #{}: {}", where, f.name, i, m);
  }
  Env root;
  CAIRN_ASSIGN_OR_RETURN(std::vector<Tensor> results, runRegion(body, inputs, root));
  const Op* ret = body.terminator();
  if (results.size() != f.resultTypes.size())
    return errorf("{}error: function @{} returns {} value(s) but declares {}", where, f.name,
                  results.size(), f.resultTypes.size());
  for (size_t i = 0; i < results.size(); ++i) {
    std::string m = interp::typeMismatch(f.resultTypes[i], results[i].type());
    if (!m.empty())
      return opError(*ret,
                     fmt::format("value #{} does not match @{}'s result type: {}", i, f.name, m));
  }
  return results;
}

StatusOr<std::vector<Tensor>>
Interpreter::runRegion(const Region& region, const std::vector<Tensor>& args, const Env& parent) {
  if (args.size() != region.numArguments()) {
    std::string what =
        fmt::format("region takes {} argument(s) but got {}", region.numArguments(), args.size());
    if (region.parentOp()) return opError(*region.parentOp(), what);
    return errorf("error: {}", what);
  }
  Env env(&parent);
  for (size_t i = 0; i < args.size(); ++i)
    env.bind(region.argument(i), args[i]);
  for (const auto& op : region.ops()) {
    if (isTerminator(op->kind())) {
      std::vector<Tensor> out;
      for (Value* v : op->operands) {
        const Tensor* t = env.lookup(v);
        if (!t) return opError(*op, "uses a value that has not been computed");
        out.push_back(*t);
      }
      return out;
    }
    CAIRN_ASSIGN_OR_RETURN(std::vector<Tensor> results, execOp(*op, env));
    for (size_t i = 0; i < results.size(); ++i)
      env.bind(op->result(i), std::move(results[i]));
  }
  return errorf("error: region does not end in a terminator");
}

StatusOr<std::vector<Tensor>> Interpreter::execOp(const Op& op, const Env& env) {
  // Between ops (loop iterations included: each runs its regions' ops).
  if (Status s = opts_.limits.check(); !s.isOk()) return opError(op, s);
  std::vector<const Tensor*> in;
  for (size_t i = 0; i < op.numOperands(); ++i) {
    const Tensor* t = env.lookup(op.operand(i));
    if (!t)
      return opError(op, fmt::format("operand #{} has no value (defined outside the evaluated "
                                     "op, or after this op)",
                                     i));
    in.push_back(t);
  }
  StatusOr<std::vector<Tensor>> results = op.kind() == OpKind::While    ? runWhile(op, in, env)
                                          : op.kind() == OpKind::If     ? runIf(op, in, env)
                                          : op.kind() == OpKind::Call   ? runCall(op, in)
                                          : op.kind() == OpKind::Fusion ? runFusion(op, in)
                                                                        : evalSimple(op, in, opts_.limits.maxBytes);
  if (!results.isOk()) return results;
  CAIRN_RETURN_IF_ERROR(checkValues(op, "result", *results, resultTypes(op)));
  if (opts_.limits.maxBytes > 0)
    for (const Tensor& r : *results) {
      StatusOr<int64_t> fits = checkRunTimeSize(r.shape(), r.dtype(), opts_.limits.maxBytes);
      if (!fits.isOk()) return opError(op, fits.status());
    }
  return results;
}

StatusOr<std::vector<Tensor>>
Interpreter::runWhile(const Op& op, const std::vector<const Tensor*>& in, const Env& env) {
  std::vector<TensorType> types = resultTypes(op);
  size_t n = types.size();
  if (in.size() != n && in.size() != n + 1)
    return opError(op, fmt::format("has {} operands for {} carried values", in.size(), n));
  std::vector<Tensor> carried;
  for (size_t i = 0; i < n; ++i)
    carried.push_back(*in[i]);
  CAIRN_RETURN_IF_ERROR(checkValues(op, "initial value", carried, types));
  bool hasOperand = in.size() == n + 1;
  int64_t maxTrip = opts_.defaultMaxTrip;
  if (hasOperand) {
    if (in[n]->rank() != 0 || !isInteger(in[n]->dtype()))
      return opError(op, "max_trip must be an i32 or i64 scalar");
    maxTrip = in[n]->getInt(0);
  }
  bool bounded = hasOperand || opts_.defaultMaxTrip > 0;
  for (int64_t trips = 0;; ++trips) {
    CAIRN_ASSIGN_OR_RETURN(std::vector<Tensor> go, runRegion(op.region(0), carried, env));
    if (go.size() != 1 || go[0].dtype() != DType::I1 || go[0].rank() != 0)
      return opError(op, "cond region must yield one i1 scalar");
    if (!go[0].data<bool>()[0]) break;
    if (bounded && trips >= maxTrip)
      return interp::maxTripExceeded(op, maxTrip, hasOperand, "interpreter");
    CAIRN_ASSIGN_OR_RETURN(carried, runRegion(op.region(1), carried, env));
    CAIRN_RETURN_IF_ERROR(checkValues(op, "body yield", carried, types));
  }
  return carried;
}

StatusOr<std::vector<Tensor>> Interpreter::runIf(const Op& op, const std::vector<const Tensor*>& in,
                                                 const Env& env) {
  if (in.size() != 1 || in[0]->dtype() != DType::I1 || in[0]->rank() != 0)
    return opError(op, "condition must be one i1 scalar");
  bool p = in[0]->data<bool>()[0];
  CAIRN_ASSIGN_OR_RETURN(std::vector<Tensor> out, runRegion(op.region(p ? 0 : 1), {}, env));
  CAIRN_RETURN_IF_ERROR(checkValues(op, p ? "then yield" : "else yield", out, resultTypes(op)));
  return out;
}

StatusOr<std::vector<Tensor>> Interpreter::runCall(const Op& op,
                                                   const std::vector<const Tensor*>& in) {
  auto it = op.attrs.find("callee");
  if (it == op.attrs.end() || !std::holds_alternative<SymbolRef>(it->second))
    return opError(op, "requires a 'callee' symbol attribute");
  const std::string& name = std::get<SymbolRef>(it->second).name;
  const Function* parent = op.parentFunction();
  const Module* m = parent ? parent->parentModule() : nullptr;
  if (!m) return opError(op, fmt::format("cannot resolve @{}: the op is not in a module", name));
  const Function* callee = m->lookup(name);
  if (!callee) return opError(op, fmt::format("callee @{} does not exist in the module", name));
  std::vector<Tensor> args;
  for (const Tensor* t : in)
    args.push_back(*t);
  CAIRN_RETURN_IF_ERROR(checkValues(op, "operand", args, callee->argumentTypes()));
  if (callDepth_ >= kMaxCallDepth)
    return opError(op, fmt::format("call depth exceeds {} (unbounded recursion?)", kMaxCallDepth));
  ++callDepth_;
  StatusOr<std::vector<Tensor>> out = runFunction(*callee, args);
  --callDepth_;
  return out;
}

// A fusion is its region run inline. The region is isolated, so it runs in
// an environment of its own: a stray capture is an error, not a silent read.
StatusOr<std::vector<Tensor>> Interpreter::runFusion(const Op& op,
                                                     const std::vector<const Tensor*>& in) {
  if (op.numRegions() != 1) return opError(op, "needs one region");
  std::vector<Tensor> args;
  for (const Tensor* t : in)
    args.push_back(*t);
  Env isolated;
  CAIRN_ASSIGN_OR_RETURN(std::vector<Tensor> out, runRegion(op.region(0), args, isolated));
  CAIRN_RETURN_IF_ERROR(checkValues(op, "fusion yield", out, resultTypes(op)));
  return out;
}

} // namespace

StatusOr<std::vector<Tensor>> interpret(const Function& f, const std::vector<Tensor>& inputs,
                                        const InterpreterOptions& opts) {
  return Interpreter(opts).runFunction(f, inputs);
}

StatusOr<std::vector<Tensor>> interpret(const Module& m, std::string_view function,
                                        const std::vector<Tensor>& inputs,
                                        const InterpreterOptions& opts) {
  const Function* f = m.lookup(function);
  if (!f) return errorf("error: no function @{} in the module", function);
  return interpret(*f, inputs, opts);
}

StatusOr<std::vector<Tensor>> evaluateOp(const Op& op, const std::vector<Tensor>& operands,
                                         const InterpreterOptions& opts) {
  if (operands.size() != op.numOperands())
    return opError(op, fmt::format("evaluateOp got {} operand values for {} operands",
                                   operands.size(), op.numOperands()));
  Env env;
  for (size_t i = 0; i < operands.size(); ++i)
    env.bind(op.operand(i), operands[i]);
  return Interpreter(opts).execOp(op, env);
}

} // namespace cairn
