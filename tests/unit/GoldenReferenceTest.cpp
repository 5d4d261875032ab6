// Golden-output tests: every model of docs/models.md, built by the frontend
// and run by the reference interpreter on real data (the first 16 examples of
// SNLI dev / SST dev), against outputs of the independent PyTorch reference
// (bench/reference/) stored in tests/golden/<case>/expected_<i>.npy.
//
// The inputs and parameters are rebuilt here from the case definitions in
// tests/golden/GoldenCases.h (data file, vocabulary from that file,
// ParamStore::initialize(seed)); bench/reference/make_golden.sh regenerates
// the expected outputs.
//
// Tolerance, per output tensor: rel = max|cairn - torch| / max(max|torch|,
// 1e-6) <= 1e-5. Integer outputs (the transitions chosen in predicted mode)
// must be identical. Skipped, with a message, when ../shared/data is absent.
#include <filesystem>

#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include "runtime/Npy.h"
#include "tests/golden/GoldenCases.h"

namespace cairn::golden {
namespace {

namespace fs = std::filesystem;

class GoldenReferenceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenReferenceTest, MatchesPyTorchReference) {
  const std::string name = GetParam();
  const std::string dataDir = defaultDataDir(CAIRN_SOURCE_DIR);
  if (!haveData(dataDir))
    GTEST_SKIP() << "no SNLI/SST data under " << dataDir
                 << " (set CAIRN_DATA_DIR, or put shared/data beside the checkout)";

  auto c = makeCase(name, dataDir);
  ASSERT_TRUE(c.isOk()) << c.status().message();
  auto got = runCase(*c);
  ASSERT_TRUE(got.isOk()) << got.status().message();

  const fs::path dir = fs::path(CAIRN_SOURCE_DIR) / "tests" / "golden" / name;
  for (size_t i = 0; i < got->size(); ++i) {
    const std::string path = (dir / fmt::format("expected_{}.npy", i)).string();
    auto expected = readNpy(path);
    ASSERT_TRUE(expected.isOk()) << expected.status().message()
                                 << " (regenerate with bench/reference/make_golden.sh)";
    const Tensor& g = (*got)[i];
    const std::string what = fmt::format("{} output {} ({})", name, i, c->outputNames[i]);
    ASSERT_EQ(g.type(), expected->type())
        << what << ": Cairn gives " << g.type().toString() << ", the reference "
        << expected->type().toString();
    if (isInteger(g.dtype())) {
      std::vector<int64_t> a = g.toInts(), b = expected->toInts();
      for (size_t k = 0; k < a.size(); ++k) {
        if (a[k] != b[k]) {
          std::vector<int64_t> idx(g.rank());
          int64_t rem = static_cast<int64_t>(k);
          for (int64_t d = g.rank() - 1; d >= 0; --d) {
            idx[d] = rem % g.shape()[d];
            rem /= g.shape()[d];
          }
          FAIL() << what << ": first difference at [" << fmt::format("{}", fmt::join(idx, ", "))
                 << "]: Cairn " << a[k] << ", reference " << b[k];
        }
      }
    } else {
      double rel = relativeDifference(g, *expected);
      EXPECT_LE(rel, kRelTolerance) << what << ": max relative difference " << rel;
      RecordProperty(fmt::format("rel_diff_{}", i), fmt::format("{:.3e}", rel));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, GoldenReferenceTest, ::testing::ValuesIn(caseNames()),
                         [](const auto& info) { return info.param; });

} // namespace
} // namespace cairn::golden
