// The executor's kept second thread for `parallel` pairs (runtime/exec/SideThread.h):
// one thread for every job of a context, each job run once and seen whole
// by the poster after wait(), the job kept off the poster's CPU, and a
// context's pairs counted as parallel runs however many times it runs;
// each with and without polling between jobs (a polling thread that missed
// a post or a stop would hang the test: an hour's poll).
#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#if defined(__linux__)
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "runtime/exec/SideThread.h"

namespace cairn::exec {
namespace {

constexpr std::chrono::microseconds kNoSpin{0};
constexpr std::chrono::microseconds kSpinAnHour = std::chrono::hours(1);

TEST(SideThreadTest, OneThreadRunsEveryJobOnce) {
  for (auto spin : {kNoSpin, kSpinAnHour}) {
    SideThread side;
    std::vector<std::thread::id> ran;
    std::vector<int> values(2000, 0);
    for (int i = 0; i < 2000; ++i) {
      auto job = [&, i] {
        ran.push_back(std::this_thread::get_id());
        values[static_cast<size_t>(i)] += i + 1; // plain writes: wait() must publish them
      };
      ASSERT_TRUE(side.post(job, OtherCpus(), spin));
      side.wait();
    }
    ASSERT_EQ(ran.size(), 2000u);
    for (size_t i = 0; i < ran.size(); ++i) {
      EXPECT_EQ(ran[i], ran[0]) << "job " << i << " ran on another thread";
      EXPECT_EQ(values[i], static_cast<int>(i) + 1);
    }
    EXPECT_NE(ran[0], std::this_thread::get_id());
  } // the destructor stops the thread, polling or asleep
}

TEST(SideThreadTest, JobRunsBesideThePoster) {
  // The poster works while the job runs: both finish, in either order.
  for (auto spin : {kNoSpin, kSpinAnHour}) {
    SideThread side;
    std::atomic<int> done{0};
    for (int round = 0; round < 50; ++round) {
      auto job = [&] { done.fetch_add(1); };
      ASSERT_TRUE(side.post(job, OtherCpus(), spin));
      volatile int64_t work = 0;
      for (int k = 0; k < 1000; ++k)
        work = work + k;
      side.wait();
      EXPECT_EQ(done.load(), round + 1);
    }
  }
}

#if defined(__linux__)
TEST(SideThreadTest, JobKeepsOffThePostersCpu) {
  if (usableCpus() < 2) GTEST_SKIP() << "this process may use one CPU only";
  SideThread side;
  for (int round = 0; round < 20; ++round) {
    OtherCpus where = OtherCpus::ofCaller();
    ASSERT_TRUE(where.valid);
    int cpu = -1;
    auto job = [&] { cpu = sched_getcpu(); };
    ASSERT_TRUE(side.post(job, where, kNoSpin));
    side.wait();
    ASSERT_GE(cpu, 0);
    EXPECT_TRUE(CPU_ISSET(cpu, &where.set))
        << "job ran on CPU " << cpu << " (round " << round << ")";
  }
}
#endif

TEST(SideThreadTest, UnusedOrStoppedCleanly) {
  { SideThread never; } // no thread to stop
  SideThread once;
  int x = 0;
  auto job = [&] { x = 7; };
  ASSERT_TRUE(once.post(job, OtherCpus(), kNoSpin));
  once.wait();
  EXPECT_EQ(x, 7);
  SideThread polling;
  ASSERT_TRUE(polling.post(job, OtherCpus(), kSpinAnHour));
  polling.wait();
} // the destructors stop and join the threads, the polling one included

#if defined(__linux__)
// A context used in a child after fork(): the parent's side thread does not
// exist there, so waiting on it would hang. The child starts its own. (Not
// in the TSan set: TSan does not support threads started after a fork.)
TEST(ExecAfterForkTest, ChildRunsJobsOnItsOwnThread) {
  SideThread side;
  int x = 0;
  auto job = [&] { ++x; };
  ASSERT_TRUE(side.post(job, OtherCpus(), kNoSpin));
  side.wait(); // the parent's thread exists now
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    alarm(20); // a hang (waiting on the parent's thread) ends by SIGALRM: a failure
    bool ok = side.post(job, OtherCpus(), kNoSpin);
    if (ok) side.wait();
    side.~SideThread(); // stops and joins the child's own thread
    _exit(ok && x == 2 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "the child " << (WIFSIGNALED(status) ? "was killed by a signal (a hang?)" : "failed");
  EXPECT_EQ(x, 1);                                   // the child's job ran in the child
  ASSERT_TRUE(side.post(job, OtherCpus(), kNoSpin)); // the parent's thread still serves
  side.wait();
  EXPECT_EQ(x, 2);
}
#endif

} // namespace
} // namespace cairn::exec
