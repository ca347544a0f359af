// Giving freed memory back (issue 17): the session reports every forgotten
// nodeid to SessionOptions::forgotten, and the MemoryReleaser turns bursts of
// them into one release each, after the burst, off the workers. The effect on
// a real daemon's RSS is measured by tests/scripts/memory_release_test.sh.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include "session/memory_releaser.h"
#include "tests/fakekernel/fake_kernel.h"

namespace ptfs::testing {
namespace {

using namespace ptfs::abi;  // NOLINT
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

TEST(FakeKernelMemoryRelease, SessionReportsEveryForgottenNodeid) {
  std::mutex mu;
  std::vector<uint64_t> reported;
  FakeKernelOptions o;
  o.forgotten = [&](uint64_t n) {
    std::lock_guard<std::mutex> lock(mu);
    reported.push_back(n);
  };
  FakeKernel k(o);
  std::vector<uint64_t> nodes;
  for (int i = 0; i < 5; ++i) {
    const std::string name = "f" + std::to_string(i);
    { std::ofstream(k.source() + "/" + name) << "x"; }
    KernelReply r = k.Lookup(kRootId, name);
    ASSERT_EQ(r.error(), 0);
    nodes.push_back(r.As<fuse_entry_out>().nodeid);
  }
  EXPECT_EQ(k.fs().inode_count(), 6u);
  k.Forget(nodes[0], 1);  // one FORGET
  k.ForgetAll();          // one BATCH_FORGET of the other four
  EXPECT_EQ(k.fs().inode_count(), 1u);
  EXPECT_EQ(k.session().NodeidsForgotten(), 5u);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(reported, (std::vector<uint64_t>{1, 4}));
}

// A release function that records when it ran.
struct Recorder {
  std::mutex mu;
  std::vector<Clock::time_point> runs;
  std::function<int64_t()> Fn() {
    return [this] {
      std::lock_guard<std::mutex> lock(mu);
      runs.push_back(Clock::now());
      return int64_t{1};
    };
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu);
    return runs.size();
  }
};

TEST(MemoryReleaser, NothingBelowTheThreshold) {
  Recorder rec;
  session::MemoryReleaser r(rec.Fn(), {100, milliseconds(20), milliseconds(200)});
  r.Freed(60);
  r.Freed(39);
  std::this_thread::sleep_for(milliseconds(400));
  EXPECT_EQ(rec.count(), 0u) << "99 of 100 freed";
  r.Freed(1);
  EXPECT_TRUE(Eventually([&] { return rec.count() == 1; }));
  EXPECT_EQ(r.releases(), 1u);
  EXPECT_EQ(r.release_micros(), 1);
}

TEST(MemoryReleaser, OneReleaseAfterTheBurst) {
  Recorder rec;
  const milliseconds settle(200);
  session::MemoryReleaser r(rec.Fn(), {10, settle, milliseconds(10000)});
  Clock::time_point last;
  // 50 ms of frees, 2 ms apart, each past the threshold on its own.
  for (int i = 0; i < 25; ++i) {
    r.Freed(10);
    last = Clock::now();
    std::this_thread::sleep_for(milliseconds(2));
  }
  EXPECT_TRUE(Eventually([&] { return rec.count() >= 1; }));
  std::this_thread::sleep_for(milliseconds(400));
  ASSERT_EQ(rec.count(), 1u) << "one release for the whole burst";
  EXPECT_GE(rec.runs[0] - last, settle) << "the release waited for the frees to pause";
}

TEST(MemoryReleaser, MaxDelayBoundsAStreamThatNeverPauses) {
  Recorder rec;
  session::MemoryReleaser r(rec.Fn(), {1, milliseconds(10000), milliseconds(100)});
  const Clock::time_point end = Clock::now() + milliseconds(700);
  while (Clock::now() < end) {
    r.Freed(1);
    std::this_thread::sleep_for(milliseconds(5));
  }
  // Without max_delay: none (the stream never pauses for 10 s).
  EXPECT_GE(rec.count(), 2u);
  EXPECT_LE(rec.count(), 8u);
}

TEST(MemoryReleaser, StopsWithoutWaitingForAPendingRelease) {
  Recorder rec;
  const Clock::time_point start = Clock::now();
  {
    session::MemoryReleaser r(rec.Fn(), {1, milliseconds(10000), milliseconds(10000)});
    r.Freed(5);
  }
  EXPECT_LT(Clock::now() - start, milliseconds(2000));
  EXPECT_EQ(rec.count(), 0u);
}

}  // namespace
}  // namespace ptfs::testing
