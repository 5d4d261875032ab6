// libFuzzer target for the AOT program loader (runtime/exec/ProgramFormat):
// an ahead-of-time object's program data is untrusted input. The input is
// either raw program bytes (first byte even) or edits to the valid programs
// of a module with loops, branches, kernels and constants (first byte odd:
// then (u16 offset, u8 value) triples, and a final byte that may truncate):
// the edits reach deep into the format without a seed corpus (and are
// resealed with a matching checksum, so they test the structural checks). Any input must
// read or fail cleanly; what reads must write back to bytes that read again
// to the same bytes.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "compiler/lowering/LowerFunctions.h"
#include "ir/Parser.h"
#include "runtime/exec/ProgramFormat.h"

namespace {

using namespace cairn;

constexpr const char* kModule = R"(
func @rnn(%xs: tensor<?x2x3xf32>, %h0: tensor<2x4xf32>, %wx: tensor<3x4xf32>, %b: tensor<4xf32>) -> tensor<2x4xf32> {
  %steps = dim %xs {axis = 0} : tensor<i64>
  %zero = constant 0 : tensor<i64>
  %0:2 = while (%t = %zero, %h = %h0) : (tensor<i64>, tensor<2x4xf32>) max_trip %steps cond {
    %go = lt %t, %steps : tensor<i1>
    yield %go
  } body {
    %1 = constant 0 : tensor<i64>
    %2 = dynamic_slice %xs, %t, %1, %1 {sizes = [1, 2, 3]} : tensor<1x2x3xf32>
    %x = reshape %2 : tensor<2x3xf32>
    %xw = dot %x, %wx : tensor<2x4xf32>
    %4 = broadcast %b {dims = [1]} : tensor<2x4xf32>
    %5 = add %xw, %4 : tensor<2x4xf32>
    %h1 = tanh %5 : tensor<2x4xf32>
    %6 = constant 1 : tensor<i64>
    %t1 = add %t, %6 : tensor<i64>
    yield %t1, %h1
  }
  %s = reduce_sum %0#1 {dims = [0, 1]} : tensor<f32>
  %z = constant 0.0 : tensor<f32>
  %pos = gt %s, %z : tensor<i1>
  %r = if %pos -> tensor<2x4xf32> {
    yield %0#1
  } else {
    %n = neg %0#1 : tensor<2x4xf32>
    yield %n
  }
  return %r
}
)";

/// Kernel indices in order of request, as cairn-compile's collector gives them.
struct CountingKernels : codegen::KernelSource {
  int32_t n = 0;
  int32_t add(const codegen::KernelDesc&) override { return n++; }
};

struct Fixture {
  std::unique_ptr<Module> module;
  std::string valid;
  size_t numKernels = 0;
  Fixture() {
    auto m = parseModule(kModule, "<fuzz>");
    if (!m.isOk()) std::abort();
    module = std::move(*m);
    CountingKernels kernels;
    auto programs = codegen::lowerFunctions(*module, {}, &kernels);
    if (!programs.isOk()) std::abort();
    valid = exec::writePrograms(*programs, *module);
    numKernels = static_cast<size_t>(kernels.n);
    if (!exec::readPrograms(valid, *module, numKernels).isOk()) std::abort();
  }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Fixture f;
  std::string bytes;
  if (size == 0 || data[0] % 2 == 0) {
    bytes.assign(reinterpret_cast<const char*>(data), size);
  } else {
    bytes = f.valid;
    size_t i = 1;
    for (; i + 3 <= size; i += 3) {
      size_t at = (static_cast<size_t>(data[i]) | static_cast<size_t>(data[i + 1]) << 8) % bytes.size();
      bytes[at] = static_cast<char>(data[i + 2]);
    }
    if (i < size && data[i] < 64) bytes.resize(bytes.size() * data[i] / 64);
    exec::resealPrograms(bytes); // past the checksum, into the structure
  }
  auto read = exec::readPrograms(bytes, *f.module, f.numKernels);
  if (!read.isOk()) return 0;
  std::string written = exec::writePrograms(*read, *f.module);
  auto again = exec::readPrograms(written, *f.module, f.numKernels);
  if (!again.isOk() || exec::writePrograms(*again, *f.module) != written) {
    std::fprintf(stderr, "programs that read do not round-trip\n");
    std::abort();
  }
  return 0;
}
