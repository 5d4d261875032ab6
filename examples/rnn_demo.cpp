// rnn_demo: the end-to-end path of Cairn today, in one program.
//
// Builds an Elman RNN with the C++ builder, prints its IR, verifies it, runs
// it with the reference interpreter on deterministic inputs and checks the
// result against a hand-written C++ loop. Then runs a function with a
// data-dependent `if` (clip by norm) on two inputs that take different
// branches. Exits non-zero if anything disagrees, so CI can run it.
#include <cmath>
#include <cstdio>

#include "frontend/models/DataDependentIf.h"
#include "frontend/models/ElmanRnn.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "runtime/reference/Interpreter.h"

using namespace cairn;

namespace {

/// Deterministic values in [-scale, scale): a fixed formula, no RNG, so the
/// demo prints the same numbers everywhere.
Tensor pattern(const Shape& shape, double scale, int seed) {
  Tensor t(TensorType(DType::F32, shape));
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.setDouble(i, scale * std::sin(0.7 * static_cast<double>(i) + 1.3 * seed));
  return t;
}

double maxAbsDiff(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return INFINITY;
  double worst = 0;
  for (int64_t i = 0; i < a.numElements(); ++i)
    worst = std::max(worst, std::abs(a.getDouble(i) - b.getDouble(i)));
  return worst;
}

bool runElman(Module& m) {
  const int64_t steps = 7, batch = 2, in = 3, hidden = 4;
  std::vector<Tensor> inputs = {pattern({steps, batch, in}, 1.0, 1),
                                pattern({batch, hidden}, 0.5, 2), pattern({in, hidden}, 0.6, 3),
                                pattern({hidden, hidden}, 0.4, 4), pattern({hidden}, 0.1, 5)};
  auto out = interpret(m, "elman_rnn", inputs);
  if (!out.isOk()) {
    std::fprintf(stderr, "interpreter: %s\n", out.status().message().c_str());
    return false;
  }
  Tensor expected = elmanRnnReference(inputs[0], inputs[1], inputs[2], inputs[3], inputs[4]);
  double diff = maxAbsDiff((*out)[0], expected);
  std::printf("elman_rnn(T=%lld, B=%lld, D=%lld, H=%lld) =\n  %s\n", (long long)steps,
              (long long)batch, (long long)in, (long long)hidden, (*out)[0].toString().c_str());
  std::printf("hand-written loop:\n  %s\nmax abs difference: %.3g\n", expected.toString().c_str(),
              diff);
  if (!(diff < 1e-6)) {
    std::fprintf(stderr, "FAIL: the interpreter and the loop disagree\n");
    return false;
  }
  return true;
}

bool runClip(Module& m, const char* label, const Tensor& x, double maxNorm) {
  auto out = interpret(m, "clip_by_norm", {x});
  if (!out.isOk()) {
    std::fprintf(stderr, "interpreter: %s\n", out.status().message().c_str());
    return false;
  }
  Tensor expected = clipByNormReference(x, maxNorm);
  double diff = maxAbsDiff((*out)[0], expected);
  std::printf("clip_by_norm(%s) = %s (expected %s, max abs difference %.3g)\n", label,
              (*out)[0].toString().c_str(), expected.toString().c_str(), diff);
  return diff < 1e-6;
}

} // namespace

int main() {
  Module m;
  const double maxNorm = 1.0;
  try {
    buildElmanRnn(m, /*batch=*/2, /*inputSize=*/3, /*hiddenSize=*/4);
    buildClipByNorm(m, /*size=*/3, maxNorm);
  } catch (const BuildError& e) {
    std::fprintf(stderr, "build error: %s\n", e.what());
    return 1;
  }
  std::printf("%s\n", printModule(m).c_str());
  if (Status s = verify(m); !s.isOk()) {
    std::fprintf(stderr, "verifier: %s\n", s.message().c_str());
    return 1;
  }
  std::printf("verified\n\n");

  bool ok = runElman(m);
  Tensor small = Tensor::fromDoubles(TensorType(DType::F32, {3}), {0.1, -0.2, 0.3});
  Tensor large = Tensor::fromDoubles(TensorType(DType::F32, {3}), {3.0, -4.0, 12.0});
  ok &= runClip(m, "short, else-branch", small, maxNorm);
  ok &= runClip(m, "long, then-branch", large, maxNorm);
  std::printf("%s\n", ok ? "OK" : "FAILED");
  return ok ? 0 : 1;
}
