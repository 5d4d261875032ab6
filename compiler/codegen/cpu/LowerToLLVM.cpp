// KernelDesc -> LLVM IR: the loop skeleton, index maps, loads and stores, and
// one scalar emission per elementwise op with the reference semantics.
//
// Shape of the output:
//   define void @k(ptr %buffers, i64 %begin, i64 %end) {
//     ; load each buffer pointer, call @k.loop (always inlined: its noalias
//     ; parameters become alias scopes, so the vectorizer needs no run-time
//     ; overlap checks, which it could not form for broadcast reads anyway)
//   }
//   define internal void @k.loop(ptr noalias %in0, ..., ptr noalias %out0, ..., i64, i64) {
//   entry:     br (begin < end), rows, exit
//   rows:      r0 = begin / W, r1 = ceil(end / W)
//   row:       %r = phi; row-invariant parts of the index maps; c bounds
//   loop:      %c = phi; i = r*W + c; index maps; loads; body; stores; br
//   row.latch: br (r + 1 == r1), exit, row
//   exit:      ret void
//   }
// Loop-invariant work (one-element inputs, constants) is left in the loop
// for LICM to hoist.
#include "compiler/codegen/cpu/LowerToLLVM.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

#include <llvm/IR/Constants.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/GlobalVariable.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/Module.h>

#include "compiler/codegen/cpu/MathApprox.h"
#include "ir/Fusion.h"

namespace cairn::codegen::cpu {
namespace {

using llvm::Value;

Status unsupported(std::string what) {
  return Status::error("unsupported in codegen: " + what);
}

Status checkDType(DType d, std::string_view where) {
  if (d == DType::F16 || d == DType::BF16)
    return unsupported(fmt::format("{} has dtype {} (the CPU backend handles f32, f64, i1, i32 "
                                   "and i64; f16/bf16 run in the interpreter)",
                                   where, dtypeName(d)));
  return Status::ok();
}

llvm::Type* storageType(llvm::LLVMContext& ctx, DType d) {
  switch (d) {
  case DType::F32:
    return llvm::Type::getFloatTy(ctx);
  case DType::F64:
    return llvm::Type::getDoubleTy(ctx);
  case DType::I1:
    return llvm::Type::getInt8Ty(ctx);
  case DType::I32:
    return llvm::Type::getInt32Ty(ctx);
  case DType::I64:
    return llvm::Type::getInt64Ty(ctx);
  default:
    break;
  }
  CAIRN_CHECK(false, "dtype {} reached lowering", dtypeName(d));
  return nullptr;
}

llvm::Type* valueType(llvm::LLVMContext& ctx, DType d) {
  return d == DType::I1 ? llvm::Type::getInt1Ty(ctx) : storageType(ctx, d);
}

/// Rows shorter than this are not worth a loop of their own: one flat loop
/// over i then (its broadcast reads become gathers or scalar code).
constexpr int64_t kMinRowWidth = 16;

/// Whether every extent of `m` is a compile-time constant.
bool isConstantMap(const IndexMap& m) {
  for (const IndexStage& s : m.stages)
    for (const IndexTerm& t : s.terms)
      if (isParam(t.div) || isParam(t.mod) || isParam(t.stride)) return false;
  return true;
}

/// The width W of a row of the loop nest: the largest W dividing the
/// divisors and moduli of every one-stage index map of constant extents, so
/// that within a row each such map is base(row) + c * stride: contiguous or
/// invariant, which the vectorizer widens. N (one row: a flat loop) when W
/// would be short; 0 when that N is a run-time parameter.
int64_t rowWidth(const KernelDesc& k) {
  int64_t w = 0; // the gcd so far; 0: no constraint
  for (const IndexMap& m : k.indexMaps) {
    if (m.zero || m.stages.size() != 1 || !isConstantMap(m)) continue;
    for (const IndexTerm& t : m.stages[0].terms) {
      if (t.div != 1)
        w = std::gcd(w, t.div);
      else if (t.mod)
        w = std::gcd(w, t.mod);
    }
  }
  if (w != 0 && w >= kMinRowWidth) return w;
  return isParam(k.numElements) ? 0 : std::max<int64_t>(k.numElements, 1);
}

/// The largest index `m` reads for i < n, or -1 when an extent is a
/// run-time parameter. A block gather reads an input larger than the
/// iteration space, so the index's width is decided by this, not by n.
int64_t maxIndex(const IndexMap& m, int64_t n) {
  if (m.zero) return 0;
  if (!isConstantMap(m) || n < 1) return -1;
  int64_t in = n - 1;
  for (const IndexStage& s : m.stages) {
    int64_t out = s.offset;
    for (const IndexTerm& t : s.terms) {
      int64_t x = in / t.div;
      if (t.mod) x = std::min(x, t.mod - 1);
      out += x * t.stride;
    }
    in = out;
  }
  return in;
}

/// Whether `m` is base(row) + c * stride within rows of (constant) width `w`.
bool splitsByRow(const IndexMap& m, int64_t w) {
  if (w == 0 || m.zero || m.stages.size() != 1 || !isConstantMap(m)) return false;
  for (const IndexTerm& t : m.stages[0].terms)
    if (t.div != 1 ? t.div % w != 0 : (t.mod != 0 && t.mod % w != 0)) return false;
  return true;
}

/// Emits the loop body of one kernel.
class BodyEmitter {
public:
  BodyEmitter(const KernelDesc& k, int64_t rowWidth, std::vector<Value*> params,
              llvm::IRBuilder<>& b, llvm::Module& m)
      : k_(k), w_(rowWidth), params_(std::move(params)), b_(b), m_(m), ctx_(m.getContext()) {}

  /// At the top of row `r` (starting at element rowStart = r * W): the
  /// row-invariant part of every index map that splits by row.
  void beginRow(Value* r, Value* rowStart) {
    for (size_t id = 0; id < k_.indexMaps.size(); ++id) {
      const IndexMap& m = k_.indexMaps[id];
      if (!splitsByRow(m, w_)) continue;
      Value* base = b_.getInt64(m.stages[0].offset);
      int64_t stride = 0;
      for (const IndexTerm& t : m.stages[0].terms) {
        Value* x = nullptr;
        if (t.div != 1) { // (r*W + c) / div == r / (div/W), as c < W and W | div
          x = b_.CreateUDiv(r, b_.getInt64(t.div / w_));
          if (t.mod) x = b_.CreateURem(x, b_.getInt64(t.mod));
        } else { // (r*W + c) % mod == (r*W) % mod + c, as W | mod
          x = t.mod ? b_.CreateURem(rowStart, b_.getInt64(t.mod)) : rowStart;
          stride += t.stride;
        }
        base = b_.CreateNUWAdd(base, b_.CreateNUWMul(x, b_.getInt64(t.stride)));
      }
      rowMaps_[static_cast<int32_t>(id)] = {base, stride};
    }
  }

  /// The body for element i = rowStart + c.
  void emit(const std::vector<Value*>& buffers, Value* i, Value* c) {
    i_ = i;
    c_ = c;
    narrow_ = !isParam(k_.numElements) && k_.numElements <= std::numeric_limits<int32_t>::max();
    for (const IndexMap& m : k_.indexMaps) {
      int64_t top = narrow_ ? maxIndex(m, k_.numElements) : 0;
      narrow_ = narrow_ && top >= 0 && top <= std::numeric_limits<int32_t>::max();
    }
    std::vector<Value*> v(k_.body.size());
    for (size_t n = 0; n < k_.body.size(); ++n) {
      const KernelInst& inst = k_.body[n];
      switch (inst.kind) {
      case InstKind::Load:
        v[n] = load(inst.dtype, buffers[inst.source], inst.index);
        break;
      case InstKind::LoadConstant:
        v[n] = load(inst.dtype, table(inst.source), inst.index);
        break;
      case InstKind::Constant:
        v[n] = constant(inst.dtype, inst.bits);
        break;
      case InstKind::Compute: {
        std::vector<Value*> args;
        std::vector<DType> types;
        for (int32_t a : inst.args) {
          args.push_back(v[a]);
          types.push_back(k_.body[a].dtype);
        }
        v[n] = compute(inst, args, types);
        break;
      }
      }
    }
    for (size_t o = 0; o < k_.outputs.size(); ++o) {
      const KernelOutput& out = k_.outputs[o];
      Value* x = v[out.value];
      if (out.type.dtype == DType::I1) x = b_.CreateZExt(x, b_.getInt8Ty());
      llvm::Type* st = storageType(ctx_, out.type.dtype);
      Value* p = b_.CreateInBoundsGEP(st, buffers[k_.inputs.size() + o], i_);
      b_.CreateAlignedStore(x, p, llvm::Align(dtypeSize(out.type.dtype)));
    }
  }

private:
  Value* index(int32_t map) {
    auto it = indices_.find(map);
    if (it != indices_.end()) return it->second;
    const IndexMap& m = k_.indexMaps[map];
    Value* idx = nullptr;
    if (m.zero) {
      idx = b_.getInt64(0);
    } else if (m.stages.empty()) {
      idx = i_;
    } else if (auto row = rowMaps_.find(map); row != rowMaps_.end()) {
      auto [base, stride] = row->second;
      idx = b_.CreateNUWAdd(base, b_.CreateNUWMul(c_, b_.getInt64(stride)));
    } else {
      llvm::IntegerType* t = narrow_ ? b_.getInt32Ty() : b_.getInt64Ty();
      Value* in = narrow_ ? b_.CreateTrunc(i_, t) : i_;
      for (const IndexStage& s : m.stages) {
        Value* sum = llvm::ConstantInt::get(t, static_cast<uint64_t>(s.offset));
        for (const IndexTerm& term : s.terms) {
          Value* x = in;
          if (term.div != 1) x = b_.CreateUDiv(x, extent(term.div, t));
          if (term.mod) x = b_.CreateURem(x, extent(term.mod, t));
          if (term.stride != 1) x = b_.CreateNUWMul(x, extent(term.stride, t));
          sum = b_.CreateNUWAdd(sum, x);
        }
        in = sum;
      }
      idx = narrow_ ? b_.CreateZExt(in, b_.getInt64Ty()) : in;
    }
    indices_[map] = idx;
    return idx;
  }

  /// A constant extent, or a run-time parameter (64-bit; only narrow when constant).
  Value* extent(int64_t v, llvm::IntegerType* t) {
    if (isParam(v)) return params_.at(static_cast<size_t>(paramOf(v)));
    return llvm::ConstantInt::get(t, static_cast<uint64_t>(v));
  }

  Value* load(DType d, Value* base, int32_t map) {
    llvm::Type* st = storageType(ctx_, d);
    Value* p = b_.CreateInBoundsGEP(st, base, index(map));
    Value* x = b_.CreateAlignedLoad(st, p, llvm::Align(dtypeSize(d)));
    return d == DType::I1 ? b_.CreateTrunc(x, b_.getInt1Ty()) : x;
  }

  Value* table(int32_t t) {
    if (tables_.count(t)) return tables_[t];
    const Tensor& c = k_.tables[t];
    llvm::Type* st = storageType(ctx_, c.dtype());
    llvm::StringRef bytes(reinterpret_cast<const char*>(c.rawData()), c.byteSize());
    llvm::Constant* init = llvm::ConstantDataArray::getRaw(bytes, c.numElements(), st);
    auto* g = new llvm::GlobalVariable(m_, init->getType(), /*isConstant=*/true,
                                       llvm::GlobalValue::PrivateLinkage, init, "table");
    g->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
    g->setAlignment(llvm::Align(64));
    return tables_[t] = g;
  }

  Value* constant(DType d, uint64_t bits) {
    switch (d) {
    case DType::F32:
      return llvm::ConstantFP::get(
          ctx_, llvm::APFloat(llvm::APFloat::IEEEsingle(), llvm::APInt(32, bits & 0xffffffffu)));
    case DType::F64:
      return llvm::ConstantFP::get(
          ctx_, llvm::APFloat(llvm::APFloat::IEEEdouble(), llvm::APInt(64, bits)));
    case DType::I1:
      return b_.getInt1(bits != 0);
    case DType::I32:
      return b_.getInt32(static_cast<uint32_t>(bits));
    default:
      return b_.getInt64(bits);
    }
  }

  Value* compute(const KernelInst& inst, const std::vector<Value*>& a,
                 const std::vector<DType>& types) {
    switch (opInfo(inst.op).family) {
    case OpFamily::Compare:
      return compare(inst.op, a[0], a[1], types[0]);
    case OpFamily::Select:
      return b_.CreateSelect(a[0], a[1], a[2]);
    case OpFamily::Cast:
      return cast(a[0], types[0], inst.dtype);
    default:
      break;
    }
    if (isFloat(inst.dtype))
      return a.size() == 1 ? floatUnary(inst.op, a[0]) : floatBinary(inst.op, a[0], a[1]);
    return a.size() == 1 ? intUnary(inst.op, a[0], inst.dtype)
                         : intBinary(inst.op, a[0], a[1], inst.dtype);
  }

  Value* floatUnary(OpKind op, Value* x) {
    switch (op) {
    case OpKind::Neg:
      return b_.CreateFNeg(x);
    case OpKind::Abs:
      return b_.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x);
    case OpKind::Exp:
      return emitExp(b_, x);
    case OpKind::Log:
      return emitLog(b_, x);
    case OpKind::Tanh:
      return emitTanh(b_, x);
    case OpKind::Sigmoid:
      return emitSigmoid(b_, x);
    case OpKind::Erf:
      return emitErf(b_, x);
    case OpKind::Relu: // NaN is kept: "unordered or greater" picks x
      return b_.CreateSelect(b_.CreateFCmpUGT(x, zero(x)), x, zero(x));
    case OpKind::Sqrt:
      return b_.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, x);
    case OpKind::Rsqrt:
      return b_.CreateFDiv(llvm::ConstantFP::get(x->getType(), 1.0),
                           b_.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, x));
    default:
      break;
    }
    CAIRN_CHECK(false, "'{}' on a float passed checkLowerable", opName(op));
    return nullptr;
  }

  Value* floatBinary(OpKind op, Value* x, Value* y) {
    switch (op) {
    case OpKind::Add:
      return b_.CreateFAdd(x, y);
    case OpKind::Sub:
      return b_.CreateFSub(x, y);
    case OpKind::Mul:
      return b_.CreateFMul(x, y);
    case OpKind::Div:
      return b_.CreateFDiv(x, y);
    case OpKind::Pow:
      return emitPow(b_, x, y);
    case OpKind::Max:
    case OpKind::Min: {
      // NaN if either is NaN (the canonical quiet NaN, as the reference);
      // equal operands combine their bits so that +0 beats -0 in max
      // (and of the bits) and loses in min (or).
      bool max = op == OpKind::Max;
      llvm::Type* it = b_.getIntNTy(x->getType()->getPrimitiveSizeInBits());
      Value* pick = b_.CreateSelect(max ? b_.CreateFCmpOGT(x, y) : b_.CreateFCmpOLT(x, y), x, y);
      Value* xi = b_.CreateBitCast(x, it);
      Value* yi = b_.CreateBitCast(y, it);
      Value* tie = b_.CreateBitCast(max ? b_.CreateAnd(xi, yi) : b_.CreateOr(xi, yi), x->getType());
      Value* r = b_.CreateSelect(b_.CreateFCmpOEQ(x, y), tie, pick);
      return b_.CreateSelect(b_.CreateFCmpUNO(x, y), llvm::ConstantFP::getNaN(x->getType()), r);
    }
    default:
      break;
    }
    CAIRN_CHECK(false, "'{}' on floats passed checkLowerable", opName(op));
    return nullptr;
  }

  Value* intUnary(OpKind op, Value* x, DType d) {
    switch (op) {
    case OpKind::Neg:
      return b_.CreateSub(zero(x), x); // wraps
    case OpKind::Abs:
      return b_.CreateBinaryIntrinsic(llvm::Intrinsic::abs, x, b_.getFalse());
    case OpKind::Relu:
      return b_.CreateBinaryIntrinsic(llvm::Intrinsic::smax, x, zero(x));
    case OpKind::Not:
      return b_.CreateNot(x); // logical for i1, bitwise otherwise
    default:
      break;
    }
    CAIRN_CHECK(false, "'{}' on {} passed checkLowerable", opName(op), dtypeName(d));
    return nullptr;
  }

  Value* intBinary(OpKind op, Value* x, Value* y, DType d) {
    bool i1 = d == DType::I1;
    switch (op) {
    case OpKind::Add:
      return b_.CreateAdd(x, y); // no nsw: wraps
    case OpKind::Sub:
      return b_.CreateSub(x, y);
    case OpKind::Mul:
      return b_.CreateMul(x, y);
    case OpKind::Max:
      return i1 ? b_.CreateOr(x, y) : b_.CreateBinaryIntrinsic(llvm::Intrinsic::smax, x, y);
    case OpKind::Min:
      return i1 ? b_.CreateAnd(x, y) : b_.CreateBinaryIntrinsic(llvm::Intrinsic::smin, x, y);
    case OpKind::And:
      return b_.CreateAnd(x, y);
    case OpKind::Or:
      return b_.CreateOr(x, y);
    default:
      break;
    }
    CAIRN_CHECK(false, "'{}' on {} passed checkLowerable", opName(op), dtypeName(d));
    return nullptr;
  }

  Value* compare(OpKind op, Value* x, Value* y, DType d) {
    using P = llvm::CmpInst::Predicate;
    int k = 0; // eq ne lt le gt ge
    switch (op) {
    case OpKind::Eq:
      k = 0;
      break;
    case OpKind::Ne:
      k = 1;
      break;
    case OpKind::Lt:
      k = 2;
      break;
    case OpKind::Le:
      k = 3;
      break;
    case OpKind::Gt:
      k = 4;
      break;
    case OpKind::Ge:
      k = 5;
      break;
    default:
      CAIRN_CHECK(false, "'{}' is not a comparison", opName(op));
    }
    static const P kFloat[] = {P::FCMP_OEQ, P::FCMP_UNE, P::FCMP_OLT,
                               P::FCMP_OLE, P::FCMP_OGT, P::FCMP_OGE};
    static const P kSigned[] = {P::ICMP_EQ,  P::ICMP_NE,  P::ICMP_SLT,
                                P::ICMP_SLE, P::ICMP_SGT, P::ICMP_SGE};
    static const P kBool[] = {P::ICMP_EQ,  P::ICMP_NE,  P::ICMP_ULT,
                              P::ICMP_ULE, P::ICMP_UGT, P::ICMP_UGE}; // false < true
    if (isFloat(d)) return b_.CreateFCmp(kFloat[k], x, y);
    return b_.CreateICmp(d == DType::I1 ? kBool[k] : kSigned[k], x, y);
  }

  Value* cast(Value* x, DType from, DType to) {
    llvm::Type* t = valueType(ctx_, to);
    if (from == to) return x;
    if (to == DType::I1)
      return isFloat(from) ? b_.CreateFCmpUNE(x, zero(x)) : b_.CreateICmpNE(x, zero(x));
    if (from == DType::I1) return isFloat(to) ? b_.CreateUIToFP(x, t) : b_.CreateZExt(x, t);
    if (isFloat(from) && isFloat(to))
      return to == DType::F64 ? b_.CreateFPExt(x, t) : b_.CreateFPTrunc(x, t);
    if (!isFloat(from) && !isFloat(to))
      return to == DType::I64 ? b_.CreateSExt(x, t) : b_.CreateTrunc(x, t);
    if (!isFloat(from)) return b_.CreateSIToFP(x, t); // one rounding, to nearest even
    // Float to integer: truncate toward zero; NaN and out of range give 0
    // (fptosi alone would be poison there). The valid range is
    // trunc(x) in [-2^k, 2^k): x > -2^k - 1 where that is exact (f64 -> i32),
    // else x >= -2^k (the next float below -2^k is at least 1 further away).
    int k = to == DType::I32 ? 31 : 63;
    double lim = std::ldexp(1.0, k);
    llvm::Type* ft = x->getType();
    Value* low = from == DType::F64 && to == DType::I32
                     ? b_.CreateFCmpOGT(x, llvm::ConstantFP::get(ft, -lim - 1))
                     : b_.CreateFCmpOGE(x, llvm::ConstantFP::get(ft, -lim));
    Value* inRange = b_.CreateAnd(low, b_.CreateFCmpOLT(x, llvm::ConstantFP::get(ft, lim)));
    return b_.CreateFPToSI(b_.CreateSelect(inRange, x, zero(x)), t);
  }

  static Value* zero(Value* like) { return llvm::Constant::getNullValue(like->getType()); }

  const KernelDesc& k_;
  int64_t w_;
  std::vector<Value*> params_; ///< the kernel's run-time extents, loaded on entry
  llvm::IRBuilder<>& b_;
  llvm::Module& m_;
  llvm::LLVMContext& ctx_;
  Value* i_ = nullptr;
  Value* c_ = nullptr;
  bool narrow_ = true;
  std::map<int32_t, std::pair<Value*, int64_t>> rowMaps_; // map -> (row base, stride in c)
  std::map<int32_t, Value*> indices_;
  std::map<int32_t, Value*> tables_;
};

/// Which ops each family of dtypes supports (beyond compare/select/cast).
bool floatOpSupported(OpKind op) {
  switch (op) {
  case OpKind::Neg:
  case OpKind::Abs:
  case OpKind::Exp:
  case OpKind::Log:
  case OpKind::Tanh:
  case OpKind::Sigmoid:
  case OpKind::Erf:
  case OpKind::Relu:
  case OpKind::Sqrt:
  case OpKind::Rsqrt:
  case OpKind::Add:
  case OpKind::Sub:
  case OpKind::Mul:
  case OpKind::Div:
  case OpKind::Max:
  case OpKind::Min:
  case OpKind::Pow:
    return true;
  default:
    return false;
  }
}

bool intOpSupported(OpKind op, DType d) {
  switch (op) {
  case OpKind::Neg:
  case OpKind::Abs:
  case OpKind::Relu:
  case OpKind::Add:
  case OpKind::Sub:
  case OpKind::Mul:
    return d != DType::I1;
  case OpKind::Max:
  case OpKind::Min:
  case OpKind::Not:
  case OpKind::And:
  case OpKind::Or:
    return true;
  default:
    return false;
  }
}

} // namespace

Status checkLowerable(const KernelDesc& k) {
  for (size_t n = 0; n < k.inputs.size(); ++n)
    CAIRN_RETURN_IF_ERROR(checkDType(k.inputs[n].dtype, fmt::format("input #{}", n)));
  for (size_t n = 0; n < k.outputs.size(); ++n)
    CAIRN_RETURN_IF_ERROR(checkDType(k.outputs[n].type.dtype, fmt::format("output #{}", n)));
  for (size_t n = 0; n < k.tables.size(); ++n)
    CAIRN_RETURN_IF_ERROR(checkDType(k.tables[n].dtype(), "a constant"));
  for (const KernelInst& inst : k.body) {
    CAIRN_RETURN_IF_ERROR(checkDType(inst.dtype, "a value"));
    if (inst.kind != InstKind::Compute) continue;
    OpFamily family = opInfo(inst.op).family;
    if (family == OpFamily::Compare || family == OpFamily::Select || family == OpFamily::Cast)
      continue;
    std::string_view op = opName(inst.op);
    std::string none = noKernelForm(inst.op, inst.dtype);
    if (!none.empty()) return unsupported(none);
    bool ok = isFloat(inst.dtype) ? floatOpSupported(inst.op) : intOpSupported(inst.op, inst.dtype);
    if (!ok) return unsupported(fmt::format("'{}' on {}", op, dtypeName(inst.dtype)));
  }
  return Status::ok();
}

StatusOr<llvm::Function*> lowerToLLVM(const KernelDesc& k, llvm::Module& m,
                                      const std::string& name) {
  CAIRN_RETURN_IF_ERROR(checkLowerable(k));
  llvm::LLVMContext& ctx = m.getContext();
  llvm::Type* ptr = llvm::PointerType::getUnqual(ctx);
  llvm::Type* i64 = llvm::Type::getInt64Ty(ctx);
  size_t numBuffers = k.inputs.size() + k.outputs.size();

  // The loop, with one noalias pointer per buffer, then the parameters.
  std::vector<llvm::Type*> params(numBuffers + 1, ptr);
  params.push_back(i64);
  params.push_back(i64);
  auto* loopTy = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), params, false);
  auto* loopFn =
      llvm::Function::Create(loopTy, llvm::GlobalValue::InternalLinkage, name + ".loop", m);
  loopFn->addFnAttr(llvm::Attribute::AlwaysInline);
  loopFn->addFnAttr(llvm::Attribute::NoUnwind);
  std::vector<Value*> buffers;
  for (size_t n = 0; n < numBuffers; ++n) {
    loopFn->addParamAttr(static_cast<unsigned>(n), llvm::Attribute::NoAlias);
    buffers.push_back(loopFn->getArg(static_cast<unsigned>(n)));
  }
  Value* paramArray = loopFn->getArg(static_cast<unsigned>(numBuffers));
  Value* begin = loopFn->getArg(static_cast<unsigned>(numBuffers + 1));
  Value* end = loopFn->getArg(static_cast<unsigned>(numBuffers + 2));

  // for (r = begin / W; r < ceil(end / W); ++r)      -- rows
  //   for (c = max(begin - rW, 0); c < min(end - rW, W); ++c)  -- i = rW + c
  // Each row runs at least once: begin < end, and the bounds clip only the
  // first and last rows.
  int64_t w = rowWidth(k);
  auto* entry = llvm::BasicBlock::Create(ctx, "entry", loopFn);
  auto* rows = llvm::BasicBlock::Create(ctx, "rows", loopFn);
  auto* row = llvm::BasicBlock::Create(ctx, "row", loopFn);
  auto* loop = llvm::BasicBlock::Create(ctx, "loop", loopFn);
  auto* latch = llvm::BasicBlock::Create(ctx, "row.latch", loopFn);
  auto* exit = llvm::BasicBlock::Create(ctx, "exit", loopFn);
  llvm::IRBuilder<> b(entry);
  std::vector<Value*> paramValues;
  for (size_t p = 0; p < k.shape.params.size(); ++p)
    paramValues.push_back(b.CreateAlignedLoad(i64, b.CreateConstInBoundsGEP1_64(i64, paramArray, p),
                                              llvm::Align(8), "p"));
  b.CreateCondBr(b.CreateICmpSLT(begin, end), rows, exit);

  b.SetInsertPoint(rows);
  // W == 0: one flat row of the run-time N (which is at least end > 0).
  Value* width = w ? b.getInt64(w) : paramValues.at(static_cast<size_t>(paramOf(k.numElements)));
  Value* r0 = b.CreateUDiv(begin, width);
  Value* r1 = b.CreateUDiv(b.CreateNUWAdd(end, b.CreateSub(width, b.getInt64(1))), width);
  b.CreateBr(row);

  b.SetInsertPoint(row);
  llvm::PHINode* r = b.CreatePHI(i64, 2, "r");
  r->addIncoming(r0, rows);
  Value* rowStart = b.CreateNUWMul(r, width, "row.start");
  Value* c0 =
      b.CreateBinaryIntrinsic(llvm::Intrinsic::smax, b.CreateSub(begin, rowStart), b.getInt64(0));
  Value* c1 = b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, b.CreateSub(end, rowStart), width);
  BodyEmitter body(k, w, paramValues, b, m);
  body.beginRow(r, rowStart);
  b.CreateBr(loop);

  b.SetInsertPoint(loop);
  llvm::PHINode* c = b.CreatePHI(i64, 2, "c");
  c->addIncoming(c0, row);
  Value* i = b.CreateNUWAdd(rowStart, c, "i");
  body.emit(buffers, i, c);
  Value* next = b.CreateNSWAdd(c, b.getInt64(1), "c.next");
  c->addIncoming(next, b.GetInsertBlock());
  b.CreateCondBr(b.CreateICmpEQ(next, c1), latch, loop);

  b.SetInsertPoint(latch);
  Value* rNext = b.CreateNUWAdd(r, b.getInt64(1), "r.next");
  r->addIncoming(rNext, latch);
  b.CreateCondBr(b.CreateICmpEQ(rNext, r1), exit, row);

  b.SetInsertPoint(exit);
  b.CreateRetVoid();

  // The entry point: unpack the buffer array and run the loop.
  auto* fnTy = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr, i64, i64}, false);
  auto* fn = llvm::Function::Create(fnTy, llvm::GlobalValue::ExternalLinkage, name, m);
  fn->addFnAttr(llvm::Attribute::NoUnwind);
  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", fn));
  std::vector<Value*> args;
  for (size_t n = 0; n < numBuffers + 1; ++n) { // buffers[numBuffers]: the parameters
    if (n == numBuffers && k.shape.params.empty()) {
      args.push_back(llvm::ConstantPointerNull::get(llvm::PointerType::getUnqual(ctx)));
      break;
    }
    Value* slot = b.CreateConstInBoundsGEP1_64(ptr, fn->getArg(0), n);
    args.push_back(b.CreateAlignedLoad(ptr, slot, llvm::Align(8)));
  }
  args.push_back(fn->getArg(1));
  args.push_back(fn->getArg(2));
  b.CreateCall(loopFn, args);
  b.CreateRetVoid();
  return fn;
}

} // namespace cairn::codegen::cpu
