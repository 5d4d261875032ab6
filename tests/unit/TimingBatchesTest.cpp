// golden::TimingBatches: which length buckets a set of timing cases holds
// (the peers benchmark's first-bucket, percentile and whole-pass workloads,
// bench/peers/README.md). A whole pass must hold every example once; a
// percentile batch must be a full one whose median length is as near the
// file's percentile length as any full batch's. Small models (hidden 4), SST
// dev only (a few hundred ms). Skipped, with a message, without the data.
#include <algorithm>
#include <set>

#include <gtest/gtest.h>

#include "tests/golden/GoldenCases.h"

namespace cairn::golden {
namespace {

std::vector<size_t> examplesOf(const GoldenCase& c) {
  return c.data.at("examples").get<std::vector<size_t>>();
}

class TimingBatchesTest : public ::testing::Test {
protected:
  void SetUp() override {
    dataDir = defaultDataDir(CAIRN_SOURCE_DIR);
    if (!haveData(dataDir)) GTEST_SKIP() << "no SNLI/SST data under " << dataDir;
  }
  std::string dataDir;
};

TEST_F(TimingBatchesTest, EveryBatchIsAWholePass) {
  TimingBatches every;
  every.which = TimingBatches::Every;
  auto cases = makeTreeLstmTimingCases(dataDir, 128, every, 4);
  ASSERT_TRUE(cases.isOk()) << cases.status().message();
  std::set<size_t> seen;
  size_t total = 0, shortBatches = 0;
  for (size_t k = 0; k < cases->size(); ++k) {
    const GoldenCase& c = (*cases)[k];
    std::vector<size_t> ex = examplesOf(c);
    EXPECT_LE(ex.size(), 128u);
    shortBatches += ex.size() < 128;
    EXPECT_EQ(c.data.at("pass_batch"), k);
    EXPECT_EQ(c.data.at("pass_batches"), cases->size());
    EXPECT_EQ(c.inputs[0].shape()[0], int64_t(ex.size())); // tokens [B, N]
    total += ex.size();
    seen.insert(ex.begin(), ex.end());
  }
  EXPECT_EQ(total, 1101u); // SST dev
  EXPECT_EQ(seen.size(), total) << "an example in two batches";
  EXPECT_LE(shortBatches, 1u);
  // The first batch is the first full bucket, as the older workloads take it.
  auto first = makeTreeLstmTimingCases(dataDir, 128, 1, 4);
  ASSERT_TRUE(first.isOk());
  EXPECT_EQ(examplesOf(first->front()), examplesOf(cases->front()));
}

TEST_F(TimingBatchesTest, PercentileBatchIsTheNearestFullOne) {
  TimingBatches every;
  every.which = TimingBatches::Every;
  auto all = makeTreeLstmTimingCases(dataDir, 128, every, 4);
  ASSERT_TRUE(all.isOk());
  for (double p : {50.0, 90.0}) {
    TimingBatches near;
    near.which = TimingBatches::NearPercentile;
    near.percentile = p;
    auto cases = makeTreeLstmTimingCases(dataDir, 128, near, 4);
    ASSERT_TRUE(cases.isOk()) << cases.status().message();
    ASSERT_EQ(cases->size(), 1u);
    const nlohmann::json& d = cases->front().data;
    EXPECT_EQ(d.at("percentile"), p);
    int64_t target = d.at("percentile_length");
    int64_t median = d.at("batch_lengths")[1];
    EXPECT_EQ(examplesOf(cases->front()).size(), 128u);
    EXPECT_EQ(examplesOf(cases->front()), examplesOf((*all)[d.at("bucket").get<size_t>()]));
    for (const GoldenCase& c : *all) {
      if (examplesOf(c).size() != 128) continue;
      int64_t m = c.data.at("batch_lengths")[1];
      EXPECT_LE(std::abs(median - target), std::abs(m - target)) << "p" << p;
    }
  }
  TimingBatches bad;
  bad.which = TimingBatches::NearPercentile;
  bad.percentile = 0;
  EXPECT_FALSE(makeTreeLstmTimingCases(dataDir, 128, bad, 4).isOk());
}

} // namespace
} // namespace cairn::golden
