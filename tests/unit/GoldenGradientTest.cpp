// Gradients against the PyTorch reference: for every classifier golden case
// (SPINN with and without tracker, predicted transitions, TreeLSTM, BiLSTM,
// BiGRU on real SNLI/SST batches), the gradient of the mean cross-entropy
// of the logits against labels b % classes w.r.t. every parameter, from
// Cairn's autodiff in the reference interpreter, equals PyTorch's
// (loss.backward() through its own define-by-run models) to 1e-4 relative:
// max|cairn - torch| / max(max|torch|, 1e-6) per parameter.
//
// bench/reference/make_golden.sh writes tests/golden/<case>/grad_<param>.npy
// (an embedding's gradient as its nonzero rows, with grad_<param>.rows.npy).
#include <filesystem>
#include <iostream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "compiler/autodiff/Autodiff.h"
#include "runtime/Npy.h"
#include "runtime/reference/Interpreter.h"
#include "tests/golden/GoldenCases.h"
#include "tests/unit/ModelLossTestUtil.h"

namespace cairn::golden {
namespace {

namespace fs = std::filesystem;

constexpr double kGradTolerance = 1e-4;

double relDiff(const std::vector<double>& a, const std::vector<double>& b) {
  double diff = 0, scale = 1e-6;
  for (size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, std::abs(a[i] - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  return diff / scale;
}

class GoldenGradientTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenGradientTest, MatchesPyTorchGradients) {
  const std::string name = GetParam();
  const std::string dataDir = defaultDataDir(CAIRN_SOURCE_DIR);
  if (!haveData(dataDir)) GTEST_SKIP() << "no SNLI/SST data under " << dataDir;
  auto c = makeCase(name, dataDir);
  ASSERT_TRUE(c.isOk()) << c.status().message();
  auto forward = runCase(*c);
  ASSERT_TRUE(forward.isOk()) << forward.status().message();
  const Tensor& logits = (*forward)[0];
  const int64_t rows = logits.shape()[0], classes = logits.shape()[1];

  Function* loss = testing::crossEntropyOf(*c->module, *c->function);
  GradOptions go;
  const size_t firstParam = c->inputs.size();
  for (size_t i = 0; i < c->paramValues.size(); ++i)
    go.wrt.push_back(firstParam + i);
  auto grad = buildGradient(*c->module, *loss, go);
  ASSERT_TRUE(grad.isOk()) << grad.status().message();
  std::vector<Tensor> in = c->inputs;
  in.insert(in.end(), c->paramValues.begin(), c->paramValues.end());
  Tensor labels(TensorType(DType::I32, {rows}));
  for (int64_t b = 0; b < rows; ++b)
    labels.setInt(b, b % classes);
  in.push_back(labels);
  auto out = interpret(**grad, in);
  ASSERT_TRUE(out.isOk()) << out.status().message();

  const fs::path dir = fs::path(CAIRN_SOURCE_DIR) / "tests" / "golden" / name;
  const std::vector<std::string> names = c->params.names();
  double worst = 0;
  std::string worstName;
  for (size_t i = 0; i < names.size(); ++i) {
    const Tensor& mine = (*out)[1 + i];
    auto theirs = readNpy((dir / fmt::format("grad_{}.npy", names[i])).string());
    ASSERT_TRUE(theirs.isOk()) << theirs.status().message()
                               << " (regenerate with bench/reference/make_golden.sh)";
    std::vector<double> a = mine.toDoubles(), b = theirs->toDoubles();
    const fs::path rowsPath = dir / fmt::format("grad_{}.rows.npy", names[i]);
    if (fs::exists(rowsPath)) {
      // Embedding: compare the stored rows; every other row must be zero.
      auto rowIds = readNpy(rowsPath.string());
      ASSERT_TRUE(rowIds.isOk()) << rowIds.status().message();
      const int64_t width = mine.shape()[1];
      std::vector<bool> stored(static_cast<size_t>(mine.shape()[0]), false);
      std::vector<double> picked;
      for (int64_t r : rowIds->toInts()) {
        stored[static_cast<size_t>(r)] = true;
        for (int64_t k = 0; k < width; ++k)
          picked.push_back(a[static_cast<size_t>(r * width + k)]);
      }
      for (size_t r = 0; r < stored.size(); ++r)
        for (int64_t k = 0; !stored[r] && k < width; ++k)
          ASSERT_EQ(a[r * width + k], 0.0) << names[i] << ": row " << r << " should be zero";
      a = picked;
    }
    ASSERT_EQ(a.size(), b.size()) << names[i];
    double rel = relDiff(a, b);
    if (rel >= worst) {
      worst = rel;
      worstName = names[i];
    }
    EXPECT_LE(rel, kGradTolerance) << name << ": d loss / d " << names[i] << ": max rel diff "
                                   << rel;
  }
  std::cout << fmt::format("  {}: {} parameter gradients, worst max rel diff {:.2e} ({})\n", name,
                           names.size(), worst, worstName);
}

std::vector<std::string> classifierCases() {
  std::vector<std::string> out;
  for (const std::string& n : caseNames())
    if (n.find("_tag") == std::string::npos) out.push_back(n);
  return out;
}

INSTANTIATE_TEST_SUITE_P(Cases, GoldenGradientTest, ::testing::ValuesIn(classifierCases()),
                         [](const auto& info) { return info.param; });

} // namespace
} // namespace cairn::golden
