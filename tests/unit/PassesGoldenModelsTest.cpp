// The optimize pipeline on the real models: every golden case (SPINN,
// TreeLSTM, BiGRU, BiLSTM built by the frontend, on real data; see
// tests/golden/GoldenCases.h) gives bit-identical outputs before and after
// it, and the pipeline finds work in each (at least one fusion). Skipped,
// with a message, when ../shared/data is absent.
#include <cstring>

#include <gtest/gtest.h>

#include "compiler/Pipeline.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "tests/golden/GoldenCases.h"

namespace cairn::golden {
namespace {

class OptimizeGoldenModels : public ::testing::TestWithParam<std::string> {};

TEST_P(OptimizeGoldenModels, OutputsBitIdentical) {
  const std::string dataDir = defaultDataDir(CAIRN_SOURCE_DIR);
  if (!haveData(dataDir)) GTEST_SKIP() << "no SNLI/SST data under " << dataDir;
  auto c = makeCase(GetParam(), dataDir);
  ASSERT_TRUE(c.isOk()) << c.status().message();
  auto before = runCase(*c);
  ASSERT_TRUE(before.isOk()) << before.status().message();

  Status ran = runPipeline(*c->module, optimizePipeline());
  ASSERT_TRUE(ran.isOk()) << ran.message();
  int fusions = 0;
  walk(*c->function, [&](Op& op) { fusions += op.kind() == OpKind::Fusion; });
  EXPECT_GT(fusions, 0) << printFunction(*c->function);

  auto after = runCase(*c);
  ASSERT_TRUE(after.isOk()) << after.status().message();
  ASSERT_EQ(before->size(), after->size());
  for (size_t i = 0; i < before->size(); ++i) {
    const Tensor& a = (*before)[i];
    const Tensor& b = (*after)[i];
    ASSERT_EQ(a.type(), b.type()) << c->outputNames[i];
    EXPECT_EQ(std::memcmp(a.rawData(), b.rawData(), a.byteSize()), 0)
        << GetParam() << " output " << c->outputNames[i] << " differs after optimize";
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, OptimizeGoldenModels, ::testing::ValuesIn(caseNames()),
                         [](const auto& info) { return info.param; });

} // namespace
} // namespace cairn::golden
