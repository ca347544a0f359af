#include "session/memory_releaser.h"

#include <algorithm>
#include <utility>

namespace ptfs::session {
namespace {

using Clock = std::chrono::steady_clock;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

}  // namespace

MemoryReleaser::MemoryReleaser(std::function<int64_t()> release)
    : MemoryReleaser(std::move(release), Options()) {}

MemoryReleaser::MemoryReleaser(std::function<int64_t()> release, Options options)
    : release_(std::move(release)), options_(options), thread_([this] { Loop(); }) {}

MemoryReleaser::~MemoryReleaser() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void MemoryReleaser::Freed(uint64_t units) {
  last_freed_ns_.store(NowNs(), std::memory_order_relaxed);
  const uint64_t before = pending_.fetch_add(units, std::memory_order_relaxed);
  const uint64_t threshold = std::max<uint64_t>(options_.threshold, 1);
  // Only the call that crosses the threshold arms (and locks): until the
  // release starts and resets pending_, later calls find it already crossed.
  if (before >= threshold || before + units < threshold) return;
  {
    MutexLock lock(&mu_);
    armed_ = true;
  }
  cv_.notify_all();
}

void MemoryReleaser::Loop() {
  while (WaitForBurst()) {
    release_us_.fetch_add(release_(), std::memory_order_relaxed);
    releases_.fetch_add(1, std::memory_order_relaxed);
  }
}

bool MemoryReleaser::WaitForBurst() {
  MutexLock lock(&mu_);
  while (!stop_ && !armed_) cv_.wait(mu_);
  const Clock::time_point deadline = Clock::now() + options_.max_delay;
  while (!stop_) {
    // Memory keeps being freed while the burst goes on: wait for a pause, so
    // that one release covers the whole burst.
    const Clock::time_point last{std::chrono::nanoseconds(last_freed_ns_.load())};
    const Clock::time_point now = Clock::now();
    if (now >= deadline || now - last >= options_.settle) break;
    cv_.wait_until(mu_, std::min(deadline, last + options_.settle),
                   [this]() REQUIRES(mu_) { return stop_; });
  }
  armed_ = false;
  // Whatever is freed from here on asks for the next release.
  pending_.store(0, std::memory_order_relaxed);
  return !stop_;
}

}  // namespace ptfs::session
