// FunctionBuilder's core: the function being built, the insertion point, op
// creation with type inference, constants and calls.
//
// Every helper in BuilderElementwise.cpp, BuilderShape.cpp and
// BuilderControlFlow.cpp ends in FunctionBuilder::create(), the one place
// where result types are inferred and type errors become BuildErrors.
#include "frontend/Builder.h"

#include <cmath>

#include "frontend/BuilderInternal.h"
#include "ir/TypeInference.h"
#include "ir/Verifier.h"

namespace cairn {

std::string typeListString(const ValueList& values) {
  std::string s;
  for (size_t i = 0; i < values.size(); ++i)
    s += (i ? ", " : "") + (values[i].valid() ? values[i].type().toString() : "<null>");
  return s;
}

void checkValid(std::string_view opName, const Val& v, const char* what) {
  if (!v.valid()) throw BuildError(fmt::format("'{}' op: {} is an empty Val", opName, what));
}

int64_t normalizeAxis(std::string_view opName, int64_t axis, int64_t rank) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    throw BuildError(fmt::format("'{}' op: axis {} out of range for rank {}", opName, axis, rank));
  return a;
}

FunctionBuilder& Val::builder() const {
  CAIRN_CHECK(b_, "Val has no builder");
  return *b_;
}

int64_t Val::size(int64_t axis) const {
  return shape()[static_cast<size_t>(normalizeAxis("size", axis, rank()))];
}

Val Val::named(std::string hint) const {
  CAIRN_CHECK(v_, "naming an empty Val");
  v_->name = std::move(hint);
  return *this;
}

FunctionBuilder::FunctionBuilder(Module& m, std::string name, std::vector<TensorType> argTypes,
                                 std::vector<std::string> argNames)
    : m_(m) {
  if (m.lookup(name))
    throw BuildError(fmt::format("function @{} already exists in the module", name));
  for (size_t i = 0; i < argTypes.size(); ++i)
    if (!withinElementLimit(argTypes[i].shape))
      throw BuildError(fmt::format("function @{}: argument #{} type {} has a negative dim or "
                                   "more than 2^48 elements",
                                   name, i, argTypes[i].toString()));
  f_ = m.addFunction(std::move(name));
  for (size_t i = 0; i < argTypes.size(); ++i)
    f_->body().addArgument(argTypes[i], i < argNames.size() ? argNames[i] : "");
  regions_.push_back(&f_->body());
  before_.push_back(nullptr);
}

FunctionBuilder::FunctionBuilder(Module& m, Function& existing) : m_(m), f_(&existing) {
  regions_.push_back(&f_->body());
  before_.push_back(nullptr);
}

FunctionBuilder::InsertionGuard::InsertionGuard(FunctionBuilder& b, Region& region, Op* before)
    : b_(b) {
  CAIRN_CHECK(!before || before->parentRegion() == &region, "insertion point outside its region");
  b_.regions_.push_back(&region);
  b_.before_.push_back(before);
}

FunctionBuilder::InsertionGuard::~InsertionGuard() {
  b_.regions_.pop_back();
  b_.before_.pop_back();
}

Op* FunctionBuilder::insert(std::unique_ptr<Op> op) {
  Region& region = current();
  Op* before = before_.back();
  if (!before)
    return region.append(std::move(op));
  return region.insert(region.indexOf(before), std::move(op));
}

size_t FunctionBuilder::numArgs() const {
  return f_->body().numArguments();
}

Val FunctionBuilder::arg(size_t i) {
  if (i >= numArgs())
    throw BuildError(
        fmt::format("function @{} has {} arguments; no argument #{}", f_->name, numArgs(), i));
  return Val(*this, f_->body().argument(i));
}

Region& FunctionBuilder::current() {
  if (finished_)
    throw BuildError(fmt::format("function @{} is finished (ret() was called)", f_->name));
  return *regions_.back();
}

ValueList FunctionBuilder::wrap(const std::vector<Value*>& values) {
  ValueList out;
  for (Value* v : values)
    out.emplace_back(*this, v);
  return out;
}

ValueList FunctionBuilder::create(OpKind kind, const ValueList& operands, AttrMap attrs,
                                  const std::vector<TensorType>& declared) {
  std::vector<TensorType> types;
  std::vector<Value*> values;
  for (size_t i = 0; i < operands.size(); ++i) {
    const Val& v = operands[i];
    if (!v.valid())
      throw BuildError(fmt::format("'{}' op: operand #{} is an empty Val", opName(kind), i));
    if (&v.builder() != this)
      throw BuildError(fmt::format("'{}' op: operand #{} belongs to another function's builder",
                                   opName(kind), i));
    types.push_back(v.type());
    values.push_back(v.value());
  }
  // Types the parser would refuse are refused here too: a frontend's sizes
  // may come from data (an ONNX Reshape's shape), and type inference takes
  // element counts that must fit int64.
  auto checkLimit = [&](const TensorType& t, const char* what) {
    if (!withinElementLimit(t.shape))
      throw BuildError(fmt::format("'{}' op: {} type {} has a negative dim or more than 2^48 "
                                   "elements",
                                   opName(kind), what, t.toString()));
  };
  for (const TensorType& t : declared)
    checkLimit(t, "declared result");
  auto inferred = inferResultTypes(kind, types, attrs, declared);
  if (!inferred.isOk())
    throw BuildError(fmt::format("'{}' op {} (operand types: {})", opName(kind),
                                 inferred.status().message(), typeListString(operands)));
  for (const TensorType& t : *inferred)
    checkLimit(t, "result");
  Op* op = insert(Op::create(kind, std::move(values), *inferred, std::move(attrs), 0, loc_));
  return wrap(op->results());
}

Val FunctionBuilder::create1(OpKind kind, const ValueList& operands, AttrMap attrs,
                             const std::vector<TensorType>& declared) {
  ValueList r = create(kind, operands, std::move(attrs), declared);
  CAIRN_CHECK(r.size() == 1, "op {} has {} results", opName(kind), r.size());
  return r[0];
}

Function* FunctionBuilder::ret(const ValueList& results) {
  if (regions_.size() != 1)
    throw BuildError("ret() called inside a while/if region; return from the lambda instead");
  std::vector<Value*> values;
  f_->resultTypes.clear();
  for (size_t i = 0; i < results.size(); ++i) {
    checkValid("return", results[i], fmt::format("result #{}", i).c_str());
    values.push_back(results[i].value());
    f_->resultTypes.push_back(results[i].type());
  }
  insert(Op::create(OpKind::Return, std::move(values), {}, {}, 0, loc_));
  finished_ = true;
  Status s = verify(*f_);
  if (!s.isOk())
    throw BuildError(fmt::format("function @{} does not verify: {}", f_->name, s.message()));
  return f_;
}

Val FunctionBuilder::constant(const Tensor& value) {
  return create1(OpKind::Constant, {}, {{"value", value}}, {value.type()});
}

Val FunctionBuilder::constant(double value, const TensorType& type) {
  if (!type.hasStaticShape())
    throw BuildError(fmt::format("'constant' op: type {} must have a static shape; use "
                                 "broadcastTo(scalar(...), shape) for dynamic shapes",
                                 type.toString()));
  if (!isFloat(type.dtype) && value != std::trunc(value))
    throw BuildError(
        fmt::format("'constant' op: {} is not representable in {}", value, type.toString()));
  Tensor t(type);
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.setDouble(i, value);
  return constant(t);
}

Val FunctionBuilder::scalar(double value, DType dtype) {
  return constant(value, TensorType(dtype));
}

Val FunctionBuilder::intValue(const IntOrVal& v, DType dtype) {
  if (!v.isStatic()) {
    const Val& x = v.val();
    if (!x.type().isScalar() || !isInteger(x.dtype()))
      throw BuildError(fmt::format("expected an i32/i64 scalar, got {}", x.type().toString()));
    return x;
  }
  return scalar(static_cast<double>(v.staticValue()), dtype);
}

ValueList FunctionBuilder::call(const Function& callee, const ValueList& args) {
  if (m_.lookup(callee.name) != &callee)
    throw BuildError(fmt::format("'call' op: @{} is not a function of this module", callee.name));
  std::vector<TensorType> params = callee.argumentTypes();
  if (params.size() != args.size())
    throw BuildError(fmt::format("'call' op: @{} takes {} arguments, got {}", callee.name,
                                 params.size(), args.size()));
  for (size_t i = 0; i < args.size(); ++i) {
    checkValid("call", args[i], "an argument");
    if (!acceptsType(params[i], args[i].type()))
      throw BuildError(fmt::format("'call' op: argument #{} of @{} has type {}, expected {}", i,
                                   callee.name, args[i].type().toString(), params[i].toString()));
  }
  if (callee.resultTypes.empty() && !callee.body().terminator())
    throw BuildError(fmt::format("'call' op: @{} is not finished (call ret() first)", callee.name));
  return create(OpKind::Call, args, {{"callee", SymbolRef{callee.name}}}, callee.resultTypes);
}

ValueList FunctionBuilder::call(std::string_view callee, const ValueList& args) {
  const Function* f = m_.lookup(callee);
  if (!f) throw BuildError(fmt::format("'call' op: no function @{} in the module", callee));
  return call(*f, args);
}

bool acceptsType(const TensorType& declared, const TensorType& actual) {
  if (declared.dtype != actual.dtype || declared.rank() != actual.rank()) return false;
  for (int64_t i = 0; i < declared.rank(); ++i)
    if (declared.shape[i] != kDynamic && declared.shape[i] != actual.shape[i]) return false;
  return true;
}

} // namespace cairn
