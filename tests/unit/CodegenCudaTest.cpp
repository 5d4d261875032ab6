// The CUDA backend's kernels (compiler/codegen/cuda/LowerToDevice.h) without
// a GPU: every kernel runs on the emulated device (the same per-thread LLVM
// function as the GPU's, block and thread indices as host loops) and must
// match the reference interpreter, and the CPU backend bit for bit; and the
// PTX of every kernel, for sm_80 and sm_90, must pass ptxas.
#include "CodegenTestUtil.h"
#include "CudaTestUtil.h"

#include <random>

#include "compiler/codegen/cuda/LowerToDevice.h"
#include "runtime/device/Device.h"
#include "runtime/exec/KernelShape.h"

namespace cairn {
namespace {

using codegentest::fusionFunction;
using codegentest::sameElements;
using codegentest::specialTensor;

#define CAIRN_SKIP_WITHOUT_EMULATOR()                                                              \
  do {                                                                                             \
    if (!codegen::cuda::sharedEmulatedKernelCompiler().isOk())                                     \
      GTEST_SKIP() << "no host JIT for the emulated device: "                                      \
                   << codegen::cuda::sharedEmulatedKernelCompiler().status().message();            \
  } while (0)

/// Runs `k` on `dev` as the GPU backend will: device buffers, inputs copied
/// in, run-time extents evaluated on the host, one launch, outputs copied out.
StatusOr<std::vector<Tensor>> runOnDevice(device::Device& dev, const codegen::KernelDesc& k,
                                          const std::vector<Tensor>& inputs,
                                          const device::LaunchConfig* config = nullptr) {
  CAIRN_ASSIGN_OR_RETURN(auto* compiler, codegen::cuda::sharedEmulatedKernelCompiler());
  CAIRN_ASSIGN_OR_RETURN(device::EmulatedKernelFn fn, compiler->compile(k));
  CAIRN_ASSIGN_OR_RETURN(device::KernelHandle handle, dev.load({"kernel", {}, fn}));
  std::vector<const Tensor*> in;
  for (const Tensor& t : inputs)
    in.push_back(&t);
  exec::KernelExtents extents;
  if (!k.shape.isStatic() && !exec::evaluateKernelShape(k.shape, in, extents))
    return Status::error("the inputs' shapes do not fit the kernel");
  std::vector<Tensor> outputs;
  for (size_t j = 0; j < k.outputs.size(); ++j)
    outputs.emplace_back(k.shape.isStatic() ? k.outputs[j].type
                                            : TensorType(k.outputs[j].type.dtype,
                                                         extents.outputs[j]));
  std::vector<void*> buffers;
  auto deviceCopy = [&](const Tensor& t) -> Status {
    CAIRN_ASSIGN_OR_RETURN(void* p, dev.allocate(static_cast<size_t>(t.byteSize())));
    buffers.push_back(p);
    return dev.copyToDevice(p, t.rawData(), static_cast<size_t>(t.byteSize()));
  };
  for (const Tensor& t : inputs)
    CAIRN_RETURN_IF_ERROR(deviceCopy(t));
  for (const Tensor& t : outputs)
    CAIRN_RETURN_IF_ERROR(deviceCopy(t));
  int64_t n = codegen::isParam(k.numElements)
                  ? extents.params.at(static_cast<size_t>(codegen::paramOf(k.numElements)))
                  : k.numElements;
  Status launched = device::launchElementwise(dev, handle, buffers, extents.params, n, config);
  for (size_t j = 0; j < outputs.size() && launched.isOk(); ++j)
    launched = dev.copyToHost(outputs[j].rawData(), buffers[inputs.size() + j],
                              static_cast<size_t>(outputs[j].byteSize()));
  for (void* p : buffers)
    dev.release(p);
  CAIRN_RETURN_IF_ERROR(launched);
  return outputs;
}

Tensor randomTensor(const TensorType& t, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, 2.0);
  Tensor x(t);
  for (int64_t i = 0; i < x.numElements(); ++i)
    x.setDouble(i, normal(rng));
  return x;
}

codegen::KernelDesc describeOk(const Module& m) {
  auto k = codegen::describeKernel(*codegentest::firstFusion(m));
  CAIRN_CHECK(k.isOk(), "{}", k.status().message());
  return *k;
}

/// Runs the fusion of `text` on the emulated device with a few launch shapes
/// (one block, a grid smaller than the work, the default), compares with the
/// interpreter (within maxUlp) and with the CPU backend (bit for bit).
void expectDeviceMatches(const std::string& text, const std::vector<Tensor>& inputs,
                         double maxUlp = 0) {
  auto m = passtest::parseOk(text);
  ASSERT_TRUE(m);
  Op* fusion = codegentest::firstFusion(*m);
  codegen::KernelDesc k = describeOk(*m);
  auto want = evaluateOp(*fusion, inputs);
  ASSERT_TRUE(want.isOk()) << want.status().message();
  auto cpu = codegen::cpu::runFusionCompiled(*fusion, inputs);
  ASSERT_TRUE(cpu.isOk()) << cpu.status().message();
  auto dev = device::makeEmulatedDevice();
  const device::LaunchConfig oneBlock{1, 64}, fewBlocks{3, 32};
  for (const device::LaunchConfig* config : {&oneBlock, &fewBlocks,
                                             static_cast<const device::LaunchConfig*>(nullptr)}) {
    auto got = runOnDevice(*dev, k, inputs, config);
    ASSERT_TRUE(got.isOk()) << got.status().message();
    ASSERT_EQ(got->size(), want->size());
    for (size_t j = 0; j < got->size(); ++j) {
      EXPECT_TRUE(sameElements((*got)[j], (*want)[j], maxUlp, &inputs))
          << "vs the interpreter, result " << j << " of\n" << text;
      EXPECT_TRUE(sameElements((*got)[j], (*cpu)[j])) << "vs the CPU backend, result " << j;
    }
  }
}

struct OpCase {
  std::string op;
  DType dtype;
  int arity;
  double maxUlp = 0;
};

void PrintTo(const OpCase& c, std::ostream* os) { *os << c.op << "_" << dtypeName(c.dtype); }

std::vector<OpCase> opCases() {
  std::vector<OpCase> cases;
  for (DType d : {DType::F32, DType::F64}) {
    for (const char* op : {"neg", "abs", "relu", "sqrt", "rsqrt"})
      cases.push_back({op, d, 1});
    for (const char* op : {"add", "sub", "mul", "div", "max", "min"})
      cases.push_back({op, d, 2});
    for (const char* op : {"eq", "lt", "ge"})
      cases.push_back({op, d, 2});
  }
  // Approximations: the CPU's bound (MathApprox.h) plus the reference's rounding.
  for (const char* op : {"exp", "log", "tanh", "sigmoid"})
    cases.push_back({op, DType::F32, 1, 8});
  for (DType d : {DType::I32, DType::I64}) {
    for (const char* op : {"neg", "abs", "not"})
      cases.push_back({op, d, 1});
    for (const char* op : {"add", "mul", "max", "and", "ne", "le"})
      cases.push_back({op, d, 2});
  }
  cases.push_back({"or", DType::I1, 2});
  return cases;
}

class CodegenCudaOpTest : public ::testing::TestWithParam<OpCase> {};

constexpr int64_t kOpElements = 1031; // > 32^2 special pairs; odd

std::string opCaseText(const OpCase& c) {
  std::string t = fmt::format("tensor<{}x{}>", kOpElements, dtypeName(c.dtype));
  bool compare = c.op == "eq" || c.op == "ne" || c.op == "lt" || c.op == "le" || c.op == "ge";
  std::string rt = compare ? fmt::format("tensor<{}xi1>", kOpElements) : t;
  std::vector<std::string> operands;
  for (int j = 0; j < c.arity; ++j)
    operands.push_back(fmt::format("%a{}", j));
  std::string body =
      fmt::format("    %y = {} {} : {}\n    yield %y\n", c.op, fmt::join(operands, ", "), rt);
  return fusionFunction(std::vector<std::string>(static_cast<size_t>(c.arity), t), {rt}, body);
}

TEST_P(CodegenCudaOpTest, EmulatedDeviceMatchesInterpreterAndCpu) {
  CAIRN_SKIP_WITHOUT_JIT();
  CAIRN_SKIP_WITHOUT_EMULATOR();
  const OpCase& c = GetParam();
  std::vector<Tensor> inputs;
  for (int j = 0; j < c.arity; ++j)
    inputs.push_back(specialTensor(TensorType(c.dtype, {kOpElements}), j));
  expectDeviceMatches(opCaseText(c), inputs, c.maxUlp);
}

INSTANTIATE_TEST_SUITE_P(Ops, CodegenCudaOpTest, ::testing::ValuesIn(opCases()),
                         [](const ::testing::TestParamInfo<OpCase>& info) {
                           return fmt::format("{}_{}", info.param.op, dtypeName(info.param.dtype));
                         });

const std::string kBroadcastsBody = R"(    %c = constant [1.5, -2.0, 0.25] : tensor<3xf32>
    %cb = broadcast %c {dims = [2]} : tensor<4x5x3xf32>
    %b = broadcast %a1 {dims = [0, 2]} : tensor<4x5x3xf32>
    %s = add %a0, %b : tensor<4x5x3xf32>
    %y = mul %s, %cb : tensor<4x5x3xf32>
    %t = tanh %y : tensor<4x5x3xf32>
    %p = gt %t, %a0 : tensor<4x5x3xi1>
    yield %y, %p
)";
const std::string kBroadcastsText = fusionFunction(
    {"tensor<4x5x3xf32>", "tensor<4x3xf32>"}, {"tensor<4x5x3xf32>", "tensor<4x5x3xi1>"},
    kBroadcastsBody);

TEST(CodegenCudaTest, BroadcastsTablesAndSeveralOutputs) {
  CAIRN_SKIP_WITHOUT_JIT();
  CAIRN_SKIP_WITHOUT_EMULATOR();
  expectDeviceMatches(
      kBroadcastsText,
      {randomTensor(TensorType(DType::F32, {4, 5, 3}), 1),
       randomTensor(TensorType(DType::F32, {4, 3}), 2)});
}

const std::string kLongRowsBody = R"(    %b = broadcast %a1 {dims = [1]} : tensor<7x300xf32>
    %c = broadcast %a2 {dims = [0]} : tensor<7x300xf32>
    %s = add %a0, %b : tensor<7x300xf32>
    %y = mul %s, %c : tensor<7x300xf32>
    %r = sigmoid %y : tensor<7x300xf32>
    yield %r
)";
const std::string kLongRowsText = fusionFunction(
    {"tensor<7x300xf32>", "tensor<300xf32>", "tensor<7xf32>"}, {"tensor<7x300xf32>"},
    kLongRowsBody);

TEST(CodegenCudaTest, RowBroadcastsOverLongRows) {
  CAIRN_SKIP_WITHOUT_JIT();
  CAIRN_SKIP_WITHOUT_EMULATOR();
  expectDeviceMatches(kLongRowsText,
                      {randomTensor(TensorType(DType::F32, {7, 300}), 3),
                       randomTensor(TensorType(DType::F32, {300}), 4),
                       randomTensor(TensorType(DType::F32, {7}), 5)},
                      8);
}

const std::string kDynamicText =
      fusionFunction({"tensor<?x24xf32>", "tensor<24xf32>", "tensor<?xf32>", "tensor<i64>"},
                     {"tensor<?x24xf32>"},
                     "    %row = broadcast %a1, %a3 {dims = [1]} : tensor<?x24xf32>\n"
                     "    %col = broadcast %a2, %a3 {dims = [0]} : tensor<?x24xf32>\n"
                     "    %t = add %a0, %row : tensor<?x24xf32>\n"
                     "    %y = mul %t, %col : tensor<?x24xf32>\n    yield %y\n");

TEST(CodegenCudaTest, DynamicShapesPassExtentsAsArguments) {
  CAIRN_SKIP_WITHOUT_JIT();
  CAIRN_SKIP_WITHOUT_EMULATOR();
  const std::string& text = kDynamicText;
  for (int64_t rows : {1, 5, 37}) {
    Tensor n = Tensor::scalar(DType::I64, static_cast<double>(rows));
    std::vector<Tensor> inputs = {randomTensor(TensorType(DType::F32, {rows, 24}), 6),
                                  randomTensor(TensorType(DType::F32, {24}), 7),
                                  randomTensor(TensorType(DType::F32, {rows}), 8), n};
    auto m = passtest::parseOk(text);
    ASSERT_TRUE(m);
    codegen::KernelDesc k = describeOk(*m);
    auto want = evaluateOp(*codegentest::firstFusion(*m), inputs);
    ASSERT_TRUE(want.isOk()) << want.status().message();
    auto dev = device::makeEmulatedDevice();
    auto got = runOnDevice(*dev, k, inputs);
    ASSERT_TRUE(got.isOk()) << got.status().message();
    EXPECT_TRUE(sameElements(got->at(0), want->at(0))) << rows << " rows";
  }
}

TEST(CodegenCudaTest, BlockGathersReadTheGatesAtAnOffset) {
  CAIRN_SKIP_WITHOUT_JIT();
  CAIRN_SKIP_WITHOUT_EMULATOR();
  expectDeviceMatches(codegentest::lstmGateSplitFusion(5, false),
                      {randomTensor(TensorType(DType::F32, {3, 20}), 21),
                       randomTensor(TensorType(DType::F32, {3, 5}), 22)});
  for (int64_t rows : {1, 37}) {
    std::vector<Tensor> inputs = {randomTensor(TensorType(DType::F32, {rows, 96}), 23),
                                  randomTensor(TensorType(DType::F32, {rows, 24}), 24)};
    auto m = passtest::parseOk(codegentest::lstmGateSplitFusion(24, true));
    ASSERT_TRUE(m);
    auto want = evaluateOp(*codegentest::firstFusion(*m), inputs);
    ASSERT_TRUE(want.isOk()) << want.status().message();
    auto dev = device::makeEmulatedDevice();
    auto got = runOnDevice(*dev, describeOk(*m), inputs);
    ASSERT_TRUE(got.isOk()) << got.status().message();
    for (size_t k = 0; k < 2; ++k)
      EXPECT_TRUE(sameElements(got->at(k), want->at(k))) << rows << " rows, result " << k;
  }
}

TEST(CodegenCudaTest, EmulatedDeviceRejectsBadLaunchesAndImages) {
  auto dev = device::makeEmulatedDevice();
  auto none = dev->load({"k", {{"sm_80", ".version 7.0"}}, nullptr});
  ASSERT_FALSE(none.isOk());
  EXPECT_TRUE(codegentest::contains(none.status().message(), "no host entry"));
  EXPECT_FALSE(dev->launch({}, {1, 32}, nullptr, 0).isOk());
  EXPECT_EQ(device::elementwiseLaunch(1).grid, 1u);
  EXPECT_EQ(device::elementwiseLaunch(1000).grid, 4u);
  EXPECT_EQ(device::elementwiseLaunch(int64_t{1} << 40).grid, 65535u);
}

TEST(CodegenCudaTest, EmulatedGemmIsTheCpuBlas) {
  auto dev = device::makeEmulatedDevice();
  // [2x3] . [3x2], then the same with B given transposed.
  std::vector<float> a = {1, 2, 3, 4, 5, 6}, b = {1, 0, 0, 1, 1, 1}, bt = {1, 0, 1, 0, 1, 1};
  std::vector<float> c(4), ct(4);
  ASSERT_TRUE(dev->gemm({DType::F32, false, false, 2, 2, 3, 1, a.data(), b.data(), c.data()}).isOk());
  ASSERT_TRUE(dev->gemm({DType::F32, false, true, 2, 2, 3, 1, a.data(), bt.data(), ct.data()}).isOk());
  EXPECT_EQ(c, (std::vector<float>{4, 5, 10, 11}));
  EXPECT_EQ(ct, c);
  EXPECT_FALSE(dev->gemm({DType::F32, false, false, -1, 2, 3, 1, a.data(), b.data(), c.data()}).isOk());
}

TEST(CodegenCudaTest, DeviceModuleIsOnePerThreadFunctionForBothTargets) {
  auto m = passtest::parseOk(fusionFunction({"tensor<8xf32>"}, {"tensor<8xf32>"},
                                            "    %y = exp %a0 : tensor<8xf32>\n    yield %y\n"));
  ASSERT_TRUE(m);
  codegen::KernelDesc k = describeOk(*m);
  auto gpu = codegen::cuda::deviceModuleIR({k}, {"k0"}, /*forHost=*/false);
  auto host = codegen::cuda::deviceModuleIR({k}, {"k0"}, /*forHost=*/true);
  ASSERT_TRUE(gpu.isOk() && host.isOk());
  for (const std::string* ir : {&*gpu, &*host})
    EXPECT_TRUE(codegentest::contains(*ir, "define internal void @k0.thread("));
  EXPECT_TRUE(codegentest::contains(*gpu, "llvm.nvvm.read.ptx.sreg.tid.x"));
  EXPECT_TRUE(codegentest::contains(*gpu, "!\"kernel\""));
  EXPECT_EQ(host->find("nvvm"), std::string::npos) << *host;
}

/// Every kernel the tests above run, as one PTX module per architecture,
/// assembled by ptxas: a kernel that would not load on a real GPU fails here.
TEST(CodegenCudaTest, EveryKernelAssemblesWithPtxas) {
  std::vector<codegen::KernelDesc> kernels;
  std::vector<std::string> texts = {kBroadcastsText, kLongRowsText, kDynamicText,
                                    codegentest::lstmGateSplitFusion(5, false),
                                    codegentest::lstmGateSplitFusion(24, true)};
  for (const OpCase& c : opCases())
    texts.push_back(opCaseText(c));
  for (const std::string& text : texts) {
    auto m = passtest::parseOk(text);
    ASSERT_TRUE(m);
    kernels.push_back(describeOk(*m));
  }
  std::vector<std::string> names;
  for (size_t j = 0; j < kernels.size(); ++j)
    names.push_back(fmt::format("cairn_kernel_{}", j));
  for (const std::string& arch : codegen::cuda::defaultArchitectures()) {
    auto ptx = codegen::cuda::emitPtx(kernels, names, arch);
    ASSERT_TRUE(ptx.isOk()) << ptx.status().message();
    EXPECT_TRUE(codegentest::contains(*ptx, ".target " + arch));
    EXPECT_TRUE(codegentest::contains(*ptx, ".visible .entry cairn_kernel_0("));
    EXPECT_EQ(ptx->find(".extern .func"), std::string::npos)
        << "a kernel calls a function the GPU does not have:\n" << *ptx;
    EXPECT_TRUE(cudatest::assemblesWithPtxas(*ptx, arch));
  }
  if (!cudatest::havePtxas()) GTEST_SKIP() << cudatest::kNoPtxas;
}

} // namespace
} // namespace cairn
