// MemoryReleaser: hands memory freed for forgotten inodes back to the OS
// (malloc_trim, passed in as `release`), on a thread of its own, once per
// burst of forgets.
//
// Why: the kernel forgets inodes in bursts (memory pressure, drop_caches,
// unmounting a walked tree), and what the file system frees for them stays
// resident in the allocator's arenas until trimmed (issue 17: 80 MB kept after
// a 200,000-entry walk was forgotten, growing over repeated walks). Why a
// thread and a burst: a trim takes each arena's lock in turn and costs tens of
// milliseconds here (a TLB shootdown per madvise); trimming on the worker
// after every 8,192 forgets cost 20-50 ms each time, 8-12 times per 100,000
// forgets. Waiting until the forgets pause gives the same memory back with one
// trim, and no worker waits for it.
//
// Thread-safety: Freed() may be called from any thread, at any rate; it takes
// no lock unless it is the call that arms a release.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <thread>

#include "util/thread_annotations.h"

namespace ptfs::session {

class MemoryReleaser {
 public:
  struct Options {
    // Freed units (forgotten nodeids) that arm a release: a few forgets now
    // and then (the kernel evicting an inode here and there) free too little
    // to be worth a trim.
    uint64_t threshold = 8192;
    // An armed release runs once nothing has been freed for `settle`...
    std::chrono::milliseconds settle{50};
    // ...or `max_delay` after it was armed, so that memory also goes back
    // during a stream of forgets that never pauses.
    std::chrono::milliseconds max_delay{1000};
  };

  // `release` frees what it can and returns the microseconds it took.
  explicit MemoryReleaser(std::function<int64_t()> release);
  MemoryReleaser(std::function<int64_t()> release, Options options);
  // Stops the thread; a release still pending is dropped (the process is
  // about to give everything back anyway).
  ~MemoryReleaser();
  MemoryReleaser(const MemoryReleaser&) = delete;
  MemoryReleaser& operator=(const MemoryReleaser&) = delete;

  // `units` more have been freed (nodeids forgotten).
  void Freed(uint64_t units);

  uint64_t releases() const { return releases_.load(std::memory_order_relaxed); }
  int64_t release_micros() const { return release_us_.load(std::memory_order_relaxed); }

 private:
  void Loop();
  // Waits until a release is armed and the frees have paused (or max_delay);
  // false when stopping.
  bool WaitForBurst();

  const std::function<int64_t()> release_;
  const Options options_;
  std::atomic<uint64_t> pending_{0};       // freed since the last release started
  std::atomic<int64_t> last_freed_ns_{0};  // steady clock
  Mutex mu_;
  std::condition_variable_any cv_;
  bool armed_ GUARDED_BY(mu_) = false;
  bool stop_ GUARDED_BY(mu_) = false;
  std::atomic<uint64_t> releases_{0};
  std::atomic<int64_t> release_us_{0};
  std::thread thread_;  // last: starts once everything above is built
};

}  // namespace ptfs::session
