// compileAotForDevice: compileForDevice's lowering, its PTX (and cubins),
// and the emulated device's host entries, written as one object with a
// cairn_aot_device descriptor (CompileAotDevice.h).
#include "compiler/codegen/cuda/CompileAotDevice.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <optional>

#include <llvm/IR/Constants.h>
#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/GlobalVariable.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>

#include "compiler/codegen/ElapsedMs.h"
#include "compiler/codegen/Subprocess.h"
#include "compiler/codegen/cpu/AotObject.h"
#include "compiler/codegen/cuda/CompileForDevice.h"
#include "compiler/codegen/cuda/LowerToDevice.h"
#include "ir/Printer.h"
#include "runtime/exec/ProgramFormat.h"

namespace cairn::codegen::cuda {
namespace {

/// One module's code for one architecture.
struct ArchCode {
  std::string arch, ptx, cubin; ///< cubin empty without ptxas
};

/// `ptx` assembled by `ptxas` for `arch` (in `dir`, as `stem`.cubin).
StatusOr<std::string> assemble(const std::string& ptxas, const std::string& ptx,
                               const std::string& arch, const std::string& dir,
                               const std::string& stem) {
  std::string in = fmt::format("{}/{}.ptx", dir, stem), out = fmt::format("{}/{}.cubin", dir, stem);
  {
    std::ofstream f(in, std::ios::binary);
    f << ptx;
    if (!f) return errorf("cannot write {}", in);
  }
  CAIRN_RETURN_IF_ERROR(runCommand({ptxas, "-arch=" + arch, "-O3", "-o", out, in}));
  std::ifstream f(out, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (bytes.empty()) return errorf("ptxas wrote no cubin for {}", arch);
  return bytes;
}

/// A cairn_aot_device_code per architecture, as a private array.
llvm::Constant* codeTable(llvm::Module& m, const std::vector<ArchCode>& codes,
                          const std::string& name) {
  llvm::LLVMContext& ctx = m.getContext();
  llvm::Type* ptr = llvm::PointerType::getUnqual(ctx);
  llvm::Type* i64 = llvm::Type::getInt64Ty(ctx);
  // Field by field as cairn_aot_device_code in runtime/capi/cairn.h.
  auto* ty = llvm::StructType::get(ctx, {ptr, ptr, i64, ptr, i64});
  std::vector<llvm::Constant*> rows;
  for (size_t j = 0; j < codes.size(); ++j) {
    const ArchCode& c = codes[j];
    std::string stem = fmt::format("{}_{}", name, c.arch);
    llvm::Constant* cubin = c.cubin.empty()
                                ? llvm::ConstantPointerNull::get(llvm::PointerType::getUnqual(ctx))
                                : cpu::bytesGlobal(m, c.cubin, stem + "_cubin");
    rows.push_back(llvm::ConstantStruct::get(ty, {cpu::bytesGlobal(m, c.arch, stem + "_arch"),
                                                  cpu::bytesGlobal(m, c.ptx, stem + "_ptx"),
                                                  llvm::ConstantInt::get(i64, c.ptx.size()), cubin,
                                                  llvm::ConstantInt::get(i64, c.cubin.size())}));
  }
  return cpu::arrayGlobal(m, ty, rows, name);
}

} // namespace

std::string defaultPtxas() {
#ifdef CAIRN_PTXAS
  std::error_code ec;
  if (std::filesystem::exists(CAIRN_PTXAS, ec)) return CAIRN_PTXAS;
#endif
  return "";
}

StatusOr<std::string> compileAotForDevice(const Module& m, const DeviceAotOptions& o,
                                          const std::string& objectPath, DeviceAotReport* report) {
  DeviceAotReport local;
  DeviceAotReport& r = report ? *report : local;
  r = DeviceAotReport();
  const std::string& prefix = o.aot.prefix;
  if (!cpu::isCIdentifier(prefix)) return errorf("prefix '{}' is not a C identifier", prefix);
  if (o.architectures.empty()) return Status::error("no GPU architecture to compile for");
  DeviceCompileOptions dopts;
  dopts.architectures = o.architectures;
  DeviceCompileReport dr;
  CAIRN_ASSIGN_OR_RETURN(DeviceLowering lowered, lowerForDevice(m, dopts, dr));
  r.passesMs = dr.passesMs;
  r.lowerMs = dr.lowerMs;

  auto t0 = std::chrono::steady_clock::now();
  // The device code: per architecture, the model's kernels and the row
  // kernels, the same PTX compileForDevice loads.
  const std::vector<KernelDesc>& kernels = lowered.kernels;
  std::vector<std::string> names = deviceKernelNames(kernels.size());
  std::vector<ArchCode> kernelCode, rowCode;
  std::optional<TempDir> dir;
  if (!o.ptxas.empty()) {
    CAIRN_ASSIGN_OR_RETURN(TempDir made, TempDir::create("cairn-ptxas"));
    dir.emplace(std::move(made));
  }
  for (const std::string& arch : o.architectures) {
    ArchCode k{arch, "", ""}, rows{arch, "", ""};
    if (!kernels.empty()) {
      StatusOr<std::string> ptx = emitPtx(kernels, names, arch);
      if (!ptx.isOk()) return errorf("compile error: {}", ptx.status().message());
      k.ptx = std::move(*ptx);
    }
    StatusOr<std::string> rowPtx = emitRowKernelsPtx(arch);
    if (!rowPtx.isOk()) return errorf("compile error: {}", rowPtx.status().message());
    rows.ptx = std::move(*rowPtx);
    if (dir) {
      if (!k.ptx.empty()) {
        CAIRN_ASSIGN_OR_RETURN(k.cubin, assemble(o.ptxas, k.ptx, arch, dir->path(), "kernels"));
        ++r.cubins;
      }
      CAIRN_ASSIGN_OR_RETURN(rows.cubin, assemble(o.ptxas, rows.ptx, arch, dir->path(), "rows"));
      ++r.cubins;
    }
    kernelCode.push_back(std::move(k));
    rowCode.push_back(std::move(rows));
  }

  // The host side: the emulated device's entries and the descriptor.
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<llvm::TargetMachine> tm, cpu::makeAotTargetMachine(o.aot));
  llvm::LLVMContext ctx;
  llvm::Module lm(prefix, ctx);
  lm.setDataLayout(tm->createDataLayout());
  lm.setTargetTriple(tm->getTargetTriple().str());
  std::vector<std::string> hostNames;
  for (size_t j = 0; j < kernels.size(); ++j)
    hostNames.push_back(fmt::format("{}_emulated_kernel_{}", prefix, j));
  CAIRN_RETURN_IF_ERROR(addHostEntries(lm, kernels, hostNames));
  std::string rowPrefix = prefix + "_emulated_";
  addRowHostEntries(lm, rowPrefix);
  // Reached only through the descriptor's tables: two models' objects link
  // side by side.
  for (llvm::Function& f : lm.functions())
    if (!f.isDeclaration()) f.setLinkage(llvm::GlobalValue::InternalLinkage);
  llvm::Type* ptr = llvm::PointerType::getUnqual(ctx);
  llvm::Type* i64 = llvm::Type::getInt64Ty(ctx);
  std::vector<llvm::Constant*> emulated, emulatedRows, prints, opKernels;
  for (size_t j = 0; j < kernels.size(); ++j) {
    emulated.push_back(lm.getFunction(hostNames[j]));
    prints.push_back(llvm::ConstantInt::get(i64, kernelFingerprint(kernels[j])));
  }
  for (const device::RowKernelDesc& k : device::allRowKernels())
    emulatedRows.push_back(lm.getFunction(rowPrefix + device::rowKernelName(k)));
  std::vector<const Op*> ops = exec::opsInOrder(*lowered.module);
  for (size_t pos = 0; pos < ops.size(); ++pos)
    if (auto it = lowered.opKernels.find(ops[pos]); it != lowered.opKernels.end()) {
      opKernels.push_back(llvm::ConstantInt::get(i64, static_cast<int64_t>(pos)));
      opKernels.push_back(llvm::ConstantInt::get(i64, it->second));
    }
  // Field by field as cairn_aot_device in runtime/capi/cairn.h.
  auto* deviceTy = llvm::StructType::get(ctx, {i64, ptr, ptr, ptr, i64, ptr, i64, ptr});
  llvm::Constant* deviceDesc = llvm::ConstantStruct::get(
      deviceTy, {llvm::ConstantInt::get(i64, o.architectures.size()),
                 codeTable(lm, kernelCode, prefix + "_device_kernels"),
                 codeTable(lm, rowCode, prefix + "_device_rows"),
                 cpu::arrayGlobal(lm, ptr, emulated, prefix + "_emulated_kernels"),
                 llvm::ConstantInt::get(i64, emulatedRows.size()),
                 cpu::arrayGlobal(lm, ptr, emulatedRows, prefix + "_emulated_rows"),
                 llvm::ConstantInt::get(i64, opKernels.size() / 2),
                 cpu::arrayGlobal(lm, i64, opKernels, prefix + "_op_kernels")});
  auto* deviceG = new llvm::GlobalVariable(lm, deviceTy, true, llvm::GlobalValue::PrivateLinkage,
                                           deviceDesc, prefix + "_device");
  cpu::AotContents contents;
  contents.moduleText = printModule(*lowered.module);
  // The programs refer to ops by position, which the text read back keeps.
  contents.programBytes = exec::writePrograms(lowered.programs, *lowered.module);
  contents.numKernels = kernels.size();
  contents.fingerprints = cpu::arrayGlobal(lm, i64, prints, prefix + "_fingerprints");
  contents.device = deviceG;
  cpu::addAotDescriptor(lm, *tm, o.aot, contents);
  CAIRN_RETURN_IF_ERROR(cpu::emitAotObject(lm, *tm, o.aot.optLevel, objectPath));
  r.codegenMs = msSince(t0);
  r.kernels = static_cast<int>(kernels.size());
  r.functions = static_cast<int>(lowered.module->functions().size());
  r.targetCpu = tm->getTargetCPU().str();
  r.targetFeatures = tm->getTargetFeatureString().str();
  r.architectures = static_cast<int>(o.architectures.size());
  r.rowKernels = static_cast<int>(emulatedRows.size());
  r.opKernels = static_cast<int>(opKernels.size() / 2);
  return cpu::aotHeader(*lowered.module, prefix);
}

} // namespace cairn::codegen::cuda
