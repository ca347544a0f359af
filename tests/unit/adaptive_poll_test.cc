#include "transport/adaptive_poll.h"

#include <gtest/gtest.h>

namespace ptfs::transport {
namespace {

constexpr int64_t kUs = 1000;

TEST(AdaptivePoll, ZeroMaximumNeverPolls) {
  AdaptivePoll p(0);
  for (int i = 0; i < 10; ++i) p.AfterSleep(5 * kUs);
  EXPECT_EQ(p.window_ns(), 0);
}

TEST(AdaptivePoll, StartsClosedAndOpensWhenRequestsFollowClosely) {
  AdaptivePoll p(200 * kUs);
  EXPECT_EQ(p.window_ns(), 0);  // a fresh thread sleeps at once
  p.AfterSleep(30 * kUs);       // a longer window would have caught it
  EXPECT_EQ(p.window_ns(), AdaptivePoll::kGrowStartNs);
  p.AfterSleep(30 * kUs);
  EXPECT_EQ(p.window_ns(), 20 * kUs);
  p.AfterSleep(30 * kUs);
  EXPECT_EQ(p.window_ns(), 40 * kUs);
  // Now 40 us covers a 30 us gap: no reason to grow further.
  p.AfterSleep(30 * kUs);
  EXPECT_EQ(p.window_ns(), 40 * kUs);
}

TEST(AdaptivePoll, NeverGrowsPastTheMaximum) {
  AdaptivePoll p(100 * kUs);
  for (int i = 0; i < 20; ++i) p.AfterSleep(99 * kUs);
  EXPECT_EQ(p.window_ns(), 100 * kUs);
  AdaptivePoll small(5 * kUs);  // smaller than the first step
  small.AfterSleep(4 * kUs);
  EXPECT_EQ(small.window_ns(), 5 * kUs);
}

TEST(AdaptivePoll, ShrinksToClosedWhenRequestsComeFarApart) {
  AdaptivePoll p(200 * kUs);
  for (int i = 0; i < 10; ++i) p.AfterSleep(190 * kUs);  // 10, 20, 40, 80, 160, 200
  ASSERT_EQ(p.window_ns(), 200 * kUs);
  p.AfterSleep(5'000 * kUs);  // an idle spell: halve
  EXPECT_EQ(p.window_ns(), 100 * kUs);
  for (int i = 0; i < 4; ++i) p.AfterSleep(1'000'000 * kUs);
  EXPECT_EQ(p.window_ns(), 0);  // below the first step: closed, sleeps at once
}

TEST(AdaptivePoll, GapWithinTheWindowKeepsIt) {
  AdaptivePoll p(200 * kUs);
  for (int i = 0; i < 10; ++i) p.AfterSleep(190 * kUs);  // 10, 20, 40, 80, 160, 200
  p.AfterSleep(150 * kUs);
  EXPECT_EQ(p.window_ns(), 200 * kUs);
  p.AfterSleep(200 * kUs);  // exactly the maximum still counts as catchable
  EXPECT_EQ(p.window_ns(), 200 * kUs);
}

}  // namespace
}  // namespace ptfs::transport
