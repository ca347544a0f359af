// LockOrder: a non-blocking lock request that finds a conflict first lets
// the requests the kernel sent before it, on other io_uring queues, be
// handled, and then asks again.
//
// Why: flock and OFD locks end when the RELEASE of their file's last close
// is handled. The kernel sends that RELEASE asynchronously, on the io_uring
// queue of the CPU where the close ran, before close(2) returns. Another
// process's F_OFD_GETLK / F_SETLK / flock(LOCK_NB) made right after arrives
// on the queue of its own CPU, and could be served while the RELEASE still
// waits for its queue's thread: it would see the lock of a file already
// closed, which natively it never does (fstests generic/478). Over /dev/fuse
// every request comes through one queue in order, so nothing is needed.
//
// Only a conflict pays (one wait for the other queues' threads, usually tens
// of microseconds); a lock that is free is answered as before.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

namespace ptfs::session {

struct LockOrder {
  // Returns once the other queues' threads have handled every request the
  // kernel handed them before the call; false if it could not say so (timed
  // out, or not called from a queue's thread). Set before any request.
  std::function<bool()> settle_earlier_requests;
  // Whether lock requests call it: set once the io_uring queues serve (over
  // /dev/fuse requests arrive in order, nothing to wait for).
  std::atomic<bool> active{false};

  // Conflicts that waited for the other queues, and those of them that were
  // gone afterwards (the lock of a file whose close was still on its way).
  std::atomic<uint64_t> conflicts_settled{0};
  std::atomic<uint64_t> conflicts_cleared{0};
};

}  // namespace ptfs::session
