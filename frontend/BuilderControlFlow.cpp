// Structured control flow in the builder: `while` and `if` from C++ lambdas.
//
// A lambda runs once, at build time, with the builder's insertion point moved
// into the region being built; whatever ops it creates land there, and the
// Vals it returns become the region's `yield`. The insertion point is
// restored on every exit, exceptions included, so a BuildError thrown inside
// a lambda leaves the builder usable and the half-built op out of the IR.
#include "frontend/BuilderInternal.h"

namespace cairn {

/// Moves the builder's insertion point into a region for its lifetime.
class RegionScope {
public:
  RegionScope(FunctionBuilder& b, Region& r) : b_(b) {
    b_.regions_.push_back(&r);
    b_.before_.push_back(nullptr);
  }
  ~RegionScope() {
    b_.regions_.pop_back();
    b_.before_.pop_back();
  }
  RegionScope(const RegionScope&) = delete;
  RegionScope& operator=(const RegionScope&) = delete;

private:
  FunctionBuilder& b_;
};

namespace {

/// Checks that `values` are usable as a region's yield and returns them.
std::vector<Value*> yieldValues(FunctionBuilder& b, std::string_view opName,
                                const ValueList& values, const char* what) {
  std::vector<Value*> out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (!values[i].valid())
      throw BuildError(
          fmt::format("'{}' op: {} returned an empty Val as value #{}", opName, what, i));
    if (&values[i].builder() != &b)
      throw BuildError(
          fmt::format("'{}' op: {} returned a Val of another function's builder", opName, what));
    out.push_back(values[i].value());
  }
  return out;
}

ValueList argumentsOf(FunctionBuilder& b, Region& r, const std::vector<TensorType>& types) {
  ValueList args;
  for (const TensorType& t : types)
    args.emplace_back(b, r.addArgument(t));
  return args;
}

} // namespace

ValueList FunctionBuilder::whileLoop(const ValueList& inits, const CondFn& cond, const BodyFn& body,
                                     std::optional<IntOrVal> maxTrip) {
  (void)current(); // throws once the function is finished
  std::vector<TensorType> carried;
  std::vector<Value*> operands = yieldValues(*this, "while", inits, "the initial values");
  for (const Val& v : inits)
    carried.push_back(v.type());
  if (maxTrip) {
    Val m = intValue(*maxTrip);
    operands.push_back(m.value());
  }
  std::unique_ptr<Op> op = Op::create(OpKind::While, operands, carried, {}, 2, loc_);

  Region& condRegion = op->region(0);
  {
    ValueList args = argumentsOf(*this, condRegion, carried);
    RegionScope scope(*this, condRegion);
    Val go = cond(args);
    std::vector<Value*> y = yieldValues(*this, "while", {go}, "cond");
    if (go.type() != TensorType(DType::I1))
      throw BuildError(fmt::format("'while' op: cond must return a tensor<i1> scalar, got {}",
                                   go.type().toString()));
    condRegion.append(Op::create(OpKind::Yield, y, {}, {}, 0, loc_));
  }

  Region& bodyRegion = op->region(1);
  {
    ValueList args = argumentsOf(*this, bodyRegion, carried);
    RegionScope scope(*this, bodyRegion);
    ValueList next = body(args);
    std::vector<Value*> y = yieldValues(*this, "while", next, "body");
    if (next.size() != carried.size())
      throw BuildError(fmt::format("'while' op: body returned {} values for {} carried values",
                                   next.size(), carried.size()));
    for (size_t i = 0; i < next.size(); ++i)
      if (!acceptsType(carried[i], next[i].type()))
        throw BuildError(fmt::format("'while' op: body returned {} for carried value #{} of "
                                     "type {}",
                                     next[i].type().toString(), i, carried[i].toString()));
    bodyRegion.append(Op::create(OpKind::Yield, y, {}, {}, 0, loc_));
  }
  // The text form names each carried value once for both regions; share a
  // hint given in either lambda so the printed loop reads well.
  for (size_t i = 0; i < carried.size(); ++i) {
    std::string& c = condRegion.argument(i)->name;
    std::string& b = bodyRegion.argument(i)->name;
    if (c.empty()) c = b;
    if (b.empty()) b = c;
  }
  return wrap(insert(std::move(op))->results());
}

ValueList FunctionBuilder::ifElse(Val pred, const BranchFn& thenFn, const BranchFn& elseFn) {
  (void)current(); // throws once the function is finished
  checkValid("if", pred, "the predicate");
  if (pred.type() != TensorType(DType::I1))
    throw BuildError(fmt::format("'if' op: predicate must be a tensor<i1> scalar, got {}",
                                 pred.type().toString()));
  // Result types are known only once the then-branch is built, and an Op's
  // result types are fixed at creation: build both branches in a scratch op,
  // then move their ops into the real one.
  std::unique_ptr<Op> scratch = Op::create(OpKind::If, {pred.value()}, {}, {}, 2, loc_);
  std::vector<TensorType> types;
  const BranchFn* fns[] = {&thenFn, &elseFn};
  const char* names[] = {"then-branch", "else-branch"};
  for (size_t i = 0; i < 2; ++i) {
    Region& r = scratch->region(i);
    RegionScope scope(*this, r);
    ValueList out = (*fns[i])();
    std::vector<Value*> y = yieldValues(*this, "if", out, names[i]);
    if (i == 0) {
      for (const Val& v : out)
        types.push_back(v.type());
    } else {
      bool same = out.size() == types.size();
      for (size_t k = 0; same && k < out.size(); ++k)
        same = acceptsType(types[k], out[k].type());
      if (!same)
        throw BuildError(fmt::format(
            "'if' op: else-branch returns ({}) but the then-branch "
            "returns ({})",
            typeListString(out), typeListString(wrap(scratch->region(0).terminator()->operands))));
    }
    r.append(Op::create(OpKind::Yield, y, {}, {}, 0, loc_));
  }
  std::unique_ptr<Op> op = Op::create(OpKind::If, {pred.value()}, types, {}, 2, loc_);
  for (size_t i = 0; i < 2; ++i) {
    Region& from = scratch->region(i);
    while (!from.empty())
      op->region(i).append(from.take(from.ops().front().get()));
  }
  return wrap(insert(std::move(op))->results());
}

} // namespace cairn
