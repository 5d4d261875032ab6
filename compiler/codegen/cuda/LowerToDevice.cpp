// One per-thread function per kernel, wrapped as an NVPTX kernel or as the
// emulated device's host entry (LowerToDevice.h).
#include "compiler/codegen/cuda/LowerToDevice.h"
#include "compiler/codegen/cpu/LowerToLLVM.h"
#include "compiler/codegen/cpu/OptimizeModule.h"

#include <functional>
#include <mutex>
#include <optional>
#include <unordered_map>

#include <llvm/ADT/SmallString.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/IntrinsicsNVPTX.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Target/TargetOptions.h>
#include <llvm/TargetParser/Host.h>

extern "C" {
void LLVMInitializeNVPTXTargetInfo();
void LLVMInitializeNVPTXTarget();
void LLVMInitializeNVPTXTargetMC();
void LLVMInitializeNVPTXAsmPrinter();
}

namespace cairn::codegen::cuda {
namespace {

using llvm::Value;

constexpr const char* kNvptxTriple = "nvptx64-nvidia-cuda";

size_t numBuffers(const KernelDesc& k) { return k.inputs.size() + k.outputs.size(); }

/// A kernel's arguments: `pointers` device pointers, then `scalars` i64s
/// (n last); the per-thread function takes the four indices after them.
struct Arity {
  size_t pointers = 0, scalars = 0;
};

Arity arityOf(const KernelDesc& k) { return {numBuffers(k), k.shape.params.size() + 1}; }

/// name.thread(pointers..., scalars..., tid, ntid, ctaid, nctaid): a
/// per-thread function, internal and always inlined into its entries.
llvm::Function* newThreadFunction(llvm::Module& m, const std::string& name, Arity a,
                                  bool noAliasPointers) {
  llvm::LLVMContext& ctx = m.getContext();
  std::vector<llvm::Type*> params(a.pointers, llvm::PointerType::getUnqual(ctx));
  params.insert(params.end(), a.scalars + 4, llvm::Type::getInt64Ty(ctx));
  auto* fn = llvm::Function::Create(llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), params, false),
                                    llvm::GlobalValue::InternalLinkage, name + ".thread", m);
  fn->addFnAttr(llvm::Attribute::AlwaysInline);
  fn->addFnAttr(llvm::Attribute::NoUnwind);
  if (noAliasPointers)
    for (unsigned j = 0; j < a.pointers; ++j)
      fn->addParamAttr(j, llvm::Attribute::NoAlias);
  return fn;
}

/// The grid-stride loop of a thread function: for (e = ctaid * ntid + tid;
/// e < n; e += ntid * nctaid). The element's code goes in `body` and ends
/// in a branch to `latch`.
struct GridStride {
  llvm::PHINode* e = nullptr;
  Value* n = nullptr;
  Value* stride = nullptr;
  llvm::BasicBlock *body = nullptr, *latch = nullptr, *exit = nullptr;
};

/// Opens the loop of `fn` (arity `a`) at `b`'s insert point, which stays in
/// the entry's work so far; leaves `b` at the start of the body.
GridStride openGridStride(llvm::IRBuilder<>& b, llvm::Function* fn, Arity a) {
  llvm::LLVMContext& ctx = b.getContext();
  auto arg = [&](size_t j) -> Value* { return fn->getArg(static_cast<unsigned>(j)); };
  const size_t first = a.pointers + a.scalars; // tid, ntid, ctaid, nctaid
  GridStride g;
  g.n = arg(first - 1);
  g.body = llvm::BasicBlock::Create(ctx, "element", fn);
  g.latch = llvm::BasicBlock::Create(ctx, "latch", fn);
  g.exit = llvm::BasicBlock::Create(ctx, "exit", fn);
  Value* start = b.CreateNUWAdd(b.CreateNUWMul(arg(first + 2), arg(first + 1)), arg(first), "start");
  g.stride = b.CreateNUWMul(arg(first + 1), arg(first + 3), "stride");
  llvm::BasicBlock* pre = b.GetInsertBlock();
  b.CreateCondBr(b.CreateICmpSLT(start, g.n), g.body, g.exit);
  b.SetInsertPoint(g.body);
  g.e = b.CreatePHI(b.getInt64Ty(), 2, "e");
  g.e->addIncoming(start, pre);
  return g;
}

/// The loop's latch (e += stride while e < n), then the return.
void closeGridStride(llvm::IRBuilder<>& b, const GridStride& g) {
  b.SetInsertPoint(g.latch);
  Value* next = b.CreateNUWAdd(g.e, g.stride, "e.next");
  g.e->addIncoming(next, g.latch);
  b.CreateCondBr(b.CreateICmpSLT(next, g.n), g.body, g.exit);
  b.SetInsertPoint(g.exit);
  b.CreateRetVoid();
}

/// name.thread(buffers..., extents..., n, tid, ntid, ctaid, nctaid): the
/// grid-stride loop around the CPU lowering's element loop for [i, i + 1).
StatusOr<llvm::Function*> lowerThreadFunction(const KernelDesc& k, llvm::Module& m,
                                              const std::string& name) {
  CAIRN_RETURN_IF_ERROR(cpu::lowerToLLVM(k, m, name + ".elements").status());
  // Only the element loop is wanted; its host entry (buffer array) is not.
  m.getFunction(name + ".elements")->eraseFromParent();
  llvm::Function* loop = m.getFunction(name + ".elements.loop");
  CAIRN_CHECK(loop, "cpu::lowerToLLVM made no {}.elements.loop", name);

  llvm::LLVMContext& ctx = m.getContext();
  llvm::Type* i64 = llvm::Type::getInt64Ty(ctx);
  const size_t nb = numBuffers(k), np = k.shape.params.size();
  llvm::Function* fn = newThreadFunction(m, name, arityOf(k), /*noAliasPointers=*/true);
  auto arg = [&](size_t j) -> Value* { return fn->getArg(static_cast<unsigned>(j)); };

  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", fn));
  // The extents as the array the element loop reads (SROA turns it back
  // into registers).
  Value* extents = llvm::ConstantPointerNull::get(llvm::PointerType::getUnqual(ctx));
  if (np) {
    extents = b.CreateAlloca(llvm::ArrayType::get(i64, np), nullptr, "extents");
    for (size_t p = 0; p < np; ++p)
      b.CreateStore(arg(nb + p), b.CreateConstInBoundsGEP2_64(
                                     llvm::ArrayType::get(i64, np), extents, 0, p));
  }
  GridStride g = openGridStride(b, fn, arityOf(k));
  std::vector<Value*> callArgs;
  for (size_t j = 0; j < nb; ++j)
    callArgs.push_back(arg(j));
  callArgs.push_back(extents);
  callArgs.push_back(g.e);
  callArgs.push_back(b.CreateNUWAdd(g.e, b.getInt64(1)));
  b.CreateCall(loop, callArgs);
  b.CreateBr(g.latch);
  closeGridStride(b, g);
  return fn;
}

/// The NVPTX kernel: arguments by value, indices from the special registers.
void addNvptxKernel(Arity a, llvm::Module& m, llvm::Function* thread, const std::string& name) {
  llvm::LLVMContext& ctx = m.getContext();
  const size_t nb = a.pointers, np = a.scalars - 1;
  std::vector<llvm::Type*> params(nb, llvm::PointerType::getUnqual(ctx));
  params.insert(params.end(), np + 1, llvm::Type::getInt64Ty(ctx));
  auto* fn = llvm::Function::Create(llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), params, false),
                                    llvm::GlobalValue::ExternalLinkage, name, m);
  fn->setCallingConv(llvm::CallingConv::PTX_Kernel);
  fn->addFnAttr(llvm::Attribute::NoUnwind);
  for (unsigned j = 0; j < nb; ++j)
    fn->addParamAttr(j, llvm::Attribute::NoAlias);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", fn));
  auto sreg = [&](llvm::Intrinsic::ID id) {
    return b.CreateZExt(b.CreateIntrinsic(id, {}, {}), b.getInt64Ty());
  };
  std::vector<Value*> args;
  for (size_t j = 0; j < nb + np + 1; ++j)
    args.push_back(fn->getArg(static_cast<unsigned>(j)));
  args.push_back(sreg(llvm::Intrinsic::nvvm_read_ptx_sreg_tid_x));
  args.push_back(sreg(llvm::Intrinsic::nvvm_read_ptx_sreg_ntid_x));
  args.push_back(sreg(llvm::Intrinsic::nvvm_read_ptx_sreg_ctaid_x));
  args.push_back(sreg(llvm::Intrinsic::nvvm_read_ptx_sreg_nctaid_x));
  b.CreateCall(thread, args);
  b.CreateRetVoid();
  // LLVM 19's NVPTX backend still reads kernels from nvvm.annotations.
  llvm::Metadata* md[] = {llvm::ValueAsMetadata::get(fn), llvm::MDString::get(ctx, "kernel"),
                          llvm::ConstantAsMetadata::get(b.getInt32(1))};
  m.getOrInsertNamedMetadata("nvvm.annotations")->addOperand(llvm::MDNode::get(ctx, md));
}

/// The emulated device's entry: cuLaunchKernel's argument array unpacked,
/// then for (ctaid < grid) for (tid < block) name.thread(...).
void addHostEntry(Arity a, llvm::Module& m, llvm::Function* thread, const std::string& name) {
  llvm::LLVMContext& ctx = m.getContext();
  llvm::Type* ptr = llvm::PointerType::getUnqual(ctx);
  llvm::Type* i64 = llvm::Type::getInt64Ty(ctx);
  llvm::Type* i32 = llvm::Type::getInt32Ty(ctx);
  const size_t nb = a.pointers, np = a.scalars - 1;
  auto* fn = llvm::Function::Create(
      llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr, i32, i32}, false),
      llvm::GlobalValue::ExternalLinkage, name, m);
  fn->addFnAttr(llvm::Attribute::NoUnwind);
  auto* entry = llvm::BasicBlock::Create(ctx, "entry", fn);
  auto* blocks = llvm::BasicBlock::Create(ctx, "blocks", fn);
  auto* threads = llvm::BasicBlock::Create(ctx, "threads", fn);
  auto* blockLatch = llvm::BasicBlock::Create(ctx, "blocks.latch", fn);
  auto* exit = llvm::BasicBlock::Create(ctx, "exit", fn);
  llvm::IRBuilder<> b(entry);
  std::vector<Value*> args;
  for (size_t j = 0; j < nb + np + 1; ++j) {
    Value* slot = b.CreateAlignedLoad(ptr, b.CreateConstInBoundsGEP1_64(ptr, fn->getArg(0), j),
                                      llvm::Align(8));
    args.push_back(b.CreateAlignedLoad(j < nb ? ptr : i64, slot, llvm::Align(8)));
  }
  Value* grid = b.CreateZExt(fn->getArg(1), i64);
  Value* block = b.CreateZExt(fn->getArg(2), i64);
  b.CreateCondBr(b.CreateAnd(b.CreateICmpUGT(grid, b.getInt64(0)),
                             b.CreateICmpUGT(block, b.getInt64(0))),
                 blocks, exit);

  b.SetInsertPoint(blocks);
  llvm::PHINode* ctaid = b.CreatePHI(i64, 2, "ctaid");
  ctaid->addIncoming(b.getInt64(0), entry);
  b.CreateBr(threads);

  b.SetInsertPoint(threads);
  llvm::PHINode* tid = b.CreatePHI(i64, 2, "tid");
  tid->addIncoming(b.getInt64(0), blocks);
  std::vector<Value*> call = args;
  call.insert(call.end(), {tid, block, ctaid, grid});
  b.CreateCall(thread, call);
  Value* tidNext = b.CreateNUWAdd(tid, b.getInt64(1));
  tid->addIncoming(tidNext, threads);
  b.CreateCondBr(b.CreateICmpULT(tidNext, block), threads, blockLatch);

  b.SetInsertPoint(blockLatch);
  Value* ctaidNext = b.CreateNUWAdd(ctaid, b.getInt64(1));
  ctaid->addIncoming(ctaidNext, blockLatch);
  b.CreateCondBr(b.CreateICmpULT(ctaidNext, grid), blocks, exit);

  b.SetInsertPoint(exit);
  b.CreateRetVoid();
}

/// Records an index fault, the first one only: a compare-and-swap of the
/// op's `tag` into flag[0] (kernels on one stream run in order, so the
/// earliest op wins), then `value` into flag[1]; continues at `next`.
void recordFault(llvm::IRBuilder<>& b, Value* flag, Value* tag, Value* value,
                 llvm::BasicBlock* next) {
  llvm::Function* fn = b.GetInsertBlock()->getParent();
  Value* swapped = b.CreateExtractValue(
      b.CreateAtomicCmpXchg(flag, b.getInt64(0), tag, llvm::Align(8),
                            llvm::AtomicOrdering::Monotonic, llvm::AtomicOrdering::Monotonic),
      1);
  auto* record = llvm::BasicBlock::Create(b.getContext(), "record", fn);
  b.CreateCondBr(swapped, record, next);
  b.SetInsertPoint(record);
  b.CreateAlignedStore(value, b.CreateConstInBoundsGEP1_64(b.getInt64Ty(), flag, 1),
                       llvm::Align(8));
  b.CreateBr(next);
}


constexpr Arity kRowArity{4, 7}; // x, indices, rows, flag; B, P, A, Q, R, tag, n

/// name.thread for a row kernel (runtime/device/RowKernels.h): the element
/// e = ((b * P + p) * Q + q) * R + r of the rows.
llvm::Function* lowerRowThread(const device::RowKernelDesc& k, llvm::Module& m,
                               const std::string& name) {
  llvm::LLVMContext& ctx = m.getContext();
  llvm::Type* i64 = llvm::Type::getInt64Ty(ctx);
  llvm::Function* fn = newThreadFunction(m, name, kRowArity, /*noAliasPointers=*/false);
  auto arg = [&](size_t j) -> Value* { return fn->getArg(static_cast<unsigned>(j)); };
  Value *x = arg(0), *indices = arg(1), *rows = arg(2), *flag = arg(3);
  Value *P = arg(5), *A = arg(6), *Q = arg(7), *R = arg(8), *tag = arg(9); // B = arg(4) unused

  llvm::Type* elem = nullptr;
  bool isFloatAdd = k.kind == device::RowKernelKind::ScatterAdd && isFloat(k.dtype);
  if (k.dtype == DType::F32 && isFloatAdd) elem = llvm::Type::getFloatTy(ctx);
  else if (k.dtype == DType::F64 && isFloatAdd) elem = llvm::Type::getDoubleTy(ctx);
  else elem = llvm::Type::getIntNTy(ctx, static_cast<unsigned>(8 * dtypeSize(k.dtype)));
  llvm::Type* indexTy = k.indexType == DType::I32 ? llvm::Type::getInt32Ty(ctx) : i64;
  llvm::Align align(static_cast<uint64_t>(dtypeSize(k.dtype)));

  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", fn));
  GridStride g = openGridStride(b, fn, kRowArity);
  auto* bad = llvm::BasicBlock::Create(ctx, "out.of.range", fn);
  auto* good = llvm::BasicBlock::Create(ctx, "in.range", fn);
  llvm::BasicBlock* latch = g.latch;
  Value* e = g.e;
  Value* r = b.CreateURem(e, R, "r");
  Value* t = b.CreateUDiv(e, R);
  Value* q = b.CreateURem(t, Q, "q");
  Value* t2 = b.CreateUDiv(t, Q);
  Value* p = b.CreateURem(t2, P, "p");
  Value* bb = b.CreateUDiv(t2, P, "b");
  Value* at = b.CreateNUWAdd(b.CreateNUWMul(bb, Q), q);
  Value* iv = b.CreateSExt(
      b.CreateAlignedLoad(indexTy, b.CreateInBoundsGEP(indexTy, indices, at),
                          llvm::Align(indexTy->getPrimitiveSizeInBits() / 8)),
      i64, "idx");
  Value* inRange = b.CreateAnd(b.CreateICmpSGE(iv, b.getInt64(0)), b.CreateICmpSLT(iv, A));
  b.CreateCondBr(inRange, good, bad);

  // Skipped and recorded; a gather's element becomes 0.
  b.SetInsertPoint(bad);
  if (k.kind == device::RowKernelKind::Gather)
    b.CreateAlignedStore(llvm::Constant::getNullValue(elem), b.CreateInBoundsGEP(elem, rows, e),
                         align);
  recordFault(b, flag, tag, iv, latch);

  b.SetInsertPoint(good);
  Value* src = b.CreateNUWAdd(
      b.CreateNUWMul(b.CreateNUWAdd(b.CreateNUWMul(b.CreateNUWAdd(b.CreateNUWMul(bb, P), p), A), iv),
                     R),
      r, "x.at");
  Value* xPtr = b.CreateInBoundsGEP(elem, x, src);
  Value* rowPtr = b.CreateInBoundsGEP(elem, rows, e);
  switch (k.kind) {
  case device::RowKernelKind::Gather:
    b.CreateAlignedStore(b.CreateAlignedLoad(elem, xPtr, align), rowPtr, align);
    break;
  case device::RowKernelKind::Scatter:
    b.CreateAlignedStore(b.CreateAlignedLoad(elem, rowPtr, align), xPtr, align);
    break;
  case device::RowKernelKind::ScatterAdd:
    b.CreateAtomicRMW(isFloatAdd ? llvm::AtomicRMWInst::FAdd : llvm::AtomicRMWInst::Add, xPtr,
                      b.CreateAlignedLoad(elem, rowPtr, align), align,
                      llvm::AtomicOrdering::Monotonic);
    break;
  case device::RowKernelKind::Slice:
  case device::RowKernelKind::UpdateSlice:
  case device::RowKernelKind::ReduceSum:
  case device::RowKernelKind::Argmax:
  case device::RowKernelKind::Strided:
  case device::RowKernelKind::Iota: break; // the other lower*Thread functions'
  }
  b.CreateBr(latch);
  closeGridStride(b, g);
  return fn;
}

constexpr Arity kSliceArity{3 + device::kMaxSliceRank, 2 * device::kMaxSliceRank + 2};

/// name.thread for a slice kernel: element e of the slice (sizes S) at
/// x's element start + unravel(e, S).
llvm::Function* lowerSliceThread(const device::RowKernelDesc& k, llvm::Module& m,
                                 const std::string& name) {
  constexpr size_t R = device::kMaxSliceRank;
  llvm::LLVMContext& ctx = m.getContext();
  llvm::Type* i64 = llvm::Type::getInt64Ty(ctx);
  llvm::Function* fn = newThreadFunction(m, name, kSliceArity, /*noAliasPointers=*/false);
  auto arg = [&](size_t j) -> Value* { return fn->getArg(static_cast<unsigned>(j)); };
  Value *x = arg(0), *rows = arg(1), *flag = arg(2 + R);
  const size_t sc = kSliceArity.pointers; // first scalar
  Value* tag = arg(sc + 2 * R);
  llvm::Type* elem = llvm::Type::getIntNTy(ctx, static_cast<unsigned>(8 * dtypeSize(k.dtype)));
  llvm::Align align(static_cast<uint64_t>(dtypeSize(k.dtype)));
  llvm::Type* indexTy = k.indexType == DType::I32 ? llvm::Type::getInt32Ty(ctx) : i64;

  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", fn));
  // The starts (null: 0) and whether each fits, once per thread.
  std::vector<Value*> starts;
  Value* fits = b.getTrue();
  Value* firstBad = b.getInt64(0);
  for (size_t d = 0; d < R; ++d) {
    Value* p = arg(2 + d);
    auto* load = llvm::BasicBlock::Create(ctx, fmt::format("start{}", d), fn);
    auto* join = llvm::BasicBlock::Create(ctx, fmt::format("start{}.join", d), fn);
    llvm::BasicBlock* from = b.GetInsertBlock();
    b.CreateCondBr(b.CreateIsNull(p), join, load);
    b.SetInsertPoint(load);
    Value* v = b.CreateSExt(
        b.CreateAlignedLoad(indexTy, p, llvm::Align(indexTy->getPrimitiveSizeInBits() / 8)), i64);
    b.CreateBr(join);
    b.SetInsertPoint(join);
    llvm::PHINode* st = b.CreatePHI(i64, 2, fmt::format("s{}", d));
    st->addIncoming(b.getInt64(0), from);
    st->addIncoming(v, load);
    starts.push_back(st);
    Value* dim = arg(sc + d);
    Value* size = arg(sc + R + d);
    Value* ok = b.CreateAnd(b.CreateICmpSGE(st, b.getInt64(0)),
                            b.CreateICmpSLE(b.CreateAdd(st, size), dim));
    firstBad = b.CreateSelect(b.CreateAnd(fits, b.CreateNot(ok)), st, firstBad);
    fits = b.CreateAnd(fits, ok);
  }
  GridStride g = openGridStride(b, fn, kSliceArity);
  auto* bad = llvm::BasicBlock::Create(ctx, "out.of.range", fn);
  auto* good = llvm::BasicBlock::Create(ctx, "in.range", fn);
  llvm::BasicBlock* latch = g.latch;
  Value* e = g.e;
  b.CreateCondBr(fits, good, bad);

  b.SetInsertPoint(bad);
  if (k.kind == device::RowKernelKind::Slice)
    b.CreateAlignedStore(llvm::Constant::getNullValue(elem), b.CreateInBoundsGEP(elem, rows, e),
                         align);
  recordFault(b, flag, tag, firstBad, latch);

  // x's element: row-major over D of (start + unravel(e, S)).
  b.SetInsertPoint(good);
  Value* rest = e;
  std::vector<Value*> coord(R);
  for (size_t d = R; d-- > 0;) {
    Value* size = arg(sc + R + d);
    coord[d] = b.CreateURem(rest, size);
    rest = b.CreateUDiv(rest, size);
  }
  Value* at = b.getInt64(0);
  for (size_t d = 0; d < R; ++d)
    at = b.CreateAdd(b.CreateMul(at, arg(sc + d)), b.CreateAdd(coord[d], starts[d]));
  Value* xPtr = b.CreateInBoundsGEP(elem, x, at);
  Value* rowPtr = b.CreateInBoundsGEP(elem, rows, e);
  if (k.kind == device::RowKernelKind::Slice)
    b.CreateAlignedStore(b.CreateAlignedLoad(elem, xPtr, align), rowPtr, align);
  else
    b.CreateAlignedStore(b.CreateAlignedLoad(elem, rowPtr, align), xPtr, align);
  b.CreateBr(latch);

  closeGridStride(b, g);
  return fn;
}

constexpr Arity kReduceArity{2, 4}; // x, out; P, A, R, n

/// name.thread for a reduction: result e = p * R + r over x[p, 0..A, r].
llvm::Function* lowerReduceThread(const device::RowKernelDesc& k, llvm::Module& m,
                                  const std::string& name) {
  llvm::LLVMContext& ctx = m.getContext();
  llvm::Type* i64 = llvm::Type::getInt64Ty(ctx);
  llvm::Function* fn = newThreadFunction(m, name, kReduceArity, /*noAliasPointers=*/false);
  auto arg = [&](size_t j) -> Value* { return fn->getArg(static_cast<unsigned>(j)); };
  Value *x = arg(0), *out = arg(1), *A = arg(3), *R = arg(4);
  const bool sum = k.kind == device::RowKernelKind::ReduceSum;
  const bool isF = isFloat(k.dtype);
  llvm::Type* elem = k.dtype == DType::F32   ? llvm::Type::getFloatTy(ctx)
                     : k.dtype == DType::F64 ? llvm::Type::getDoubleTy(ctx)
                                             : llvm::Type::getIntNTy(ctx, static_cast<unsigned>(
                                                                              8 * dtypeSize(k.dtype)));
  llvm::Align align(static_cast<uint64_t>(dtypeSize(k.dtype)));
  llvm::Type* dbl = llvm::Type::getDoubleTy(ctx);

  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", fn));
  GridStride g = openGridStride(b, fn, kReduceArity);
  llvm::BasicBlock* body = b.GetInsertBlock();
  auto* loop = llvm::BasicBlock::Create(ctx, "reduce", fn);
  auto* done = llvm::BasicBlock::Create(ctx, "reduced", fn);
  Value* e = g.e;
  Value* r = b.CreateURem(e, R);
  Value* p = b.CreateUDiv(e, R);
  Value* base = b.CreateNUWAdd(b.CreateNUWMul(b.CreateNUWMul(p, A), R), r);
  auto at = [&](Value* a) {
    return b.CreateAlignedLoad(elem, b.CreateInBoundsGEP(elem, x, b.CreateNUWAdd(base, b.CreateNUWMul(a, R))),
                               align);
  };
  // sum: acc (f64) from 0 over a in [0, A); argmax: best value x[0], a from 1.
  Value* first = sum ? b.getInt64(0) : b.getInt64(1);
  Value* init = sum ? static_cast<Value*>(llvm::ConstantFP::get(dbl, 0.0)) : at(b.getInt64(0));
  Value* enter = b.CreateICmpSLT(first, A);
  if (!sum && isF) enter = b.CreateAnd(enter, b.CreateFCmpORD(init, init)); // x[0] NaN: it stays
  b.CreateCondBr(enter, loop, done);

  b.SetInsertPoint(loop);
  llvm::PHINode* a = b.CreatePHI(i64, 2, "a");
  llvm::PHINode* acc = b.CreatePHI(init->getType(), 2, "acc");
  llvm::PHINode* best = b.CreatePHI(i64, 2, "best");
  a->addIncoming(first, body);
  acc->addIncoming(init, body);
  best->addIncoming(b.getInt64(0), body);
  Value* v = at(a);
  Value *nextAcc = nullptr, *nextBest = best, *more = nullptr;
  Value* aNext = b.CreateNUWAdd(a, b.getInt64(1));
  if (sum) {
    nextAcc = b.CreateFAdd(acc, k.dtype == DType::F32 ? b.CreateFPExt(v, dbl) : v);
    more = b.CreateICmpSLT(aNext, A);
  } else {
    // The first maximum; a NaN is the maximum, and the first NaN stays.
    Value* better = isF ? b.CreateOr(b.CreateFCmpOGT(v, acc), b.CreateFCmpUNO(v, v))
                        : b.CreateICmpSGT(v, acc);
    nextAcc = b.CreateSelect(better, v, acc);
    nextBest = b.CreateSelect(better, a, best);
    more = b.CreateICmpSLT(aNext, A);
    if (isF) more = b.CreateAnd(more, b.CreateFCmpORD(nextAcc, nextAcc));
  }
  a->addIncoming(aNext, loop);
  acc->addIncoming(nextAcc, loop);
  best->addIncoming(nextBest, loop);
  b.CreateCondBr(more, loop, done);

  b.SetInsertPoint(done);
  llvm::PHINode* accOut = b.CreatePHI(init->getType(), 2, "acc.out");
  accOut->addIncoming(init, body);
  accOut->addIncoming(nextAcc, loop);
  llvm::PHINode* bestOut = b.CreatePHI(i64, 2, "best.out");
  bestOut->addIncoming(b.getInt64(0), body);
  bestOut->addIncoming(nextBest, loop);
  if (sum) {
    Value* rounded = k.dtype == DType::F32 ? b.CreateFPTrunc(accOut, elem) : accOut;
    b.CreateAlignedStore(rounded, b.CreateInBoundsGEP(elem, out, e), align);
  } else {
    llvm::Type* indexTy = k.indexType == DType::I32 ? llvm::Type::getInt32Ty(ctx) : i64;
    b.CreateAlignedStore(b.CreateTrunc(bestOut, indexTy), b.CreateInBoundsGEP(indexTy, out, e),
                         llvm::Align(indexTy->getPrimitiveSizeInBits() / 8));
  }
  b.CreateBr(g.latch);
  closeGridStride(b, g);
  return fn;
}

constexpr Arity kStridedArity{2, 2 * device::kMaxStridedRank + 1}; // x, out; D.., S.., n

/// name.thread for a strided copy: out[e] = x[unravel(e, D) . S].
llvm::Function* lowerStridedThread(const device::RowKernelDesc& k, llvm::Module& m,
                                   const std::string& name) {
  constexpr size_t R = device::kMaxStridedRank;
  llvm::LLVMContext& ctx = m.getContext();
  llvm::Function* fn = newThreadFunction(m, name, kStridedArity, /*noAliasPointers=*/true);
  auto arg = [&](size_t j) -> Value* { return fn->getArg(static_cast<unsigned>(j)); };
  const size_t sc = kStridedArity.pointers;
  llvm::Type* elem = llvm::Type::getIntNTy(ctx, static_cast<unsigned>(8 * dtypeSize(k.dtype)));
  llvm::Align align(static_cast<uint64_t>(dtypeSize(k.dtype)));
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", fn));
  GridStride g = openGridStride(b, fn, kStridedArity);
  Value* rest = g.e;
  Value* at = b.getInt64(0);
  for (size_t d = R; d-- > 0;) {
    Value* dim = arg(sc + d);
    at = b.CreateNUWAdd(at, b.CreateNUWMul(b.CreateURem(rest, dim), arg(sc + R + d)));
    rest = b.CreateUDiv(rest, dim);
  }
  Value* v = b.CreateAlignedLoad(elem, b.CreateInBoundsGEP(elem, arg(0), at), align);
  b.CreateAlignedStore(v, b.CreateInBoundsGEP(elem, arg(1), g.e), align);
  b.CreateBr(g.latch);
  closeGridStride(b, g);
  return fn;
}

constexpr Arity kIotaArity{1, 3}; // out; A, R, n

/// name.thread for iota: out[e] = (e / R) mod A in the result's dtype.
llvm::Function* lowerIotaThread(const device::RowKernelDesc& k, llvm::Module& m,
                                const std::string& name) {
  llvm::LLVMContext& ctx = m.getContext();
  llvm::Function* fn = newThreadFunction(m, name, kIotaArity, /*noAliasPointers=*/true);
  auto arg = [&](size_t j) -> Value* { return fn->getArg(static_cast<unsigned>(j)); };
  llvm::Type* elem = k.dtype == DType::F32   ? llvm::Type::getFloatTy(ctx)
                     : k.dtype == DType::F64 ? llvm::Type::getDoubleTy(ctx)
                                             : llvm::Type::getIntNTy(ctx, static_cast<unsigned>(
                                                                              8 * dtypeSize(k.dtype)));
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", fn));
  GridStride g = openGridStride(b, fn, kIotaArity);
  Value* a = b.CreateURem(b.CreateUDiv(g.e, arg(2)), arg(1));
  Value* v = isFloat(k.dtype) ? b.CreateSIToFP(a, elem) : b.CreateTrunc(a, elem);
  b.CreateAlignedStore(v, b.CreateInBoundsGEP(elem, arg(0), g.e),
                       llvm::Align(static_cast<uint64_t>(dtypeSize(k.dtype))));
  b.CreateBr(g.latch);
  closeGridStride(b, g);
  return fn;
}

/// Adds every row kernel to `m`, each with an entry for the GPU or the host
/// named `prefix` + its rowKernelName.
void addRowKernels(llvm::Module& module, const std::vector<device::RowKernelDesc>& kernels,
                   bool forHost, const std::string& prefix) {
  llvm::Module* m = &module;
  for (const device::RowKernelDesc& k : kernels) {
    std::string name = prefix + device::rowKernelName(k);
    bool slice =
        k.kind == device::RowKernelKind::Slice || k.kind == device::RowKernelKind::UpdateSlice;
    bool reduce =
        k.kind == device::RowKernelKind::ReduceSum || k.kind == device::RowKernelKind::Argmax;
    bool strided = k.kind == device::RowKernelKind::Strided;
    bool iota = k.kind == device::RowKernelKind::Iota;
    llvm::Function* thread = slice     ? lowerSliceThread(k, *m, name)
                             : reduce  ? lowerReduceThread(k, *m, name)
                             : strided ? lowerStridedThread(k, *m, name)
                             : iota    ? lowerIotaThread(k, *m, name)
                                       : lowerRowThread(k, *m, name);
    Arity arity = slice     ? kSliceArity
                  : reduce  ? kReduceArity
                  : strided ? kStridedArity
                  : iota    ? kIotaArity
                            : kRowArity;
    if (forHost)
      addHostEntry(arity, *m, thread, name);
    else
      addNvptxKernel(arity, *m, thread, name);
  }
}

/// A module of every row kernel with entries for the GPU or the host.
std::unique_ptr<llvm::Module> buildRowModule(llvm::LLVMContext& ctx,
                                             const std::vector<device::RowKernelDesc>& kernels,
                                             bool forHost) {
  auto m = std::make_unique<llvm::Module>("cairn_row_kernels", ctx);
  addRowKernels(*m, kernels, forHost, "");
  return m;
}

/// Adds `kernels` to `m`, `kernels[j]` with an entry for the GPU or the host
/// named `names[j]`.
Status addKernels(llvm::Module& m, const std::vector<KernelDesc>& kernels,
                  const std::vector<std::string>& names, bool forHost) {
  if (kernels.size() != names.size())
    return errorf("{} kernels but {} names", kernels.size(), names.size());
  for (size_t j = 0; j < kernels.size(); ++j) {
    CAIRN_ASSIGN_OR_RETURN(llvm::Function * thread, lowerThreadFunction(kernels[j], m, names[j]));
    if (forHost)
      addHostEntry(arityOf(kernels[j]), m, thread, names[j]);
    else
      addNvptxKernel(arityOf(kernels[j]), m, thread, names[j]);
  }
  return Status::ok();
}

/// A module of `kernels` with entries for the GPU or the host.
StatusOr<std::unique_ptr<llvm::Module>> buildModule(llvm::LLVMContext& ctx,
                                                    const std::vector<KernelDesc>& kernels,
                                                    const std::vector<std::string>& names,
                                                    bool forHost) {
  auto m = std::make_unique<llvm::Module>("cairn_device_kernels", ctx);
  CAIRN_RETURN_IF_ERROR(addKernels(*m, kernels, names, forHost));
  return m;
}

bool initializeNvptx() {
  static const bool ok = [] {
    LLVMInitializeNVPTXTargetInfo();
    LLVMInitializeNVPTXTarget();
    LLVMInitializeNVPTXTargetMC();
    LLVMInitializeNVPTXAsmPrinter();
    return true;
  }();
  return ok;
}

} // namespace

Status checkDeviceLowerable(const KernelDesc& k) { return cpu::checkLowerable(k); }

Status addHostEntries(llvm::Module& m, const std::vector<KernelDesc>& kernels,
                      const std::vector<std::string>& names) {
  return addKernels(m, kernels, names, /*forHost=*/true);
}

void addRowHostEntries(llvm::Module& m, const std::string& prefix) {
  addRowKernels(m, device::allRowKernels(), /*forHost=*/true, prefix);
}

StatusOr<std::string> deviceModuleIR(const std::vector<KernelDesc>& kernels,
                                     const std::vector<std::string>& names, bool forHost) {
  llvm::LLVMContext ctx;
  CAIRN_ASSIGN_OR_RETURN(auto m, buildModule(ctx, kernels, names, forHost));
  std::string text;
  llvm::raw_string_ostream os(text);
  m->print(os, nullptr);
  return text;
}

namespace {

/// Optimizes `build`'s module for `arch` and prints it as PTX.
StatusOr<std::string> modulePtx(
    const std::string& arch,
    const std::function<StatusOr<std::unique_ptr<llvm::Module>>(llvm::LLVMContext&)>& build) {
  initializeNvptx();
  std::string error;
  const llvm::Target* target = llvm::TargetRegistry::lookupTarget(kNvptxTriple, error);
  if (!target) return errorf("LLVM has no NVPTX backend: {}", error);
  if (arch.rfind("sm_", 0) != 0) return errorf("unknown GPU architecture '{}' (try sm_80)", arch);
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      kNvptxTriple, arch, "", llvm::TargetOptions(), std::nullopt, std::nullopt,
      llvm::CodeGenOptLevel::Aggressive));
  if (!tm) return errorf("LLVM's NVPTX backend does not know '{}'", arch);
  llvm::LLVMContext ctx;
  CAIRN_ASSIGN_OR_RETURN(auto m, build(ctx));
  m->setTargetTriple(kNvptxTriple);
  m->setDataLayout(tm->createDataLayout());
  cpu::optimizeModule(*m, *tm, 3);
  llvm::SmallString<0> ptx;
  llvm::raw_svector_ostream os(ptx);
  llvm::legacy::PassManager pm;
  if (tm->addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::AssemblyFile))
    return errorf("LLVM's NVPTX backend cannot emit PTX for {}", arch);
  pm.run(*m);
  return std::string(ptx.str());
}

} // namespace

StatusOr<std::string> emitPtx(const std::vector<KernelDesc>& kernels,
                              const std::vector<std::string>& names, const std::string& arch) {
  return modulePtx(arch, [&](llvm::LLVMContext& ctx) {
    return buildModule(ctx, kernels, names, /*forHost=*/false);
  });
}

StatusOr<std::string> emitRowKernelsPtx(const std::string& arch) {
  return modulePtx(arch, [&](llvm::LLVMContext& ctx) -> StatusOr<std::unique_ptr<llvm::Module>> {
    return buildRowModule(ctx, device::allRowKernels(), /*forHost=*/false);
  });
}

struct EmulatedKernelCompiler::Impl {
  std::unique_ptr<llvm::orc::LLJIT> jit;
  std::mutex mutex;
  std::unordered_map<KernelDesc, device::EmulatedKernelFn, KernelDescHash> cache;
  std::vector<device::EmulatedKernelFn> rowKernels; ///< allRowKernels()' order, once made
  int64_t nextId = 0;

  /// Optimizes `m` for the host, adds it to the JIT and looks up `names`.
  StatusOr<std::vector<device::EmulatedKernelFn>> add(std::unique_ptr<llvm::Module> m,
                                                      std::unique_ptr<llvm::LLVMContext> ctx,
                                                      const std::vector<std::string>& names) {
    auto jtmb = llvm::orc::JITTargetMachineBuilder::detectHost();
    if (!jtmb) return errorf("emulated device: {}", llvm::toString(jtmb.takeError()));
    auto tm = jtmb->createTargetMachine();
    if (!tm) return errorf("emulated device: {}", llvm::toString(tm.takeError()));
    m->setDataLayout(jit->getDataLayout());
    m->setTargetTriple(jit->getTargetTriple().str());
    cpu::optimizeModule(*m, **tm, 2);
    if (auto err = jit->addIRModule(llvm::orc::ThreadSafeModule(std::move(m), std::move(ctx))))
      return errorf("emulated device: {}", llvm::toString(std::move(err)));
    std::vector<device::EmulatedKernelFn> fns;
    for (const std::string& name : names) {
      auto sym = jit->lookup(name);
      if (!sym) return errorf("emulated device: {}", llvm::toString(sym.takeError()));
      fns.push_back(sym->toPtr<device::EmulatedKernelFn>());
    }
    return fns;
  }
};

EmulatedKernelCompiler::EmulatedKernelCompiler(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
EmulatedKernelCompiler::~EmulatedKernelCompiler() = default;

StatusOr<std::unique_ptr<EmulatedKernelCompiler>> EmulatedKernelCompiler::create() {
  if (llvm::InitializeNativeTarget() || llvm::InitializeNativeTargetAsmPrinter())
    return Status::error("no native LLVM target on this host for the emulated device");
  auto jit = llvm::orc::LLJITBuilder().create();
  if (!jit) return errorf("cannot create the emulated device's JIT: {}", llvm::toString(jit.takeError()));
  auto impl = std::make_unique<Impl>();
  impl->jit = std::move(*jit);
  return std::unique_ptr<EmulatedKernelCompiler>(new EmulatedKernelCompiler(std::move(impl)));
}

StatusOr<device::EmulatedKernelFn> EmulatedKernelCompiler::compile(const KernelDesc& k) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  if (auto it = impl_->cache.find(k); it != impl_->cache.end()) return it->second;
  std::string name = fmt::format("cairn_emulated_{}", impl_->nextId++);
  auto ctx = std::make_unique<llvm::LLVMContext>();
  CAIRN_ASSIGN_OR_RETURN(auto m, buildModule(*ctx, {k}, {name}, /*forHost=*/true));
  CAIRN_ASSIGN_OR_RETURN(auto fns, impl_->add(std::move(m), std::move(ctx), {name}));
  impl_->cache.emplace(k, fns[0]);
  return fns[0];
}

StatusOr<std::vector<device::EmulatedKernelFn>> EmulatedKernelCompiler::rowKernels() {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  if (impl_->rowKernels.empty()) {
    auto ctx = std::make_unique<llvm::LLVMContext>();
    auto m = buildRowModule(*ctx, device::allRowKernels(), /*forHost=*/true);
    std::vector<std::string> names;
    for (const device::RowKernelDesc& k : device::allRowKernels())
      names.push_back(device::rowKernelName(k));
    CAIRN_ASSIGN_OR_RETURN(impl_->rowKernels, impl_->add(std::move(m), std::move(ctx), names));
  }
  return impl_->rowKernels;
}

StatusOr<EmulatedKernelCompiler*> sharedEmulatedKernelCompiler() {
  // Leaked on purpose, as the CPU JIT: kernels may run until exit.
  static StatusOr<EmulatedKernelCompiler*> shared = []() -> StatusOr<EmulatedKernelCompiler*> {
    auto made = EmulatedKernelCompiler::create();
    if (!made.isOk()) return made.status();
    return std::move(*made).release();
  }();
  return shared;
}

} // namespace cairn::codegen::cuda
