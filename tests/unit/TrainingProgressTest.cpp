// Progress lines: formatting, and when a line is printed or redrawn, with
// time passed in (no terminal, no clock).
#include <sstream>

#include <gtest/gtest.h>

#include "frontend/training/Progress.h"

namespace cairn::training {
namespace {

TEST(ProgressTest, FormatDuration) {
  EXPECT_EQ(formatDuration(0), "0:00");
  EXPECT_EQ(formatDuration(7.4), "0:07");
  EXPECT_EQ(formatDuration(185), "3:05");
  EXPECT_EQ(formatDuration(3723), "1:02:03");
  EXPECT_EQ(formatDuration(-1), "?");
  EXPECT_EQ(formatDuration(1.0 / 0.0), "?");
}

TEST(ProgressTest, FormatFullLine) {
  ProgressSnapshot s;
  s.step = 120;
  s.total = 1000;
  s.loss = 0.693147;
  s.accuracy = 0.7123;
  s.lr = 1e-3;
  s.examplesPerSecond = 1234.56;
  s.elapsedSeconds = 12;
  EXPECT_EQ(formatProgress(s, "train"),
            "train: step 120/1000 (12.0%) | loss 0.6931 | acc 71.2% | lr 1.00e-03 | "
            "1234.6 ex/s | 0:12 elapsed | ETA 1:28");
}

TEST(ProgressTest, FormatWithoutTotalOrOptionals) {
  ProgressSnapshot s;
  s.step = 5;
  s.loss = 2.5;
  s.examplesPerSecond = 10;
  s.elapsedSeconds = 1;
  EXPECT_EQ(formatProgress(s), "step 5 | loss 2.5000 | 10.0 ex/s | 0:01 elapsed");
}

TEST(ProgressTest, PlainModePrintsEveryNStepsWithIntervalMeans) {
  std::ostringstream out;
  {
    Progress p(out, {.totalSteps = 5, .plainEvery = 2, .label = ""}, /*terminal=*/false, 100.0);
    p.update(1, 101, 4.0, 10, 0.5);
    p.update(2, 102, 2.0, 10, 1.0); // line: mean loss 3, acc 75%, 20 ex in 2 s
    p.update(3, 103, 1.0, 10);
    p.update(4, 104, 1.0, 10); // line: loss 1, no accuracy
    p.update(5, 105, 0.5, 10); // the last step always prints
  }
  EXPECT_EQ(out.str(),
            "step 2/5 (40.0%) | loss 3.0000 | acc 75.0% | 10.0 ex/s | 0:02 elapsed | ETA 0:03\n"
            "step 4/5 (80.0%) | loss 1.0000 | 10.0 ex/s | 0:04 elapsed | ETA 0:01\n"
            "step 5/5 (100.0%) | loss 0.5000 | 10.0 ex/s | 0:05 elapsed | ETA 0:00\n");
}

// Slow steps still leave a line in a log at least every plainMaxSeconds,
// counted from the start and then from the last line.
TEST(ProgressTest, PlainModePrintsAtLeastEveryMaxSeconds) {
  std::ostringstream out;
  Progress p(out, {.totalSteps = 0, .plainEvery = 1000, .plainMaxSeconds = 30, .label = ""},
             /*terminal=*/false, 100.0);
  p.update(1, 120, 1.0, 10); // 20 s in: not yet
  EXPECT_EQ(out.str(), "");
  p.update(2, 131, 1.0, 10); // 31 s in: a line
  p.update(3, 150, 1.0, 10); // 19 s after it: none
  p.update(4, 162, 1.0, 10); // 31 s after it: a line
  EXPECT_EQ(out.str(), "step 2 | loss 1.0000 | 0.6 ex/s | 0:31 elapsed\n"
                       "step 4 | loss 1.0000 | 0.6 ex/s | 1:02 elapsed\n");
}

TEST(ProgressTest, TerminalModeRedrawsInPlaceAndThrottles) {
  std::ostringstream out;
  Progress p(out, {.totalSteps = 100, .minRedrawSeconds = 1.0, .label = ""}, /*terminal=*/true,
             0.0);
  p.update(1, 0.5, 10.0, 1); // first update draws
  p.update(2, 0.9, 1.0, 1);  // 0.4 s later: throttled
  p.update(3, 1.6, 1.0, 1);  // draws, shorter line padded over the old one
  std::string s = out.str();
  ASSERT_EQ(s.substr(0, 1), "\r");
  size_t second = s.find('\r', 1);
  ASSERT_NE(second, std::string::npos);
  std::string first = s.substr(1, second - 1), next = s.substr(second + 1);
  EXPECT_NE(first.find("step 1/100"), std::string::npos) << first;
  EXPECT_NE(next.find("step 3/100"), std::string::npos) << next;
  EXPECT_NE(next.find("loss 1.0000"), std::string::npos) << next; // mean of steps 2 and 3
  EXPECT_GE(next.size(), first.size());
  EXPECT_EQ(s.find('\n'), std::string::npos);
  p.finish();
  EXPECT_EQ(out.str().back(), '\n');
  p.finish(); // idempotent
  EXPECT_EQ(out.str().find('\n'), out.str().size() - 1);
}

} // namespace
} // namespace cairn::training
