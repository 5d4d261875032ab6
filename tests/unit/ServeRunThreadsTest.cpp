// When a served run pairs its loops (tools/cairn-serve/RunThreads.h): alone
// on the machine, yes; once the requests in flight fill the CPUs, no.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "runtime/exec/SideThread.h"
#include "tools/cairn-serve/RunThreads.h"

namespace cairn::serve {
namespace {

TEST(ServeRunThreadsTest, AutoPairsWhileTheRunsInFlightLeaveACpuForTheSecondThread) {
  EXPECT_FALSE(runsOnOneThread(PairPolicy::kAuto, 1, 2));
  EXPECT_TRUE(runsOnOneThread(PairPolicy::kAuto, 2, 2));
  EXPECT_TRUE(runsOnOneThread(PairPolicy::kAuto, 64, 2));
  EXPECT_FALSE(runsOnOneThread(PairPolicy::kAuto, 4, 8));
  EXPECT_TRUE(runsOnOneThread(PairPolicy::kAuto, 5, 8));
  EXPECT_TRUE(runsOnOneThread(PairPolicy::kAuto, 1, 1));
  for (int inFlight : {1, 2, 64}) {
    EXPECT_FALSE(runsOnOneThread(PairPolicy::kAlways, inFlight, 2));
    EXPECT_TRUE(runsOnOneThread(PairPolicy::kNever, inFlight, 2));
  }
}

TEST(ServeRunThreadsTest, PoliciesParseAndOthersAreNamed) {
  EXPECT_EQ(*parsePairPolicy("auto"), PairPolicy::kAuto);
  EXPECT_EQ(*parsePairPolicy("on"), PairPolicy::kAlways);
  EXPECT_EQ(*parsePairPolicy("off"), PairPolicy::kNever);
  StatusOr<PairPolicy> bad = parsePairPolicy("sometimes");
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("'sometimes'"), std::string::npos);
}

TEST(ServeRunThreadsTest, RunsInFlightAreCountedWhileTheyLive) {
  setPairPolicy(PairPolicy::kNever);
  {
    RunInFlight a;
    EXPECT_TRUE(a.oneThread());
  }
  setPairPolicy(PairPolicy::kAlways);
  {
    RunInFlight a, b, c;
    EXPECT_FALSE(c.oneThread());
  }
  // Auto: the first run alone pairs when the process has two CPUs; once
  // the runs in flight fill them, the next does not; when they end, the
  // count is back to one.
  setPairPolicy(PairPolicy::kAuto);
  const int cpus = exec::usableCpus();
  {
    RunInFlight first;
    EXPECT_EQ(first.oneThread(), cpus < 2);
    std::vector<std::unique_ptr<RunInFlight>> more;
    for (int i = 0; i < cpus / 2; ++i)
      more.push_back(std::make_unique<RunInFlight>());
    EXPECT_TRUE(more.empty() || more.back()->oneThread());
  }
  RunInFlight alone;
  EXPECT_EQ(alone.oneThread(), cpus < 2);
  setPairPolicy(PairPolicy::kAuto);
}

} // namespace
} // namespace cairn::serve
