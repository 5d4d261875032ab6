// The C++ model-building API: write a model as ordinary C++ expressions and
// get a verified Cairn function.
//
//   Module m;
//   FunctionBuilder fb(m, "affine", {TensorType(DType::F32, {kDynamic, 3}),
//                                    TensorType(DType::F32, {3, 4}),
//                                    TensorType(DType::F32, {4})});
//   Val x = fb.arg(0), w = fb.arg(1), b = fb.arg(2);
//   Val y = tanh(matmul(x, w) + b).named("y");  // b is broadcast to ?x4
//   fb.ret({y});
//
// Each helper appends one op (or a few: broadcasts, `dim`s, constants) at the
// builder's insertion point and infers result types with the same rules the
// verifier uses (ir/TypeInference.h), so a type error surfaces at the line of
// model code that caused it. Broadcasting is numpy-style in this API and
// explicit in the IR: the builder inserts `broadcast` ops, feeding dynamic
// result dims with `dim` ops. Numbers mixed with values (`x * 0.5`) become
// constants of the value's dtype.
//
// Errors: a build-time type error is a bug in the C++ model code, so it
// throws cairn::BuildError naming the op and the types involved, like any C++
// API misused. Exceptions stay on the C++ side: the C API (runtime) never
// lets one cross it. FunctionBuilder::ret() verifies the finished function and
// throws BuildError if it does not verify (e.g. a value used outside the
// region it was defined in).
//
// Composites (softmax, log_softmax, cross_entropy, LSTM cells) are meant to be
// written on top of these helpers, in their own files, as free functions of
// Val: no builder change is needed to add them.
//
// Thread-safety: none; one builder per thread, as for Module.
#pragma once

#include <concepts>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "ir/IR.h"

namespace cairn {

/// Thrown when model-building code asks for an ill-formed op (mismatched
/// types, bad axes, a branch yielding the wrong types, ...). The message
/// names the op and the operand types.
class BuildError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

class FunctionBuilder;

/// A value under construction: an SSA Value plus the builder that owns the
/// insertion point. Cheap to copy; valid while the Module lives.
class Val {
public:
  Val() = default;
  Val(FunctionBuilder& b, Value* v) : b_(&b), v_(v) {}

  bool valid() const { return v_ != nullptr; }
  Value* value() const { return v_; }
  FunctionBuilder& builder() const;
  const TensorType& type() const { return v_->type; }
  DType dtype() const { return v_->type.dtype; }
  const Shape& shape() const { return v_->type.shape; }
  int64_t rank() const { return v_->type.rank(); }
  /// Static size of `axis` (negative counts from the end), or kDynamic.
  int64_t size(int64_t axis) const;
  /// Sets the name hint the printer uses (`%h` instead of `%7`); returns *this.
  Val named(std::string hint) const;

private:
  FunctionBuilder* b_ = nullptr;
  Value* v_ = nullptr;
};

using ValueList = std::vector<Val>;

/// An integer known when building (a size, an index) or a run-time scalar
/// i32/i64 Val. Used for shapes (`reshape(x, {n, 64})` with `n = dim(xs, 0)`)
/// and for run-time indices.
class IntOrVal {
public:
  template <std::integral T> IntOrVal(T v) : static_(static_cast<int64_t>(v)) {}
  IntOrVal(Val v) : val_(v) {}
  bool isStatic() const { return !val_.valid(); }
  int64_t staticValue() const { return static_; }
  const Val& val() const { return val_; }

private:
  int64_t static_ = 0;
  Val val_;
};

/// A shape to build: static sizes, run-time sizes (Vals) or, in reshape only,
/// one kDynamic meaning "whatever makes the element count agree" (numpy's -1).
using Sizes = std::vector<IntOrVal>;

/// An operand of an elementwise op: a Val, or a number that becomes a
/// constant of the other operand's dtype (at least one side must be a Val).
class Arg {
public:
  Arg(Val v) : val_(v) {}
  template <typename T>
  requires std::is_arithmetic_v<T> Arg(T v) : number_(static_cast<double>(v)) {}
  bool isVal() const { return val_.valid(); }
  const Val& val() const { return val_; }
  double number() const { return number_; }

private:
  Val val_;
  double number_ = 0;
};

/// Results of a random op: the advanced generator state and the samples.
struct RngResult {
  Val state;
  Val value;
};

/// Dimension numbers of a general `dot` (as XLA DotGeneral).
struct DotDims {
  std::vector<int64_t> lhsBatch, rhsBatch, lhsContract, rhsContract;
};

/// Builds one function of a module: arguments, ops in structured regions, and
/// the final `return`.
class FunctionBuilder {
public:
  /// Adds function `name` with arguments of `argTypes` (named by `argNames`,
  /// when given) to `m`. The result types are set by ret().
  FunctionBuilder(Module& m, std::string name, std::vector<TensorType> argTypes,
                  std::vector<std::string> argNames = {});
  /// Extends an existing function of `m` (compiler transforms such as
  /// autodiff): insertion starts at the end of its body, whose `return`, if
  /// any, the caller removes before calling ret().
  FunctionBuilder(Module& m, Function& existing);
  FunctionBuilder(const FunctionBuilder&) = delete;
  FunctionBuilder& operator=(const FunctionBuilder&) = delete;

  Module& module() { return m_; }
  Function& function() { return *f_; }
  size_t numArgs() const;
  Val arg(size_t i);

  /// Ends the function with `return results`, sets its result types, and
  /// verifies it. Throws BuildError when the function does not verify.
  Function* ret(const ValueList& results);

  /// Builds into `region` (appending, or before `before` when given) until
  /// the guard dies, then returns to the previous insertion point. For
  /// transforms that insert ops into existing regions.
  class InsertionGuard {
  public:
    InsertionGuard(FunctionBuilder& b, Region& region, Op* before = nullptr);
    ~InsertionGuard();
    InsertionGuard(const InsertionGuard&) = delete;
    InsertionGuard& operator=(const InsertionGuard&) = delete;

  private:
    FunctionBuilder& b_;
  };

  /// The location attached to ops created from now on (default: unknown).
  void setLocation(Location loc) { loc_ = std::move(loc); }

  // ---- Values from nothing ----------------------------------------------
  /// A literal tensor (static shape).
  Val constant(const Tensor& value);
  /// `value` splat over `type` (static shape).
  Val constant(double value, const TensorType& type);
  /// A rank-0 constant.
  Val scalar(double value, DType dtype = DType::F32);
  /// Index ramp along `axis` over a shape (dynamic dims from Vals).
  Val iota(DType dtype, const Sizes& shape, int64_t axis);
  /// Uniform floats in [0, 1) of `dtype` and `shape` from generator `state`
  /// (tensor<2xi64>).
  RngResult rngUniform(Val state, DType dtype, const Sizes& shape);

  // ---- Control flow -----------------------------------------------------
  using CondFn = std::function<Val(const ValueList& carried)>;
  using BodyFn = std::function<ValueList(const ValueList& carried)>;
  using BranchFn = std::function<ValueList()>;

  /// `while`: carries `inits` (their types are the carried types) while
  /// `cond` returns true (a tensor<i1> scalar), replacing them by what `body`
  /// returns (same types). Returns the final carried values. With `maxTrip`,
  /// running the body more often is a run-time error. The lambdas run once,
  /// at build time, to build the regions; they may use any Val built before.
  ValueList whileLoop(const ValueList& inits, const CondFn& cond, const BodyFn& body,
                      std::optional<IntOrVal> maxTrip = std::nullopt);
  /// `if`: runs `thenFn` or `elseFn` depending on `pred` (a tensor<i1>
  /// scalar). The result types are those of the then-branch; the else-branch
  /// must return the same types.
  ValueList ifElse(Val pred, const BranchFn& thenFn, const BranchFn& elseFn);
  /// Calls `callee` (a function of this module).
  ValueList call(const Function& callee, const ValueList& args);
  ValueList call(std::string_view callee, const ValueList& args);

  // ---- The generic escape hatch -------------------------------------------
  /// Appends an op of `kind` at the insertion point. Result types are
  /// inferred; ops whose results cannot be inferred from their operands
  /// (constant, cast, broadcast, reshape, iota, dim, argmax, rng_*) take
  /// `declared`. Throws BuildError on a type error.
  ValueList create(OpKind kind, const ValueList& operands, AttrMap attrs = {},
                   const std::vector<TensorType>& declared = {});
  /// create() for a single-result op.
  Val create1(OpKind kind, const ValueList& operands, AttrMap attrs = {},
              const std::vector<TensorType>& declared = {});

  /// A scalar i32/i64 Val for `v` (a constant of `dtype` when static).
  Val intValue(const IntOrVal& v, DType dtype = DType::I64);

  /// Inserts a ready-made op (e.g. a clone) at the insertion point: the end
  /// of the innermost region being built, or before the InsertionGuard's op.
  Op* insert(std::unique_ptr<Op> op);
  /// The region ops are being inserted into.
  Region& insertionRegion() { return current(); }

private:
  friend class RegionScope;
  Region& current();
  ValueList wrap(const std::vector<Value*>& values);

  Module& m_;
  Function* f_;
  /// Insertion regions, innermost last: the function body, then the regions
  /// of the `while`/`if` being built.
  std::vector<Region*> regions_;
  /// Parallel to regions_: insert before this op (nullptr = append).
  std::vector<Op*> before_;
  Location loc_;
  bool finished_ = false;
};

// ---- Elementwise (numpy-style broadcasting, numbers promoted) --------------
Val neg(Val x);
Val abs(Val x);
Val exp(Val x);
Val log(Val x);
Val tanh(Val x);
Val sigmoid(Val x);
/// The error function (GELU's exact form: x * (1 + erf(x / sqrt 2)) / 2).
Val erf(Val x);
/// Trigonometric and hyperbolic functions and their inverses (radians).
Val sin(Val x);
Val cos(Val x);
Val tan(Val x);
Val asin(Val x);
Val acos(Val x);
Val atan(Val x);
Val sinh(Val x);
Val cosh(Val x);
Val asinh(Val x);
Val acosh(Val x);
Val atanh(Val x);
Val relu(Val x);
Val sqrt(Val x);
Val rsqrt(Val x);
/// Logical not for i1, bitwise not for i32/i64.
Val logicalNot(Val x);

Val add(Arg a, Arg b);
Val sub(Arg a, Arg b);
Val mul(Arg a, Arg b);
Val div(Arg a, Arg b);
Val max(Arg a, Arg b);
Val min(Arg a, Arg b);
Val pow(Arg a, Arg b);
/// Logical for i1, bitwise for i32/i64.
Val logicalAnd(Arg a, Arg b);
Val logicalOr(Arg a, Arg b);

/// Comparisons: i1 results of the broadcast shape.
Val eq(Arg a, Arg b);
Val ne(Arg a, Arg b);
Val lt(Arg a, Arg b);
Val le(Arg a, Arg b);
Val gt(Arg a, Arg b);
Val ge(Arg a, Arg b);

/// `a` where `pred` else `b`; `pred` is i1 of the broadcast shape or a scalar.
Val select(Val pred, Arg a, Arg b);
/// Converts to `dtype` (no-op when already of it).
Val cast(Val x, DType dtype);

Val operator-(Val x);
Val operator+(Val a, Val b);
Val operator+(Val a, double b);
Val operator+(double a, Val b);
Val operator-(Val a, Val b);
Val operator-(Val a, double b);
Val operator-(double a, Val b);
Val operator*(Val a, Val b);
Val operator*(Val a, double b);
Val operator*(double a, Val b);
Val operator/(Val a, Val b);
Val operator/(Val a, double b);
Val operator/(double a, Val b);

// ---- Shape and data movement (negative axes count from the end) -------------
/// numpy-style broadcast of `x` to `shape` (x's dims align right). A `?` in
/// the result takes its size from the Val given, or from x's own dim.
Val broadcastTo(Val x, const Sizes& shape);
/// The raw op: x's dim i becomes result dim dims[i].
Val broadcastInDim(Val x, const Sizes& shape, const std::vector<int64_t>& dims);
/// Same elements, new shape; one static kDynamic entry is inferred.
Val reshape(Val x, const Sizes& shape);
Val transpose(Val x, const std::vector<int64_t>& perm);
Val concat(const ValueList& xs, int64_t axis);
Val slice(Val x, const std::vector<int64_t>& start, const std::vector<int64_t>& limit,
          const std::vector<int64_t>& stride = {});
/// The block of `sizes` at run-time `starts` (one per dim).
Val dynamicSlice(Val x, const std::vector<IntOrVal>& starts, const Shape& sizes);
/// `x` with the block at `starts` replaced by `update`.
Val dynamicUpdateSlice(Val x, Val update, const std::vector<IntOrVal>& starts);
/// x[i] along `axis` (that axis removed): a dynamic_slice and a reshape, or
/// a gather with a scalar index when other dims are dynamic.
Val sliceAt(Val x, IntOrVal i, int64_t axis = 0);
/// Elements [start, limit) of `axis`, all of every other dim: a `slice`, or a
/// `gather` of the index range when another dim is dynamic.
Val sliceAxis(Val x, int64_t axis, int64_t start, int64_t limit);
/// `parts` equal pieces along a static `axis` (e.g. the four LSTM gates).
ValueList split(Val x, int64_t parts, int64_t axis);
/// `x` with x[i] along `axis` replaced by `row` (x's shape without `axis`).
Val updateAt(Val x, IntOrVal i, Val row, int64_t axis = 0);
Val gather(Val x, Val indices, int64_t axis, int64_t batchDims = 0);
Val scatter(Val x, Val indices, Val updates, int64_t axis, int64_t batchDims = 0);
Val scatterAdd(Val x, Val indices, Val updates, int64_t axis, int64_t batchDims = 0);

// ---- Reductions and products --------------------------------------------------
Val reduceSum(Val x, std::vector<int64_t> dims, bool keepDims = false);
Val reduceMax(Val x, std::vector<int64_t> dims, bool keepDims = false);
Val reduceMin(Val x, std::vector<int64_t> dims, bool keepDims = false);
Val argmax(Val x, int64_t axis, DType indexType = DType::I64);
/// The indices of the nonzero (true) elements of rank-1 `mask`, increasing:
/// a [?] vector whose length is known at run time.
Val nonzero(Val mask, DType indexType = DType::I32);
/// General dot; with default DotDims, contracts a's last dim with b's first.
Val dot(Val a, Val b, const DotDims& dims = {});
/// Matrix product: [..., M, K] x [K, N] (a plain dot), or batched
/// [B..., M, K] x [B..., K, N] with equal batch dims.
Val matmul(Val a, Val b);

// ---- Recurrent layers ---------------------------------------------------------
/// What `rnn` returns: ys [T, B, H], the final h [B, H] and (LSTM) c [B, H].
struct RnnResult {
  Val ys, h, c;
};
enum class RnnCell { Lstm, Gru };
/// One direction of an LSTM or GRU layer as one `rnn` op (ir/Ops.def):
/// x [T, B, I], lengths [B] (i32/i64), h0 [B, H], c0 [B, H] (LSTM; pass
/// Val() for GRU), w_ih [G*H, I], w_hh [G*H, H], b_ih and b_hh [G*H] in
/// PyTorch's layout (G = 4: i, f, g, o; G = 3: r, z, n).
RnnResult rnn(RnnCell cell, Val x, Val lengths, Val h0, Val c0, Val wIh, Val wHh, Val bIh, Val bHh,
              bool reverse = false);

// ---- Misc -------------------------------------------------------------------
/// Run-time size of `axis` as a scalar of `dtype` (i32 or i64).
Val dim(Val x, int64_t axis, DType dtype = DType::I64);
/// One category per row of `logits` [..., K], of `dtype` and shape [...].
RngResult rngCategorical(Val state, Val logits, DType dtype = DType::I64);
Val stopGradient(Val x);

} // namespace cairn
