// How long an io_uring queue thread keeps polling its ring after a request
// before it sleeps: a window that adapts to how soon requests really follow
// one another, in the manner of KVM's halt polling.
//
// Why poll at all (docs/transport.md has the measurements): a caller that
// sleeps on a FUSE reply is woken by the queue thread's commit. If the
// caller's CPU is busy at that moment (the queue thread still runs there) and
// another CPU is idle, the scheduler wakes the caller on the idle CPU, and a
// virtual machine's idle CPU is slow to wake (tens of microseconds). This is
// the common case in a deployment, where the daemon and its callers sit in
// different scheduling groups (autogroup per session, or cgroups). A thread
// that polls, yielding its CPU to anything runnable, keeps its CPU from being
// idle, so the caller stays where it was and finds the reply without a
// cross-CPU wake-up.
//
// Why adaptive: a window that never catches a request is CPU burnt for
// nothing. The window starts closed; it opens (kGrowStart, then doubling up to
// the maximum) when the gap between two requests was longer than the window
// but within the maximum, i.e. when a longer window would have caught the
// request, and halves when a gap was longer than the maximum. An idle daemon
// therefore polls at most one window after its last request and then sleeps
// for good.
#pragma once

#include <algorithm>
#include <cstdint>

namespace ptfs::transport {

class AdaptivePoll {
 public:
  // The first window opened after a short sleep.
  static constexpr int64_t kGrowStartNs = 10'000;

  // max_ns 0: never poll.
  explicit AdaptivePoll(int64_t max_ns) : max_ns_(std::max<int64_t>(max_ns, 0)) {}

  // The window to poll for now, in nanoseconds (0: sleep at once).
  int64_t window_ns() const { return window_ns_; }
  int64_t max_ns() const { return max_ns_; }

  // The thread slept before its next request, which came `gap_ns` after the
  // one before (the window it polled plus the sleep).
  void AfterSleep(int64_t gap_ns) {
    if (max_ns_ == 0) return;
    if (gap_ns > max_ns_) {
      window_ns_ /= 2;  // requests come too far apart for polling to catch them
      if (window_ns_ < kGrowStartNs) window_ns_ = 0;
    } else if (window_ns_ < max_ns_ && gap_ns > window_ns_) {
      // A window this long would have missed it; a longer one would not.
      window_ns_ =
          std::min(max_ns_, window_ns_ == 0 ? std::min(kGrowStartNs, max_ns_) : window_ns_ * 2);
    }
  }

 private:
  const int64_t max_ns_;
  int64_t window_ns_ = 0;
};

}  // namespace ptfs::transport
